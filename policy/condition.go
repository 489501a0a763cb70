package policy

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unique"
)

// condition is one compiled (operator, key) pair with its values.
type condition struct {
	key string // canonical (see canonKey), as passed to Context.Values
	// spell is the policy's first spelling of key when that is not key
	// itself, else "": the same for every condition and variable on key.
	// Evaluate looks a Values map up by it after key (see Values).
	spell string
	// info holds what only explanations and Lint read.
	info unique.Handle[condInfo]

	strs []pattern // String* (one per value)
	x    *condExtra

	op    parsedOp
	bools uint8 // Bool: bit 0 "false" listed, bit 1 "true" listed
	// flags holds the condition's facts below, one bit each, so that a
	// condition takes 80 bytes.
	flags condFlags
}

// condFlags are the facts a condition knows of itself.
type condFlags uint8

const (
	// condNullYes and condNullNo: Null lists "true" (the key must be
	// missing) and "false" (the key must be present).
	condNullYes condFlags = 1 << iota
	condNullNo
	// condMultivalued: the key is one Evaluate knows as multivalued (see
	// MultivaluedContext).
	condMultivalued
	// condUnresolved is the result of the condition when any of its
	// variables does not resolve to exactly one value: false in an Allow
	// statement, true in a Deny, so that an absent claim never widens access
	// (see Evaluate).
	condUnresolved
	// condMissing is the result when the key is missing or has no values.
	condMissing
)

func (c *condition) nullYes() bool     { return c.flags&condNullYes != 0 }
func (c *condition) nullNo() bool      { return c.flags&condNullNo != 0 }
func (c *condition) multivalued() bool { return c.flags&condMultivalued != 0 }
func (c *condition) unresolved() bool  { return c.flags&condUnresolved != 0 }
func (c *condition) missing() bool     { return c.flags&condMissing != 0 }

// setFlag sets or clears f.
func (c *condition) setFlag(f condFlags, on bool) {
	if on {
		c.flags |= f
	} else {
		c.flags &^= f
	}
}

// condInfo is the part of a condition that is the same in every policy
// naming the same key with the same operator at the same place, shared
// through unique.
type condInfo struct {
	key    string // canonical
	rawKey string // as written in the policy
	// reason is Decision.Reason when the condition fails because its key is
	// missing; without its last len(missingSuffix) bytes, when it fails
	// otherwise.
	reason string
}

// missingSuffix ends the reason of a condition that failed on a missing key.
const missingSuffix = ": key is missing"

// condExtra holds the values of the operators other than String* and the
// policy variables, which few trust policies have.
type condExtra struct {
	raw   []string       // the values as written, for Lint (all but String*)
	arns  []*[6]pattern  // Arn*: one pattern per ARN component
	nums  []float64      // Numeric*
	dates []instant      // Date*
	bins  []string       // BinaryEquals (decoded bytes)
	cidrs []netip.Prefix // IpAddress, NotIpAddress
	vars  []varRef       // policy variables used by strs or arns
}

// rawKey returns the key as the condition writes it.
func (c *condition) rawKey() string { return c.info.Value().rawKey }

// failReason returns Decision.Reason for the condition failing on a
// present key, and missingReason on a missing one.
func (c *condition) failReason() string {
	r := c.info.Value().reason
	return r[:len(r)-len(missingSuffix)]
}

func (c *condition) missingReason() string { return c.info.Value().reason }

// raw returns the values as written in the policy, for Lint.
func (c *condition) raw() []string {
	if c.x != nil && c.x.raw != nil {
		return c.x.raw
	}
	out := make([]string, len(c.strs))
	for i := range c.strs {
		out[i] = c.strs[i].text()
	}
	return out
}

// vars returns the policy variables of the condition.
func (c *condition) vars() []varRef {
	if c.x == nil {
		return nil
	}
	return c.x.vars
}

// extra returns c.x, allocating it.
func (c *condition) extra() *condExtra {
	if c.x == nil {
		c.x = &condExtra{}
	}
	return c.x
}

