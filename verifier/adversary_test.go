package verifier

import (
	"context"
	"errors"
	"testing"
	"time"

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

// A kid-less token walks every key of its provider (only a second fitting key stops the walk).
// The walk used to derive every key through the verifier's key-info LRU of keyCacheSize
// entries, shared by all providers: with more keys than that, every lookup missed, and each
// forged kid-less token re-derived every key (jwk.Key.Raw, big.Int conversions) before its one
// signature check. Now jwks keeps at most jwks.MaxKeys keys per set and the walk derives only
// keys whose members fit alg: a second identical token derives nothing again.
func TestAdversaryKidlessWalkRederivesKeys(t *testing.T) {
	ctx := context.Background()
	iss, v := adversaryManyKeys(t, keyCacheSize+100)
	forger, err := iss.AddUnpublishedKey("RS256")
	require.NoError(t, err)
	none := ""
	claims := iss.Claims("system:serviceaccount:default:app", testClientID)
	forged := iss.MustMint(t, claims, testissuer.MintOptions{Kid: forger, HeaderKid: &none})

	_, err = v.Verify(ctx, forged)
	require.True(t, errors.Is(err, ReasonBadSignature), "%v", err)
	keys, err := v.keys.Keys(ctx, iss.URL())
	require.NoError(t, err)
	before := map[any]*keyInfo{}
	for _, k := range keys {
		if ki, ok := v.keyInfo.lru.Peek(k); ok {
			before[k] = ki
		}
	}
	_, err = v.Verify(ctx, forged)
	require.True(t, errors.Is(err, ReasonBadSignature), "%v", err)
	rederived := 0
	for _, k := range keys {
		ki, ok := v.keyInfo.lru.Peek(k)
		if was, derived := before[k]; derived && (!ok || was != ki) {
			rederived++ // derived by the first walk, then evicted or derived again
		}
	}
	require.NotEmpty(t, before, "the first walk derived the fitting key")
	require.Zero(t, rederived, "the second identical forged kid-less token re-derived %d of %d keys", rederived, len(keys))
}

// A kid-less token's walk derives only the keys whose members (kty, alg, crv) fit its alg: after
// a forged kid-less RS256 token against one RSA key and many EC keys, only the RSA key is in the
// key-info cache, so a walk neither costs a derivation per key nor evicts other issuers' keys.
// (BenchmarkRejectedTokens/no-kid/1-RSA-99-EC-keys measures the walk.)
func TestKidlessWalkDerivesOnlyFittingKeys(t *testing.T) {
	ctx := context.Background()
	iss, v := adversaryManyKeys(t, jwks.MaxKeys-1)
	forger, err := iss.AddUnpublishedKey("RS256")
	require.NoError(t, err)
	none := ""
	claims := iss.Claims("system:serviceaccount:default:app", testClientID)
	_, err = v.Verify(ctx, iss.MustMint(t, claims, testissuer.MintOptions{Kid: forger, HeaderKid: &none}))
	require.True(t, errors.Is(err, ReasonBadSignature), "%v", err)
	keys, err := v.keys.Keys(ctx, iss.URL())
	require.NoError(t, err)
	require.Len(t, keys, jwks.MaxKeys)
	derived := 0
	for _, k := range keys {
		if _, ok := v.keyInfo.lru.Peek(k); ok {
			derived++
		}
	}
	require.Equal(t, 1, derived, "only the RSA key was derived")
}
