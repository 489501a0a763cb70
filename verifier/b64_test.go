package verifier

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// strictB64 is the reference b64Decode must agree with.
var strictB64 = base64.RawURLEncoding.Strict()

// b64Paths are the ways b64Decode runs in this binary: the Go loops alone (false) and, where
// the CPU has AVX2 and the build is not purego, decodeBlocksAVX2 first (true).
var b64Paths = func() []bool {
	if useAVX2 {
		return []bool{false, true}
	}
	return []bool{false}
}()

// b64Ref is encoding/base64's strict decoding of src with CR and LF (which that decoder skips)
// turned into '!', a byte outside the alphabet, as b64Decode counts them.
func b64Ref(src []byte) ([]byte, int, error) {
	s := bytes.Clone(src)
	for i, c := range s {
		if c == '\r' || c == '\n' {
			s[i] = '!'
		}
	}
	dst := make([]byte, decodedLen(len(s)))
	n, err := strictB64.Decode(dst, s)
	return dst, n, err
}

// b64Guard is how many bytes after its destination the tests check that b64Decode and
// decodeBlocksAVX2 leave alone.
const b64Guard = 64

// checkB64 compares each path of b64Decode (b64Paths) with the reference on src: same verdict,
// same bytes, same error offset, and nothing written past decodedLen(len(src)) into a
// destination of exactly that length with guard bytes after it. The paths must also agree with
// each other on everything, the count and bytes written before an error included. It reports
// whether src was accepted.
func checkB64(t testing.TB, src []byte) (ok bool) {
	t.Helper()
	n := decodedLen(len(src))
	want, wn, werr := b64Ref(src)
	var first []byte
	var firstN int
	var firstErr error
	for i, avx2 := range b64Paths {
		got := bytes.Repeat([]byte{0xA5}, n+b64Guard)
		gn, gerr := b64DecodeWith(got[:n:n], src, avx2)
		if !bytes.Equal(got[n:], bytes.Repeat([]byte{0xA5}, b64Guard)) {
			t.Fatalf("b64Decode(%q) (avx2 %v) wrote past its destination", src, avx2)
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("b64Decode(%q) (avx2 %v): error %v, encoding/base64 %v", src, avx2, gerr, werr)
		}
		if werr != nil {
			var we, ge base64.CorruptInputError
			if !errors.As(werr, &we) || !errors.As(gerr, &ge) || we != ge {
				t.Fatalf("b64Decode(%q) (avx2 %v): error %#v, encoding/base64 %#v", src, avx2, gerr, werr)
			}
		} else if gn != wn || !bytes.Equal(got[:gn], want[:wn]) {
			t.Fatalf("b64Decode(%q) (avx2 %v) = %x, encoding/base64 %x", src, avx2, got[:gn], want[:wn])
		}
		if i == 0 {
			first, firstN, firstErr = got, gn, gerr
		} else if gn != firstN || !errors.Is(gerr, firstErr) || !bytes.Equal(got[:gn], first[:firstN]) {
			t.Fatalf("b64Decode(%q): with AVX2 %d bytes %x, error %v; Go loops %d bytes %x, error %v",
				src, gn, got[:gn], gerr, firstN, first[:firstN], firstErr)
		}
	}
	return werr == nil
}

// b64ValidPrefix is what decodeBlocksAVX2 must consume of src into a destination of dstLen
// bytes: whole 32-character blocks of the alphabet, as many as fit 24 bytes each.
func b64ValidPrefix(src []byte, dstLen int) int {
	k := 0
	for k+32 <= len(src) && (k/32+1)*24 <= dstLen && firstInvalid(src[k:k+32]) == 32 {
		k += 32
	}
	return k
}

// checkBlocks calls decodeBlocksAVX2 on src with a destination of dstLen bytes followed by
// guard bytes: it must consume b64ValidPrefix(src, dstLen), write encoding/base64's decoding
// of that prefix, and nothing else, in the destination or after it.
func checkBlocks(t testing.TB, src []byte, dstLen int) {
	t.Helper()
	buf := bytes.Repeat([]byte{0xA5}, dstLen+b64Guard)
	k := decodeBlocksAVX2(buf[:dstLen:dstLen], src)
	if want := b64ValidPrefix(src, dstLen); k != want {
		t.Fatalf("decodeBlocksAVX2(%d bytes, %q) consumed %d characters, want %d", dstLen, src, k, want)
	}
	want := make([]byte, k/32*24)
	if _, err := strictB64.Decode(want, src[:k]); err != nil {
		t.Fatalf("decodeBlocksAVX2(%d bytes, %q) consumed %d characters that do not decode: %v", dstLen, src, k, err)
	}
	if !bytes.Equal(buf[:len(want)], want) {
		t.Fatalf("decodeBlocksAVX2(%d bytes, %q) wrote %x, want %x", dstLen, src, buf[:len(want)], want)
	}
	if rest := buf[len(want):]; !bytes.Equal(rest, bytes.Repeat([]byte{0xA5}, len(rest))) {
		t.Fatalf("decodeBlocksAVX2(%d bytes, %q) wrote past the %d bytes of its %d blocks: %x",
			dstLen, src, len(want), k/32, rest)
	}
}

