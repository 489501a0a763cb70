package policy

import (
	"strings"
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
// sees depended on whether an unrelated earlier condition found its key by
// the policy's spelling (the rawFirst memo), so the same request was
// ExplicitDeny or Allow depending on an extra condition that holds either
// way. Values now documents a fixed order (canonical spelling, then the
// policy's first spelling of the key, then the smallest matching map key),
// so every condition on the key, in every call, reads the same values, and
// an unrelated condition changes nothing.
func TestAdversaryValuesTwoSpellings(t *testing.T) {
	const (
		raw   = "OIDC.example.com/id/AB:sub"
		lower = "oidc.example.com/id/ab:sub"
		other = "oidc.EXAMPLE.com/id/ab:sub"
	)
	mixed := Values{"OIDC.example.com/id/AB:aud": {"x"}, raw: {"evil"}, lower: {"good"}}
	noCanon := Values{"OIDC.example.com/id/AB:aud": {"x"}, raw: {"evil"}, other: {"good"}}
	allow := func(key string) string { return base + `,"Condition":{"StringEquals":{"` + key + `":"good"}}` }
	deny := func(extra, key string) string {
		return advDeny + `,"Condition":{` + extra + `"StringEqualsIgnoreCase":{"` + key + `":"evil"}}},{`
	}
	const unrelated = `"StringEquals":{"OIDC.example.com/id/AB:aud":"x"},`
	tests := []struct {
		name string
		doc  string
		ctx  Values
		want Effect
	}{
		// The canonical spelling wins over the policy's: both conditions read "good".
		{"canonical key present, Deny alone", stmt(deny("", raw) + allow(lower)), mixed, Allow},
		{"canonical key present, Deny after an unrelated condition", stmt(deny(unrelated, raw) + allow(lower)), mixed, Allow},
		{"canonical key present, Allow spelled like the Deny", stmt(deny(unrelated, raw) + allow(raw)), mixed, Allow},
		// No canonical spelling: the policy's first spelling of the key is
		// read by every condition on it, however each one spells it.
		{"first spelling decides, Deny alone", stmt(deny("", raw) + allow(other)), noCanon, ExplicitDeny},
		{"first spelling decides, Deny after an unrelated condition", stmt(deny(unrelated, raw) + allow(other)), noCanon, ExplicitDeny},
		{"first spelling decides, Allow first", stmt(allow(other) + `},{` + strings.TrimSuffix(deny(unrelated, raw), `},{`)), noCanon, Allow},
		// Neither canonical nor the policy's spelling: the smallest map key
		// ("OIDC..." sorts before "oidc...") whatever the map order.
		{"scan takes the smallest key", stmt(deny("", "Oidc.Example.Com/id/ab:sub") + allow("Oidc.Example.Com/id/ab:sub")), noCanon, ExplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			req := googleRequest
			req.Context = tt.ctx
			for i := 0; i < 50; i++ { // map iteration order varies between calls
				assert.Equal(t, tt.want, p.Evaluate(&req).Effect)
			}
		})
	}
}

// The Values method reads the canonical spelling if present, else the
// smallest matching key, whatever spelling it is asked for.
func TestValuesMethodTwoSpellings(t *testing.T) {
	tests := []struct {
		name string
		m    Values
		want string
	}{
		{"canonical present", Values{"K:X": {"upper"}, "k:x": {"lower"}, "k:X": {"mixed"}}, "lower"},
		{"no canonical: smallest", Values{"k:X": {"mixed"}, "K:x": {"upper"}}, "upper"},
		{"long s folds to s", Values{"k:\u017f": {"long"}}, "long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, key := range []string{"k:x", "K:X", "k:X", "K:x"} {
				if tt.name == "long s folds to s" {
					key = "K:S"
				}
				for i := 0; i < 20; i++ {
					got, ok := tt.m.Values(key)
					require.True(t, ok)
					assert.Equal(t, []string{tt.want}, got, key)
				}
			}
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
