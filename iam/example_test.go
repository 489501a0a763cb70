package iam_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/webidentity/webidentity/iam"
)

func Example() {
	r := iam.New(iam.Options{Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }})
	stop := r.Watch(func(c iam.Change) {
		fmt.Println("change", c.Revision, c.Kind, "new issuers:", c.IssuersAdded)
	})
	defer stop()

	// Two accounts register GitHub Actions, each with its own audience.
	const github = "https://token.actions.githubusercontent.com"
	a, _ := r.CreateOIDCProvider(&iam.OIDCProvider{Account: "111122223333", URL: github, ClientIDs: []string{"sts.amazonaws.com"}})
	_, _ = r.CreateOIDCProvider(&iam.OIDCProvider{Account: "444455556666", URL: github, ClientIDs: []string{"https://github.com/org-b"}})
	fmt.Println(a.ARN)

	role, err := r.CreateRole(&iam.Role{
		Account: "111122223333",
		Name:    "deploy",
		TrustPolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		  "Principal":{"Federated":"` + a.ARN + `"},
		  "Action":"sts:AssumeRoleWithWebIdentity",
		  "Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
		               "StringLike":{"token.actions.githubusercontent.com:sub":"repo:org-a/app:*"}}}]}`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(role.ARN, role.MaxSessionDuration)

	// Role names are unique per account, ignoring case.
	_, err = r.CreateRole(&iam.Role{Account: "111122223333", Name: "DEPLOY", TrustPolicyDocument: role.TrustPolicyDocument})
	fmt.Println(errors.Is(err, iam.ErrEntityAlreadyExists))

	// What the verifier asks: the provider of the role's account for the
	// token's issuer, and the role.
	p, _ := r.OIDCProvider("aws", "111122223333", github)
	fmt.Println(p.AcceptsClientID("sts.amazonaws.com"))
	_, err = r.OIDCProvider("aws", "777788889999", github)
	fmt.Println(errors.Is(err, iam.ErrNoSuchEntity))
	// Output:
	// change 1 ProviderCreated new issuers: [https://token.actions.githubusercontent.com]
	// change 2 ProviderCreated new issuers: []
	// arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com
	// change 3 RoleCreated new issuers: []
	// arn:aws:iam::111122223333:role/deploy 1h0m0s
	// true
	// true
	// true
}

// A lookup prepared once, its memory asked for ahead of the work before it, and finished
// later: it sees every change made in between.
func ExampleRegistry_PrepareRole() {
	r := iam.New(iam.Options{})
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	old, _ := r.CreateRole(&iam.Role{Account: "111122223333", Name: "deploy", TrustPolicyDocument: doc})

	rl := r.PrepareRole(old.ARN)
	for depth := range 4 {
		rl.Prefetch(depth) // hints only: the slot, the record, the trust policy
	}
	// A write between the hints and the lookup.
	_ = r.DeleteRole(old.ARN)
	fresh, _ := r.CreateRole(&iam.Role{Account: "111122223333", Name: "deploy", TrustPolicyDocument: doc})

	role, err := rl.Role()
	fmt.Println(err, role.RoleID == fresh.RoleID, role.RoleID == old.RoleID)

	other := r.PrepareRole("arn:aws:iam::111122223333:role/other")
	_, err = other.Role()
	fmt.Println(errors.Is(err, iam.ErrNoSuchEntity))
	// Output:
	// <nil> true false
	// true
}
