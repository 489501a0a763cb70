package verifier

// Adversary tests of the token decoding and JSON parsing rewritten for speed: the base64url
// decoder (b64.go), splitCompact's CR/LF shortcut (token.go), the strict reader's word path,
// small-object duplicate check and all-strings arrays (json.go), the header's alg key
// (header.go) and the pooled readers of session tags and Token.Claim (tags.go). Each test
// compares with a reference written here from the documented rules (or with encoding/base64
// and encoding/json), so that it fails when a promise breaks.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------------------
// A reference strict JSON reader, byte at a time, recursive, with Go maps for duplicates.

// refMember is a member of the top-level object as the reference reads it.
type refMember struct {
	name        string // unescaped
	raw         string // the value's text (a string with its quotes)
	kind        kind
	stringsOnly bool // an array whose elements are all strings
}

type refParser struct {
	d   []byte
	pos int
}

// refJSON reads doc as the strict reader must: the first error in document order (syntax,
// duplicate, depth, width, number range) or the top-level members.
func refJSON(doc []byte) ([]refMember, error) {
	p := &refParser{d: doc}
	p.ws()
	if p.pos >= len(p.d) || p.d[p.pos] != '{' {
		return nil, errSyntax
	}
	var top []refMember
	if err := p.object(1, &top); err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(p.d) {
		return nil, errSyntax
	}
	return top, nil
}

func (p *refParser) ws() {
	for p.pos < len(p.d) && (p.d[p.pos] == ' ' || p.d[p.pos] == '\t' || p.d[p.pos] == '\n' || p.d[p.pos] == '\r') {
		p.pos++
	}
}

// object reads the object at p.pos, a container at nesting level lvl (the top-level object is
// level 1); top, when non-nil, receives its members.
func (p *refParser) object(lvl int, top *[]refMember) error {
	if lvl > maxDepth {
		return errTooDeep
	}
	p.pos++ // '{'
	p.ws()
	if p.pos < len(p.d) && p.d[p.pos] == '}' {
		p.pos++
		return nil
	}
	seen := map[string]bool{}
	for {
		if p.pos >= len(p.d) || p.d[p.pos] != '"' {
			return errSyntax
		}
		nstart := p.pos
		if err := p.str(); err != nil {
			return err
		}
		rawName := p.d[nstart:p.pos]
		p.ws()
		if p.pos >= len(p.d) || p.d[p.pos] != ':' {
			return errSyntax
		}
		p.pos++
		p.ws()
		var name string
		if err := json.Unmarshal(rawName, &name); err != nil {
			panic(fmt.Sprintf("reference: encoding/json cannot unquote %q: %v", rawName, err))
		}
		if seen[name] {
			return errDuplicate
		}
		if len(seen) == maxMembers {
			return errTooWide
		}
		seen[name] = true
		vstart := p.pos
		k, so, err := p.value(lvl)
		if err != nil {
			return err
		}
		if top != nil {
			*top = append(*top, refMember{name: name, raw: string(p.d[vstart:p.pos]), kind: k, stringsOnly: so})
		}
		p.ws()
		if p.pos >= len(p.d) {
			return errSyntax
		}
		switch p.d[p.pos] {
		case ',':
			p.pos++
			p.ws()
		case '}':
			p.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

// value reads a value inside a container of level lvl.
func (p *refParser) value(lvl int) (k kind, stringsOnly bool, err error) {
	if p.pos >= len(p.d) {
		return 0, false, errSyntax
	}
	switch c := p.d[p.pos]; {
	case c == '"':
		return kindString, false, p.str()
	case c == '{':
		return kindObject, false, p.object(lvl+1, nil)
	case c == '[':
		so, err := p.array(lvl + 1)
		return kindArray, so, err
	case c == 't':
		return kindBool, false, p.lit("true")
	case c == 'f':
		return kindBool, false, p.lit("false")
	case c == 'n':
		return kindNull, false, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return kindNumber, false, p.number()
	}
	return 0, false, errSyntax
}

func (p *refParser) array(lvl int) (bool, error) {
	if lvl > maxDepth {
		return false, errTooDeep
	}
	p.pos++
	p.ws()
	if p.pos < len(p.d) && p.d[p.pos] == ']' {
		p.pos++
		return true, nil
	}
	all := true
	for {
		k, _, err := p.value(lvl)
		if err != nil {
			return false, err
		}
		all = all && k == kindString
		p.ws()
		if p.pos >= len(p.d) {
			return false, errSyntax
		}
		switch p.d[p.pos] {
		case ',':
			p.pos++
			p.ws()
		case ']':
			p.pos++
			return all, nil
		default:
			return false, errSyntax
		}
	}
}

func (p *refParser) lit(l string) error {
	if !bytes.HasPrefix(p.d[p.pos:], []byte(l)) {
		return errSyntax
	}
	p.pos += len(l)
	return nil
}

func (p *refParser) number() error {
	start := p.pos
	if p.d[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.d) && p.d[p.pos] >= '0' && p.d[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	switch {
	case p.pos < len(p.d) && p.d[p.pos] == '0':
		p.pos++
	case p.pos < len(p.d) && p.d[p.pos] >= '1' && p.d[p.pos] <= '9':
		digits()
	default:
		return errSyntax
	}
	if p.pos < len(p.d) && p.d[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return errSyntax
		}
	}
	if p.pos < len(p.d) && (p.d[p.pos] == 'e' || p.d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.d) && (p.d[p.pos] == '+' || p.d[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return errSyntax
		}
	}
	// Beyond float64's magnitude (overflow) is refused; underflow and precision loss are not.
	f, _ := strconv.ParseFloat(string(p.d[start:p.pos]), 64)
	if math.IsInf(f, 0) {
		return errNumberRange
	}
	return nil
}

func (p *refParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.d) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.d[at:at+4]), 16, 16)
	return rune(v), err == nil && !strings.ContainsAny(string(p.d[at:at+4]), "+-xX_")
}

