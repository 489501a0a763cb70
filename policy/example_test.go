package policy_test

import (
	"errors"
	"fmt"

	"github.com/webidentity/webidentity/policy"
)

const exampleTrust = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "EfsCsi",
    "Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
      "StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:aud": "sts.amazonaws.com"},
      "StringLike": {"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub": "system:serviceaccount:kube-system:efs-csi-*"}
    }
  }]
}`

func Example() {
	p, err := policy.Parse([]byte(exampleTrust))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Keys())

	req := &policy.Request{
		Action:    "sts:AssumeRoleWithWebIdentity",
		Principal: policy.Principal{Type: "Federated", ID: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"},
		Context: policy.Values{
			"oidc.eks.us-east-1.amazonaws.com/id/example:aud": {"sts.amazonaws.com"},
			"oidc.eks.us-east-1.amazonaws.com/id/example:sub": {"system:serviceaccount:kube-system:efs-csi-controller-sa"},
		},
	}
	d := p.Evaluate(req)
	fmt.Println(d.Effect, d.Statement, d.Sid)

	req.Context = policy.Values{
		"oidc.eks.us-east-1.amazonaws.com/id/example:aud": {"sts.amazonaws.com"},
		"oidc.eks.us-east-1.amazonaws.com/id/example:sub": {"system:serviceaccount:default:intruder"},
	}
	d = p.Evaluate(req)
	fmt.Println(d.Effect)
	fmt.Println(d.Reason)
	// Output:
	// [oidc.eks.us-east-1.amazonaws.com/id/example:aud oidc.eks.us-east-1.amazonaws.com/id/example:sub]
	// Allow 0 EfsCsi
	// ImplicitDeny
	// Statement[0] (Sid EfsCsi): condition StringLike on "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub" did not match
}

func ExampleParse_error() {
	_, err := policy.Parse([]byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "accounts.google.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringLikeIfExist": {"accounts.google.com:aud": "x"}}
  }]
}`))
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Path)
		fmt.Println(pe.Reason)
	}
	// Output:
	// Statement[0].Condition.StringLikeIfExist
	// unknown
}

func ExampleValues() {
	// Values folds case, so keys may be written as the provider spells them.
	ctx := policy.Values{"token.actions.githubusercontent.com:SUB": {"repo:octo-org/octo-repo:ref:refs/heads/main"}}
	v, ok := ctx.Values("token.actions.githubusercontent.com:sub")
	fmt.Println(v, ok)
	// Output:
	// [repo:octo-org/octo-repo:ref:refs/heads/main] true
}

func ExampleLint() {
	p, err := policy.Parse([]byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
      "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
      "StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}
    }
  }]
}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range policy.Lint(p) {
		fmt.Println(f.Severity, f.Rule, f.Path)
	}
	// Output:
	// high broad-sub Statement[0].Condition.StringLike["token.actions.githubusercontent.com:sub"]
}
