package verifier

// Adversary 7, item 2: today's parser and request-check rewrite (memberName's fast path,
// addSmall and its bloom mask, the readers' nested names, str's last-word load, digitRun,
// eightDigits in numericDate, subjectLengthOK's byte count, parseARN's colon masks) against
// the former definitions (adversary7_parse_ref_test.go, instr_ref_test.go, post_test.go), on
// inputs the helper's tests did not generate: claim and header names that share 8-byte
// prefixes with known ones, escaped spellings and duplicates across spellings, sibling and
// nested objects reusing the reader's per-depth names, numbers at the edges of NumericDate,
// documents whose slice has capacity beyond its length, role ARNs around both length bounds,
// and tokens through Verify.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// a7Sentinels are the reader's errors, each compared with errors.Is.
var a7Sentinels = []error{errSyntax, errDuplicate, errTooDeep, errTooWide, errNumberRange}

// a7SameError reports whether two parse results fail the same way: both nil, or the same
// Reason and the same reader sentinel underneath.
func a7SameError(a, b *Error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	if a.Reason != b.Reason || a.Code != b.Code {
		return false
	}
	for _, s := range a7Sentinels {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return true
}

func a7SameClaims(a, b claims) bool {
	return a.spans == b.spans && a.exp.Equal(b.exp) && a.nbf.Equal(b.nbf) && a.iat.Equal(b.iat)
}

// a7Readers holds today's reader and the former one, each reused from document to document
// as the verifier's pooled scratch reuses its reader (header, then payload, then the next
// token's header).
type a7Readers struct {
	r objectReader
	o o7Reader
}

// withCap returns doc's bytes in a slice whose capacity runs on into trailer, as the decoded
// header's slice runs on into the payload in the verifier's scratch buffer: a read past the
// length that slicing lets through would see trailer.
func withCap(doc []byte, trailer string) []byte {
	buf := make([]byte, 0, len(doc)+len(trailer))
	buf = append(buf, doc...)
	buf = append(buf, trailer...)
	return buf[:len(doc)]
}

// a7Trailers are what lies beyond a document's length: the closing of a name and a colon,
// digits, a quote, nothing.
var a7Trailers = []string{"", `":1}`, `"`, "12345678", `"}"}"}"}`, "\x00\x00\x00\x00\x00\x00\x00\x00"}

// claims checks parseClaims against o7ParseClaims on doc, at its own capacity and with each
// trailer beyond it, and reports whether the former parse accepted it.
func (p *a7Readers) claims(t testing.TB, doc []byte) bool {
	t.Helper()
	want, werr := o7ParseClaims(&p.o, doc)
	for _, tr := range a7Trailers {
		d := withCap(doc, tr)
		got, gerr := parseClaims(&p.r, d)
		if !a7SameError(gerr, werr) {
			t.Fatalf("parseClaims(%q) (capacity beyond: %q): error %v (reason %v); c8d4bd1 %v (reason %v)", doc, tr, gerr, reasonOrZero(gerr), werr, reasonOrZero(werr))
		}
		if werr == nil && !a7SameClaims(got, want) {
			t.Fatalf("parseClaims(%q) (capacity beyond: %q):\n got %+v\nwant %+v", doc, tr, got, want)
		}
	}
	return werr == nil
}

// header checks parseHeader against o7ParseHeader likewise.
func (p *a7Readers) header(t testing.TB, doc []byte) bool {
	t.Helper()
	want, werr := o7ParseHeader(&p.o, doc)
	for _, tr := range a7Trailers {
		d := withCap(doc, tr)
		got, gerr := parseHeader(&p.r, d)
		if !a7SameError(gerr, werr) {
			t.Fatalf("parseHeader(%q) (capacity beyond: %q): error %v; c8d4bd1 %v", doc, tr, gerr, werr)
		}
		if werr == nil && got != want {
			t.Fatalf("parseHeader(%q) (capacity beyond: %q): %+v; c8d4bd1 %+v", doc, tr, got, want)
		}
	}
	return werr == nil
}

func reasonOrZero(e *Error) Reason {
	if e == nil {
		return 0
	}
	return e.Reason
}

// a7Names are member names a JWT's objects hold and their near misses: the same first 8
// bytes, one byte more or less, a NUL, a space or a tab after, case changes, non-ASCII, and
// the header's names.
var a7Names = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "azp", "amr",
	"iss\x00", "issuer", "exp ", "exp\t", " exp", "is", "i", "ISS", "iSs", "issi", "sub\x00", "aud\u00e9", "ex\u00e9", "\u00e9xp",
	"actor", "actor_id", "actor_i", "actor_idd", "actor_id\x00", "actor\x00id",
	"job_workflow_ref", "job_workflow_reg", "job_workflow_re", "job_workflow_ref\x00", "job_work",
	"repository", "repository_id", "repository_owner_id", "repository_owner_i", "repositor", "repository\x00", "reposito",
	"workflow", "workflo", "workflowx", "ref", "re", "refs", "environment", "enterprise_id", "runner_environment", "runner_environmenT",
	tagsClaim, sourceIdentityClaim, tagsClaim + "x", tagsClaim[:len(tagsClaim)-1], sourceIdentityClaim[:len(sourceIdentityClaim)-1],
	"https://aws.amazon.com/", "https://", "https:/", "https://aws.amazon.com/tag\u00e9",
	"alg", "kid", "typ", "crit", "jku", "x5c", "jwk", "cty", "enc", "zip", "b64", "algo", "al", "kidd", "ty", "alg\x00", "kid ",
	"",
}

