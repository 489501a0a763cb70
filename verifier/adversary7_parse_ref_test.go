package verifier

// The JSON reader, parseClaims and parseHeader as they were at c8d4bd1 (before today's
// instruction cuts: memberName's fast path, addSmall and its bloom mask, str's last-word load,
// the readers' nested names, digitRun, eightDigits), renamed with an o7 prefix, so that the
// adversary's differential tests (adversary7_parse_test.go) compare today's parse with the
// former one on documents the helper's tests did not generate. Helpers the changes left as they
// were (specialBytes, escapeLen, keyOf, unescape, claimIndex, headerAlg, ...) are shared.

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

type o7Scanner struct {
	data []byte
	pos  int
}

type o7Reader struct {
	o7Scanner
	names    o7NameSet
	topNames o7ObjNames // the names of the top-level object
	top      int32      // offset of the top-level object's opening brace
	count    int        // members of the top-level object read so far
}

func (s *o7Reader) reset(data []byte) {
	s.data, s.pos, s.count = data, 0, 0
	s.topNames.n = 0
	s.names.begin()
}

func (s *o7Scanner) skipSpace() {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return
	}
	s.skipSpaceLoop()
}

func (s *o7Scanner) skipSpaceLoop() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *o7Reader) beginObject() error {
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return errSyntax
	}
	s.top = int32(s.pos)
	s.pos++
	return nil
}

func (s *o7Reader) nextMember() (m member, more bool, err error) {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return m, false, errSyntax
	}
	if s.count == 0 {
		if s.data[s.pos] == '}' {
			return m, false, s.end()
		}
	} else {
		switch s.data[s.pos] {
		case '}':
			return m, false, s.end()
		case ',':
			s.pos++
			s.skipSpace()
		default:
			return m, false, errSyntax
		}
	}
	if m.name, err = s.memberName(); err != nil {
		return m, false, err
	}
	if err = s.names.add(s.data, s.top, &s.topNames, m.name); err != nil {
		return m, false, err
	}
	if s.count == maxMembers {
		return m, false, errTooWide
	}
	s.count++
	if m.span, err = s.value(1); err != nil {
		return m, false, err
	}
	return m, true, nil
}

func (s *o7Reader) end() error {
	s.pos++
	s.skipSpace()
	if s.pos != len(s.data) {
		return errSyntax
	}
	return nil
}

func (s *o7Scanner) memberName() (span, error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return span{}, errSyntax
	}
	name, err := s.str()
	if err != nil {
		return span{}, err
	}
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return span{}, errSyntax
		}
	}
	s.pos++
	s.skipSpace()
	return name, nil
}

func (s *o7Reader) value(depth int) (span, error) {
	if s.pos >= len(s.data) {
		return span{}, errSyntax
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == 't':
		return s.literal("true", kindBool)
	case c == 'f':
		return s.literal("false", kindBool)
	case c == 'n':
		return s.literal("null", kindNull)
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return span{}, errSyntax
}

func (s *o7Scanner) literal(lit string, k kind) (span, error) {
	start := s.pos
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return span{}, errSyntax
	}
	s.pos += len(lit)
	return span{start: int32(start), end: int32(s.pos), kind: k}, nil
}

func (s *o7Scanner) number() (span, error) {
	start := s.pos
	d := s.data
	if s.pos < len(d) && d[s.pos] == '-' {
		s.pos++
	}
	intDigits := 0
	switch {
	case s.pos < len(d) && d[s.pos] == '0':
		s.pos++
	case s.pos < len(d) && d[s.pos] >= '1' && d[s.pos] <= '9':
		intDigits = s.digits()
	default:
		return span{}, errSyntax
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return span{}, errSyntax
		}
	}
	exp := false
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		exp = true
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return span{}, errSyntax
		}
	}
	// Only an exponent or more than 308 integer digits can leave float64's range; the common
	// number (a date, a port) costs no parse here.
	if exp || intDigits > 308 {
		if _, err := strconv.ParseFloat(string(d[start:s.pos]), 64); err != nil {
			return span{}, errNumberRange
		}
	}
	return span{start: int32(start), end: int32(s.pos), kind: kindNumber}, nil
}

func (s *o7Scanner) digits() int {
	n := 0
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}

