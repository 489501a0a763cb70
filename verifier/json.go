package verifier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict RFC 8259 reader, written for the two small objects of a JWT. It never builds a tree:
// the caller walks the members of the top-level object, keeps the spans of the values it wants
// and lets the scanner validate and skip the rest. It refuses everything a lenient decoder lets
// through and an attacker could use to make two parsers disagree: duplicate member names
// (compared after unescaping), invalid UTF-8, lone surrogates, control characters, leading
// zeros, trailing data.
//
// Duplicate names are found by comparing each name with the earlier names of its object while
// the object has at most smallObject members, and beyond that with one hash table per document
// (see nameSet), so the work is linear in the size of the document however many members its
// objects have and however their names are escaped: the reader runs before any signature is
// checked.

// Limits that keep the work per token bounded.
const (
	maxDepth   = 16  // nesting of arrays and objects
	maxMembers = 256 // members in one object
)

var (
	errSyntax      = errors.New("verifier: invalid JSON")
	errDuplicate   = errors.New("verifier: duplicate JSON member")
	errTooDeep     = errors.New("verifier: JSON nested too deeply")
	errTooWide     = errors.New("verifier: JSON object has too many members")
	errNumberRange = errors.New("verifier: JSON number out of the range of a float64")
)

// kind is the type of a JSON value.
type kind uint8

const (
	kindNone kind = iota
	kindString
	kindNumber
	kindBool
	kindNull
	kindArray
	kindObject
)

// span is a value (or member name) inside the scanned data: for strings, start and end exclude
// the quotes; esc reports whether the string contains escapes, and for an array whether an
// element is not a string (see stringsOnly). The four fields keep it small enough for the
// compiler to hold in registers (it does not for structs of more than four fields).
type span struct {
	start, end int32 // tokens are at most 20,000 bytes
	kind       kind
	esc        bool
}

// stringsOnly reports whether sp is an array whose elements are all strings (an empty one
// included), as the reader found while it read the array.
func (sp span) stringsOnly() bool { return sp.kind == kindArray && !sp.esc }

// member is one member of an object: its name and its value.
type member struct {
	name span
	span
}

// scanner reads one JSON text.
type scanner struct {
	data []byte
	pos  int
}

// objectReader walks the members of a top-level object. It is large (it remembers every member
// name of the document, for duplicate detection), so the hot path keeps one in pooled scratch
// memory.
type objectReader struct {
	scanner
	names    nameSet
	topNames objNames // the names of the top-level object
	// nested[d] holds the names of the object open at depth d (at most one is): kept here
	// rather than on object's stack, which would zero all of it for every object.
	nested [maxDepth + 1]objNames
	top    int32 // offset of the top-level object's opening brace
	count  int   // members of the top-level object read so far
}

func (s *objectReader) reset(data []byte) {
	s.data, s.pos, s.count = data, 0, 0
	s.topNames.n, s.topNames.bloom = 0, 0
	s.names.begin()
}

// skipSpace skips whitespace; compact JSON, the common case, has none, so the first byte is
// tested before the loop.
func (s *scanner) skipSpace() {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return
	}
	s.skipSpaceLoop()
}

func (s *scanner) skipSpaceLoop() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// beginObject consumes the opening brace of the top-level object.
func (s *objectReader) beginObject() error {
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return errSyntax
	}
	s.top = int32(s.pos)
	s.pos++
	return nil
}

// nextMember reads the next member of the top-level object and validates its value. At the end
// of the object it checks that nothing but whitespace follows and returns more == false.
func (s *objectReader) nextMember() (m member, more bool, err error) {
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
	if !s.addSmall(&s.topNames, m.name) {
		if err = s.names.add(s.data, s.top, &s.topNames, m.name); err != nil {
			return m, false, err
		}
	}
	if s.count == maxMembers {
		return m, false, errTooWide
	}
	s.count++
	if s.pos < len(s.data) && s.data[s.pos] == '"' { // value's first case, without its call
		m.span, err = s.str()
	} else {
		m.span, err = s.value(1)
	}
	if err != nil {
		return m, false, err
	}
	return m, true, nil
}

func (s *objectReader) end() error {
	s.pos++
	s.skipSpace()
	if s.pos != len(s.data) {
		return errSyntax
	}
	return nil
}

