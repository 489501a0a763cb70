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
// few facts Evaluate needs to find that such a request is allowed, right
// after the Policy in its block, with the strings in the bytes that follow.
// Evaluate tries it first; when it does not find the request allowed (any
// element fails, a key is missing, the Context declares a key multivalued),
// Evaluate decides the request the ordinary way, which also explains the
// denial. The fast form therefore only ever answers Allow, and only where
// the ordinary evaluation answers Allow from statement 0: a single Allow
// statement matches exactly when its principal, action and every condition
// match, and for a condition of this shape on a present single-valued key
// that is "some request value matches the value" (see condition.eval).

// maxFastConds is the number of conditions a fast form holds.
const maxFastConds = 3

// span locates a string in the block's bytes.
type span struct{ off, n uint16 }

// fastCond is a condition of the fast form.
type fastCond struct {
	key, spell, lit span
	kind            patKind // patEqual or patPrefix
	fold            bool
}

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

// allows reports whether the fast form finds req allowed. false means
// "decide the ordinary way", not a denial.
func (f *fastForm) allows(req *Request, e *evalContext) bool {
	if req.Principal != f.id[0] {
		return false
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
		return false
	}
	for i := range f.conds[:f.n] {
		c := &f.conds[i]
		key, spell := f.str(c.key), f.str(c.spell)
		vals, present := e.values(key, spell)
		if !present || len(vals) == 0 || e.multivalued(key) {
			return false
		}
		lit := f.str(c.lit)
		matched := false
		for _, r := range vals {
			if c.kind == patEqual {
				matched = r == lit || c.fold && strings.EqualFold(r, lit)
			} else {
				_, matched = hasPrefix(r, lit, c.fold)
			}
			if matched {
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
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
		f.conds[i] = fastCond{spell: sp(e[0]), key: sp(e[1]), lit: sp(e[2]), kind: c.strs[0].kind, fold: c.strs[0].fold}
	}
	return true
}
