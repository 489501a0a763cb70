package verifier

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestNewEntryLayout checks newEntry at and next to every size it switches on: the entry
// holds a copy of the token (not the caller's bytes), right after the entry in the same
// allocation up to the largest room, in a string of its own beyond, and one allocation in
// the first case.
func TestNewEntryLayout(t *testing.T) {
	rooms := []int{room1024, room1280, room1536, room2048, room3072, room4096}
	for i, r := range rooms {
		assert.Positive(t, r, "room %d", i)
		if i > 0 {
			assert.Greater(t, r, rooms[i-1])
		}
	}
	for _, r := range rooms {
		for _, n := range []int{minTokenLen, r - 1, r, r + 1} {
			raw := strings.Repeat("x", n-1) + "y"
			e := newEntry(raw)
			assert.Equal(t, raw, e.raw, "length %d", n)
			p := unsafe.Pointer(unsafe.StringData(e.raw))
			assert.NotEqual(t, unsafe.Pointer(unsafe.StringData(raw)), p, "a copy, length %d", n)
			assert.Equal(t, n <= room4096, uintptr(p) == uintptr(unsafe.Pointer(e))+entrySize, "after the entry, length %d", n)
			if n <= room4096 {
				assert.Equal(t, 1.0, testing.AllocsPerRun(10, func() { _ = newEntry(raw) }), "one allocation, length %d", n)
			}
		}
	}
}
