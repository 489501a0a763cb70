//go:build amd64 || arm64

package prefetch

import "unsafe"

// line prefetches the line of p.
//
//go:noescape
func line(p unsafe.Pointer)

// linesAt prefetches k lines from addr's line on.
//
//go:noescape
func linesAt(addr, k uintptr)