// str reads a string from its opening quote.
func (p *refParser) str() error {
	p.pos++
	for p.pos < len(p.d) {
		c := p.d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return nil
		case c == '\\':
			if p.pos+1 >= len(p.d) {
				return errSyntax
			}
			switch p.d[p.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos += 2
			case 'u':
				r, ok := p.hex4(p.pos + 2)
				if !ok {
					return errSyntax
				}
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return errSyntax
				case r >= 0xD800 && r <= 0xDBFF:
					if p.pos+12 > len(p.d) || p.d[p.pos+6] != '\\' || p.d[p.pos+7] != 'u' {
						return errSyntax
					}
					r2, ok := p.hex4(p.pos + 8)
					if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
						return errSyntax
					}
					p.pos += 12
				default:
					p.pos += 6
				}
			default:
				return errSyntax
			}
		case c < 0x20:
			return errSyntax
		case c < 0x80:
			p.pos++
		default:
			r, n := utf8.DecodeRune(p.d[p.pos:])
			if r == utf8.RuneError && n == 1 {
				return errSyntax
			}
			p.pos += n
		}
	}
	return errSyntax
}

// readerErrors are the strict reader's errors, for comparing error identities.
var readerErrors = []error{errSyntax, errDuplicate, errTooDeep, errTooWide, errNumberRange}

func errName(err error) string {
	if err == nil {
		return "nil"
	}
	for _, e := range readerErrors {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "other: " + err.Error()
}

// checkAgainstRef reads doc with the strict reader (top-level members, their spans and
// all-strings marks, Token.Claim) and with the reference, and fails on any difference.
func checkAgainstRef(t testing.TB, doc []byte) (accepted bool) {
	t.Helper()
	want, werr := refJSON(doc)

	r := new(objectReader)
	r.reset(doc)
	var got []refMember
	gerr := r.beginObject()
	for gerr == nil {
		m, more, err := r.nextMember()
		if err != nil {
			gerr = err
			break
		}
		if !more {
			break
		}
		raw := string(doc[m.start:m.end])
		if m.kind == kindString {
			raw = string(doc[m.start-1 : m.end+1])
		}
		got = append(got, refMember{
			name: string(memberName(nil, doc, m)), raw: raw, kind: m.kind,
			stringsOnly: m.stringsOnly(),
		})
	}
	if errName(gerr) != errName(werr) {
		t.Fatalf("doc %q: reader error %v, reference %v", doc, gerr, werr)
	}
	if werr != nil {
		return false
	}
	if len(got) != len(want) {
		t.Fatalf("doc %q: %d members, reference %d", doc, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("doc %q: member %d = %+v, reference %+v", doc, i, got[i], want[i])
		}
	}
	// encoding/json agrees with what was accepted.
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("doc %q: accepted, encoding/json refuses it: %v", doc, err)
	}
	if len(m) != len(want) {
		t.Fatalf("doc %q: encoding/json sees %d members, reference %d", doc, len(m), len(want))
	}
	// Token.Claim finds every member by its unescaped name, with the same text.
	tok := &Token{Claims: string(doc)}
	for _, w := range want {
		raw, ok := tok.Claim(w.name)
		if !ok || raw != w.raw {
			t.Fatalf("doc %q: Claim(%q) = %q, %v; want %q", doc, w.name, raw, ok, w.raw)
		}
	}
	if _, ok := tok.Claim("\x00absent\x00"); ok {
		t.Fatalf("doc %q: Claim of an absent name found something", doc)
	}
	return true
}

// ---------------------------------------------------------------------------------------
// Generated documents at the edges of the word path and of the small-object comparisons.

// advNames are member names around 8 and 16 bytes, sharing their first 8 bytes, and with
// non-ASCII characters across the 8-byte word boundary.
var advNames = []string{
	"", "a", "iss", "sub", "aud", "abcdefg", "abcdefgh", "abcdefgi", "abcdefghi", "abcdefghj",
	"abcdefgh" + "abcdefg", "abcdefgh" + "abcdefgh", "abcdefgh" + "abcdefgi", "abcdefgh" + "abcdefghi",
	"abcdefg\u00e9", "abcdef\u00e9", "abcdefgh\u00e9", "abcdefg\u2603x", "\U0001F600abcd", "abcdefg\U0001F600",
	"a\x00", "a\x00\x00", "\x7f", "\x7fabcdefg", "abcdefg\x7f", "p/q", "https://aws.amazon.com/tags",
}

