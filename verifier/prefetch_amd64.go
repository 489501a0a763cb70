//go:build !purego

package verifier

import "unsafe"

// prefetch asks the CPU to start loading the cache lines of the n bytes at p (at least
// the first), without waiting for them: the loads of lines that later code reads are then
// in flight together instead of one after the other. It never faults (a prefetch of an
// unmapped address is dropped), reads nothing the Go code sees and keeps nothing alive.
//
//go:noescape
func prefetch(p unsafe.Pointer, n uintptr)
