package policy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// The shapes of trust policy a large registry holds. Each generated document
// is distinct, as a registry's are: issuers repeat (sizeIssuers of them, as
// many roles of one cluster or of GitHub Actions share one), accounts repeat
// (sizeAccounts, each account's provider ARN shared by its roles) and every
// subject is its own.
const (
	sizePolicies = 10000
	sizeIssuers  = 100
	sizeAccounts = 1000
)

func sizeEKS(i int) (acct, host string) {
	return fmt.Sprintf("%012d", 100000000000+i%sizeAccounts),
		fmt.Sprintf("oidc.eks.us-west-2.amazonaws.com/id/%032X", i%sizeIssuers)
}

// sizeIRSA is the trust policy eksctl and the EKS console write: one
// statement, StringEquals on :sub and :aud.
func sizeIRSA(i int) string {
	acct, host := sizeEKS(i)
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/` + host + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{` +
		`"` + host + `:sub":"system:serviceaccount:ns` + fmt.Sprint(i) + `:app","` + host + `:aud":"sts.amazonaws.com"}}}]}`
}

// sizeGitHub is the GitHub Actions trust policy of AWS's guide: StringLike
// on the repository's subjects, StringEquals on the audience.
func sizeGitHub(i int) string {
	acct, _ := sizeEKS(i)
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/token.actions.githubusercontent.com"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` +
		`"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},` +
		`"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/repo-` + fmt.Sprint(i) + `:*"}}}]}`
}

// sizeThree has three statements: an IRSA Allow, a GitHub Allow with
// session tags, and a Deny of one namespace.
func sizeThree(i int) string {
	acct, host := sizeEKS(i)
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Cluster","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/` + host + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{` +
		`"` + host + `:sub":"system:serviceaccount:ns` + fmt.Sprint(i) + `:app","` + host + `:aud":"sts.amazonaws.com"}}},` +
		`{"Sid":"CI","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct + `:oidc-provider/token.actions.githubusercontent.com"},` +
		`"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{` +
		`"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},` +
		`"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/repo-` + fmt.Sprint(i) + `:ref:refs/heads/*"}}},` +
		`{"Sid":"NoDefault","Effect":"Deny","Principal":"*","Action":"sts:*",` +
		`"Condition":{"StringLike":{"` + host + `:sub":"system:serviceaccount:default:*"}}}]}`
}

var sizeShapes = []struct {
	name string
	doc  func(int) string
}{
	{"irsa", sizeIRSA},
	{"github", sizeGitHub},
	{"three", sizeThree},
}

// BenchmarkCompiledSize reports the heap bytes a compiled policy holds
// (B/policy): sizePolicies distinct documents of each shape are parsed and
// kept, and the live heap is measured after a GC before and after. The
// documents themselves are not counted (a caller keeps its own copy).
// doc-B/policy is the average document length, for scale.
func BenchmarkCompiledSize(b *testing.B) {
	for _, shape := range sizeShapes {
		b.Run(shape.name, func(b *testing.B) {
			docs := make([][]byte, sizePolicies)
			n := 0
			for i := range docs {
				docs[i] = []byte(shape.doc(i))
				n += len(docs[i])
			}
			for b.Loop() {
				kept := make([]*Policy, len(docs))
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i, d := range docs {
					p, err := Parse(d)
					if err != nil {
						b.Fatal(err)
					}
					kept[i] = p
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(len(docs)), "B/policy")
				runtime.KeepAlive(kept)
			}
			b.ReportMetric(float64(n)/float64(len(docs)), "doc-B/policy")
		})
	}
}

// TestSizeShapesParse checks that the documents BenchmarkCompiledSize
// measures parse and decide as intended, so that the benchmark measures
// real policies.
func TestSizeShapesParse(t *testing.T) {
	for _, shape := range sizeShapes {
		doc := shape.doc(7)
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", shape.name, err)
		}
		acct, host := sizeEKS(7)
		lhost := strings.ToLower(host)
		req := &Request{Action: "sts:AssumeRoleWithWebIdentity", Context: Values{}}
		switch shape.name {
		case "irsa", "three":
			req.Principal = Principal{Type: "Federated", ID: "arn:aws:iam::" + acct + ":oidc-provider/" + host}
			req.Context = Values{lhost + ":sub": {"system:serviceaccount:ns7:app"}, lhost + ":aud": {"sts.amazonaws.com"}}
		case "github":
			req.Principal = Principal{Type: "Federated", ID: "arn:aws:iam::" + acct + ":oidc-provider/token.actions.githubusercontent.com"}
			req.Context = Values{"token.actions.githubusercontent.com:sub": {"repo:octo-org/repo-7:ref:refs/heads/main"},
				"token.actions.githubusercontent.com:aud": {"sts.amazonaws.com"}}
		}
		if d := p.Evaluate(req); d.Effect != Allow {
			t.Errorf("%s: %v (%s)", shape.name, d.Effect, d.Reason)
		}
		req.Context = Values{lhost + ":sub": {"system:serviceaccount:ns8:app"}, lhost + ":aud": {"sts.amazonaws.com"}}
		if d := p.Evaluate(req); d.Effect == Allow {
			t.Errorf("%s: another subject allowed (%s)", shape.name, d.Reason)
		}
	}
}
