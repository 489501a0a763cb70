package policy

import (
	"strconv"
	"unicode"
	"unicode/utf16"
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

// smallSet is the number of members or keys up to which duplicates are
// found by comparing with each earlier one; beyond it, by a map, so that a
// large document costs linear time.
const smallSet = 16

// decodeJSON decodes doc strictly: exactly one JSON value (RFC 8259), valid
// UTF-8, no duplicate member names in any object, nesting within maxDepth.
// It decodes as encoding/json does (escapes, and an escaped lone surrogate
// as U+FFFD) and reports syntax errors at the path encoding/json's Token
// API would have reached: inside an object, the member being read; inside
// an array, the array, except for an element that is itself an object or an
// array (json_ref_test.go holds that reference).
//
// The texts of the nodes are substrings of one copy of the document (see
// decodeText).
func decodeJSON(doc []byte) (*jnode, *ParseError) {
	if !utf8.Valid(doc) {
		return nil, perr("", ReasonSyntax, "document is not valid UTF-8")
	}
	return decodeText(string(doc))
}

// decodeText is decodeJSON on a document known to be valid UTF-8. The texts
// of the nodes are substrings of text (or strings of their own, for strings
// with escapes): a caller that keeps one beyond the parse owns it (see own),
// so that a compiled policy does not keep the document alive.
func decodeText(text string) (*jnode, *ParseError) {
	d := &decoder{s: text}
	d.path = d.pathBuf[:0]
	d.kidStack = d.kidBuf[:0]
	d.nameStack = d.nameBuf[:0]
	d.space()
	n, err := d.value(0, 0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i < len(d.s) {
		return nil, perr("", ReasonSyntax, "unexpected data after the policy document at offset "+itoa(d.i))
	}
	return n, nil
}

// decoder reads one document. Nodes and the slices of their children are
// carved out of chunks, so that a document costs a few allocations.
type decoder struct {
	s string // the document
	i int    // read offset

	nodes []jnode
	kids  []*jnode
	names []string
	// stacks of the children of the objects and arrays being read
	kidStack  []*jnode
	nameStack []string
	path      []jseg
	pathBuf   [maxDepth + 1]jseg
	kidBuf    [32]*jnode
	nameBuf   [32]string
}

// jseg is one step of the JSON path of the value being read: the decoder
// keeps the steps from the document down in path, and a function reading a
// value gets the number of steps that make its path, so that the path is
// built only when an error needs it.
type jseg struct {
	name  string // member name, unless elem
	index int    // element index, if elem
	elem  bool
}

// pathString returns the JSON path of the first n steps.
func (d *decoder) pathString(n int) string {
	s := ""
	for _, g := range d.path[:n] {
		if g.elem {
			s = joinIndex(s, g.index)
		} else {
			s = joinName(s, g.name)
		}
	}
	return s
}

// push sets step n of the path and returns the length of the path to it.
func (d *decoder) push(n int, g jseg) int {
	d.path = append(d.path[:n], g)
	return n + 1
}

func (d *decoder) node(kind jkind) *jnode {
	if len(d.nodes) == cap(d.nodes) {
		d.nodes = make([]jnode, 0, 16)
	}
	d.nodes = append(d.nodes, jnode{kind: kind})
	return &d.nodes[len(d.nodes)-1]
}

// carveKids returns a copy of ks in a slice of exactly its length.
func (d *decoder) carveKids(ks []*jnode) []*jnode {
	if len(ks) == 0 {
		return nil
	}
	if cap(d.kids)-len(d.kids) < len(ks) {
		d.kids = make([]*jnode, 0, max(32, len(ks)))
	}
	at := len(d.kids)
	d.kids = append(d.kids, ks...)
	return d.kids[at:len(d.kids):len(d.kids)]
}

func (d *decoder) carveNames(ns []string) []string {
	if len(ns) == 0 {
		return nil
	}
	if cap(d.names)-len(d.names) < len(ns) {
		d.names = make([]string, 0, max(32, len(ns)))
	}
	at := len(d.names)
	d.names = append(d.names, ns...)
	return d.names[at:len(d.names):len(d.names)]
}

// space skips JSON whitespace.
func (d *decoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// syntax returns the error for the byte at the read offset, at path p.
func (d *decoder) syntax(p int, context string) *ParseError {
	if d.i >= len(d.s) {
		return perr(d.pathString(p), ReasonSyntax, "invalid JSON: unexpected end of document")
	}
	r, _ := utf8.DecodeRuneInString(d.s[d.i:])
	return perr(d.pathString(p), ReasonSyntax, "invalid JSON at offset "+itoa(d.i)+": invalid character "+strconv.QuoteRune(r)+" "+context)
}

// value reads the value at the read offset (after whitespace); p is its
// path and depth the number of objects and arrays around it.
func (d *decoder) value(p int, depth int) (*jnode, *ParseError) {
	if d.i < len(d.s) && (d.s[d.i] == '{' || d.s[d.i] == '[') {
		return d.container(p, depth)
	}
	return d.scalar(p)
}

// container reads an object or an array.
func (d *decoder) container(p int, depth int) (*jnode, *ParseError) {
	if depth >= maxDepth {
		return nil, perr(d.pathString(p), ReasonType, "nested too deeply")
	}
	if d.s[d.i] == '{' {
		return d.object(p, depth+1)
	}
	return d.array(p, depth+1)
}

func (d *decoder) object(p int, depth int) (*jnode, *ParseError) {
	d.i++ // '{'
	n := d.node(jObject)
	base, kbase := len(d.nameStack), len(d.kidStack)
	defer func() {
		d.nameStack = d.nameStack[:base]
		d.kidStack = d.kidStack[:kbase]
	}()
	var seen map[string]struct{}
	d.space()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return n, nil
	}
	for {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, d.syntax(p, "looking for beginning of object key string")
		}
		name, err := d.str(p)
		if err != nil {
			return nil, err
		}
		names := d.nameStack[base:]
		dup := false
		if len(names) < smallSet {
			for _, x := range names {
				if x == name {
					dup = true
					break
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*smallSet)
				for _, x := range names {
					seen[x] = struct{}{}
				}
			}
			_, dup = seen[name]
			seen[name] = struct{}{}
		}
		if dup {
			return nil, perr(d.pathString(d.push(p, jseg{name: name})), ReasonDuplicate, "duplicate member "+strconv.Quote(name))
		}
		mp := d.push(p, jseg{name: name})
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, d.syntax(mp, "after object key")
		}
		d.i++
		d.space()
		v, err := d.value(mp, depth)
		if err != nil {
			return nil, err
		}
		d.nameStack = append(d.nameStack, name)
		d.kidStack = append(d.kidStack, v)
		d.space()
		if d.i < len(d.s) {
			switch d.s[d.i] {
			case ',':
				d.i++
				d.space()
				continue
			case '}':
				d.i++
				n.names = d.carveNames(d.nameStack[base:])
				n.members = d.carveKids(d.kidStack[kbase:])
				return n, nil
			}
		}
		return nil, d.syntax(p, "after object key:value pair")
	}
}

