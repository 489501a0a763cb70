package bench

import (
	"context"
	"crypto"
	"net/http"
	"sync"
	"testing"

	"github.com/webidentity/webidentity/internal/floor"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// algs are the algorithms of the hot-path suite: what EKS, GitHub Actions and most OIDC
// issuers sign with, and the three other families.
var algs = []string{"RS256", "PS256", "ES256", "EdDSA"}

const (
	clientID = "sts.amazonaws.com"
	roleARN  = "arn:aws:iam::111122223333:role/eks-app"
	subject  = "system:serviceaccount:default:app-sa"
)

// env is one test issuer with a key per algorithm, an EKS-shaped token per algorithm, and
// what the verifiers need to know it. Built once per process.
type env struct {
	iss    *testissuer.Issuer
	tokens map[string]string // alg -> token
	prov   verifier.Provider
	roles  verifier.RoleSource
}

var (
	envOnce sync.Once
	theEnv  *env
	envErr  error
)

func getEnv(b *testing.B) *env {
	b.Helper()
	envOnce.Do(func() { theEnv, envErr = newEnv() })
	if envErr != nil {
		b.Fatal(envErr)
	}
	return theEnv
}

func newEnv() (*env, error) {
	iss, err := testissuer.New(testissuer.Options{Path: "/id/EXAMPLED539D4633E53DE1B71EXAMPLE", Algorithms: algs})
	if err != nil {
		return nil, err
	}
	e := &env{iss: iss, tokens: map[string]string{}}
	hostPath := iss.KeyPrefix()
	e.prov = verifier.Provider{URL: iss.URL(), ARN: iss.ProviderARN("111122223333"), ClientIDs: []string{clientID}}
	for _, alg := range algs {
		tok, err := iss.Mint(eksClaims(iss), testissuer.MintOptions{Kid: iss.KeyID(alg)})
		if err != nil {
			return nil, err
		}
		e.tokens[alg] = tok
	}
	trust, err := policy.Parse([]byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "` + e.prov.ARN + `"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {
      "` + hostPath + `:sub": "` + subject + `",
      "` + hostPath + `:aud": "` + clientID + `"
    }}
  }]
}`))
	if err != nil {
		return nil, err
	}
	if e.roles, err = verifier.NewStaticRoles(&verifier.Role{ARN: roleARN, TrustPolicy: trust}); err != nil {
		return nil, err
	}
	return e, nil
}

// eksClaims is an EKS projected service-account token's payload (about 700 bytes encoded).
func eksClaims(iss *testissuer.Issuer) map[string]any {
	c := iss.Claims(subject, clientID)
	c["aud"] = []string{clientID}
	c["jti"] = "5d0c6d47-1c39-4c7c-a1f5-0e6c1b2d3f4a"
	c["kubernetes.io"] = map[string]any{
		"namespace": "default",
		"node":      map[string]any{"name": "ip-192-168-12-34.us-west-2.compute.internal", "uid": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
		"pod":       map[string]any{"name": "app-7d9f8b6c5d-x2x7z", "uid": "0d3c1f5e-6d4b-4e7a-9c1e-2f3a4b5c6d7e"},
		"serviceaccount": map[string]any{
			"name": "app-sa", "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
		},
	}
	return c
}

// newCache returns a key cache for the env's issuer that reaches the test server.
func (e *env) newCache(b *testing.B) *jwks.Cache {
	b.Helper()
	c, err := jwks.New(jwks.Options{
		HTTPClient:            e.iss.Client(),
		AllowPrivateAddresses: true,
		Issuers:               []jwks.IssuerConfig{{Issuer: e.iss.URL()}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// newVerifier returns a verifier over keys with the given token cache size (negative: off).
func (e *env) newVerifier(b *testing.B, keys verifier.KeySource, tokenCache int) *verifier.Verifier {
	b.Helper()
	v, err := verifier.New(verifier.Options{Providers: []verifier.Provider{e.prov}, Roles: e.roles, Keys: keys, TokenCacheSize: tokenCache})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func (e *env) request(alg string) *verifier.Request {
	return &verifier.Request{RoleARN: roleARN, RoleSessionName: "bench", WebIdentityToken: e.tokens[alg]}
}

// bareCheck returns the floor: Go's own signature check of the token, on a signing input and
// signature split and decoded beforehand (see internal/floor).
func bareCheck(b *testing.B, alg string, pub crypto.PublicKey, token string) func() bool {
	b.Helper()
	check, err := floor.Check(alg, pub, token)
	if err != nil {
		b.Fatal(err)
	}
	return check
}

// BenchmarkHotPath is the hot path per algorithm, always beside the bare signature check of
// the same token (ratios are figure/bare):
//
//	bare                     Go's hash + verify of the pre-split token: the floor
//	verify                   Verify: shape, header, claims, key lookup, signature (warm keys)
//	assume                   AssumeRoleWithWebIdentity: verify + STS checks + trust policy
//	assume-tokencache        the same token again, served from the verified-token cache
//	assume-coldkeys          a new key cache per request: discovery + JWKS over TLS, then assume
//	*-parallel               the same from all cores (b.RunParallel)
func BenchmarkHotPath(b *testing.B) {
	e := getEnv(b)
	ctx := context.Background()
	for _, alg := range algs {
		tok := e.tokens[alg]
		bare := bareCheck(b, alg, e.iss.PublicKey(e.iss.KeyID(alg)), tok)
		cache := e.newCache(b)
		b.Cleanup(func() { _ = cache.Close() })
		plain := e.newVerifier(b, cache, -1)
		cached := e.newVerifier(b, cache, 0)
		req := e.request(alg)
		// Warm: keys fetched, derived keys cached, token cached in the caching verifier.
		for _, v := range []*verifier.Verifier{plain, cached} {
			if _, err := v.AssumeRoleWithWebIdentity(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
		serial := func(name string, op func() error) {
			b.Run(alg+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := op(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		parallel := func(name string, op func() error) {
			b.Run(alg+"/"+name+"-parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := op(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
		bareOp := func() error {
			if !bare() {
				return errBare
			}
			return nil
		}
		verifyOp := func() error { _, err := plain.Verify(ctx, tok); return err }
		assumeOp := func() error { _, err := plain.AssumeRoleWithWebIdentity(ctx, req); return err }
		cachedOp := func() error { _, err := cached.AssumeRoleWithWebIdentity(ctx, req); return err }

		serial("bare", bareOp)
		serial("verify", verifyOp)
		serial("assume", assumeOp)
		serial("assume-tokencache", cachedOp)
		parallel("bare", bareOp)
		parallel("assume", assumeOp)
		parallel("assume-tokencache", cachedOp)
		b.Run(alg+"/assume-coldkeys", func(b *testing.B) {
			b.ReportAllocs()
			before := e.iss.Requests(testissuer.JWKS)
			b.ResetTimer()
			n := 0
			for b.Loop() {
				c := e.newCache(b)
				v := e.newVerifier(b, c, -1)
				if _, err := v.AssumeRoleWithWebIdentity(ctx, req); err != nil {
					b.Fatal(err)
				}
				_ = v.Close()
				_ = c.Close()
				n++
			}
			b.StopTimer()
			b.ReportMetric(float64(e.iss.Requests(testissuer.JWKS)-before)/float64(n), "fetches/op")
		})
	}
}

var errBare = &verifier.Error{Code: verifier.CodeInvalidIdentityToken, Message: "bare check failed"}

// transport returns an HTTP client whose transport keeps enough idle connections for the
// benchmark's fetch workers.
func transport(c *http.Client, idle int) *http.Client {
	t := c.Transport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idle
	return &http.Client{Transport: t}
}