// a7Dates are values for exp, nbf and iat at the edges of NumericDate and of the number
// grammar: zero and negative zero, exponents, fractions long and empty, 8, 9, 12 and 13
// digits, the maximum and one past it, leading zeros, non-numbers.
var a7Dates = []string{
	"0", "-0", "1", "-1", "1e3", "1E3", "1e+3", "1e-3", "1.0", "1.5", "0.5", "0.0", "1.", ".5", "01", "00",
	"1700000000", "1700000000.5", "1700000000.123456789", "1700000000.1234567891234", "1703600000", "1700003600",
	"17000000000", "99999999", "100000000", "12345678", "12345678.9", "123456789", "1234567890123",
	"123456789012", "253402300799", "253402300799.999999999", "253402300800", "999999999999", "1000000000000",
	"0000000000001", "000000001700000000", "1700000000e0", "1.7e9", "-1700000000", "1e400", "9007199254740993",
	"1" + strings.Repeat("0", 400), "true", "null", `"1700000000"`, "[]", "{}", "[1700000000]",
	"1700000000 ", " 1700000000", "1700000000\t",
}

// a7Strings are string values: the test issuer and client ID, empty, plain runs around the
// word size, escapes and UTF-8 near the end, 255 and 256 characters of one and more bytes.
var a7Strings = []string{
	`"` + testIssuer + `"`, `"sts.amazonaws.com"`, `""`, `"a"`, `"abcdefg"`, `"abcdefgh"`, `"abcdefghi"`,
	`"\u0041"`, `"abc\n"`, `"\u00e9\u00e9"`, "\"\u00e9\"", "\"\U0001F600\"", `"\ud83d\ude00"`,
	`"` + strings.Repeat("s", 255) + `"`, `"` + strings.Repeat("s", 256) + `"`,
	`"` + strings.Repeat("\u00e9", 255) + `"`, `"` + strings.Repeat("\u00e9", 256) + `"`,
	`"` + strings.Repeat(`\u00e9`, 255) + `"`, `"` + strings.Repeat(`\u0041`, 256) + `"`,
	`"https:\/\/oidc.example.com\/id\/TEST"`, `["sts.amazonaws.com"]`, `["a","sts.amazonaws.com"]`, `[]`, `["a",1]`,
}

// a7Gen writes documents from a7Names, a7Dates and a7Strings.
type a7Gen struct {
	rng *rand.Rand
	b   strings.Builder
}

func (g *a7Gen) pick(s []string) string { return s[g.rng.IntN(len(s))] }

