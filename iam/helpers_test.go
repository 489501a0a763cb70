package iam

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	acctA  = "111122223333"
	acctB  = "444455556666"
	eksURL = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	ghURL  = "https://token.actions.githubusercontent.com"
	thumb  = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

var testTime = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func newTestRegistry(t testing.TB, opts Options) *Registry {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testTime }
	}
	return New(opts)
}

// trustDoc is a typical IRSA trust policy for the account's provider of url
// and a service account.
func trustDoc(account, url, sub string) string {
	host := strings.TrimPrefix(url, "https://")
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"arn:aws:iam::` + account + `:oidc-provider/` + host + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{` +
		`"` + host + `:aud":"sts.amazonaws.com","` + host + `:sub":"` + sub + `"}}}]}`
}

func testProvider(account, url string, clientIDs ...string) *OIDCProvider {
	return &OIDCProvider{Account: account, URL: url, ClientIDs: clientIDs, Thumbprints: []string{thumb}}
}

func testRole(account, name string) *Role {
	return &Role{Account: account, Name: name, TrustPolicyDocument: trustDoc(account, eksURL, "system:serviceaccount:default:"+name)}
}

// assertCode checks that err is an *Error with the code and field.
func assertCode(t *testing.T, err error, code ErrorCode, field string) {
	t.Helper()
	var e *Error
	if !assert.True(t, errors.As(err, &e), "want *iam.Error, got %v", err) {
		return
	}
	assert.Equal(t, code, e.Code, "code (%v)", err)
	assert.Equal(t, field, e.Field, "field (%v)", err)
}

func mustCreateProvider(t testing.TB, r *Registry, p *OIDCProvider) *OIDCProvider {
	t.Helper()
	got, err := r.CreateOIDCProvider(p)
	require.NoError(t, err)
	return got
}

func mustCreateRole(t testing.TB, r *Registry, ro *Role) *Role {
	t.Helper()
	got, err := r.CreateRole(ro)
	require.NoError(t, err)
	return got
}
