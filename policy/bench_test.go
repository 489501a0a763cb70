package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/internal/cputime"
)

const (
	benchProvider = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	benchARN      = "arn:aws:iam::111122223333:oidc-provider/" + benchProvider
	benchRole     = "arn:aws:iam::111122223333:role/efs-csi"
	githubIssuer  = "token.actions.githubusercontent.com"
	githubARN     = "arn:aws:iam::111122223333:oidc-provider/" + githubIssuer
)

// irsaStatement is a typical EKS IRSA trust statement for the given service
// account name pattern.
func irsaStatement(sid, sub string) string {
	return `{"Sid":"` + sid + `","Effect":"Allow","Principal":{"Federated":"` + benchARN + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` +
		`"StringEquals":{"` + benchProvider + `:aud":"sts.amazonaws.com"},` +
		`"StringLike":{"` + benchProvider + `:sub":"` + sub + `"}}}`
}

func irsaPolicy(tb testing.TB, n int) *Policy {
	tb.Helper()
	stmts := make([]string, n)
	for i := range stmts {
		// Only the last statement matches the request below.
		sub := fmt.Sprintf("system:serviceaccount:team%d:app-*", i)
		if i == n-1 {
			sub = "system:serviceaccount:kube-system:efs-csi-*"
		}
		stmts[i] = irsaStatement(fmt.Sprintf("S%d", i), sub)
	}
	doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	p, err := ParseWithOptions([]byte(doc), ParseOptions{MaxSize: 1 << 20})
	require.NoError(tb, err)
	return p
}

func irsaRequest(sub string) *Request {
	return &Request{
		Action:    "sts:AssumeRoleWithWebIdentity",
		Principal: Principal{Type: "Federated", ID: benchARN},
		Resource:  benchRole,
		Context: Values{
			strings.ToLower(benchProvider) + ":aud": {"sts.amazonaws.com"},
			strings.ToLower(benchProvider) + ":sub": {sub},
		},
	}
}

func benchEvaluate(b *testing.B, p *Policy, req *Request, want Effect) {
	b.Helper()
	require.Equal(b, want, p.Evaluate(req).Effect)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for b.Loop() {
		if p.Evaluate(req).Effect != want {
			b.Fatal("unexpected effect")
		}
	}
	reportCPU(b, cpu)
}

// reportCPU reports the process CPU time used since start per iteration
// (cpu-ns/op): on a shared machine where the benchmark gets a fraction of a
// core, ns/op is wall time and counts the waits.
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkEvaluateIRSA(b *testing.B) {
	benchEvaluate(b, irsaPolicy(b, 1), irsaRequest("system:serviceaccount:kube-system:efs-csi-controller-sa"), Allow)
}

func BenchmarkEvaluateStatements(b *testing.B) {
	for _, n := range []int{1, 20, 100} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			benchEvaluate(b, irsaPolicy(b, n), irsaRequest("system:serviceaccount:kube-system:efs-csi-controller-sa"), Allow)
		})
	}
}

func BenchmarkEvaluateGitHubActions(b *testing.B) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"Federated":"` + githubARN + `"},
		"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
		"Condition":{
			"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
			"StringLike":{"token.actions.githubusercontent.com:sub":["repo:octo-org/octo-repo:ref:refs/heads/main","repo:octo-org/infra-*:environment:prod*"]}}}]}`
	p, err := Parse([]byte(doc))
	require.NoError(b, err)
	req := &Request{
		Action:    "sts:AssumeRoleWithWebIdentity",
		Principal: Principal{Type: "Federated", ID: githubARN},
		Resource:  "arn:aws:iam::111122223333:role/deploy",
		Context: Values{
			"token.actions.githubusercontent.com:aud": {"sts.amazonaws.com"},
			"token.actions.githubusercontent.com:sub": {"repo:octo-org/infra-live:environment:production"},
		},
	}
	benchEvaluate(b, p, req, Allow)
}