func (g *a7Gen) name(n string) {
	g.b.WriteByte('"')
	if g.rng.IntN(3) == 0 {
		g.b.WriteString(escapeName(g.rng, n))
	} else {
		g.b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\x00", `\u0000`, "\t", `\t`).Replace(n))
	}
	g.b.WriteByte('"')
	if g.rng.IntN(10) == 0 {
		g.b.WriteString(g.pick([]string{" ", "\t", "\n ", "\r\n"}))
	}
	g.b.WriteByte(':')
	if g.rng.IntN(10) == 0 {
		g.b.WriteString(g.pick([]string{" ", "\t", "\n ", "\r\n"}))
	}
}

func (g *a7Gen) value(n string, depth int) {
	switch r := g.rng.IntN(20); {
	case r < 2 && depth < 4:
		g.object(depth+1, g.rng.IntN(12))
	case r < 3 && depth < 4: // sibling objects at one depth, often with the same names
		g.b.WriteByte('[')
		for i := range 1 + g.rng.IntN(3) {
			if i > 0 {
				g.b.WriteByte(',')
			}
			g.object(depth+2, g.rng.IntN(11))
		}
		g.b.WriteByte(']')
	case n == "exp" || n == "nbf" || n == "iat" || r < 6:
		g.b.WriteString(g.pick(a7Dates))
	default:
		g.b.WriteString(g.pick(a7Strings))
	}
}

// object writes an object of n members; now and then a name repeats (spelt afresh).
func (g *a7Gen) object(depth, n int) {
	g.b.WriteByte('{')
	var used []string
	for i := range n {
		if i > 0 {
			g.b.WriteByte(',')
		}
		nm := g.pick(a7Names)
		if len(used) > 0 && g.rng.IntN(12) == 0 {
			nm = used[g.rng.IntN(len(used))]
		}
		used = append(used, nm)
		g.name(nm)
		g.value(nm, depth)
	}
	g.b.WriteByte('}')
}

// claimsDoc writes a payload: the base claims (valid for the test verifier) with some left out
// or given edge values, and other members among them.
func (g *a7Gen) claimsDoc() []byte {
	g.b.Reset()
	type mem struct{ name, value string }
	mems := []mem{
		{"iss", `"` + testIssuer + `"`}, {"sub", `"system:serviceaccount:default:app"`}, {"aud", `"sts.amazonaws.com"`},
		{"exp", "1700003600"}, {"iat", "1700000000"}, {"nbf", "1700000000"},
	}
	for i := range mems {
		switch g.rng.IntN(8) {
		case 0:
			mems[i].name = "" // left out
		case 1:
			if mems[i].name == "exp" || mems[i].name == "nbf" || mems[i].name == "iat" {
				mems[i].value = g.pick(a7Dates)
			} else {
				mems[i].value = g.pick(a7Strings)
			}
		}
	}
	for range g.rng.IntN(10) {
		mems = append(mems, mem{g.pick(a7Names), ""})
	}
	g.rng.Shuffle(len(mems), func(i, j int) { mems[i], mems[j] = mems[j], mems[i] })
	g.b.WriteByte('{')
	first := true
	for _, m := range mems {
		if m.name == "" && m.value != "" {
			continue
		}
		if m.name == "" && m.value == "" && g.rng.IntN(2) == 0 {
			continue
		}
		if !first {
			g.b.WriteByte(',')
		}
		first = false
		g.name(m.name)
		if m.value != "" {
			g.b.WriteString(m.value)
		} else {
			g.value(m.name, 1)
		}
	}
	g.b.WriteByte('}')
	return []byte(g.b.String())
}

// headerDoc writes a JOSE header: alg (sometimes escaped, sometimes another), kid, typ, and
// other members.
func (g *a7Gen) headerDoc() []byte {
	g.b.Reset()
	g.b.WriteByte('{')
	mems := []string{"alg", "kid", "typ"}
	for range g.rng.IntN(4) {
		mems = append(mems, g.pick(a7Names))
	}
	g.rng.Shuffle(len(mems), func(i, j int) { mems[i], mems[j] = mems[j], mems[i] })
	for i, m := range mems {
		if i > 0 {
			g.b.WriteByte(',')
		}
		g.name(m)
		switch m {
		case "alg":
			g.b.WriteString(g.pick([]string{`"ES256"`, `"EdDSA"`, `"\u0045dDSA"`, `"RS256"`, `"none"`, `"HS256"`, `"ES256 "`, `"ES2560000"`, `""`, `1`}))
		case "kid":
			g.b.WriteString(g.pick([]string{`"k1"`, `"k\u0031"`, `""`, `"abcdefghijklmnop"`, `null`}))
		case "typ":
			g.b.WriteString(g.pick([]string{`"JWT"`, `"jwt"`, `"at+jwt"`, `"J\u0057T"`, `0`}))
		default:
			g.value(m, 1)
		}
	}
	g.b.WriteByte('}')
	return []byte(g.b.String())
}

