package verifier

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Adversary, session 7: attacks on the AVX2 base64url decoder (decodeBlocksAVX2 ahead of
// b64Decode's Go loops). The reference throughout is encoding/base64.RawURLEncoding.Strict()
// (strictB64) on input without CR or LF; inputs with CR or LF are compared with b64Ref, which
// counts them as bytes outside the alphabet. The mmap guard-page tests are in
// adversary7_b64_linux_test.go.

// adv7Checker compares both paths of b64Decode with strictB64 without allocating per call,
// so that millions of inputs fit in a few seconds under -race.
type adv7Checker struct {
	want, got []byte
}

// adv7Guard is the byte the checker puts before and after each destination.
const adv7Guard = 0x5A

// adv7Guards is a run of guard bytes longer than any buffer the checker uses.
var adv7Guards = bytes.Repeat([]byte{adv7Guard}, 4096)

// check decodes src (no CR or LF) on every path into a destination of exactly
// decodedLen(len(src)) bytes placed at offset align of a buffer with guard bytes on both sides,
// and returns a description of the first disagreement with strictB64, or "".
func (c *adv7Checker) check(src []byte, align int) string {
	n := decodedLen(len(src))
	if cap(c.want) < n {
		c.want = make([]byte, n)
	}
	want := c.want[:n]
	wn, werr := strictB64.Decode(want, src)
	const pad = 40
	if need := align + n + 2*pad; cap(c.got) < need {
		c.got = make([]byte, need)
	}
	for _, avx2 := range b64Paths {
		buf := c.got[:align+n+2*pad]
		copy(buf, adv7Guards[:len(buf)])
		dst := buf[pad+align : pad+align+n : pad+align+n]
		gn, gerr := b64DecodeWith(dst, src, avx2)
		if !bytes.Equal(buf[:pad+align], adv7Guards[:pad+align]) {
			return fmt.Sprintf("avx2 %v: wrote before dst", avx2)
		}
		if !bytes.Equal(buf[pad+align+n:], adv7Guards[:pad]) {
			return fmt.Sprintf("avx2 %v: wrote past the %d bytes of dst: %x", avx2, n, buf[pad+align+n:])
		}
		if (werr == nil) != (gerr == nil) {
			return fmt.Sprintf("avx2 %v: error %v, encoding/base64 %v", avx2, gerr, werr)
		}
		if werr != nil {
			var we, ge base64.CorruptInputError
			if !errors.As(werr, &we) || !errors.As(gerr, &ge) || we != ge {
				return fmt.Sprintf("avx2 %v: error %#v, encoding/base64 %#v", avx2, gerr, werr)
			}
			continue
		}
		if gn != wn || !bytes.Equal(dst[:gn], want[:wn]) {
			return fmt.Sprintf("avx2 %v: decoded %x, encoding/base64 %x", avx2, dst[:gn], want[:wn])
		}
	}
	return ""
}

// adv7Valid returns n random alphabet characters whose last leaves zero trailing bits.
func adv7Valid(rng *rand.Rand, n int) []byte {
	b := randomB64(rng, n)
	if n > 0 {
		b[n-1] = 'A'
	}
	return b
}

// adv7Edges are the bytes either side of each range of the alphabet and of each nibble class
// of decodeBlocksAVX2's validation, padding, the standard alphabet's '+' and '/', NUL, DEL and
// the ends of the bytes >= 0x80.
var adv7Edges = []byte(",-./09:@AOPZ[^_`aopz{\x7f\x80\x8f\x90\xad\xbd\xdf\xff\x00\x01+=\x20\x1f")

// TestAdversary7B64OneBadByteEveryPosition: for every length 32..160 (one to five of
// decodeBlocksAVX2's blocks, every tail), at every position, the edge bytes (adv7Edges) and
// 24 more byte values rotating with the position (so that every byte value but CR and LF is
// tried at many positions of each block, every byte value at every position of the lengths
// 32..35 and 128..131), with the destination at a position-dependent alignment: both paths
// agree with encoding/base64 on verdict, bytes and offset, and write nothing outside the
// destination.
func TestAdversary7B64OneBadByteEveryPosition(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	var c adv7Checker
	for n := 32; n <= 160; n++ {
		base := adv7Valid(rng, n)
		if msg := c.check(base, 0); msg != "" {
			t.Fatalf("length %d, %q: %s", n, base, msg)
		}
		all := n <= 35 || (n >= 128 && n <= 131)
		src := bytes.Clone(base)
		for pos := range n {
			try := func(v byte) {
				if v == '\r' || v == '\n' {
					return
				}
				src[pos] = v
				if msg := c.check(src, (pos+int(v))%32); msg != "" {
					t.Fatalf("length %d, byte %#x at %d, %q: %s", n, v, pos, src, msg)
				}
			}
			if all {
				for v := range 256 {
					try(byte(v))
				}
			} else {
				for _, v := range adv7Edges {
					try(v)
				}
				for i := range 24 {
					try(byte(pos*41 + n*7 + i*(256/24+1)))
				}
			}
			src[pos] = base[pos]
		}
	}
}

// TestAdversary7B64TwoBadBytes: two bytes outside the alphabet (or '=' padding, '+' and '/')
// in different blocks, the later one in an earlier-decoded region of the other path: the
// offset is always the first one's, on both paths.
func TestAdversary7B64TwoBadBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	var c adv7Checker
	bad := []byte("=+/\x00\x80\xff.! @[`{:,\x7f\x2c\x2e\x3a\x40\x5b\x60\x7b")
	for _, n := range []int{64, 67, 96, 98, 128, 131} {
		base := adv7Valid(rng, n)
		for i := 0; i < n; i += 3 {
			for j := i + 1; j < n; j += 5 {
				src := bytes.Clone(base)
				src[i] = bad[(i+j)%len(bad)]
				src[j] = bad[(i*7+j)%len(bad)]
				if msg := c.check(src, j%32); msg != "" {
					t.Fatalf("length %d, bad at %d and %d, %q: %s", n, i, j, src, msg)
				}
			}
		}
	}
}