func BenchmarkEvaluateDenied(b *testing.B) {
	b.Run("implicit", func(b *testing.B) {
		benchEvaluate(b, irsaPolicy(b, 1), irsaRequest("system:serviceaccount:default:intruder"), ImplicitDeny)
	})
	b.Run("implicit-20", func(b *testing.B) {
		benchEvaluate(b, irsaPolicy(b, 20), irsaRequest("system:serviceaccount:default:intruder"), ImplicitDeny)
	})
	b.Run("explicit", func(b *testing.B) {
		doc := `{"Version":"2012-10-17","Statement":[` + irsaStatement("Allow", "system:serviceaccount:*") + `,
			{"Sid":"NoDefault","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"` + benchProvider + `:sub":"system:serviceaccount:default:*"}}}]}`
		p, err := Parse([]byte(doc))
		require.NoError(b, err)
		benchEvaluate(b, p, irsaRequest("system:serviceaccount:default:intruder"), ExplicitDeny)
	})
}

func BenchmarkParseIRSA(b *testing.B) {
	doc := []byte(`{"Version":"2012-10-17","Statement":[` + irsaStatement("S", "system:serviceaccount:kube-system:efs-csi-*") + `]}`)
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkEvaluateVariables(b *testing.B) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + githubARN + `"},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
		"StringLike":{"token.actions.githubusercontent.com:sub":"repo:${token.actions.githubusercontent.com:repository_owner, 'none'}/*"}}}]}`
	p, err := Parse([]byte(doc))
	require.NoError(b, err)
	req := &Request{
		Action:    "sts:AssumeRoleWithWebIdentity",
		Principal: Principal{Type: "Federated", ID: githubARN},
		Context: Values{
			"token.actions.githubusercontent.com:aud":              {"sts.amazonaws.com"},
			"token.actions.githubusercontent.com:sub":              {"repo:octo-org/app:ref:refs/heads/main"},
			"token.actions.githubusercontent.com:repository_owner": {"octo-org"},
		},
	}
	benchEvaluate(b, p, req, Allow)
}

// BenchmarkEvaluateMixedCaseContext measures a Values map keyed as the
// policy spells its keys (the EKS issuer id in upper-case hex), which
// Evaluate looks up by that spelling before scanning.
func BenchmarkEvaluateMixedCaseContext(b *testing.B) {
	req := irsaRequest("system:serviceaccount:kube-system:efs-csi-controller-sa")
	req.Context = Values{
		benchProvider + ":aud": {"sts.amazonaws.com"},
		benchProvider + ":sub": {"system:serviceaccount:kube-system:efs-csi-controller-sa"},
	}
	benchEvaluate(b, irsaPolicy(b, 1), req, Allow)
}

// BenchmarkEvaluateFoldedContext measures the case-insensitive scan: a
// Values map keyed neither as the policy spells its keys nor lower-cased.
func BenchmarkEvaluateFoldedContext(b *testing.B) {
	req := irsaRequest("system:serviceaccount:kube-system:efs-csi-controller-sa")
	req.Context = Values{
		strings.ToUpper(benchProvider) + ":AUD": {"sts.amazonaws.com"},
		strings.ToUpper(benchProvider) + ":SUB": {"system:serviceaccount:kube-system:efs-csi-controller-sa"},
	}
	benchEvaluate(b, irsaPolicy(b, 1), req, Allow)
}

// BenchmarkEvaluateStringLikeLongSegment measures StringLike on an
// adversarial pair: a long literal middle segment (5 KB) that almost matches
// everywhere in a long value (20 KB), and a '?' middle segment likewise.
func BenchmarkEvaluateStringLikeLongSegment(b *testing.B) {
	const key = "k:x"
	for _, tc := range []struct{ name, pattern string }{
		{"literal", "*" + strings.Repeat("a", 5000) + "b*"},
		{"question", "*" + strings.Repeat("a", 62) + "?b*"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"` + key + `":"` + tc.pattern + `"}}}}`))
			require.NoError(b, err)
			req := irsaRequest("")
			req.Context = Values{key: {strings.Repeat("a", 20000)}}
			benchEvaluate(b, p, req, ImplicitDeny)
		})
	}
}
