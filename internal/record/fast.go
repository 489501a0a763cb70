package record

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Decoding records fast.
//
// json.Unmarshal costs about 5 µs per role record: it scans the record once
// to validate it and again to decode it through reflection, and unquotes the
// trust policy's escapes (its line breaks and quotes) on the way. At 200,000
// roles that is a second of CPU at every start. The records json.Marshal
// wrote have one shape: no white space, keys spelled as the struct tags,
// strings of valid UTF-8 with the control characters escaped, unsigned
// integers without leading zeros. fastRole and fastProvider decode exactly
// that shape (keys in any order, each at most once) and report false for
// anything else: then the caller
// decodes with json.Unmarshal, which either gives the same record or fails.
// So a record decodes to what json.Unmarshal gives, whichever path it takes
// (FuzzFastRecord checks it).

// fastRole decodes a role record of the canonical shape.
func fastRole(b []byte) (Role, bool) {
	var rec Role
	d := decoder{b: b}
	ok := d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "v":
			rec.V, ok = d.int()
		case "revision":
			rec.Revision, ok = d.uint()
		case "arn":
			rec.ARN, ok = d.str()
		case "roleID":
			rec.RoleID, ok = d.str()
		case "trustPolicyDocument":
			rec.TrustPolicyDocument, ok = d.str()
		case "maxSessionDurationSeconds":
			var n int
			n, ok = d.int()
			rec.MaxSessionDurationSeconds = int64(n)
		case "description":
			rec.Description, ok = d.str()
		case "tags":
			rec.Tags, ok = d.tags()
		case "createDate":
			var raw []byte
			if raw, ok = d.quoted(); ok {
				ok = rec.CreateDate.UnmarshalJSON(raw) == nil
			}
		}
		return ok
	})
	return rec, ok && d.i == len(b)
}

// fastProvider decodes a provider record of the canonical shape.
func fastProvider(b []byte) (Provider, bool) {
	var rec Provider
	d := decoder{b: b}
	ok := d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "v":
			rec.V, ok = d.int()
		case "revision":
			rec.Revision, ok = d.uint()
		case "arn":
			rec.ARN, ok = d.str()
		case "url":
			rec.URL, ok = d.str()
		case "clientIDs":
			rec.ClientIDs, ok = d.strs()
		case "thumbprints":
			rec.Thumbprints, ok = d.strs()
		case "tags":
			rec.Tags, ok = d.tags()
		case "createDate":
			var raw []byte
			if raw, ok = d.quoted(); ok {
				ok = rec.CreateDate.UnmarshalJSON(raw) == nil
			}
		}
		return ok
	})
	return rec, ok && d.i == len(b)
}

// decoder reads the canonical shape from b at i. Every method reports false
// for anything outside it.
type decoder struct {
	b []byte
	i int
}

// next consumes c if it is the next byte.
func (d *decoder) next(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads {"key":value,...}, calling field for each key to read its
// value. A key may come once (json.Unmarshal's handling of a repeated one
// is not worth copying).
func (d *decoder) object(field func(key []byte) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	var seen [16][]byte
	for n := 0; ; n++ {
		key, ok := d.quoted()
		if !ok || n == len(seen) {
			return false
		}
		key = key[1 : len(key)-1]
		for _, k := range seen[:n] {
			if bytes.Equal(k, key) {
				return false
			}
		}
		seen[n] = key
		if !d.next(':') || !field(key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// quoted returns a string token, quotes included, that has no escapes.
func (d *decoder) quoted() ([]byte, bool) {
	start := d.i
	if !d.next('"') {
		return nil, false
	}
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return d.b[start:d.i], true
		case c < 0x20 || c == '\\' || c >= utf8.RuneSelf:
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// str reads a string: valid UTF-8, no raw control character, the escapes
// of JSON except surrogate halves (which json.Unmarshal pairs up or
// replaces).
func (d *decoder) str() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	start, escaped, wide := d.i, false, false
	for ; d.i < len(d.b); d.i++ {
		c := d.b[d.i]
		if c == '"' {
			break
		}
		switch {
		case c < 0x20:
			return "", false
		case c == '\\':
			escaped = true
			d.i++ // the escaped byte cannot be the closing quote
		case c >= utf8.RuneSelf:
			wide = true
		}
	}
	if d.i >= len(d.b) {
		return "", false
	}
	raw := d.b[start:d.i]
	d.i++
	if wide && !utf8.Valid(raw) {
		return "", false
	}
	if !escaped {
		return string(raw), true
	}
	return unescape(raw)
}

// unescape decodes the escapes of raw, a string token's content.
func unescape(raw []byte) (string, bool) {
	var sb strings.Builder
	sb.Grow(len(raw))
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\\')
		if i < 0 {
			sb.Write(raw)
			break
		}
		sb.Write(raw[:i])
		if i+1 == len(raw) {
			return "", false
		}
		n := 2 // the escape's length
		switch c := raw[i+1]; c {
		case '"', '\\', '/':
			sb.WriteByte(c)
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			if i+6 > len(raw) {
				return "", false
			}
			var r rune
			for _, h := range raw[i+2 : i+6] {
				v, ok := hexValue(h)
				if !ok {
					return "", false
				}
				r = r<<4 | v
			}
			if r >= 0xd800 && r < 0xe000 {
				return "", false
			}
			sb.WriteRune(r)
			n = 6
		default:
			return "", false
		}
		raw = raw[i+n:]
	}
	return sb.String(), true
}

func hexValue(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

// uint reads an unsigned integer without leading zeros that fits 63 bits.
func (d *decoder) uint() (uint64, bool) {
	start := d.i
	var n uint64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		if n > (1<<63-1)/10 {
			return 0, false
		}
		n = n*10 + uint64(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 1 && d.b[start] == '0' || n > 1<<63-1 {
		return 0, false
	}
	return n, true
}

// int is uint for a field of type int.
func (d *decoder) int() (int, bool) {
	n, ok := d.uint()
	return int(n), ok && n <= 1<<31-1
}

// strs reads null (nil) or an array of strings.
func (d *decoder) strs() ([]string, bool) {
	if d.literal("null") {
		return nil, true
	}
	if !d.next('[') {
		return nil, false
	}
	out := []string{}
	if d.next(']') {
		return out, true
	}
	for {
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if d.next(']') {
			return out, true
		}
		if !d.next(',') {
			return nil, false
		}
	}
}

// tags reads an array of {"key":...,"value":...} objects.
func (d *decoder) tags() ([]Tag, bool) {
	if !d.next('[') {
		return nil, false
	}
	out := []Tag{}
	if d.next(']') {
		return out, true
	}
	for {
		var t Tag
		ok := d.object(func(key []byte) bool {
			var ok bool
			switch string(key) {
			case "key":
				t.Key, ok = d.str()
			case "value":
				t.Value, ok = d.str()
			}
			return ok
		})
		if !ok {
			return nil, false
		}
		out = append(out, t)
		if d.next(']') {
			return out, true
		}
		if !d.next(',') {
			return nil, false
		}
	}
}

// literal consumes s if it comes next.
func (d *decoder) literal(s string) bool {
	if strings.HasPrefix(string(d.b[d.i:]), s) {
		d.i += len(s)
		return true
	}
	return false
}
