package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// jkind is the JSON type of a jnode.
type jkind uint8

const (
	jObject jkind = iota + 1
	jArray
	jString
	jNumber
	jBool
	jNull
)

func (k jkind) String() string {
	switch k {
	case jObject:
		return "object"
	case jArray:
		return "array"
	case jString:
		return "string"
	case jNumber:
		return "number"
	case jBool:
		return "boolean"
	case jNull:
		return "null"
	}
	return "invalid"
}

// jnode is a decoded JSON value that keeps object members in document order.
// Numbers and booleans keep their JSON text, which is how IAM treats them in
// condition values.
type jnode struct {
	kind    jkind
	text    string   // string value, number text, "true" or "false"
	names   []string // object member names, in order
	members []*jnode // object member values, parallel to names
	elems   []*jnode // array elements
}

// member returns the value of the object member called name, or nil.
func (n *jnode) member(name string) *jnode {
	for i, k := range n.names {
		if k == name {
			return n.members[i]
		}
	}
	return nil
}

// maxDepth bounds nesting. A valid policy nests at most six levels deep
// (document, Statement list, statement, Condition, operator, value list);
// the margin lets Parse report a wrong type at the right path instead.
const maxDepth = 16

// decodeJSON decodes doc strictly: exactly one JSON value, valid UTF-8, no
// duplicate member names in any object, nesting within maxDepth.
func decodeJSON(doc []byte) (*jnode, *ParseError) {
	if !utf8.Valid(doc) {
		return nil, perr("", ReasonSyntax, "document is not valid UTF-8")
	}
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(doc))}
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

type decoder struct {
	dec *json.Decoder
}

func (d *decoder) syntax(path string, err error) *ParseError {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return perr(path, ReasonSyntax, "invalid JSON: unexpected end of document")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return perr(path, ReasonSyntax, "invalid JSON at offset "+strconv.FormatInt(se.Offset, 10)+": "+se.Error())
	}
	return perr(path, ReasonSyntax, "invalid JSON: "+err.Error())
}

func (d *decoder) value(path string, depth int) (*jnode, *ParseError) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, d.syntax(path, err)
	}
	return d.fromToken(tok, path, depth)
}

func (d *decoder) fromToken(tok json.Token, path string, depth int) (*jnode, *ParseError) {
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

func (d *decoder) object(path string, depth int) (*jnode, *ParseError) {
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

func (d *decoder) array(path string, depth int) (*jnode, *ParseError) {
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

// joinName appends an object member to a JSON path: ".Name" for identifiers,
// ["name"] otherwise (condition keys contain ':' '/' and '.').
func joinName(path, name string) string {
	if isIdent(name) {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	return path + "[" + strconv.Quote(name) + "]"
}

// joinIndex appends an array index to a JSON path.
func joinIndex(path string, i int) string {
	return path + "[" + itoa(i) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// nonSpaceLen counts the bytes of doc that are not JSON whitespace, which is
// how IAM measures a policy against its size quota.
func nonSpaceLen(doc []byte) int {
	n := 0
	for _, c := range doc {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}
