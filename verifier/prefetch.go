package verifier

import "unsafe"

// addr is p's address, for prefetch.
func addr(p unsafe.Pointer) uintptr { return uintptr(p) }
