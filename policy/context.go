package policy

import "strings"

// MultivaluedContext is a Context that declares which of its keys are
// multivalued: keys whose request values are a set, such as a list claim,
// rather than one value. A Context may implement it; Evaluate checks for it
// once per call.
//
// Evaluate already knows these keys as multivalued, whatever the Context:
// aws:TagKeys, sts:TransitiveTagKeys, aws:CalledVia,
// aws:PrincipalServiceNamesList and any key whose last segment is ":amr"
// (the amr claim of a web identity provider). Multivalued only adds to that
// list; it cannot make those keys single-valued.
//
// Multivalued is called with keys in canonical form (see Keys), as Values
// is, and must be
// safe for concurrent use when the Context is shared. See Evaluate for what a
// multivalued key changes.
type MultivaluedContext interface {
	Context
	// Multivalued reports whether key is a multivalued context key.
	Multivalued(key string) bool
}

// builtinMultivalued reports whether the canonical key is one that IAM
// documents as multivalued and that a web identity request can carry.
func builtinMultivalued(key string) bool {
	switch key {
	case "aws:tagkeys", "sts:transitivetagkeys", "aws:calledvia", "aws:principalservicenameslist":
		return true
	}
	return strings.HasSuffix(key, ":amr")
}

// evalContext is the request's Context prepared once per Evaluate.
type evalContext struct {
	ctx Context
	mv  MultivaluedContext // ctx, if it declares multivalued keys
	// vals is ctx when it is a Values map: then a key is looked up in
	// canonical form, then as the policy first spells it, before a
	// case-insensitive scan, so that a map keyed the policy's way (EKS issuer
	// ids are upper-case hex) does not cost a scan per key.
	vals   Values
	isVals bool
}

func newEvalContext(ctx Context) evalContext {
	e := evalContext{ctx: ctx}
	switch c := ctx.(type) {
	case Values:
		e.vals, e.isVals = c, true
	case MultivaluedContext:
		e.mv = c
	}
	return e
}

// values returns the values of the canonical key, which the policy first
// spells spell ("" when it spells it key). For a Values map the order is
// fixed (see Values): the canonical spelling, then spell, then the scan, so
// the same key reads the same values wherever the policy names it and in
// every call.
func (e *evalContext) values(key, spell string) ([]string, bool) {
	if e.isVals {
		if v, ok := e.vals[key]; ok {
			return v, true
		}
		if spell != "" {
			if v, ok := e.vals[spell]; ok {
				return v, true
			}
		}
		return e.vals.fold(key)
	}
	if e.ctx == nil {
		return nil, false
	}
	return e.ctx.Values(key)
}

// multivalued reports whether the Context declares key multivalued.
func (e *evalContext) multivalued(key string) bool {
	return e.mv != nil && e.mv.Multivalued(key)
}
