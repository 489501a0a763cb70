package policy

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A pattern is a compiled string pattern: a literal, a StringLike-style glob,
// or either with policy variables in it.
//
// The two shapes trust policies use nearly always are kept as one string: a
// literal (patEqual: compare lit) and a literal followed by one trailing '*'
// (patPrefix, as in "system:serviceaccount:ns:*" or "repo:org/repo:*": lit
// is the prefix). Any other pattern (patGeneral) is split at each '*'
// wildcard into segments. A segment is a sequence of items: literal text
// (which includes the text of ${*}, ${?}, ${$} and, at evaluation, the value a
// policy variable resolves to), the '?' wildcard (exactly one code point) and
// variables.
//
// Matching anchors the first segment at the start of the value and the last
// at its end (a segment has a fixed length in code points, so the last one is
// tried at one place only), and finds each middle segment at its leftmost
// occurrence after the previous one, which is exact for patterns of this
// shape (taking the leftmost match leaves the longest rest for what follows)
// and never backtracks. A middle segment is found in time linear in the value:
// with strings.Index when it is literal text (or one variable), and with a
// bit-parallel (Shift-And) scan when it has '?' wildcards and at most 64 code
// points. Other middle segments (longer ones with '?', ones that mix
// variables with other items, and case-folded ones, which only Action uses)
// are tried at each position, costing at most O(len(segment) × len(value)).
type pattern struct {
	lit  string         // patEqual: the literal; patPrefix: the prefix
	x    *patternDetail // patGeneral: the segments; otherwise nil unless the text differs from lit
	kind patKind
	fold bool  // compare case-insensitively (Unicode simple folding)
	vars uint8 // bit i set: the pattern uses variable i of its condition
}

// patKind is the shape of a pattern.
type patKind uint8

const (
	patEqual   patKind = iota // no wildcard and no variable: compare lit
	patPrefix                 // lit then one '*', nothing else: a prefix test
	patGeneral                // anything else: x.segs
)

// patternDetail is the part of a pattern that only unusual patterns have.
type patternDetail struct {
	segs []segment // patGeneral only
	// text is the value as written in the policy, when it cannot be derived
	// from lit (see pattern.text).
	text string
}

// text returns the value the pattern was compiled from, as written in the
// policy (Lint reads it).
func (p *pattern) text() string {
	if p.x != nil && (p.kind == patGeneral || p.x.text != "") {
		return p.x.text
	}
	if p.kind == patPrefix {
		return p.lit + "*"
	}
	return p.lit
}

// derivable reports whether p.text() would return text without x.text.
func (p *pattern) derivable(text string) bool {
	switch p.kind {
	case patEqual:
		return text == p.lit
	case patPrefix:
		return len(text) == len(p.lit)+1 && text[len(p.lit)] == '*' && text[:len(p.lit)] == p.lit
	}
	return false
}

type segment struct {
	items []item
	// literal is set when the segment is one literal item (no '?', no
	// variable).
	literal bool
	// runes is the length of the segment in code points, not counting
	// variables.
	runes int
	// sa, when set, finds the segment (with '?', without variables) by a
	// bit-parallel scan.
	sa *shiftAnd
}

// shiftAnd is the Shift-And automaton of a segment of at most 64 code points
// without variables: bit k of a mask is set when position k of the segment
// accepts the code point.
type shiftAnd struct {
	ascii  [utf8.RuneSelf]uint64
	other  []runeMask
	wild   uint64 // the positions of '?'
	accept uint64 // the last position
}

type runeMask struct {
	r rune
	m uint64
}

func newShiftAnd(items []item) *shiftAnd {
	sa := &shiftAnd{}
	k := 0
	set := func(r rune) {
		if r < utf8.RuneSelf {
			sa.ascii[r] |= 1 << k
			return
		}
		for i := range sa.other {
			if sa.other[i].r == r {
				sa.other[i].m |= 1 << k
				return
			}
		}
		sa.other = append(sa.other, runeMask{r, 1 << k})
	}
	for _, it := range items {
		switch it.kind {
		case itemOne:
			sa.wild |= 1 << k
			k++
		case itemLit:
			for _, r := range it.text {
				set(r)
				k++
			}
		}
	}
	sa.accept = 1 << (k - 1)
	return sa
}

// find returns the end of the leftmost occurrence of the segment in s at or
// after byte offset i. All occurrences have the same number of code points,
// so the one that ends first starts first.
func (sa *shiftAnd) find(s string, i int) (int, bool) {
	var d uint64
	wild, accept := sa.wild, sa.accept // kept in registers through the loop
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			d = (d<<1 | 1) & (sa.ascii[c] | wild)
			i++
		} else {
			r, w := utf8.DecodeRuneInString(s[i:])
			var m uint64
			if r != utf8.RuneError || w > 1 {
				for k := range sa.other {
					if sa.other[k].r == r {
						m = sa.other[k].m
						break
					}
				}
			}
			d = (d<<1 | 1) & (m | wild)
			i += w
		}
		if d&accept != 0 {
			return i, true
		}
	}
	return 0, false
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
	segs []segment
	vars uint8
	cur  segment
	lit  strings.Builder
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
	b.vars |= 1 << v
}