// escapeName spells name with random escapes: \u00XX or \u00xx for ASCII, \/ for a slash,
// the short escapes for control characters, surrogate pairs for characters beyond the BMP.
func escapeName(rng *rand.Rand, name string) string {
	var b strings.Builder
	for _, r := range name {
		esc := rng.IntN(3) == 0
		switch {
		case r < 0x20 || r == '"' || r == '\\':
			esc = true
		case !esc:
			b.WriteRune(r)
			continue
		}
		switch {
		case r == '/' && rng.IntN(2) == 0:
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r > 0xFFFF:
			r1, r2 := utf16Pair(r)
			fmt.Fprintf(&b, `\u%04x\u%04X`, r1, r2)
		case rng.IntN(2) == 0:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

type docGen struct {
	rng *rand.Rand
	b   strings.Builder
}

func (g *docGen) ws() {
	if g.rng.IntN(6) == 0 {
		g.b.WriteString([]string{" ", "\t", "\n", "\r\n ", "  "}[g.rng.IntN(5)])
	}
}

func (g *docGen) str() {
	g.b.WriteByte('"')
	pieces := []string{"a", "abcdefgh", "\u00e9", "\u2603", "\U0001F600", `\u0041`, `\ud83d\ude00`, `\"`, `\\`, `\n`, "\x7f", "0123456"}
	for range g.rng.IntN(5) {
		g.b.WriteString(pieces[g.rng.IntN(len(pieces))])
	}
	g.b.WriteByte('"')
}

func (g *docGen) value(depth int) {
	switch n := g.rng.IntN(10); {
	case n < 3 || depth > 2:
		if g.rng.IntN(3) == 0 {
			g.b.WriteString([]string{"1", "-0.5e2", "true", "null", "false", "0"}[g.rng.IntN(6)])
		} else {
			g.str()
		}
	case n < 6:
		g.array(depth + 1)
	default:
		g.object(depth+1, g.rng.IntN(12))
	}
}

func (g *docGen) array(depth int) {
	g.b.WriteByte('[')
	g.ws()
	n := g.rng.IntN(5)
	allStrings := g.rng.IntN(2) == 0
	for i := range n {
		if i > 0 {
			g.b.WriteByte(',')
			g.ws()
		}
		if allStrings && g.rng.IntN(8) != 0 {
			g.str()
		} else {
			g.value(depth)
		}
		g.ws()
	}
	g.b.WriteByte(']')
}

// object writes an object of n members with names from advNames, some escaped, and now and
// then a duplicate of an earlier name (spelt differently).
func (g *docGen) object(depth, n int) {
	g.b.WriteByte('{')
	g.ws()
	var used []string
	for i := range n {
		if i > 0 {
			g.b.WriteByte(',')
			g.ws()
		}
		var name string
		switch {
		case len(used) > 0 && g.rng.IntN(40) == 0:
			name = used[g.rng.IntN(len(used))]
		case g.rng.IntN(4) == 0:
			name = advNames[g.rng.IntN(len(advNames))]
		default: // a number at the start, or in bytes 8 and 9
			name = advNames[g.rng.IntN(len(advNames))]
			if g.rng.IntN(2) == 0 {
				name = strconv.Itoa(i) + name
			} else {
				name += strconv.Itoa(i)
			}
		}
		used = append(used, name)
		g.b.WriteString(`"` + escapeName(g.rng, name) + `"`)
		g.ws()
		g.b.WriteByte(':')
		g.ws()
		g.value(depth)
		g.ws()
	}
	g.b.WriteByte('}')
}

// mutate changes a few bytes of doc: special bytes of the word path, truncation, insertions.
func mutate(rng *rand.Rand, doc []byte) []byte {
	specials := []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xff, ',', ':', '[', ']', '{', '}', 'u', '0'}
	d := append([]byte(nil), doc...)
	for range 1 + rng.IntN(2) {
		if len(d) == 0 {
			break
		}
		i := rng.IntN(len(d))
		switch rng.IntN(4) {
		case 0:
			d[i] = specials[rng.IntN(len(specials))]
		case 1:
			d = append(d[:i], append([]byte{specials[rng.IntN(len(specials))]}, d[i:]...)...)
		case 2:
			d = append(d[:i], d[i+1:]...)
		default:
			d = d[:i]
		}
	}
	return d
}

// TestAdversaryParseDifferential: generated documents (names of 7, 8, 9, 16 and 17 bytes that
// share their first 8 bytes, escapes and UTF-8 across the word boundary, objects of up to 20
// members nested, arrays mixing strings with other values), and mutations of them, get the
// reference's verdict, error and members, all-strings marks and Claim texts.
func TestAdversaryParseDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(0xAD, 0x5E))
	accepted, refused := 0, 0
	for i := range 5000 {
		g := &docGen{rng: rng}
		g.object(1, rng.IntN(20))
		doc := []byte(g.b.String())
		if i%2 == 1 {
			doc = mutate(rng, doc)
		}
		if checkAgainstRef(t, doc) {
			accepted++
		} else {
			refused++
		}
	}
	assert.Greater(t, accepted, 500)
	assert.Greater(t, refused, 500)
}

// FuzzAdversaryParse: the strict reader agrees with the reference on every input.
func FuzzAdversaryParse(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"abcdefgh":1,"abcdefgh":2}`, `{"abcdefghi":1,"abcdefghj":2}`, `{"a":["a",1]}`,
		`{"a":[["a"]]}`, `{"\u0061bcdefgh":1,"abcdefgh":2}`, `{"x":"abcdefg\u00e9"}`,
		`{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"a":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkAgainstRef(t, doc)
	})
}

