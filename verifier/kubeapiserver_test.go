package verifier

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// Issue 9 item 1: a self-managed, kind or in-cluster service account issuer
// is kube-apiserver itself, which serves its JWKS only as
// application/jwk-set+json and answers 406 to "Accept: application/json".
// The whole path (discovery → JWKS → signature → claims → policy) runs
// through verifier.New's default key cache against an issuer that negotiates
// exactly like the apiserver.
func TestKubeAPIServerIssuerEndToEnd(t *testing.T) {
	clk := &clock{now: time.Now().Truncate(time.Second)}
	kube := testissuer.Start(t, testissuer.Options{
		KubeAPIServer: true,
		Algorithms:    []string{"RS256", "ES256"},
		Now:           clk.Now,
	})
	arn := kube.ProviderARN("111122223333")
	trust := trustPolicy(t, arn, []string{ActionAssumeRoleWithWebIdentity}, `{"StringEquals":{`+
		mustJSON(t, kube.KeyPrefix()+":sub")+`:"system:serviceaccount:payments:api",`+
		mustJSON(t, kube.KeyPrefix()+":aud")+`:"sts.amazonaws.com"}}`)
	roles, err := NewStaticRoles(&Role{ARN: "arn:aws:iam::111122223333:role/payments-api", TrustPolicy: trust})
	require.NoError(t, err)
	v, err := New(Options{
		Providers: []Provider{{URL: kube.URL(), ARN: arn, ClientIDs: []string{"sts.amazonaws.com"}}},
		Roles:     roles,
		Now:       clk.Now,
		JWKS: jwks.Options{
			HTTPClient:            kube.Client(),
			AllowPrivateAddresses: true, // the test server listens on 127.0.0.1
			FetchTimeout:          2 * time.Second,
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	ctx := context.Background()

	// Readiness (what `serve` waits for) succeeds: discovery and JWKS both negotiated.
	require.NoError(t, v.Prefetch(ctx))
	assert.Equal(t, 1, kube.Requests(testissuer.Discovery))
	assert.Equal(t, 1, kube.Requests(testissuer.JWKS))

	request := func(t *testing.T, sub string, opts testissuer.MintOptions) *Request {
		claims := kube.Claims(sub, "sts.amazonaws.com")
		claims["kubernetes.io"] = map[string]any{"namespace": "payments", "serviceaccount": map[string]any{"name": "api"}}
		return &Request{
			RoleARN:          "arn:aws:iam::111122223333:role/payments-api",
			RoleSessionName:  "api-pod",
			WebIdentityToken: kube.MustMint(t, claims, opts),
		}
	}
	cases := []struct {
		name   string
		req    func(t *testing.T) *Request
		reason Reason
	}{
		{"RS256 service account token", func(t *testing.T) *Request {
			return request(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: kube.KeyID("RS256")})
		}, 0},
		{"ES256 service account token", func(t *testing.T) *Request {
			return request(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: kube.KeyID("ES256")})
		}, 0},
		{"another service account", func(t *testing.T) *Request {
			return request(t, "system:serviceaccount:payments:worker", testissuer.MintOptions{})
		}, ReasonDenied},
		{"a key the apiserver does not publish", func(t *testing.T) *Request {
			kid, err := kube.AddUnpublishedKey("RS256")
			require.NoError(t, err)
			clk.Set(clk.Now().Add(time.Minute)) // past the refresh interval: the miss is fetched
			return request(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: kid})
		}, ReasonUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.AssumeRoleWithWebIdentity(ctx, tc.req(t))
			if tc.reason == 0 {
				require.NoError(t, err)
				assert.Equal(t, "system:serviceaccount:payments:api", res.Subject)
				assert.Equal(t, kube.URL(), res.Provider)
				return
			}
			require.Error(t, err)
			reason, _ := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason)
		})
	}

	// A rotation on the apiserver (new key, kid = SHA-256 of its PKIX DER) is picked up by a
	// kid miss, through the same negotiated JWKS fetch.
	kid, err := kube.Rotate("ES256")
	require.NoError(t, err)
	clk.Set(clk.Now().Add(time.Minute))
	tok, err := v.Verify(ctx, kube.MustMint(t, kube.Claims("system:serviceaccount:payments:api", "sts.amazonaws.com"), testissuer.MintOptions{Kid: kid}))
	require.NoError(t, err)
	assert.Equal(t, kid, tok.KeyID)
	assert.Equal(t, "ES256", tok.Algorithm)
}
