package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzStringLike(f *testing.F) {
	f.Add("system:serviceaccount:kube-system:efs-csi-*", "system:serviceaccount:kube-system:efs-csi-node")
	f.Add("repo:org/*:ref:refs/heads/*", "repo:org/app:ref:refs/heads/main")
	f.Add("a?*?b", "a€xb")
	f.Add("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, pat, val string) {
		if !utf8.ValidString(pat) || !utf8.ValidString(val) || len(pat) > 256 || len(val) > 1024 {
			return // values reach the matcher from JSON, always valid UTF-8
		}
		for _, fold := range []bool{false, true} {
			p := compileGlob(pat, fold)
			got := p.match(val, nil)
			want := globRegexp(pat, fold).MatchString(val)
			if got != want {
				t.Fatalf("pattern %q value %q fold %v: matcher %v, regexp %v", pat, val, fold, got, want)
			}
		}
		// The same pattern through the condition compiler, as StringLike
		// compiles it in a 2012-10-17 policy (no variables in the text).
		if !strings.Contains(pat, "${") {
			p, err := compileText(pat, textOptions{wild: true, vars: &varSet{}}, "")
			if err != nil {
				t.Fatalf("compileText(%q): %v", pat, err)
			}
			if got, want := p.match(val, nil), globRegexp(pat, false).MatchString(val); got != want {
				t.Fatalf("compileText pattern %q value %q: matcher %v, regexp %v", pat, val, got, want)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(cond(`"StringEquals":{"k:x":"a"}`)))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Principal":"*","NotAction":"*"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is wrapped, want *ParseError itself", err)
			}
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		keys := p.Keys()
		if !slices.IsSorted(keys) {
			t.Fatalf("keys not sorted: %q", keys)
		}
		for _, k := range keys {
			if k != canonKey(k) {
				t.Fatalf("key %q not in its folded form", k)
			}
		}
		// Accepted documents evaluate deterministically, with and without the
		// keys they reference.
		full := Values{}
		for i, k := range keys {
			full[k] = []string{"x", strings.Repeat("1", i%3), "arn:aws:iam::1:role/x"}[:1+i%3]
		}
		for _, req := range []*Request{
			{Action: "sts:AssumeRoleWithWebIdentity", Principal: Principal{Type: "Federated", ID: "accounts.google.com"}},
			{Action: "sts:TagSession", Principal: Principal{Type: "AWS", ID: "arn:aws:iam::1:root"}, Resource: "arn:aws:iam::1:role/x", Context: full},
		} {
			d1, d2 := p.Evaluate(req), p.Evaluate(req)
			if d1 != d2 {
				t.Fatalf("nondeterministic: %+v vs %+v", d1, d2)
			}
			if d1.Reason == "" || d1.Statement < -1 || d1.Statement >= len(p.stmts) {
				t.Fatalf("bad decision %+v", d1)
			}
		}
		for _, f := range Lint(p) {
			if f.Rule == "" || f.Message == "" || f.Severity < Info || f.Severity > High {
				t.Fatalf("bad finding %+v", f)
			}
		}
	})
}
