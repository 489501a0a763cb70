package verifier

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// keySourceWorld is a TLS test issuer served under the GitHub Actions issuer name (so that its
// discovery document is not at URL + /.well-known/...) and one served under its own URL.
type keySourceWorld struct {
	plain, gh *testissuer.Issuer
}

func newKeySourceWorld(t *testing.T) *keySourceWorld {
	t.Helper()
	w := &keySourceWorld{
		plain: testissuer.Start(t, testissuer.Options{Path: eksPath}),
		gh:    testissuer.Start(t, testissuer.Options{}),
	}
	w.gh.SetDiscovery(func(doc map[string]any) { doc["issuer"] = githubIssuer })
	return w
}

// cache returns a jwks.Cache over the world's test servers, closed at the end of the test.
func (w *keySourceWorld) cache(t *testing.T, edit func(o *jwks.Options)) *jwks.Cache {
	t.Helper()
	o := jwks.Options{HTTPClient: w.plain.Client(), AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second}
	if edit != nil {
		edit(&o)
	}
	c, err := jwks.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (w *keySourceWorld) plainProvider() Provider {
	return Provider{URL: w.plain.URL(), ARN: w.plain.ProviderARN("111122223333"), ClientIDs: []string{"sts.amazonaws.com"}}
}

func (w *keySourceWorld) ghProvider() Provider {
	return Provider{URL: githubIssuer, ARN: githubARN, ClientIDs: []string{"sts.amazonaws.com"}}
}

func (w *keySourceWorld) plainToken(t *testing.T) string {
	return w.plain.MustMint(t, w.plain.Claims("system:serviceaccount:payments:api", "sts.amazonaws.com"), testissuer.MintOptions{})
}

func (w *keySourceWorld) ghToken(t *testing.T) string {
	claims := w.gh.Claims("repo:octo-org/octo-repo:ref:refs/heads/main", "sts.amazonaws.com")
	claims["iss"] = githubIssuer
	return w.gh.MustMint(t, claims, testissuer.MintOptions{})
}

func (w *keySourceWorld) requests() int {
	n := 0
	for _, iss := range []*testissuer.Issuer{w.plain, w.gh} {
		n += iss.Requests(testissuer.Discovery) + iss.Requests(testissuer.JWKS)
	}
	return n
}

func certPin(iss *testissuer.Issuer) string {
	sum := sha1.Sum(iss.Certificate().Raw)
	return hex.EncodeToString(sum[:])
}

// A *jwks.Cache in Options.Keys that does not know the providers: New registers them, with
// their Thumbprints and DiscoveryURL, without a network request. Formerly every token was
// refused as ReasonUnknownIssuer, and Thumbprints and DiscoveryURL were silently ignored.
func TestNewRegistersProvidersInKeyCache(t *testing.T) {
	cases := []struct {
		name     string
		provider func(w *keySourceWorld) Provider
		token    func(w *keySourceWorld, t *testing.T) string
		reason   Reason // 0: accepted
		cause    error  // wrapped by the refusal
	}{
		{"unregistered issuer", (*keySourceWorld).plainProvider, (*keySourceWorld).plainToken, 0, nil},
		{"thumbprint of the served certificate", func(w *keySourceWorld) Provider {
			p := w.plainProvider()
			p.Thumbprints = []string{certPin(w.plain)}
			return p
		}, (*keySourceWorld).plainToken, 0, nil},
		{"thumbprint of another certificate", func(w *keySourceWorld) Provider {
			p := w.plainProvider()
			p.Thumbprints = []string{strings.Repeat("ab", 20)}
			return p
		}, (*keySourceWorld).plainToken, ReasonThumbprint, jwks.ErrThumbprintMismatch},
		{"discovery URL", func(w *keySourceWorld) Provider {
			p := w.ghProvider()
			p.DiscoveryURL = w.gh.DiscoveryURL()
			return p
		}, (*keySourceWorld).ghToken, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newKeySourceWorld(t)
			cache := w.cache(t, nil)
			v, err := New(Options{Providers: []Provider{tc.provider(w)}, Keys: cache})
			require.NoError(t, err)
			assert.Zero(t, w.requests(), "New makes no network request")
			_, err = v.Verify(context.Background(), tc.token(w, t))
			if tc.reason == 0 {
				assert.NoError(t, err)
			} else {
				reason, _ := reasonOf(t, err)
				assert.Equal(t, tc.reason, reason)
				assert.ErrorIs(t, err, tc.cause)
			}
			require.NoError(t, v.Close())
			_, err = cache.Keys(context.Background(), tc.provider(w).URL)
			if tc.reason == 0 {
				assert.NoError(t, err, "Close leaves a caller's cache running")
			}
		})
	}
}

