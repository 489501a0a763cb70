package verifier

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
)

// recordingObserver keeps every event with the ctx it came with.
type recordingObserver struct {
	mu     sync.Mutex
	events []DecisionEvent
	ctxs   []context.Context
}

var _ Observer = (*recordingObserver)(nil)

func (r *recordingObserver) Decided(ctx context.Context, e DecisionEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	r.ctxs = append(r.ctxs, ctx)
}

// take returns the events so far with their contexts and forgets them.
func (r *recordingObserver) take() ([]DecisionEvent, []context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, c := r.events, r.ctxs
	r.events, r.ctxs = nil, nil
	return e, c
}

type ctxKey struct{}

// Every call reports exactly one event, with the refusal's code and reason, the provider once
// the token was routed, and whether the token cache answered.
func TestObserverEvents(t *testing.T) {
	k := newTestKey(t, "ES256", "obs")
	trust, err := policy.Parse([]byte(irsaPolicy))
	require.NoError(t, err)
	roles, err := NewStaticRoles(&Role{ARN: testRoleARN, TrustPolicy: trust})
	require.NoError(t, err)
	obs := &recordingObserver{}
	v := newTestVerifier(t, staticKeys(t, k), func(o *Options) {
		o.Roles = roles
		o.TokenCacheSize = 0 // default: on
		o.Observer = obs
	})
	claims := baseClaims()
	claims["sub"] = "system:serviceaccount:default:app"
	good := mint(t, k, claims, nil)
	other := mint(t, k, with(claims, map[string]any{"sub": "system:serviceaccount:default:other"}), nil)
	forged := good[:len(good)-8] + "AAAAAAAA"
	stranger := mint(t, k, with(claims, map[string]any{"iss": "https://stranger.example.com"}), nil)
	expired := mint(t, k, with(claims, map[string]any{"exp": testNow.Add(-time.Hour).Unix(), "iat": testNow.Add(-2 * time.Hour).Unix(), "nbf": nil}), nil)
	req := func(token string) *Request {
		return &Request{RoleARN: testRoleARN, RoleSessionName: "s1", WebIdentityToken: token}
	}

	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
		want DecisionEvent
	}{
		{"allowed", func(ctx context.Context) error {
			_, err := v.AssumeRoleWithWebIdentity(ctx, req(good))
			return err
		}, DecisionEvent{Op: OpAssumeRoleWithWebIdentity, Provider: testIssuer}},
		{"allowed again, from the token cache", func(ctx context.Context) error {
			_, err := v.AssumeRoleWithWebIdentity(ctx, req(good))
			return err
		}, DecisionEvent{Op: OpAssumeRoleWithWebIdentity, Provider: testIssuer, CacheHit: true}},
		{"valid token", func(ctx context.Context) error {
			_, err := v.Verify(ctx, good)
			return err
		}, DecisionEvent{Op: OpVerify, Provider: testIssuer, CacheHit: true}},
		{"denied by the policy", func(ctx context.Context) error {
			_, err := v.AssumeRoleWithWebIdentity(ctx, req(other))
			return err
		}, DecisionEvent{Op: OpAssumeRoleWithWebIdentity, Code: CodeAccessDenied, Reason: ReasonDenied, Provider: testIssuer}},
		{"unknown role", func(ctx context.Context) error {
			r := req(good)
			r.RoleARN = "arn:aws:iam::111122223333:role/nope"
			_, err := v.AssumeRoleWithWebIdentity(ctx, r)
			return err
		}, DecisionEvent{Op: OpAssumeRoleWithWebIdentity, Code: CodeAccessDenied, Reason: ReasonUnknownRole, Provider: testIssuer, CacheHit: true}},
		{"bad signature: routed, not proven", func(ctx context.Context) error {
			_, err := v.Verify(ctx, forged)
			return err
		}, DecisionEvent{Op: OpVerify, Code: CodeInvalidIdentityToken, Reason: ReasonBadSignature, Provider: testIssuer}},
		{"unknown issuer: no provider", func(ctx context.Context) error {
			_, err := v.AssumeRoleWithWebIdentity(ctx, req(stranger))
			return err
		}, DecisionEvent{Op: OpAssumeRoleWithWebIdentity, Code: CodeInvalidIdentityToken, Reason: ReasonUnknownIssuer}},
		{"expired", func(ctx context.Context) error {
			_, err := v.Verify(ctx, expired)
			return err
		}, DecisionEvent{Op: OpVerify, Code: CodeExpiredToken, Reason: ReasonExpired, Provider: testIssuer}},
		{"malformed token", func(ctx context.Context) error {
			_, err := v.Verify(ctx, "abcd.efgh")
			return err
		}, DecisionEvent{Op: OpVerify, Code: CodeInvalidIdentityToken, Reason: ReasonTokenFormat}},
		{"invalid request: the token is not looked at", func(ctx context.Context) error {
			r := req(good)
			r.RoleSessionName = "x"
			_, err := v.AssumeRoleWithWebIdentity(ctx, r)
			return err
		}, DecisionEvent{Op: OpAssumeRoleWithWebIdentity, Code: CodeValidationError, Reason: ReasonSessionName}},
		{"nil request", func(ctx context.Context) error {
			_, err := v.AssumeRoleWithWebIdentity(ctx, nil)
			return err
		}, DecisionEvent{Op: OpAssumeRoleWithWebIdentity, Code: CodeValidationError, Reason: ReasonRoleARN}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), ctxKey{}, tc.name)
			err := tc.call(ctx)
			if tc.want.Code == "" {
				require.NoError(t, err)
			} else {
				var verr *Error
				require.ErrorAs(t, err, &verr)
				assert.Equal(t, tc.want.Code, verr.Code)
				assert.Equal(t, tc.want.Reason, verr.Reason)
			}
			events, ctxs := obs.take()
			require.Len(t, events, 1)
			assert.Equal(t, tc.name, ctxs[0].Value(ctxKey{}), "the caller's ctx")
			got := events[0]
			assert.GreaterOrEqual(t, int64(got.Latency), int64(0))
			got.Latency = 0
			assert.Equal(t, tc.want, got)
		})
	}
}