func (s *o7Scanner) str() (span, error) {
	d := s.data
	pos := s.pos + 1 // after the opening quote
	sp := span{start: int32(pos), kind: kindString}
	for {
		for len(d)-pos >= 8 {
			if m := specialBytes(binary.LittleEndian.Uint64(d[pos:])); m != 0 {
				pos += bits.TrailingZeros64(m) >> 3
				break
			}
			pos += 8
		}
		if pos >= len(d) {
			s.pos = pos
			return span{}, errSyntax
		}
		c := d[pos]
		switch {
		case c == '"':
			sp.end = int32(pos)
			s.pos = pos + 1
			return sp, nil
		case plainASCII[c]: // within the last 8 bytes
			pos++
		case c == '\\':
			sp.esc = true
			n, err := escapeLen(d[pos:])
			if err != nil {
				s.pos = pos
				return span{}, err
			}
			pos += n
		case c < 0x20:
			s.pos = pos
			return span{}, errSyntax
		default:
			r, n := utf8.DecodeRune(d[pos:])
			if r == utf8.RuneError && n <= 1 {
				s.pos = pos
				return span{}, errSyntax
			}
			pos += n
		}
	}
}

func (s *o7Reader) object(depth int) (span, error) {
	if depth > maxDepth {
		return span{}, errTooDeep
	}
	start := s.pos
	s.pos++
	count := 0
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return span{start: int32(start), end: int32(s.pos), kind: kindObject}, nil
	}
	var names o7ObjNames
	for {
		name, err := s.memberName()
		if err != nil {
			return span{}, err
		}
		if err := s.names.add(s.data, int32(start), &names, name); err != nil {
			return span{}, err
		}
		if count == maxMembers {
			return span{}, errTooWide
		}
		count++
		if _, err := s.value(depth); err != nil {
			return span{}, err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return span{}, errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case '}':
			s.pos++
			return span{start: int32(start), end: int32(s.pos), kind: kindObject}, nil
		default:
			return span{}, errSyntax
		}
	}
}

func (s *o7Reader) array(depth int) (span, error) {
	if depth > maxDepth {
		return span{}, errTooDeep
	}
	start := s.pos
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return span{start: int32(start), end: int32(s.pos), kind: kindArray}, nil
	}
	other := false // an element that is not a string
	for {
		other = other || s.pos >= len(s.data) || s.data[s.pos] != '"'
		if _, err := s.value(depth); err != nil {
			return span{}, err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return span{}, errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case ']':
			s.pos++
			return span{start: int32(start), end: int32(s.pos), kind: kindArray, esc: other}, nil
		default:
			return span{}, errSyntax
		}
	}
}

type o7ObjNames struct {
	n    int // names recorded; smallObject+1 once they are in the o7NameSet's hash table
	refs [smallObject]nameRef
	keys [smallObject]nameKey
}

type o7NameSet struct {
	inline [128]o7NameSlot // enough for most tokens, without an allocation of its own
	heap   []o7NameSlot    // for documents with more names; kept for reuse
	size   int             // slots used for the current document, a power of two; 0 until needed
	n      int             // names of the current document in the table
	gen    uint32          // the current document; slots of other generations are empty
	text   []byte          // the unescaped escaped names of the current document
}

type o7NameSlot struct {
	gen uint32
	obj int32 // offset of the opening brace of the object the name belongs to
	nameRef
}

func (t *o7NameSet) begin() {
	t.gen++
	if t.gen == 0 { // wrapped around: stamps of old documents could be taken for current
		clear(t.inline[:])
		clear(t.heap[:cap(t.heap)])
		t.gen = 1
	}
	t.n, t.size, t.text = 0, 0, t.text[:0]
}

func (t *o7NameSet) sizeTable(data []byte) {
	most := min(bytes.Count(data, []byte{':'}), len(data)/4)
	t.size = len(t.inline)
	for t.size < 2*most {
		t.size *= 2
	}
	if t.size > len(t.inline) && cap(t.heap) < t.size {
		t.heap = make([]o7NameSlot, t.size)
	}
}

func (t *o7NameSet) add(data []byte, obj int32, o *o7ObjNames, name span) error {
	ref := nameRef{off: name.start, end: name.end}
	var b []byte
	if name.esc {
		start := len(t.text)
		t.text = unescape(t.text, data[name.start:name.end])
		b = t.text[start:]
		ref = nameRef{off: ^int32(start), end: int32(len(t.text))}
	} else {
		b = data[name.start:name.end]
	}
	if o.n < smallObject {
		k := keyOf(b)
		for i, ki := range o.keys[:o.n] {
			if ki == k && (k.n <= 8 || bytes.Equal(t.name(data, o.refs[i]), b)) {
				return errDuplicate
			}
		}
		o.refs[o.n], o.keys[o.n] = ref, k
		o.n++
		return nil
	}
	if o.n == smallObject { // the object outgrows the comparisons: its names go to the table
		if t.size == 0 {
			t.sizeTable(data)
		}
		for _, r := range o.refs {
			if err := t.insert(data, obj, r, t.name(data, r)); err != nil {
				return err
			}
		}
		o.n++
	}
	return t.insert(data, obj, ref, b)
}

