package policy

import (
	"net/netip"
	"strconv"
	"strings"
)

// condition is one compiled (operator, key) pair with its values.
type condition struct {
	op     parsedOp
	key    string // canonical (see canonKey), as passed to Context.Values
	rawKey string // as written in the policy
	// spell is the policy's first spelling of key, the same for every
	// condition and variable on key: Evaluate looks a Values map up by it
	// after key (see Values).
	spell string
	path  string // JSON path of the key

	raw []string // the values as text, for Lint

	// Exactly one of these holds the values, by op.kind.
	strs    []strValue     // String*, Arn*
	nums    []float64      // Numeric*
	dates   []instant      // Date*
	bools   uint8          // Bool: bit 0 "false" listed, bit 1 "true" listed
	bins    []string       // BinaryEquals (decoded bytes)
	cidrs   []netip.Prefix // IpAddress, NotIpAddress
	nullYes bool           // Null: "true" listed (the key must be missing)
	nullNo  bool           // Null: "false" listed (the key must be present)

	vars []varRef // policy variables used by strs

	// multivalued: the key is one Evaluate knows as multivalued (see
	// MultivaluedContext).
	multivalued bool

	// unresolved is the result of the condition when any of vars does not
	// resolve to exactly one value: false in an Allow statement, true in a
	// Deny, so that an absent claim never widens access (see Evaluate).
	unresolved bool

	// missing is the result when the key is missing or has no values.
	missing bool

	failReason    string // prepared Decision.Reason when the condition fails
	missingReason string // the same, when it fails because the key is missing
}

// strValue is a compiled String* or Arn* value.
type strValue struct {
	pat pattern     // String*
	arn *[6]pattern // Arn*: one pattern per ARN component
}

// compileCondition compiles one operator/key entry. vars says whether policy
// variables are enabled (Version 2012-10-17).
func compileCondition(op parsedOp, rawKey string, n *jnode, path string, vars bool) (*condition, *ParseError) {
	if !validKey(rawKey) {
		return nil, perr(path, ReasonValue, "invalid condition key "+strconv.Quote(rawKey))
	}
	c := &condition{op: op, key: canonKey(rawKey), rawKey: rawKey, path: path}
	c.multivalued = builtinMultivalued(c.key)
	var vals []*jnode
	var paths []string
	switch n.kind {
	case jString, jNumber, jBool:
		vals, paths = []*jnode{n}, []string{path}
	case jArray:
		if len(n.elems) == 0 {
			return nil, perr(path, ReasonValue, "empty list of values")
		}
		vals = n.elems
		for i := range vals {
			paths = append(paths, joinIndex(path, i))
		}
	default:
		return nil, perr(path, ReasonType, "condition value must be a string, number, boolean or an array of them, not "+n.kind.String())
	}
	var vs *varSet
	if vars {
		vs = &varSet{}
	}
	for i, v := range vals {
		if v.kind != jString && v.kind != jNumber && v.kind != jBool {
			return nil, perr(paths[i], ReasonType, "condition value must be a string, number or boolean, not "+v.kind.String())
		}
		if err := c.addValue(v.text, paths[i], vs); err != nil {
			return nil, err
		}
		c.raw = append(c.raw, v.text)
	}
	if vs != nil {
		c.vars = vs.refs
	}
	// The result on a missing key (or one with no values). The set operator
	// decides before IfExists: ForAnyValue: needs a value to hold, so
	// ForAnyValue:...IfExists is false on a missing key too (as AWS decides it).
	switch {
	case op.kind == opNull:
		c.missing = c.nullYes
	case op.set == setAnyValue:
		c.missing = false
	case op.set == setAllValues:
		c.missing = true
	case op.ifExists:
		c.missing = true
	default:
		c.missing = op.negated
	}
	return c, nil
}

func (c *condition) addValue(text, path string, vs *varSet) *ParseError {
	switch c.op.kind {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike:
		o := textOptions{wild: c.op.kind == opStringLike, fold: c.op.kind == opStringEqualsIgnoreCase, vars: vs}
		p, err := compileText(text, o, path)
		if err != nil {
			return err
		}
		c.strs = append(c.strs, strValue{pat: p})
	case opArnLike:
		parts, ok := splitArnText(text, vs != nil)
		if !ok || parts[0] != "arn" {
			return perr(path, ReasonValue, "not an ARN: want arn:partition:service:region:account:resource")
		}
		arn := new([6]pattern)
		for k := range parts {
			p, err := compileText(parts[k], textOptions{wild: true, vars: vs}, path)
			if err != nil {
				return err
			}
			arn[k] = p
		}
		c.strs = append(c.strs, strValue{arn: arn})
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		f, ok := parseNumber(text)
		if !ok {
			return perr(path, ReasonValue, "invalid number "+strconv.Quote(text))
		}
		c.nums = append(c.nums, f)
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		d, ok := parseDate(text)
		if !ok {
			return perr(path, ReasonValue, "invalid date "+strconv.Quote(text)+": want ISO 8601 or epoch seconds")
		}
		c.dates = append(c.dates, d)
	case opBool:
		b, ok := parseBool(text)
		if !ok {
			return perr(path, ReasonValue, "invalid boolean "+strconv.Quote(text)+": want true or false")
		}
		if b {
			c.bools |= 2
		} else {
			c.bools |= 1
		}
	case opBinaryEquals:
		b, ok := parseBinary(text)
		if !ok {
			return perr(path, ReasonValue, "invalid base64 value")
		}
		c.bins = append(c.bins, b)
	case opIPAddress:
		p, ok := parseCIDR(text)
		if !ok {
			return perr(path, ReasonValue, "invalid IP address or CIDR "+strconv.Quote(text))
		}
		c.cidrs = append(c.cidrs, p)
	case opNull:
		b, ok := parseBool(text)
		if !ok {
			return perr(path, ReasonValue, "invalid Null value "+strconv.Quote(text)+": want true or false")
		}
		if b {
			c.nullYes = true
		} else {
			c.nullNo = true
		}
	}
	return nil
}

// eval reports whether the condition holds for ctx, and whether the key was
// missing.
func (c *condition) eval(e *evalContext) (ok, missing bool) {
	vals, present := e.values(c.key, c.spell)
	if !present || len(vals) == 0 {
		return c.missing, true
	}
	if c.op.kind == opNull {
		return c.nullNo, false
	}
	if c.op.set == setNone && (c.multivalued || e.multivalued(c.key)) {
		// A single-valued operator on a multivalued key: IAM says such keys
		// "require a condition set operator" and leaves the result open, so
		// fail closed as for an unresolved variable.
		return c.unresolved, false
	}
	var resolved [maxVars]string
	if len(c.vars) > 0 && resolveVars(e, c.vars, &resolved) != 0 {
		return c.unresolved, false
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
			v := &c.strs[i]
			if v.pat.match(r, resolved[:]) {
				return true
			}
		}
	case opArnLike:
		for i := range c.strs {
			v := &c.strs[i]
			if matchArn(v.arn, r, resolved[:]) {
				return true
			}
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		f, ok := parseNumber(r)
		if !ok {
			return false
		}
		for _, v := range c.nums {
			if compareHolds(c.op.kind, cmpFloat(f, v)) {
				return true
			}
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		d, ok := parseDate(r)
		if !ok {
			return false
		}
		for _, v := range c.dates {
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
		for _, v := range c.bins {
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
		for _, p := range c.cidrs {
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
