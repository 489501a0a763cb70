package verifier

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hostile documents: many distinct member names, each written entirely as \u escapes, so that
// a reader comparing every pair of names (and unescaping both for each pair) does quadratic
// work before the issuer is routed or any signature is checked.

const unregisteredIssuer = "https://unregistered.example"

// escapedName returns the i-th name of width decimal digits, every character a \u escape.
func escapedName(i, width int) string {
	var b strings.Builder
	for _, c := range fmt.Sprintf("%0*d", width, i) {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	return b.String()
}

// escapedMembers returns n members `,"<escaped name>":0`; with dup, the last one repeats the
// first name written without escapes, so that only unescaping finds the duplicate.
func escapedMembers(n int, dup bool) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`,"`)
		if dup && i == n-1 {
			b.WriteString(fmt.Sprintf("%08d", 0))
		} else {
			b.WriteString(escapedName(i, 8))
		}
		b.WriteString(`":0`)
	}
	return b.String()
}

// requiredClaims are the members a payload needs to reach the issuer lookup: iss, sub, exp.
func requiredClaims(iss string) string {
	return `"iss":"` + iss + `","sub":"s","exp":` + strconv.FormatInt(testNow.Unix()+3600, 10)
}

// hostilePayload is a payload with the required claims and n escaped members at the top level.
func hostilePayload(iss string, n int, dup bool) string {
	return `{` + requiredClaims(iss) + escapedMembers(n, dup) + `}`
}

// hostileNestedPayload puts the n escaped members in an object one level down.
func hostileNestedPayload(iss string, n int, dup bool) string {
	return `{` + requiredClaims(iss) + `,"o":{"x":0` + escapedMembers(n, dup) + `}}`
}

// hostileHeader is an RS256 header with n extra escaped members.
func hostileHeader(kid string, n int, dup bool) string {
	return `{"alg":"RS256","kid":"` + kid + `"` + escapedMembers(n, dup) + `}`
}

// validPayloadJSON is a payload for testIssuer that passes every claim check at testNow.
func validPayloadJSON(extra string) string {
	return `{"iss":"` + testIssuer + `","sub":"system:serviceaccount:default:app","aud":"` + testClientID +
		`","exp":` + strconv.FormatInt(testNow.Unix()+3600, 10) + extra + `}`
}

// forged joins header and payload with a signature of 256 zero bytes.
func forged(tb testing.TB, header, payload string) string {
	tb.Helper()
	tok := b64e.EncodeToString([]byte(header)) + "." + b64e.EncodeToString([]byte(payload)) + "." +
		b64e.EncodeToString(make([]byte, 256))
	require.LessOrEqual(tb, len(tok), maxTokenLen, "hostile token must fit STS's size limit")
	return tok
}

type hostileCase struct {
	name   string
	token  string
	reason Reason
	detail error // the JSON error wrapped in the *Error, or nil
}