// An issuer the caller's cache already serves keeps the cache's settings (a cache shared by
// several verifiers, configured once); a provider that sets DiscoveryURL for it is refused,
// since New can neither compare nor safely replace the cache's settings.
func TestNewKeepsKeyCacheRegistrations(t *testing.T) {
	cases := []struct {
		name     string
		cache    func(t *testing.T, w *keySourceWorld) *jwks.Cache
		provider func(w *keySourceWorld) Provider
		token    func(w *keySourceWorld, t *testing.T) string
		err      error // from New; nil: New succeeds and the token verifies
		offline  bool  // the token verifies without any request
	}{
		{"cache's discovery URL kept", func(t *testing.T, w *keySourceWorld) *jwks.Cache {
			return w.cache(t, func(o *jwks.Options) {
				o.Issuers = []jwks.IssuerConfig{{Issuer: githubIssuer, DiscoveryURL: w.gh.DiscoveryURL()}}
			})
		}, (*keySourceWorld).ghProvider, (*keySourceWorld).ghToken, nil, false},
		{"cache's static keys kept", func(t *testing.T, w *keySourceWorld) *jwks.Cache {
			keys, _, err := jwks.ParseJWKS(w.plain.JWKS())
			require.NoError(t, err)
			return w.cache(t, func(o *jwks.Options) {
				o.Issuers = []jwks.IssuerConfig{{Issuer: w.plain.URL(), Keys: keys}}
			})
		}, (*keySourceWorld).plainProvider, (*keySourceWorld).plainToken, nil, true},
		// Thumbprints are the provider's, checked per token against the chain the cache
		// recorded: they apply to an issuer the cache already serves too.
		{"provider thumbprints for a registered issuer", func(t *testing.T, w *keySourceWorld) *jwks.Cache {
			return w.cache(t, func(o *jwks.Options) { o.Issuers = []jwks.IssuerConfig{{Issuer: w.plain.URL()}} })
		}, func(w *keySourceWorld) Provider {
			p := w.plainProvider()
			p.Thumbprints = []string{certPin(w.plain)}
			return p
		}, (*keySourceWorld).plainToken, nil, false},
		{"provider discovery URL for a registered issuer", func(t *testing.T, w *keySourceWorld) *jwks.Cache {
			return w.cache(t, func(o *jwks.Options) { o.Issuers = []jwks.IssuerConfig{{Issuer: githubIssuer}} })
		}, func(w *keySourceWorld) Provider {
			p := w.ghProvider()
			p.DiscoveryURL = w.gh.DiscoveryURL()
			return p
		}, nil, ErrProviderSettingIgnored, false},
		// An issuer that AllowAnyIssuer lets through is not registered: New registers it
		// with the provider's pins, so that they apply (TestNewAppliesPinsUnderAllowAnyIssuer).
		{"provider thumbprints under AllowAnyIssuer", func(t *testing.T, w *keySourceWorld) *jwks.Cache {
			return w.cache(t, func(o *jwks.Options) { o.AllowAnyIssuer = true })
		}, func(w *keySourceWorld) Provider {
			p := w.plainProvider()
			p.Thumbprints = []string{certPin(w.plain)}
			return p
		}, (*keySourceWorld).plainToken, nil, false},
		{"AllowAnyIssuer without provider settings", func(t *testing.T, w *keySourceWorld) *jwks.Cache {
			return w.cache(t, func(o *jwks.Options) { o.AllowAnyIssuer = true })
		}, (*keySourceWorld).plainProvider, (*keySourceWorld).plainToken, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newKeySourceWorld(t)
			v, err := New(Options{Providers: []Provider{tc.provider(w)}, Keys: tc.cache(t, w)})
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				assert.Nil(t, v)
				return
			}
			require.NoError(t, err)
			assert.Zero(t, w.requests(), "New makes no network request")
			_, err = v.Verify(context.Background(), tc.token(w, t))
			assert.NoError(t, err)
			if tc.offline {
				assert.Zero(t, w.requests(), "static keys are used, not the network")
			}
		})
	}
}

