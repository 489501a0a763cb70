package verifier

import (
	"math/rand/v2"
	"strconv"
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

// TestNonDigitLanes: nonDigitLanes flags exactly the lanes that do not hold an ASCII digit,
// every byte value in every lane, among random neighbours.
func TestNonDigitLanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for range 16 {
		base := rng.Uint64()
		if rng.IntN(2) == 0 {
			base = 0x3030303030303030 | base&0x0707070707070707 // digits 0..7 around
		}
		for l := range 8 {
			for c := range 256 {
				w := laneByte(base, l, byte(c))
				m := nonDigitLanes(w)
				if m&^lanes80 != 0 {
					t.Fatalf("%016x: bits outside the lanes' high bits: %016x", w, m)
				}
				for i := range 8 {
					b := byte(w >> (8 * i))
					if (b < '0' || b > '9') != (m>>(8*i+7)&1 == 1) {
						t.Fatalf("%016x lane %d: nonDigitLanes %016x", w, i, m)
					}
				}
			}
		}
	}
}

// TestEightDigits: eightDigits gives the value of eight digits, for each digit in each lane
// among random others, every 9973rd value and random values.
func TestEightDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	check := func(v uint32) {
		var w uint64
		for i, x := 7, v; i >= 0; i-- { // the last digit in the highest lane
			w |= uint64('0'+x%10) << (8 * i)
			x /= 10
		}
		if got := eightDigits(w); got != v {
			t.Fatalf("eightDigits(%016x) = %d, want %d", w, got, v)
		}
	}
	for v := uint32(0); v < 1e8; v += 9973 {
		check(v)
	}
	for _, v := range []uint32{0, 1, 9, 10, 99999999, 10000000, 9999999, 12345678, 87654321} {
		check(v)
	}
	for range 1 << 16 {
		check(uint32(rng.IntN(1e8)))
	}
	pow := uint32(1)
	for range 8 {
		for d := range uint32(10) {
			for range 8 {
				v := uint32(rng.IntN(1e8))
				check(v - (v/pow)%10*pow + d*pow)
			}
		}
		pow *= 10
	}
}

// TestDigitRun: digitRun counts what the byte-at-a-time loop counted, for runs of every length
// up to 24 at every offset, ended by every other byte value or by the end of the data.
func TestDigitRun(t *testing.T) {
	for off := range 9 {
		for n := range 25 {
			for end := -1; end < 256; end++ {
				if end >= '0' && end <= '9' {
					continue
				}
				d := append([]byte(strings.Repeat("x", off)), strings.Repeat("7", n)...)
				for i := off; i < len(d); i++ {
					d[i] = byte('0' + (i*7)%10)
				}
				if end >= 0 {
					d = append(d, byte(end), '1', '2')
				}
				s := scanner{data: d, pos: off}
				want := refDigits(&s)
				if got := digitRun(d, off); got != want || want != n {
					t.Fatalf("digitRun(%q, %d) = %d, want %d (%d)", d, off, got, want, n)
				}
				s = scanner{data: d, pos: off}
				if got := s.digits(); got != n || s.pos != off+n {
					t.Fatalf("digits(%q) from %d = %d to %d", d, off, got, s.pos)
				}
			}
		}
	}
}

