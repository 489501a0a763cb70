package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Condition keys are case-insensitive. Every comparison of keys in this
// package goes through one canonical form, so that the key a condition is
// compiled for, the key Evaluate asks a Context for, the multivalued-key rules,
// policy variables, Keys and Lint can never disagree about which key a
// spelling names:
//
//   - an ASCII letter is lower-cased;
//   - any other rune is replaced by the canonical member of its Unicode simple
//     case-folding orbit (the set strings.EqualFold treats as equal): the
//     ASCII letter, lower-cased, if the orbit has one (U+017F LATIN SMALL
//     LETTER LONG S is "s", U+212A KELVIN SIGN is "k"); else the lower-case
//     form of the orbit's smallest rune if that is in the orbit; else the
//     smallest rune.
//
// Two keys are the same key exactly when their canonical forms are equal,
// which for keys is the same relation as strings.EqualFold. Non-ASCII keys are
// accepted because they can be real: session tag keys may hold Unicode letters
// ([\p{L}\p{Z}\p{N}_.:/=+\-@]), and they become aws:RequestTag/KEY and
// aws:PrincipalTag/KEY.

// FoldKey returns the one form of a condition key under which Evaluate compares keys, as
// Policy.Keys returns them and as a Context is asked for them: ASCII lower-cased, U+017F as "s",
// U+212A as "k", other letters folded by Unicode case folding. Build the keys of a Context with
// it (or accept any spelling, as policy.Values does). It is idempotent and does not allocate for
// a key already in that form.
func FoldKey(key string) string { return canonKey(key) }

// canonKey returns the canonical form of key. It does not allocate when key
// is already canonical (as every lower-case ASCII key is).
func canonKey(key string) string {
	if isCanon(key) {
		return key
	}
	var b strings.Builder
	b.Grow(len(key))
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= utf8.RuneSelf {
			// i is at a rune boundary: every byte before it was ASCII.
			for _, r := range key[i:] {
				b.WriteRune(canonRune(r))
			}
			break
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// canonRune returns the canonical member of r's case-folding orbit.
func canonRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	if r == utf8.RuneError {
		return r
	}
	low := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < low {
			low = f
		}
	}
	if low < utf8.RuneSelf {
		return canonRune(low)
	}
	l := unicode.ToLower(low)
	if l == low {
		return low
	}
	for f := unicode.SimpleFold(low); f != low; f = unicode.SimpleFold(f) {
		if f == l {
			return l
		}
	}
	return low
}

// sameKey reports whether a and b name the same key (have the same
// canonical form), without allocating.
func sameKey(a, b string) bool {
	for a != "" && b != "" {
		x, y := a[0], b[0]
		if x < utf8.RuneSelf && y < utf8.RuneSelf {
			if 'A' <= x && x <= 'Z' {
				x += 'a' - 'A'
			}
			if 'A' <= y && y <= 'Z' {
				y += 'a' - 'A'
			}
			if x != y {
				return false
			}
			a, b = a[1:], b[1:]
			continue
		}
		ra, wa := utf8.DecodeRuneInString(a)
		rb, wb := utf8.DecodeRuneInString(b)
		if canonRune(ra) != canonRune(rb) {
			return false
		}
		a, b = a[wa:], b[wb:]
	}
	return a == "" && b == ""
}

// isCanon reports whether key is in canonical form, without allocating.
func isCanon(key string) bool {
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				return false
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(key[i:])
		if canonRune(r) != r {
			return false
		}
		i += w
	}
	return true
}
