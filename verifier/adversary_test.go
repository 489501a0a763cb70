package verifier

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// adversaryManyKeys is a TLS issuer with one RS256 key followed by n ES256 keys, behind a
// jwks.Cache, and a verifier for it with the token cache off.
func adversaryManyKeys(t *testing.T, n int) (*testissuer.Issuer, *Verifier) {
	t.Helper()
	iss := testissuer.Start(t, testissuer.Options{Algorithms: []string{"RS256"}, Now: testClock})
	for range n {
		_, err := iss.AddKey("ES256")
		require.NoError(t, err)
	}
	cache, err := jwks.New(jwks.Options{
		HTTPClient: iss.Client(), AllowPrivateAddresses: true, Now: testClock, FetchTimeout: 5 * time.Second,
		Issuers: []jwks.IssuerConfig{{Issuer: iss.URL()}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cache.Close() })
	require.NoError(t, cache.Prefetch(context.Background()))
	v, err := New(Options{
		Providers:      []Provider{{URL: iss.URL(), ARN: iss.ProviderARN("111122223333"), ClientIDs: []string{testClientID}}},
		Keys:           cache,
		Now:            testClock,
		TokenCacheSize: -1,
	})
	require.NoError(t, err)
	return iss, v
}

// A kid-less token walks every key of its provider (at most jwks.MaxKeys; only a second fitting
// key stops the walk). The walk used to derive keys through a per-verifier key-info LRU shared
// by all providers, which a walk past more keys than its size defeated; keys now come from jwks
// with their facts derived at parse time, so the walk reads members only: one RSA key among 99
// EC keys costs no more allocations than the RSA key alone, and each token still gets at most
// one signature check. (BenchmarkRejectedTokens/no-kid/1-RSA-99-EC-keys measures the time.)
func TestKidlessWalkOverManyKeys(t *testing.T) {
	ctx := context.Background()
	none := ""
	type world struct {
		iss *testissuer.Issuer
		v   *Verifier
	}
	mk := func(n int) world { iss, v := adversaryManyKeys(t, n); return world{iss, v} }
	many, one := mk(jwks.MaxKeys-1), mk(0)
	token := func(w world, alg string, forged bool) string {
		claims := w.iss.Claims("system:serviceaccount:default:app", testClientID)
		kid := w.iss.KeyID(alg)
		if forged {
			var err error
			kid, err = w.iss.AddUnpublishedKey(alg)
			require.NoError(t, err)
		}
		return w.iss.MustMint(t, claims, testissuer.MintOptions{Kid: kid, HeaderKid: &none})
	}
	keys, err := many.v.keys.Keys(ctx, many.iss.URL())
	require.NoError(t, err)
	require.Len(t, keys, jwks.MaxKeys)

	tests := []struct {
		name  string
		w     world
		token string
		want  Reason // 0: verifies
	}{
		{"genuine RS256 among 99 EC keys", many, token(many, "RS256", false), 0},
		{"forged RS256 among 99 EC keys", many, token(many, "RS256", true), ReasonBadSignature},
		{"ES256 with 99 fitting keys", many, token(many, "ES256", false), ReasonKidRequired},
		{"forged RS256, one key", one, token(one, "RS256", true), ReasonBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.w.v.Verify(ctx, tt.token)
			if tt.want == 0 {
				require.NoError(t, err)
				return
			}
			require.True(t, errors.Is(err, tt.want), "%v", err)
		})
	}

	allocs := func(w world, tok string) float64 {
		return testing.AllocsPerRun(20, func() { _, _ = w.v.Verify(ctx, tok) })
	}
	// A little slack: under -race sync.Pool drops items at random, so the scratch buffer is
	// sometimes allocated again; an allocation per key walked would show as 99 more.
	assert.LessOrEqual(t, allocs(many, tests[1].token), allocs(one, tests[3].token)+2,
		"walking 99 more keys costs no allocation")
}
