// Package prefetch asks the processor to start loading memory into its caches without waiting
// for it: a hint, with no effect on what any code computes.
//
// At full size the hot path's cost is the count of cold cache lines it touches one after
// another, each a few hundred nanoseconds, not its instructions. A plain load of a cold line
// waits: the processor's reorder window fills in about a hundred cycles and the miss then costs
// its full latency. A prefetch does not wait, so a line asked for before a long computation
// (a signature check) arrives while the computation runs, and lines of independent chains
// asked for together arrive together instead of one after another.
//
//	prefetch.Line(unsafe.Pointer(rec))          // the line holding *rec
//	prefetch.Lines(unsafe.Pointer(rec), 192)     // the lines of its first 192 bytes
//	... 30 µs of arithmetic ...
//	use(rec)                                     // no miss left to wait for
//
// On amd64 the hint is PREFETCHT0, on arm64 PRFM PLDL1KEEP; elsewhere the functions do nothing.
// A prefetch never faults, so a pointer whose memory has moved on is harmless, but pass only
// pointers to live Go objects (Lines computes the addresses past p itself, so p+n may run past
// the object). This is not cgo: the functions are a few instructions of Go assembly.
package prefetch