// TestNumericDateAgrees: numericDate gives refNumericDate's verdict and time for every digit
// string of up to 5 digits and random ones of 6 to 14 digits, each alone, with a fraction,
// an exponent, a sign or a stray byte, inside a larger document.
func TestNumericDateAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	suffixes := []string{"", ".5", ".123456789123", ".", "e1", "E+2", ".5e1", "x", "-"}
	check := func(num string) {
		doc := []byte(`{"exp":` + num + `}`)
		sp := span{start: 7, end: int32(7 + len(num)), kind: kindNumber}
		got, ok := numericDate(doc, sp)
		want, wok := refNumericDate(doc, sp)
		if ok != wok || !got.Equal(want) {
			t.Fatalf("numericDate(%q) = %v, %v; reference %v, %v", num, got, ok, want, wok)
		}
	}
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	var all []string
	for n := 1; n <= 5; n++ {
		for v := range pow10(n) {
			s := strconv.Itoa(v)
			all = append(all, strings.Repeat("0", n-len(s))+s)
		}
	}
	for n := 6; n <= 14; n++ {
		for range 1500 {
			all = append(all, digits(n))
		}
	}
	all = append(all, "253402300799", "253402300800", "99999999999", "100000000000", "1700000000", "00000001", "000000000001")
	for _, d := range all {
		for _, suf := range suffixes {
			check(d + suf)
		}
		check("-" + d)
	}
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// TestSubjectLengthAgrees: subjectLengthOK gives refSubjectLengthOK's verdict on strings of
// 0 to 300 characters of one, two, three and four bytes, escaped and not, and with invalid
// UTF-8, at the lengths around both bounds.
func TestSubjectLengthAgrees(t *testing.T) {
	for _, unit := range []string{"a", "\u00e9", "\u20ac", "\U0001F600", `\u0041`, `\ud83d\ude00`, "\xff", `\n`} {
		for n := 0; n <= 300; n++ {
			for _, tail := range []string{"", "b", "\u00e9"} {
				body := strings.Repeat(unit, n) + tail
				doc := []byte(`{"sub":"` + body + `"}`)
				sp := span{start: 8, end: int32(8 + len(body)), kind: kindString, esc: strings.Contains(body, `\`)}
				if got, want := subjectLengthOK(doc, sp), refSubjectLengthOK(doc, sp); got != want {
					t.Fatalf("subjectLengthOK(%q) = %v, reference %v", body, got, want)
				}
			}
		}
	}
}

// checkMemberName fails if memberName and memberNameSlow (its definition) read d from pos
// differently: span, error or position after.
func checkMemberName(t testing.TB, d []byte, pos int) {
	t.Helper()
	a, b := scanner{data: d, pos: pos}, scanner{data: d, pos: pos}
	got, gerr := a.memberName()
	want, werr := b.memberNameSlow()
	if got != want || gerr != werr || (werr == nil && a.pos != b.pos) {
		t.Fatalf("memberName(%q) from %d = %+v, %v at %d; memberNameSlow %+v, %v at %d", d, pos, got, gerr, a.pos, want, werr, b.pos)
	}
}

// TestMemberNameFastPath: names of every length up to 20 with each of strPieces at every
// offset, followed by each way a colon may follow (or not), at the end of the data or not,
// read by memberName as memberNameSlow reads them.
func TestMemberNameFastPath(t *testing.T) {
	seps := []string{":", ":1", ": 1", ":\t", " :", "\t:1", "", ",", "x:", `"`, ":}"}
	for n := 0; n <= 20; n++ {
		for off := 0; off <= n; off++ {
			for _, p := range append([]string{"", "a"}, strPieces...) {
				name := strings.Repeat("n", off) + p + strings.Repeat("m", n-off)
				for _, sep := range seps {
					for _, tail := range []string{"", `"v"}`} {
						for _, lead := range []string{"", "{"} {
							d := []byte(lead + `"` + name + `"` + sep + tail)
							checkMemberName(t, d, len(lead))
						}
					}
				}
			}
		}
	}
}

// FuzzMemberName: memberName reads any data as memberNameSlow does.
func FuzzMemberName(f *testing.F) {
	for _, s := range []string{`"abc":1`, `"abcdefgh":"x"`, `"abcdefghijklmnop" : 1`, `"a\u0062":1`, "\"caf\xc3\xa9\":1", `"abc"`, `"ab`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		checkMemberName(t, d, 0)
	})
}

// TestAddSmallAgreesWithAdd: names recorded through addSmall, falling back to nameSet.add as
// the reader does, give the duplicate verdicts nameSet.add alone gives, name after name, for
// random objects of up to 12 members with names that share lengths and first 8 bytes, spelt
// with escapes or not (so that add records some of them), at the end of the data or not.
func TestAddSmallAgreesWithAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	for range 5000 {
		var b strings.Builder
		b.WriteString("{")
		var used []string
		for i := range rng.IntN(13) {
			if i > 0 {
				b.WriteString(",")
			}
			name := advNames[rng.IntN(len(advNames))]
			if len(used) > 0 && rng.IntN(6) == 0 {
				name = used[rng.IntN(len(used))]
			}
			used = append(used, name)
			spelt := name
			if rng.IntN(3) == 0 {
				spelt = escapeName(rng, name)
			} else {
				spelt = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\x00", `\u0000`).Replace(name)
			}
			b.WriteString(`"` + spelt + `":0`)
		}
		if rng.IntN(2) == 0 {
			b.WriteString("}")
		}
		d := []byte(b.String())
		var fast, ref objectReader
		fast.reset(d)
		ref.reset(d)
		s := scanner{data: d, pos: 1}
		for s.pos < len(d) && d[s.pos] == '"' {
			name, err := s.memberNameSlow()
			require.NoError(t, err, "%q", d)
			var ferr error
			if !fast.addSmall(&fast.topNames, name) {
				ferr = fast.names.add(d, 0, &fast.topNames, name)
			}
			rerr := ref.names.add(d, 0, &ref.topNames, name)
			if ferr != rerr {
				t.Fatalf("%q: name at %d: addSmall and add %v, add alone %v", d, name.start, ferr, rerr)
			}
			if rerr != nil {
				break
			}
			s.pos++ // the value 0
			if s.pos < len(d) && d[s.pos] == ',' {
				s.pos++
			}
		}
	}
}