// memberName reads `"name" :` and returns the name's span. The common name, which str's fast
// path would read (no escape, no byte outside 0x20..0x7F, eight bytes of data from each word it
// loads) and is followed by its colon at once, it reads here and returns; for every other one
// memberNameSlow starts again from the opening quote, as nothing has been consumed.
func (s *scanner) memberName() (span, error) {
	d := s.data
	pos := s.pos
	if pos < 0 || pos >= len(d) || d[pos] != '"' {
		return span{}, errSyntax
	}
	pos++
	start := pos
	// pos >= 0 and pos <= len(d)-8: d[pos:pos+8] is within d.
	for last := len(d) - 8; pos <= last; pos += 8 {
		if m := specialBytes(binary.LittleEndian.Uint64(d[pos : pos+8])); m != 0 {
			pos += bits.TrailingZeros64(m) >> 3 // the first byte that needs a look
			if d[pos] == '"' && pos+1 < len(d) && d[pos+1] == ':' {
				s.pos = pos + 2
				if pos+2 >= len(d) || d[pos+2] <= ' ' { // skipSpace, its first test on locals
					s.skipSpaceLoop()
				}
				return span{start: int32(start), end: int32(pos), kind: kindString}, nil
			}
			break
		}
	}
	return s.memberNameSlow()
}

