package jwks

import (
	"context"
	"crypto"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// KeySource is what the verifier needs; both Cache and Static provide it.
type keySource interface {
	Key(ctx context.Context, issuer, kid string) (*Key, error)
	Keys(ctx context.Context, issuer string) ([]*Key, error)
}

var (
	_ keySource = (*Cache)(nil)
	_ keySource = (*Static)(nil)
)

func TestKeyEveryAlgorithm(t *testing.T) {
	algs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	e := newEnv(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: algs}, nil)
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			kid := e.iss.KeyID(alg)
			require.NotEmpty(t, kid)
			key, err := e.cache.Key(bg, e.iss.URL(), kid)
			require.NoError(t, err)
			assert.Equal(t, kid, key.KeyID())
			assert.True(t, publicKeyEqual(key.Public(), e.iss.PublicKey(kid)), "key material differs")
		})
	}
	keys, err := e.cache.Keys(bg, e.iss.URL())
	require.NoError(t, err)
	assert.Len(t, keys, len(algs))
	assert.Equal(t, 1, e.iss.Requests(testissuer.Discovery))
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))
}

func publicKeyEqual(a, b any) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if eq, ok := a.(equaler); ok {
		return eq.Equal(b)
	}
	return false
}

func TestWarmHitMakesNoRequest(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	kid := e.iss.Kids()[0]
	first, err := e.cache.Key(bg, e.iss.URL(), kid)
	require.NoError(t, err)
	e.clock.Advance(3 * time.Minute) // within 3/4 of the 5-minute MinTTL
	for range 100 {
		k, err := e.cache.Key(bg, e.iss.URL(), kid)
		require.NoError(t, err)
		assert.Same(t, first, k)
	}
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))
}

func TestRotation(t *testing.T) {
	week := http.Header{"Cache-Control": {"public, max-age=604800"}}
	e := newEnv(t, testissuer.Options{Path: "/id/EKS"}, nil)
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Header: week})
	iss := e.iss.URL()
	oldKid := e.iss.Kids()[0]
	oldKey, err := e.cache.Key(bg, iss, oldKid)
	require.NoError(t, err)

	// A second key appears: picked up at once by a kid miss despite the
	// 7-day max-age, and the unchanged old key keeps its identity.
	e.clock.Advance(time.Hour)
	addedKid, err := e.iss.AddKey("ES256")
	require.NoError(t, err)
	added, err := e.cache.Key(bg, iss, addedKid)
	require.NoError(t, err)
	assert.Equal(t, addedKid, added.KeyID())
	again, err := e.cache.Key(bg, iss, oldKid)
	require.NoError(t, err)
	assert.Same(t, oldKey, again, "unchanged key must keep its *Key identity")
	assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS))

	// Rotation: a new key replaces both. The old kids are served until a
	// refresh shows they left.
	e.clock.Advance(time.Hour)
	newKid, err := e.iss.Rotate("RS256")
	require.NoError(t, err)
	_, err = e.cache.Key(bg, iss, oldKid)
	require.NoError(t, err, "old kid served until a refresh shows it left")
	k, err := e.cache.Key(bg, iss, newKid)
	require.NoError(t, err)
	assert.Equal(t, newKid, k.KeyID())
	_, err = e.cache.Key(bg, iss, oldKid)
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.Equal(t, 3, e.iss.Requests(testissuer.JWKS))

	// Once the new kid is cached, tokens signed with it never cause a fetch,
	// even 6 days later (the 7-day max-age is clamped to 24h MaxTTL, so a
	// refresh ahead happens, but only one per window).
	e.iss.ResetCounts()
	for range 10 {
		_, err := e.cache.Key(bg, iss, newKid)
		require.NoError(t, err)
	}
	assert.Equal(t, 0, e.iss.Requests(testissuer.JWKS))
}

func TestRefreshAheadAndFreshness(t *testing.T) {
	tests := []struct {
		name      string
		header    http.Header
		quiet     time.Duration // no fetch while advancing this far
		refreshAt time.Duration // a hit here starts a background refresh
	}{
		{name: "no headers use MinTTL", quiet: 3 * time.Minute, refreshAt: 4 * time.Minute},
		{name: "max-age inside bounds", header: http.Header{"Cache-Control": {"max-age=3600"}}, quiet: 44 * time.Minute, refreshAt: 46 * time.Minute},
		{name: "short max-age clamped up", header: http.Header{"Cache-Control": {"max-age=10"}}, quiet: 3 * time.Minute, refreshAt: 4 * time.Minute},
		{name: "7 days clamped to MaxTTL", header: http.Header{"Cache-Control": {"max-age=604800"}}, quiet: 17 * time.Hour, refreshAt: 19 * time.Hour},
		{name: "no-store", header: http.Header{"Cache-Control": {"no-store"}}, quiet: 3 * time.Minute, refreshAt: 4 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testissuer.Options{}, nil)
			e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Header: tt.header})
			iss, kid := e.iss.URL(), e.iss.Kids()[0]
			_, err := e.cache.Key(bg, iss, kid)
			require.NoError(t, err)

			e.clock.Advance(tt.quiet)
			_, err = e.cache.Key(bg, iss, kid)
			require.NoError(t, err)
			waitFetch(t, e.cache, iss)
			assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS), "fetched before refresh-ahead time")

			e.clock.Advance(tt.refreshAt - tt.quiet)
			_, err = e.cache.Key(bg, iss, kid)
			require.NoError(t, err, "hit served while refreshing ahead")
			waitFetch(t, e.cache, iss)
			assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS), "refresh ahead")
		})
	}
}

