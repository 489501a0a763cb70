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

// A kid-less token walks every key of its provider (only a second fitting key stops the walk),
// and the walk goes through the verifier's key-info LRU of keyCacheSize entries, shared by all
// providers. With more keys than that, every lookup of the walk misses (a sequential scan
// over an LRU larger than the cache): each forged kid-less token re-derives every key
// (jwk.Key.Raw, big.Int conversions) before its one signature check.
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
		if !ok || before[k] != ki {
			rederived++
		}
	}
	require.Zero(t, rederived, "the second identical forged kid-less token re-derived %d of %d keys", rederived, len(keys))
}

// The same walk, timed: a forged kid-less RS256 token against an issuer with many keys costs
// far more than a genuine RS256 verification (goal: at most 1.5x).
func TestAdversaryKidlessWalkCost(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	ctx := context.Background()
	iss, v := adversaryManyKeys(t, keyCacheSize+100)
	forger, err := iss.AddUnpublishedKey("RS256")
	require.NoError(t, err)
	none := ""
	claims := iss.Claims("system:serviceaccount:default:app", testClientID)
	genuine := iss.MustMint(t, claims, testissuer.MintOptions{Kid: iss.KeyID("RS256")})
	forged := iss.MustMint(t, claims, testissuer.MintOptions{Kid: forger, HeaderKid: &none})
	_, err = v.Verify(ctx, genuine)
	require.NoError(t, err)

	cost := func(tok string, ok bool) float64 {
		r := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); (err == nil) != ok {
					b.Fatal(err)
				}
			}
		})
		return float64(r.T.Nanoseconds()) / float64(r.N)
	}
	g, f := cost(genuine, true), cost(forged, false)
	t.Logf("genuine RS256 %.0f ns/op, forged kid-less %.0f ns/op, ratio %.1f", g, f, f/g)
	require.LessOrEqual(t, f/g, 1.5)
}
