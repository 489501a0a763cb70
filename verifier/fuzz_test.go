package verifier

import (
	"encoding/json"
	"testing"
)

// FuzzStrictJSON: whatever the strict reader accepts, encoding/json accepts as an object too,
// with as many members as the reader saw (so no duplicate was let through).
func FuzzStrictJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"s":"\ud83d\ude00"}`,
		`{"o":{"p":[1,{"q":null}]}}`, `{"n":-0.5e-3}`, "{\"s\":\"\xff\"}", `{"a":[1,]}`, `{"n":1e309}`,
		// Strings longer than a word with an escape, non-ASCII or a control byte inside, and
		// objects around smallObject members (json.go's word path and duplicate check).
		`{"abcdefghij\u006bl":"abcdefgh\"ijklmnop","x":"0123456789\u00e9"}`, "{\"abcdefghij\":\"abcdefghé\tjklmnop\"}",
		"{\"abcdefghij\":\"abcdefgh\x01ijklmnop\"}", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"\u0061":10}`,
		`{"prefix__a":1,"prefix__b":2,"prefix__\u0061":3}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := new(objectReader)
		r.reset(data)
		if r.beginObject() != nil {
			return
		}
		n := 0
		for {
			_, more, err := r.nextMember()
			if err != nil {
				return
			}
			if !more {
				break
			}
			n++
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("strict reader accepted what encoding/json refuses: %q: %v", data, err)
		}
		if len(m) != n {
			t.Fatalf("strict reader saw %d members, encoding/json %d: %q", n, len(m), data)
		}
		// Every value decodes too (numbers within float64's range, as Token.Claim's callers need).
		var all any
		if err := json.Unmarshal(data, &all); err != nil {
			t.Fatalf("strict reader accepted a document encoding/json cannot decode: %q: %v", data, err)
		}
	})
}

// FuzzVerify: a token the verifier accepts must be one of the genuine tokens it was seeded
// with (only they carry a valid signature), and the verdict is the same when asked twice.
func FuzzVerify(f *testing.F) {
	ks := newKeySet(f)
	v := newTestVerifier(f, ks.source(), nil)
	genuine := map[string]bool{}
	for _, k := range []*testKey{ks.rs, ks.ps, ks.es, ks.ed} {
		tok := mint(f, k, baseClaims(), nil)
		genuine[tok] = true
		f.Add(tok)
	}
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		_, err1 := v.Verify(t.Context(), token)
		_, err2 := v.Verify(t.Context(), token)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("verdicts differ: %v, %v", err1, err2)
		}
		if err1 == nil && !genuine[token] {
			t.Fatalf("accepted a token that was never signed: %q", token)
		}
	})
}
