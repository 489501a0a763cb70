//go:build linux

package iam

import (
	"syscall"
	"unsafe"
)

// madvCollapse is Linux's MADV_COLLAPSE (6.1 and later; older kernels
// refuse it, which costs nothing).
const madvCollapse = 25

// hugePage is the size of an x86-64 or arm64 transparent huge page.
const hugePage = 2 << 20

// adviseHuge asks Linux to back the 2 MiB-aligned part of slab's memory
// with transparent huge pages: MADV_HUGEPAGE for the pages to come, and
// MADV_COLLAPSE for those already there. Only a hint: errors (no THP, an
// old kernel, THP "never") are ignored, and the memory stays Go's.
func adviseHuge[S any](slab []S) {
	var zero S
	n := uintptr(len(slab)) * unsafe.Sizeof(zero)
	if n < hugePage {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(slab)))
	lo := (start + hugePage - 1) &^ (hugePage - 1)
	hi := (start + n) &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(slab)), lo-start)), hi-lo)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	_ = syscall.Madvise(b, madvCollapse)
}