func (d *decoder) array(p int, depth int) (*jnode, *ParseError) {
	d.i++ // '['
	n := d.node(jArray)
	base := len(d.kidStack)
	defer func() { d.kidStack = d.kidStack[:base] }()
	d.space()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return n, nil
	}
	for i := 0; ; i++ {
		var v *jnode
		var err *ParseError
		if d.i < len(d.s) && (d.s[d.i] == '{' || d.s[d.i] == '[') {
			v, err = d.container(d.push(p, jseg{index: i, elem: true}), depth)
		} else {
			v, err = d.scalar(p)
		}
		if err != nil {
			return nil, err
		}
		d.kidStack = append(d.kidStack, v)
		d.space()
		if d.i < len(d.s) {
			switch d.s[d.i] {
			case ',':
				d.i++
				d.space()
				continue
			case ']':
				d.i++
				n.elems = d.carveKids(d.kidStack[base:])
				return n, nil
			}
		}
		return nil, d.syntax(p, "after array element")
	}
}

// scalar reads a string, number, boolean or null; errors are at p.
func (d *decoder) scalar(p int) (*jnode, *ParseError) {
	if d.i >= len(d.s) {
		return nil, d.syntax(p, "")
	}
	switch c := d.s[d.i]; {
	case c == '"':
		t, err := d.str(p)
		if err != nil {
			return nil, err
		}
		n := d.node(jString)
		n.text = t
		return n, nil
	case c == '-' || c >= '0' && c <= '9':
		t, err := d.number(p)
		if err != nil {
			return nil, err
		}
		n := d.node(jNumber)
		n.text = t
		return n, nil
	case c == 't':
		return d.literal(p, "true", jBool)
	case c == 'f':
		return d.literal(p, "false", jBool)
	case c == 'n':
		return d.literal(p, "null", jNull)
	}
	return nil, d.syntax(p, "looking for beginning of value")
}

