package policy

import (
	"slices"
	"strconv"
	"strings"
)

// Policy versions.
const (
	// Version20121017 is the current policy language version. Policy variables
	// are recognised only in this version.
	Version20121017 = "2012-10-17"
	// Version20081017 is the original version, assumed when a document has no
	// Version element. Text that looks like a policy variable is literal.
	Version20081017 = "2008-10-17"
)

// DefaultMaxSize is the size limit Parse applies: 10,240 bytes, counting
// every byte that is not JSON whitespace (space, tab, CR, LF), as IAM counts.
const DefaultMaxSize = 10240

// ParseOptions tunes ParseWithOptions. The zero value is what Parse uses.
type ParseOptions struct {
	// MaxSize is the largest document accepted, in bytes that are not JSON
	// whitespace. If zero or negative, DefaultMaxSize is used.
	MaxSize int
}

// Policy is a parsed and compiled policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	version string
	id      string
	stmts   []statement
	denies  []int // indexes of Deny statements
	allows  []int // indexes of Allow statements
	keys    []string
}

// statement is one compiled statement.
type statement struct {
	index int
	path  string // "Statement[i]", or "Statement" when the element is one object
	sid   string
	deny  bool

	principal principalSet

	actions   []pattern
	rawAction []string
	notAction bool

	conds          []*condition
	emptyCondition bool // the statement has "Condition": {}
	vars           bool // policy variables are enabled (version 2012-10-17)

	matchReason     string // Decision.Reason when the statement matches
	principalReason string // Decision.Reason when the principal fails
	actionReason    string
}

// Parse parses and compiles a role trust policy with the default options.
// See ParseWithOptions.
func Parse(doc []byte) (*Policy, error) {
	return ParseWithOptions(doc, ParseOptions{})
}