func TestOutageServesStaleThenFails(t *testing.T) {
	tests := []struct {
		name    string
		fault   testissuer.Fault
		timeout time.Duration // FetchTimeout, if not the 5 s default
		status  int
		cause   error
	}{
		{name: "500", fault: testissuer.Fault{Status: 500}, status: 500, cause: ErrStatus},
		{name: "404", fault: testissuer.Fault{Status: 404}, status: 404, cause: ErrStatus},
		// Status -1: not checked. Seen once under two concurrent -race runs: the deadline
		// error came with status 200, an empty answer the test server sends when its delayed
		// handler gives up. What this case proves is the deadline cause, checked below.
		{name: "timeout before headers", fault: testissuer.Fault{DelayHeaders: 5 * time.Second}, timeout: 400 * time.Millisecond, status: -1, cause: context.DeadlineExceeded},
		{name: "slow body", fault: testissuer.Fault{SlowBody: 100 * time.Millisecond}, timeout: 400 * time.Millisecond, status: 200, cause: context.DeadlineExceeded},
		{name: "garbage", fault: testissuer.Fault{Body: []byte("<html>oops</html>")}, status: 200, cause: ErrInvalidDocument},
		{name: "empty set", fault: testissuer.Fault{Body: []byte(`{"keys":[]}`)}, status: 200, cause: ErrNoUsableKeys},
		{name: "oversized", fault: testissuer.Fault{Oversize: 2 << 20}, status: 200, cause: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testissuer.Options{}, func(o *Options) {
				o.FetchTimeout = tt.timeout
				o.MaxStale = time.Hour
			})
			iss, kid := e.iss.URL(), e.iss.Kids()[0]
			want, err := e.cache.Key(bg, iss, kid)
			require.NoError(t, err)

			e.iss.SetFault(testissuer.JWKS, tt.fault)
			e.clock.Advance(10 * time.Minute) // expired (5 min), within MaxStale
			got, err := e.cache.Key(bg, iss, kid)
			require.NoError(t, err, "stale keys are served")
			assert.Same(t, want, got)
			waitFetch(t, e.cache, iss)
			got, err = e.cache.Key(bg, iss, kid)
			require.NoError(t, err, "still served after the refresh failed")
			assert.Same(t, want, got)
			_, _, _, stale := e.rec.snapshot()
			require.Len(t, stale, 1)
			assert.Equal(t, iss, stale[0].Issuer)

			e.clock.Advance(time.Hour) // past MaxStale
			_, err = e.cache.Key(bg, iss, kid)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrIssuerUnavailable)
			assert.NotErrorIs(t, err, ErrUnknownKey)
			assert.ErrorIs(t, err, tt.cause)
			var fe *FetchError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, DocJWKS, fe.Document)
			if tt.status >= 0 {
				assert.Equal(t, tt.status, fe.Status)
			}

			// Within MinRefreshInterval the failure is answered at once,
			// without a request, still with the cause.
			e.iss.ResetCounts()
			_, err = e.cache.Key(bg, iss, kid)
			assert.ErrorIs(t, err, ErrIssuerUnavailable)
			assert.ErrorIs(t, err, tt.cause)
			assert.Equal(t, 0, e.iss.Requests(testissuer.JWKS))

			// Recovery.
			e.iss.ClearFaults()
			e.clock.Advance(time.Minute)
			got, err = e.cache.Key(bg, iss, kid)
			require.NoError(t, err)
			assert.Same(t, want, got, "identity kept across an outage")
		})
	}
}

func TestColdStartFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
		opts  func(o *Options)
		doc   Document
		cause error
	}{
		{
			name:  "issuer mismatch",
			setup: func(e *env) { e.iss.SetDiscovery(func(d map[string]any) { d["issuer"] = "https://evil.example" }) },
			doc:   DocDiscovery, cause: ErrIssuerMismatch,
		},
		{
			name: "issuer with trailing slash",
			setup: func(e *env) {
				u := e.iss.URL()
				e.iss.SetDiscovery(func(d map[string]any) { d["issuer"] = u + "/" })
			},
			doc: DocDiscovery, cause: ErrIssuerMismatch,
		},
		{
			name: "http jwks_uri",
			setup: func(e *env) {
				u := strings.Replace(e.iss.JWKSURL(), "https://", "http://", 1)
				e.iss.SetDiscovery(func(d map[string]any) { d["jwks_uri"] = u })
			},
			doc: DocDiscovery, cause: ErrInsecureURL,
		},
		{
			name: "jwks_uri with userinfo",
			setup: func(e *env) {
				u := strings.Replace(e.iss.JWKSURL(), "https://", "https://user:pw@", 1)
				e.iss.SetDiscovery(func(d map[string]any) { d["jwks_uri"] = u })
			},
			doc: DocDiscovery, cause: ErrInsecureURL,
		},
		{
			name:  "jwks_uri missing",
			setup: func(e *env) { e.iss.SetDiscovery(func(d map[string]any) { delete(d, "jwks_uri") }) },
			doc:   DocDiscovery, cause: ErrInvalidDocument,
		},
		{
			name: "discovery redirect to http",
			setup: func(e *env) {
				e.iss.SetFault(testissuer.Discovery, testissuer.Fault{RedirectTo: "http://" + e.iss.Host() + "/plain"})
			},
			doc: DocDiscovery, cause: ErrInsecureURL,
		},
		{
			name: "discovery redirect loop",
			setup: func(e *env) {
				e.iss.SetFault(testissuer.Discovery, testissuer.Fault{RedirectTo: e.iss.DiscoveryURL()})
			},
			doc: DocDiscovery, cause: ErrTooManyRedirects,
		},
		{
			name: "jwks redirect loop",
			setup: func(e *env) {
				e.iss.SetFault(testissuer.JWKS, testissuer.Fault{RedirectTo: e.iss.JWKSURL()})
			},
			doc: DocJWKS, cause: ErrTooManyRedirects,
		},
		{
			name:  "discovery oversized",
			setup: func(e *env) { e.iss.SetFault(testissuer.Discovery, testissuer.Fault{Oversize: 100 << 10}) },
			doc:   DocDiscovery, cause: ErrTooLarge,
		},
		{
			name:  "jwks over configured limit",
			setup: func(e *env) {},
			opts:  func(o *Options) { o.MaxJWKSBytes = 100 },
			doc:   DocJWKS, cause: ErrTooLarge,
		},
		{
			name:  "discovery 503",
			setup: func(e *env) { e.iss.SetFault(testissuer.Discovery, testissuer.Fault{Status: 503}) },
			doc:   DocDiscovery, cause: ErrStatus,
		},
		{
			name: "wrong thumbprint",
			opts: func(o *Options) {
				o.Issuers[0].Thumbprints = []string{strings.Repeat("ab", 20)}
			},
			setup: func(e *env) {},
			doc:   DocJWKS, cause: ErrThumbprintMismatch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testissuer.Options{Path: "/tenant"}, tt.opts)
			tt.setup(e)
			_, err := e.cache.Key(bg, e.iss.URL(), e.iss.Kids()[0])
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrIssuerUnavailable)
			assert.ErrorIs(t, err, tt.cause)
			var fe *FetchError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.doc, fe.Document)
			var ke *Error
			require.ErrorAs(t, err, &ke)
			assert.Equal(t, ReasonUnavailable, ke.Reason)
			assert.Equal(t, e.iss.URL(), ke.Issuer)
		})
	}
}

func TestRedirectsWithinLimitAreFollowed(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	// discovery → /r0 → /r1 → /r2 → /r3 (real document): 4 redirects.
	hop := func(to string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		})
	}
	doc := fmt.Sprintf(`{"issuer":%q,"jwks_uri":%q}`, e.iss.URL(), e.iss.JWKSURL())
	e.iss.Handle("/r0", hop("/r1"))
	e.iss.Handle("/r1", hop("/r2"))
	e.iss.Handle("/r2", hop("/r3"))
	e.iss.Handle("/r3", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(doc))
	}))
	e.iss.SetFault(testissuer.Discovery, testissuer.Fault{RedirectTo: e.iss.ServerURL() + "/r0"})
	_, err := e.cache.Key(bg, e.iss.URL(), e.iss.Kids()[0])
	assert.ErrorIs(t, err, ErrTooManyRedirects, "4 redirects")

	e.iss.SetFault(testissuer.Discovery, testissuer.Fault{RedirectTo: e.iss.ServerURL() + "/r1"})
	e.clock.Advance(time.Minute)
	_, err = e.cache.Key(bg, e.iss.URL(), e.iss.Kids()[0])
	assert.NoError(t, err, "3 redirects")
}

func TestDiscoveryURLOverrideAndPinning(t *testing.T) {
	e := newEnv(t, testissuer.Options{Path: "/id/PRIVATE"}, nil)
	doc := fmt.Sprintf(`{"issuer":%q,"jwks_uri":%q}`, e.iss.URL(), e.iss.JWKSURL())
	e.iss.Handle("/elsewhere/openid-configuration", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(doc))
	}))
	sum := sha1.Sum(e.iss.Certificate().Raw)
	pin := strings.ToUpper(hex.EncodeToString(sum[:]))
	require.NoError(t, e.cache.Register(IssuerConfig{
		Issuer:       e.iss.URL(),
		DiscoveryURL: e.iss.ServerURL() + "/elsewhere/openid-configuration",
		Thumbprints:  []string{strings.Repeat("00", 20), pin},
	}))
	key, err := e.cache.Key(bg, e.iss.URL(), e.iss.Kids()[0])
	require.NoError(t, err)
	assert.Equal(t, e.iss.Kids()[0], key.KeyID())
	assert.Equal(t, 0, e.iss.Requests(testissuer.Discovery), "default discovery URL not used")
}

