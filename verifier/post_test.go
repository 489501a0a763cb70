package verifier

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refParseARN is parseARN one character at a time (its definition before the word-at-a-time
// scan).
func refParseARN(arn string) (partition, account string, ok bool) {
	if len(arn) < minRoleARNLen || len(arn) > maxRoleARNLen || !strings.HasPrefix(arn, "arn:") {
		return "", "", false
	}
	var colon [5]int
	n := 0
	for i := 0; i < len(arn); {
		c := arn[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(arn[i:])
			if r == utf8.RuneError && size == 1 {
				return "", "", false
			}
			i += size
			continue
		}
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7F:
			return "", "", false
		case c == ':' && n < len(colon):
			colon[n] = i
			n++
		}
		i++
	}
	if n != len(colon) || colon[1] <= colon[0]+1 || colon[2] <= colon[1]+1 || colon[4] >= len(arn)-1 {
		return "", "", false
	}
	return arn[colon[0]+1 : colon[1]], arn[colon[3]+1 : colon[4]], true
}

// TestParseARNWordScan: parseARN agrees with the one-character-at-a-time definition on ARNs
// whose characters sit at every offset of an 8-byte word, including each byte plainWord must
// stop at (controls, DEL, colons, bytes of multi-byte and invalid UTF-8) and its neighbours.
func TestParseARNWordScan(t *testing.T) {
	special := []string{":", "\x00", "\x1f", " ", "~", "\x7f", "\x80", "\xff", "é", "\t", "\n", "\r", "\xe2\x82", "€", "a", "Z", "/"}
	base := "arn:aws:iam::111122223333:role/path/to/some-role-name-here"
	rng := rand.New(rand.NewPCG(7, 8))
	var cases []string
	for pos := range len(base) {
		for _, sp := range special {
			cases = append(cases, base[:pos]+sp+base[pos+1:], base[:pos]+sp+base[pos:])
		}
	}
	for range 20000 {
		b := []byte(base)
		b = append(b, base[:rng.IntN(len(base))]...)
		for range rng.IntN(4) {
			sp := special[rng.IntN(len(special))]
			i := rng.IntN(len(b))
			b = append(b[:i], append([]byte(sp), b[i:]...)...)
		}
		cases = append(cases, string(b))
	}
	valid := 0
	for _, c := range cases {
		p, a, ok := parseARN(c)
		rp, ra, rok := refParseARN(c)
		require.Equal(t, rok, ok, "%q", c)
		assert.Equal(t, rp, p, "%q", c)
		assert.Equal(t, ra, a, "%q", c)
		if ok {
			valid++
		}
	}
	assert.Greater(t, valid, 1000)
}

// TestPlainWord checks plainWord lane by lane against its definition for every byte value.
func TestPlainWord(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c <= 0x7E && c != ':' }
	for lane := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[lane] = byte(c)
			w := uint64(0)
			for i := 7; i >= 0; i-- {
				w = w<<8 | uint64(b[i])
			}
			assert.Equal(t, plain(byte(c)), plainWord(w), "lane %d byte %#x", lane, c)
		}
	}
}

// TestAppendStringsMatchesStringArray: the aud/amr walk without a callback yields what
// stringArray does, on arrays the reader accepted as strings only (whitespace, escapes,
// empty strings, empty arrays), appended after what dst holds.
func TestAppendStringsMatchesStringArray(t *testing.T) {
	for _, arr := range []string{`[]`, `[ ]`, `["a"]`, `[ "a" , "b" ]`, "[\n\"x\\\"y\",\t\"\\u00e9\", \"\"]",
		`["sts.amazonaws.com","b","c","d"]`, `[""]`, `["\\",   "/"]`} {
		doc := `{"aud":` + arr + `}`
		var r objectReader
		r.reset([]byte(doc))
		require.NoError(t, r.beginObject())
		m, more, err := r.nextMember()
		require.NoError(t, err)
		require.True(t, more)
		require.True(t, m.stringsOnly(), arr)
		var want []string
		require.True(t, stringArray([]byte(doc), m.span, func(el span) { want = append(want, stringValue(doc, el)) }))
		got := appendStrings([]string{"before"}, doc, []byte(doc), m.span)
		assert.Equal(t, append([]string{"before"}, want...), got, arr)
	}
}

// BenchmarkParseARN compares parseARN with its one-character-at-a-time definition
// (refParseARN) on a role ARN of the Many accounts benchmark's shape.
func BenchmarkParseARN(b *testing.B) {
	arn := "arn:aws:iam::111122223333:role/eks/payments/checkout-api-irsa-role"
	for _, f := range []struct {
		name string
		fn   func(string) (string, string, bool)
	}{{"word", parseARN}, {"ref", refParseARN}} {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := f.fn(arn); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
