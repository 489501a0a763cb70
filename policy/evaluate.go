package policy

// Reasons for decisions that rest on no statement.
const (
	reasonNoAllow    = "no statement allows the request"
	reasonNilRequest = "no request"
	reasonNilPolicy  = "no policy"
)

// Evaluate decides req against the policy, with IAM's logic: a matching Deny
// statement wins (ExplicitDeny); otherwise a matching Allow statement allows
// (Allow); otherwise the answer is ImplicitDeny.
//
// A statement matches when its principal, action and every one of its
// conditions match (a trust policy has no Resource element: Parse refuses
// Resource and NotResource, and req.Resource is not consulted):
//
//   - Principal: Type and ID compared exactly. "*" and {"AWS": "*"} match
//     everyone, {"Federated": "*"} every federated principal; a 12-digit
//     account ID under AWS means arn:aws:iam::<id>:root.
//   - Action: case-insensitive, with '*' and '?' wildcards.
//   - NotAction matches when the request's action matches none of the listed
//     values. (Parse refuses NotPrincipal, which IAM does not allow in a role
//     trust policy.)
//
// Condition semantics, as documented by IAM:
//
//   - Operators are ANDed, keys within an operator are ANDed, and the values
//     listed for one key are ORed.
//   - A key is missing when the Context does not have it or has it with no
//     values. On a missing key, in this order: Null is true for "true";
//     ForAnyValue: is false, also with a negated operator and also with
//     ...IfExists (there is no value of which "any" could hold, and users
//     report that AWS denies ForAnyValue:StringNotEqualsIfExists on a missing
//     aws:TagKeys);
//     ForAllValues: is true (even in an Allow: see Lint); without a set
//     operator, ...IfExists is true, a negated operator (StringNotEquals,
//     StringNotEqualsIgnoreCase, StringNotLike, NumericNotEquals,
//     DateNotEquals, NotIpAddress, ArnNotEquals, ArnNotLike) is true and a
//     positive one is false.
//   - On a present key IfExists changes nothing.
//   - ForAnyValue: holds when at least one request value matches one of the
//     policy values (for a negated operator: matches none of them).
//     ForAllValues: holds when every request value does.
//   - Multivalued keys. The IAM User Guide ("Single-valued vs. multivalued
//     context keys") says that multivalued context keys "require a condition
//     set operator" and does not say what an operator without one does on
//     them. This package fails closed: on a present multivalued key, an
//     operator without ForAnyValue: or ForAllValues: (other than Null) is
//     false in an Allow statement and true in a Deny statement, whatever the
//     values; on a missing one the rules for missing keys apply. The
//     multivalued keys are aws:TagKeys, sts:TransitiveTagKeys, aws:CalledVia,
//     aws:PrincipalServiceNamesList, every key whose last segment is ":amr",
//     and the keys the Context declares (MultivaluedContext). Lint flags such
//     conditions.
//   - Any other key is single-valued; if the Context nevertheless gives it
//     several values, an operator without a set operator behaves like
//     ForAnyValue: for a positive operator (it holds if any request value
//     matches any policy value), and a negated operator holds only if no
//     request value matches any policy value.
//   - Comparisons: String* and Arn* compare bytes (IgnoreCase: Unicode simple
//     case folding); StringLike '*' is any run of characters and '?' exactly one
//     code point; ArnLike and ArnEquals (identical, as in IAM) match each of
//     the first five ARN components separately and the resource part as a
//     whole; Numeric* compare as float64; Date* take ISO 8601 or epoch seconds
//     on both sides and compare instants; Bool accepts "true"/"false" in any
//     case from the request; BinaryEquals compares the request bytes with the
//     base64-decoded policy value; IpAddress tests CIDR membership, an
//     IPv4-mapped IPv6 request address counting as IPv4.
//   - Request values that do not parse for the operator (a non-number for
//     Numeric*, a non-date for Date*, a non-IP for IpAddress, a non-ARN for
//     Arn*, anything but true/false for Bool) match no policy value, so a
//     negated operator is true for them.
//
// Policy variables (2012-10-17): a variable resolves when its key has exactly
// one value, or is missing and the variable has a default. A variable naming
// a multivalued key never resolves, whatever its values or default: IAM
// documents that a multivalued context key cannot be a policy variable. IAM
// also documents that a variable it cannot resolve "might cause the entire
// statement to be invalid"; this package fails closed instead of guessing: a condition with
// any value whose variable does not resolve is false in an Allow statement
// and true in a Deny statement, whatever the operator (so a negated operator
// in an Allow, which would otherwise hold, does not). An attacker who leaves a
// claim out can therefore never gain access by it.
//
// Evaluate only asks Context for the keys Keys returns, in canonical form (and,
// if the Context is a MultivaluedContext, whether they are multivalued); a
// Values map it reads directly, in the order Values documents. It does
// not allocate (a Context may; strconv may for a request number that
// overflows a float64), and it is safe for concurrent use. A nil policy or
// request gives ImplicitDeny.
func (p *Policy) Evaluate(req *Request) Decision {
	if p == nil {
		return Decision{Effect: ImplicitDeny, Statement: -1, Reason: reasonNilPolicy}
	}
	if req == nil {
		return Decision{Effect: ImplicitDeny, Statement: -1, Reason: reasonNilRequest}
	}
	e := newEvalContext(req.Context)
	if p.fast != nil {
		// One Allow statement, decided from the fast form (see fastForm).
		s := &p.stmts[0]
		if stage, missing := p.fast.eval(req, &e); stage != stageMatched {
			return Decision{Effect: ImplicitDeny, Statement: 0, Sid: s.sid(), Reason: s.failReason(stage, missing)}
		}
		return Decision{Effect: Allow, Statement: 0, Sid: s.sid(), Reason: s.matchReason()}
	}
	for i := range p.stmts {
		s := &p.stmts[i]
		if !s.deny {
			continue
		}
		if stage, _ := s.eval(req, &e); stage == stageMatched {
			return Decision{Effect: ExplicitDeny, Statement: i, Sid: s.sid(), Reason: s.matchReason()}
		}
	}
	best, bestStage, bestMissing := -1, -1, false
	for i := range p.stmts {
		s := &p.stmts[i]
		if s.deny {
			continue
		}
		stage, missing := s.eval(req, &e)
		if stage == stageMatched {
			return Decision{Effect: Allow, Statement: i, Sid: s.sid(), Reason: s.matchReason()}
		}
		if stage > bestStage {
			best, bestStage, bestMissing = i, stage, missing
		}
	}
	if best < 0 {
		return Decision{Effect: ImplicitDeny, Statement: -1, Reason: reasonNoAllow}
	}
	s := &p.stmts[best]
	return Decision{Effect: ImplicitDeny, Statement: best, Sid: s.sid(), Reason: s.failReason(bestStage, bestMissing)}
}

