package verifier

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkArrayStrings asserts that the reader's stringsOnly on each array member of the object doc
// agrees with stringArray, the element-by-element check it replaces in parseClaims.
func checkArrayStrings(t *testing.T, doc string) {
	t.Helper()
	r := new(objectReader)
	data := []byte(doc)
	r.reset(data)
	if r.beginObject() != nil {
		return
	}
	for {
		m, more, err := r.nextMember()
		if err != nil || !more {
			return
		}
		if m.kind == kindArray {
			if want := stringArray(data, m.span, nil); m.stringsOnly() != want {
				t.Fatalf("%q: member at %d: stringsOnly %v, stringArray %v", doc, m.start, m.stringsOnly(), want)
			}
		}
	}
}

func TestArrayStrings(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		strs bool
	}{
		{`{"a":[]}`, true},
		{`{"a":[ ]}`, true},
		{`{"a":["x"]}`, true},
		{`{"a":[ "x" , "y\"" ]}`, true},
		{`{"a":["x",1]}`, false},
		{`{"a":[1,"x"]}`, false},
		{`{"a":[["x"]]}`, false},
		{`{"a":["x",{"b":"c"}]}`, false},
		{`{"a":["x",null]}`, false},
		{`{"a":["x",[]]}`, false},
		{`{"a":[true]}`, false},
	} {
		r := new(objectReader)
		r.reset([]byte(tc.doc))
		require.NoError(t, r.beginObject())
		m, more, err := r.nextMember()
		require.NoError(t, err, tc.doc)
		require.True(t, more)
		assert.Equal(t, tc.strs, m.stringsOnly(), tc.doc)
		checkArrayStrings(t, tc.doc)
	}
	// aud and amr: a string or an array of strings, nothing else.
	for doc, ok := range map[string]bool{
		`{"iss":"i","sub":"s","exp":2,"aud":["a","b"],"amr":[]}`: true,
		`{"iss":"i","sub":"s","exp":2,"aud":["a",1]}`:            false,
		`{"iss":"i","sub":"s","exp":2,"amr":[["a"]]}`:            false,
		`{"iss":"i","sub":"s","exp":2,"aud":"a","amr":["x",{}]}`: false,
	} {
		_, e := parseClaims(new(objectReader), []byte(doc))
		if ok {
			assert.Nil(t, e, doc)
		} else if assert.NotNil(t, e, doc) {
			assert.ErrorIs(t, e, ReasonClaimsMalformed, doc)
		}
	}
}

// FuzzArrayStrings: stringsOnly agrees with stringArray on every array the reader accepts.
func FuzzArrayStrings(f *testing.F) {
	for _, s := range []string{`{"a":["x",1]}`, `{"a":[]}`, `{"a":["x","y"],"b":[[],"z"]}`, `{"a":{"b":["c",true]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		checkArrayStrings(t, doc)
	})
}

// TestSpanFieldCount: span keeps at most four fields, the most the compiler holds in
// registers; a fifth made the reader's header and claims parses twice as slow.
func TestSpanFieldCount(t *testing.T) {
	assert.LessOrEqual(t, reflect.TypeOf(span{}).NumField(), 4)
}
