package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type wantFinding struct {
	rule string
	sev  Severity
	path string
}

func TestLint(t *testing.T) {
	const (
		eks    = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
		gh     = "token.actions.githubusercontent.com"
		gp     = "arn:aws:iam::111122223333:oidc-provider/" + gh
		ep     = "arn:aws:iam::111122223333:oidc-provider/" + eks
		custom = "issuer.example.com/tenant"
		cp     = "arn:aws:iam::111122223333:oidc-provider/" + custom
	)
	one := func(effect, principal, action, conds string) string {
		s := `"Effect":"` + effect + `","Principal":` + principal + `,"Action":"` + action + `"`
		if conds != "" {
			s += `,"Condition":{` + conds + `}`
		}
		return stmt(s)
	}
	fed := func(arn string) string { return `{"Federated":"` + arn + `"}` }
	const aw = "sts:AssumeRoleWithWebIdentity"
	ghAud := `"StringEquals":{"` + gh + `:aud":"sts.amazonaws.com"}`
	eksAud := `"StringEquals":{"` + eks + `:aud":"sts.amazonaws.com"}`
	tests := []struct {
		name string
		doc  string
		want []wantFinding
	}{
		{"clean IRSA", one("Allow", fed(ep), aw, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com","`+eks+`:sub":"system:serviceaccount:ns:sa"}`), nil},
		{"clean GitHub", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/octo-repo:ref:refs/heads/*"}`), nil},
		{"clean GitHub environment", one("Allow", fed(gp), aw, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com","`+gh+`:sub":"repo:octo-org/octo-repo:environment:prod"}`), nil},
		{"GitHub every ref of a repository", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/octo-repo:*"}`),
			[]wantFinding{{RuleRepoWideSub, Low, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub org-wide", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/*"}`),
			[]wantFinding{{RuleOrgWideSub, Medium, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub org-wide, every ref", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/*:*"}`),
			[]wantFinding{{RuleOrgWideSub, Medium, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub org-wide main branches", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/*:ref:refs/heads/main"}`),
			[]wantFinding{{RuleOrgWideSub, Medium, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub repository name prefix", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/infra-*:environment:prod"}`),
			[]wantFinding{{RuleOrgWideSub, Medium, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub question mark in repository name", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/app?:ref:refs/heads/main"}`),
			[]wantFinding{{RuleOrgWideSub, Medium, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub widest value counts", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":["repo:o/r:ref:refs/heads/main","repo:o/r:*","repo:o/*"]}`),
			[]wantFinding{{RuleOrgWideSub, Medium, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub narrowest condition counts", one("Allow", fed(gp), aw, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:o/*"},"ForAnyValue:StringLike":{"`+gh+`:sub":"repo:o/r:*"}`),
			[]wantFinding{{RuleRepoWideSub, Low, `Statement[0].Condition["ForAnyValue:StringLike"]["` + gh + `:sub"]`}}},
		{"GitHub org-wide in StringEquals is literal", one("Allow", fed(gp), aw, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com","`+gh+`:sub":"repo:octo-org/*"}`), nil},
		{"GitHub star", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"*"}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		// A variable naming the provider's own claim is supplied by the token:
		// it counts as a wildcard.
		{"GitHub variable of its own claim counts as a wildcard", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/${`+gh+`:repository}:ref:*"}`),
			[]wantFinding{{RuleOrgWideSub, Medium, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub variable of another key is literal", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo-org/${aws:PrincipalTag/repo}:ref:*"}`), nil},
		{"GitHub StringEquals star is literal", one("Allow", fed(gp), aw, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com","`+gh+`:sub":"*"}`), nil},
		{"GitHub self variable with a default", one("Allow", fed(gp), aw, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com","`+gh+`:sub":"${`+gh+`:SUB, 'x'}"}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringEquals["` + gh + `:sub"]`}}},
		{"GitHub enterprise never a cluster", one("Allow", fed(gp+"/acme"), aw, `"StringEquals":{"`+gh+`/acme:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`/acme:sub":["*","system:serviceaccount:a:b"]}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `/acme:sub"]`}}},
		{"Google never a cluster", one("Allow", `{"Federated":"accounts.google.com"}`, aw, `"StringEquals":{"accounts.google.com:aud":"x"},"StringLike":{"accounts.google.com:sub":["*","system:serviceaccount:a:b"]}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["accounts.google.com:sub"]`}}},
		{"self-hosted cluster still a cluster", one("Allow", `{"Federated":"arn:aws:iam::1:oidc-provider/k8s.example.com"}`, aw, `"StringEquals":{"k8s.example.com:aud":"sts.amazonaws.com"},"StringLike":{"k8s.example.com:sub":["system:serviceaccount:*","system:serviceaccount:a:b"]}`),
			[]wantFinding{{RuleBroadSub, Medium, `Statement[0].Condition.StringLike["k8s.example.com:sub"]`}}},
		{"repo:o/r:??* is repo-wide", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:o/r:??*"}`),
			[]wantFinding{{RuleRepoWideSub, Low, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub without sub", one("Allow", fed(gp), aw, ghAud),
			[]wantFinding{{RuleMissingSub, High, "Statement[0].Condition"}}},
		{"GitHub without any condition", one("Allow", fed(gp), aw, ""),
			[]wantFinding{{RuleMissingAud, Medium, "Statement[0].Condition"}, {RuleMissingSub, High, "Statement[0].Condition"}}},
		{"GitHub repo:*", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:*"}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub owner not pinned", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:octo*"}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub wildcard before repo colon", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo*"}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub one letter then star", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"r*"}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub question mark inside repo", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"rep?:*"}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub star among specific values", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":["repo:o/r:*","*"]}`),
			[]wantFinding{{RuleBroadSub, High, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"GitHub negated sub does not pin", one("Allow", fed(gp), aw, ghAud+`,"StringNotLike":{"`+gh+`:sub":"repo:evil/*"}`),
			[]wantFinding{{RuleMissingSub, High, "Statement[0].Condition"}}},
		{"GitHub IfExists sub does not pin", one("Allow", fed(gp), aw, ghAud+`,"StringLikeIfExists":{"`+gh+`:sub":"repo:o/r:*"}`),
			[]wantFinding{{RuleMissingSub, High, "Statement[0].Condition"}}},
		{"EKS without sub", one("Allow", fed(ep), aw, eksAud),
			[]wantFinding{{RuleMissingSub, Medium, "Statement[0].Condition"}}},
		{"EKS all service accounts", one("Allow", fed(ep), aw, eksAud+`,"StringLike":{"`+eks+`:sub":"system:serviceaccount:*"}`),
			[]wantFinding{{RuleBroadSub, Medium, `Statement[0].Condition.StringLike["` + eks + `:sub"]`}}},
		{"EKS one name in every namespace", one("Allow", fed(ep), aw, eksAud+`,"StringLike":{"`+eks+`:sub":"system:serviceaccount:*:efs-csi"}`),
			[]wantFinding{{RuleBroadSub, Medium, `Statement[0].Condition.StringLike["` + eks + `:sub"]`}}},
		{"EKS star", one("Allow", fed(ep), aw, eksAud+`,"StringLike":{"`+eks+`:sub":"*"}`),
			[]wantFinding{{RuleBroadSub, Medium, `Statement[0].Condition.StringLike["` + eks + `:sub"]`}}},
		{"self-hosted cluster, all service accounts", one("Allow", fed(cp), aw, `"StringEquals":{"`+custom+`:aud":"x"},"StringLike":{"`+custom+`:sub":"system:serviceaccount:*"}`),
			[]wantFinding{{RuleBroadSub, Medium, `Statement[0].Condition.StringLike["` + custom + `:sub"]`}}},
		{"self-hosted cluster, one name in every namespace", one("Allow", fed(cp), aw, `"StringEquals":{"`+custom+`:aud":"x"},"StringLike":{"`+custom+`:sub":"system:serviceaccount:*:app"}`),
			[]wantFinding{{RuleBroadSub, Medium, `Statement[0].Condition.StringLike["` + custom + `:sub"]`}}},
		{"self-hosted cluster pinned", one("Allow", fed(cp), aw, `"StringEquals":{"`+custom+`:aud":"x","`+custom+`:sub":"system:serviceaccount:ns:app"}`), nil},
		{"self-hosted cluster known from another statement", `{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Principal":` + fed(cp) + `,"Action":"` + aw + `","Condition":{"StringEquals":{"` + custom + `:aud":"x","` + custom + `:sub":"system:serviceaccount:ns:app"}}},` +
			`{"Effect":"Allow","Principal":` + fed(cp) + `,"Action":"` + aw + `","Condition":{"StringEquals":{"` + custom + `:aud":"x"}}}]}`,
			[]wantFinding{{RuleMissingSub, Medium, "Statement[1].Condition"}}},
		{"EKS namespace pinned", one("Allow", fed(ep), aw, eksAud+`,"StringLike":{"`+eks+`:sub":"system:serviceaccount:kube-system:efs-csi-*"}`), nil},
		{"custom issuer with path is shared", one("Allow", fed(cp), aw, `"StringEquals":{"`+custom+`:aud":"x"}`),
			[]wantFinding{{RuleMissingSub, High, "Statement[0].Condition"}}},
		{"Google without aud", one("Allow", fed("accounts.google.com"), aw, `"StringEquals":{"accounts.google.com:sub":"1"}`),
			[]wantFinding{{RuleMissingAud, High, "Statement[0].Condition"}}},
		{"Google oaud pins", one("Allow", fed("accounts.google.com"), aw, `"StringEquals":{"accounts.google.com:oaud":"x","accounts.google.com:sub":"1"}`), nil},
		{"Cognito with pool and amr", one("Allow", fed("cognito-identity.amazonaws.com"), aw, `"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:1"},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}`),
			[]wantFinding{{RuleLikeWithoutWild, Info, `Statement[0].Condition["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"]`}, {RuleMissingSub, Medium, "Statement[0].Condition"}}},
		{"Cognito without pool", one("Allow", fed("cognito-identity.amazonaws.com"), aw, ""),
			[]wantFinding{{RuleMissingAud, High, "Statement[0].Condition"}, {RuleMissingSub, High, "Statement[0].Condition"}}},
		{"aud matched by a star is not pinned", one("Allow", fed(gp), aw, `"StringLike":{"`+gh+`:aud":"*","`+gh+`:sub":"repo:o/r:ref:*"}`),
			[]wantFinding{{RuleMissingAud, Medium, "Statement[0].Condition"}}},
		{"empty Condition", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole","Condition":{}`),
			[]wantFinding{{RuleEmptyCondition, Info, "Statement[0].Condition"}}},
		{"StringEquals on aws:TagKeys", one("Allow", `{"AWS":"arn:aws:iam::1:root"}`, "sts:TagSession", `"StringEquals":{"aws:TagKeys":"team"}`),
			[]wantFinding{{RuleMultivaluedNoSet, Medium, `Statement[0].Condition.StringEquals["aws:TagKeys"]`}}},
		{"StringEquals on amr in a Deny", one("Deny", fed(gp), aw, `"StringEquals":{"`+gh+`:amr":"x"}`),
			[]wantFinding{{RuleMultivaluedNoSet, Medium, `Statement[0].Condition.StringEquals["` + gh + `:amr"]`}}},
		{"Null on aws:TagKeys is fine", one("Allow", `{"AWS":"arn:aws:iam::1:root"}`, "sts:TagSession", `"Null":{"aws:TagKeys":"true"}`), nil},
		{"variable on aws:TagKeys", one("Allow", `{"AWS":"arn:aws:iam::1:root"}`, "sts:TagSession", `"StringEquals":{"aws:RequestTag/team":"${aws:TagKeys}"}`),
			[]wantFinding{{RuleMultivaluedVar, Medium, `Statement[0].Condition.StringEquals["aws:RequestTag/team"]`}}},
		{"principal star", one("Allow", `"*"`, "sts:AssumeRole", ""),
			[]wantFinding{{RulePrincipalAnyone, High, "Statement[0].Principal"}}},
		{"AWS star", one("Allow", `{"AWS":"*"}`, "sts:AssumeRole", ""),
			[]wantFinding{{RulePrincipalAnyone, High, "Statement[0].Principal"}}},
		{"Federated star", one("Allow", `{"Federated":"*"}`, "sts:AssumeRole", ""),
			[]wantFinding{{RulePrincipalAnyone, High, "Statement[0].Principal"}}},
		{"principal star in a Deny is fine", one("Deny", `"*"`, "sts:AssumeRole", ""), nil},
		{"NotAction in Allow", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"NotAction":"iam:*"`),
			[]wantFinding{{RuleNotActionAllow, Medium, "Statement[0].NotAction"}}},
		{"ForAllValues in Allow", one("Allow", `{"AWS":"arn:aws:iam::1:root"}`, "sts:TagSession", `"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}`),
			[]wantFinding{{RuleForAllValuesAllow, High, `Statement[0].Condition["ForAllValues:StringEquals"]["aws:TagKeys"]`}}},
		{"ForAllValues guarded by Null", one("Allow", `{"AWS":"arn:aws:iam::1:root"}`, "sts:TagSession", `"ForAllValues:StringEquals":{"aws:TagKeys":["team"]},"Null":{"aws:tagkeys":"false"}`), nil},
		{"ForAllValues in Deny is fine", one("Deny", `"*"`, "sts:TagSession", `"ForAllValues:StringNotEquals":{"aws:TagKeys":["team"]}`), nil},
		{"StringLike without wildcard", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:o/r:ref:refs/heads/main"}`),
			[]wantFinding{{RuleLikeWithoutWild, Info, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"StringLike with only a literal star variable", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:o/r${*}"}`),
			[]wantFinding{{RuleLikeWithoutWild, Info, `Statement[0].Condition.StringLike["` + gh + `:sub"]`}}},
		{"typo in aud key", one("Allow", fed(gp), aw, `"StringEquals":{"`+gh+`:aude":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:o/r:ref:*"}`),
			[]wantFinding{{RuleUnknownKey, Medium, `Statement[0].Condition.StringEquals["` + gh + `:aude"]`}, {RuleMissingAud, Medium, "Statement[0].Condition"}}},
		{"typo under a negated operator lets everyone in", one("Allow", fed(gp), aw, ghAud+`,"StringLike":{"`+gh+`:sub":"repo:o/r:ref:*"},"StringNotEquals":{"`+gh+`:actr":"mallory"}`),
			[]wantFinding{{RuleUnknownKey, High, `Statement[0].Condition.StringNotEquals["` + gh + `:actr"]`}}},
		{"GitHub claim keys are known", one("Allow", fed(gp), aw, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com","`+gh+`:job_workflow_ref":"o/r/.github/workflows/d.yml@refs/heads/main"},"StringLike":{"`+gh+`:sub":"repo:o/r:ref:*"},"StringNotEquals":{"`+gh+`:actor":"mallory"}`), nil},
		{"GitHub claim keys are not Google's", one("Allow", fed("accounts.google.com"), aw, `"StringEquals":{"accounts.google.com:aud":"x","accounts.google.com:sub":"1","accounts.google.com:actor":"y"}`),
			[]wantFinding{{RuleUnknownKey, Medium, `Statement[0].Condition.StringEquals["accounts.google.com:actor"]`}}},
		{"oaud is Google's only", one("Allow", fed(ep), aw, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com","`+eks+`:sub":"system:serviceaccount:ns:sa","`+eks+`:oaud":"x"}`),
			[]wantFinding{{RuleUnknownKey, Medium, `Statement[0].Condition.StringEquals["` + eks + `:oaud"]`}}},
		{"Facebook app_id is its audience", one("Allow", fed("graph.facebook.com"), aw, `"StringEquals":{"graph.facebook.com:app_id":"1"}`), nil},
		{"Facebook without app_id", one("Allow", fed("graph.facebook.com"), aw, ""),
			[]wantFinding{{RuleMissingAud, High, "Statement[0].Condition"}}},
		{"Facebook has no sub key", one("Allow", fed("graph.facebook.com"), aw, `"StringEquals":{"graph.facebook.com:app_id":"1","graph.facebook.com:sub":"2"}`),
			[]wantFinding{{RuleUnknownKey, Medium, `Statement[0].Condition.StringEquals["graph.facebook.com:sub"]`}}},
		{"other provider's prefix", one("Allow", fed(ep), aw, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com","`+gh+`:sub":"repo:o/r:ref:refs/heads/main"}`),
			[]wantFinding{{RuleForeignKey, Medium, `Statement[0].Condition.StringEquals["` + gh + `:sub"]`}, {RuleMissingSub, Medium, "Statement[0].Condition"}}},
		{"key without prefix", one("Allow", fed(ep), aw, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com","sub":"system:serviceaccount:ns:sa"}`),
			[]wantFinding{{RuleUnprefixedKey, Medium, `Statement[0].Condition.StringEquals.sub`}, {RuleMissingSub, Medium, "Statement[0].Condition"}}},
		{"deny on a key never sent never applies", one("Deny", fed(gp), aw, `"StringLike":{"`+gh+`:subject":"repo:evil/*"}`),
			[]wantFinding{{RuleUnknownKey, High, `Statement[0].Condition.StringLike["` + gh + `:subject"]`}}},
		{"global keys are not provider keys", one("Allow", fed(ep), aw, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com","`+eks+`:sub":"system:serviceaccount:ns:sa"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`), nil},
		{"key case does not matter", one("Allow", fed(ep), aw, `"StringEquals":{"`+eks+`:AUD":"sts.amazonaws.com","`+eks+`:Sub":"system:serviceaccount:ns:sa"}`), nil},
		{"other actions are not checked for aud", one("Allow", fed(gp), "sts:TagSession", ""), nil},
		{"wildcard account in ArnLike", one("Allow", `{"AWS":"arn:aws:iam::1:root"}`, "sts:AssumeRole", `"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/ci"}`),
			[]wantFinding{{RuleWildcardAccount, Medium, `Statement[0].Condition.ArnLike["aws:PrincipalArn"]`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			var got []wantFinding
			for _, f := range Lint(p) {
				assert.NotEmpty(t, f.Message)
				assert.Contains(t, f.String(), f.Rule)
				got = append(got, wantFinding{f.Rule, f.Severity, f.Path})
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSeverityString(t *testing.T) {
	tests := []struct {
		s    Severity
		want string
	}{
		{Info, "info"}, {Low, "low"}, {Medium, "medium"}, {High, "high"}, {Severity(0), "Severity(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.s.String())
		})
	}
}

// TestLintMessages checks the text of findings: what a pattern admits, and
// condition keys printed as the policy writes them.
func TestLintMessages(t *testing.T) {
	const (
		eks = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
		ep  = "arn:aws:iam::111122223333:oidc-provider/" + eks
		gh  = "token.actions.githubusercontent.com"
		gp  = "arn:aws:iam::111122223333:oidc-provider/" + gh
	)
	doc := func(principal, conds string) string {
		return stmt(`"Effect":"Allow","Principal":{"Federated":"` + principal + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` + conds + `}`)
	}
	tests := []struct {
		name string
		doc  string
		rule string
		want string
	}{
		{"missing aud keeps the issuer id's case", doc(ep, `"StringEquals":{"`+eks+`:sub":"system:serviceaccount:ns:sa"}`), RuleMissingAud, `"` + eks + `:aud"`},
		{"missing aud uses the policy's spelling", doc(ep, `"StringLike":{"`+eks+`:AUD":"*"},"StringEquals":{"`+eks+`:sub":"system:serviceaccount:ns:sa"}`), RuleMissingAud, `"` + eks + `:AUD"`},
		{"missing sub keeps the issuer id's case", doc(ep, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"}`), RuleMissingSub, `"` + eks + `:sub"`},
		{"broad sub uses the policy's spelling", doc(ep, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"},"StringLike":{"`+eks+`:Sub":"system:serviceaccount:*"}`), RuleBroadSub, `"` + eks + `:Sub"`},
		{"one name in every namespace", doc(ep, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"},"StringLike":{"`+eks+`:sub":"system:serviceaccount:*:efs-csi"}`), RuleBroadSub, `service account "efs-csi" in every namespace`},
		{"one name in namespaces by prefix", doc(ep, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"},"StringLike":{"`+eks+`:sub":"system:serviceaccount:team-*:app"}`), RuleBroadSub, `service account "app" in every namespace whose name starts with "team-"`},
		{"every service account", doc(ep, `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"},"StringLike":{"`+eks+`:sub":"system:serviceaccount:*"}`), RuleBroadSub, "any service account of the cluster"},
		{"org-wide", doc(gp, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:octo-org/*"}`), RuleOrgWideSub, `every repository of "octo-org"`},
		{"repo-wide", doc(gp, `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:octo-org/app:*"}`), RuleRepoWideSub, `"octo-org/app"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			var msgs []string
			for _, f := range Lint(p) {
				if f.Rule == tt.rule {
					msgs = append(msgs, f.Message)
				}
			}
			require.Len(t, msgs, 1)
			assert.Contains(t, msgs[0], tt.want)
		})
	}
}
