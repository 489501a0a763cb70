package verifier

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// allocated returns the bytes the heap gives each of n calls of f (which must allocate one
// object that escapes).
func allocated(n int, f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	for range n {
		f()
	}
	runtime.ReadMemStats(&b)
	return (b.TotalAlloc - a.TotalAlloc) / uint64(n)
}

var (
	sinkEntry *cacheEntry
	sinkCopy  *resultCopy
)

// The token cache's entries with their token, and the caller's Result copy with the payload,
// fill their size classes exactly: the rooms leave space for the runtime's header of an object
// with pointers (mallocHeader), or the object would take the next class (1152 bytes for 1024,
// 2304 for 2048).
func TestBlockSizeClasses(t *testing.T) {
	entries := []struct {
		class uint64
		alloc func()
	}{
		{1024, func() { sinkEntry = &new(withToken[[room1024]byte]).e }},
		{1280, func() { sinkEntry = &new(withToken[[room1280]byte]).e }},
		{1536, func() { sinkEntry = &new(withToken[[room1536]byte]).e }},
		{2048, func() { sinkEntry = &new(withToken[[room2048]byte]).e }},
		{3072, func() { sinkEntry = &new(withToken[[room3072]byte]).e }},
		{4096, func() { sinkEntry = &new(withToken[[room4096]byte]).e }},
		{1024, func() { sinkCopy, _ = blockOf[[payRoom1024]byte]([]byte("x")) }},
		{1280, func() { sinkCopy, _ = blockOf[[payRoom1280]byte]([]byte("x")) }},
		{1536, func() { sinkCopy, _ = blockOf[[payRoom1536]byte]([]byte("x")) }},
		{2048, func() { sinkCopy, _ = blockOf[[payRoom2048]byte]([]byte("x")) }},
		{3072, func() { sinkCopy, _ = blockOf[[payRoom3072]byte]([]byte("x")) }},
		{4096, func() { sinkCopy, _ = blockOf[[payRoom4096]byte]([]byte("x")) }},
	}
	for i, c := range entries {
		assert.Equal(t, c.class, allocated(1000, c.alloc), "case %d", i)
	}
}
