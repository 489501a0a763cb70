package verifier

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
)

const (
	eksPath      = "/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	githubIssuer = "https://token.actions.githubusercontent.com"
	githubARN    = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
)

// e2e is a verifier using its default key cache (jwks.Cache) against real TLS issuers.
type e2e struct {
	eks, gh *testissuer.Issuer
	clk     *clock
	v       *Verifier
}

// newE2E starts an EKS-shaped issuer and a GitHub-shaped one (its discovery document names
// https://token.actions.githubusercontent.com as issuer, and the provider's DiscoveryURL points
// at the test server), and a verifier with roles for both.
func newE2E(t *testing.T, algs []string, tokenCache int) *e2e {
	t.Helper()
	clk := &clock{now: time.Now().Truncate(time.Second)}
	eks := testissuer.Start(t, testissuer.Options{Path: eksPath, Algorithms: algs, Now: clk.Now})
	gh := testissuer.Start(t, testissuer.Options{Algorithms: []string{"RS256"}, Now: clk.Now})
	gh.SetDiscovery(func(doc map[string]any) { doc["issuer"] = githubIssuer })

	eksTrust := trustPolicy(t, eks.ProviderARN("111122223333"), []string{ActionAssumeRoleWithWebIdentity}, `{"StringEquals":{`+
		mustJSON(t, eks.KeyPrefix()+":sub")+`:"system:serviceaccount:payments:api",`+
		mustJSON(t, eks.KeyPrefix()+":aud")+`:"sts.amazonaws.com"}}`)
	ghTrust := trustPolicy(t, githubARN, []string{ActionAssumeRoleWithWebIdentity}, `{
		"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com",
		                "token.actions.githubusercontent.com:job_workflow_ref":"octo-org/workflows/.github/workflows/deploy.yml@refs/heads/main"},
		"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/octo-repo:environment:*"}}`)
	roles, err := NewStaticRoles(
		&Role{ARN: "arn:aws:iam::111122223333:role/payments-api", TrustPolicy: eksTrust},
		&Role{ARN: "arn:aws:iam::111122223333:role/deploy", TrustPolicy: ghTrust},
	)
	require.NoError(t, err)
	v, err := New(Options{
		Providers: []Provider{
			{URL: eks.URL(), ARN: eks.ProviderARN("111122223333"), ClientIDs: []string{"sts.amazonaws.com"}},
			{URL: githubIssuer, ARN: githubARN, ClientIDs: []string{"sts.amazonaws.com"}, DiscoveryURL: gh.DiscoveryURL()},
		},
		Roles:          roles,
		Now:            clk.Now,
		TokenCacheSize: tokenCache,
		JWKS: jwks.Options{
			HTTPClient:            eks.Client(),
			AllowPrivateAddresses: true, // the test servers listen on 127.0.0.1
			FetchTimeout:          2 * time.Second,
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	return &e2e{eks: eks, gh: gh, clk: clk, v: v}
}

// eksRequest is an IRSA request with an EKS-shaped token for sub.
func (e *e2e) eksRequest(t *testing.T, sub string, opts testissuer.MintOptions) *Request {
	claims := e.eks.Claims(sub, "sts.amazonaws.com")
	claims["kubernetes.io"] = map[string]any{"namespace": "payments", "serviceaccount": map[string]any{"name": "api"}}
	return &Request{
		RoleARN:          "arn:aws:iam::111122223333:role/payments-api",
		RoleSessionName:  "api-pod",
		WebIdentityToken: e.eks.MustMint(t, claims, opts),
	}
}

func (e *e2e) githubRequest(t *testing.T, repo, workflowRef string) *Request {
	claims := e.gh.Claims("repo:"+repo+":environment:production", "sts.amazonaws.com")
	claims["iss"] = githubIssuer
	claims["repository"] = repo
	claims["job_workflow_ref"] = workflowRef
	claims["ref"] = "refs/heads/main"
	claims["repository_owner"] = strings.Split(repo, "/")[0]
	claims["runner_environment"] = "github-hosted"
	return &Request{
		RoleARN:          "arn:aws:iam::111122223333:role/deploy",
		RoleSessionName:  "gha-run-1",
		WebIdentityToken: e.gh.MustMint(t, claims, testissuer.MintOptions{}),
	}
}

func TestEndToEnd(t *testing.T) {
	e := newE2E(t, []string{"RS256", "ES256", "EdDSA"}, -1)
	ctx := context.Background()
	const wf = "octo-org/workflows/.github/workflows/deploy.yml@refs/heads/main"
	cases := []struct {
		name   string
		req    func(t *testing.T) *Request
		reason Reason
	}{
		{"EKS pod, RS256", func(t *testing.T) *Request {
			return e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{})
		}, 0},
		{"EKS pod, ES256", func(t *testing.T) *Request {
			return e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: e.eks.KeyID("ES256")})
		}, 0},
		{"EKS pod, EdDSA", func(t *testing.T) *Request {
			return e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: e.eks.KeyID("EdDSA")})
		}, 0},
		{"EKS pod of another service account", func(t *testing.T) *Request {
			return e.eksRequest(t, "system:serviceaccount:payments:worker", testissuer.MintOptions{})
		}, ReasonDenied},
		{"EKS token for the GitHub role", func(t *testing.T) *Request {
			r := e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{})
			r.RoleARN = "arn:aws:iam::111122223333:role/deploy"
			return r
		}, ReasonDenied},
		{"EKS token with alg lying about the key", func(t *testing.T) *Request {
			return e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: e.eks.KeyID("ES256"), Alg: "RS256"})
		}, ReasonKeyMismatch},
		{"EKS token with jku", func(t *testing.T) *Request {
			return e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Header: map[string]any{"jku": e.eks.JWKSURL()}})
		}, ReasonHeaderForbidden},
		{"EKS token by an unpublished key", func(t *testing.T) *Request {
			kid, err := e.eks.AddUnpublishedKey("RS256")
			require.NoError(t, err)
			e.clk.Set(e.clk.Now().Add(time.Minute)) // past the refresh interval, so the miss is fetched
			return e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: kid})
		}, ReasonUnknownKey},
		{"GitHub Actions deploy from main", func(t *testing.T) *Request { return e.githubRequest(t, "octo-org/octo-repo", wf) }, 0},
		{"GitHub Actions from a fork", func(t *testing.T) *Request { return e.githubRequest(t, "evil-org/octo-repo", wf) }, ReasonDenied},
		{"GitHub Actions with another workflow", func(t *testing.T) *Request {
			return e.githubRequest(t, "octo-org/octo-repo", "octo-org/octo-repo/.github/workflows/x.yml@refs/heads/dev")
		}, ReasonDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.v.AssumeRoleWithWebIdentity(ctx, tc.req(t))
			if tc.reason == 0 {
				require.NoError(t, err)
				assert.Equal(t, policy.Allow, res.Decision.Effect)
				return
			}
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
			assert.Equal(t, tc.reason.Code(), code)
		})
	}
}

