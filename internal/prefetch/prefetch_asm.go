//go:build amd64 || arm64

package prefetch

import "unsafe"

// line prefetches the line of p.
//
//go:noescape
func line(p unsafe.Pointer)

// lines prefetches k lines from p's line on.
//
//go:noescape
func lines(p unsafe.Pointer, k uintptr)

// linesAt prefetches k lines from addr's line on.
//
//go:noescape
func linesAt(addr, k uintptr)
