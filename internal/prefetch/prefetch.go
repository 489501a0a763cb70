package prefetch

import "unsafe"

// LineSize is the cache line size the hints assume (64 bytes on the processors Go targets most;
// on one with larger lines, Lines asks for some lines twice, which costs nothing more).
const LineSize = 64

// maxLines bounds one Lines call: a hint for a few records, not a way to stream memory.
const maxLines = 64

// Line asks for the cache line holding the byte at p. nil is ignored.
func Line(p unsafe.Pointer) {
	if p != nil {
		line(p)
	}
}

// Lines asks for every cache line holding a byte of [p, p+n), at most 64 lines (4 KiB); n
// zero or p nil asks for nothing.
func Lines(p unsafe.Pointer, n uintptr) {
	if p == nil || n == 0 {
		return
	}
	At(uintptr(p), n) // an address: a prefetch keeps nothing alive
}

// At is Lines for an address rather than a pointer, for memory that may lie past the object
// an address was computed from (the bytes that follow an object when they belong to the same
// allocation, say: a hint that guesses they do): a prefetch never faults, and an address
// keeps nothing alive. addr zero or n zero asks for nothing; at most 64 lines.
func At(addr, n uintptr) {
	if addr == 0 || n == 0 {
		return
	}
	linesAt(addr, lineCount(addr, n))
}

// lineCount is how many lines At asks for: from addr's line to the line of the byte at
// addr+n-1, at most maxLines.
func lineCount(addr, n uintptr) uintptr {
	return min(((addr&(LineSize-1))+n+LineSize-1)/LineSize, maxLines)
}
