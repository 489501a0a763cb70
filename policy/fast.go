package policy

import (
	"strings"
	"unsafe"
)

// The fast form. A packed policy whose one statement is an Allow of the
// shape nearly every trust policy has (one exact principal, one of the
// common action lists, at most maxFastConds conditions, each a positive
// String* operator without a set operator on a single-valued key, with one
// literal or prefix value and no policy variable) also gets a fastForm: the
// few facts Evaluate needs to decide a request against it, right after the
// Policy in its block, with the strings in the bytes that follow. For such
// a policy Evaluate decides from the fast form alone, reading the ordinary
// compiled form only to explain a denial. The decision is the ordinary
// one: with no Deny statement and one Allow statement, Evaluate allows when
// the statement matches, and otherwise denies with the first element that
// failed (principal, action, then the conditions in order; see
// statement.eval), and for a condition of this shape condition.eval comes
// down to: on a missing key, true for ...IfExists and false otherwise; on a
// key the Context declares multivalued, false; else whether some request
// value matches the value.

// maxFastConds is the number of conditions a fast form holds.
const maxFastConds = 3

// span locates a string in the block's bytes.
type span struct{ off, n uint16 }

// fastCond is a condition of the fast form.
type fastCond struct {
	key, spell, lit span
	flags           uint8 // fastPrefix, fastFold, fastIfExists
}

// fastCond flags.
const (
	fastPrefix   = 1 << iota // the value is a prefix (patPrefix), else literal (patEqual)
	fastFold                 // compared case-insensitively
	fastIfExists             // the operator is ...IfExists: true on a missing key
)

// fastForm is the fast form of a packed policy (see above). It is in every
// block, right after the Policy and right before the bytes, also when the
// policy does not have the fast form's shape: its principal is the
// statement's (principalSet.ids is id[:]).
type fastForm struct {
	id     [1]Principal
	action uint8 // the action list, index in commonLists
	n      uint8 // conditions
	conds  [maxFastConds]fastCond
}

// str returns the string at s in the block's bytes, which follow f.
func (f *fastForm) str(s span) string {
	if s.n == 0 {
		return ""
	}
	// f is in a block, followed by its bytes.
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(f), bufOffset-fastOffset+uintptr(s.off))), int(s.n))
}

// eval returns what statement.eval would return for the policy's one
// statement: stageMatched, or the stage that failed and whether its key was
// missing.
func (f *fastForm) eval(req *Request, e *evalContext) (stage int, missing bool) {
	if req.Principal != f.id[0] {
		return stagePrincipal, false
	}
	actions := commonLists[f.action]
	ok := false
	for i := range actions {
		if actions[i].match(req.Action, nil) {
			ok = true
			break
		}
	}
	if !ok {
		return stageAction, false
	}
	for i := range f.conds[:f.n] {
		c := &f.conds[i]
		key, spell := f.str(c.key), f.str(c.spell)
		vals, present := e.values(key, spell)
		if !present || len(vals) == 0 {
			if c.flags&fastIfExists != 0 {
				continue
			}
			return stageConditions + i, true
		}
		if e.multivalued(key) {
			return stageConditions + i, false // unresolved, in an Allow
		}
		lit, fold := f.str(c.lit), c.flags&fastFold != 0
		matched := false
		for _, r := range vals {
			if c.flags&fastPrefix == 0 {
				matched = r == lit || fold && strings.EqualFold(r, lit)
			} else {
				_, matched = hasPrefix(r, lit, fold)
			}
			if matched {
				break
			}
		}
		if !matched {
			return stageConditions + i, false
		}
	}
	return stageMatched, false
}

// fastOf fills in the conditions of f, whose id is already the principal of
// the statement s being packed, from s, whose strings are ents in the
// block's bytes, in the order pack adds them. It reports whether s has the
// fast form's shape.
func fastOf(s *statement, f *fastForm, ents []poolEntry) bool {
	if s.deny || s.notAction || len(s.principal.ids) != 1 || s.principal.everyone || s.principal.anyOf != 0 || len(s.conds) > maxFastConds {
		return false
	}
	action := -1
	for k, l := range commonLists {
		if len(s.actions) > 0 && len(l) == len(s.actions) && &l[0] == &s.actions[0] {
			action = k
		}
	}
	if action < 0 {
		return false
	}
	for i := range s.conds {
		c := &s.conds[i]
		k := c.op.kind
		if k != opStringEquals && k != opStringEqualsIgnoreCase && k != opStringLike || c.op.negated || c.op.set != setNone ||
			c.multivalued() || c.x != nil || len(c.strs) != 1 || c.strs[0].x != nil || c.strs[0].vars != 0 ||
			c.strs[0].kind != patEqual && c.strs[0].kind != patPrefix {
			return false
		}
	}
	sp := func(e poolEntry) span {
		if e.s == "" {
			return span{}
		}
		return span{uint16(e.off), uint16(len(e.s))}
	}
	f.action, f.n = uint8(action), uint8(len(s.conds))
	for i := range s.conds {
		c := &s.conds[i]
		e := ents[1+3*i:]
		var flags uint8
		if c.strs[0].kind == patPrefix {
			flags |= fastPrefix
		}
		if c.strs[0].fold {
			flags |= fastFold
		}
		if c.op.ifExists {
			flags |= fastIfExists
		}
		f.conds[i] = fastCond{spell: sp(e[0]), key: sp(e[1]), lit: sp(e[2]), flags: flags}
	}
	return true
}