func TestUnknownIssuerCausesNoRequest(t *testing.T) {
	e := newEnv(t, testissuer.Options{Path: "/a"}, func(o *Options) { o.Issuers = nil })
	for _, iss := range []string{e.iss.URL(), "https://unregistered.example", "not a url", ""} {
		_, err := e.cache.Key(bg, iss, "kid")
		assert.ErrorIs(t, err, ErrUnknownIssuer)
		_, err = e.cache.Keys(bg, iss)
		assert.ErrorIs(t, err, ErrUnknownIssuer)
	}
	assert.Equal(t, 0, e.iss.Requests(testissuer.Discovery))

	any := newEnv(t, testissuer.Options{Path: "/b"}, func(o *Options) { o.Issuers, o.AllowAnyIssuer = nil, true })
	_, err := any.cache.Key(bg, any.iss.URL(), any.iss.Kids()[0])
	assert.NoError(t, err)
	for _, bad := range []string{"http://plain.example", "https://q.example/?a=b", "https://f.example/#x", "https://u:p@x.example"} {
		_, err := any.cache.Key(bg, bad, "kid")
		assert.ErrorIs(t, err, ErrUnknownIssuer, bad)
	}
}

func TestRefusedPrivateDestination(t *testing.T) {
	tests := []struct {
		name   string
		issuer func(iss *testissuer.Issuer) string
		addr   func(iss *testissuer.Issuer) string
	}{
		{
			name:   "IP literal",
			issuer: func(iss *testissuer.Issuer) string { return iss.URL() },
			addr:   func(iss *testissuer.Issuer) string { return iss.Host() },
		},
		{
			// A name passes every URL-level check; only the dial-time check
			// on the resolved address stops it (as it stops DNS rebinding).
			name: "name resolving to loopback",
			issuer: func(iss *testissuer.Issuer) string {
				return "https://localhost:" + portOf(iss)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testissuer.Options{}, func(o *Options) { o.AllowPrivateAddresses = false; o.Issuers = nil })
			issuer := tt.issuer(e.iss)
			require.NoError(t, e.cache.Register(IssuerConfig{Issuer: issuer}))
			_, err := e.cache.Key(bg, issuer, "kid")
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrIssuerUnavailable)
			assert.ErrorIs(t, err, ErrRefusedDestination)
			var de *DestinationError
			require.ErrorAs(t, err, &de)
			if tt.addr != nil {
				assert.Equal(t, tt.addr(e.iss), de.Address)
			}
			assert.Equal(t, 0, e.iss.Requests(testissuer.Discovery))
		})
	}
}

func portOf(iss *testissuer.Issuer) string {
	_, port, _ := strings.Cut(iss.Host(), ":")
	return port
}

func TestKidMissRateLimitAndNegativeCache(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	_, err := e.cache.Key(bg, iss, kid)
	require.NoError(t, err)

	// Within MinRefreshInterval of the cold fetch: refused at once.
	_, err = e.cache.Key(bg, iss, "nope")
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.NotErrorIs(t, err, ErrIssuerUnavailable)
	_, _, limited, _ := e.rec.snapshot()
	require.Len(t, limited, 1)
	assert.Greater(t, limited[0].RetryAfter, time.Duration(0))
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))

	// After the interval: one refresh, the kid is confirmed absent.
	e.clock.Advance(31 * time.Second)
	_, err = e.cache.Key(bg, iss, "nope")
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.NotErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS))

	// Negative cache: after the interval the same kid causes no fetch until
	// NegativeTTL (1 min) has passed; another kid does.
	e.clock.Advance(31 * time.Second)
	_, err = e.cache.Key(bg, iss, "nope")
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.NotErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS))
	_, err = e.cache.Key(bg, iss, "other")
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.Equal(t, 3, e.iss.Requests(testissuer.JWKS))

	e.clock.Advance(time.Minute)
	_, err = e.cache.Key(bg, iss, "nope")
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.Equal(t, 4, e.iss.Requests(testissuer.JWKS), "negative entry expired")

	// Empty kid: never found, never fetched.
	_, err = e.cache.Key(bg, iss, "")
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.Equal(t, 4, e.iss.Requests(testissuer.JWKS))
}

// A legitimate new kid that joins a fetch started before the issuer
// published it (say, one an attacker's random kid triggered) is absent from
// that fetch's answer; it must not be negative-cached, or it would be
// refused for NegativeTTL although a refresh is allowed after
// MinRefreshInterval. The join is replayed with a finished flight that
// holds the pre-rotation keys.
func TestKidMissingFromJoinedFetchIsNotNegativeCached(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss := e.iss.URL()
	_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
	require.NoError(t, err)
	e.clock.Advance(31 * time.Second)

	// The attacker's fetch: started now, answered with the old set.
	st := (*e.cache.hot.Load())[iss]
	f := &flight{done: make(chan struct{}), snap: st.snap.Load()}
	close(f.done)
	st.mu.Lock()
	st.fl = f
	st.nextTry.Store(int64(e.cache.now() + DefaultMinRefreshInterval))
	st.mu.Unlock()

	newKid, err := e.iss.AddKey("RS256")
	require.NoError(t, err)
	_, err = e.cache.Key(bg, iss, newKid) // joins the running fetch
	require.ErrorIs(t, err, ErrUnknownKey)
	assert.NotErrorIs(t, err, ErrRateLimited)
	st.mu.Lock()
	st.fl = nil // the attacker's fetch has published
	st.mu.Unlock()

	e.clock.Advance(31 * time.Second)
	key, err := e.cache.Key(bg, iss, newKid)
	require.NoError(t, err)
	assert.Equal(t, newKid, key.KeyID())
	assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS))
}