// ParseWithOptions parses and compiles a role trust policy. It is strict:
// any error is a *ParseError whose Path locates the problem. Beyond JSON
// syntax it rejects duplicate member names, unknown elements, both X and NotX
// in one statement, a statement without Effect, without Action/NotAction or
// without Principal (a trust policy must name who may assume the role),
// NotPrincipal (ReasonNotAllowed: IAM does not allow it in a role trust
// policy, and evaluating {"Effect": "Allow", "NotPrincipal": ...} would trust
// every other principal, every other provider included), Resource and
// NotResource (ReasonNotAllowed: IAM refuses them in a role trust policy with
// "MalformedPolicyDocument: Has prohibited field Resource"; the role is the
// resource), unknown or malformed condition operators, values of the wrong
// type, empty value lists, and operands that do not parse for their operator
// (numbers, dates, booleans, CIDRs, base64, ARNs, policy variables).
//
// Element names, Effect values and operator names are case-sensitive, as in
// IAM. Condition keys are case-insensitive; one operator may not name the same
// key twice in different cases. Numbers and booleans in condition values are
// taken as their JSON text.
func ParseWithOptions(doc []byte, opts ParseOptions) (*Policy, error) {
	p, err := parse(doc, opts)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func parse(doc []byte, opts ParseOptions) (*Policy, *ParseError) {
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if n := nonSpaceLen(doc); n > limit {
		return nil, perr("", ReasonTooLarge, "policy is "+itoa(n)+" bytes without whitespace, over the limit of "+itoa(limit))
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	if root.kind != jObject {
		return nil, perr("", ReasonType, "policy must be a JSON object, not "+root.kind.String())
	}
	p := &Policy{version: Version20081017}
	var stmtNode *jnode
	for i, name := range root.names {
		v := root.members[i]
		switch name {
		case "Version":
			if v.kind != jString {
				return nil, perr(name, ReasonType, "Version must be a string")
			}
			if v.text != Version20121017 && v.text != Version20081017 {
				return nil, perr(name, ReasonValue, "unsupported Version "+strconv.Quote(v.text)+": want 2012-10-17 or 2008-10-17")
			}
			p.version = v.text
		case "Id":
			if v.kind != jString {
				return nil, perr(name, ReasonType, "Id must be a string")
			}
			p.id = v.text
		case "Statement":
			stmtNode = v
		default:
			return nil, perr(joinName("", name), ReasonUnknown, "unknown element "+strconv.Quote(name))
		}
	}
	if stmtNode == nil {
		return nil, perr("Statement", ReasonMissing, "missing Statement")
	}
	vars := p.version == Version20121017
	sids := map[string]int{}
	switch stmtNode.kind {
	case jObject:
		s, err := parseStatement(stmtNode, 0, "Statement", vars)
		if err != nil {
			return nil, err
		}
		p.stmts = append(p.stmts, *s)
	case jArray:
		if len(stmtNode.elems) == 0 {
			return nil, perr("Statement", ReasonValue, "empty Statement list")
		}
		for i, e := range stmtNode.elems {
			s, err := parseStatement(e, i, joinIndex("Statement", i), vars)
			if err != nil {
				return nil, err
			}
			p.stmts = append(p.stmts, *s)
		}
	default:
		return nil, perr("Statement", ReasonType, "Statement must be an object or an array of objects, not "+stmtNode.kind.String())
	}
	// spell maps each canonical key to the policy's first spelling of it.
	spell := map[string]string{}
	first := func(key, raw string) string {
		if s, ok := spell[key]; ok {
			return s
		}
		spell[key] = raw
		return raw
	}
	for i := range p.stmts {
		s := &p.stmts[i]
		if s.sid != "" {
			if j, dup := sids[s.sid]; dup {
				return nil, perr(s.path+".Sid", ReasonDuplicate, "duplicate Sid "+strconv.Quote(s.sid)+" (also in "+p.stmts[j].path+")")
			}
			sids[s.sid] = i
		}
		if s.deny {
			p.denies = append(p.denies, i)
		} else {
			p.allows = append(p.allows, i)
		}
		for _, c := range s.conds {
			c.spell = first(c.key, c.rawKey)
			for j := range c.vars {
				c.vars[j].spell = first(c.vars[j].key, c.vars[j].raw)
			}
		}
	}
	for k := range spell {
		p.keys = append(p.keys, k)
	}
	slices.Sort(p.keys)
	return p, nil
}

var statementElements = map[string]bool{
	"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
	"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
}

func parseStatement(n *jnode, index int, path string, vars bool) (*statement, *ParseError) {
	if n.kind != jObject {
		return nil, perr(path, ReasonType, "statement must be an object, not "+n.kind.String())
	}
	for _, name := range n.names {
		if !statementElements[name] {
			return nil, perr(joinName(path, name), ReasonUnknown, "unknown element "+strconv.Quote(name))
		}
	}
	s := &statement{index: index, path: path, vars: vars}
	for _, pair := range [][2]string{{"Principal", "NotPrincipal"}, {"Action", "NotAction"}} {
		if n.member(pair[0]) != nil && n.member(pair[1]) != nil {
			return nil, perr(path+"."+pair[1], ReasonConflict, "statement has both "+pair[0]+" and "+pair[1])
		}
	}

	if v := n.member("Sid"); v != nil {
		if v.kind != jString {
			return nil, perr(path+".Sid", ReasonType, "Sid must be a string")
		}
		for _, c := range []byte(v.text) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return nil, perr(path+".Sid", ReasonValue, "Sid must contain only ASCII letters and digits")
			}
		}
		s.sid = v.text
	}

	switch v := n.member("Effect"); {
	case v == nil:
		return nil, perr(path+".Effect", ReasonMissing, "missing Effect")
	case v.kind != jString:
		return nil, perr(path+".Effect", ReasonType, "Effect must be a string")
	case v.text == "Allow":
	case v.text == "Deny":
		s.deny = true
	default:
		return nil, perr(path+".Effect", ReasonValue, "Effect must be Allow or Deny, not "+strconv.Quote(v.text))
	}

	if n.member("NotPrincipal") != nil {
		return nil, perr(path+".NotPrincipal", ReasonNotAllowed, "NotPrincipal is not allowed in a role trust policy; name the trusted principal in Principal")
	}
	pn := n.member("Principal")
	if pn == nil {
		return nil, perr(path+".Principal", ReasonMissing, "missing Principal: a trust policy statement must name its principal")
	}
	ps, err := parsePrincipal(pn, path+".Principal")
	if err != nil {
		return nil, err
	}
	s.principal = ps

	aname := "Action"
	an := n.member("Action")
	if an == nil {
		aname, an, s.notAction = "NotAction", n.member("NotAction"), true
	}
	if an == nil {
		return nil, perr(path+".Action", ReasonMissing, "missing Action")
	}
	actions, paths, err := stringList(an, path+"."+aname)
	if err != nil {
		return nil, err
	}
	for i, a := range actions {
		if !validAction(a) {
			return nil, perr(paths[i], ReasonValue, "invalid action "+strconv.Quote(a)+": want \"*\" or service:action")
		}
		s.actions = append(s.actions, compileGlob(a, true))
	}
	s.rawAction = actions

	// A trust policy is attached to the role it governs: IAM refuses
	// Resource and NotResource in it ("Has prohibited field Resource").
	for _, name := range [...]string{"Resource", "NotResource"} {
		if n.member(name) != nil {
			return nil, perr(path+"."+name, ReasonNotAllowed, name+" is not allowed in a role trust policy: the role is the resource")
		}
	}

	if cn := n.member("Condition"); cn != nil {
		// "Condition": {} is no condition: IAM accepts it (AWS's own EKS
		// cross-account guide shows it in a trust policy). Lint notes it.
		s.emptyCondition = cn.kind == jObject && len(cn.names) == 0
		conds, err := parseCondition(cn, path+".Condition", vars)
		if err != nil {
			return nil, err
		}
		s.conds = conds
		for _, c := range conds {
			c.unresolved = s.deny
		}
	}
	s.prepareReasons()
	return s, nil
}

