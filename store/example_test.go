package store_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "webidentity-store")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// First start: an empty store. Create a provider and a role.
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	reg, err := s.Registry(iam.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := reg.CreateOIDCProvider(&iam.OIDCProvider{
		Account:   "111122223333",
		URL:       "https://token.actions.githubusercontent.com",
		ClientIDs: []string{"sts.amazonaws.com"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	role, err := reg.CreateRole(&iam.Role{
		Account: "111122223333",
		Name:    "deploy",
		TrustPolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		  "Principal":{"Federated":"` + p.ARN + `"},"Action":"sts:AssumeRoleWithWebIdentity",
		  "Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:org/app:ref:refs/heads/main"}}}]}`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("revision", reg.Revision())
	s.Close()

	// Once closed, writes fail and change nothing.
	_, err = reg.TagRole(role.ARN, []iam.Tag{{Key: "team", Value: "a"}})
	var ie *iam.Error
	if errors.As(err, &ie) {
		fmt.Println(ie.Code)
	}

	// Restart: the same registry, role ID, creation date and document.
	s, err = store.Open(dir, store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	reg, err = s.Registry(iam.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := reg.Role(role.ARN)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(again.ARN)
	fmt.Println("same role:", again.RoleID == role.RoleID && again.CreateDate.Equal(role.CreateDate) &&
		again.TrustPolicyDocument == role.TrustPolicyDocument, "tags:", len(again.Tags))
	fmt.Println("revision", reg.Revision())
	// Output:
	// revision 2
	// ServiceFailure
	// arn:aws:iam::111122223333:role/deploy
	// same role: true tags: 0
	// revision 2
}