// TestAdversary7B64Structured: inputs built from the edges of the alphabet's nibble classes
// (the bytes either side of each range: ',' '-' '.', '/' '0' '9' ':', '@' 'A' 'Z' '[', '^' '_'
// '`', 'a' 'z' '{', 0x7F, 0x80, 0xFF, 0x00), padding in every legal and illegal spot, and the
// standard alphabet's '+' and '/', at lengths around every block boundary and every alignment.
func TestAdversary7B64Structured(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	var c adv7Checker
	edges := []byte(",-./09:@AZ[^_`az{\x7f\x80\xff\x00+=OoPpMmNn")
	for _, n := range []int{31, 32, 33, 34, 35, 36, 63, 64, 65, 66, 67, 68, 95, 96, 97, 98, 99, 127, 128, 129, 130, 131, 159, 160, 161, 162, 163, 192, 194, 195} {
		for trial := range 200 {
			src := make([]byte, n)
			for i := range src {
				if rng.IntN(4) == 0 {
					src[i] = edges[rng.IntN(len(edges))]
				} else {
					src[i] = b64Alphabet[rng.IntN(64)]
				}
			}
			if msg := c.check(src, trial%32); msg != "" {
				t.Fatalf("length %d, %q: %s", n, src, msg)
			}
		}
		// Only the valid edge characters: every block has a '-', '_', '0', '9', 'A', 'Z',
		// 'a', 'z', so the translation of each row is checked; then '=' padding at the end.
		src := make([]byte, n)
		for i := range src {
			src[i] = "-_09AZazOoPpMmNn"[(i*5+n)%16]
		}
		src[n-1] = 'A'
		for _, s := range [][]byte{src, append(bytes.Clone(src), '='), append(bytes.Clone(src), "=="...)} {
			if msg := c.check(s, n%32); msg != "" {
				t.Fatalf("length %d, %q: %s", len(s), s, msg)
			}
		}
		// Padded standard encodings of random bytes, and their URL-alphabet spellings.
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		for _, s := range []string{
			base64.StdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw),
			base64.RawStdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		} {
			if msg := c.check([]byte(s), len(s)%32); msg != "" {
				t.Fatalf("%q: %s", s, msg)
			}
		}
	}
}