// TestAdversary7ParseDifferential: generated payloads, headers and free objects (names that
// share prefixes with known ones, escaped or not, repeated; nested and sibling objects of up
// to 12 members; NumericDate edges), and mutations of them, get c8d4bd1's verdict, reason,
// reader error, claims and header, through one reused reader pair, whatever lies beyond the
// document's length.
func TestAdversary7ParseDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(0xA7, 0x2))
	g := &a7Gen{rng: rng}
	var p a7Readers
	counts := map[string]int{}
	for i := range 4000 {
		var docs [][]byte
		docs = append(docs, g.claimsDoc(), g.headerDoc())
		g.b.Reset()
		g.object(1, rng.IntN(14))
		docs = append(docs, []byte(g.b.String()))
		for _, d := range docs {
			if i%3 == 2 {
				d = mutate(rng, d)
			}
			if p.claims(t, d) {
				counts["claims ok"]++
			} else {
				counts["claims refused"]++
			}
			if p.header(t, d) {
				counts["header ok"]++
			} else {
				counts["header refused"]++
			}
		}
	}
	t.Logf("%v", counts)
	for _, k := range []string{"claims ok", "claims refused", "header ok", "header refused"} {
		assert.Greater(t, counts[k], 300, k)
	}
}

// TestAdversary7TruncationsAndBytes: every prefix of a few realistic payloads and headers, and
// each of a set of bytes put at (and inserted before) every position, get c8d4bd1's answer:
// these reach every lane of memberName's and str's words, the last-word load and addSmall's
// end-of-data bound.
func TestAdversary7TruncationsAndBytes(t *testing.T) {
	docs := []string{
		`{"iss":"` + testIssuer + `","sub":"system:serviceaccount:default:app","aud":"sts.amazonaws.com","exp":1700003600,"iat":1700000000}`,
		`{"aud":["sts.amazonaws.com"],"exp":1700003600.5,"iss":"` + testIssuer + `","sub":"s","actor_id":"1","actor":"x","repository":"o/r","repository_id":"2","repository_owner_id":"3"}`,
		`{"\u0069ss":"` + testIssuer + `","s\u0075b":"x","exp":253402300799,"https://aws.amazon.com/tags":{"principal_tags":{"a":["b"]}}}`,
		`{"alg":"ES256","kid":"k1","typ":"JWT"}`,
		`{"kid":"abcdefgh","alg":"EdDSA"}`,
		`{"a":{"b":1,"c":2},"d":[{"b":1},{"b":1,"c":{"b":2}}],"iss":"i","sub":"s","exp":1700003600}`,
	}
	bytesAt := []byte{'"', '\\', ':', ',', '}', '{', ' ', 0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff, '0', '9', '.', 'e', '-', 'x'}
	var p a7Readers
	for _, doc := range docs {
		for n := 0; n <= len(doc); n++ {
			p.claims(t, []byte(doc[:n]))
			p.header(t, []byte(doc[:n]))
		}
		for pos := 0; pos <= len(doc); pos++ {
			for _, c := range bytesAt {
				ins := doc[:pos] + string([]byte{c}) + doc[pos:]
				p.claims(t, []byte(ins))
				p.header(t, []byte(ins))
				if pos < len(doc) {
					rep := doc[:pos] + string([]byte{c}) + doc[pos+1:]
					p.claims(t, []byte(rep))
					p.header(t, []byte(rep))
				}
			}
		}
	}
}

