//go:build linux

package verifier

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// adv7Fenced is one readable, writable page between two PROT_NONE pages: any access before
// the page or after it faults.
type adv7Fenced struct {
	mem  []byte // the three pages
	page []byte // the middle one
}

// adv7Fence maps a fenced page, unmapped at the end of the test.
func adv7Fence(t *testing.T) *adv7Fenced {
	t.Helper()
	ps := os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	require.NoError(t, syscall.Mprotect(mem[:ps], syscall.PROT_NONE))
	require.NoError(t, syscall.Mprotect(mem[2*ps:], syscall.PROT_NONE))
	return &adv7Fenced{mem: mem, page: mem[ps : 2*ps : 2*ps]}
}

// atEnd returns the last n bytes of the page (capacity n), filled with b.
func (f *adv7Fenced) atEnd(b []byte) []byte {
	s := f.page[len(f.page)-len(b):]
	copy(s, b)
	return s[:len(b):len(b)]
}

// atStart returns the first n bytes of the page (capacity n), filled with b.
func (f *adv7Fenced) atStart(b []byte) []byte {
	copy(f.page, b)
	return f.page[:len(b):len(b)]
}

// adv7NoFault runs fn with faults turned into panics, and returns the panic (a fault: an
// access outside the slices it was given, into a PROT_NONE page) as an error.
func adv7NoFault(fn func()) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fault: %v", r)
		}
	}()
	fn()
	return nil
}

// TestAdversary7B64GuardPages: at every length 0..200, src placed at the very end of a page
// followed by a PROT_NONE page and at the very start of one preceded by a PROT_NONE page (so
// that the start addresses take every alignment), and dst likewise at the end and the start of
// another fenced page, with exactly decodedLen(len(src)) bytes: neither path of b64Decode nor
// decodeBlocksAVX2 faults, and the results are encoding/base64's. Inputs: valid, with a bad
// byte in the last position, in the first, in the middle, and the same followed by a final
// character of an impossible length.
func TestAdversary7B64GuardPages(t *testing.T) {
	srcPage, dstPage := adv7Fence(t), adv7Fence(t)
	rng := rand.New(rand.NewPCG(91, 92))
	for n := 0; n <= 200; n++ {
		valid := adv7Valid(rng, n)
		inputs := [][]byte{valid}
		for _, pos := range []int{0, n / 2, n - 1} {
			if n > 0 {
				b := bytes.Clone(valid)
				b[pos] = '='
				inputs = append(inputs, b)
			}
		}
		for _, in := range inputs {
			want := make([]byte, decodedLen(len(in)))
			wn, werr := strictB64.Decode(want, in)
			m := len(want)
			for _, srcEnd := range []bool{true, false} {
				for _, dstEnd := range []bool{true, false} {
					var src, dst []byte
					if srcEnd {
						src = srcPage.atEnd(in)
					} else {
						src = srcPage.atStart(in)
					}
					zero := make([]byte, m)
					if dstEnd {
						dst = dstPage.atEnd(zero)
					} else {
						dst = dstPage.atStart(zero)
					}
					where := fmt.Sprintf("length %d, %q, src at page %s, dst at page %s", len(in), in, map[bool]string{true: "end", false: "start"}[srcEnd], map[bool]string{true: "end", false: "start"}[dstEnd])
					for _, avx2 := range b64Paths {
						var gn int
						var gerr error
						if err := adv7NoFault(func() { gn, gerr = b64DecodeWith(dst, src, avx2) }); err != nil {
							t.Fatalf("%s, avx2 %v: %v", where, avx2, err)
						}
						if (gerr == nil) != (werr == nil) {
							t.Fatalf("%s, avx2 %v: error %v, encoding/base64 %v", where, avx2, gerr, werr)
						}
						if werr != nil {
							var we, ge base64.CorruptInputError
							if !errors.As(werr, &we) || !errors.As(gerr, &ge) || we != ge {
								t.Fatalf("%s, avx2 %v: error %v, encoding/base64 %v", where, avx2, gerr, werr)
							}
						} else if gn != wn || !bytes.Equal(dst[:gn], want[:wn]) {
							t.Fatalf("%s, avx2 %v: %x, encoding/base64 %x", where, avx2, dst[:gn], want[:wn])
						}
					}
					if useAVX2 {
						// The blocks alone, also with every shorter destination that still ends
						// at the page's end.
						for _, dl := range []int{m, max(m-1, 0), m / 24 * 24, max(m/24*24-1, 0)} {
							d := dst[:dl]
							if dstEnd {
								d = dstPage.atEnd(make([]byte, dl))
							}
							var k int
							if err := adv7NoFault(func() { k = decodeBlocksAVX2(d, src) }); err != nil {
								t.Fatalf("%s, decodeBlocksAVX2 into %d bytes: %v", where, dl, err)
							}
							if wk := b64ValidPrefix(src, dl); k != wk {
								t.Fatalf("%s, decodeBlocksAVX2 into %d bytes consumed %d, want %d", where, dl, k, wk)
							}
						}
					}
				}
			}
		}
	}
}

// TestAdversary7B64GuardPagesEveryAlignment: for lengths around the block boundaries, src
// ends exactly at a page's end (a PROT_NONE page after it) and starts at each of 33
// consecutive addresses (src = long[a:] of a longer page-end slice), and the destination sits
// at every alignment a with guard bytes around it: no fault, and encoding/base64's verdict,
// bytes and offset on both paths.
func TestAdversary7B64GuardPagesEveryAlignment(t *testing.T) {
	srcPage := adv7Fence(t)
	rng := rand.New(rand.NewPCG(93, 94))
	var c adv7Checker
	for _, n := range []int{31, 32, 33, 34, 35, 63, 64, 65, 66, 67, 95, 96, 97, 127, 128, 129, 130, 131} {
		long := srcPage.atEnd(adv7Valid(rng, n+32))
		for a := range 33 {
			src := long[a:]
			var msg string
			if err := adv7NoFault(func() { msg = c.check(src, a) }); err != nil {
				t.Fatalf("length %d, alignment %d: %v", len(src), a, err)
			}
			if msg != "" {
				t.Fatalf("length %d, alignment %d, %q: %s", len(src), a, src, msg)
			}
		}
	}
}

// TestAdversary7B64GuardPagesFault: the fence works: a read one byte past a page-end slice,
// and one byte before a page-start slice, fault and adv7NoFault reports it.
func TestAdversary7B64GuardPagesFault(t *testing.T) {
	f := adv7Fence(t)
	ps := os.Getpagesize()
	var sink byte
	require.Error(t, adv7NoFault(func() { sink = f.mem[2*ps] }))
	require.Error(t, adv7NoFault(func() { sink = f.mem[ps-1] }))
	require.NoError(t, adv7NoFault(func() { sink = f.page[ps-1] + f.page[0] }))
	_ = sink
}