func TestEndToEndIssuerUnavailable(t *testing.T) {
	e := newE2E(t, nil, -1)
	e.eks.SetFault(testissuer.JWKS, testissuer.Fault{Status: 503})
	_, err := e.v.AssumeRoleWithWebIdentity(context.Background(), e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{}))
	reason, code := reasonOf(t, err)
	assert.Equal(t, ReasonKeysUnavailable, reason)
	assert.Equal(t, CodeIDPCommunicationError, code)
	assert.ErrorIs(t, err, jwks.ErrIssuerUnavailable)
}

func TestEndToEndUnknownIssuerMakesNoRequest(t *testing.T) {
	e := newE2E(t, nil, -1)
	claims := e.eks.Claims("system:serviceaccount:payments:api", "sts.amazonaws.com")
	claims["iss"] = e.eks.ServerURL() + "/id/OTHER"
	_, err := e.v.Verify(context.Background(), e.eks.MustMint(t, claims, testissuer.MintOptions{}))
	assert.ErrorIs(t, err, ReasonUnknownIssuer)
	assert.Zero(t, e.eks.Requests(testissuer.Discovery)+e.eks.Requests(testissuer.JWKS))
}

// TestEndToEndCachedTokenInvalidatedByRotation: a cached token stops being served once its key
// leaves the issuer's set.
func TestEndToEndCachedTokenInvalidatedByRotation(t *testing.T) {
	e := newE2E(t, nil, 64)
	ctx := context.Background()
	old := e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{})
	_, err := e.v.AssumeRoleWithWebIdentity(ctx, old)
	require.NoError(t, err)
	_, err = e.v.AssumeRoleWithWebIdentity(ctx, old)
	require.NoError(t, err)
	require.Equal(t, uint64(1), e.v.tokens.hits.Load())

	newKid, err := e.eks.Rotate("RS256")
	require.NoError(t, err)
	e.clk.Set(e.clk.Now().Add(time.Minute)) // past the refresh interval
	_, err = e.v.AssumeRoleWithWebIdentity(ctx, e.eksRequest(t, "system:serviceaccount:payments:api", testissuer.MintOptions{Kid: newKid}))
	require.NoError(t, err, "the new kid is fetched")

	_, err = e.v.AssumeRoleWithWebIdentity(ctx, old)
	reason, _ := reasonOf(t, err)
	assert.Equal(t, ReasonUnknownKey, reason)
	assert.Equal(t, uint64(1), e.v.tokens.hits.Load(), "no further hit for the retired key")
}