// TestAdversary7B64CRLF: CR or LF anywhere in inputs of 32..131 characters is refused on both
// paths at the first byte outside the alphabet (CR and LF counted as such, which
// encoding/base64 would skip), and ReasonTokenFormat through segmentError.
func TestAdversary7B64CRLF(t *testing.T) {
	rng := rand.New(rand.NewPCG(77, 78))
	for n := 32; n <= 131; n++ {
		base := adv7Valid(rng, n)
		for pos := range n {
			for _, b := range []byte("\r\n") {
				src := bytes.Clone(base)
				src[pos] = b
				for _, avx2 := range b64Paths {
					_, err := b64DecodeWith(make([]byte, decodedLen(n)), src, avx2)
					var ce base64.CorruptInputError
					require.ErrorAs(t, err, &ce, "length %d, %q at %d, avx2 %v", n, b, pos, avx2)
					require.EqualValues(t, pos, ce, "length %d, %q at %d, avx2 %v", n, b, pos, avx2)
					require.Equal(t, ReasonTokenFormat, segmentError(src, err).Reason)
				}
			}
		}
	}
}

// TestAdversary7B64LongDestination: a destination longer than decodedLen(len(src)), whose
// capacity is larger still: nothing is written at or after decodedLen, on either path, valid
// input or not.
func TestAdversary7B64LongDestination(t *testing.T) {
	rng := rand.New(rand.NewPCG(79, 80))
	for n := 0; n <= 200; n++ {
		for _, src := range [][]byte{adv7Valid(rng, n), append(adv7Valid(rng, n), '!')} {
			m := decodedLen(len(src))
			for _, avx2 := range b64Paths {
				buf := bytes.Repeat([]byte{adv7Guard}, m+100)
				_, _ = b64DecodeWith(buf[:m+50], src, avx2)
				require.Equal(t, bytes.Repeat([]byte{adv7Guard}, 100), buf[m:],
					"length %d, avx2 %v: wrote at or past decodedLen", len(src), avx2)
			}
		}
	}
}

// TestAdversary7B64ReadsNothingPastSrc: src as a slice of a larger buffer whose bytes after
// len(src) (inside its capacity) are either alphabet characters or bytes outside it: the result
// is the same either way, on both paths and from decodeBlocksAVX2, at every length 0..200 and
// every alignment 0..31. Bytes before src are varied the same way.
func TestAdversary7B64ReadsNothingPastSrc(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	for n := 0; n <= 200; n++ {
		body := adv7Valid(rng, n)
		for align := range 32 {
			var results []string
			for _, fill := range []byte{'A', '!', 0x80, '_'} {
				buf := bytes.Repeat([]byte{fill}, align+n+64)
				copy(buf[align:], body)
				src := buf[align : align+n] // capacity runs on into the fill
				for _, avx2 := range b64Paths {
					dst := make([]byte, decodedLen(n))
					k, err := b64DecodeWith(dst, src, avx2)
					results = append(results, fmt.Sprintf("%v %d %x %v", avx2, k, dst[:k], err))
				}
				if useAVX2 {
					dst := make([]byte, decodedLen(n))
					k := decodeBlocksAVX2(dst, src)
					results = append(results, fmt.Sprintf("blocks %d %x", k, dst))
				}
			}
			per := len(results) / 4
			for i := per; i < len(results); i++ {
				require.Equal(t, results[i%per], results[i], "length %d, alignment %d: the bytes around src changed the result", n, align)
			}
		}
	}
}