// compileCondition compiles one operator/key entry. vars says whether policy
// variables are enabled (Version 2012-10-17); label names the statement in
// explanations; deny says whether it is a Deny statement.
func compileCondition(op parsedOp, rawKey string, n *jnode, keyPath func() string, vars bool, label string, deny bool, in *interner) (condition, *ParseError) {
	if !validKey(rawKey) {
		return condition{}, perr(keyPath(), ReasonValue, "invalid condition key "+strconv.Quote(rawKey))
	}
	c := condition{op: op}
	c.setFlag(condUnresolved, deny)
	key := canonKey(rawKey)
	c.setFlag(condMultivalued, builtinMultivalued(key))
	var one [1]*jnode
	var vals []*jnode
	switch n.kind {
	case jString, jNumber, jBool:
		one[0] = n
		vals = one[:]
	case jArray:
		if len(n.elems) == 0 {
			return condition{}, perr(keyPath(), ReasonValue, "empty list of values")
		}
		vals = n.elems
	default:
		return condition{}, perr(keyPath(), ReasonType, "condition value must be a string, number, boolean or an array of them, not "+n.kind.String())
	}
	valuePath := func(i int) string { return elemPath(n, keyPath(), i) }
	var vs *varSet
	if vars {
		vs = &varSet{}
	}
	shared := sharedValues(key)
	str := op.kind == opStringEquals || op.kind == opStringEqualsIgnoreCase || op.kind == opStringLike
	if str {
		c.strs = make([]pattern, 0, len(vals))
	}
	for i, v := range vals {
		if v.kind != jString && v.kind != jNumber && v.kind != jBool {
			return condition{}, perr(valuePath(i), ReasonType, "condition value must be a string, number or boolean, not "+v.kind.String())
		}
		if err := c.addValue(v.text, valuePath, i, vs, shared, in); err != nil {
			return condition{}, err
		}
		if !str {
			x := c.extra()
			if x.raw == nil {
				x.raw = make([]string, 0, len(vals))
			}
			x.raw = append(x.raw, own(v.text))
		}
	}
	if vs != nil && len(vs.refs) > 0 {
		c.extra().vars = slices.Clip(vs.refs)
	}
	// The result on a missing key (or one with no values). The set operator
	// decides before IfExists: ForAnyValue: needs a value to hold, so
	// ForAnyValue:...IfExists is false on a missing key too (as AWS decides it).
	switch {
	case op.kind == opNull:
		c.setFlag(condMissing, c.nullYes())
	case op.set == setAnyValue:
		c.setFlag(condMissing, false)
	case op.set == setAllValues:
		c.setFlag(condMissing, true)
	case op.ifExists:
		c.setFlag(condMissing, true)
	default:
		c.setFlag(condMissing, op.negated)
	}
	var reason string
	if plainASCII(rawKey) {
		reason = label + ": condition " + op.name() + ` on "` + rawKey + `" did not match` + missingSuffix
	} else {
		reason = label + ": condition " + op.name() + " on " + strconv.Quote(rawKey) + " did not match" + missingSuffix
	}
	c.info = unique.Make(condInfo{key: key, rawKey: rawKey, reason: reason})
	c.key = c.info.Value().key
	return c, nil
}

// addValue compiles the value text, the i-th; valuePath gives its JSON
// path. shared says whether to share the text with other policies (see
// sharedValues) rather than copy it.
func (c *condition) addValue(text string, valuePath func(int) string, i int, vs *varSet, shared bool, in *interner) *ParseError {
	keep := func(s string) string {
		if shared {
			return in.str(s)
		}
		return own(s)
	}
	switch c.op.kind {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike:
		o := textOptions{wild: c.op.kind == opStringLike, fold: c.op.kind == opStringEqualsIgnoreCase, vars: vs}
		p, err := compileTextAt(text, o, func() string { return valuePath(i) })
		if err != nil {
			return err
		}
		if p.lit != "" {
			p.lit = keep(p.lit)
		}
		if !p.derivable(text) {
			if p.x == nil {
				p.x = &patternDetail{}
			}
			p.x.text = own(text)
		}
		c.strs = append(c.strs, p)
	case opArnLike:
		parts, ok := splitArnText(text, vs != nil)
		if !ok || parts[0] != "arn" {
			return perr(valuePath(i), ReasonValue, "not an ARN: want arn:partition:service:region:account:resource")
		}
		arn := new([6]pattern)
		for k := range parts {
			p, err := compileTextAt(parts[k], textOptions{wild: true, vars: vs}, func() string { return valuePath(i) })
			if err != nil {
				return err
			}
			switch {
			case p.lit == "":
			case k < 5:
				p.lit = in.str(p.lit) // partitions, services, regions, accounts repeat
			default:
				p.lit = own(p.lit)
			}
			arn[k] = p
		}
		x := c.extra()
		x.arns = append(x.arns, arn)
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		f, ok := parseNumber(text)
		if !ok {
			return perr(valuePath(i), ReasonValue, "invalid number "+strconv.Quote(text))
		}
		x := c.extra()
		x.nums = append(x.nums, f)
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		d, ok := parseDate(text)
		if !ok {
			return perr(valuePath(i), ReasonValue, "invalid date "+strconv.Quote(text)+": want ISO 8601 or epoch seconds")
		}
		x := c.extra()
		x.dates = append(x.dates, d)
	case opBool:
		b, ok := parseBool(text)
		if !ok {
			return perr(valuePath(i), ReasonValue, "invalid boolean "+strconv.Quote(text)+": want true or false")
		}
		if b {
			c.bools |= 2
		} else {
			c.bools |= 1
		}
	case opBinaryEquals:
		b, ok := parseBinary(text)
		if !ok {
			return perr(valuePath(i), ReasonValue, "invalid base64 value")
		}
		x := c.extra()
		x.bins = append(x.bins, b)
	case opIPAddress:
		p, ok := parseCIDR(text)
		if !ok {
			return perr(valuePath(i), ReasonValue, "invalid IP address or CIDR "+strconv.Quote(text))
		}
		x := c.extra()
		x.cidrs = append(x.cidrs, p)
	case opNull:
		b, ok := parseBool(text)
		if !ok {
			return perr(valuePath(i), ReasonValue, "invalid Null value "+strconv.Quote(text)+": want true or false")
		}
		if b {
			c.setFlag(condNullYes, true)
		} else {
			c.setFlag(condNullNo, true)
		}
	}
	return nil
}