// Options.Now may be a wall clock that steps backwards. A time earlier than
// the last fetch must neither keep keys fresh for the size of the step nor
// block refreshes for it.
func TestClockSteppedBack(t *testing.T) {
	const step = -time.Hour
	t.Run("kid miss refreshes", func(t *testing.T) {
		e := newEnv(t, testissuer.Options{}, nil)
		iss := e.iss.URL()
		_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
		require.NoError(t, err)
		e.clock.Advance(step)
		e.clock.Advance(2 * time.Minute)
		newKid, err := e.iss.Rotate("RS256")
		require.NoError(t, err)
		key, err := e.cache.Key(bg, iss, newKid)
		require.NoError(t, err)
		assert.Equal(t, newKid, key.KeyID())
		assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS))
		// The interval runs again from the refresh.
		_, err = e.cache.Key(bg, iss, "nope")
		assert.ErrorIs(t, err, ErrRateLimited)
		assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS))
	})
	t.Run("warm hit refreshes ahead", func(t *testing.T) {
		e := newEnv(t, testissuer.Options{}, nil)
		iss, kid := e.iss.URL(), e.iss.Kids()[0]
		first, err := e.cache.Key(bg, iss, kid)
		require.NoError(t, err)
		e.clock.Advance(step)
		k, err := e.cache.Key(bg, iss, kid)
		require.NoError(t, err)
		assert.Same(t, first, k, "still served while the refresh runs")
		waitFetch(t, e.cache, iss)
		assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS))
		assert.Equal(t, 2, e.iss.Requests(testissuer.Discovery), "discovery due as well")
		_, err = e.cache.Key(bg, iss, kid)
		require.NoError(t, err)
		assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS), "fresh again after the refresh")
	})
	t.Run("discovery refetched", func(t *testing.T) {
		e := newEnv(t, testissuer.Options{}, nil)
		iss, kid := e.iss.URL(), e.iss.Kids()[0]
		_, err := e.cache.Key(bg, iss, kid)
		require.NoError(t, err)
		e.clock.Advance(step)
		e.clock.Advance(31 * time.Second)
		_, err = e.cache.Key(bg, iss, "nope")
		assert.ErrorIs(t, err, ErrUnknownKey)
		assert.Equal(t, 2, e.iss.Requests(testissuer.Discovery))
	})
	t.Run("negative entry lapses", func(t *testing.T) {
		e := newEnv(t, testissuer.Options{}, nil)
		iss := e.iss.URL()
		_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
		require.NoError(t, err)
		e.clock.Advance(31 * time.Second)
		_, err = e.cache.Key(bg, iss, "nope") // negative-cached
		assert.ErrorIs(t, err, ErrUnknownKey)
		require.Equal(t, 2, e.iss.Requests(testissuer.JWKS))
		e.clock.Advance(step)
		_, err = e.cache.Key(bg, iss, "nope")
		assert.ErrorIs(t, err, ErrUnknownKey)
		assert.NotErrorIs(t, err, ErrRateLimited)
		assert.Equal(t, 3, e.iss.Requests(testissuer.JWKS))
	})
}

func TestKidMissRefreshFailure(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	_, err := e.cache.Key(bg, iss, kid)
	require.NoError(t, err)
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Status: 502})
	e.clock.Advance(time.Minute)
	_, err = e.cache.Key(bg, iss, "new-kid")
	assert.ErrorIs(t, err, ErrIssuerUnavailable)
	var fe *FetchError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 502, fe.Status)
	// The known key is still served.
	_, err = e.cache.Key(bg, iss, kid)
	assert.NoError(t, err)
}

func TestCallerContextWhileFetchRuns(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, func(o *Options) { o.FetchTimeout = 2 * time.Second })
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{DelayHeaders: 400 * time.Millisecond})
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err := e.cache.Key(ctx, iss, kid)
	assert.ErrorIs(t, err, ErrIssuerUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	// The fetch went on without that caller and its result is shared.
	key, err := e.cache.Key(bg, iss, kid)
	require.NoError(t, err)
	assert.Equal(t, kid, key.KeyID())
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))
}