// needAVX2 skips a test of decodeBlocksAVX2 where this binary does not use it.
func needAVX2(t testing.TB) {
	t.Helper()
	if !useAVX2 {
		t.Skip("no AVX2 decoder in this build or on this CPU (purego, another architecture or an old CPU)")
	}
}

// randomB64 returns n random characters of the alphabet.
func randomB64(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = b64Alphabet[rng.IntN(len(b64Alphabet))]
	}
	return b
}

// TestBase64EveryByteEveryPosition: in inputs of every length up to 40 (every length mod 4;
// the 8-character steps, the 4-character steps and the tail), every byte value but CR and LF
// at every position decodes as encoding/base64 decodes it.
func TestBase64EveryByteEveryPosition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	accepted := 0
	for n := 0; n <= 40; n++ {
		base := randomB64(rng, n)
		checkB64(t, base)
		for pos := range n {
			src := bytes.Clone(base)
			for c := range 256 {
				if c == '\r' || c == '\n' {
					continue
				}
				src[pos] = byte(c)
				if checkB64(t, src) {
					accepted++
				}
			}
		}
	}
	assert.Positive(t, accepted)
}

// TestBase64TrailingBits: the last character of a 2- or 3-character final quantum takes each of
// the 64 values, so every trailing-bit pattern is tried after every number of full steps (of
// the Go loops and of decodeBlocksAVX2); only zero trailing bits are canonical.
func TestBase64TrailingBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 2; n <= 135; n++ { // after up to four of decodeBlocksAVX2's 32-character blocks
		if n%4 == 1 || n%4 == 0 {
			continue
		}
		src := randomB64(rng, n)
		canonical := 0
		for _, c := range []byte(b64Alphabet) {
			src[n-1] = c
			if checkB64(t, src) {
				canonical++
			}
		}
		want := map[int]int{2: 4, 3: 16}[n%4] // values whose trailing 4 or 2 bits are zero
		assert.Equal(t, want, canonical, "length %d", n)
	}
}

// TestBase64Random: random encodings of random bytes round-trip, and random mutations (padding,
// the standard alphabet, spaces, dots, any byte) get the reference's verdict.
func TestBase64Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 20000 {
		raw := make([]byte, rng.IntN(800))
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		src := []byte(base64.RawURLEncoding.EncodeToString(raw))
		require.True(t, checkB64(t, src))
		for range rng.IntN(3) {
			if len(src) == 0 {
				break
			}
			if rng.IntN(2) == 0 {
				src[rng.IntN(len(src))] = "=+/ .\x00\xff"[rng.IntN(7)]
			} else {
				src[rng.IntN(len(src))] = byte(rng.IntN(256))
			}
		}
		if rng.IntN(8) == 0 {
			src = src[:rng.IntN(len(src)+1)]
		}
		if !bytes.ContainsAny(src, "\r\n") {
			checkB64(t, src)
		}
	}
}

// TestBase64RefusesCRLF: CR and LF, which encoding/base64 skips, are bytes outside the alphabet.
func TestBase64RefusesCRLF(t *testing.T) {
	for _, src := range []string{"AAAA\nAAAA", "\rAAA", "AAAAAAAAAAAAAAA\n", "AA\r\n"} {
		_, err := b64Decode(make([]byte, decodedLen(len(src))), []byte(src))
		var ce base64.CorruptInputError
		require.ErrorAs(t, err, &ce, "%q", src)
		assert.Contains(t, "\r\n", string(src[ce]), "%q", src)
		e := segmentError([]byte(src), err)
		assert.Equal(t, ReasonTokenFormat, e.Reason, "%q", src)
	}
}