// TestAdversaryDuplicateEdges: duplicates and near-duplicates at the edges of the (length,
// first 8 bytes) key: names differing only after byte 8, escapes inside the first 8 bytes,
// names whose escaped spelling is longer than 8 bytes and whose value is not, the 8th/9th
// member transition, nested objects of more than 8 members, names of exactly 8 and 16 bytes.
func TestAdversaryDuplicateEdges(t *testing.T) {
	fill := func(n int, prefix string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `"%s%02d":%d,`, prefix, i, i)
		}
		return b.String()
	}
	cases := []struct {
		name string
		doc  string
		err  error
	}{
		{"differ at byte 9", `{"abcdefghX":1,"abcdefghY":2}`, nil},
		{"differ at byte 16", `{"abcdefghabcdefgX":1,"abcdefghabcdefgY":2}`, nil},
		{"differ at byte 17", `{"abcdefghabcdefghX":1,"abcdefghabcdefghY":2}`, nil},
		{"same 16 bytes", `{"abcdefghabcdefgh":1,"abcdefghabcdefgh":2}`, errDuplicate},
		{"same 9 bytes, second escaped at byte 9", `{"abcdefghi":1,"abcdefgh\u0069":2}`, errDuplicate},
		{"same 8 bytes, escape in byte 1", `{"abcdefgh":1,"\u0061bcdefgh":2}`, errDuplicate},
		{"same 8 bytes, escape in byte 8", `{"abcdefgh":1,"abcdefg\u0068":2}`, errDuplicate},
		{"8 bytes unescaped, 13 escaped", `{"abcdefg\u0068":1,"abcdefgh":2}`, errDuplicate},
		{"escaped both ways", `{"\u0061bcdefgh":1,"abcdefg\u0068":2}`, errDuplicate},
		{"escape changes length", `{"abcdefgh":1,"abcdefg\u00e9":2}`, nil},
		{"NUL padding is not equality", `{"ab":1,"ab\u0000":2}`, nil},
		{"NUL padding 8", `{"abcdefg":1,"abcdefg\u0000":2}`, nil},
		{"NUL vs empty", `{"":1,"\u0000":2}`, nil},
		{"empty twice", `{"":1,"":2}`, errDuplicate},
		{"non-ASCII across byte 8", `{"abcdefg\u00e9x":1,"abcdefg` + "\u00e9" + `x":2}`, errDuplicate},
		{"surrogate pair vs UTF-8", `{"abcdefg\ud83d\ude00":1,"abcdefg` + "\U0001F600" + `":2}`, errDuplicate},
		{"8 members then duplicate of the first", `{` + fill(8, "abcdefgh") + `"abcdefgh00":9}`, errDuplicate},
		{"8 members then duplicate of the last", `{` + fill(8, "abcdefgh") + `"abcdefgh07":9}`, errDuplicate},
		{"9 members then duplicate of the 9th", `{` + fill(9, "abcdefgh") + `"abcdefgh08":9}`, errDuplicate},
		{"7 members then duplicate of the 7th", `{` + fill(7, "abcdefgh") + `"abcdefgh06":9}`, errDuplicate},
		{"9 members escaped duplicate", `{` + fill(9, "abcdefgh") + `"\u0061bcdefgh03":9}`, errDuplicate},
		{"nested 12 members duplicate", `{"o":{` + fill(12, "k") + `"k11":0}}`, errDuplicate},
		{"nested 12 members no duplicate", `{"o":{` + fill(12, "k") + `"k12":0}}`, nil},
		{"two nested objects of 9 with the same names", `{"o":{` + fill(9, "k") + `"z":0},"p":{` + fill(9, "k") + `"z":0}}`, nil},
		{"same names at two levels, 9 each", `{` + fill(9, "k") + `"o":{` + fill(9, "k") + `"z":0}}`, nil},
		{"duplicate in the outer after a wide inner", `{"k00":1,"o":{` + fill(9, "k") + `"z":0},` + fill(9, "j") + `"k00":2}`, errDuplicate},
		{"objects in an array, 9 members each", `{"a":[{` + fill(9, "k") + `"z":0},{` + fill(9, "k") + `"z":0}]}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := readObject(tc.doc)
			if tc.err == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tc.err)
			}
			checkAgainstRef(t, []byte(tc.doc))
		})
	}
}

// TestAdversaryStringEdges: an escape, a UTF-8 sequence or a bad byte at every offset of
// strings near the 8-byte word boundary and at the end of the data, with the 0x7F and 0x80
// edges, read as the reference reads them.
func TestAdversaryStringEdges(t *testing.T) {
	pieces := []string{
		"\x7f", "\x80", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xef\xbf\xbd", "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80",
		`\u007f`, `\u0080`, `\uffff`, `\ud800\udc00`, `\udbff\udfff`, `\ud800\ud800`, `\ud800`, `\u`, `\u00`,
		`\u00G0`, `\\`, `\"`, "\x1f", "\x20", `\`,
	}
	for n := 0; n <= 20; n++ {
		for off := 0; off <= n; off++ {
			for _, p := range pieces {
				body := strings.Repeat("x", off) + p + strings.Repeat("y", n-off)
				for _, doc := range []string{
					`{"k":"` + body + `"}`, `{"` + body + `":1}`, `{"k":"` + body, `{"` + body,
					`{"k":["` + body + `"]}`, `{"` + body + `":1,"` + body + `":2}`,
				} {
					checkAgainstRef(t, []byte(doc))
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------------------
// aud and amr: the all-strings mark through the whole verifier.

// TestAdversaryAudArrays: aud and amr arrays with a non-string element after strings, nested
// arrays, empty arrays, and an escaped-string aud right after an array (the mark is the
// span's esc bit): ClaimsMalformed exactly when an element is not a string.
func TestAdversaryAudArrays(t *testing.T) {
	k := newTestKey(t, "EdDSA", "k1")
	v := newTestVerifier(t, staticKeys(t, k), nil)
	hdr := mustJSON(t, map[string]any{"alg": "EdDSA", "kid": "k1"})
	base := mustJSON(t, baseClaims())
	base = base[:len(base)-1] // room for more members
	cases := []struct {
		name   string
		extra  string // members replacing aud
		reason Reason // 0: accepted
	}{
		{"aud string", `"aud":"sts.amazonaws.com"`, 0},
		{"aud escaped string", `"aud":"sts.amazonaws\u002ecom"`, 0},
		{"aud array", `"aud":["x","sts.amazonaws.com"]`, 0},
		{"aud array with escapes", `"aud":["\u0078","sts.amazonaws\u002ecom"]`, 0},
		{"aud array with a number after strings", `"aud":["sts.amazonaws.com",1]`, ReasonClaimsMalformed},
		{"aud array with a number first", `"aud":[1,"sts.amazonaws.com"]`, ReasonClaimsMalformed},
		{"aud array with null", `"aud":["sts.amazonaws.com",null]`, ReasonClaimsMalformed},
		{"aud array with an object", `"aud":["sts.amazonaws.com",{}]`, ReasonClaimsMalformed},
		{"aud array with an empty array", `"aud":["sts.amazonaws.com",[]]`, ReasonClaimsMalformed},
		{"aud nested array", `"aud":[["sts.amazonaws.com"]]`, ReasonClaimsMalformed},
		{"aud array with spaces", `"aud": [ "x" , "sts.amazonaws.com" ] `, 0},
		{"aud array, space before a number", `"aud":["sts.amazonaws.com", 1]`, ReasonClaimsMalformed},
		{"aud empty array", `"aud":[]`, ReasonAudience},
		{"aud object", `"aud":{"a":"sts.amazonaws.com"}`, ReasonClaimsMalformed},
		{"aud number", `"aud":1`, ReasonClaimsMalformed},
		{"amr array with a bool", `"aud":"sts.amazonaws.com","amr":["pwd",true]`, ReasonClaimsMalformed},
		{"amr nested", `"aud":"sts.amazonaws.com","amr":[["pwd"]]`, ReasonClaimsMalformed},
		{"amr empty", `"aud":"sts.amazonaws.com","amr":[]`, 0},
		{"amr strings", `"aud":"sts.amazonaws.com","amr":["pwd","mfa"]`, 0},
		{"mixed array before aud", `"x":["a",1],"aud":["sts.amazonaws.com"]`, 0},
		{"escaped string before a mixed aud", `"x":"\u0061","aud":["sts.amazonaws.com",2]`, ReasonClaimsMalformed},
		{"mixed array in another claim, amr after", `"aud":"sts.amazonaws.com","y":[1],"amr":["a"]`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims := strings.Replace(base, `"aud":"sts.amazonaws.com",`, "", 1)
			claims = strings.Replace(claims, `,"aud":"sts.amazonaws.com"`, "", 1)
			require.NotContains(t, claims, `"aud"`)
			claims += "," + tc.extra + "}"
			require.True(t, json.Valid([]byte(claims)), claims)
			tok := compactJWS(t, k, "EdDSA", hdr, claims)
			got, err := v.Verify(context.Background(), tok)
			if tc.reason == 0 {
				require.NoError(t, err)
				var want any
				var m map[string]json.RawMessage
				require.NoError(t, json.Unmarshal([]byte(claims), &m))
				require.NoError(t, json.Unmarshal(m["aud"], &want))
				if s, ok := want.(string); ok {
					assert.Equal(t, []string{s}, got.Audience)
				} else {
					var ws []string
					require.NoError(t, json.Unmarshal(m["aud"], &ws))
					assert.Equal(t, ws, got.Audience)
				}
				return
			}
			reason, _ := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
		})
	}
}

// ---------------------------------------------------------------------------------------
// base64url: every 16/8 boundary, a bad byte in every lane, CR and LF.

// refB64 is what b64Decode must give on src: encoding/base64's strict verdict, bytes and
// offsets, with CR and LF (which that decoder skips) counted as bytes outside the alphabet.
func refB64(src []byte) ([]byte, int, error) {
	s := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return '!'
		}
		return r
	}, src)
	if len(s) != len(src) { // bytes.Map re-encodes invalid UTF-8; do it by bytes instead
		s = append([]byte(nil), src...)
		for i, c := range s {
			if c == '\r' || c == '\n' {
				s[i] = '!'
			}
		}
	}
	dst := make([]byte, decodedLen(len(src)))
	n, err := base64.RawURLEncoding.Strict().Decode(dst, s)
	return dst, n, err
}

// checkB64Adv compares b64Decode with refB64: the verdict, the offset, the bytes on success,
// and nothing written past decodedLen(len(src)) even when the destination is longer. With
// countOnError, also the count (and bytes) of what was decoded before an error.
func checkB64Adv(t testing.TB, src []byte, countOnError bool) {
	t.Helper()
	want, wn, werr := refB64(src)
	n := decodedLen(len(src))
	const guard = 24
	got := bytes.Repeat([]byte{0x5A}, n+guard)
	gn, gerr := b64Decode(got, src) // a destination longer than it needs
	if !bytes.Equal(got[n:], bytes.Repeat([]byte{0x5A}, guard)) {
		t.Fatalf("b64Decode(%q) wrote past decodedLen into a longer destination: %x", src, got[n:])
	}
	got2 := bytes.Repeat([]byte{0xA5}, n+guard)
	gn2, gerr2 := b64Decode(got2[:n:n+guard], src) // exact length, slack in capacity
	if !bytes.Equal(got2[n:], bytes.Repeat([]byte{0xA5}, guard)) {
		t.Fatalf("b64Decode(%q) wrote into its destination's capacity: %x", src, got2[n:])
	}
	if gn != gn2 || fmt.Sprint(gerr) != fmt.Sprint(gerr2) || !bytes.Equal(got[:gn], got2[:gn2]) {
		t.Fatalf("b64Decode(%q) depends on its destination's length", src)
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("b64Decode(%q): error %v, reference %v", src, gerr, werr)
	}
	if werr != nil && !countOnError {
		var we, ge base64.CorruptInputError
		if !errors.As(werr, &we) || !errors.As(gerr, &ge) || we != ge {
			t.Fatalf("b64Decode(%q): error %#v, reference %#v", src, gerr, werr)
		}
		return
	}
	if gn != wn {
		t.Fatalf("b64Decode(%q) = %d bytes, reference %d (error %v)", src, gn, wn, werr)
	}
	if !bytes.Equal(got[:gn], want[:wn]) {
		t.Fatalf("b64Decode(%q) wrote %x, reference %x", src, got[:gn], want[:wn])
	}
	if werr != nil {
		var we, ge base64.CorruptInputError
		if !errors.As(werr, &we) || !errors.As(gerr, &ge) || we != ge {
			t.Fatalf("b64Decode(%q): error %#v, reference %#v", src, gerr, werr)
		}
	}
}

// TestAdversaryBase64Lanes: lengths 0..72 (every 16- and 8-character step boundary and every
// tail), every byte value at every position; two bad bytes in different lanes; '=' padding,
// '+', '/', CR and LF, and nonzero trailing bits combined with a bad byte earlier.
func TestAdversaryBase64Lanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 8))
	for n := 0; n <= 72; n++ {
		base := randomB64(rng, n)
		checkB64Adv(t, base, false)
		step := 1
		if n > 40 {
			step = 13 // fewer byte values for the long ones, still every lane
		}
		for p := range n {
			for c := 0; c < 256; c += step {
				src := append([]byte(nil), base...)
				src[p] = byte(c)
				checkB64Adv(t, src, false)
			}
		}
	}
	bad := []byte{'=', '+', '/', '\r', '\n', '.', ' ', 0x00, 0x80, 0xFF, '{'}
	for n := 2; n <= 48; n++ {
		base := randomB64(rng, n)
		for p := range n {
			for q := p + 1; q < n; q++ {
				src := append([]byte(nil), base...)
				src[p], src[q] = bad[rng.IntN(len(bad))], bad[rng.IntN(len(bad))]
				checkB64Adv(t, src, false)
			}
		}
		// nonzero trailing bits in the last character, with and without a bad byte before
		for _, last := range []byte("BCDPQ_-") {
			src := append([]byte(nil), base...)
			src[n-1] = last
			checkB64Adv(t, src, false)
			for p := range n - 1 {
				s2 := append([]byte(nil), src...)
				s2[p] = bad[rng.IntN(len(bad))]
				checkB64Adv(t, s2, false)
			}
		}
		// padded forms
		checkB64Adv(t, append(append([]byte(nil), base...), '='), false)
		checkB64Adv(t, append(append([]byte(nil), base...), "=="...), false)
	}
}

