package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adversarial regression tests: each case is a (document, request) or a lint
// input on which the package currently does something IAM would not, or fails
// open where it promises to fail closed. They fail until the findings are fixed.

const (
	advGH   = "token.actions.githubusercontent.com"
	advGHP  = "arn:aws:iam::111122223333:oidc-provider/" + advGH
	advAW   = "sts:AssumeRoleWithWebIdentity"
	longS   = "\u017f" // LATIN SMALL LETTER LONG S: strings.ToLower keeps it, strings.EqualFold folds it to 's'
	advDeny = `"Effect":"Deny","Principal":"*","Action":"*"`
)

// Context keys spelled with a non-ASCII rune that Unicode simple folding maps
// to an ASCII letter are lower-cased by Parse to a key that is not the
// multivalued key (builtinMultivalued, MultivaluedContext.Multivalued see
// "aws:tagkeyſ"), yet Values' case-insensitive scan (strings.EqualFold) finds
// aws:TagKeys under it. The multivalued key is then evaluated as single-valued
// and resolves as a policy variable, against the package's fail-closed rule
// and IAM's "you cannot use a multivalued context key as a policy variable".
func TestAdversaryUnicodeFoldedMultivaluedKey(t *testing.T) {
	tags := Values{"aws:TagKeys": {"team", "admin"}}
	tests := []struct {
		name string
		doc  string
		ctx  Context
		want Effect
	}{
		{"single-valued operator on aws:TagKeyſ in an Allow",
			cond(`"StringEquals":{"aws:TagKey` + longS + `":"team"}`), tags, ImplicitDeny},
		{"single-valued operator on aws:TagKeyſ in a Deny",
			stmt(advDeny + `,"Condition":{"StringEquals":{"aws:TagKey` + longS + `":"nothing"}}},{` + base), tags, ExplicitDeny},
		{"policy variable ${aws:TagKeyſ}",
			cond(`"StringEquals":{"k:x":"${aws:TagKey` + longS + `}"}`), Values{"k:x": {"team"}, "aws:TagKeys": {"team"}}, ImplicitDeny},
		{"policy variable ${awſ:CalledVia}",
			cond(`"StringEquals":{"k:x":"${aw` + longS + `:CalledVia}"}`), Values{"k:x": {"athena.amazonaws.com"}, "aws:CalledVia": {"athena.amazonaws.com"}}, ImplicitDeny},
		{"declared multivalued key spelled k:liſt",
			cond(`"StringEquals":{"k:li` + longS + `t":"a"}`),
			declaringContext{vals: Values{"k:list": {"a", "b"}}, multi: map[string]bool{"k:list": true}}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			req := googleRequest
			req.Context = tt.ctx
			assert.Equal(t, tt.want, p.Evaluate(&req).Effect)
		})
	}
}

// A Values map that holds one key in two spellings: which one a condition
// sees depends on whether an unrelated earlier condition found its key by the
// policy's spelling (the rawFirst memo). The same request is ExplicitDeny or
// Allow depending on an extra condition that holds either way. Values
// documents the map as "unspecified: do not do that"; failing closed would
// make the Deny apply in both documents.
func TestAdversaryValuesTwoSpellings(t *testing.T) {
	ctx := Values{
		"OIDC.example.com/id/AB:aud": {"x"},
		"OIDC.example.com/id/AB:sub": {"evil"},
		"oidc.example.com/id/ab:sub": {"good"},
	}
	allow := base + `,"Condition":{"StringEquals":{"oidc.example.com/id/ab:sub":"good"}}`
	tests := []struct {
		name string
		doc  string
	}{
		{"Deny on the policy's spelling alone",
			stmt(advDeny + `,"Condition":{"StringEquals":{"OIDC.example.com/id/AB:sub":"evil"}}},{` + allow)},
		{"Deny after a condition found by the policy's spelling",
			stmt(advDeny + `,"Condition":{"StringEquals":{"OIDC.example.com/id/AB:aud":"x"},"StringEqualsIgnoreCase":{"OIDC.example.com/id/AB:sub":"evil"}}},{` + allow)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			req := googleRequest
			req.Context = ctx
			assert.Equal(t, ExplicitDeny, p.Evaluate(&req).Effect)
		})
	}
}

