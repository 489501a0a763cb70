package verifier

import (
	"context"
	"github.com/webidentity/webidentity/internal/cputime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// BenchmarkRejectedTokens measures every shape of token the key lookup refuses beside the
// full verification of a genuine RS256 token, in one run: divide each ns/op (and cpu-ns/op,
// the process's CPU time per operation, which a busy machine does not inflate) by
// RS256-genuine's. The goal is at most 1.5: a rejected token costs at most one signature check
// (the genuine token pays one too, plus claims and audience), so a forger cannot make the
// verifier work harder than an honest caller does.
func BenchmarkRejectedTokens(b *testing.B) {
	ctx := context.Background()
	rs := newTestKey(b, "RS256", "rs")
	forger := keyFromSigner(b, "RS256", "rs", mustRSAKey(b), true) // same kid, key not published
	noKid := map[string]any{"kid": nil}

	// An issuer with eight RS256 keys (made from one RSA key: the cost is the same) and no kid
	// in the token: formerly tried against each of them.
	var eight []*testKey
	for i := range 8 {
		eight = append(eight, keyFromSigner(b, "RS256", "rot-"+string(rune('a'+i)), rs.signer, true))
	}
	// One kid on an EC key and an RSA key (RFC 7517 section 4.5), the EC one first: an RS256
	// token takes the sibling path.
	es := newTestKey(b, "ES256", "shared")
	rsShared := keyFromSigner(b, "RS256", "shared", rs.signer, true)
	forgerShared := keyFromSigner(b, "RS256", "shared", forger.signer, true)
	shared := staticKeys(b, es, rsShared)

	// One RSA key among 99 EC keys (jwks.MaxKeys in all) and no kid: the walk reads each
	// key's members and checks only the RSA key.
	mixed := []*testKey{rs}
	for i := range jwks.MaxKeys - 1 {
		mixed = append(mixed, newTestKey(b, "ES256", "ec-"+strconv.Itoa(i)))
	}

	type shape struct {
		name  string
		keys  KeySource
		token string
		ok    bool
	}
	shapes := []shape{
		{"RS256-genuine", mapKeys(rs), mint(b, rs, benchClaims(), nil), true},
		{"forged/known-kid", mapKeys(rs), mint(b, forger, benchClaims(), nil), false},
		{"forged/unknown-kid", staticKeys(b, rs), mint(b, forger, benchClaims(), map[string]any{"kid": "nope"}), false},
		{"no-kid/8-keys-fit", mapKeys(eight...), mint(b, forger, benchClaims(), noKid), false},
		{"no-kid/8-keys-fit-genuine-signature", mapKeys(eight...), mint(b, rs, benchClaims(), noKid), false},
		{"no-kid/1-key-fits-forged", mapKeys(rs, es), mint(b, forger, benchClaims(), noKid), false},
		{"no-kid/1-RSA-99-EC-keys-forged", mapKeys(mixed...), mint(b, forger, benchClaims(), noKid), false},
		{"shared-kid/sibling-forged", shared, mint(b, forgerShared, benchClaims(), nil), false},
		{"shared-kid/no-sibling-fits", staticKeys(b, es), mint(b, forgerShared, benchClaims(), nil), false},
		{"alg-not-allowed", mapKeys(rs), mint(b, rs, benchClaims(), map[string]any{"alg": "HS256"}), false},
	}

	// A real jwks.Cache over TLS: a token with an unknown kid is a cache miss whose refresh
	// is rate-limited (the fixed clock never lets MinRefreshInterval pass).
	iss := testissuer.Start(b, testissuer.Options{Algorithms: []string{"RS256"}, Now: testClock})
	cache, err := jwks.New(jwks.Options{
		HTTPClient: iss.Client(), AllowPrivateAddresses: true, Now: testClock,
		Issuers: []jwks.IssuerConfig{{Issuer: iss.URL()}},
	})
	require.NoError(b, err)
	b.Cleanup(func() { _ = cache.Close() })
	cacheProvider := Provider{URL: iss.URL(), ARN: iss.ProviderARN("111122223333"), ClientIDs: []string{testClientID}}
	claims := iss.Claims("system:serviceaccount:default:app", testClientID)
	missKid := "not-published"
	cacheShapes := []shape{
		{"cache/RS256-genuine", cache, iss.MustMint(b, claims, testissuer.MintOptions{}), true},
		{"cache/forged/unknown-kid-miss", cache, iss.MustMint(b, claims, testissuer.MintOptions{HeaderKid: &missKid}), false},
	}

	run := func(s shape, providers []Provider) {
		v, err := New(Options{Providers: providers, Keys: s.keys, Now: testClock, TokenCacheSize: -1})
		require.NoError(b, err)
		_, err = v.Verify(ctx, s.token) // warm the key caches, the pools and the jwks fetch
		require.Equal(b, s.ok, err == nil, "%s: %v", s.name, err)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				if _, err := v.Verify(ctx, s.token); (err == nil) != s.ok {
					b.Fatal(err)
				}
			}
			if cpu != 0 {
				b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
	for _, s := range shapes {
		run(s, []Provider{testProvider()})
	}
	for _, s := range cacheShapes {
		run(s, []Provider{cacheProvider})
	}
}
