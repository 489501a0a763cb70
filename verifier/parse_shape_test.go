package verifier

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refShape is the reference for the token's shape and encoding checks, in the order the
// verifier has always made them: size, JSON serialization, the dots, CR or LF anywhere, empty
// segments and impossible lengths, then each segment decoded in turn by encoding/base64's
// strict decoder (a byte outside the alphabet is a format error, anything else an encoding
// error). It returns 0 for a token that passes.
func refShape(token string) Reason {
	if len(token) < minTokenLen || len(token) > maxTokenLen {
		return ReasonTokenSize
	}
	if token[0] == '{' {
		return ReasonTokenFormat
	}
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		return ReasonTokenFormat
	}
	if strings.ContainsAny(token, "\r\n") {
		return ReasonTokenFormat
	}
	for _, seg := range segs {
		if seg == "" {
			return ReasonTokenFormat
		}
		if len(seg)%4 == 1 {
			return ReasonTokenEncoding
		}
	}
	for _, seg := range segs {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(seg); err != nil {
			for i := 0; i < len(seg); i++ {
				if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", rune(seg[i])) {
					return ReasonTokenFormat
				}
			}
			return ReasonTokenEncoding
		}
	}
	return 0
}

// shape runs splitCompact and then decodes the three segments as verifyFull does, and returns
// the reason of the first error (0 if none) and the decoded segments.
func shape(token string) (Reason, [3][]byte) {
	var out [3][]byte
	c, e := splitCompact(token)
	if e != nil {
		return e.Reason, out
	}
	raw := []byte(token)
	var buf []byte
	for i, seg := range [3][]byte{raw[:c.dot1], raw[c.dot1+1 : c.dot2], raw[c.dot2+1:]} {
		var err error
		if buf, out[i], err = decodeInto(buf, seg); err != nil {
			return segmentError(seg, err).Reason, out
		}
	}
	return 0, out
}

// checkShape asserts that shape agrees with refShape on token, and on success that the
// segments decode to what encoding/base64 gives.
func checkShape(t *testing.T, token string) {
	t.Helper()
	want := refShape(token)
	got, parts := shape(token)
	if got != want {
		t.Fatalf("token %q: reason %v, reference %v", token, got, want)
	}
	if got == 0 {
		for i, seg := range strings.Split(token, ".") {
			ref, _ := base64.RawURLEncoding.Strict().DecodeString(seg)
			if string(ref) != string(parts[i]) {
				t.Fatalf("token %q: segment %d decodes to %x, reference %x", token, i, parts[i], ref)
			}
		}
	}
}

// shapeSeeds are tokens at the edges of the shape checks: CR and LF in each segment together
// with each other failure the checks can give, before and after it.
func shapeSeeds() []string {
	seeds := []string{
		"eyJh.eyJi.AAAA", "eyJh.eyJi.AAA", "eyJh.eyJi.AA", "eyJh.eyJi.A", "eyJh..AAAA",
		"eyJh.eyJi.AAAB", "eyJh.eyJi.AB", "eyJh.eyJi.AAB", "eyJB.eyJi.AAAA", "eyB.eyJi.AAAA",
		"eyJh.eyB.AAAA", "eyJh.eyJ\n.AAAA", "eyJh.eyJi.AA\r", "\neyJh.eyJi.AAAA",
		"eyB.eyJi.AA\n", "eyJh.eyB.A\rAA", "eyB.eyJi.\n", "eyJh.eyJi\n.A", "eyJh\r.eyJi.",
		"eyJh.ey=i.AAAA", "eyJh.ey+i.AA\n", "eyJh.eyJi.AB\n", "eyJh.e.AAAA\n", "eyJh.eyJi.AAAA.",
		"{\n.eyJi.AAAA", "ab\n", "eyJ!.eyJi.AA\n", "eyJh.eyJ!.AB", "eyJh.eyJiAA.AAAAB",
		"eyJh.eyJiAB.AAAA\n", "eyJhAAAAAAAAAAAAAAAB.eyJi.AAAA\n",
	}
	return seeds
}

// TestShapeAgreesWithReference: splitCompact and the decoder give the reasons, in the order,
// of refShape, on the edge cases and on random mutations of a real token (CR and LF inserted,
// last characters changed to leave trailing bits, bytes outside the alphabet, dots).
func TestShapeAgreesWithReference(t *testing.T) {
	for _, s := range shapeSeeds() {
		checkShape(t, s)
	}
	k := newTestKey(t, "EdDSA", "k1")
	tok := mint(t, k, eksClaims(), nil)
	require.Equal(t, Reason(0), refShape(tok))
	checkShape(t, tok)
	rng := rand.New(rand.NewPCG(6, 2))
	const alphabet = "AAAAQgw_-\n\r.=+/ !{"
	for range 20000 {
		b := []byte(tok)
		if rng.IntN(2) == 0 { // shorten a segment, to reach every length mod 4
			d := strings.IndexByte(tok, '.')
			if rng.IntN(2) == 0 {
				d = strings.LastIndexByte(tok, '.')
			}
			n := rng.IntN(4)
			b = append(b[:d-n:d-n], b[d:]...)
		}
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b))
			c := alphabet[rng.IntN(len(alphabet))]
			switch rng.IntN(3) {
			case 0:
				b[i] = c
			case 1:
				b = append(b[:i], append([]byte{c}, b[i:]...)...)
			default: // a segment's last character
				if d := strings.IndexByte(string(b[i:]), '.'); d > 0 {
					b[i+d-1] = c
				}
			}
		}
		checkShape(t, string(b))
	}
}

// FuzzTokenShape: splitCompact and the decoder agree with refShape on every input.
func FuzzTokenShape(f *testing.F) {
	for _, s := range shapeSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		checkShape(t, token)
	})
}

func TestShapeReferenceSeeds(t *testing.T) {
	// The reference itself: a few verdicts written out.
	for tok, want := range map[string]Reason{
		"eyJh.eyJi.AAAA": 0, "eyJh.eyJi.A": ReasonTokenEncoding, "eyJh.eyJi.AA\r": ReasonTokenFormat,
		"eyB.eyJi.AA\n": ReasonTokenFormat, "eyB.eyJi.AAAA": ReasonTokenEncoding, "eyJh..AAAA": ReasonTokenFormat,
	} {
		assert.Equal(t, want, refShape(tok), tok)
	}
}
