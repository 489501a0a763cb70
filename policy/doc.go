// Package policy parses, compiles, evaluates and lints IAM role trust
// policies: the documents that decide whether a caller may assume a role, as
// AWS STS AssumeRoleWithWebIdentity decides it for EKS IRSA, GitHub Actions
// and any OIDC workload.
//
// The package is pure: no I/O, no clock, no locks of its own. Parse does all
// the work that can be done ahead of time, so that deciding a request on the
// hot path is a few map lookups and string comparisons, without allocating.
//
// # Parsing
//
// Parse a trust policy once, when the role is loaded:
//
//	p, err := policy.Parse([]byte(`{
//	  "Version": "2012-10-17",
//	  "Statement": [{
//	    "Effect": "Allow",
//	    "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"},
//	    "Action": "sts:AssumeRoleWithWebIdentity",
//	    "Condition": {
//	      "StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:aud": "sts.amazonaws.com"},
//	      "StringLike":   {"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub": "system:serviceaccount:kube-system:efs-csi-*"}
//	    }
//	  }]
//	}`))
//
// Parsing is strict. Every error is a *ParseError whose Path says where the
// problem is, such as Statement[0].Condition.StringLike, and whose Reason
// classifies it: invalid JSON, duplicate member names, unknown elements,
// Action and NotAction together, a missing Effect, Action or Principal (a
// trust policy must name who may assume the role), NotPrincipal (which IAM
// does not allow in a role trust policy: ReasonNotAllowed), Resource and
// NotResource (IAM refuses them in a trust policy, "Has prohibited field
// Resource": the role is the resource; ReasonNotAllowed), an unknown operator, a
// date, number, CIDR, base64 value or ARN that does not parse, an empty list,
// a document over the size limit (ParseOptions.MaxSize, 10,240 bytes of
// non-whitespace by default). "Condition": {} is accepted as no condition,
// as IAM accepts it. A policy that parses means what it says.
//
// # Evaluating
//
// Build a Request and a Context with the condition keys, then Evaluate:
//
//	d := p.Evaluate(&policy.Request{
//		Action:    "sts:AssumeRoleWithWebIdentity",
//		Principal: policy.Principal{Type: "Federated", ID: providerARN},
//		Context: policy.Values{
//			"oidc.eks.us-east-1.amazonaws.com/id/example:aud": {"sts.amazonaws.com"},
//			"oidc.eks.us-east-1.amazonaws.com/id/example:sub": {"system:serviceaccount:kube-system:efs-csi-controller"},
//		},
//	})
//	if d.Effect != policy.Allow {
//		log.Print(d.Reason) // Statement[0]: condition StringLike on "...:sub" did not match
//	}
//
// The Decision carries the Effect (Allow, ExplicitDeny or ImplicitDeny), the
// index and Sid of the statement it rests on, and a one-line Reason naming the
// element or condition that failed. Reasons never contain request values.
//
// Condition keys are case-insensitive, with one canonical form per key:
// ASCII letters lower-cased and other runes folded to one member of their
// Unicode case-folding orbit ("aws:TagKeyſ" with U+017F is aws:tagkeys, so it
// is multivalued like aws:TagKeys). Parse, Evaluate, the multivalued-key
// rules, policy variables and Lint all use that form. (*Policy).Keys lists,
// in that form, the keys a policy can ask for (including keys named by policy
// variables), so a caller builds only those. Evaluate asks the Context for
// exactly those strings; a Context that stores lower-cased keys can answer
// with one map lookup, and Values also accepts keys in any case, in a fixed
// documented order when a map holds one key in two spellings.
//
// The semantics follow the IAM User Guide: explicit Deny wins, then Allow,
// else implicit deny; operators and keys are ANDed, values ORed; negated
// operators hold on a missing key; ...IfExists holds on a missing key;
// ForAnyValue: fails (even with IfExists) and ForAllValues: holds on a
// missing key; Null checks presence. StringLike has '*' (any run, including none) and '?' (one code
// point) and runs without regexp or backtracking, in time linear in the
// value for literal and short '?' segments (see the pattern notes in
// match.go; at worst O(len(segment) × len(value)) for a segment of over 64
// code points with '?' or one mixing variables with text). ArnLike and ArnEquals match each of the six
// ARN components separately, so '*' never crosses a ':' before the resource
// part. Under version 2012-10-17, the condition values of String* and Arn*
// operators may hold policy variables: ${key},
// ${key, 'default'}, ${*}, ${?} and ${$}; the text a variable stands for is
// always literal. Multivalued keys (aws:TagKeys, sts:TransitiveTagKeys, a
// provider's :amr, and any a Context declares through MultivaluedContext)
// need ForAnyValue: or ForAllValues:; without one a condition on them fails
// closed, and a policy variable never stands for one. The doc comment of
// Evaluate lists the exact rules, including for keys with several values.
//
// # Memory and locality
//
// A service may hold hundreds of thousands of compiled trust policies and
// evaluates a random one per request, so a compiled policy is small and
// touches few cache lines. A typical EKS IRSA or GitHub Actions policy (one
// statement, String* conditions) is one allocation of 768 or 896 bytes
// beside the document its caller keeps (see BenchmarkCompiledSize): a short
// fast form that decides the request, the strings it compares (the
// provider ARN, the condition keys, the values) in the lines right after
// it, then the full compiled form, which explains denials and which Lint
// reads. Evaluate reads a run of adjacent lines of that one block, not one
// line per object. Other policies share what many policies have in common
// (the condition keys of an issuer, an account's provider ARN, the action,
// the audience) through package unique. Every policy shares the
// explanations prepared for its statements and conditions the same way:
// one copy per process, kept only as long as a policy that uses it is, so
// the shared table is bounded by the policies kept, whoever wrote them. A
// compiled policy refers to none of the document's bytes. unique is safe
// for concurrent use, so Parse may run on many goroutines at once.
//
// # Linting
//
// Lint reports what a reviewer should see before a trust policy ships: an
// Allow with no :aud condition, a shared issuer such as GitHub Actions with
// no :sub condition or a :sub pattern that matches everyone, a GitHub :sub
// pattern that leaves the repository open ("repo:ORG/*") or admits every ref
// of one ("repo:ORG/REPO:*"), a service account pattern that leaves the
// namespace open, ForAllValues: in an Allow, Principal "*" or NotAction in an
// Allow, conditions on keys the provider never sends, and multivalued keys
// used without a set operator or as policy variables. Each Finding has a
// Severity; High means the policy lets strangers in.
package policy