// TestSegmentErrorReasons: a byte outside the alphabet is a format error, a non-canonical
// spelling an encoding error, both through decodeInto.
func TestSegmentErrorReasons(t *testing.T) {
	for _, tc := range []struct {
		seg    string
		reason Reason
	}{
		{"AAAA=", ReasonTokenFormat},
		{"AA==", ReasonTokenFormat},
		{"ab+/", ReasonTokenFormat},
		{"AAAAAAAAAAAAAAAAAAAA AAA", ReasonTokenFormat},
		{"AB", ReasonTokenEncoding},
		{"AAB", ReasonTokenEncoding},
		{"AAAAAAAAAAAAAAAAAAAAAAB", ReasonTokenEncoding},
		{"AAAAA", ReasonTokenEncoding},
	} {
		_, _, err := decodeInto(nil, []byte(tc.seg))
		require.Error(t, err, tc.seg)
		assert.Equal(t, tc.reason, segmentError([]byte(tc.seg), err).Reason, tc.seg)
	}
}

// FuzzBase64: both paths of b64Decode (b64Paths) agree with encoding/base64's strict decoder
// and with each other on every input without CR or LF, and refuse every input with one (at the
// offset of the first byte outside the alphabet); decodeBlocksAVX2 consumes exactly the valid
// prefix of whole blocks.
func FuzzBase64(f *testing.F) {
	for _, seed := range []string{"", "AA", "AAA", "AAAA", "AB", "eyJhbGciOiJFUzI1NiJ9", "AAAAAAAAAAA=", "ab+/cd", "AAAA\nAAAA"} {
		f.Add([]byte(seed))
	}
	f.Add([]byte("eyJpc3MiOiJodHRwczovL29pZGMuZWtzLnVzLXdlc3QtMi5hbWF6b25hd3MuY29tL2lkLzAxMjM0NTY3ODkifQ"))
	f.Add(bytes.Repeat([]byte("-_AZaz09"), 12))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, avx2 := range b64Paths {
			if bytes.ContainsAny(src, "\r\n") {
				if _, err := b64DecodeWith(make([]byte, decodedLen(len(src))), src, avx2); err == nil {
					t.Fatalf("b64Decode(%q) (avx2 %v) accepted CR or LF", src, avx2)
				}
			}
		}
		checkB64(t, src) // CR and LF too: b64Ref counts them as bytes outside the alphabet
		if useAVX2 {
			checkBlocks(t, src, decodedLen(len(src)))
		}
	})
}

// TestBase64Lengths: random valid input of every length 0..200 (every number of
// decodeBlocksAVX2's blocks up to six, with every tail; a length of 1 mod 4 is refused), read
// from every alignment 0..31 of a larger buffer and ending in 'A' (zero trailing bits), decodes on both paths as encoding/base64
// decodes it into a destination of exactly decodedLen bytes.
func TestBase64Lengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	buf := randomB64(rng, 200+32)
	refused := 0
	for n := 0; n <= 200; n++ {
		for off := range 32 {
			b := bytes.Clone(buf)
			if n > 0 {
				b[off+n-1] = 'A' // zero trailing bits
			}
			src := b[off : off+n : off+n]
			if !checkB64(t, src) {
				refused++
			}
			if useAVX2 {
				checkBlocks(t, src, decodedLen(n))
			}
		}
	}
	assert.Equal(t, 50*32, refused) // the lengths 1 mod 4, at each alignment
}

// TestBase64EveryByteLongInputs: in inputs of 64 and 96 characters (two and three of
// decodeBlocksAVX2's blocks) and 99 (three blocks and a tail), every byte value, CR and LF
// included, at every position decodes on both paths as encoding/base64 decodes it, and
// decodeBlocksAVX2 stops at the start of the block holding the byte unless it is valid.
func TestBase64EveryByteLongInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{64, 96, 99} {
		base := randomB64(rng, n)
		base[n-1] = 'A' // zero trailing bits at 99
		accepted := 0
		for pos := range n {
			src := bytes.Clone(base)
			for c := range 256 {
				src[pos] = byte(c)
				if checkB64(t, src) {
					accepted++
				}
				if useAVX2 {
					checkBlocks(t, src, decodedLen(n))
				}
			}
		}
		want := n * 64 // each position's 64 characters of the alphabet
		if n%4 == 3 {
			want -= 64 - 16 // the last character must have zero trailing bits
		}
		assert.Equal(t, want, accepted, "length %d", n)
	}
}

