package iam

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/webidentity/webidentity/policy"
)

// heapDelta returns the live heap that f adds and keeps, after a GC on
// either side.
func heapDelta(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// memShapes are the trust policies of BenchmarkRoleMemory, for account a's
// k-th role; unlike BenchmarkMemory's, every subject is the role's own.
var memShapes = []struct {
	name string
	doc  func(acct string, a, k int) string
}{
	{"irsa", func(acct string, a, k int) string {
		return trustDoc(acct, benchIssuer(a%benchIssuers), fmt.Sprintf("system:serviceaccount:team%d-%d:app", a, k))
	}},
	{"github", func(acct string, a, k int) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/token.actions.githubusercontent.com"},` +
			`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` +
			`"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},` +
			`"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org-` + fmt.Sprint(a) + `/repo-` + fmt.Sprint(k) + `:*"}}}]}`
	}},
	{"three", func(acct string, a, k int) string {
		host := benchIssuer(a % benchIssuers)[len("https://"):]
		return `{"Version":"2012-10-17","Statement":[` +
			`{"Sid":"Cluster","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/` + host + `"},` +
			`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{` +
			`"` + host + `:sub":"system:serviceaccount:team` + fmt.Sprint(k) + `:app-` + fmt.Sprint(a) + `","` + host + `:aud":"sts.amazonaws.com"}}},` +
			`{"Sid":"CI","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/token.actions.githubusercontent.com"},` +
			`"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{` +
			`"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},` +
			`"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org-` + fmt.Sprint(a) + `/repo-` + fmt.Sprint(k) + `:ref:refs/heads/*"}}},` +
			`{"Sid":"NoDefault","Effect":"Deny","Principal":"*","Action":"sts:*",` +
			`"Condition":{"StringLike":{"` + host + `:sub":"system:serviceaccount:default:*"}}}]}`
	}},
}

// BenchmarkRoleMemory reports, per trust-policy shape, the heap a role
// costs in a registry of 20,000 roles (B/role: the Role, its strings, its
// document and compiled policy, and the registry's indexes), the part of it
// that is the compiled policy alone (policy-B/role: the same documents
// parsed by policy.Parse and kept) and the length of the document
// (doc-B/role). As in BenchmarkMemory, the documents are counted as the
// registry's.
func BenchmarkRoleMemory(b *testing.B) {
	for _, shape := range memShapes {
		b.Run(shape.name, func(b *testing.B) {
			n := benchAccounts / 10
			roles := make([]*Role, 0, n*benchRolePerAc)
			docs := 0
			for a := range n {
				acct := benchAccount(a)
				for k := range benchRolePerAc {
					doc := shape.doc(acct, a, k)
					docs += len(doc)
					roles = append(roles, &Role{Account: acct, Name: fmt.Sprintf("app-%d", k), TrustPolicyDocument: doc})
				}
			}
			for b.Loop() {
				var r *Registry
				used := heapDelta(func() {
					r = New(Options{})
					if err := r.Load(nil, roles); err != nil {
						b.Fatal(err)
					}
				})
				runtime.KeepAlive(r)
				r = nil
				kept := make([]*policy.Policy, len(roles))
				compiled := heapDelta(func() {
					for i, ro := range roles {
						p, err := policy.Parse([]byte(ro.TrustPolicyDocument))
						if err != nil {
							b.Fatal(err)
						}
						kept[i] = p
					}
				})
				runtime.KeepAlive(kept)
				b.ReportMetric(float64(used+int64(docs))/float64(len(roles)), "B/role")
				b.ReportMetric(float64(compiled-int64(8*len(kept)))/float64(len(roles)), "policy-B/role")
			}
			b.ReportMetric(float64(docs)/float64(len(roles)), "doc-B/role")
		})
	}
}
