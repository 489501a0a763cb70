//go:build !amd64 || purego

package verifier

// prefetch is the amd64 hint (see prefetch_amd64.go); elsewhere it does nothing.
func prefetch(_, _ uintptr) {}