// eval reports whether the condition holds for ctx, and whether the key was
// missing.
func (c *condition) eval(e *evalContext) (ok, missing bool) {
	vals, present := e.values(c.key, c.spell)
	if !present || len(vals) == 0 {
		return c.missing(), true
	}
	if c.op.kind == opNull {
		return c.nullNo(), false
	}
	if c.op.set == setNone && (c.multivalued() || e.multivalued(c.key)) {
		// A single-valued operator on a multivalued key: IAM says such keys
		// "require a condition set operator" and leaves the result open, so
		// fail closed as for an unresolved variable.
		return c.unresolved(), false
	}
	var resolved [maxVars]string
	if c.x != nil && len(c.x.vars) > 0 && resolveVars(e, c.x.vars, &resolved) != 0 {
		return c.unresolved(), false
	}
	neg := c.op.negated
	switch c.op.set {
	case setAllValues:
		for _, r := range vals {
			if c.matchAny(r, &resolved) == neg {
				return false, false
			}
		}
		return true, false
	case setAnyValue:
		for _, r := range vals {
			if c.matchAny(r, &resolved) != neg {
				return true, false
			}
		}
		return false, false
	}
	// No set operator: the positive comparison holds when any request value
	// matches any policy value; a negated operator holds when none does.
	for _, r := range vals {
		if c.matchAny(r, &resolved) {
			return !neg, false
		}
	}
	return neg, false
}

// matchAny reports whether the request value r matches any of the policy
// values under the positive form of the operator.
func (c *condition) matchAny(r string, resolved *[maxVars]string) bool {
	switch c.op.kind {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike:
		for i := range c.strs {
			if c.strs[i].match(r, resolved[:]) {
				return true
			}
		}
	case opArnLike:
		for _, v := range c.x.arns {
			if matchArn(v, r, resolved[:]) {
				return true
			}
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		f, ok := parseNumber(r)
		if !ok {
			return false
		}
		for _, v := range c.x.nums {
			if compareHolds(c.op.kind, cmpFloat(f, v)) {
				return true
			}
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		d, ok := parseDate(r)
		if !ok {
			return false
		}
		for _, v := range c.x.dates {
			if compareHolds(c.op.kind, d.cmp(v)) {
				return true
			}
		}
	case opBool:
		b, ok := requestBool(r)
		if !ok {
			return false
		}
		if b {
			return c.bools&2 != 0
		}
		return c.bools&1 != 0
	case opBinaryEquals:
		for _, v := range c.x.bins {
			if r == v {
				return true
			}
		}
	case opIPAddress:
		if strings.IndexByte(r, '%') >= 0 {
			return false // zoned addresses are never in a CIDR block
		}
		a, err := netip.ParseAddr(r)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.x.cidrs {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareHolds reports whether a comparison result (request cmp policy value)
// satisfies an ordered operator.
func compareHolds(k opKind, cmp int) bool {
	switch k {
	case opNumericEquals, opDateEquals:
		return cmp == 0
	case opNumericLessThan, opDateLessThan:
		return cmp < 0
	case opNumericLessThanEquals, opDateLessThanEquals:
		return cmp <= 0
	case opNumericGreaterThan, opDateGreaterThan:
		return cmp > 0
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return cmp >= 0
	}
	return false
}