// TestAdversaryBase64CountOnError: on an error, b64Decode reports (and has written) what
// encoding/base64 reports: the bytes of every complete quantum before the failing one. FINDING:
// when the bad byte is in the second quantum of an 8-character step, the step's first quantum
// is neither written nor counted (n is the step's start), so the count and bytes on error
// differ from encoding/base64's; decodeInto discards them, so no verdict changes.
func TestAdversaryBase64CountOnError(t *testing.T) {
	for _, src := range []string{
		"zGGW\x00aOW8QL", "AAAA!AAAAAA", "AAAAAAAA!AAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA=AAAAAAAAA",
		"AAAA\nAAAAAA", "AAA!", "AAAAAAA!AAA",
	} {
		checkB64Adv(t, []byte(src), true)
	}
}

// ---------------------------------------------------------------------------------------
// Reasons and their order through the whole verifier.

// TestAdversaryShapeOrderVerify: tokens with CR or LF in each segment combined with trailing
// bits in another segment, '=' padding, '+' and '/', and with a header or payload that decodes
// to something that is not JSON, get from Verify the reason refShape gives (CR and LF before
// any segment's decoding, every segment's decoding before the header is parsed).
func TestAdversaryShapeOrderVerify(t *testing.T) {
	k := newTestKey(t, "EdDSA", "k1")
	v := newTestVerifier(t, staticKeys(t, k), nil)
	good := mint(t, k, baseClaims(), nil)
	require.NoError(t, func() error { _, err := v.Verify(context.Background(), good); return err }())
	segs := strings.Split(good, ".")
	// Segments of every length mod 4 that decode to non-JSON, with and without trailing bits.
	junk := []string{"AAAA", "AAA", "AA", "AAB", "AB", "eyJ", "e30", "e3", "Zm9v", "Zm9", "Zm8"}
	shapeReason := map[Reason]bool{ReasonTokenSize: true, ReasonTokenFormat: true, ReasonTokenEncoding: true}
	insert := func(s string, i int, c string) string { return s[:i] + c + s[i:] }
	check := func(tok string) {
		t.Helper()
		want := refShape(tok)
		_, err := v.Verify(context.Background(), tok)
		if want == 0 {
			if err != nil {
				r, _ := reasonOf(t, err)
				assert.False(t, shapeReason[r], "token %q: shape reason %v, reference passes its shape", tok, r)
			}
			return
		}
		require.Error(t, err, "token %q", tok)
		r, _ := reasonOf(t, err)
		assert.Equal(t, want, r, "token %q", tok)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		parts := []string{segs[0], segs[1], segs[2]}
		for i := range parts {
			if rng.IntN(4) == 0 {
				parts[i] = junk[rng.IntN(len(junk))]
			} else if rng.IntN(3) == 0 {
				parts[i] = parts[i][:len(parts[i])-rng.IntN(4)]
			}
		}
		for range rng.IntN(3) {
			i := rng.IntN(3)
			if len(parts[i]) == 0 {
				continue
			}
			switch rng.IntN(4) {
			case 0: // CR or LF somewhere
				parts[i] = insert(parts[i], rng.IntN(len(parts[i])+1), []string{"\r", "\n", "\r\n"}[rng.IntN(3)])
			case 1: // the last character leaves trailing bits
				parts[i] = parts[i][:len(parts[i])-1] + string("BCDPQ_-Z"[rng.IntN(8)])
			case 2: // a byte outside the alphabet
				parts[i] = insert(parts[i], rng.IntN(len(parts[i])+1), string("=+/ !"[rng.IntN(5)]))
			default: // padding
				parts[i] += strings.Repeat("=", 1+rng.IntN(2))
			}
		}
		if parts[0] == "" || parts[0][0] == '{' {
			continue
		}
		check(strings.Join(parts, "."))
	}
	// Named edges: a non-JSON header decoded first, CR or LF in a later segment.
	for _, tok := range []string{
		"AAAA." + segs[1] + ".AA\n", "AAAA." + segs[1] + "\r." + segs[2], "AAB." + segs[1] + ".AA\n",
		"AAAA.AAB\n.AAAA", "AAAA.AAAA.AAB\r", segs[0] + ".AAB." + segs[2] + "\n", "AAB.AAB.AA\n",
		segs[0] + "." + segs[1] + "." + segs[2][:len(segs[2])-1] + "B\n", "Zm8." + segs[1] + "\n." + segs[2],
		segs[0] + "=." + segs[1] + ".\r" + segs[2],
	} {
		check(tok)
	}
}

