package verifier

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// laneByte returns w with byte c in lane l.
func laneByte(w uint64, l int, c byte) uint64 { return w&^(0xFF<<(8*l)) | uint64(c)<<(8*l) }

// TestLaneMasks: oddLanes and zeroLanes flag exactly the lanes whose byte they are about,
// every byte value in every lane, among random neighbours (which may be flagged themselves).
func TestLaneMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	odd := func(c byte) bool { return c < 0x20 || c > 0x7E }
	for range 16 {
		base := rng.Uint64()
		for l := range 8 {
			for c := range 256 {
				w := laneByte(base, l, byte(c))
				o, z := oddLanes(w), zeroLanes(w)
				if o&^lanes80 != 0 || z&^lanes80 != 0 {
					t.Fatalf("%016x: bits outside the lanes' high bits: %016x %016x", w, o, z)
				}
				for i := range 8 {
					b := byte(w >> (8 * i))
					if odd(b) != (o>>(8*i+7)&1 == 1) || (b == 0) != (z>>(8*i+7)&1 == 1) {
						t.Fatalf("%016x lane %d: oddLanes %016x, zeroLanes %016x", w, i, o, z)
					}
				}
			}
		}
	}
}

// arnSeeds are role ARNs of several shapes: the benchmarks', empty fields, colons in the
// resource, the minimum length, non-ASCII characters, tabs.
var arnSeeds = []string{
	"arn:aws:iam::123456789012:role/app-3",
	"arn:aws:iam::111122223333:role/eks/payments/checkout-api-irsa-role",
	"arn:aws-us-gov:iam::123456789012:role/a:b:c",
	"arn:a:b::1:r/xxxxxxxx",
	"arn:aws:iam:::role/x",
	"arn:p:s:r:a:x",
	"arn:aws:iam::123456789012:role/caf\u00e9-\u20ac-\U0001F600/x",
	"arn:aws:iam::123456789012:role/tab\there\r\nx",
	"arn:::::" + strings.Repeat("r", 40),
}

// TestParseARNEveryByte: every byte value put at every position of each seed, replacing the
// byte there or inserted before it, and multi-byte sequences (valid and not) likewise, get the
// verdict, partition and account of the one-character-at-a-time definition (refParseARN) and
// of the word scan parseARN replaced (wordParseARN).
func TestParseARNEveryByte(t *testing.T) {
	pieces := []string{"\u00e9", "\u20ac", "\U0001F600", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80", "\xc0\xaf", "::", ":::", "\t:"}
	check := func(arn string) {
		p, a, ok := parseARN(arn)
		rp, ra, rok := refParseARN(arn)
		wp, wa, wok := wordParseARN(arn)
		if p != rp || a != ra || ok != rok || p != wp || a != wa || ok != wok {
			t.Fatalf("parseARN(%q) = %q, %q, %v; definition %q, %q, %v; word scan %q, %q, %v", arn, p, a, ok, rp, ra, rok, wp, wa, wok)
		}
	}
	accepted := 0
	for _, seed := range arnSeeds {
		check(seed)
		for pos := range len(seed) + 1 {
			for c := range 256 {
				if pos < len(seed) {
					check(seed[:pos] + string([]byte{byte(c)}) + seed[pos+1:])
				}
				arn := seed[:pos] + string([]byte{byte(c)}) + seed[pos:]
				check(arn)
				if _, _, ok := parseARN(arn); ok {
					accepted++
				}
			}
			for _, p := range pieces {
				check(seed[:pos] + p + seed[pos:])
			}
		}
	}
	require.Greater(t, accepted, 10000)
}
