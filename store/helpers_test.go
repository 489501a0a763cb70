package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

const (
	acctA  = "111122223333"
	acctB  = "444455556666"
	eksURL = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	ghURL  = "https://token.actions.githubusercontent.com"
	thumb  = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

var testTime = time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)

func testOptions() iam.Options {
	return iam.Options{Now: func() time.Time { return testTime }}
}

// trustDoc is an IRSA trust policy for the account's provider of url and a
// service account, laid out with white space as a person writes it (the
// store must keep the text as given).
func trustDoc(account, url, sub string) string {
	host := strings.TrimPrefix(url, "https://")
	return "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\",\n" +
		"\t\"Principal\": {\"Federated\": \"arn:aws:iam::" + account + ":oidc-provider/" + host + "\"},\n" +
		"\t\"Action\": \"sts:AssumeRoleWithWebIdentity\",\n  \"Condition\": {\"StringEquals\": {" +
		"\"" + host + ":aud\": \"sts.amazonaws.com\", \"" + host + ":sub\": \"" + sub + "\"}}}]}\n"
}

func roleARN(account, name string) string { return iam.RoleARN("aws", account, "/", name) }

// open opens the store in dir and its registry, closing it at the end of
// the test (a second Close is harmless).
func open(t testing.TB, dir string) (*Store, *iam.Registry) {
	t.Helper()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	reg, err := s.Registry(testOptions())
	require.NoError(t, err)
	return s, reg
}

// providerView and roleView are the stored content of an entity, without
// the compiled policy, for comparisons.
type providerView struct {
	ARN, Partition, Account, URL string
	ClientIDs, Thumbprints       []string
	Tags                         []iam.Tag
	CreateDate                   string
}

type roleView struct {
	ARN, RoleID, Name, Path, Account, Partition string
	Doc, Description                            string
	MaxSessionDuration                          time.Duration
	Tags                                        []iam.Tag
	CreateDate                                  string
}

func viewRole(ro *iam.Role) roleView {
	return roleView{
		ARN: ro.ARN, RoleID: ro.RoleID, Name: ro.Name, Path: ro.Path, Account: ro.Account, Partition: ro.Partition,
		Doc: ro.TrustPolicyDocument, Description: ro.Description, MaxSessionDuration: ro.MaxSessionDuration,
		Tags: ro.Tags, CreateDate: ro.CreateDate.Format(time.RFC3339Nano),
	}
}

// dump is everything the registry holds for the accounts, with its revision.
func dump(reg *iam.Registry, accounts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revision %d\n", reg.Revision())
	for _, a := range accounts {
		for _, p := range reg.ListOIDCProviders("aws", a) {
			fmt.Fprintf(&b, "%+v\n", providerView{
				ARN: p.ARN, Partition: p.Partition, Account: p.Account, URL: p.URL,
				ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints, Tags: p.Tags,
				CreateDate: p.CreateDate.Format(time.RFC3339Nano),
			})
		}
		for _, ro := range reg.ListRoles("aws", a, "/") {
			fmt.Fprintf(&b, "%+v\n", viewRole(ro))
		}
	}
	fmt.Fprintf(&b, "issuers %q\n", reg.Issuers())
	return b.String()
}
