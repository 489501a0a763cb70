package policy

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unique"
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
	stmts []statement
	x     *policyExtra // nil when the policy has no Id and shares no string
	vars  bool         // Version 2012-10-17: policy variables are enabled
	// fast, when set, is the fast form in the policy's block, which
	// decides the requests it allows (see pack and fastForm). A pointer,
	// not a flag with the form found next to the Policy, so that a copy of
	// the Policy value stays safe to use.
	fast *fastForm
}

// policyExtra is what a Policy holds beyond its statements, which a packed
// typical policy does without (see pack).
type policyExtra struct {
	id string
	// keep holds the handles of the shared strings that the statements
	// keep as plain strings (see interner).
	keep []unique.Handle[string]
}

// statement is one compiled statement.
type statement struct {
	// labels holds what explanations and Lint read: one entry for every
	// statement of the same Sid and effect at the same place, so that
	// reading it costs a line that is in the cache (most trust policies have
	// no Sid and one Allow statement).
	labels unique.Handle[stmtLabels]

	principal principalSet
	actions   []pattern
	conds     []condition

	deny           bool
	notAction      bool
	emptyCondition bool // the statement has "Condition": {}
	vars           bool // policy variables are enabled (version 2012-10-17)
}

// stmtLabels is the part of a statement that is the same in every policy
// with a statement of the same Sid and effect at the same place, shared
// through unique.
type stmtLabels struct {
	path      string // "Statement[i]", or "Statement" when the element is one object
	sid       string
	match     string // Decision.Reason when the statement matches
	principal string // Decision.Reason when the principal fails
	action    string // Decision.Reason when the action fails
}

func (s *statement) path() string { return s.labels.Value().path }

// sid returns the statement's Sid, or "".
func (s *statement) sid() string { return s.labels.Value().sid }

// matchReason returns Decision.Reason for the statement matching.
func (s *statement) matchReason() string { return s.labels.Value().match }

// condPath returns the JSON path of the condition's key.
func (s *statement) condPath(c *condition) string {
	return joinName(joinName(s.path()+".Condition", c.op.name()), c.rawKey())
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
	if !utf8.Valid(doc) {
		return nil, perr("", ReasonSyntax, "document is not valid UTF-8")
	}
	return parseText(string(doc))
}

// parseText parses a document of valid UTF-8 that is within the size limit.
// The compiled policy does not refer to text (see decodeText).
func parseText(text string) (*Policy, *ParseError) {
	return compileDocument(text, true)
}

// compileDocument is parseText, which packs the policy when it fits a block
// if packIt is set (see pack).
func compileDocument(text string, packIt bool) (*Policy, *ParseError) {
	root, err := decodeText(text)
	if err != nil {
		return nil, err
	}
	if root.kind != jObject {
		return nil, perr("", ReasonType, "policy must be a JSON object, not "+root.kind.String())
	}
	p := &Policy{}
	var id string
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
			p.vars = v.text == Version20121017
		case "Id":
			if v.kind != jString {
				return nil, perr(name, ReasonType, "Id must be a string")
			}
			id = own(v.text)
		case "Statement":
			stmtNode = v
		default:
			return nil, perr(joinName("", name), ReasonUnknown, "unknown element "+strconv.Quote(name))
		}
	}
	if stmtNode == nil {
		return nil, perr("Statement", ReasonMissing, "missing Statement")
	}
	vars := p.vars
	// Interning waits until it is known whether the policy is packed,
	// which copies its strings instead.
	in := interner{deferred: packIt}
	switch stmtNode.kind {
	case jObject:
		s, err := parseStatement(stmtNode, "Statement", vars, &in)
		if err != nil {
			return nil, err
		}
		p.stmts = []statement{s}
	case jArray:
		if len(stmtNode.elems) == 0 {
			return nil, perr("Statement", ReasonValue, "empty Statement list")
		}
		p.stmts = make([]statement, 0, len(stmtNode.elems))
		for i, e := range stmtNode.elems {
			s, err := parseStatement(e, joinIndex("Statement", i), vars, &in)
			if err != nil {
				return nil, err
			}
			p.stmts = append(p.stmts, s)
		}
	default:
		return nil, perr("Statement", ReasonType, "Statement must be an object or an array of objects, not "+stmtNode.kind.String())
	}
	var sids map[string]int // Sid -> statement, for a policy of many statements
	if len(p.stmts) > smallSet {
		sids = make(map[string]int, len(p.stmts))
	}
	for i := range p.stmts {
		s := &p.stmts[i]
		sid := s.sid()
		if sid == "" {
			continue
		}
		j, dup := -1, false
		if sids != nil {
			j, dup = sids[sid]
			sids[sid] = i
		} else {
			for k := range i {
				if p.stmts[k].sid() == sid {
					j, dup = k, true
					break
				}
			}
		}
		if dup {
			return nil, perr(s.path()+".Sid", ReasonDuplicate, "duplicate Sid "+strconv.Quote(sid)+" (also in "+p.stmts[j].path()+")")
		}
	}
	// Each canonical key is looked up by the policy's first spelling of it
	// (see Values), wherever the policy names it. first returns the spelling
	// to store: "" when it is the key itself. Policies name few keys: a list
	// does, up to smallSet of them.
	type spelling struct{ key, spell string }
	var buf [smallSet]spelling
	seen := buf[:0]
	var seenMap map[string]string // once seen outgrows smallSet
	first := func(key, raw string) string {
		if seenMap != nil {
			if sp, ok := seenMap[key]; ok {
				return sp
			}
		} else {
			for _, s := range seen {
				if s.key == key {
					return s.spell
				}
			}
		}
		sp := raw
		if raw == key {
			sp = ""
		}
		switch {
		case seenMap != nil:
			seenMap[key] = sp
		case len(seen) < smallSet:
			seen = append(seen, spelling{key, sp})
		default:
			seenMap = make(map[string]string, 4*smallSet)
			for _, s := range seen {
				seenMap[s.key] = s.spell
			}
			seenMap[key] = sp
		}
		return sp
	}
	for i := range p.stmts {
		for j := range p.stmts[i].conds {
			c := &p.stmts[i].conds[j]
			c.spell = first(c.key, c.rawKey())
			for k := range c.vars() {
				r := &c.x.vars[k]
				r.spell = first(r.key, r.raw)
			}
		}
	}
	if packIt {
		if q := pack(p, id); q != p {
			return q, nil // its own copies of every string: nothing to keep
		}
		in.deferred = false
		internShared(p, &in)
	}
	if keep := in.handles(); id != "" || keep != nil {
		p.x = &policyExtra{id: id, keep: keep}
	}
	return p, nil
}

