package verifier

import (
	"context"
	"time"
)

// Answer is room for what AssumeRoleWithWebIdentityInto returns: a Result, its Token and the
// backing of their slices, for a caller that recycles them (in a sync.Pool, say), so that an
// answer from the token cache allocates nothing. The zero Answer is ready for use. An Answer
// serves one call at a time; the Result a call returns points into it and stays valid until
// the Answer is used again (its strings stay valid for good: they are never written).
type Answer struct {
	c resultCopy
	// Backing kept across uses, for what c does not hold inline.
	aud  []string
	tags []Tag
	keys []string
}

// AssumeRoleWithWebIdentityInto is AssumeRoleWithWebIdentity writing its Result into a
// instead of allocating one: the same decision, errors and Result (field for field), and the
// returned Result, when not nil, is &a's; nothing of a's previous use is left in it. Editing
// it changes nothing for other callers or later decisions, as with AssumeRoleWithWebIdentity;
// the next use of a overwrites it. A nil a allocates, as AssumeRoleWithWebIdentity does. It
// is safe for concurrent use with distinct Answers.
func (v *Verifier) AssumeRoleWithWebIdentityInto(ctx context.Context, req *Request, a *Answer) (*Result, error) {
	return v.assumeCall(ctx, req, a)
}

// assumeCall is AssumeRoleWithWebIdentity (a nil) and AssumeRoleWithWebIdentityInto.
func (v *Verifier) assumeCall(ctx context.Context, req *Request, a *Answer) (*Result, error) {
	var start time.Time
	if v.observer != nil {
		start = time.Now() // latency on the monotonic clock, not v.now
	}
	var (
		res *Result
		ev  *evaluation
		m   *decisionMemo
		e   *Error
	)
	res, ev, m, e = v.assume(ctx, req, a == nil)
	if m != nil {
		var out *Result
		if a == nil {
			out = m.result()
		} else {
			out = a.fromMemo(m)
		}
		if v.observer != nil {
			v.observed(ctx, OpAssumeRoleWithWebIdentity, start, m.route.p.URL, true, nil)
		}
		return out, nil
	}
	if v.observer != nil {
		var vt *verified
		if ev != nil {
			vt = &ev.vt
		}
		v.observe(ctx, OpAssumeRoleWithWebIdentity, start, vt, e)
	}
	var out *Result
	switch {
	case res == nil:
		if a != nil {
			a.c = resultCopy{} // keep nothing of the previous use alive
		}
	case a == nil:
		// The evaluation goes back to the pool: the caller gets a Result and Token of its own.
		out = ownResult(res, &ev.vt.tok, ev.sel.result)
	default:
		out = a.fromFull(res, &ev.vt.tok)
	}
	if ev != nil {
		putEval(ev)
	}
	if e != nil {
		return out, e
	}
	return out, nil
}

// spill lends a's recycled slices to its resultCopy.
func (a *Answer) spill() spill { return spill{aud: &a.aud, tags: &a.tags, keys: &a.keys} }

// fromMemo fills a with a copy of m's Result, as m.result does, and returns it.
func (a *Answer) fromMemo(m *decisionMemo) *Result { return a.c.fromMemo(m, a.spill()) }

// fromFull fills a with a copy of the full path's res and tok, as ownResult does, and
// returns it.
func (a *Answer) fromFull(res *Result, tok *Token) *Result { return a.c.fromFull(res, tok, a.spill()) }
