package prefetch

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

type record struct {
	next *record
	pad  [200]byte
}

// TestCallable calls the hints on every kind of pointer the module passes them: a heap
// record, a field inside one, a slice element and a string's bytes, a stack value, nil, and a
// range running past its object; none may fault or change memory.
func TestCallable(t *testing.T) {
	rec := &record{next: &record{}}
	rec.pad[7] = 42
	s := make([]uint64, 1000)
	s[999] = 7
	str := "arn:aws:iam::123456789012:role/app-7"
	var local [3]int
	local[1] = 5

	Line(unsafe.Pointer(rec))
	Line(unsafe.Pointer(&rec.pad[100]))
	Line(unsafe.Pointer(&s[999]))
	Line(unsafe.Pointer(unsafe.StringData(str)))
	Line(unsafe.Pointer(&local))
	Line(nil)
	Lines(unsafe.Pointer(rec), unsafe.Sizeof(*rec))
	Lines(unsafe.Pointer(&s[0]), uintptr(len(s))*8)
	Lines(unsafe.Pointer(&s[998]), 4096) // past the slice's end: never dereferenced
	Lines(unsafe.Pointer(unsafe.StringData(str)), uintptr(len(str)))
	Lines(unsafe.Pointer(&local), 0)
	Lines(nil, 64)
	Lines(unsafe.Pointer(rec), 1<<30)                         // clipped to maxLines
	At(uintptr(unsafe.Pointer(rec))+unsafe.Sizeof(*rec), 512) // the bytes after an object
	At(0x1000, 64)                                            // unmapped: a prefetch never faults
	At(^uintptr(0)&^63, 64)                                   // the last line of the address space
	At(0, 64)
	At(uintptr(unsafe.Pointer(&s[0])), 0)

	if rec.pad[7] != 42 || rec.next == nil || s[999] != 7 || local[1] != 5 || str[4] != 'a' {
		t.Fatal("a prefetch changed memory")
	}
}

// TestLineCount checks the count of lines Lines asks for against a direct count.
func TestLineCount(t *testing.T) {
	for _, c := range []struct {
		off, n, want uintptr
	}{
		{0, 1, 1}, {0, 64, 1}, {0, 65, 2}, {63, 1, 1}, {63, 2, 2}, {1, 64, 2}, {32, 128, 3},
		{0, 4096, 64}, {0, 1 << 20, 64},
	} {
		if k := lineCount(0x1000+c.off, c.n); k != c.want {
			t.Errorf("off %d n %d: %d lines, want %d", c.off, c.n, k, c.want)
		}
		// The same count wherever the line starts.
		if k := lineCount(0x7f3a_0000+c.off, c.n); k != c.want {
			t.Errorf("high address, off %d n %d: %d lines, want %d", c.off, c.n, k, c.want)
		}
	}
}

// chase is a benchmark's working set: nodes in random order in a slice far larger than the
// caches, and work that stands in for a signature check.
type chase struct {
	nodes []node
	order []int32
}

type node struct {
	val uint64
	_   [56]byte
}

const chaseNodes = 1 << 20 // 64 MiB

func newChase() *chase {
	c := &chase{nodes: make([]node, chaseNodes), order: make([]int32, chaseNodes)}
	for i := range c.order {
		c.order[i] = int32(i)
		c.nodes[i].val = uint64(i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(c.order), func(i, j int) { c.order[i], c.order[j] = c.order[j], c.order[i] })
	return c
}

// work is a few hundred nanoseconds of dependent arithmetic that touches no memory.
func work(x uint64) uint64 {
	for range 300 {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

var sink uint64

// BenchmarkChase: each op reads one random node of 64 MiB and does a few hundred ns of
// arithmetic. "load" reads the node when it needs it (the miss adds to the work); "prefetch"
// asks for the next op's node before the work, which then hides its miss.
func BenchmarkChase(b *testing.B) {
	c := newChase()
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		var acc uint64
		for i := 0; b.Loop(); i++ {
			n := &c.nodes[c.order[i%chaseNodes]]
			acc = work(acc + n.val)
		}
		sink = acc
	})
	b.Run("prefetch", func(b *testing.B) {
		b.ReportAllocs()
		var acc uint64
		for i := 0; b.Loop(); i++ {
			Line(unsafe.Pointer(&c.nodes[c.order[(i+1)%chaseNodes]]))
			n := &c.nodes[c.order[i%chaseNodes]]
			acc = work(acc + n.val)
		}
		sink = acc
	})
	b.Run("work", func(b *testing.B) { // the work alone: the floor of both
		b.ReportAllocs()
		var acc uint64
		for i := 0; b.Loop(); i++ {
			acc = work(acc + uint64(i))
		}
		sink = acc
	})
}