func TestPrefetch(t *testing.T) {
	a := testissuer.Start(t, testissuer.Options{Path: "/a"})
	b := testissuer.Start(t, testissuer.Options{Path: "/b", Algorithms: []string{"ES384"}})
	c, err := New(Options{
		HTTPClient:            a.Client(), // both servers share httptest's certificate
		AllowPrivateAddresses: true,
		Issuers:               []IssuerConfig{{Issuer: a.URL()}, {Issuer: b.URL()}},
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Prefetch(bg))
	assert.Equal(t, 1, a.Requests(testissuer.JWKS))
	assert.Equal(t, 1, b.Requests(testissuer.JWKS))
	_, err = c.Key(bg, b.URL(), b.Kids()[0])
	assert.NoError(t, err)
	assert.Equal(t, 1, b.Requests(testissuer.JWKS))

	b.SetFault(testissuer.Discovery, testissuer.Fault{Status: 500})
	err = c.Prefetch(bg, "https://nobody.example")
	assert.ErrorIs(t, err, ErrUnknownIssuer)
}

func TestCloseStopsEverything(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{})
	iss.SetFault(testissuer.JWKS, testissuer.Fault{DelayHeaders: 5 * time.Second})
	c, err := New(Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true, Issuers: []IssuerConfig{{Issuer: iss.URL()}}})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := c.Key(bg, iss.URL(), iss.Kids()[0])
		done <- err
	}()
	// Wait until the JWKS request reached the server, then close.
	require.Eventually(t, func() bool { return iss.Requests(testissuer.JWKS) == 1 }, 5*time.Second, time.Millisecond)
	start := time.Now()
	require.NoError(t, c.Close())
	assert.Less(t, time.Since(start), 2*time.Second, "Close cancels the running fetch")
	err = <-done
	assert.ErrorIs(t, err, ErrIssuerUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	require.NoError(t, c.Close(), "idempotent")

	_, err = c.Key(bg, iss.URL(), "other")
	assert.ErrorIs(t, err, ErrIssuerUnavailable)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestStaticIssuerInCache(t *testing.T) {
	set, kid := testSet(t)
	c, err := New(Options{Issuers: []IssuerConfig{{Issuer: "https://static.example", Keys: set}}})
	require.NoError(t, err)
	defer c.Close()
	key, err := c.Key(bg, "https://static.example", kid)
	require.NoError(t, err)
	assert.Equal(t, kid, key.KeyID())
	_, err = c.Key(bg, "https://static.example", "absent")
	assert.ErrorIs(t, err, ErrUnknownKey)
	assert.NotErrorIs(t, err, ErrRateLimited)
	keys, err := c.Keys(bg, "https://static.example")
	require.NoError(t, err)
	assert.Len(t, keys, 1)
}

func TestLRUEvictionSecondChance(t *testing.T) {
	// The LRU holds the issuers that AllowAnyIssuer lets through (registered ones are pinned).
	var ids []string
	var client *http.Client
	for range 3 {
		iss := testissuer.Start(t, testissuer.Options{})
		ids = append(ids, iss.URL())
		client = iss.Client() // httptest servers share one certificate
	}
	c, err := New(Options{MaxIssuers: 2, AllowAnyIssuer: true, AllowPrivateAddresses: true, HTTPClient: client})
	require.NoError(t, err)
	defer c.Close()
	for _, id := range ids[:2] {
		_, err := c.Keys(bg, id)
		require.NoError(t, err)
	}
	// a (the oldest) is hit again through the lock-free path, b is not.
	(*c.hot.Load())[ids[0]].used.Store(false)
	(*c.hot.Load())[ids[1]].used.Store(false)
	_, err = c.Keys(bg, ids[0])
	require.NoError(t, err)
	_, err = c.Keys(bg, ids[2])
	require.NoError(t, err)
	hot := *c.hot.Load()
	assert.Len(t, hot, 2)
	assert.Contains(t, hot, ids[0])
	assert.Contains(t, hot, ids[2])
	assert.NotContains(t, hot, ids[1])
	// Evicted issuers come back on demand.
	_, err = c.Keys(bg, ids[1])
	assert.NoError(t, err)
}

// Registered issuers are never evicted by MaxIssuers: their number is the registrar's, and
// evicting one would drop the keys its tenants are served from while it is down.
func TestRegisteredIssuersAreNotEvicted(t *testing.T) {
	set, kid := testSet(t)
	ids := []string{"https://a.example", "https://b.example", "https://c.example"}
	var cfgs []IssuerConfig
	for _, id := range ids {
		cfgs = append(cfgs, IssuerConfig{Issuer: id, Keys: set})
	}
	c, err := New(Options{MaxIssuers: 2, Issuers: cfgs})
	require.NoError(t, err)
	defer c.Close()
	for _, id := range ids {
		_, err := c.Key(bg, id, kid)
		require.NoError(t, err)
	}
	hot := *c.hot.Load()
	assert.Len(t, hot, 3)
	for _, id := range ids {
		assert.Contains(t, hot, id)
	}
	// Unregister drops one; registering it again brings it back on demand.
	assert.Equal(t, 1, c.Unregister(ids[1]))
	assert.NotContains(t, *c.hot.Load(), ids[1])
	_, err = c.Key(bg, ids[1], kid)
	assert.ErrorIs(t, err, ErrUnknownIssuer)
	require.NoError(t, c.Register(cfgs[1]))
	_, err = c.Key(bg, ids[1], kid)
	assert.NoError(t, err)
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"negative ttl", Options{MinTTL: -1}},
		{"min above max", Options{MinTTL: time.Hour, MaxTTL: time.Minute}},
		{"http issuer", Options{Issuers: []IssuerConfig{{Issuer: "http://x.example"}}}},
		{"issuer with query", Options{Issuers: []IssuerConfig{{Issuer: "https://x.example?a=1"}}}},
		{"http discovery URL", Options{Issuers: []IssuerConfig{{Issuer: "https://x.example", DiscoveryURL: "http://x.example/d"}}}},
		{"bad thumbprint", Options{Issuers: []IssuerConfig{{Issuer: "https://x.example", Thumbprints: []string{"abc"}}}}},
		{"insecure TLS", Options{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}}},
		{"opaque transport", Options{HTTPClient: &http.Client{Transport: roundTripFunc(nil)}}},
		{"opaque transport with pins", Options{
			AllowPrivateAddresses: true,
			HTTPClient:            &http.Client{Transport: roundTripFunc(nil)},
			Issuers:               []IssuerConfig{{Issuer: "https://x.example", Thumbprints: []string{strings.Repeat("ab", 20)}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			assert.Error(t, err)
			assert.Nil(t, c)
			assert.Panics(t, func() { NewCache(tt.opts) })
		})
	}
	c := NewCache(Options{})
	assert.NoError(t, c.Close())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestObserverEvents(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	doc := []byte(`{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"},` + string(e.iss.JWKS()[len(`{"keys":[`):]))
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: doc, Header: http.Header{"Cache-Control": {"max-age=600"}}})
	_, err := e.cache.Key(bg, e.iss.URL(), e.iss.Kids()[0])
	require.NoError(t, err)
	fetched, skipped, _, _ := e.rec.snapshot()
	require.Len(t, fetched, 2)
	assert.Equal(t, DocDiscovery, fetched[0].Document)
	assert.Equal(t, DocJWKS, fetched[1].Document)
	assert.Equal(t, 200, fetched[1].Status)
	assert.Equal(t, 1, fetched[1].Keys)
	assert.Equal(t, 1, fetched[1].Skipped)
	assert.Equal(t, 10*time.Minute, fetched[1].TTL)
	assert.NoError(t, fetched[1].Err)
	require.Len(t, skipped, 1)
	assert.Equal(t, SkipSymmetric, skipped[0].Key.Reason)
	assert.Equal(t, "s", skipped[0].Key.Kid)
}