func parseCondition(n *jnode, path string, vars bool) ([]*condition, *ParseError) {
	if n.kind != jObject {
		return nil, perr(path, ReasonType, "Condition must be an object, not "+n.kind.String())
	}
	var conds []*condition
	for i, opName := range n.names {
		opPath := joinName(path, opName)
		op, err := parseOperator(opName, opPath)
		if err != nil {
			return nil, err
		}
		block := n.members[i]
		if block.kind != jObject {
			return nil, perr(opPath, ReasonType, "operator block must be an object of condition keys, not "+block.kind.String())
		}
		if len(block.names) == 0 {
			return nil, perr(opPath, ReasonValue, "operator block has no condition keys")
		}
		seen := map[string]string{}
		for j, key := range block.names {
			keyPath := joinName(opPath, key)
			lk := canonKey(key)
			if prev, dup := seen[lk]; dup {
				return nil, perr(keyPath, ReasonDuplicate, "condition key "+strconv.Quote(key)+" repeats "+strconv.Quote(prev)+" (keys are case-insensitive)")
			}
			seen[lk] = key
			c, err := compileCondition(op, key, block.members[j], keyPath, vars)
			if err != nil {
				return nil, err
			}
			conds = append(conds, c)
		}
	}
	return conds, nil
}

// stringList reads a string or a non-empty array of strings.
func stringList(n *jnode, path string) ([]string, []string, *ParseError) {
	switch n.kind {
	case jString:
		return []string{n.text}, []string{path}, nil
	case jArray:
		if len(n.elems) == 0 {
			return nil, nil, perr(path, ReasonValue, "empty list")
		}
		out := make([]string, 0, len(n.elems))
		paths := make([]string, 0, len(n.elems))
		for i, e := range n.elems {
			if e.kind != jString {
				return nil, nil, perr(joinIndex(path, i), ReasonType, "want a string, not "+e.kind.String())
			}
			out = append(out, e.text)
			paths = append(paths, joinIndex(path, i))
		}
		return out, paths, nil
	}
	return nil, nil, perr(path, ReasonType, "want a string or an array of strings, not "+n.kind.String())
}

// validAction accepts "*" and service:action, where service is letters,
// digits and '-' and the action part is non-empty; '*' and '?' may appear
// anywhere in either part.
func validAction(a string) bool {
	if a == "*" {
		return true
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" || strings.ContainsRune(name, ':') {
		return false
	}
	for _, c := range []byte(svc) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '*' || c == '?') {
			return false
		}
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r >= 0x80 {
			return false
		}
	}
	return true
}

func (s *statement) prepareReasons() {
	label := s.path
	if s.sid != "" {
		label += " (Sid " + s.sid + ")"
	}
	if s.deny {
		s.matchReason = label + ": explicitly denied"
	} else {
		s.matchReason = label + ": allowed"
	}
	s.principalReason = label + ": principal did not match"
	if s.notAction {
		s.actionReason = label + ": action is excluded by NotAction"
	} else {
		s.actionReason = label + ": action did not match"
	}
	for _, c := range s.conds {
		what := label + ": condition " + c.op.name + " on " + strconv.Quote(c.rawKey)
		c.failReason = what + " did not match"
		c.missingReason = what + " did not match: key is missing"
	}
}

// Version returns the policy language version in effect: "2012-10-17" or
// "2008-10-17" (also when the document has no Version element).
func (p *Policy) Version() string { return p.version }

// ID returns the policy's Id element, or "".
func (p *Policy) ID() string { return p.id }

// Keys returns the condition keys the policy references, in canonical form,
// sorted and without duplicates: the keys of every condition and the keys
// named by policy variables. The canonical form of a key is the key with
// ASCII letters lower-cased and every other rune replaced by the canonical
// member of its Unicode case-folding orbit (U+017F LONG S is "s", U+212A
// KELVIN SIGN is "k"; a key of ASCII letters is simply lower-cased); two
// spellings name the same key exactly when their canonical forms are equal.
// A caller needs to build only these keys into the Context; Evaluate asks
// for nothing else, and always in this form. (Context implementations may
// store keys in any case as long as their lookup folds case, as Values
// does.) The slice is a copy.
func (p *Policy) Keys() []string { return slices.Clone(p.keys) }
