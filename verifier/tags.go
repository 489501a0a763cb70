package verifier

import (
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Tag is a session tag taken from the token's https://aws.amazon.com/tags claim.
type Tag struct {
	Key, Value string
}

// STS limits on session tags.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// sessionTags is the parsed tags claim.
type sessionTags struct {
	tags       []Tag
	keys       []string    // tag keys in token order, for aws:TagKeys
	values     [][1]string // values[i] = {tags[i].Value}, for aws:RequestTag/K
	transitive []string
}

var errTags = errors.New("verifier: malformed session tags claim")

// parseSessionTags reads the tags claim:
//
//	{"principal_tags": {"K": ["V"], ...}, "transitive_tag_keys": ["K", ...]}
//
// Each tag has exactly one value. Keys are 1..128 and values 0..256 characters of letters,
// digits, spaces and _.:/=+-@; keys are unique ignoring case and do not start with "aws:";
// at most 50 tags; every transitive key names a tag. Other members are refused.
func parseSessionTags(text string, sp span) (*sessionTags, *Error) {
	if sp.kind != kindObject {
		return nil, newError(ReasonSessionTags, errTags)
	}
	obj := text[sp.start:sp.end]
	rs := tagReaders.Get().(*[2]objectReader)
	defer putTagReaders(rs)
	r := &rs[0]
	r.reset(readOnly(obj))
	if err := r.beginObject(); err != nil {
		return nil, newError(ReasonSessionTags, err)
	}
	st := &sessionTags{}
	var transitive span
	for {
		m, more, err := r.nextMember()
		if err != nil {
			return nil, newError(ReasonSessionTags, err)
		}
		if !more {
			break
		}
		var nb [32]byte
		switch string(memberName(nb[:0], r.data, m)) {
		case "principal_tags":
			if err := st.readTags(&rs[1], obj, m.span); err != nil {
				return nil, err
			}
		case "transitive_tag_keys":
			transitive = m.span
		default:
			return nil, errorf(ReasonSessionTags, "unknown member in the session tags claim")
		}
	}
	if transitive.kind != kindNone {
		if err := st.readTransitive(obj, transitive); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// tagReaders holds pairs of readers for parseSessionTags (the tags claim and its
// principal_tags) and Token.Claim, so that a parse neither allocates nor clears their name
// tables.
var tagReaders = sync.Pool{New: func() any { return new([2]objectReader) }}

// putTagReaders returns rs to tagReaders, keeping no reference to the token.
func putTagReaders(rs *[2]objectReader) {
	rs[0].data, rs[1].data = nil, nil
	tagReaders.Put(rs)
}

// readOnly returns the bytes of s, for readers that never write them.
func readOnly(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// readTags reads the principal_tags object at sp of obj with r.
func (st *sessionTags) readTags(r *objectReader, obj string, sp span) *Error {
	if sp.kind != kindObject {
		return newError(ReasonSessionTags, errTags)
	}
	text := obj[sp.start:sp.end]
	r.reset(readOnly(text))
	if err := r.beginObject(); err != nil {
		return newError(ReasonSessionTags, err)
	}
	// Room for every tag the object can hold (each takes a colon), at most one more than
	// allowed, in one allocation per slice; none for an empty object (the slices stay nil).
	if n := min(strings.Count(text, ":"), maxTags+1); n > 0 {
		st.tags, st.keys, st.values = make([]Tag, 0, n), make([]string, 0, n), make([][1]string, 0, n)
	}
	for {
		m, more, err := r.nextMember()
		if err != nil {
			return newError(ReasonSessionTags, err)
		}
		if !more {
			return nil
		}
		key := stringValue(text, m.name)
		if len(st.tags) == maxTags {
			return errorf(ReasonSessionTags, "more than 50 session tags")
		}
		if !validTagText(key, 1, maxTagKeyLen) || hasPrefixFold(key, "aws:") {
			return errorf(ReasonSessionTags, "invalid session tag key")
		}
		for _, k := range st.keys {
			if strings.EqualFold(k, key) {
				return errorf(ReasonSessionTags, "duplicate session tag key")
			}
		}
		var value string
		n := 0
		ok := m.kind == kindArray && stringArray(r.data, m.span, func(el span) {
			n++
			value = stringValue(text, el)
		})
		if !ok || n != 1 || !validTagText(value, 0, maxTagValueLen) {
			return errorf(ReasonSessionTags, "invalid session tag value")
		}
		st.tags = append(st.tags, Tag{Key: key, Value: value})
		st.keys = append(st.keys, key)
		st.values = append(st.values, [1]string{value})
	}
}

func (st *sessionTags) readTransitive(obj string, sp span) *Error {
	bad := false
	ok := sp.kind == kindArray && stringArray(readOnly(obj), sp, func(el span) {
		if bad {
			return // refused already: the keys kept stay at most the 50 tags, the walk linear
		}
		k := stringValue(obj, el)
		if st.index(k) < 0 {
			bad = true
		}
		for _, t := range st.transitive {
			bad = bad || strings.EqualFold(t, k)
		}
		st.transitive = append(st.transitive, k)
	})
	if !ok || bad {
		return errorf(ReasonSessionTags, "invalid transitive tag keys")
	}
	return nil
}

// index returns the position of the tag with key k (case-insensitive), or -1.
func (st *sessionTags) index(k string) int {
	for i, t := range st.tags {
		if strings.EqualFold(t.Key, k) {
			return i
		}
	}
	return -1
}

// validTagText checks length (in characters) and the tag character set.
func validTagText(s string, minLen, maxLen int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	if n < minLen || n > maxLen {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Z, r) &&
			!strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseSourceIdentity reads the source identity claim: a string of 2..64 characters of
// [\w+=,.@-] that does not start with "aws:".
func parseSourceIdentity(text string, sp span) (string, *Error) {
	if sp.kind != kindString {
		return "", errorf(ReasonSourceIdentity, "source identity is not a string")
	}
	s := stringValue(text, sp)
	if !validName(s, 2, 64) || hasPrefixFold(s, "aws:") {
		return "", errorf(ReasonSourceIdentity, "source identity breaks the STS pattern")
	}
	return s, nil
}
