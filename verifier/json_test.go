package verifier

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readObject walks a top-level object with the strict reader.
func readObject(data string) error {
	r := new(objectReader)
	r.reset([]byte(data))
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

func TestStrictJSON(t *testing.T) {
	cases := []struct {
		name string
		json string
		ok   bool
	}{
		{"empty object", `{}`, true},
		{"whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", true},
		{"all value types", `{"s":"x","n":-1.5e+3,"t":true,"f":false,"z":null,"a":[],"o":{"p":{}}}`, true},
		{"escapes", `{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, true},
		{"UTF-8", `{"s":"héllo ☃ 😀"}`, true},
		{"zero", `{"n":0}`, true},
		{"duplicate", `{"a":1,"a":2}`, false},
		{"duplicate after escape", `{"a":1,"\u0061":2}`, false},
		{"duplicate both escaped", `{"\u0061":1,"\u0061":2}`, false},
		{"duplicate nested", `{"o":{"a":1,"b":2,"a":3}}`, false},
		{"duplicate in array of objects", `{"x":[{"a":1,"a":1}]}`, false},
		{"same name at two levels", `{"a":{"a":1}}`, true},
		{"names differing in case", `{"a":1,"A":2}`, true},
		{"trailing comma in object", `{"a":1,}`, false},
		{"trailing comma in array", `{"a":[1,]}`, false},
		{"leading zero", `{"n":01}`, false},
		{"plus sign", `{"n":+1}`, false},
		{"bare fraction", `{"n":.5}`, false},
		{"dot without digits", `{"n":1.}`, false},
		{"exponent without digits", `{"n":1e}`, false},
		{"NaN", `{"n":NaN}`, false},
		{"single quotes", `{'a':1}`, false},
		{"unquoted name", `{a:1}`, false},
		{"control character", "{\"s\":\"a\x01b\"}", false},
		{"raw newline in string", "{\"s\":\"a\nb\"}", false},
		{"invalid escape", `{"s":"\x"}`, false},
		{"short unicode escape", `{"s":"\u12"}`, false},
		{"lone high surrogate", `{"s":"\ud800"}`, false},
		{"lone low surrogate", `{"s":"\udc00"}`, false},
		{"high surrogate then non-surrogate", `{"s":"\ud800\u0041"}`, false},
		{"invalid UTF-8", "{\"s\":\"\xc3\x28\"}", false},
		{"overlong UTF-8", "{\"s\":\"\xc0\xaf\"}", false},
		{"UTF-8 surrogate", "{\"s\":\"\xed\xa0\x80\"}", false},
		{"trailing data", `{}{}`, false},
		{"trailing garbage", `{} x`, false},
		{"unterminated", `{"a":1`, false},
		{"unterminated string", `{"a":"1}`, false},
		{"not an object", `[1]`, false},
		{"empty", ``, false},
		{"truncated literal", `{"a":tru}`, false},
		{"missing colon", `{"a" 1}`, false},
		{"missing comma", `{"a":1 "b":2}`, false},
		{"too deep", `{"a":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}`, false},
		{"deep enough", `{"a":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`, true},
		{"exponent beyond float64", `{"a":{"n":1E748782207}}`, false}, // FuzzDifferential finding
		{"negative exponent beyond float64", `{"n":-1e309}`, false},
		{"310 integer digits", `{"n":` + "1" + strings.Repeat("0", 309) + `}`, false},
		{"309 integer digits", `{"n":` + "1" + strings.Repeat("0", 308) + `}`, true},
		{"largest float64", `{"n":1.7976931348623157e308}`, true},
		{"308 integer digits", `{"n":` + "1" + strings.Repeat("0", 307) + `}`, true},
		{"underflow rounds to zero", `{"n":1e-400}`, true},
		{"long fraction", `{"n":0.` + strings.Repeat("1", 400) + `}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := readObject(tc.json)
			if tc.ok {
				assert.NoError(t, err)
				assert.True(t, json.Valid([]byte(tc.json)), "encoding/json agrees")
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// TestStrictJSONNumberRange: a number beyond float64 is refused with its own error, and
// encoding/json agrees that such a payload does not decode.
func TestStrictJSONNumberRange(t *testing.T) {
	for _, doc := range []string{`{"n":1e309}`, `{"o":{"n":-2E400}}`, `{"a":[1,1e99999]}`} {
		assert.ErrorIs(t, readObject(doc), errNumberRange, doc)
		var v any
		assert.Error(t, json.Unmarshal([]byte(doc), &v), "encoding/json refuses %s too", doc)
	}
}

func TestStrictJSONMemberLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range maxMembers + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
	}
	b.WriteString("}")
	assert.ErrorIs(t, readObject(b.String()), errTooWide)
}

// TestStrictJSONAgreesWithEncodingJSON: whatever the strict reader accepts, encoding/json
// accepts too and decodes to the same members (no duplicates to disagree about).
func TestStrictJSONAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{`"a"`, `"b"`, `"\u0061"`, `1`, `-0.5e2`, `true`, `null`, `[`, `]`, `{`, `}`, `,`, `:`, ` `, `"\ud83d\ude00"`, `"é"`}
	accepted := 0
	for range 20000 {
		var b strings.Builder
		b.WriteString("{")
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		b.WriteString("}")
		doc := b.String()
		if readObject(doc) != nil {
			continue
		}
		accepted++
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(doc), &m), doc)
	}
	assert.Positive(t, accepted)
}

func TestUnescape(t *testing.T) {
	in := `a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00z`
	var want string
	require.NoError(t, json.Unmarshal([]byte(`"`+in+`"`), &want))
	assert.Equal(t, want, string(unescape(nil, in)))
	assert.Equal(t, want, string(unescape(nil, []byte(in))))
}

func TestNumericDate(t *testing.T) {
	cases := []struct {
		json string
		sec  int64
		nsec int64
		ok   bool
	}{
		{"1", 1, 0, true},
		{"1700000000", 1700000000, 0, true},
		{"1700000000.5", 1700000000, 500000000, true},
		{"1700000000.1234567891", 1700000000, 123456789, true},
		{"253402300799", 253402300799, 0, true},
		{"253402300800", 0, 0, false},
		{"0", 0, 0, false},
		{"0.9", 0, 0, false},
		{"-1", 0, 0, false},
		{"1e9", 0, 0, false},
		{"99999999999999999999999", 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.json, func(t *testing.T) {
			got, ok := numericDate([]byte(tc.json), span{start: 0, end: int32(len(tc.json)), kind: kindNumber})
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, tc.sec, got.Unix())
				assert.Equal(t, tc.nsec, int64(got.Nanosecond()))
			}
		})
	}
}

// TestSplitCompactAgreesWithStrictBase64: the pre-parse plus the strict decoder accept exactly
// the canonical unpadded base64url encodings.
func TestSplitCompactAgreesWithStrictBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		raw := make([]byte, 1+rng.IntN(40))
		for i := range raw {
			raw[i] = byte(rng.IntN(256))
		}
		seg := base64.RawURLEncoding.EncodeToString(raw)
		if rng.IntN(2) == 0 { // mutate one character
			b := []byte(seg)
			b[rng.IntN(len(b))] = "A_-=+/ .\n"[rng.IntN(9)]
			seg = string(b)
		}
		tok := "eyJh." + seg + ".AAAA"
		c, perr := splitCompact(tok)
		var derr error
		if perr == nil {
			p := []byte(c.payload())
			_, _, derr = decodeInto(nil, p)
		}
		want, werr := base64.RawURLEncoding.Strict().DecodeString(seg)
		ok := perr == nil && derr == nil && !strings.ContainsAny(seg, "\r\n")
		assert.Equal(t, werr == nil && !strings.ContainsAny(seg, "\r\n.") && seg != "", ok, "segment %q", seg)
		if ok {
			_, got, _ := decodeInto(nil, []byte(c.payload()))
			assert.Equal(t, want, got)
		}
	}
}

func TestClaimIndex(t *testing.T) {
	for id, name := range claimNames {
		assert.Equal(t, claimID(id), claimIndex(name), name)
		assert.Equal(t, claimID(id), claimIndex([]byte(name)), name)
	}
	assert.Equal(t, claimCount, claimIndex("other"))
}