func TestErrorReasons(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		reason Reason
		is     []error
		isNot  []error
	}{
		{ReasonUnknownKey, []error{ErrUnknownKey}, []error{ErrRateLimited, ErrIssuerUnavailable, ErrUnknownIssuer}},
		{ReasonRateLimited, []error{ErrUnknownKey, ErrRateLimited}, []error{ErrIssuerUnavailable, ErrUnknownIssuer}},
		{ReasonUnavailable, []error{ErrIssuerUnavailable}, []error{ErrUnknownKey, ErrRateLimited, ErrUnknownIssuer}},
		{ReasonUnknownIssuer, []error{ErrUnknownIssuer}, []error{ErrUnknownKey, ErrRateLimited, ErrIssuerUnavailable}},
	}
	for _, tt := range tests {
		t.Run(tt.reason.String(), func(t *testing.T) {
			err := error(&Error{Reason: tt.reason, Issuer: "https://x", Kid: "secret-kid", Err: cause})
			for _, target := range tt.is {
				assert.ErrorIs(t, err, target)
			}
			for _, target := range tt.isNot {
				assert.NotErrorIs(t, err, target)
			}
			assert.ErrorIs(t, err, cause)
			assert.NotContains(t, err.Error(), "secret-kid", "kid comes from the token and is kept out of messages")
		})
	}
}

// An opaque RoundTripper is used as is when the caller allows private
// addresses (it cannot be given the dial check).
func TestOpaqueRoundTripper(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{})
	var calls int
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return iss.Client().Transport.RoundTrip(r)
	})
	c, err := New(Options{HTTPClient: &http.Client{Transport: rt}, AllowPrivateAddresses: true, Issuers: []IssuerConfig{{Issuer: iss.URL()}}})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Key(bg, iss.URL(), iss.Kids()[0])
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
}

func TestNegativeCacheIsBounded(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, func(o *Options) {
		o.MaxNegativeKids = 2
		o.NegativeTTL = time.Hour
	})
	iss := e.iss.URL()
	_, err := e.cache.Keys(bg, iss)
	require.NoError(t, err)
	miss := func(kid string) {
		t.Helper()
		e.clock.Advance(31 * time.Second) // past MinRefreshInterval
		_, err := e.cache.Key(bg, iss, kid)
		require.ErrorIs(t, err, ErrUnknownKey)
		require.NotErrorIs(t, err, ErrRateLimited)
	}
	for _, kid := range []string{"a", "b", "c"} {
		miss(kid)
	}
	assert.Equal(t, 4, e.iss.Requests(testissuer.JWKS))
	miss("c") // remembered
	assert.Equal(t, 4, e.iss.Requests(testissuer.JWKS))
	miss("a") // evicted by the bound: fetched again
	assert.Equal(t, 5, e.iss.Requests(testissuer.JWKS))
}

func TestRegisterReplacesSettingsAndDropsKeys(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	_, err := e.cache.Key(bg, iss, kid)
	require.NoError(t, err)
	set, staticKid := testSet(t)
	require.NoError(t, e.cache.Register(IssuerConfig{Issuer: iss, Keys: set}))
	_, err = e.cache.Key(bg, iss, kid)
	assert.ErrorIs(t, err, ErrUnknownKey, "fetched keys dropped")
	key, err := e.cache.Key(bg, iss, staticKid)
	require.NoError(t, err)
	assert.Equal(t, staticKid, key.KeyID())
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))
}

