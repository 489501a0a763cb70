package stsapi

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/verifier"
)

// Over an iam.Registry, the answer names the role's own RoleId (AROA..., as IAM made it)
// without Options.RoleIDs, and a change to the registry is enforced by the next request.
func TestHandlerOverRegistry(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/REG", Algorithms: []string{"ES256"}, Now: fixedClock})
	reg := iam.New(iam.Options{AllowURLPort: true})
	_, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: testAccount, URL: iss.URL(), ClientIDs: []string{testAudience}})
	require.NoError(t, err)
	doc, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Federated": iss.ProviderARN(testAccount)},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{iss.KeyPrefix() + ":sub": testSubject}},
		}},
	})
	require.NoError(t, err)
	role, err := reg.CreateRole(&iam.Role{Account: testAccount, Name: "app", TrustPolicyDocument: string(doc)})
	require.NoError(t, err)
	v, err := verifier.New(verifier.Options{ProviderSource: reg, Roles: reg, Now: fixedClock,
		JWKS: jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	h, err := NewHandler(Options{Verifier: v, Issuer: &LocalIssuer{Now: fixedClock}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	tok := iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	r := do(t, postForm(t, srv.URL, assumeForm(role.ARN, tok)))
	require.NotNil(t, r.ok, "%+v", r.err)
	assert.Equal(t, role.RoleID+":"+testSession, r.ok.Result.AssumedRoleUser.AssumedRoleID)

	require.NoError(t, reg.DeleteOIDCProvider(iss.ProviderARN(testAccount)))
	r = do(t, postForm(t, srv.URL, assumeForm(role.ARN, tok)))
	require.NotNil(t, r.err)
	assert.Equal(t, string(verifier.CodeInvalidIdentityToken), r.err.Error.Code)
	assert.Equal(t, "No OpenIDConnect provider found in your account for "+iss.URL(), r.err.Error.Message)
}
