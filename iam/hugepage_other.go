//go:build !linux

package iam

// adviseHuge is a no-op where transparent huge pages are not Linux's.
func adviseHuge[S any](slab []S) {}