// Statement evaluation stages: how far a statement got before an element
// failed. Conditions are stageConditions+i. The furthest-reaching Allow
// statement explains an implicit deny.
const (
	stagePrincipal  = 0
	stageAction     = 1
	stageConditions = 2
	stageMatched    = 1 << 30
)

// eval returns stageMatched if the statement matches req, or else the stage
// that failed and, for a condition, whether its key was missing.
func (s *statement) eval(req *Request, e *evalContext) (stage int, missing bool) {
	if !s.principal.match(req.Principal) {
		return stagePrincipal, false
	}
	if s.matchAction(req.Action) == s.notAction {
		return stageAction, false
	}
	for i := range s.conds {
		if ok, miss := s.conds[i].eval(e); !ok {
			return stageConditions + i, miss
		}
	}
	return stageMatched, false
}

func (s *statement) matchAction(a string) bool {
	for i := range s.actions {
		if s.actions[i].match(a, nil) {
			return true
		}
	}
	return false
}

func (s *statement) failReason(stage int, missing bool) string {
	switch stage {
	case stagePrincipal:
		return s.labels.Value().principal
	case stageAction:
		return s.labels.Value().action
	}
	c := &s.conds[stage-stageConditions]
	if missing {
		return c.missingReason()
	}
	return c.failReason()
}
