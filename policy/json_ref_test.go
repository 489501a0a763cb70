package policy

// The reference for the document decoder: the encoding/json Token-based
// decoder that Parse used before it had its own (json.go). FuzzDecodeJSON
// checks that both build the same tree and refuse the same documents with
// the same path and reason.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// refDecodeJSON decodes doc strictly: exactly one JSON value, valid UTF-8, no
// duplicate member names in any object, nesting within maxDepth.
func refDecodeJSON(doc []byte) (*jnode, *ParseError) {
	if !utf8.Valid(doc) {
		return nil, perr("", ReasonSyntax, "document is not valid UTF-8")
	}
	d := &refDecoder{dec: json.NewDecoder(bytes.NewReader(doc))}
	d.dec.UseNumber()
	n, err := d.value("", 0)
	if err != nil {
		return nil, err
	}
	if _, terr := d.dec.Token(); terr != io.EOF {
		return nil, perr("", ReasonSyntax, "unexpected data after the policy document at offset "+strconv.FormatInt(d.dec.InputOffset(), 10))
	}
	return n, nil
}

type refDecoder struct {
	dec *json.Decoder
}

func (d *refDecoder) syntax(path string, err error) *ParseError {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return perr(path, ReasonSyntax, "invalid JSON: unexpected end of document")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return perr(path, ReasonSyntax, "invalid JSON at offset "+strconv.FormatInt(se.Offset, 10)+": "+se.Error())
	}
	return perr(path, ReasonSyntax, "invalid JSON: "+err.Error())
}

func (d *refDecoder) value(path string, depth int) (*jnode, *ParseError) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, d.syntax(path, err)
	}
	return d.fromToken(tok, path, depth)
}

func (d *refDecoder) fromToken(tok json.Token, path string, depth int) (*jnode, *ParseError) {
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return nil, perr(path, ReasonType, "nested too deeply")
		}
		switch t {
		case '{':
			return d.object(path, depth+1)
		case '[':
			return d.array(path, depth+1)
		}
		return nil, perr(path, ReasonSyntax, "invalid JSON: unexpected "+string(t))
	case string:
		return &jnode{kind: jString, text: t}, nil
	case json.Number:
		return &jnode{kind: jNumber, text: string(t)}, nil
	case bool:
		if t {
			return &jnode{kind: jBool, text: "true"}, nil
		}
		return &jnode{kind: jBool, text: "false"}, nil
	case nil:
		return &jnode{kind: jNull}, nil
	}
	return nil, perr(path, ReasonSyntax, "invalid JSON token")
}

func (d *refDecoder) object(path string, depth int) (*jnode, *ParseError) {
	n := &jnode{kind: jObject}
	seen := make(map[string]struct{})
	for {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, d.syntax(path, err)
		}
		if delim, ok := tok.(json.Delim); ok && delim == '}' {
			return n, nil
		}
		name, ok := tok.(string)
		if !ok {
			return nil, perr(path, ReasonSyntax, "invalid JSON: object member name is not a string")
		}
		mpath := joinName(path, name)
		if _, dup := seen[name]; dup {
			return nil, perr(mpath, ReasonDuplicate, "duplicate member "+strconv.Quote(name))
		}
		seen[name] = struct{}{}
		v, perr := d.value(mpath, depth)
		if perr != nil {
			return nil, perr
		}
		n.names = append(n.names, name)
		n.members = append(n.members, v)
	}
}

func (d *refDecoder) array(path string, depth int) (*jnode, *ParseError) {
	n := &jnode{kind: jArray}
	for i := 0; ; i++ {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, d.syntax(path, err)
		}
		if delim, ok := tok.(json.Delim); ok && delim == ']' {
			return n, nil
		}
		v, perr := d.fromToken(tok, joinIndex(path, i), depth)
		if perr != nil {
			return nil, perr
		}
		n.elems = append(n.elems, v)
	}
}

// sameTree reports whether two decoded trees are equal, and where not.
func sameTree(a, b *jnode, path string) (string, bool) {
	switch {
	case a == nil || b == nil:
		return path, a == b
	case a.kind != b.kind:
		return path + ": kind " + a.kind.String() + " vs " + b.kind.String(), false
	case a.text != b.text:
		return path + ": text " + strconv.Quote(a.text) + " vs " + strconv.Quote(b.text), false
	case len(a.names) != len(b.names) || len(a.members) != len(b.members) || len(a.elems) != len(b.elems):
		return path + ": child count", false
	}
	for i := range a.names {
		if a.names[i] != b.names[i] {
			return path + ": name " + strconv.Quote(a.names[i]) + " vs " + strconv.Quote(b.names[i]), false
		}
		if where, ok := sameTree(a.members[i], b.members[i], joinName(path, a.names[i])); !ok {
			return where, false
		}
	}
	for i := range a.elems {
		if where, ok := sameTree(a.elems[i], b.elems[i], joinIndex(path, i)); !ok {
			return where, false
		}
	}
	return "", true
}

