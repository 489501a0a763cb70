package policy

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Policy variables (version 2012-10-17 only; literal text in 2008-10-17):
//
//	${key}              the single value of the condition key, taken literally
//	${key, 'default'}   the same, or default when the key is missing
//	${*} ${?} ${$}      a literal '*', '?' or '$'
//
// Keys are case-insensitive. A variable whose key is missing (and has no
// default), has more than one value or is multivalued (see
// MultivaluedContext) makes the value it appears in match nothing. The text a variable stands for is always literal, even inside a
// StringLike pattern: a '*' in a token claim never becomes a wildcard.

// maxVars bounds the distinct policy variables in one condition (one operator
// and key), so that evaluation resolves them into a
// fixed-size array.
const maxVars = 8

// varRef is one distinct variable of a condition.
type varRef struct {
	key    string // canonical condition key (see canonKey)
	raw    string // the key as the policy spells it
	spell  string // the policy's first spelling of key, or "" (see condition.spell)
	def    string
	hasDef bool
	// multivalued: the key is one Evaluate knows as multivalued, so the
	// variable never resolves.
	multivalued bool
}

// varSet collects the distinct variables of one condition.
type varSet struct {
	refs []varRef
}

func (vs *varSet) add(r varRef) (uint8, bool) {
	for i, x := range vs.refs {
		if x.key == r.key && x.def == r.def && x.hasDef == r.hasDef {
			return uint8(i), true
		}
	}
	if len(vs.refs) >= maxVars {
		return 0, false
	}
	vs.refs = append(vs.refs, r)
	return uint8(len(vs.refs) - 1), true
}

// textOptions says how to read a value's text.
type textOptions struct {
	wild bool    // '*' and '?' are wildcards
	fold bool    // match case-insensitively
	vars *varSet // policy variables are enabled and collected here; nil: literal text
}

// compileText compiles one value's text into a pattern.
//
// The pattern's lit may be a substring of text: a caller that keeps the
// pattern beyond the document's lifetime owns it (see interner).
func compileText(text string, o textOptions, path string) (pattern, *ParseError) {
	return compileTextAt(text, o, func() string { return path })
}

// compileTextAt is compileText with the path built only for an error.
func compileTextAt(text string, o textOptions, path func() string) (pattern, *ParseError) {
	special := ""
	switch {
	case o.wild && o.vars != nil:
		special = "*?$"
	case o.wild:
		special = "*?"
	case o.vars != nil:
		special = "$"
	}
	if p, ok := plainPattern(text, special, o.fold); ok {
		return p, nil
	}
	var b patternBuilder
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '$' && o.vars != nil && i+1 < len(text) && text[i+1] == '{':
			end := strings.IndexByte(text[i+2:], '}')
			if end < 0 {
				return pattern{}, perr(path(), ReasonValue, "unterminated policy variable")
			}
			body := text[i+2 : i+2+end]
			i += 2 + end + 1
			switch body {
			case "*", "?", "$":
				b.literal(body)
				continue
			}
			ref, err := parseVariable(body, path)
			if err != nil {
				return pattern{}, err
			}
			idx, ok := o.vars.add(ref)
			if !ok {
				return pattern{}, perr(path(), ReasonValue, "more than "+itoa(maxVars)+" distinct policy variables in one condition")
			}
			b.variable(idx)
		case c == '*' && o.wild:
			b.star()
			i++
		case c == '?' && o.wild:
			b.one()
			i++
		default:
			b.lit.WriteByte(c)
			i++
		}
	}
	return b.done(o.fold), nil
}

// parseVariable parses the inside of ${...}: a key and an optional quoted
// default separated by a comma.
func parseVariable(body string, path func() string) (varRef, *ParseError) {
	key, rest, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	if !validKey(key) {
		return varRef{}, perr(path(), ReasonValue, "invalid policy variable ${"+body+"}")
	}
	raw := own(key) // the policy keeps it; canonKey aliases it when canonical
	ref := varRef{key: canonKey(raw), raw: raw}
	ref.multivalued = builtinMultivalued(ref.key)
	if hasDef {
		rest = strings.TrimSpace(rest)
		if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' || strings.IndexByte(rest[1:len(rest)-1], '\'') >= 0 {
			return varRef{}, perr(path(), ReasonValue, "invalid default in policy variable ${"+body+"}: want ${key, 'default'}")
		}
		ref.def, ref.hasDef = own(rest[1:len(rest)-1]), true
	}
	return ref, nil
}

// validKey reports whether s can be a condition key: non-empty, printable,
// without spaces and without the characters that delimit policy variables.
func validKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			if r <= ' ' || r == 0x7f || r == '$' || r == '{' || r == '}' || r == '\'' || r == ',' || r == '"' {
				return false
			}
			continue
		}
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// splitArnText splits an ARN value into its six components: five at the first
// five colons, the sixth the rest. Colons inside ${...} do not split.
func splitArnText(text string, vars bool) ([6]string, bool) {
	var parts [6]string
	n, start := 0, 0
	for i := 0; i < len(text) && n < 5; i++ {
		switch {
		case vars && text[i] == '$' && i+1 < len(text) && text[i+1] == '{':
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return parts, false
			}
			i += end
		case text[i] == ':':
			parts[n] = text[start:i]
			n++
			start = i + 1
		}
	}
	if n < 5 {
		return parts, false
	}
	parts[5] = text[start:]
	return parts, true
}

// resolveVars looks up the condition's variables in e into out and returns
// a bit mask of the variables that did not resolve to exactly one value. A
// variable naming a multivalued key never resolves: IAM documents that a
// multivalued context key cannot be a policy variable.
func resolveVars(e *evalContext, refs []varRef, out *[maxVars]string) (failed uint8) {
	for i := range refs {
		r := &refs[i]
		if r.multivalued || e.multivalued(r.key) {
			failed |= 1 << i
			continue
		}
		vals, ok := e.values(r.key, r.spell)
		switch {
		case ok && len(vals) == 1:
			out[i] = vals[0]
		case (!ok || len(vals) == 0) && r.hasDef:
			out[i] = r.def
		default:
			failed |= 1 << i
		}
	}
	return failed
}