func (d *decoder) literal(p int, word string, kind jkind) (*jnode, *ParseError) {
	for k := 0; k < len(word); k++ {
		if d.i >= len(d.s) || d.s[d.i] != word[k] {
			return nil, d.syntax(p, "in literal "+word)
		}
		d.i++
	}
	n := d.node(kind)
	if kind == jBool {
		n.text = word // a constant, not the document's copy
	}
	return n, nil
}

// number reads a number in JSON syntax and returns its text.
func (d *decoder) number(p int) (string, *ParseError) {
	start := d.i
	digits := func() bool {
		at := d.i
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
		}
		return d.i > at
	}
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case !digits():
		return "", d.syntax(p, "in numeric literal")
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if !digits() {
			return "", d.syntax(p, "after decimal point in numeric literal")
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if !digits() {
			return "", d.syntax(p, "in exponent of numeric literal")
		}
	}
	return d.s[start:d.i], nil
}

// str reads a string literal and returns its value: a substring of the
// document when it has no escapes.
func (d *decoder) str(p int) (string, *ParseError) {
	d.i++ // '"'
	start := d.i
	for d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], nil
		case c == '\\':
			return d.escaped(p, start)
		case c < 0x20:
			return "", d.syntax(p, "in string literal")
		default:
			d.i++
		}
	}
	return "", d.syntax(p, "")
}

// escaped reads the rest of a string literal that has an escape at the read
// offset, start being the offset of its first byte.
func (d *decoder) escaped(p int, start int) (string, *ParseError) {
	b := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c < 0x20:
			return "", d.syntax(p, "in string literal")
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		d.i++ // '\\'
		if d.i >= len(d.s) {
			break
		}
		switch e := d.s[d.i]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4(d.i + 1)
			if !ok {
				d.i++
				for k := 0; k < 4 && d.i < len(d.s) && isHexDigit(d.s[d.i]); k++ {
					d.i++
				}
				return "", d.syntax(p, "in \\u hexadecimal character escape")
			}
			d.i += 4
			if utf16.IsSurrogate(r) {
				// A pair is two escapes; anything else is U+FFFD, as
				// encoding/json decodes it.
				r2 := rune(-1)
				if d.i+2 < len(d.s) && d.s[d.i+1] == '\\' && d.s[d.i+2] == 'u' {
					r2, _ = d.hex4(d.i + 3)
				}
				if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
					r = dec
					d.i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", d.syntax(p, "in string escape code")
		}
		d.i++
	}
	return "", d.syntax(p, "")
}

// hex4 decodes the four hexadecimal digits at offset at.
func (d *decoder) hex4(at int) (rune, bool) {
	if at+4 > len(d.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(d.s[at : at+4]) {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
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
	return path + "[" + quote(name) + "]"
}

// quote returns strconv.Quote(s), without its work for the printable ASCII
// strings that names and keys nearly always are.
func quote(s string) string {
	if !plainASCII(s) {
		return strconv.Quote(s)
	}
	return `"` + s + `"`
}

// plainASCII reports whether strconv.Quote(s) is s between quotes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
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
