//go:build unix

package cputime

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Faults grows when the process first touches pages the kernel has not backed yet: a fresh
// anonymous mapping, which no earlier run (-count) can have touched.
func TestFaultsGrowOnFirstTouch(t *testing.T) {
	const size = 64 << 20
	page := syscall.Getpagesize()
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	defer func() { _ = syscall.Munmap(b) }()
	before := Faults()
	for i := 0; i < size; i += page {
		b[i] = 1
	}
	after := Faults()
	assert.GreaterOrEqual(t, before, int64(0))
	// At least one fault per 512 pages: even a kernel that backs the mapping with huge pages
	// (2 MiB, 512 pages of 4 KiB) faults once per huge page.
	assert.GreaterOrEqual(t, after-before, int64(size/page/512), "touching %d pages", size/page)
}