// IAM refuses Resource and NotResource in a role trust policy
// ("MalformedPolicyDocument: Has prohibited field Resource"). Parse accepts
// them, and a Deny scoped by them silently never applies to the role.
func TestAdversaryResourceInTrustPolicy(t *testing.T) {
	deny := `"Effect":"Deny","Principal":"*","Action":"` + advAW + `"`
	tests := []struct {
		name string
		doc  string
		path string
	}{
		{"Deny with NotResource naming the role",
			stmt(base + `},{` + deny + `,"NotResource":"arn:aws:iam::111122223333:role/r"`), "Statement[1].NotResource"},
		{"Deny with a Resource that does not name the role",
			stmt(base + `},{` + deny + `,"Resource":"arn:aws:iam::111122223333:role/other"`), "Statement[1].Resource"},
		{"Allow with Resource",
			stmt(base + `,"Resource":"*"`), "Statement[0].Resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, ReasonNotAllowed, pe.Reason)
			assert.Equal(t, tt.path, pe.Path)
		})
	}
}

// Lint misses or under-rates over-broad GitHub subjects.
func TestAdversaryLintGitHubSubjects(t *testing.T) {
	aud := `"` + advGH + `:aud":"sts.amazonaws.com"`
	allow := func(conds string) string {
		return `"Effect":"Allow","Principal":{"Federated":"` + advGHP + `"},"Action":"` + advAW + `","Condition":{` + conds + `}`
	}
	subPath := func(op string) string { return "Statement[0].Condition." + op + `["` + advGH + `:sub"]` }
	tests := []struct {
		name string
		doc  string
		want wantFinding
	}{
		// A :sub value shaped like a Kubernetes subject anywhere in the
		// policy makes GitHub Actions a "cluster issuer": High becomes Medium.
		{"sub * next to a service-account value",
			stmt(allow(`"StringEquals":{` + aud + `},"StringLike":{"` + advGH + `:sub":["*","system:serviceaccount:a:b"]}`)),
			wantFinding{RuleBroadSub, High, subPath("StringLike")}},
		{"no sub, service-account value in an unrelated Deny",
			stmt(allow(`"StringEquals":{`+aud+`}`) + `},{` + advDeny + `,"Condition":{"StringEquals":{"` + advGH + `:sub":"system:serviceaccount:kube-system:x"}}`),
			wantFinding{RuleMissingSub, High, "Statement[0].Condition"}},
		// A policy variable naming a claim of the same token pins nothing.
		{"sub equals ${sub}",
			stmt(allow(`"StringEquals":{` + aud + `,"` + advGH + `:sub":"${` + advGH + `:sub}"}`)),
			wantFinding{RuleBroadSub, High, subPath("StringEquals")}},
		{"sub built from ${repository}: main of every repository",
			stmt(allow(`"StringEquals":{` + aud + `,"` + advGH + `:sub":"repo:${` + advGH + `:repository}:ref:refs/heads/main"}`)),
			wantFinding{RuleBroadSub, High, subPath("StringEquals")}},
		{"aud equals ${aud}",
			stmt(allow(`"StringEquals":{"` + advGH + `:aud":"${` + advGH + `:aud}","` + advGH + `:sub":"repo:o/r:ref:refs/heads/main"}`)),
			wantFinding{RuleMissingAud, Medium, "Statement[0].Condition"}},
		// Every ref of one repository, spelled other than "repo:O/R:*".
		{"repo:o/r:?*", stmt(allow(`"StringEquals":{` + aud + `},"StringLike":{"` + advGH + `:sub":"repo:o/r:?*"}`)),
			wantFinding{RuleRepoWideSub, Low, subPath("StringLike")}},
		{"repo:o/r:*:*", stmt(allow(`"StringEquals":{` + aud + `},"StringLike":{"` + advGH + `:sub":"repo:o/r:*:*"}`)),
			wantFinding{RuleRepoWideSub, Low, subPath("StringLike")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			var got []wantFinding
			for _, f := range Lint(p) {
				got = append(got, wantFinding{f.Rule, f.Severity, f.Path})
			}
			assert.Contains(t, got, tt.want)
		})
	}
}