// An event never carries the token or a claim value: it has no field that could.
func TestObserverNeverSeesTokenContent(t *testing.T) {
	k := newTestKey(t, "RS256", "obs-leak")
	obs := &recordingObserver{}
	v := newTestVerifier(t, mapKeys(k), func(o *Options) { o.Observer = obs })
	claims := baseClaims()
	claims["sub"] = "secret-subject-value"
	tok := mint(t, k, claims, nil)
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), tok[:len(tok)-3]+"AAA")
	require.Error(t, err)
	events, _ := obs.take()
	require.Len(t, events, 2)
	for _, e := range events {
		s := e.Op.String() + string(e.Code) + e.Reason.String() + e.Provider
		assert.NotContains(t, s, "secret-subject-value")
		for _, seg := range strings.Split(tok, ".") {
			assert.NotContains(t, s, seg)
		}
	}
}

// Calls with many goroutines each report once.
func TestObserverConcurrent(t *testing.T) {
	k := newTestKey(t, "EdDSA", "obs-par")
	var mu sync.Mutex
	n := 0
	v := newTestVerifier(t, mapKeys(k), func(o *Options) {
		o.Observer = ObserverFunc(func(context.Context, DecisionEvent) { mu.Lock(); n++; mu.Unlock() })
	})
	tok := mint(t, k, baseClaims(), nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				_, err := v.Verify(context.Background(), tok)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 200, n)
}

func TestOperationString(t *testing.T) {
	assert.Equal(t, "Verify", OpVerify.String())
	assert.Equal(t, "AssumeRoleWithWebIdentity", OpAssumeRoleWithWebIdentity.String())
	assert.Equal(t, "Operation(9)", Operation(9).String())
}