// memberNameSlow is memberName for every name: str, then the colon, perhaps after whitespace.
func (s *scanner) memberNameSlow() (span, error) {
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

// value reads and validates one value at the current position.
func (s *objectReader) value(depth int) (span, error) {
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

func (s *scanner) literal(lit string, k kind) (span, error) {
	start := s.pos
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return span{}, errSyntax
	}
	s.pos += len(lit)
	return span{start: int32(start), end: int32(s.pos), kind: k}, nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and refuses a number whose
// magnitude is beyond float64 (1E400): RFC 7493 (I-JSON) section 2.2 asks for numbers within
// IEEE 754 double precision, and encoding/json, jwx and every other consumer of Token.Claims
// would fail to decode the payload we accepted. Precision loss is not refused.
func (s *scanner) number() (span, error) {
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

// digits skips the ASCII digits at the current position and returns how many there were.
func (s *scanner) digits() int {
	n := digitRun(s.data, s.pos)
	s.pos += n
	return n
}

// digitRun returns the number of ASCII digits at d[pos:]'s start, eight at a time (see
// nonDigitLanes) while eight bytes are left.
func digitRun(d []byte, pos int) int {
	start := pos
	if pos < 0 { // cannot happen; lets the compiler drop the loads' bounds checks
		return 0
	}
	for last := len(d) - 8; pos <= last; pos += 8 {
		if m := nonDigitLanes(binary.LittleEndian.Uint64(d[pos : pos+8])); m != 0 {
			return pos + bits.TrailingZeros64(m)>>3 - start
		}
	}
	for pos < len(d) && d[pos] >= '0' && d[pos] <= '9' {
		pos++
	}
	return pos - start
}

// nonDigitLanes returns a mask with the high bit set in the lane of each byte of w that is not
// an ASCII digit, and only there. With l = c&0x7F, l+0x50 reaches 0x80 exactly when l >= '0'
// and l+0x46 exactly when l > '9'; neither sum exceeds 0xFF, so no lane carries into the next,
// and a byte with its high bit set is flagged by itself.
func nonDigitLanes(w uint64) uint64 {
	l := w &^ lanes80
	return (w | ^(l + 0x50*lanes01) | (l + 0x46*lanes01)) & lanes80
}

// str reads a string starting at its opening quote and returns the span of its contents. It
// skips eight bytes at a time while none of them needs a look (see specialBytes), the last
// few bytes of the data included; when the first byte that does is the closing quote, as it
// is for most strings of a JWT, it returns at once, and otherwise strTail reads on from
// there. The fast path calls nothing, so it keeps everything in registers.
func (s *scanner) str() (span, error) {
	d := s.data
	pos := s.pos + 1 // after the opening quote
	if pos < 1 {     // cannot happen (s.pos >= 0); lets the compiler drop the loads' bounds checks
		return span{}, errSyntax
	}
	start := pos
	// pos >= 0 and pos <= len(d)-8: d[pos:pos+8] is within d.
	for last := len(d) - 8; pos <= last; pos += 8 {
		if m := specialBytes(binary.LittleEndian.Uint64(d[pos : pos+8])); m != 0 {
			pos += bits.TrailingZeros64(m) >> 3 // the first byte that needs a look
			if d[pos] == '"' {
				s.pos = pos + 1
				return span{start: int32(start), end: int32(pos), kind: kindString}, nil
			}
			return s.strTail(start, pos)
		}
	}
	// Fewer than eight bytes left (the string ends the document, as a header's last value
	// does): the last eight bytes of d, shifted down so that d[pos] is the lowest. The lanes
	// shifted in are zero, a byte specialBytes flags, so the first flagged lane is that of the
	// first byte from pos that needs a look, or the end of d.
	if n := len(d) - pos; n > 0 && len(d) >= 8 {
		w := binary.LittleEndian.Uint64(d[len(d)-8:]) >> (8 * (8 - n))
		if p := pos + bits.TrailingZeros64(specialBytes(w))>>3; p < len(d) && d[p] == '"' {
			s.pos = p + 1
			return span{start: int32(start), end: int32(p), kind: kindString}, nil
		}
	}
	return s.strTail(start, pos)
}

// strTail is str from pos on, the bytes from start to pos being plain (no quote, backslash,
// control character or byte above 0x7F): it reads escapes, multi-byte characters and the last
// few bytes of the data one at a time, and goes back to eight bytes at a time after each.
func (s *scanner) strTail(start, pos int) (span, error) {
	d := s.data
	sp := span{start: int32(start), kind: kindString}
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

// Byte-lane constants of specialBytes.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// specialBytes returns a mask with the high bit set in the lane of the first byte of w (little
// endian) that is a quote, a backslash, a control character or not ASCII, and zero when none
// is. Lanes above the first such byte may be set too, never below it. In a lane below it the
// byte c is in 0x20..0x7F and neither quote nor backslash, so c-0x20, c^'"'-1 and c^'\\'-1
// are all below 0x80 and none of the subtractions borrows into the next lane; in its lane one
// of them is 0x80 or above (a control character wraps around, a quote or a backslash gives
// 0-1), or c is.
func specialBytes(w uint64) uint64 {
	q := w ^ (lanes01 * '"')
	b := w ^ (lanes01 * '\\')
	return (w | (w - lanes01*0x20) | (q - lanes01) | (b - lanes01)) & lanes80
}

// plainASCII marks the bytes a string may contain as they are: printable ASCII but the quote
// and the backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escapeLen validates the escape sequence at the start of b (which begins with a backslash) and
// returns its length. A \u escape of a high surrogate must be followed by one of a low
// surrogate; lone surrogates are refused.
func escapeLen(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errSyntax
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, errSyntax
		}
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
				return 0, errSyntax
			}
			r2, ok := hex4(b[8:])
			if !ok || r2 < 0xDC00 || r2 >= 0xE000 {
				return 0, errSyntax
			}
			return 12, nil
		case r >= 0xDC00 && r < 0xE000:
			return 0, errSyntax
		}
		return 6, nil
	}
	return 0, errSyntax
}

// hex4 decodes the four hex digits at the start of b.
func hex4[T string | []byte](b T) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	d0, d1, d2, d3 := hexDigit[b[0]], hexDigit[b[1]], hexDigit[b[2]], hexDigit[b[3]]
	if (d0|d1|d2|d3)&0x80 != 0 {
		return 0, false
	}
	return rune(d0)<<12 | rune(d1)<<8 | rune(d2)<<4 | rune(d3), true
}

// hexDigit maps a hex digit to its value and every other byte to 0xFF.
var hexDigit = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9':
			t[c] = byte(c - '0')
		case c >= 'a' && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		default:
			t[c] = 0xFF
		}
	}
	return t
}()

