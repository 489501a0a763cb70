//go:build !purego

package verifier

// prefetch asks the CPU to start loading the cache lines of the n bytes at addr (at least
// the first), without waiting for them: the loads of lines that later code reads are then
// in flight together instead of one after the other. It never faults (a prefetch of an
// unmapped address is dropped), reads nothing the Go code sees and keeps nothing alive: an
// address, not a pointer, so that it may name memory past an object (see tokenCache.entry).
//
//go:noescape
func prefetch(addr, n uintptr)