func (t *o7NameSet) insert(data []byte, obj int32, ref nameRef, b []byte) error {
	if t.n >= t.size/2 { // cannot happen (see sizeTable); a full table would make the probe loop spin
		return errTooWide
	}
	slots := t.inline[:]
	if t.size > len(t.inline) {
		slots = t.heap[:t.size]
	}
	mask := uint64(t.size - 1)
	i := (maphash.Bytes(nameSeed, b) ^ uint64(obj)*0x9E3779B97F4A7C15) & mask
	for {
		sl := &slots[i]
		if sl.gen != t.gen {
			*sl = o7NameSlot{gen: t.gen, obj: obj, nameRef: ref}
			t.n++
			return nil
		}
		if sl.obj == obj && bytes.Equal(t.name(data, sl.nameRef), b) {
			return errDuplicate
		}
		i = (i + 1) & mask
	}
}

func (t *o7NameSet) name(data []byte, r nameRef) []byte {
	if r.off < 0 {
		return t.text[^r.off:r.end]
	}
	return data[r.off:r.end]
}

// o7ParseClaims is parseClaims at c8d4bd1, over the former reader, with the former numericDate
// (refNumericDate) and subjectLengthOK (refSubjectLengthOK).
func o7ParseClaims(r *o7Reader, data []byte) (claims, *Error) {
	var c claims
	r.reset(data)
	if err := r.beginObject(); err != nil {
		return c, newError(ReasonClaimsMalformed, err)
	}
	for {
		m, more, err := r.nextMember()
		if err != nil {
			return c, newError(ReasonClaimsMalformed, err)
		}
		if !more {
			break
		}
		var nb [48]byte
		id := claimIndex(memberName(nb[:0], data, m))
		if id == claimCount {
			continue
		}
		c.spans[id] = m.span
		var ok bool
		switch id {
		case cIss, cAzp:
			ok = m.kind == kindString
		case cSub:
			ok = m.kind == kindString && refSubjectLengthOK(data, m.span)
		case cAud, cAmr:
			ok = m.kind == kindString || m.stringsOnly()
		case cExp:
			c.exp, ok = refNumericDate(data, m.span)
		case cNbf:
			c.nbf, ok = refNumericDate(data, m.span)
		case cIat:
			c.iat, ok = refNumericDate(data, m.span)
		default:
			ok = true
		}
		if !ok {
			return c, errorf(ReasonClaimsMalformed, "claim "+claimNames[id]+" has a wrong type or value")
		}
	}
	for _, id := range [...]claimID{cIss, cSub, cExp} {
		if c.spans[id].kind == kindNone {
			return c, errorf(ReasonMissingClaim, "claim "+claimNames[id]+" is missing")
		}
	}
	return c, nil
}

// o7ParseHeader is parseHeader at c8d4bd1, over the former reader.
func o7ParseHeader(r *o7Reader, data []byte) (header, *Error) {
	h := header{alg: -1}
	r.reset(data)
	if err := r.beginObject(); err != nil {
		return h, newError(ReasonHeaderMalformed, err)
	}
	for {
		m, more, err := r.nextMember()
		if err != nil {
			return h, newError(ReasonHeaderMalformed, err)
		}
		if !more {
			break
		}
		var nb [16]byte
		switch string(memberName(nb[:0], data, m)) {
		case "alg":
			if m.kind != kindString {
				return h, errorf(ReasonHeaderMalformed, "alg is not a string")
			}
			var vb [16]byte
			var name []byte
			if m.esc {
				name = unescape(vb[:0], data[m.start:m.end])
			} else {
				name = data[m.start:m.end]
			}
			h.hasAlg = true
			h.alg = headerAlg(name)
		case "kid":
			if m.kind != kindString {
				return h, errorf(ReasonHeaderMalformed, "kid is not a string")
			}
			h.kid = m.span
		case "typ":
			if m.kind != kindString {
				return h, errorf(ReasonHeaderMalformed, "typ is not a string")
			}
			h.typ = m.span
		case "crit", "b64", "zip", "enc", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
			"cty", "jku", "x5u", "x5c", "jwk":
			return h, errorf(ReasonHeaderForbidden, "header member not allowed")
		}
	}
	if !h.hasAlg {
		return h, errorf(ReasonAlgorithm, "alg is missing")
	}
	if h.alg < 0 {
		return h, errorf(ReasonAlgorithm, "alg is not supported")
	}
	return h, nil
}