// hostileCases are the hostile tokens with the verdict the verifier gave them before the
// duplicate check became linear. kid names the verifier's RS256 key.
func hostileCases(tb testing.TB, kid string) []hostileCase {
	hdr := `{"alg":"RS256","kid":"` + kid + `"}`
	small := `{` + requiredClaims(unregisteredIssuer) + `}`
	return []hostileCase{
		// The floor: a payload of the same size whose bulk is one plain string.
		{"payload/one-long-string/unknown-iss", forged(tb, hdr, `{`+requiredClaims(unregisteredIssuer)+`,"s":"`+
			strings.Repeat("x", len(escapedMembers(253, false)))+`"}`), ReasonUnknownIssuer, nil},
		{"payload/escaped-253/unknown-iss", forged(tb, hdr, hostilePayload(unregisteredIssuer, 253, false)), ReasonUnknownIssuer, nil},
		{"payload/escaped-252/bad-signature", forged(tb, hdr, validPayloadJSON(escapedMembers(252, false))), ReasonBadSignature, nil},
		{"payload/escaped-253/duplicate", forged(tb, hdr, hostilePayload(unregisteredIssuer, 253, true)), ReasonClaimsMalformed, errDuplicate},
		{"payload/escaped-254/too-wide", forged(tb, hdr, hostilePayload(unregisteredIssuer, 254, false)), ReasonClaimsMalformed, errTooWide},
		{"nested/escaped-255/unknown-iss", forged(tb, hdr, hostileNestedPayload(unregisteredIssuer, 255, false)), ReasonUnknownIssuer, nil},
		{"nested/escaped-255/duplicate", forged(tb, hdr, hostileNestedPayload(unregisteredIssuer, 255, true)), ReasonClaimsMalformed, errDuplicate},
		{"nested/escaped-256/too-wide", forged(tb, hdr, hostileNestedPayload(unregisteredIssuer, 256, false)), ReasonClaimsMalformed, errTooWide},
		{"header/escaped-254/unknown-iss", forged(tb, hostileHeader(kid, 254, false), small), ReasonUnknownIssuer, nil},
		{"header/escaped-254/duplicate", forged(tb, hostileHeader(kid, 254, true), small), ReasonHeaderMalformed, errDuplicate},
		{"header/escaped-255/too-wide", forged(tb, hostileHeader(kid, 255, false), small), ReasonHeaderMalformed, errTooWide},
	}
}

// TestHostileMemberNames: tokens with hundreds of escaped member names get the same verdict as
// before duplicate detection became linear, at the top level, nested and in the header.
func TestHostileMemberNames(t *testing.T) {
	k := newTestKey(t, "RS256", "hostile")
	v := newTestVerifier(t, mapKeys(k), nil)
	for _, tc := range hostileCases(t, k.kid) {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tc.token)
			require.Error(t, err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.reason, e.Reason)
			if tc.detail != nil {
				assert.ErrorIs(t, err, tc.detail)
			}
			_, again := v.Verify(t.Context(), tc.token) // pooled scratch reused
			assert.ErrorIs(t, again, tc.reason)
		})
	}
}

// TestClaimWithManyEscapedNames: Token.Claim finds members among hundreds of escaped names,
// including one whose name is itself escaped.
func TestClaimWithManyEscapedNames(t *testing.T) {
	tok := &Token{Claims: hostilePayload(unregisteredIssuer, 200, false)}
	raw, ok := tok.Claim("iss")
	assert.True(t, ok)
	assert.Equal(t, `"`+unregisteredIssuer+`"`, raw)
	raw, ok = tok.Claim("00000199")
	assert.True(t, ok)
	assert.Equal(t, "0", raw)
	_, ok = tok.Claim("00000200")
	assert.False(t, ok)
}