// A lookup reads the registry before it takes the cache's lock to add the
// issuer's state; a Register landing in between (it has no state to drop
// yet) must still win. The interleaving is replayed step by step.
func TestRegisterRacingFirstLookupWins(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss := e.iss.URL()
	require.NotNil(t, e.cache.config(iss)) // read by the lookup before c.mu
	set, staticKid := testSet(t)
	require.NoError(t, e.cache.Register(IssuerConfig{Issuer: iss, Keys: set}))
	st, err := e.cache.stateFor(iss) // the lookup resumes
	require.NoError(t, err)
	assert.NotNil(t, st.cfg.static, "state built from the superseded config")
	key, err := e.cache.Key(bg, iss, staticKid)
	require.NoError(t, err)
	assert.Equal(t, staticKid, key.KeyID())
	assert.Equal(t, 0, e.iss.Requests(testissuer.JWKS)+e.iss.Requests(testissuer.Discovery))
}

// jwks_uri may name another host (as Google's does); the cache follows it
// with the same checks. httptest's client sends *.example.com to the server.
func TestJWKSOnAnotherHost(t *testing.T) {
	e := newEnv(t, testissuer.Options{Path: "/tenant"}, nil)
	path := strings.TrimPrefix(e.iss.JWKSURL(), e.iss.ServerURL())
	e.iss.SetDiscovery(func(d map[string]any) { d["jwks_uri"] = "https://keys.example.com" + path })
	key, err := e.cache.Key(bg, e.iss.URL(), e.iss.Kids()[0])
	require.NoError(t, err)
	assert.Equal(t, e.iss.Kids()[0], key.KeyID())
	fetched, _, _, _ := e.rec.snapshot()
	require.Len(t, fetched, 2)
	assert.Equal(t, "https://keys.example.com"+path, fetched[1].URL)
}

// A negative MaxStale never serves expired keys: once the keys' lifetime is over and the
// issuer fails, lookups fail at once instead of answering from the old set.
func TestNegativeMaxStaleNeverServesExpiredKeys(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, func(o *Options) { o.MaxStale = -1 })
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	_, err := e.cache.Key(bg, iss, kid)
	require.NoError(t, err)

	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Status: 500})
	e.clock.Advance(4 * time.Minute) // within the 5-minute lifetime: still fresh
	_, err = e.cache.Key(bg, iss, kid)
	require.NoError(t, err)

	e.clock.Advance(2 * time.Minute) // expired, and no staleness allowed
	_, err = e.cache.Key(bg, iss, kid)
	assert.ErrorIs(t, err, ErrIssuerUnavailable)
	assert.ErrorIs(t, err, ErrStatus)
}

// Registered reports Options.Issuers and Register, not issuers that AllowAnyIssuer admits.
func TestRegistered(t *testing.T) {
	c, err := New(Options{Issuers: []IssuerConfig{{Issuer: "https://a.example.com"}}, AllowAnyIssuer: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	assert.True(t, c.Registered("https://a.example.com"))
	assert.False(t, c.Registered("https://b.example.com"), "allowed by AllowAnyIssuer, not registered")
	require.NoError(t, c.Register(IssuerConfig{Issuer: "https://b.example.com"}))
	assert.True(t, c.Registered("https://b.example.com"))
}

// CachedKey answers as Key's hit does and never fetches: nothing before the first fetch,
// the key Key returns once cached, nothing for an unknown or empty kid or an unknown issuer,
// the key (and a background refresh) past the refresh point, nothing past MaxStale.
func TestCachedKey(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, func(o *Options) { o.MaxStale = time.Hour })
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	k, ok := e.cache.CachedKey(iss, []byte(kid))
	assert.False(t, ok)
	assert.Nil(t, k)
	assert.Equal(t, 0, e.iss.Requests(testissuer.JWKS), "CachedKey never fetches")

	want, err := e.cache.Key(bg, iss, kid)
	require.NoError(t, err)
	buf := []byte(kid)
	k, ok = e.cache.CachedKey(iss, buf)
	assert.True(t, ok)
	assert.Same(t, want, k)
	buf[0] ^= 1 // the cache kept nothing of the caller's bytes
	k, ok = e.cache.CachedKey(iss, []byte(kid))
	assert.True(t, ok)
	assert.Same(t, want, k)

	for _, miss := range []struct{ iss, kid string }{{iss, "nope"}, {iss, ""}, {iss + "/other", kid}} {
		k, ok := e.cache.CachedKey(miss.iss, []byte(miss.kid))
		assert.False(t, ok, miss)
		assert.Nil(t, k, miss)
	}
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS), "no fetch for a miss")

	e.clock.Advance(4 * time.Minute) // past the refresh point of the 5-minute MinTTL
	k, ok = e.cache.CachedKey(iss, []byte(kid))
	assert.True(t, ok)
	assert.Same(t, want, k)
	waitFetch(t, e.cache, iss)
	assert.Equal(t, 2, e.iss.Requests(testissuer.JWKS), "refresh ahead")

	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Status: http.StatusInternalServerError})
	e.clock.Advance(3 * time.Hour) // past expiry and MaxStale
	k, ok = e.cache.CachedKey(iss, []byte(kid))
	assert.False(t, ok)
	assert.Nil(t, k)
}