// TestAdversary7B64Concurrent: many goroutines decode different inputs (valid, with a bad
// byte in a block, with bad trailing bits, impossible lengths) at once on both paths, each
// into its own destination: every result is the one computed beforehand, single-threaded,
// by encoding/base64. Run with -race.
func TestAdversary7B64Concurrent(t *testing.T) {
	type item struct {
		src  []byte
		want []byte
		off  int // -1: accepted
	}
	rng := rand.New(rand.NewPCG(83, 84))
	items := make([]item, 512)
	for i := range items {
		n := 32 + rng.IntN(300)
		src := adv7Valid(rng, n)
		switch i % 4 {
		case 1:
			src[rng.IntN(n)] = "=+/!\x00\xff"[rng.IntN(6)]
		case 2:
			if n%4 >= 2 {
				src[n-1] = 'B'
			}
		case 3:
			src = append(src, 'A', 'A')[:n+1]
		}
		want := make([]byte, decodedLen(len(src)))
		k, err := strictB64.Decode(want, src)
		it := item{src: src, want: want[:k], off: -1}
		if err != nil {
			var ce base64.CorruptInputError
			require.ErrorAs(t, err, &ce)
			it.off = int(ce)
		}
		items[i] = it
	}
	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 40 {
				for j := range items {
					it := &items[(j*7+w*13+round)%len(items)]
					avx2 := b64Paths[(j+w)%len(b64Paths)]
					dst := make([]byte, decodedLen(len(it.src)))
					k, err := b64DecodeWith(dst, it.src, avx2)
					var ce base64.CorruptInputError
					switch {
					case it.off < 0 && (err != nil || !bytes.Equal(dst[:k], it.want)):
						errs <- fmt.Sprintf("%q (avx2 %v): %x, %v; want %x", it.src, avx2, dst[:k], err, it.want)
						return
					case it.off >= 0 && (!errors.As(err, &ce) || int(ce) != it.off):
						errs <- fmt.Sprintf("%q (avx2 %v): error %v, want offset %d", it.src, avx2, err, it.off)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// TestAdversary7B64BlocksOnlyWholeValid: decodeBlocksAVX2 with a bad byte at every position
// of four blocks and every destination length around the blocks' 24-byte boundaries stops at
// the right block and writes only the blocks it reports.
func TestAdversary7B64BlocksOnlyWholeValid(t *testing.T) {
	needAVX2(t)
	rng := rand.New(rand.NewPCG(85, 86))
	base := adv7Valid(rng, 128)
	for pos := range 128 {
		src := bytes.Clone(base)
		src[pos] = "=+/!\x00\xff\x7f@"[pos%8]
		for _, dstLen := range []int{0, 23, 24, 25, 47, 48, 49, 71, 72, 73, 95, 96, 97} {
			checkBlocks(t, src, dstLen)
		}
	}
}

// TestAdversary7B64ThroughVerifier: a genuine EdDSA token is accepted; the same token with one
// byte outside the alphabet ('=', '+', '/', '!', 0x80, 0xFF, NUL, space) at every position of
// every segment (all longer than 32 characters, so decodeBlocksAVX2 runs on them) is refused
// with ReasonTokenFormat.
func TestAdversary7B64ThroughVerifier(t *testing.T) {
	k := newTestKey(t, "EdDSA", "k1")
	v := newTestVerifier(t, staticKeys(t, k), nil)
	hdr := mustJSON(t, map[string]any{"alg": "EdDSA", "kid": "k1", "typ": "JWT", "x-pad": "a header long enough for two blocks"})
	tok := compactJWS(t, k, "EdDSA", hdr, mustJSON(t, baseClaims()))
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	for pos := range len(tok) {
		if tok[pos] == '.' {
			continue
		}
		c := "=+/!\x80\xff\x00 "[pos%8]
		bad := tok[:pos] + string([]byte{c}) + tok[pos+1:]
		_, err := v.Verify(context.Background(), bad)
		require.Error(t, err, "%q at %d", c, pos)
		reason, _ := reasonOf(t, err)
		require.Equal(t, ReasonTokenFormat, reason, "%q at %d: %v", c, pos, err)
	}
}