// ---------------------------------------------------------------------------------------
// The header's alg key.

// TestAdversaryHeaderAlg: alg spelt with escapes, with NUL and space padding, of 8 and 9
// bytes, picks the algorithm the unescaped name names, as algorithmIndex does, or none.
func TestAdversaryHeaderAlg(t *testing.T) {
	r := new(objectReader)
	names := []string{
		`RS256`, `\u0052S256`, `RS25\u0036`, `\u0045\u0064\u0044\u0053\u0041`, `RS256\u0000`, `RS256 `,
		` RS256`, `RS2560`, `RS25`, `rs256`, `ES256K`, `EdDSA`, `EdDSA\u0000\u0000\u0000`, `EdDSAEdD`,
		`EdDSAEdDS`, `\u0000`, ``, `none`, `HS256`, `ES256\u0000\u0000\u0000`,
	}
	for _, a := range algorithms {
		names = append(names, a.name, escapeName(rand.New(rand.NewPCG(1, uint64(len(a.name)))), a.name))
	}
	for _, n := range names {
		doc := []byte(`{"alg":"` + n + `"}`)
		var un string
		require.NoError(t, json.Unmarshal([]byte(`"`+n+`"`), &un))
		want := algorithmIndex([]byte(un))
		h, e := parseHeader(r, doc)
		if want < 0 {
			require.NotNil(t, e, "alg %q", n)
			assert.Equal(t, ReasonAlgorithm, e.Reason, "alg %q", n)
			continue
		}
		require.Nil(t, e, "alg %q", n)
		assert.Equal(t, want, h.alg, "alg %q", n)
	}
}