func (b *patternBuilder) endSegment() {
	s := b.cur
	s.literal = len(s.items) == 1 && s.items[0].kind == itemLit
	hasOne, hasVar, valid := false, false, true
	for _, it := range s.items {
		switch it.kind {
		case itemOne:
			s.runes++
			hasOne = true
		case itemVar:
			hasVar = true
		case itemLit:
			s.runes += utf8.RuneCountInString(it.text)
			valid = valid && utf8.ValidString(it.text)
		}
	}
	if hasOne && !hasVar && valid && s.runes <= 64 {
		s.sa = newShiftAnd(s.items)
	}
	s.items = slices.Clip(s.items)
	b.segs = append(b.segs, s)
	b.cur = segment{}
}

func (b *patternBuilder) done(fold bool) pattern {
	b.flushLit()
	b.endSegment()
	p := pattern{kind: patGeneral, fold: fold, vars: b.vars}
	litOnly := func(s *segment) (string, bool) {
		switch {
		case len(s.items) == 0:
			return "", true
		case len(s.items) == 1 && s.items[0].kind == itemLit:
			return s.items[0].text, true
		}
		return "", false
	}
	switch segs := b.segs; {
	case len(segs) == 1:
		if lit, ok := litOnly(&segs[0]); ok {
			p.kind, p.lit = patEqual, lit
		}
	case len(segs) == 2 && len(segs[1].items) == 0:
		if lit, ok := litOnly(&segs[0]); ok {
			p.kind, p.lit = patPrefix, lit
		}
	}
	if p.kind == patGeneral {
		p.x = &patternDetail{segs: slices.Clip(b.segs)}
	}
	return p
}

// plainPattern returns the pattern of text when text has none of the given
// special bytes: a patEqual whose lit is text itself, or for a text whose
// only special byte is one trailing '*' (with '*' special), a patPrefix
// whose lit is text without it. ok is false otherwise.
func plainPattern(text, special string, fold bool) (pattern, bool) {
	i := strings.IndexAny(text, special)
	switch {
	case i < 0:
		return pattern{lit: text, kind: patEqual, fold: fold}, true
	case i == len(text)-1 && text[i] == '*':
		return pattern{lit: text[:i], kind: patPrefix, fold: fold}, true
	}
	return pattern{}, false
}

// compileGlob compiles text with '*' and '?' as wildcards and no variables,
// as used by Action and by the reference tests.
func compileGlob(text string, fold bool) pattern {
	if p, ok := plainPattern(text, "*?", fold); ok {
		return p
	}
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
	switch p.kind {
	case patEqual:
		if p.fold {
			// The exact spelling first: policies mostly write an action as the request
			// names it, and EqualFold walks both strings a rune at a time.
			return s == p.lit || strings.EqualFold(s, p.lit)
		}
		return s == p.lit
	case patPrefix:
		_, ok := hasPrefix(s, p.lit, p.fold)
		return ok
	}
	segs := p.x.segs
	if len(segs) == 1 {
		end, ok := p.matchSeg(&segs[0], s, 0, vars)
		return ok && end == len(s)
	}
	i, ok := p.matchSeg(&segs[0], s, 0, vars)
	if !ok {
		return false
	}
	for k := 1; k < len(segs)-1; k++ {
		if i, ok = p.find(&segs[k], s, i, vars); !ok {
			return false
		}
	}
	// Last segment: it has a fixed length in code points, so it can only
	// start that many code points before the end of s, at or after i.
	last := &segs[len(segs)-1]
	n := last.runes
	for _, it := range last.items {
		if it.kind == itemVar {
			n += utf8.RuneCountInString(vars[it.v])
		}
	}
	j := len(s)
	for ; n > 0 && j > i; n-- {
		_, w := utf8.DecodeLastRuneInString(s[:j])
		j -= w
	}
	if n > 0 {
		return false
	}
	end, ok := p.matchSeg(last, s, j, vars)
	return ok && end == len(s)
}

// find returns the end of the leftmost occurrence of the middle segment seg
// in s at or after byte offset i.
func (p *pattern) find(seg *segment, s string, i int, vars []string) (int, bool) {
	switch {
	case len(seg.items) == 0:
		return i, true
	case seg.sa != nil && !p.fold:
		return seg.sa.find(s, i)
	case len(seg.items) == 1 && seg.items[0].kind != itemOne && !p.fold:
		t := seg.items[0].text
		if seg.items[0].kind == itemVar {
			t = vars[seg.items[0].v]
		}
		k := strings.Index(s[i:], t)
		if k < 0 {
			return 0, false
		}
		return i + k + len(t), true
	}
	for j := i; j <= len(s); {
		if end, ok := p.matchSeg(seg, s, j, vars); ok {
			return end, true
		}
		if j == len(s) {
			break
		}
		_, w := utf8.DecodeRuneInString(s[j:])
		j += w
	}
	return 0, false
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
