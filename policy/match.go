package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A pattern is a compiled string pattern: a literal, a StringLike-style glob,
// or either with policy variables in it.
//
// The text is split at each '*' wildcard into segments. A segment is a
// sequence of items: literal text (which includes the text of ${*}, ${?}, ${$}
// and, at evaluation, the value a policy variable resolves to), the '?'
// wildcard (exactly one code point) and variables. Matching is greedy
// leftmost for the middle segments, which is exact for patterns of this shape
// and costs at most O(len(pattern) × len(value)): there is no backtracking
// beyond one segment and no regexp.
type pattern struct {
	lit    string // the whole pattern when simple
	simple bool   // no wildcard and no variable: compare lit directly
	fold   bool   // compare case-insensitively (Unicode simple folding)
	segs   []segment
	vars   uint8 // bit i set: the pattern uses variable i of its condition
}

type segment struct {
	items []item
	// literal is set when the segment is one literal item (no '?', no
	// variable), which lets the last segment be matched with HasSuffix.
	literal bool
}

type itemKind uint8

const (
	itemLit itemKind = iota
	itemOne          // '?': exactly one code point
	itemVar          // a policy variable, resolved at evaluation
)

type item struct {
	kind itemKind
	v    uint8 // variable index within the condition, for itemVar
	text string
}

// patternBuilder assembles a pattern from literal text, wildcards and
// variables in document order.
type patternBuilder struct {
	p   pattern
	cur segment
	lit strings.Builder
}

func (b *patternBuilder) flushLit() {
	if b.lit.Len() > 0 {
		b.cur.items = append(b.cur.items, item{kind: itemLit, text: b.lit.String()})
		b.lit.Reset()
	}
}

func (b *patternBuilder) literal(s string) { b.lit.WriteString(s) }

func (b *patternBuilder) one() {
	b.flushLit()
	b.cur.items = append(b.cur.items, item{kind: itemOne})
}

func (b *patternBuilder) star() {
	b.flushLit()
	b.endSegment()
}

func (b *patternBuilder) variable(v uint8) {
	b.flushLit()
	b.cur.items = append(b.cur.items, item{kind: itemVar, v: v})
	b.p.vars |= 1 << v
}

func (b *patternBuilder) endSegment() {
	s := b.cur
	s.literal = len(s.items) == 1 && s.items[0].kind == itemLit
	b.p.segs = append(b.p.segs, s)
	b.cur = segment{}
}

func (b *patternBuilder) done(fold bool) pattern {
	b.flushLit()
	b.endSegment()
	p := b.p
	p.fold = fold
	if len(p.segs) == 1 {
		switch items := p.segs[0].items; {
		case len(items) == 0:
			p.simple, p.lit = true, ""
		case len(items) == 1 && items[0].kind == itemLit:
			p.simple, p.lit = true, items[0].text
		}
	}
	if p.simple {
		p.segs = nil
	}
	return p
}

// compileGlob compiles text with '*' and '?' as wildcards and no variables,
// as used by Action and by the reference tests.
func compileGlob(text string, fold bool) pattern {
	var b patternBuilder
	for _, r := range text {
		switch r {
		case '*':
			b.star()
		case '?':
			b.one()
		default:
			b.lit.WriteRune(r)
		}
	}
	return b.done(fold)
}

// match reports whether s matches the pattern. vars holds the resolved values
// of the condition's variables (nil when the pattern has none).
func (p *pattern) match(s string, vars []string) bool {
	if p.simple {
		if p.fold {
			return strings.EqualFold(s, p.lit)
		}
		return s == p.lit
	}
	segs := p.segs
	if len(segs) == 1 {
		end, ok := p.matchSeg(&segs[0], s, 0, vars)
		return ok && end == len(s)
	}
	i, ok := p.matchSeg(&segs[0], s, 0, vars)
	if !ok {
		return false
	}
	last := &segs[len(segs)-1]
	// Middle segments: leftmost match of each in turn. For a glob of the form
	// A*B*...*Z taking the leftmost match of every middle segment never loses
	// a match, because it leaves the longest possible rest for what follows.
	for k := 1; k < len(segs)-1; k++ {
		seg := &segs[k]
		found := false
		for j := i; j <= len(s); {
			if end, ok := p.matchSeg(seg, s, j, vars); ok {
				i, found = end, true
				break
			}
			if j == len(s) {
				break
			}
			_, w := utf8.DecodeRuneInString(s[j:])
			j += w
		}
		if !found {
			return false
		}
	}
	// Last segment: it must end exactly at the end of s, starting at or after i.
	switch {
	case len(last.items) == 0:
		return true
	case last.literal && !p.fold:
		t := last.items[0].text
		return len(s)-i >= len(t) && strings.HasSuffix(s, t)
	}
	for j := i; j <= len(s); {
		if end, ok := p.matchSeg(last, s, j, vars); ok && end == len(s) {
			return true
		}
		if j == len(s) {
			break
		}
		_, w := utf8.DecodeRuneInString(s[j:])
		j += w
	}
	return false
}

// matchSeg matches seg against s at byte offset i and returns the offset
// just after it.
func (p *pattern) matchSeg(seg *segment, s string, i int, vars []string) (int, bool) {
	for k := range seg.items {
		it := &seg.items[k]
		switch it.kind {
		case itemOne:
			if i >= len(s) {
				return 0, false
			}
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
		case itemLit, itemVar:
			t := it.text
			if it.kind == itemVar {
				t = vars[it.v]
			}
			n, ok := hasPrefix(s[i:], t, p.fold)
			if !ok {
				return 0, false
			}
			i += n
		}
	}
	return i, true
}

// hasPrefix reports whether s starts with prefix (case-insensitively if fold)
// and how many bytes of s the prefix covers.
func hasPrefix(s, prefix string, fold bool) (int, bool) {
	if !fold {
		if strings.HasPrefix(s, prefix) {
			return len(prefix), true
		}
		return 0, false
	}
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0, false
		}
		sr, w := utf8.DecodeRuneInString(s[i:])
		if sr != pr && !equalFoldRune(sr, pr) {
			return 0, false
		}
		i += w
	}
	return i, true
}

// equalFoldRune reports whether a and b are equal under Unicode simple case
// folding, as strings.EqualFold compares them.
func equalFoldRune(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// matchArn matches an ARN against six per-component patterns: the first five
// colon-separated components each against their own pattern, so that a
// wildcard never crosses a ':', and the rest (the resource part, which may
// itself contain colons) against the sixth. A value with fewer than six
// components is not an ARN and matches nothing.
func matchArn(parts *[6]pattern, s string, vars []string) bool {
	for k := 0; k < 5; k++ {
		c := strings.IndexByte(s, ':')
		if c < 0 {
			return false
		}
		if !parts[k].match(s[:c], vars) {
			return false
		}
		s = s[c+1:]
	}
	return parts[5].match(s, vars)
}
