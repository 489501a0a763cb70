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

// checkB64 compares b64Decode with the reference on src, which must not contain CR or LF (the
// reference skips them; splitCompact refuses them first): same verdict, same bytes, same error
// offset, and nothing written past decodedLen(len(src)).
func checkB64(t testing.TB, src []byte) (ok bool) {
	t.Helper()
	n := decodedLen(len(src))
	want := make([]byte, n)
	wn, werr := strictB64.Decode(want, src)
	const guard = 16
	got := bytes.Repeat([]byte{0xA5}, n+guard)
	gn, gerr := b64Decode(got[:n], src)
	if !bytes.Equal(got[n:], bytes.Repeat([]byte{0xA5}, guard)) {
		t.Fatalf("b64Decode(%q) wrote past its destination", src)
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("b64Decode(%q): error %v, encoding/base64 %v", src, gerr, werr)
	}
	if werr != nil {
		var we, ge base64.CorruptInputError
		if !errors.As(werr, &we) || !errors.As(gerr, &ge) || we != ge {
			t.Fatalf("b64Decode(%q): error %#v, encoding/base64 %#v", src, gerr, werr)
		}
		return false
	}
	if gn != wn || !bytes.Equal(got[:gn], want[:wn]) {
		t.Fatalf("b64Decode(%q) = %x, encoding/base64 %x", src, got[:gn], want[:wn])
	}
	return true
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
// the 64 values, so every trailing-bit pattern is tried after every number of full steps; only
// zero trailing bits are canonical.
func TestBase64TrailingBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 2; n <= 43; n++ {
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

// FuzzBase64: b64Decode agrees with encoding/base64's strict decoder on every input without CR
// or LF, and refuses every input with one.
func FuzzBase64(f *testing.F) {
	for _, seed := range []string{"", "AA", "AAA", "AAAA", "AB", "eyJhbGciOiJFUzI1NiJ9", "AAAAAAAAAAA=", "ab+/cd", "AAAA\nAAAA"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.ContainsAny(src, "\r\n") {
			if _, err := b64Decode(make([]byte, decodedLen(len(src))), src); err == nil {
				t.Fatalf("b64Decode(%q) accepted CR or LF", src)
			}
			return
		}
		checkB64(t, src)
	})
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