// checkDecodeJSON fails the test if decodeJSON and the reference disagree
// on doc: on the tree, or on the path and reason of the error.
func checkDecodeJSON(t *testing.T, doc []byte) {
	t.Helper()
	got, gerr := decodeJSON(doc)
	want, werr := refDecodeJSON(doc)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("%q: error %v, reference %v", doc, gerr, werr)
	case gerr != nil:
		if gerr.Path != werr.Path || gerr.Reason != werr.Reason {
			t.Fatalf("%q: error at %q (%v), reference at %q (%v): %v / %v", doc, gerr.Path, gerr.Reason, werr.Path, werr.Reason, gerr, werr)
		}
	default:
		if where, ok := sameTree(got, want, ""); !ok {
			t.Fatalf("%q: trees differ at %s", doc, where)
		}
	}
}

func TestDecodeJSONMatchesReference(t *testing.T) {
	docs := []string{
		``, ` `, `{}`, `[]`, `"x"`, `1`, `-0`, `null`, `true`, `false`, ` {"a" : [ 1 , 2 ] } `,
		`{"a":1,"b":{"c":[true,false,null,"x",-1.5e+3,0.0,1E-2]}}`,
		// escapes, surrogate pairs and lone surrogates (U+FFFD)
		`{"a\"b\\c\/d\b\f\n\r\t":"\u0041\u00e9\u20ac\ud83d\ude00"}`,
		`{"k":"\ud800"}`, `{"k":"\udc00x"}`, `{"k":"\ud800\u0041"}`, `{"k":"\ud800\ud800\udc00"}`,
		`{"k":"\ud83d\ude0"}`, `{"k":"\u00"}`, `{"k":"\uZZZZ"}`, `{"k":"\x"}`, `{"k":"a` + "\x01" + `"}`,
		`{"k":"\`, `{"k":"\u12`, `{"k":"abc`, `{"k`, `{"k\`, `{"k\u0041":1}`,
		// numbers
		`{"n":01}`, `{"n":-}`, `{"n":-a}`, `{"n":1.}`, `{"n":1.e5}`, `{"n":1e}`, `{"n":1e+}`, `{"n":.5}`, `{"n":+1}`,
		`[01]`, `[1.]`, `[-]`, `{"n":1`, `{"n":1.5`, `[1`, `[1e`,
		// literals
		`{"b":tru}`, `{"b":trux}`, `{"b":truex}`, `{"b":nul}`, `{"b":fals`, `[tru]`, `[truex]`, `[nul`,
		// structure
		`{"a":}`, `{"a"}`, `{"a",}`, `{"a" 1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{,}`, `{1:2}`, `{"a":1}}`,
		`[1,]`, `[,1]`, `[1 2]`, `[1,,2]`, `]`, `}`, `:`, `,`, `[}`, `{]`, `{"a":[}`, `{"a":{]}`,
		`{"a":1}{}`, `{"a":1} x`, `{"a":1}"`, "{\"a\":1}\n\t\r ", "\ufeff{}", `{"a":[1,{"b":[2,{"c":x}]}]}`,
		`{"a":1,"a":2}`, `{"a":1,"b":2,"a":3}`, `{"x":{"a":1,"a":2}}`, `[{"a":1,"a":2}]`, `{"a":[{"b":1},{"b":2}]}`,
		`{"Statement":[`, `{"Version":}`, `{"Statement":[{"Effect":"Allow"},`,
	}
	// nesting at and beyond the limit, in objects and arrays
	for _, n := range []int{15, 16, 17, 20} {
		docs = append(docs, strings.Repeat("[", n)+strings.Repeat("]", n),
			strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n),
			`{"Id":`+strings.Repeat("[", n)+strings.Repeat("]", n)+`}`,
			strings.Repeat(`[{"a":`, n)+strings.Repeat("}]", n),
			strings.Repeat("[", n))
	}
	// objects over the size from which duplicates are found by a map
	var b strings.Builder
	for i := range 3 * smallSet {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":1`)
	}
	docs = append(docs, "{"+b.String()+"}", "{"+b.String()+`,"k3":2}`, "{"+b.String()+`,"k40":2}`)
	for _, doc := range docs {
		t.Run(doc, func(t *testing.T) { checkDecodeJSON(t, []byte(doc)) })
	}
}

// FuzzDecodeJSON checks that Parse's decoder agrees with the encoding/json
// reference on every input.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,"\u00e9\ud800",{"b":null}],"c":-1.5e3}`))
	f.Add([]byte(cond(`"StringEquals":{"k:x":"a"}`)))
	// The FuzzParse corpus: documents close to policies.
	if ents, err := os.ReadDir("testdata/fuzz/FuzzParse"); err == nil {
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join("testdata/fuzz/FuzzParse", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			for _, line := range strings.Split(string(data), "\n") {
				if q, ok := strings.CutPrefix(line, "[]byte("); ok {
					if s, err := strconv.Unquote(strings.TrimSuffix(q, ")")); err == nil {
						f.Add([]byte(s))
					}
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 1<<16 {
			return
		}
		checkDecodeJSON(t, doc)
	})
}