// Without an observer, a decision allocates no more than with one set to a no-op; the hot
// path does not pay for the hook (the benchmarks in bench_test.go give the absolute counts).
func TestObserverUnsetAllocatesNothingExtra(t *testing.T) {
	k := newTestKey(t, "EdDSA", "obs-alloc")
	tok := mint(t, k, baseClaims(), nil)
	ctx := context.Background()
	measure := func(obs Observer) float64 {
		v := newTestVerifier(t, mapKeys(k), func(o *Options) { o.Observer = obs })
		_, err := v.Verify(ctx, tok)
		require.NoError(t, err)
		return testing.AllocsPerRun(50, func() { _, _ = v.Verify(ctx, tok) })
	}
	without := measure(nil)
	with := measure(ObserverFunc(func(context.Context, DecisionEvent) {}))
	assert.LessOrEqual(t, without, with)
}

// countingPrefetcher is a KeySource with Prefetch, built from function fields.
type countingPrefetcher struct {
	*fakeKeys
	prefetch func(ctx context.Context, issuers ...string) error
}

var _ KeyPrefetcher = countingPrefetcher{}

func (c countingPrefetcher) Prefetch(ctx context.Context, issuers ...string) error {
	return c.prefetch(ctx, issuers...)
}

func TestPrefetchKeySources(t *testing.T) {
	k := newTestKey(t, "ES256", "pf")
	second := Provider{URL: "https://second.example.com", ARN: "arn:aws:iam::111122223333:oidc-provider/second.example.com", ClientIDs: []string{"x"}}
	boom := errors.New("issuer down")

	t.Run("Options.Keys with Prefetch gets the providers' issuers", func(t *testing.T) {
		var got []string
		src := countingPrefetcher{mapKeys(k), func(_ context.Context, issuers ...string) error {
			got = issuers
			return nil
		}}
		v := newTestVerifier(t, src, func(o *Options) { o.Providers = append(o.Providers, second) })
		require.NoError(t, v.Prefetch(context.Background()))
		assert.Equal(t, []string{testIssuer, second.URL}, got)
	})
	t.Run("its failure is wrapped", func(t *testing.T) {
		src := countingPrefetcher{mapKeys(k), func(context.Context, ...string) error { return boom }}
		v := newTestVerifier(t, src, nil)
		err := v.Prefetch(context.Background())
		assert.ErrorIs(t, err, boom)
	})
	t.Run("a key source without Prefetch has nothing to load", func(t *testing.T) {
		v := newTestVerifier(t, staticKeys(t, k), nil)
		assert.NoError(t, v.Prefetch(context.Background()))
	})
}

// With its own key cache, Prefetch fetches discovery and JWKS of every provider, so that the
// first token does not wait; an unreachable provider makes it fail with the cache's
// *jwks.Error.
func TestPrefetchDefaultCache(t *testing.T) {
	up := testissuer.Start(t, testissuer.Options{Path: "/up", Algorithms: []string{"ES256"}})
	down := testissuer.Start(t, testissuer.Options{Path: "/down", Algorithms: []string{"ES256"}})
	down.SetFault(testissuer.Discovery, testissuer.Fault{Status: 503})
	provider := func(iss *testissuer.Issuer) Provider {
		return Provider{URL: iss.URL(), ARN: iss.ProviderARN("111122223333"), ClientIDs: []string{"sts.amazonaws.com"}}
	}
	newV := func(ps ...Provider) *Verifier {
		v, err := New(Options{
			Providers: ps,
			JWKS:      jwks.Options{HTTPClient: up.Client(), AllowPrivateAddresses: true},
		})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, v.Close()) })
		return v
	}
	ctx := context.Background()

	v := newV(provider(up))
	require.NoError(t, v.Prefetch(ctx))
	assert.Equal(t, 1, up.Requests(testissuer.Discovery))
	assert.Equal(t, 1, up.Requests(testissuer.JWKS))
	// The keys are cached: a token needs no fetch.
	_, err := v.Verify(ctx, up.MustMint(t, up.Claims("sub", "sts.amazonaws.com"), testissuer.MintOptions{}))
	require.NoError(t, err)
	assert.Equal(t, 1, up.Requests(testissuer.JWKS))

	v = newV(provider(up), provider(down))
	err = v.Prefetch(ctx)
	require.Error(t, err)
	var jerr *jwks.Error
	require.ErrorAs(t, err, &jerr)
	assert.Equal(t, down.URL(), jerr.Issuer)
}