// ---------------------------------------------------------------------------------------
// Pooled readers: session tags and Token.Claim from many goroutines.

// tagDoc returns a tags claim of n tags (keys around 8 bytes, some escaped) whose values name
// the document, and the tags it holds.
func tagDoc(rng *rand.Rand, id, n int) (string, []Tag) {
	var b strings.Builder
	b.WriteString(`{"principal_tags":{`)
	var tags []Tag
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		key := fmt.Sprintf("key%05d", i) // 8 bytes: equal keys
		if i%3 == 1 {
			key = fmt.Sprintf("key%05d_%d", i, id) // longer than 8 bytes
		}
		val := fmt.Sprintf("doc%d_tag%d", id, i)
		tags = append(tags, Tag{Key: key, Value: val})
		fmt.Fprintf(&b, `"%s":["%s"]`, escapeName(rng, key), escapeName(rng, val))
	}
	b.WriteString(`},"transitive_tag_keys":["key00000"]}`)
	return b.String(), tags
}

// TestAdversaryPooledReadersConcurrent: session tags (up to 50 tags, keys escaped and of 8
// bytes) and Token.Claim on documents of many members run from many goroutines at once (run
// with -race); each call gets its own document's answer, and what it returned stays intact
// after the other calls reuse the readers.
func TestAdversaryPooledReadersConcurrent(t *testing.T) {
	type job struct {
		tagsText string
		tags     []Tag
		tok      *Token
		claims   map[string]string // name -> raw
	}
	rng := rand.New(rand.NewPCG(50, 50))
	var jobs []job
	for id := range 40 {
		n := 1 + id%maxTags
		text, tags := tagDoc(rng, id, n)
		// A payload of many members (past smallObject), names escaped, the tags claim among them.
		var b strings.Builder
		b.WriteString("{")
		claims := map[string]string{}
		for i := range 5 + id {
			name := fmt.Sprintf("claim%03d", i)
			raw := fmt.Sprintf(`"v%d_%d"`, id, i)
			if i%4 == 0 {
				raw = fmt.Sprintf(`[%d,"x"]`, id)
			}
			claims[name] = raw
			fmt.Fprintf(&b, `"%s":%s,`, escapeName(rng, name), raw)
		}
		b.WriteString(`"https:\/\/aws.amazon.com\/tags":` + text + "}")
		claims[tagsClaim] = text
		require.True(t, json.Valid([]byte(b.String())))
		jobs = append(jobs, job{tagsText: text, tags: tags, tok: &Token{Claims: b.String()}, claims: claims})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				j := jobs[(g*7+i)%len(jobs)]
				st, e := parseSessionTags(j.tagsText, span{start: 0, end: int32(len(j.tagsText)), kind: kindObject})
				if e != nil {
					errs <- fmt.Sprintf("tags: %v", e)
					return
				}
				for name, raw := range j.claims {
					got, ok := j.tok.Claim(name)
					if !ok || got != raw {
						errs <- fmt.Sprintf("Claim(%q) = %q, %v; want %q", name, got, ok, raw)
						return
					}
				}
				// What the parse returned is still this document's after other calls.
				if len(st.tags) != len(j.tags) {
					errs <- fmt.Sprintf("%d tags, want %d", len(st.tags), len(j.tags))
					return
				}
				for k, tg := range st.tags {
					if tg != j.tags[k] || st.keys[k] != tg.Key || st.values[k][0] != tg.Value {
						errs <- fmt.Sprintf("tag %d = %+v, want %+v", k, tg, j.tags[k])
						return
					}
				}
				if len(st.transitive) != 1 || st.transitive[0] != "key00000" {
					errs <- fmt.Sprintf("transitive %q", st.transitive)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestAdversarySessionTagsLarge: a tags object of more than 8 and more than 50 tags, keys
// equal ignoring case beyond byte 8, duplicate keys spelt with escapes past the 8th member,
// refused or accepted as the rules say.
func TestAdversarySessionTagsLarge(t *testing.T) {
	mk := func(keys ...string) string {
		var b strings.Builder
		b.WriteString(`{"principal_tags":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"` + k + `":["v"]`)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	seq := func(n int) []string {
		var ks []string
		for i := range n {
			ks = append(ks, fmt.Sprintf("tagkey%03d", i))
		}
		return ks
	}
	cases := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"9 tags", mk(seq(9)...), true},
		{"50 tags", mk(seq(50)...), true},
		{"51 tags", mk(seq(51)...), false},
		{"9 tags, 10th a duplicate spelt with an escape", mk(append(seq(9), `tagkey00\u0033`)...), false},
		{"9 tags, 10th equal ignoring case", mk(append(seq(9), `TAGKEY003`)...), false},
		{"keys differ after byte 8 only", mk("tagkey00a", "tagkey00b"), true},
		{"keys equal ignoring case after byte 8", mk("tagkey00a", "tagkey00A"), false},
		{"duplicate exactly, 12 tags", mk(append(seq(11), "tagkey010")...), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, e := parseSessionTags(tc.doc, span{start: 0, end: int32(len(tc.doc)), kind: kindObject})
			if tc.ok {
				require.Nil(t, e)
				assert.Equal(t, strings.Count(tc.doc, `["v"]`), len(st.tags))
				return
			}
			require.NotNil(t, e)
			assert.Equal(t, ReasonSessionTags, e.Reason)
		})
	}
}

// TestAdversaryReaderReuseAcrossDocuments: one reader (as the pools keep them) reads a
// document whose objects go past smallObject, then documents whose names would collide with
// the first one's if anything of it were left (same offsets, same names): no false
// duplicate, and every true duplicate still found, including after the generation wraps.
func TestAdversaryReaderReuseAcrossDocuments(t *testing.T) {
	fill := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"k%03d":%d`, i, i)
		}
		return b.String()
	}
	r := new(objectReader)
	read := func(doc string) error {
		r.reset([]byte(doc))
		if err := r.beginObject(); err != nil {
			return err
		}
		for {
			_, more, err := r.nextMember()
			if err != nil || !more {
				return err
			}
		}
	}
	big := `{` + fill(200) + `}`
	for round := range 3 {
		if round == 2 {
			r.names.gen = math.MaxUint32 // the next document wraps the generation
		}
		require.NoError(t, read(big), "round %d", round)
		require.NoError(t, read(`{`+fill(12)+`}`), "round %d: names of the last document at the same offsets", round)
		require.ErrorIs(t, read(`{`+fill(12)+`,"k011":0}`), errDuplicate, "round %d", round)
		require.ErrorIs(t, read(`{`+fill(150)+`,"k149":0}`), errDuplicate, "round %d", round)
		require.NoError(t, read(`{"a":1}`), "round %d", round)
	}
}

// transitiveDoc is a tags claim of one tag whose transitive_tag_keys repeats its key n times
// (refused: a transitive key twice).
func transitiveDoc(n int) string {
	return `{"principal_tags":{"k":["v"]},"transitive_tag_keys":[` + strings.TrimSuffix(strings.Repeat(`"k",`, n), ",") + `]}`
}

// TestAdversaryTransitiveRepeated: a transitive_tag_keys array repeating one key thousands of
// times (what a 20,000-byte token can hold) is refused as a session tags error.
func TestAdversaryTransitiveRepeated(t *testing.T) {
	for _, n := range []int{2, 100, 4000} {
		doc := transitiveDoc(n)
		_, e := parseSessionTags(doc, span{start: 0, end: int32(len(doc)), kind: kindObject})
		require.NotNil(t, e, "n=%d", n)
		assert.Equal(t, ReasonSessionTags, e.Reason)
	}
}

// BenchmarkAdversaryTransitive: the cost of refusing transitiveDoc(n) for n = 1000, 2000 and
// 4000; a linear check costs 2x per doubling. FINDING (pre-existing, after the signature
// check): readTransitive compares each element with every earlier one and keeps going after
// the first duplicate, so the cost grows with n².
func BenchmarkAdversaryTransitive(b *testing.B) {
	for _, n := range []int{1000, 2000, 4000} {
		doc := transitiveDoc(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, e := parseSessionTags(doc, span{start: 0, end: int32(len(doc)), kind: kindObject}); e == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