var statementElements = map[string]bool{
	"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true,
	"Action": true, "NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
}

func parseStatement(n *jnode, path string, vars bool, in *interner) (statement, *ParseError) {
	var s statement
	if n.kind != jObject {
		return s, perr(path, ReasonType, "statement must be an object, not "+n.kind.String())
	}
	for _, name := range n.names {
		if !statementElements[name] {
			return s, perr(joinName(path, name), ReasonUnknown, "unknown element "+strconv.Quote(name))
		}
	}
	s.vars = vars
	for _, pair := range [][2]string{{"Principal", "NotPrincipal"}, {"Action", "NotAction"}} {
		if n.member(pair[0]) != nil && n.member(pair[1]) != nil {
			return s, perr(path+"."+pair[1], ReasonConflict, "statement has both "+pair[0]+" and "+pair[1])
		}
	}

	sid := ""
	if v := n.member("Sid"); v != nil {
		if v.kind != jString {
			return s, perr(path+".Sid", ReasonType, "Sid must be a string")
		}
		for _, c := range []byte(v.text) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return s, perr(path+".Sid", ReasonValue, "Sid must contain only ASCII letters and digits")
			}
		}
		sid = v.text
	}

	switch v := n.member("Effect"); {
	case v == nil:
		return s, perr(path+".Effect", ReasonMissing, "missing Effect")
	case v.kind != jString:
		return s, perr(path+".Effect", ReasonType, "Effect must be a string")
	case v.text == "Allow":
	case v.text == "Deny":
		s.deny = true
	default:
		return s, perr(path+".Effect", ReasonValue, "Effect must be Allow or Deny, not "+strconv.Quote(v.text))
	}

	if n.member("NotPrincipal") != nil {
		return s, perr(path+".NotPrincipal", ReasonNotAllowed, "NotPrincipal is not allowed in a role trust policy; name the trusted principal in Principal")
	}
	pn := n.member("Principal")
	if pn == nil {
		return s, perr(path+".Principal", ReasonMissing, "missing Principal: a trust policy statement must name its principal")
	}
	ps, err := parsePrincipal(pn, path+".Principal", in)
	if err != nil {
		return s, err
	}
	s.principal = ps

	aname := "Action"
	an := n.member("Action")
	if an == nil {
		aname, an, s.notAction = "NotAction", n.member("NotAction"), true
	}
	if an == nil {
		return s, perr(path+".Action", ReasonMissing, "missing Action")
	}
	apath := path + "." + aname
	actions, err := stringList(an, apath)
	if err != nil {
		return s, err
	}
	if s.actions = commonActions(actions); s.actions == nil {
		s.actions = make([]pattern, 0, len(actions))
		for i, a := range actions {
			if !validAction(a) {
				return s, perr(elemPath(an, apath, i), ReasonValue, "invalid action "+strconv.Quote(a)+": want \"*\" or service:action")
			}
			p := compileGlob(a, true)
			if p.lit != "" {
				p.lit = in.str(p.lit) // the same few actions in every trust policy
			}
			s.actions = append(s.actions, p)
		}
	}

	// A trust policy is attached to the role it governs: IAM refuses
	// Resource and NotResource in it ("Has prohibited field Resource").
	for _, name := range [...]string{"Resource", "NotResource"} {
		if n.member(name) != nil {
			return s, perr(path+"."+name, ReasonNotAllowed, name+" is not allowed in a role trust policy: the role is the resource")
		}
	}

	label := path
	if sid != "" {
		label += " (Sid " + sid + ")"
	}
	if cn := n.member("Condition"); cn != nil {
		// "Condition": {} is no condition: IAM accepts it (AWS's own EKS
		// cross-account guide shows it in a trust policy). Lint notes it.
		s.emptyCondition = cn.kind == jObject && len(cn.names) == 0
		conds, err := parseCondition(cn, path+".Condition", vars, label, s.deny, in)
		if err != nil {
			return s, err
		}
		s.conds = conds
	}
	// The three explanations, built as one string (unique copies each).
	match, action := ": allowed", ": action did not match"
	if s.deny {
		match = ": explicitly denied"
	}
	if s.notAction {
		action = ": action is excluded by NotAction"
	}
	const principal = ": principal did not match"
	all := label + match + label + principal + label + action
	n1, n2 := len(label)+len(match), 2*len(label)+len(match)+len(principal)
	s.labels = unique.Make(stmtLabels{path: path, sid: sid, match: all[:n1], principal: all[n1:n2], action: all[n2:]})
	return s, nil
}