// TestBase64BadBlock: in a 10-block input and tail (323 characters), one bad byte (CR, LF,
// padding, the standard alphabet's '+' and '/', others) at the start, middle and end of the
// first, a middle and the last block and in the tail is reported at its offset on both paths,
// and decodeBlocksAVX2 decodes exactly the blocks before it.
func TestBase64BadBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	base := randomB64(rng, 323)
	base[322] = 'A'
	require.True(t, checkB64(t, base))
	for _, tc := range []struct {
		name string
		pos  int
	}{
		{"first block start", 0}, {"first block middle", 17}, {"first block end", 31},
		{"middle block start", 160}, {"middle block middle", 175}, {"middle block end", 191},
		{"last block start", 288}, {"last block middle", 301}, {"last block end", 319},
		{"tail", 321},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []byte("\r\n=+/.! \x00\x7f\x80\xff@[`{:,") {
				src := bytes.Clone(base)
				src[tc.pos] = c
				require.False(t, checkB64(t, src), "%q at %d", c, tc.pos)
				for _, avx2 := range b64Paths {
					_, err := b64DecodeWith(make([]byte, decodedLen(len(src))), src, avx2)
					var ce base64.CorruptInputError
					require.ErrorAs(t, err, &ce)
					assert.EqualValues(t, tc.pos, ce, "%q at %d, avx2 %v", c, tc.pos, avx2)
				}
				if useAVX2 {
					assert.Equal(t, min(tc.pos/32*32, 320), decodeBlocksAVX2(make([]byte, decodedLen(len(src))), src))
					checkBlocks(t, src, decodedLen(len(src)))
				}
			}
		})
	}
}

// TestDecodeBlocksAVX2Room: decodeBlocksAVX2 decodes no block whose 24 bytes do not fit in its
// destination, whatever the destination's length, and writes nothing past it.
func TestDecodeBlocksAVX2Room(t *testing.T) {
	needAVX2(t)
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{31, 32, 33, 63, 64, 96, 130, 200} {
		src := randomB64(rng, n)
		for dstLen := 0; dstLen <= decodedLen(n)+8; dstLen++ {
			checkBlocks(t, src, dstLen)
		}
	}
	assert.Zero(t, decodeBlocksAVX2(nil, randomB64(rng, 64)))
	assert.Zero(t, decodeBlocksAVX2(make([]byte, 48), nil))
	assert.Equal(t, 32, decodeBlocksAVX2(make([]byte, 47), randomB64(rng, 64)))
}

// TestDecodeBlocksAVX2Alphabet: a block of each of the 64 characters alone decodes to its
// value repeated, and a block of all 64 in order (twice) to the well-known bytes.
func TestDecodeBlocksAVX2Alphabet(t *testing.T) {
	needAVX2(t)
	for v, c := range []byte(b64Alphabet) {
		src := bytes.Repeat([]byte{c}, 32)
		dst := make([]byte, 24)
		require.Equal(t, 32, decodeBlocksAVX2(dst, src), "%q", c)
		w := uint32(v)<<18 | uint32(v)<<12 | uint32(v)<<6 | uint32(v)
		assert.Equal(t, bytes.Repeat([]byte{byte(w >> 16), byte(w >> 8), byte(w)}, 8), dst, "%q", c)
	}
	src := []byte(b64Alphabet + b64Alphabet)
	dst := make([]byte, 96)
	require.Equal(t, 128, decodeBlocksAVX2(dst, src))
	want, err := base64.RawURLEncoding.DecodeString(b64Alphabet + b64Alphabet)
	require.NoError(t, err)
	assert.Equal(t, want, dst)
}

// BenchmarkB64Decode decodes the segments of real tokens: an EKS service-account token's
// header and payload (about 60 and 770 characters), an EdDSA signature (86) and an RS256
// signature (342), and the EdDSA token's three segments together (token).
func BenchmarkB64Decode(b *testing.B) {
	ed := mint(b, newTestKey(b, "EdDSA", "kZ3yWqV9vJ0xQy1cO2p8m3b4R5s6T7u8V9w0X1y2Z3a"), eksClaims(), nil)
	rs := mint(b, newTestKey(b, "RS256", "kZ3yWqV9vJ0xQy1cO2p8m3b4R5s6T7u8V9w0X1y2Z3a"), eksClaims(), nil)
	edSegs, rsSegs := strings.Split(ed, "."), strings.Split(rs, ".")
	cases := []struct {
		name string
		segs []string
	}{
		{"header", edSegs[:1]},
		{"payload", edSegs[1:2]},
		{"sig-EdDSA", edSegs[2:]},
		{"sig-RS256", rsSegs[2:]},
		{"token", edSegs},
	}
	for _, c := range cases {
		segs := make([][]byte, len(c.segs))
		size := 0
		for i, s := range c.segs {
			segs[i] = []byte(s)
			size += len(s)
		}
		dst := make([]byte, decodedLen(size))
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				d := dst
				for _, s := range segs {
					n, err := b64Decode(d, s)
					if err != nil {
						b.Fatal(err)
					}
					d = d[n:]
				}
			}
		})
	}
}