// Key sources that take no registrations refuse Thumbprints and DiscoveryURL (pinning must
// never fail open), and a jwks.Static must serve every provider's issuer.
func TestNewChecksKeySource(t *testing.T) {
	ks := newKeySet(t)
	static := staticKeys(t, ks.rs)
	other := Provider{URL: "https://other.example.com", ARN: "arn:aws:iam::111122223333:oidc-provider/other.example.com", ClientIDs: []string{testClientID}}
	pinned := testProvider()
	pinned.Thumbprints = []string{strings.Repeat("ab", 20)}
	pinnedOther := other
	pinnedOther.Thumbprints = pinned.Thumbprints
	located := testProvider()
	located.DiscoveryURL = "https://discovery.example.com/.well-known/openid-configuration"
	cases := []struct {
		name      string
		keys      KeySource
		providers []Provider
		err       error // nil: New succeeds
	}{
		{"static for the provider", static, []Provider{testProvider()}, nil},
		{"static for another issuer", jwks.MustStatic("https://other.example.com", ks.rs.key), []Provider{testProvider()}, ErrKeySourceIssuer},
		{"static for one of two providers", static, []Provider{testProvider(), other}, ErrKeySourceIssuer},
		{"static with thumbprints", static, []Provider{pinned}, ErrProviderSettingIgnored},
		{"static with discovery URL", static, []Provider{located}, ErrProviderSettingIgnored},
		{"custom source", mapKeys(ks.rs), []Provider{testProvider(), other}, nil},
		{"custom source with thumbprints", mapKeys(ks.rs), []Provider{testProvider(), pinnedOther}, ErrProviderSettingIgnored},
		{"custom source with discovery URL", mapKeys(ks.rs), []Provider{located}, ErrProviderSettingIgnored},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(Options{Providers: tc.providers, Keys: tc.keys, Now: testClock})
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				assert.Nil(t, v)
				return
			}
			require.NoError(t, err)
			_, err = v.Verify(context.Background(), mint(t, ks.rs, baseClaims(), nil))
			assert.NoError(t, err)
		})
	}

	t.Run("registration refused by the cache", func(t *testing.T) {
		c, err := jwks.New(jwks.Options{})
		require.NoError(t, err)
		defer c.Close()
		bad := testProvider()
		bad.Thumbprints = []string{"not hex"}
		_, err = New(Options{Providers: []Provider{bad}, Keys: c})
		assert.Error(t, err)
		assert.NotErrorIs(t, err, ErrProviderSettingIgnored)
	})
	t.Run("nil cache", func(t *testing.T) {
		_, err := New(Options{Providers: []Provider{testProvider()}, Keys: (*jwks.Cache)(nil)})
		assert.Error(t, err)
	})
}

// Under AllowAnyIssuer, a provider's pins are registered and enforced: a wrong pin refuses
// the issuer's keys instead of being ignored.
func TestNewAppliesPinsUnderAllowAnyIssuer(t *testing.T) {
	w := newKeySourceWorld(t)
	cache := w.cache(t, func(o *jwks.Options) { o.AllowAnyIssuer = true })
	p := w.plainProvider()
	p.Thumbprints = []string{strings.Repeat("ab", 20)}
	v, err := New(Options{Providers: []Provider{p}, Keys: cache})
	require.NoError(t, err)
	assert.True(t, cache.Registered(p.URL))
	_, err = v.Verify(context.Background(), w.plainToken(t))
	reason, _ := reasonOf(t, err)
	assert.Equal(t, ReasonThumbprint, reason)
	assert.ErrorIs(t, err, jwks.ErrThumbprintMismatch)
}

// The default key cache keeps a caller's JWKS.Issuers entry for a provider's issuer (its static
// keys) instead of replacing it with a discovery registration.
func TestNewDefaultCacheKeepsJWKSIssuers(t *testing.T) {
	w := newKeySourceWorld(t)
	keys, _, err := jwks.ParseJWKS(w.plain.JWKS())
	require.NoError(t, err)
	v, err := New(Options{Providers: []Provider{w.plainProvider()}, JWKS: jwks.Options{
		Issuers: []jwks.IssuerConfig{{Issuer: w.plain.URL(), Keys: keys}},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	_, err = v.Verify(context.Background(), w.plainToken(t))
	require.NoError(t, err)
	assert.Zero(t, w.requests(), "the static keys verify; discovery is never asked")
}

// The kid table: interned kids are returned without allocating, from any shard; the table is
// bounded; filling it copies shards, not the whole table.
func TestKidTable(t *testing.T) {
	var kt kidTable
	for i := range 3000 {
		kt.intern("kid-" + strconv.Itoa(i))
	}
	assert.EqualValues(t, 3000, kt.n.Load())
	b := []byte("kid-1234")
	assert.Equal(t, "kid-1234", kt.kid(b))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = kt.kid(b) }), "an interned kid")
	assert.Equal(t, "unknown", kt.kid([]byte("unknown")))
	for i := range maxInternedKids {
		kt.intern("more-" + strconv.Itoa(i))
	}
	assert.EqualValues(t, maxInternedKids, kt.n.Load(), "bounded")
	kt.intern("kid-1234") // already in: no change
	assert.EqualValues(t, maxInternedKids, kt.n.Load())
}
