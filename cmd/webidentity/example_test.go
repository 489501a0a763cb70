package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// The code between the README markers is copied verbatim into README.md ("Embedding it in a
// service"); TestREADMEExample fails when the two differ, so the README cannot rot.

// README:begin

// newVerifier registers one OIDC provider (an EKS cluster's issuer) and one IRSA role.
// keys nil fetches the provider's keys through its discovery document and caches them;
// a jwks.Static pins them instead.
func newVerifier(issuerURL, providerARN, roleARN string, trustPolicy []byte, keys verifier.KeySource) (*verifier.Verifier, error) {
	trust, err := policy.Parse(trustPolicy) // strict: an error names the path of the problem
	if err != nil {
		return nil, err
	}
	roles, err := verifier.NewStaticRoles(&verifier.Role{ARN: roleARN, TrustPolicy: trust, MaxSessionDuration: time.Hour})
	if err != nil {
		return nil, err
	}
	return verifier.New(verifier.Options{
		Providers: []verifier.Provider{{URL: issuerURL, ARN: providerARN, ClientIDs: []string{"sts.amazonaws.com"}}},
		Roles:     roles,
		Keys:      keys,
	})
}

// decide is the hot path: one call per AssumeRoleWithWebIdentity request. It returns the STS
// error code to answer with ("" when allowed) and, when the token verified, the Result.
func decide(ctx context.Context, v *verifier.Verifier, roleARN, session, token string) (string, *verifier.Result) {
	res, err := v.AssumeRoleWithWebIdentity(ctx, &verifier.Request{
		RoleARN: roleARN, RoleSessionName: session, WebIdentityToken: token,
	})
	var verr *verifier.Error
	if errors.As(err, &verr) {
		// Answer verr.Code with verr.Message (never the token); log err for the detail and,
		// when res != nil, res.Decision.Reason for the statement and condition that failed.
		return string(verr.Code), res
	}
	// Allowed: mint credentials for res.RoleARN, valid res.Duration, for res.Subject.
	return "", res
}

// README:end

// Example_embedding runs the README's embedding code against a test issuer, with its keys
// pinned (offline).
func Example_embedding() {
	iss, err := testissuer.New(testissuer.Options{Path: "/id/EXAMPLE"})
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	parsed, _, err := jwks.ParseJWKS(iss.JWKS())
	if err != nil {
		panic(err)
	}
	keys, err := jwks.NewStatic(iss.URL(), parsed...)
	if err != nil {
		panic(err)
	}
	host := strings.TrimPrefix(iss.URL(), "https://")
	providerARN := "arn:aws:iam::111122223333:oidc-provider/" + host
	roleARN := "arn:aws:iam::111122223333:role/app"
	trust := `{"Version": "2012-10-17", "Statement": [{
	  "Effect": "Allow",
	  "Principal": {"Federated": "` + providerARN + `"},
	  "Action": "sts:AssumeRoleWithWebIdentity",
	  "Condition": {"StringEquals": {
	    "` + host + `:aud": "sts.amazonaws.com",
	    "` + host + `:sub": "system:serviceaccount:default:demo"}}}]}`

	v, err := newVerifier(iss.URL(), providerARN, roleARN, []byte(trust), keys)
	if err != nil {
		panic(err)
	}
	defer v.Close()

	for _, sub := range []string{"system:serviceaccount:default:demo", "system:serviceaccount:other:demo"} {
		token, err := iss.Mint(iss.Claims(sub, "sts.amazonaws.com"), testissuer.MintOptions{})
		if err != nil {
			panic(err)
		}
		code, res := decide(context.Background(), v, roleARN, "session-1", token)
		if code == "" {
			fmt.Printf("%s: allowed for %s\n", res.Subject, res.Duration)
		} else {
			fmt.Printf("%s: %s (%s)\n", sub, code, res.Decision.Effect)
		}
	}
	// Output:
	// system:serviceaccount:default:demo: allowed for 1h0m0s
	// system:serviceaccount:other:demo: AccessDenied (ImplicitDeny)
}

// TestREADMEExample keeps the README's embedding example identical to the compiled code above.
func TestREADMEExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	_, code, ok := strings.Cut(string(src), "// README:begin\n")
	require.True(t, ok)
	code, _, ok = strings.Cut(code, "// README:end\n")
	require.True(t, ok)
	code = strings.TrimSpace(code)

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(readme), "<!-- from cmd/webidentity/example_test.go -->\n```go\n")
	require.True(t, ok, "README.md lacks the embedding example marker")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	assert.Equal(t, code, strings.TrimSpace(block))
}

// TestREADMEConfigExample keeps the README's configuration example valid.
func TestREADMEConfigExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## `serve`: configuration reference")
	require.True(t, ok)
	_, block, ok := strings.Cut(section, "```json\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	cfg, err := ParseConfig([]byte(block), t.TempDir())
	require.NoError(t, err)
	assert.Len(t, cfg.Providers, 1)
	assert.Len(t, cfg.Roles, 1)
}