func TestStrictJSONDuplicatesPerObject(t *testing.T) {
	cases := []struct {
		name string
		json string
		err  error
	}{
		{"name reused in a sibling object", `{"x":{"a":1},"y":{"a":1}}`, nil},
		{"name reused in objects of an array", `{"x":[{"a":1,"b":2},{"b":1,"a":2}]}`, nil},
		{"parent name after a nested object", `{"a":{"b":1},"b":2}`, nil},
		{"parent duplicate after a nested object", `{"a":{"b":1},"a":2}`, errDuplicate},
		{"nested duplicate after a deeper object", `{"o":{"a":{"a":{}},"a":1}}`, errDuplicate},
		{"escaped slash", `{"a/b":1,"a\/b":2}`, errDuplicate},
		{"surrogate pair", `{"😀":1,"\ud83d\ude00":2}`, errDuplicate},
		{"upper-case hex", `{"é":1,"\u00E9":2}`, errDuplicate},
		{"empty names", `{"":1,"\u0000":2,"":3}`, errDuplicate},
		{"NUL is not empty", `{"":1,"\u0000":2}`, nil},
		{"prefix is not equal", `{"ab":1,"\u0061":2,"a\u0062c":3}`, nil},
		{"nested 256 members", `{"o":{` + manyMembers(maxMembers) + `}}`, nil},
		{"nested 257 members", `{"o":{` + manyMembers(maxMembers+1) + `}}`, errTooWide},
		{"top-level 256 members", `{` + manyMembers(maxMembers) + `}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := readObject(tc.json)
			if tc.err == nil {
				assert.NoError(t, err)
				assert.True(t, json.Valid([]byte(tc.json)))
			} else {
				assert.ErrorIs(t, err, tc.err)
			}
		})
	}
}

// manyMembers returns n members with distinct names, every other one escaped.
func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		if i%2 == 0 {
			b.WriteString(`"` + escapedName(i, 3) + `":1`)
		} else {
			b.WriteString(`"` + fmt.Sprintf("%03d", i) + `":1`)
		}
	}
	return b.String()
}

// TestObjectReaderReuse: a reader reused for many documents (as the pooled one is) does not
// see names of earlier documents, also when its document counter wraps around.
func TestObjectReaderReuse(t *testing.T) {
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
	big := hostilePayload(unregisteredIssuer, 253, false)
	r.names.gen = ^uint32(0) - 2
	for i := range 8 {
		require.NoError(t, read(`{"a":1,"\u0062":{"a":2}}`), i)
		require.NoError(t, read(big), i)
		require.NoError(t, read(`{"iss":0,"\u0030\u0030\u0030\u0030\u0030\u0030\u0030\u0030":1}`), i)
		require.ErrorIs(t, read(`{"a":1,"\u0061":2}`), errDuplicate, i)
	}
}

// TestStrictJSONDuplicatesRandom: random nested objects whose names come from a small set,
// each written with random escapes; the reader reports a duplicate exactly when some object
// repeats a name.
func TestStrictJSONDuplicatesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	dups := 0
	for range 5000 {
		var b strings.Builder
		dup := randomObject(rng, &b, 0)
		doc := b.String()
		err := readObject(doc)
		if dup {
			dups++
			require.ErrorIs(t, err, errDuplicate, doc)
		} else {
			require.NoError(t, err, doc)
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(doc), &m), doc)
		}
	}
	assert.Positive(t, dups)
	assert.Less(t, dups, 5000)
}

var randomNames = []string{"a", "b", "ab", "é", "😀", "a/b", "", "\x00", "iss"}

// randomObject writes an object of up to 6 members to b and reports whether some object in it
// has a duplicate name.
func randomObject(rng *rand.Rand, b *strings.Builder, depth int) bool {
	b.WriteString("{")
	seen := map[int]bool{}
	dup := false
	for i := range rng.IntN(7) {
		if i > 0 {
			b.WriteString(",")
		}
		n := rng.IntN(len(randomNames))
		dup = dup || seen[n]
		seen[n] = true
		writeRandomName(rng, b, randomNames[n])
		b.WriteString(":")
		switch {
		case depth < 3 && rng.IntN(3) == 0:
			dup = randomObject(rng, b, depth+1) || dup
		case depth < 3 && rng.IntN(3) == 0:
			b.WriteString("[")
			for j := range rng.IntN(3) {
				if j > 0 {
					b.WriteString(",")
				}
				dup = randomObject(rng, b, depth+1) || dup
			}
			b.WriteString("]")
		default:
			b.WriteString("1")
		}
	}
	b.WriteString("}")
	return dup
}

// writeRandomName writes s as a JSON string, each character either as it is or escaped.
func writeRandomName(rng *rand.Rand, b *strings.Builder, s string) {
	b.WriteString(`"`)
	for _, r := range s {
		switch {
		case r == '/' && rng.IntN(3) == 0:
			b.WriteString(`\/`)
		case r >= 0x20 && rng.IntN(2) == 0:
			b.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04X`, r1, r2)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteString(`"`)
}
