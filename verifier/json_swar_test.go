package verifier

import (
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// special reports whether the string scanner must look at c: the quote, the backslash, a
// control character or a byte that is not ASCII.
func special(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }

// firstSpecial is specialBytes's reference: the lane of the first special byte of w, or 8.
func firstSpecial(w uint64) int {
	for i := range 8 {
		if special(byte(w >> (8 * i))) {
			return i
		}
	}
	return 8
}

// TestSpecialBytes: every byte value in every lane of a word of plain bytes, and random words,
// give the first special byte's lane as the lowest set bit.
func TestSpecialBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	plain := func() uint64 {
		var w uint64
		for i := range 8 {
			w |= uint64(0x20+rng.IntN(0x60)) << (8 * i)
		}
		return w
	}
	lane := func(m uint64) int { return bits.TrailingZeros64(m) >> 3 }
	for l := range 8 {
		for c := range 256 {
			for range 4 {
				// plain() may hold quotes and backslashes too: compare with the reference.
				w := plain()&^(0xFF<<(8*l)) | uint64(c)<<(8*l)
				require.Equal(t, firstSpecial(w), lane(specialBytes(w)), "%016x", w)
			}
		}
	}
	for range 1 << 18 {
		w := rng.Uint64()
		if rng.IntN(2) == 0 {
			w &= 0x7F7F7F7F7F7F7F7F
		}
		require.Equal(t, firstSpecial(w), lane(specialBytes(w)), "%016x", w)
	}
}

// refStr is the byte-at-a-time string scanner str replaced: the reference of its word path.
func refStr(d []byte, pos int) (sp span, next int, err error) {
	pos++
	sp = span{start: int32(pos), kind: kindString}
	for pos < len(d) {
		c := d[pos]
		switch {
		case c == '"':
			sp.end = int32(pos)
			return sp, pos + 1, nil
		case c == '\\':
			sp.esc = true
			n, err := escapeLen(d[pos:])
			if err != nil {
				return span{}, 0, err
			}
			pos += n
		case c < 0x20:
			return span{}, 0, errSyntax
		case c < utf8.RuneSelf:
			pos++
		default:
			r, n := utf8.DecodeRune(d[pos:])
			if r == utf8.RuneError && n <= 1 {
				return span{}, 0, errSyntax
			}
			pos += n
		}
	}
	return span{}, 0, errSyntax
}

// strPieces are what TestStrWordPath puts into plain strings: everything the word path stops
// at, valid and not.
var strPieces = []string{
	`"`, `\"`, `\\`, `\/`, `\n`, `\u00e9`, `\u0000`, `\ud83d\ude00`, `\ud800`, `\udc00`, `\ud800\u0041`,
	`\x`, `\u12`, `\`, "é", "😀", "☃", "\x7f", "\x01", "\x1f", "\n", "\xff", "\xc3", "\xc3\x28",
	"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
}

// TestStrWordPath: a piece at every offset of plain strings of every length up to 40 (so at
// every lane of the words and in the byte-at-a-time tail), in a value and in a member name,
// scans exactly as the byte-at-a-time reference scans it, and whole documents get
// encoding/json's verdict when accepted.
func TestStrWordPath(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for off := 0; off <= n; off++ {
			for _, p := range strPieces {
				body := strings.Repeat("a", off) + p + strings.Repeat("b", n-off)
				for _, doc := range []string{`{"k":"` + body + `"}`, `{"` + body + `":1}`, `{"k":"` + body} {
					d := []byte(doc)
					at := strings.IndexByte(doc[1:], '"') + 1
					if doc[1:5] == `"k":` {
						at = 5
					}
					want, wantNext, werr := refStr(d, at)
					s := scanner{data: d, pos: at}
					got, gerr := s.str()
					require.Equal(t, werr, gerr, "%q", doc)
					require.Equal(t, want, got, "%q", doc)
					if werr == nil {
						require.Equal(t, wantNext, s.pos, "%q", doc)
					}
					if readObject(doc) == nil {
						var m map[string]any
						require.NoError(t, json.Unmarshal(d, &m), "%q", doc)
					}
				}
			}
		}
	}
}

// TestSmallObjectDuplicates: duplicates are found in objects of every size around smallObject
// (compared by key, then by bytes beyond 8 bytes, then in the hash table), with names that
// share their first 8 bytes and length, and escaped.
func TestSmallObjectDuplicates(t *testing.T) {
	name := func(i int) string { return "prefix__" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) }
	for size := 1; size <= 3*smallObject; size++ {
		for dupAt := range size {
			var b strings.Builder
			b.WriteString(`{"o":{`)
			for i := range size {
				b.WriteString(`"` + name(i) + `":1,`)
			}
			esc := strings.Replace(name(dupAt), "p", `\u0070`, 1)
			b.WriteString(`"` + esc + `":2}}`)
			assert.ErrorIs(t, readObject(b.String()), errDuplicate, "size %d, duplicate of %d", size, dupAt)
			assert.ErrorIs(t, readObject(`{`+b.String()[6:len(b.String())-1]), errDuplicate, "top level, size %d, duplicate of %d", size, dupAt)
		}
		var b strings.Builder
		b.WriteString(`{`)
		for i := range size {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"` + name(i) + `":1,"` + name(i)[:7] + string(rune('A'+i)) + `":1`)
		}
		b.WriteString(`}`)
		assert.NoError(t, readObject(b.String()), "size %d", size)
	}
}

// FuzzStringScan: str, with its word path, scans any data from a quote exactly as the
// byte-at-a-time reference does.
func FuzzStringScan(f *testing.F) {
	for _, seed := range []string{`"abc"`, `"abcdefghij\n"`, `"abcdefgh\u00e9ijk"`, "\"abcdefg\xc3\xa9\"", "\"abcdefghijklmn\xff\"", `"abcdefghijklmnop`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := append([]byte{'"'}, data...)
		want, wantNext, werr := refStr(d, 0)
		s := scanner{data: d}
		got, gerr := s.str()
		if werr != gerr || want != got || (werr == nil && wantNext != s.pos) {
			t.Fatalf("str(%q) = %+v, %v at %d; reference %+v, %v at %d", d, got, gerr, s.pos, want, werr, wantNext)
		}
	})
}

// TestHeaderAlg: headerAlg finds every algorithm by name, and nothing else.
func TestHeaderAlg(t *testing.T) {
	for i, a := range algorithms {
		assert.Equal(t, i, headerAlg([]byte(a.name)), a.name)
		assert.Equal(t, algorithmIndex([]byte(a.name)), headerAlg([]byte(a.name)), a.name)
	}
	for _, name := range []string{"", "none", "RS25", "RS2566", "rs256", "EdDSA\x00", "HS256", "RS256RS256"} {
		assert.Equal(t, -1, headerAlg([]byte(name)), name)
		assert.Equal(t, algorithmIndex([]byte(name)), headerAlg([]byte(name)), name)
	}
}
