package policy

import (
	"strings"
	"unique"
)

// Memory. A registry holds hundreds of thousands of compiled trust policies,
// and most of what one holds is also in many others: the condition keys of
// an issuer ("oidc.eks.REGION.amazonaws.com/id/ID:sub"), the explanations
// prepared for them, the provider ARN of an account, the action, the
// audience "sts.amazonaws.com". Parse keeps one copy of each such value for
// the whole process through package unique, whose table is bounded by
// liveness: an entry lives only as long as a policy refers to it, so a
// policy an attacker wrote cannot grow the table beyond the policies that
// are kept. (unique is safe for concurrent use; Parse takes no lock of its
// own.)
//
// A Policy holds the handles of the values it shares (a unique entry is
// dropped once no handle refers to it, even while its text is still in use),
// either as a field (the explanations, which only a decision or Lint reads,
// are read through their handle) or in Policy.keep, for values that
// Evaluate compares on every call and that are therefore kept as plain
// strings beside the handle. Values particular to one policy, such as a
// service account subject, are copied out of the document instead (own), so
// that the policy never refers to the parse's buffers.
//
// A policy that Parse packs (see pack) drops these handles again: its block
// holds its own copies of the strings Evaluate compares, for locality, and
// only its explanations (statement labels, condition infos) stay shared.

// interner collects the handles of the shared strings of one policy.
type interner struct {
	keep []unique.Handle[string]
	set  map[unique.Handle[string]]struct{} // keep as a set, once it outgrows smallSet
	// deferred: str returns s itself, which may be the document's; the
	// policy is then either packed (pack copies every string it keeps) or
	// gets its shared strings by internShared.
	deferred bool
}

// str returns the process-wide copy of s and keeps its handle; while
// deferred, s itself.
func (in *interner) str(s string) string {
	if in.deferred {
		return s
	}
	h := unique.Make(s)
	if in.set == nil {
		for _, k := range in.keep {
			if k == h {
				return h.Value()
			}
		}
		if len(in.keep) == smallSet {
			in.set = make(map[unique.Handle[string]]struct{}, 4*smallSet)
			for _, k := range in.keep {
				in.set[k] = struct{}{}
			}
		}
	}
	if in.set != nil {
		if _, ok := in.set[h]; ok {
			return h.Value()
		}
		in.set[h] = struct{}{}
	}
	in.keep = append(in.keep, h)
	return h.Value()
}

// handles returns the collected handles in a slice of exactly their number.
func (in *interner) handles() []unique.Handle[string] {
	if len(in.keep) == 0 {
		return nil
	}
	return append(make([]unique.Handle[string], 0, len(in.keep)), in.keep...)
}

// own returns a copy of s that does not refer to the parse's buffers (the
// decoded document), for a value kept in the policy and not shared.
func own(s string) string { return strings.Clone(s) }

// sharedValues reports whether the values of conditions on the canonical
// key are likely to be the same in many policies, and so worth sharing:
// those of a provider's audience (":aud", Google's ":oaud", ":azp"), a
// client ID such as "sts.amazonaws.com". Other values, a subject above all,
// are usually a policy's own.
func sharedValues(key string) bool {
	_, claim, ok := cutLast(key, ':')
	return ok && (claim == "aud" || claim == "oaud" || claim == "azp")
}

// cutLast splits s around its last sep.
func cutLast(s string, sep byte) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// internShared replaces the strings of p that a deferred interner left as
// they were by their process-wide copies: the strings str is called on
// during the parse (principal IDs, action literals, the values of
// sharedValues keys, the first five components of ArnLike values).
func internShared(p *Policy, in *interner) {
	for i := range p.stmts {
		s := &p.stmts[i]
		for j := range s.principal.ids {
			s.principal.ids[j].ID = in.str(s.principal.ids[j].ID)
		}
		if !sharedActions(s.actions) {
			for j := range s.actions {
				if a := &s.actions[j]; a.lit != "" {
					a.lit = in.str(a.lit)
				}
			}
		}
		for j := range s.conds {
			c := &s.conds[j]
			if sharedValues(c.key) {
				for k := range c.strs {
					if v := &c.strs[k]; v.lit != "" {
						v.lit = in.str(v.lit)
					}
				}
			}
			if c.x == nil {
				continue
			}
			for _, arn := range c.x.arns {
				for k := range 5 {
					if arn[k].lit != "" {
						arn[k].lit = in.str(arn[k].lit)
					}
				}
			}
		}
	}
}
