package policy

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adversarial probes that the package withstands.

func TestAdversaryHoldsEvaluate(t *testing.T) {
	const eks = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"
	tests := []struct {
		name string
		doc  string
		ctx  Context
		want Effect
	}{
		{"StringEquals '*' is literal", cond(`"StringEquals":{"k:x":"*"}`), v("anything"), ImplicitDeny},
		{"StringEquals is not Unicode-folded", cond(`"StringEquals":{"k:x":"s"}`), v(longS), ImplicitDeny},
		{"StringLike ? is one code point", cond(`"StringLike":{"k:x":"a?b"}`), v("a" + longS + "b"), Allow},
		{"StringLike ? is not two", cond(`"StringLike":{"k:x":"a?b"}`), v("a" + longS + longS + "b"), ImplicitDeny},
		{"a '*' in a claim stays literal in a variable", cond(`"StringLike":{"k:x":"${k:y}"}`), Values{"k:x": {"abc"}, "k:y": {"*"}}, ImplicitDeny},
		{"multivalued key in other ASCII case as a variable",
			cond(`"StringEquals":{"k:x":"${AWS:TAGKEYS}"}`), Values{"k:x": {"r"}, "aws:tagkeys": {"r"}}, ImplicitDeny},
		{"ForAnyValue:StringNotEqualsIfExists on missing aws:TagKeys", cond(`"ForAnyValue:StringNotEqualsIfExists":{"aws:TagKeys":"x"}`), Values{}, ImplicitDeny},
		{"unresolved variable in a negated Allow condition", cond(`"StringNotEquals":{"k:x":"${k:missing}"}`), v("a"), ImplicitDeny},
		{"map keyed the policy's way (upper-case EKS id)",
			cond(`"StringEquals":{"` + eks + `:sub":"system:serviceaccount:ns:sa","` + eks + `:aud":"sts.amazonaws.com"}`),
			Values{eks + ":sub": {"system:serviceaccount:ns:sa"}, eks + ":aud": {"sts.amazonaws.com"}}, Allow},
		{"memo does not carry a wrong key to the next lookup",
			cond(`"StringEquals":{"` + eks + `:aud":"sts.amazonaws.com","` + eks + `:sub":"system:serviceaccount:ns:sa"}`),
			Values{eks + ":aud": {"sts.amazonaws.com"}, "oidc.eks.us-east-1.amazonaws.com/id/abcdef:sub": {"system:serviceaccount:evil:sa"}}, ImplicitDeny},
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

// The rawFirst memo lives in one Evaluate call: concurrent calls with maps
// keyed either way never see each other's spelling.
func TestAdversaryHoldsConcurrentSpellings(t *testing.T) {
	const k = "OIDC.example.com/id/AB"
	p, err := Parse([]byte(cond(`"StringEquals":{"` + k + `:aud":"a","` + k + `:sub":"good"}`)))
	require.NoError(t, err)
	raw := Values{k + ":aud": {"a"}, k + ":sub": {"good"}}
	lower := Values{"oidc.example.com/id/ab:aud": {"a"}, "oidc.example.com/id/ab:sub": {"evil"}}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				r1, r2 := googleRequest, googleRequest
				r1.Context, r2.Context = raw, lower
				assert.Equal(t, Allow, p.Evaluate(&r1).Effect)
				assert.Equal(t, ImplicitDeny, p.Evaluate(&r2).Effect)
			}
		}()
	}
	wg.Wait()
}

func TestAdversaryHoldsParse(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		reason ParseErrorReason
	}{
		{"NotPrincipal in a Deny", stmt(`"Effect":"Deny","NotPrincipal":{"Federated":"x"},"Action":"*"`), ReasonNotAllowed},
		{"notprincipal in lower case", stmt(`"Effect":"Allow","notprincipal":{"Federated":"x"},"Action":"*"`), ReasonUnknown},
		{"wildcard inside a principal", stmt(`"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::*:oidc-provider/x"},"Action":"*"`), ReasonValue},
		{"nested set operators", cond(`"ForAnyValue:ForAllValues:StringEquals":{"k:x":"a"}`), ReasonUnknown},
		{"IfExists twice", cond(`"StringEqualsIfExistsIfExists":{"k:x":"a"}`), ReasonUnknown},
		{"operator in other case", cond(`"stringequals":{"k:x":"a"}`), ReasonUnknown},
		{"key twice in two cases", cond(`"StringEquals":{"k:x":"a","K:X":"b"}`), ReasonDuplicate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.reason, pe.Reason)
		})
	}
}

func TestAdversaryHoldsLint(t *testing.T) {
	aud := `"` + advGH + `:aud":"sts.amazonaws.com"`
	allow := func(prov, conds string) string {
		return stmt(`"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + prov + `"},"Action":"` + advAW + `","Condition":{` + conds + `}`)
	}
	like := func(op, key, val string) string {
		return `"StringEquals":{` + aud + `},"` + op + `":{"` + key + `":"` + val + `"}`
	}
	sub := advGH + ":sub"
	tests := []struct {
		name string
		doc  string
		rule string
		sev  Severity
	}{
		{"*", allow(advGH, like("StringLike", sub, "*")), RuleBroadSub, High},
		{"repo:*", allow(advGH, like("StringLike", sub, "repo:*")), RuleBroadSub, High},
		{"repo*", allow(advGH, like("StringLike", sub, "repo*")), RuleBroadSub, High},
		{"repo:org*", allow(advGH, like("StringLike", sub, "repo:org*")), RuleBroadSub, High},
		{"repo:o?g/x", allow(advGH, like("StringLike", sub, "repo:o?g/x:*")), RuleBroadSub, High},
		{"repo:org/*", allow(advGH, like("StringLike", sub, "repo:org/*")), RuleOrgWideSub, Medium},
		{"repo:org/*:*", allow(advGH, like("StringLike", sub, "repo:org/*:*")), RuleOrgWideSub, Medium},
		{"repo:org/r?po:main", allow(advGH, like("StringLike", sub, "repo:org/r?po:ref:refs/heads/main")), RuleOrgWideSub, Medium},
		{"key in upper case", allow(advGH, like("StringLike", "TOKEN.ACTIONS.GITHUBUSERCONTENT.COM:SUB", "repo:*")), RuleBroadSub, High},
		{"ForAnyValue:StringLike", allow(advGH, like("ForAnyValue:StringLike", sub, "repo:org/*")), RuleOrgWideSub, Medium},
		{"StringLikeIfExists does not pin", allow(advGH, like("StringLikeIfExists", sub, "repo:org/r:ref:refs/heads/main")), RuleMissingSub, High},
		{"StringNotLike does not pin", allow(advGH, like("StringNotLike", sub, "repo:evil/*")), RuleMissingSub, High},
		{"enterprise issuer path, *", allow(advGH+"/acme", `"StringEquals":{"`+advGH+`/acme:aud":"sts.amazonaws.com"},"StringLike":{"`+advGH+`/acme:sub":"*"}`), RuleBroadSub, High},
		{"enterprise issuer path, org-wide", allow(advGH+"/acme", `"StringEquals":{"`+advGH+`/acme:aud":"sts.amazonaws.com"},"StringLike":{"`+advGH+`/acme:sub":"repo:acme/*"}`), RuleOrgWideSub, Medium},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			found := false
			for _, f := range Lint(p) {
				if f.Rule == tt.rule && f.Severity == tt.sev {
					found = true
				}
			}
			assert.True(t, found, "want %s %s in %v", tt.sev, tt.rule, Lint(p))
		})
	}
}
