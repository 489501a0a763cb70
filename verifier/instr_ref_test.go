package verifier

// References of the functions rewritten to execute fewer instructions: each is the former
// definition, kept so that the differential tests beside it (instr_test.go) compare the new one
// with it.

import (
	"encoding/binary"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// wordParseARN is parseARN as it was before it took colons from a mask: eight plain characters
// (plainWord) at a time, every other character alone.
func wordParseARN(arn string) (partition, account string, ok bool) {
	if len(arn) < minRoleARNLen || len(arn) > maxRoleARNLen || !strings.HasPrefix(arn, "arn:") {
		return "", "", false
	}
	// One pass: the characters, and the first five colons of
	// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (the resource may contain colons).
	var colon [5]int
	n := 0
	for i := 0; i < len(arn); {
		// Eight plain characters at a time (no colon, nothing outside 0x20..0x7E): the
		// resource part of a role ARN is mostly such runs.
		if i+8 <= len(arn) && plainWord(binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(arn[i:]), 8))) {
			i += 8
			continue
		}
		c := arn[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(arn[i:])
			if r == utf8.RuneError && size == 1 {
				return "", "", false // invalid UTF-8
			}
			i += size
			continue
		}
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7F:
			return "", "", false
		case c == ':' && n < len(colon):
			colon[n] = i
			n++
		}
		i++
	}
	if n != len(colon) || colon[1] <= colon[0]+1 || colon[2] <= colon[1]+1 || colon[4] >= len(arn)-1 {
		return "", "", false
	}
	return arn[colon[0]+1 : colon[1]], arn[colon[3]+1 : colon[4]], true
}

// plainWord reports whether the eight bytes of w are all in 0x20..0x7E and none is a colon:
// characters wordParseARN passes over without a look. (lanes01 and lanes80 are json.go's.)
func plainWord(w uint64) bool {
	// A lane is flagged when its byte is below 0x20, is 0x7F or ':' (zero after the XOR), or
	// has its high bit set. The borrow trick may flag a lane above a flagged one, never one
	// when none is: the answer for the word is exact.
	below := (w - 0x20*lanes01) &^ w
	del := w ^ 0x7F*lanes01
	col := w ^ ':'*lanes01
	return (below|(del-lanes01)&^del|(col-lanes01)&^col|w)&lanes80 == 0
}

// refNumericDate is numericDate as it was before it read eight digits at once: it parses a
// NumericDate, a JSON number of whole seconds, optionally with a fraction, between
// minNumericDate and maxNumericDate. Strings, booleans, negative numbers, zero and
// exponent notation are refused; a fraction below a nanosecond is dropped.
func refNumericDate(data []byte, sp span) (time.Time, bool) {
	if sp.kind != kindNumber {
		return time.Time{}, false
	}
	b := data[sp.start:sp.end]
	var sec int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i == 12 { // more digits than maxNumericDate has
			return time.Time{}, false
		}
		sec = sec*10 + int64(b[i]-'0')
	}
	var nsec int64
	if i < len(b) && b[i] == '.' {
		i++
		scale := int64(100000000)
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			nsec += int64(b[i]-'0') * scale
			scale /= 10
		}
	}
	if i != len(b) || sec < minNumericDate || sec > maxNumericDate {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec), true
}

// refDigits is scanner.digits as it was before it read eight bytes at a time.
func refDigits(s *scanner) int {
	n := 0
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}

// refSubjectLengthOK is subjectLengthOK as it was before the byte count could decide: sub has 1..255 characters once unescaped.
func refSubjectLengthOK(data []byte, sp span) bool {
	raw := data[sp.start:sp.end]
	if sp.esc {
		raw = unescape(nil, raw)
	}
	n := utf8.RuneCount(raw)
	return n >= minSubject && n <= maxSubject
}
