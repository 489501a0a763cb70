package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/webidentity/webidentity/internal/cputime"
)

// BenchmarkEvaluateScattered evaluates the typical IRSA trust policies of
// randomly chosen roles out of a registry-sized set, so that each policy is
// cold in the caches and TLBs, as bench's BenchmarkAccounts policy/random
// does at full size. The policies are parsed in one go with each role's
// document kept beside its policy (as a registry keeps both), so that a
// policy's objects are spread as a registry's are. The request's context is
// keyed as the policy spells its keys (spelled) or in canonical form
// (canonical, as the verifier's context answers).
func BenchmarkEvaluateScattered(b *testing.B) {
	const (
		roles    = 200000
		accounts = 10000
		issuers  = 1000
		cases    = 4096
	)
	type evalCase struct {
		p   *Policy
		req *Request
	}
	host := func(i int) string { return fmt.Sprintf("oidc.eks.us-west-2.amazonaws.com/id/%032X", i) }
	acct := func(a int) string { return fmt.Sprintf("%012d", 200000000000+a) }
	sub := func(r int) string { return "system:serviceaccount:ns:sa-" + fmt.Sprint(r) }
	doc := func(r int) string {
		a, h := r%accounts, host((r*7)%issuers)
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Federated":"arn:aws:iam::` + acct(a) + `:oidc-provider/` + h + `"},` +
			`"Action":"sts:AssumeRoleWithWebIdentity",` +
			`"Condition":{"StringEquals":{"` + h + `:sub":"` + sub(r) + `","` + h + `:aud":"sts.amazonaws.com"}}}]}`
	}
	pols := make([]*Policy, roles)
	docs := make([][]byte, roles)
	for r := range roles {
		docs[r] = []byte(doc(r))
		p, err := Parse(docs[r])
		if err != nil {
			b.Fatal(err)
		}
		pols[r] = p
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// requests-only evaluates one policy (in cache) against the requests
	// of spelled: the part of the cost that is the request's, not the
	// policy's.
	for _, mode := range []string{"spelled", "canonical", "requests-only"} {
		b.Run(mode, func(b *testing.B) {
			evals := make([]evalCase, cases)
			for i := range evals {
				r := rng.IntN(roles)
				h := host((r * 7) % issuers)
				k := h
				if mode == "canonical" {
					k = strings.ToLower(h)
				}
				if mode == "requests-only" {
					r = 0
					h, k = host(0), host(0)
				}
				evals[i] = evalCase{pols[r], &Request{
					Action:    "sts:AssumeRoleWithWebIdentity",
					Principal: Principal{Type: PrincipalFederated, ID: "arn:aws:iam::" + acct(r%accounts) + ":oidc-provider/" + h},
					Context:   Values{k + ":sub": {sub(r)}, k + ":aud": {"sts.amazonaws.com"}},
				}}
				if d := evals[i].p.Evaluate(evals[i].req); d.Effect != Allow {
					b.Fatal(d)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			i := 0
			for b.Loop() {
				c := &evals[i&(cases-1)]
				if c.p.Evaluate(c.req).Effect != Allow {
					b.Fatal("not allowed")
				}
				i++
			}
			reportCPU(b, cpu)
		})
	}
	_ = docs
}
