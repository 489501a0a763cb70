package verifier

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/internal/floor"
	"github.com/webidentity/webidentity/policy"
)

// irsaPolicy is an EKS-style trust policy for the unit tests' provider.
const irsaPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "` + testARN + `"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {
      "oidc.example.com/id/TEST:sub": "system:serviceaccount:default:app",
      "oidc.example.com/id/TEST:aud": "sts.amazonaws.com"
    }}
  }]
}`

// benchClaims is an EKS-shaped payload (about 600 bytes encoded, like real IRSA tokens).
func benchClaims() map[string]any {
	c := baseClaims()
	c["kubernetes.io"] = map[string]any{
		"namespace":      "default",
		"pod":            map[string]any{"name": "app-7d9f8b6c5d-x2x7z", "uid": "0d3c1f5e-6d4b-4e7a-9c1e-2f3a4b5c6d7e"},
		"serviceaccount": map[string]any{"name": "app", "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"},
	}
	return c
}

// benchSetup returns a verifier over a jwks.Static holding k, with the IRSA role.
func benchSetup(b *testing.B, k *testKey, cacheSize int) (*Verifier, *Request) {
	b.Helper()
	trust, err := policy.Parse([]byte(irsaPolicy))
	require.NoError(b, err)
	roles, err := NewStaticRoles(&Role{ARN: testRoleARN, TrustPolicy: trust})
	require.NoError(b, err)
	v := newTestVerifier(b, staticKeys(b, k), func(o *Options) {
		o.Roles = roles
		o.TokenCacheSize = cacheSize
	})
	req := &Request{RoleARN: testRoleARN, RoleSessionName: "bench", WebIdentityToken: mint(b, k, benchClaims(), nil)}
	res, err := v.AssumeRoleWithWebIdentity(context.Background(), req)
	require.NoError(b, err)
	require.Equal(b, policy.Allow, res.Decision.Effect)
	return v, req
}

// bareCheck returns the bare Go signature check of the token (see internal/floor).
func bareCheck(b *testing.B, k *testKey, token string) func() bool {
	b.Helper()
	check, err := floor.Check(k.alg, k.signer.Public(), token)
	require.NoError(b, err)
	return check
}

// BenchmarkAssumeRoleWithWebIdentity compares, per algorithm and in the same run, the bare
// signature check with the whole decision (warm keys, token cache off).
func BenchmarkAssumeRoleWithWebIdentity(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		k := newTestKey(b, alg, "bench-"+alg)
		v, req := benchSetup(b, k, -1)
		check := bareCheck(b, k, req.WebIdentityToken)
		b.Run(alg+"/bare", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if !check() {
					b.Fatal("bare check failed")
				}
			}
		})
		b.Run(alg+"/full", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := v.AssumeRoleWithWebIdentity(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/verify", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := v.Verify(ctx, req.WebIdentityToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokenCacheHit measures a repeated token: cache lookup, key identity check, times
// and the policy.
func BenchmarkTokenCacheHit(b *testing.B) {
	ctx := context.Background()
	v, req := benchSetup(b, newTestKey(b, "RS256", "bench-cache"), 0)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := v.AssumeRoleWithWebIdentity(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParallel runs the full decision from all cores (token cache off); compare its
// ns/op with the serial ES256/full figure.
func BenchmarkParallel(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		k := newTestKey(b, alg, "bench-par-"+alg)
		v, req := benchSetup(b, k, -1)
		b.Run(alg+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := v.AssumeRoleWithWebIdentity(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.AssumeRoleWithWebIdentity(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