// object reads a nested object, checking its member names for duplicates.
func (s *objectReader) object(depth int) (span, error) {
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
	names := &s.nested[depth]
	names.n, names.bloom = 0, 0
	for {
		name, err := s.memberName()
		if err != nil {
			return span{}, err
		}
		if !s.addSmall(names, name) {
			if err := s.names.add(s.data, int32(start), names, name); err != nil {
				return span{}, err
			}
		}
		if count == maxMembers {
			return span{}, errTooWide
		}
		count++
		// value's first case without its call, as in nextMember (a function shared by the two
		// would cost 158 against the inliner's budget of 80, and be a call again).
		if s.pos < len(s.data) && s.data[s.pos] == '"' {
			_, err = s.str()
		} else {
			_, err = s.value(depth)
		}
		if err != nil {
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

// array reads a nested array.
func (s *objectReader) array(depth int) (span, error) {
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

// smallObject is the number of members an object may have before its names go into the hash
// table: up to there, a name is compared with the earlier names of its object, of the same
// length, which for the small objects of a JWT is cheaper than hashing it. The work stays
// linear: at most smallObject-1 comparisons per name.
const smallObject = 8

// objNames holds the names of one object while it has at most smallObject members.
type objNames struct {
	n     int    // names recorded; smallObject+1 once they are in the nameSet's hash table
	bloom uint64 // bit keyBit(k) is set for the key k of each name recorded
	refs  [smallObject]nameRef
	keys  [smallObject]nameKey
}

// keyBit returns the bit of bloom that stands for k: names whose bits are clear in bloom have
// no key among the recorded ones, and need no comparison.
func keyBit(k nameKey) uint64 {
	return 1 << ((k.prefix ^ uint64(k.n)) * 0x9E3779B97F4A7C15 >> 58)
}

// nameRef is a member name: data[off:end] of the document, or text[^off:end] of the nameSet
// when off < 0 (an escaped name, unescaped).
type nameRef struct {
	off, end int32
}

// nameKey is what two names are compared by before their bytes: the length and the first 8
// bytes, which for names of up to 8 bytes (most of a JWT's) decide equality.
type nameKey struct {
	n      int
	prefix uint64
}

// keyOf returns the nameKey of b.
func keyOf(b []byte) nameKey {
	k := nameKey{n: len(b)}
	if len(b) >= 8 {
		k.prefix = binary.LittleEndian.Uint64(b)
	} else {
		for i, c := range b {
			k.prefix |= uint64(c) << (8 * i)
		}
	}
	return k
}

// nameSet remembers the member names of one document, each with the object it belongs to, to
// find duplicates in constant expected time per name in objects of more than smallObject
// members. It is an open-addressing table with linear probing, sized when a document first
// needs it for the most names the document can hold (so it is at most half full and never
// grows), indexed by a hash with a per-process random seed (so that a token cannot be crafted
// to make names collide). Escaped names are unescaped once, into text; names are compared
// byte for byte only when they land on the same slot and belong to the same object. Slots are
// stamped with the document's generation, so a new document starts with an empty table
// without clearing it.
type nameSet struct {
	inline [128]nameSlot // enough for most tokens, without an allocation of its own
	heap   []nameSlot    // for documents with more names; kept for reuse
	size   int           // slots used for the current document, a power of two; 0 until needed
	n      int           // names of the current document in the table
	gen    uint32        // the current document; slots of other generations are empty
	text   []byte        // the unescaped escaped names of the current document
}

// nameSlot is one entry of a nameSet's table.
type nameSlot struct {
	gen uint32
	obj int32 // offset of the opening brace of the object the name belongs to
	nameRef
}

// nameSeed keys the hash of member names.
var nameSeed = maphash.MakeSeed()

// begin empties the set for a new document.
func (t *nameSet) begin() {
	t.gen++
	if t.gen == 0 { // wrapped around: stamps of old documents could be taken for current
		clear(t.inline[:])
		clear(t.heap[:cap(t.heap)])
		t.gen = 1
	}
	t.n, t.size, t.text = 0, 0, t.text[:0]
}

// sizeTable sizes the table for the document data, to at least twice the number of member
// names data can hold: each name takes a colon and at least four bytes ("":0).
func (t *nameSet) sizeTable(data []byte) {
	most := min(bytes.Count(data, []byte{':'}), len(data)/4)
	t.size = len(t.inline)
	for t.size < 2*most {
		t.size *= 2
	}
	if t.size > len(t.inline) && cap(t.heap) < t.size {
		t.heap = make([]nameSlot, t.size)
	}
}

// addSmall does what add does for the common case, and reports whether name was one: an
// unescaped name in an object of at most smallObject members, not among the last 8 bytes of
// the data (a name is followed by at least its quote, a colon, a value and a brace), whose key
// differs from the keys of the object's earlier names. Its key is then one 8-byte load from the
// name's start, masked to the name's length: the bytes beyond the name are cleared, which leaves
// exactly the key keyOf builds byte by byte. The keys are compared only when the name's bit
// in the object's bloom mask is set (add sets the bits too). For every other name, a key
// shared with an earlier name included (a duplicate, or for names of more than 8 bytes
// perhaps not), it records nothing and add decides. It calls nothing, so that it keeps its
// values in registers.
func (s *objectReader) addSmall(o *objNames, name span) bool {
	d := s.data
	n := o.n
	start, end := int(name.start), int(name.end)
	if name.esc || n >= smallObject || start < 0 || start > len(d)-8 {
		return false
	}
	w := binary.LittleEndian.Uint64(d[start : start+8])
	l := end - start
	if l < 8 {
		w &= 1<<(8*uint(l)) - 1 // l == 0 clears all: 1<<0 - 1
	}
	k := nameKey{n: l, prefix: w}
	bit := keyBit(k)
	if o.bloom&bit != 0 { // perhaps an earlier name's key: compare
		for i := range n {
			if o.keys[i] == k {
				return false
			}
		}
	}
	o.refs[n], o.keys[n] = nameRef{off: name.start, end: name.end}, k
	o.n = n + 1
	o.bloom |= bit
	return true
}

// add records name as a member of the object o whose opening brace is at offset obj in data,
// and reports errDuplicate if that object already has a member of the same name, compared
// after unescaping.
func (t *nameSet) add(data []byte, obj int32, o *objNames, name span) error {
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
		o.bloom |= keyBit(k)
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

// insert adds the name ref, whose bytes are b, of the object at obj to the table, or reports
// errDuplicate.
func (t *nameSet) insert(data []byte, obj int32, ref nameRef, b []byte) error {
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
			*sl = nameSlot{gen: t.gen, obj: obj, nameRef: ref}
			t.n++
			return nil
		}
		if sl.obj == obj && bytes.Equal(t.name(data, sl.nameRef), b) {
			return errDuplicate
		}
		i = (i + 1) & mask
	}
}

// name returns the unescaped name ref denotes.
func (t *nameSet) name(data []byte, r nameRef) []byte {
	if r.off < 0 {
		return t.text[^r.off:r.end]
	}
	return data[r.off:r.end]
}

// nameEquals reports whether the member's name, unescaped, is name.
func (s *objectReader) nameEquals(m member, name string) bool {
	raw := s.data[m.name.start:m.name.end]
	if !m.name.esc {
		return string(raw) == name
	}
	var b [64]byte
	return string(unescape(b[:0], raw)) == name
}

// unescape appends the unescaped form of a validated string's contents to dst.
func unescape[T string | []byte](dst []byte, raw T) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i+2 : i+6])
			if r < utf8.RuneSelf {
				dst = append(dst, byte(r))
				i += 6
				continue
			}
			if r >= 0xD800 && r < 0xDC00 {
				r2, _ := hex4(raw[i+8 : i+12])
				dst = utf8.AppendRune(dst, utf16.DecodeRune(r, r2))
				i += 12
				continue
			}
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

// stringValue returns the unescaped string a string span of text denotes, as a substring of
// text when it has no escapes, so that the common case does not allocate.
func stringValue(text string, sp span) string {
	if !sp.esc {
		return text[sp.start:sp.end]
	}
	return string(unescape(nil, text[sp.start:sp.end]))
}

// stringArray calls f for each element of the array at sp, which must contain only strings.
// It reports false if an element is not a string.
func stringArray(data []byte, sp span, f func(span)) bool {
	s := scanner{data: data[:sp.end], pos: int(sp.start) + 1}
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		return true
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return false
		}
		el, err := s.str()
		if err != nil {
			return false
		}
		if f != nil {
			f(el)
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return false
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case ']':
			return true
		default:
			return false
		}
	}
}