// TestEndToEndRotationUnderLoad rotates keys while workers verify fresh tokens without pause:
// a rotation that publishes the new key before signing with it must cause no false reject.
func TestEndToEndRotationUnderLoad(t *testing.T) {
	for _, cache := range []int{-1, 1024} {
		name := map[bool]string{true: "token cache on", false: "token cache off"}[cache > 0]
		t.Run(name, func(t *testing.T) {
			e := newE2E(t, []string{"ES256"}, cache)
			ctx := context.Background()
			var (
				gate    sync.RWMutex // workers hold it for reading while a token is in flight
				signing atomic.Value
				served  = make(chan struct{}, 64) // one signal per accepted request, dropped when full
				failed  atomic.Int64
				stop    atomic.Bool
				wg      sync.WaitGroup
			)
			signing.Store(e.eks.KeyID("ES256"))
			halt := func() { stop.Store(true); wg.Wait() }
			// The workers stop also when a require below fails: left running past the
			// subtest, a worker's t.Errorf would panic the binary ("Log in goroutine
			// after ... has completed") and lose the subtest's report.
			defer halt()
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						gate.RLock()
						claims := e.eks.Claims("system:serviceaccount:payments:api", "sts.amazonaws.com")
						claims["jti"] = w*1_000_000 + i%8 // some tokens repeat, to exercise the cache
						tok, err := e.eks.Mint(claims, testissuer.MintOptions{Kid: signing.Load().(string)})
						if err == nil {
							_, err = e.v.AssumeRoleWithWebIdentity(ctx, &Request{
								RoleARN: "arn:aws:iam::111122223333:role/payments-api", RoleSessionName: "load", WebIdentityToken: tok,
							})
						}
						gate.RUnlock()
						if err != nil {
							failed.Add(1)
							t.Errorf("false reject: %v", err)
							return
						}
						select {
						case served <- struct{}{}:
						default:
						}
					}
				}()
			}
			for range 6 {
				prev := signing.Load().(string)
				kid, err := e.eks.AddKey("ES256") // publish first
				require.NoError(t, err)
				gate.Lock()
				e.clk.Set(e.clk.Now().Add(time.Minute)) // a refresh for the new kid is allowed
				signing.Store(kid)                      // then sign with it
				gate.Unlock()
				drain(served)
				for range 20 { // let some load run on the new key
					if !waitServed(served, &failed) {
						break
					}
				}
				gate.Lock()
				e.eks.RemoveKey(prev) // retire the old key once no token of it is in flight
				gate.Unlock()
			}
			halt()
			assert.Zero(t, failed.Load())
		})
	}
}

func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// waitServed waits for one accepted request, or gives up once a worker has failed.
func waitServed(c chan struct{}, failed *atomic.Int64) bool {
	for failed.Load() == 0 {
		select {
		case <-c:
			return true
		case <-time.After(100 * time.Millisecond): // re-check failed
		}
	}
	return false
}

// TestEndToEndThumbprintPinning: Provider.Thumbprints reach the default key cache.
func TestEndToEndThumbprintPinning(t *testing.T) {
	cases := []struct {
		name   string
		pin    func(iss *testissuer.Issuer) string
		reason Reason
	}{
		{"served certificate", func(iss *testissuer.Issuer) string {
			sum := sha1.Sum(iss.Certificate().Raw)
			return hex.EncodeToString(sum[:])
		}, 0},
		// STS's answer: InvalidIdentityToken, "OpenIDConnect provider's HTTPS certificate
		// doesn't match configured thumbprint". The fetch itself is unpinned (one fetch serves
		// every account of the issuer); the pin is checked against the chain it recorded.
		{"another certificate", func(*testissuer.Issuer) string { return strings.Repeat("ab", 20) }, ReasonThumbprint},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iss := testissuer.Start(t, testissuer.Options{Path: eksPath})
			v, err := New(Options{
				Providers: []Provider{{URL: iss.URL(), ARN: iss.ProviderARN("111122223333"), ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{tc.pin(iss)}}},
				JWKS:      jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second},
			})
			require.NoError(t, err)
			defer v.Close()
			_, err = v.Verify(context.Background(), iss.MustMint(t, iss.Claims("system:serviceaccount:payments:api", "sts.amazonaws.com"), testissuer.MintOptions{}))
			if tc.reason == 0 {
				assert.NoError(t, err)
				return
			}
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
			assert.Equal(t, CodeInvalidIdentityToken, code)
			assert.ErrorIs(t, err, jwks.ErrThumbprintMismatch)
		})
	}
}