func parseCondition(n *jnode, path string, vars bool, label string, deny bool, in *interner) ([]condition, *ParseError) {
	if n.kind != jObject {
		return nil, perr(path, ReasonType, "Condition must be an object, not "+n.kind.String())
	}
	count := 0
	for _, block := range n.members {
		count += len(block.names)
	}
	var conds []condition
	if count > 0 {
		conds = make([]condition, 0, count)
	}
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
		var seen map[string]string // canonical key -> key, for a large block
		if len(block.names) > smallSet {
			seen = make(map[string]string, len(block.names))
		}
		for j, key := range block.names {
			keyPath := func() string { return joinName(opPath, key) }
			prev, dup := "", false
			if seen != nil {
				lk := canonKey(key)
				prev, dup = seen[lk]
				seen[lk] = key
			} else {
				for _, x := range block.names[:j] {
					if sameKey(x, key) {
						prev, dup = x, true
						break
					}
				}
			}
			if dup {
				return nil, perr(keyPath(), ReasonDuplicate, "condition key "+strconv.Quote(key)+" repeats "+strconv.Quote(prev)+" (keys are case-insensitive)")
			}
			c, err := compileCondition(op, key, block.members[j], keyPath, vars, label, deny, in)
			if err != nil {
				return nil, err
			}
			conds = append(conds, c)
		}
	}
	return conds, nil
}

// commonLists are the Action lists nearly every trust policy has, compiled
// once: their statements share them.
var commonLists = func() [][]pattern {
	var out [][]pattern
	for _, list := range [][]string{
		{"sts:AssumeRoleWithWebIdentity"},
		{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"},
	} {
		ps := make([]pattern, len(list))
		for i, a := range list {
			ps[i] = compileGlob(a, true)
		}
		out = append(out, ps)
	}
	return out
}()

// commonActions returns the compiled form of actions if it is one of
// commonLists (written exactly so), or nil.
func commonActions(actions []string) []pattern {
	for _, ps := range commonLists {
		if len(ps) != len(actions) {
			continue
		}
		same := true
		for i := range ps {
			same = same && ps[i].lit == actions[i]
		}
		if same {
			return ps
		}
	}
	return nil
}

// stringList reads a string or a non-empty array of strings. The strings
// are the document's (see decodeJSON); elemPath gives the path of each.
func stringList(n *jnode, path string) ([]string, *ParseError) {
	switch n.kind {
	case jString:
		return []string{n.text}, nil
	case jArray:
		if len(n.elems) == 0 {
			return nil, perr(path, ReasonValue, "empty list")
		}
		out := make([]string, 0, len(n.elems))
		for i, e := range n.elems {
			if e.kind != jString {
				return nil, perr(joinIndex(path, i), ReasonType, "want a string, not "+e.kind.String())
			}
			out = append(out, e.text)
		}
		return out, nil
	}
	return nil, perr(path, ReasonType, "want a string or an array of strings, not "+n.kind.String())
}

// elemPath returns the path of the i-th value of a list that stringList or
// a condition read from n at path: path itself for a single value.
func elemPath(n *jnode, path string, i int) string {
	if n.kind == jArray {
		return joinIndex(path, i)
	}
	return path
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

// Version returns the policy language version in effect: "2012-10-17" or
// "2008-10-17" (also when the document has no Version element).
func (p *Policy) Version() string {
	if p.vars {
		return Version20121017
	}
	return Version20081017
}

// ID returns the policy's Id element, or "".
func (p *Policy) ID() string {
	if p.x == nil {
		return ""
	}
	return p.x.id
}

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
func (p *Policy) Keys() []string {
	var keys []string
	for i := range p.stmts {
		for j := range p.stmts[i].conds {
			c := &p.stmts[i].conds[j]
			keys = append(keys, c.key)
			for _, v := range c.vars() {
				keys = append(keys, v.key)
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