// TestAdversary7EscapedNames: a known claim spelt with escapes is that claim (its span is
// recorded, its value checked), and a name spelt twice (plain and escaped, in either order,
// after 0 to 10 other members so that both the small comparisons and the hash table decide, at
// the top level and nested, names of up to 38 bytes sharing their first 8 bytes with others) is
// a duplicate: ClaimsMalformed from errDuplicate, as at c8d4bd1.
func TestAdversary7EscapedNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(0xA7, 0x3))
	var p a7Readers
	base := `"iss":"` + testIssuer + `","sub":"s","exp":1700003600`
	spell := func(n string) string {
		for {
			e := escapeName(rng, n)
			if strings.Contains(e, `\`) || n == "" {
				return e
			}
		}
	}
	fill := func(k int) string {
		var b strings.Builder
		for i := range k {
			fmt.Fprintf(&b, `"reposito%02d":%d,`, i, i)
		}
		return b.String()
	}
	known := []string{"iss", "sub", "exp", "aud", "amr", "azp", "actor_id", "repository", "repository_id", "repository_owner_id", "job_workflow_ref", tagsClaim, sourceIdentityClaim}
	for _, n := range known {
		id := claimIndex(n)
		for k := 0; k <= 10; k++ {
			for range 4 {
				// Found under an escaped spelling.
				val := `"v"`
				switch n {
				case "exp":
					val = "1700003601"
				case "iss", "sub":
					val = `"w"`
				}
				doc := `{` + fill(k) + `"` + spell(n) + `":` + val
				if n != "iss" && n != "sub" && n != "exp" {
					doc += "," + base
				} else {
					doc += `,"aud":"x"`
					for _, m := range []string{"iss", "sub", "exp"} {
						if m != n {
							doc += `,"` + m + `":` + map[string]string{"iss": `"i"`, "sub": `"s"`, "exp": "1700003600"}[m]
						}
					}
				}
				doc += "}"
				c, e := parseClaims(&p.r, []byte(doc))
				require.Nil(t, e, "%q", doc)
				if c.spans[id].kind == kindNone {
					t.Fatalf("%q: %s under an escaped spelling not found", doc, n)
				}
				p.claims(t, []byte(doc))

				// A duplicate across spellings, both orders, top level and nested, each
				// occurrence with a value of the claim's type.
				a, b := `"`+n+`"`, `"`+spell(n)+`"`
				if rng.IntN(2) == 0 {
					a, b = b, a
				}
				rest := `"iss":"i","sub":"s","exp":1700003600`
				if n == "iss" || n == "sub" || n == "exp" {
					rest = `"aud":"x"`
				}
				between := fill(rng.IntN(3))
				for _, d := range []string{
					`{` + fill(k) + a + `:` + val + `,` + between + b + `:` + val + `,` + rest + `}`,
					`{` + base + `,"x":{` + fill(k) + a + `:1,` + between + b + `:2}}`,
					`{` + base + `,"x":[{` + a + `:1},{` + fill(k) + a + `:1,` + b + `:2}]}`,
				} {
					_, e := parseClaims(&p.r, []byte(d))
					if e == nil || e.Reason != ReasonClaimsMalformed || !errors.Is(e, errDuplicate) {
						t.Fatalf("%q: duplicate %s across spellings: %v", d, n, e)
					}
					p.claims(t, []byte(d))
				}
			}
		}
	}
}

// TestAdversary7NearMissNames: names that share 8-byte prefixes (or all but one byte) with
// known claims are not those claims: a payload with only near misses is MissingClaim, and with
// near misses beside the real claims gets the real claims' spans; siblings with the same names
// in different objects are no duplicates.
func TestAdversary7NearMissNames(t *testing.T) {
	var p a7Readers
	near := []string{`iss\u0000`, "issuer", "exp ", `exp\t`, " exp", "su", "subb", "ISS", "actor_i", "actor_idd",
		"repository_owner_i", "repository_owner_idd", "job_workflow_reg", `https://aws.amazon.com/tag`, `https://aws.amazon.com/tagss`,
		`https://aws.amazon.com/source_identitx`, `https:\/\/aws.amazon.com\/tags\u0000`}
	for k := 1; k <= len(near); k++ {
		var b strings.Builder
		b.WriteByte('{')
		for i, n := range near[:k] {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s":%d`, n, i)
		}
		b.WriteByte('}')
		doc := b.String()
		_, e := parseClaims(&p.r, []byte(doc))
		require.NotNil(t, e, "%q", doc)
		assert.Equal(t, ReasonMissingClaim, e.Reason, "%q", doc)
		p.claims(t, []byte(doc))

		// With the real claims after the near misses: numbers, which the real ones must not be
		// taken from.
		full := doc[:len(doc)-1] + `,"iss":"` + testIssuer + `","sub":"s","exp":1700003600,"actor_id":"a","repository_owner_id":"r","https://aws.amazon.com/tags":{}}`
		c, e := parseClaims(&p.r, []byte(full))
		require.Nil(t, e, "%q", full)
		for _, id := range []claimID{cIss, cSub, cActorID, cRepositoryOwnerID} {
			assert.Equal(t, kindString, c.spans[id].kind, "%q: %s", full, claimNames[id])
		}
		assert.Equal(t, kindNumber, c.spans[cExp].kind)
		assert.Equal(t, kindObject, c.spans[cTags].kind)
		p.claims(t, []byte(full))
	}

	// Sibling objects at one depth, and objects at successive depths, with the same names: no
	// duplicate, whatever their sizes (the reader keeps one set of names per depth).
	for n := 0; n <= 12; n++ {
		for m := 0; m <= 12; m++ {
			obj := func(k int) string {
				var b strings.Builder
				b.WriteByte('{')
				for i := range k {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `"abcdefgh%d":%d`, i, i)
				}
				b.WriteByte('}')
				return b.String()
			}
			inner := obj(m)
			nest := inner
			if m > 0 {
				nest = inner[:len(inner)-1] + `,"x":` + obj(n) + "}"
			}
			for _, v := range []string{
				"[" + obj(n) + "," + inner + "]",
				"[" + obj(n) + "," + obj(n) + "," + nest + "]",
				`{"a":` + obj(n) + `,"b":` + inner + `,"c":[` + nest + `,` + nest + `]}`,
			} {
				doc := `{"iss":"i","sub":"s","exp":1700003600,"v":` + v + `}`
				_, e := parseClaims(&p.r, []byte(doc))
				require.Nil(t, e, "%q", doc)
				p.claims(t, []byte(doc))
				// ...and a duplicate inside the last of them is found.
				if m >= 1 {
					dup := doc[:len(doc)-2] + `,"abcdefgh0":9}}`
					if strings.HasSuffix(doc, "]}") {
						dup = doc[:len(doc)-3] + `,"abcdefgh0":9}]}`
					}
					p.claims(t, []byte(dup))
				}
			}
		}
	}
}

// TestAdversary7NumericDates: the exp values of a7Dates and every digit count from 1 to 14
// with fractions of 0 to 12 digits get c8d4bd1's verdict and time, and the edges their expected
// verdicts: 0, -0, exponents, 13 digits and the second past year 9999 are refused; 1, the
// maximum and fractions are accepted.
func TestAdversary7NumericDates(t *testing.T) {
	var p a7Readers
	doc := func(v string) []byte {
		return []byte(`{"iss":"i","sub":"s","exp":` + v + `,"nbf":` + v + `}`)
	}
	for _, v := range a7Dates {
		p.claims(t, doc(v))
	}
	for n := 1; n <= 14; n++ {
		for _, lead := range "123456789" {
			d := string(lead) + strings.Repeat("9876543210", 2)[:n-1]
			for f := 0; f <= 12; f++ {
				v := d
				if f > 0 {
					v += "." + strings.Repeat("5", f)
				}
				p.claims(t, doc(v))
			}
		}
	}
	cases := []struct {
		v  string
		ok bool
	}{
		{"0", false}, {"-0", false}, {"0.5", false}, {"1e3", false}, {"1E3", false}, {"1.7e9", false}, {"-1", false},
		{"1", true}, {"1.5", true}, {"12345678", true}, {"123456789", true}, {"1700000000.123456789123", true},
		{"253402300799", true}, {"253402300799.999999999", true}, {"253402300800", false}, {"999999999999", false},
		{"1000000000000", false}, {"1234567890123", false}, {`"1700000000"`, false}, {"null", false},
	}
	for _, c := range cases {
		_, e := parseClaims(&p.r, doc(c.v))
		if c.ok {
			assert.Nil(t, e, c.v)
		} else if assert.NotNil(t, e, c.v) {
			assert.Equal(t, ReasonClaimsMalformed, e.Reason, c.v)
		}
	}
}

// TestAdversary7VerifyReasons: tokens whose headers and payloads are generated and mutated as
// in TestAdversary7ParseDifferential, signed with the test key and verified by several
// goroutines through one Verifier, fail with c8d4bd1's parse reason when the former parse
// refuses them, never with a parse reason when it accepts them, and are accepted when the
// former parse accepts a payload whose registered claims are the base ones.
func TestAdversary7VerifyReasons(t *testing.T) {
	k := newTestKey(t, "ES256", "k1")
	v := newTestVerifier(t, staticKeys(t, k), nil)
	rng := rand.New(rand.NewPCG(0xA7, 0x4))
	g := &a7Gen{rng: rng}
	var ref a7Readers
	type tc struct {
		tok    string
		want   Reason // 0: any reason but a parse reason
		accept bool
		doc    string
	}
	// MissingClaim is left out: aud is missing is found after the parse.
	parseReasons := map[Reason]bool{ReasonHeaderMalformed: true, ReasonHeaderForbidden: true, ReasonClaimsMalformed: true}
	var cases []tc
	for i := range 1200 {
		hdr := []byte(`{"alg":"ES256","kid":"k1","typ":"JWT"}`)
		if i%4 == 0 {
			hdr = g.headerDoc()
		}
		pay := g.claimsDoc()
		if i%3 == 2 {
			if rng.IntN(4) == 0 {
				hdr = mutate(rng, hdr)
			} else {
				pay = mutate(rng, pay)
			}
		}
		if len(hdr) == 0 || len(pay) == 0 {
			continue // an empty segment is ReasonTokenFormat
		}
		c := tc{doc: string(hdr) + " . " + string(pay)}
		h, e := o7ParseHeader(&ref.o, hdr)
		if e == nil {
			var cl claims
			cl, e = o7ParseClaims(&ref.o, pay)
			if e == nil && h.alg >= 0 && string(hdr) == `{"alg":"ES256","kid":"k1","typ":"JWT"}` {
				// Accepted when the registered claims are the base ones.
				get := func(id claimID) string { return string(pay[cl.spans[id].start:cl.spans[id].end]) }
				c.accept = cl.spans[cIss].kind == kindString && get(cIss) == testIssuer && !cl.spans[cIss].esc &&
					get(cAud) == "sts.amazonaws.com" && cl.spans[cAud].kind == kindString && cl.spans[cAzp].kind == kindNone &&
					cl.spans[cExp].kind == kindNumber && get(cExp) == "1700003600" && get(cNbf) == "1700000000" && get(cIat) == "1700000000" &&
					cl.spans[cTags].kind == kindNone && cl.spans[cSourceIdentity].kind == kindNone && cl.spans[cAmr].kind == kindNone
			}
		}
		if e != nil {
			c.want = e.Reason
		}
		c.tok = compactJWS(t, k, "ES256", string(hdr), string(pay))
		if len(c.tok) > maxTokenLen {
			continue // ReasonTokenSize before any parse
		}
		cases = append(cases, c)
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(cases))
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(cases); i += 4 {
				c := cases[i]
				_, err := v.Verify(context.Background(), c.tok)
				var e *Error
				switch {
				case c.want != 0:
					if !errors.As(err, &e) || e.Reason != c.want {
						errs <- fmt.Sprintf("%q: %v, want reason %v", c.doc, err, c.want)
					}
				case c.accept:
					if err != nil {
						errs <- fmt.Sprintf("%q: %v, want accepted", c.doc, err)
					}
				case err != nil:
					if !errors.As(err, &e) || parseReasons[e.Reason] {
						errs <- fmt.Sprintf("%q: %v, former parse accepts it", c.doc, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
	n := map[string]int{}
	for _, c := range cases {
		switch {
		case c.want != 0:
			n["refused by parse"]++
		case c.accept:
			n["accepted"]++
		default:
			n["parsed"]++
		}
	}
	t.Logf("%v", n)
	assert.Greater(t, n["accepted"], 50)
	assert.Greater(t, n["refused by parse"], 200)
}
