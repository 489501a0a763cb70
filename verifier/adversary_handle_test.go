package verifier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/jwks"
)

// Adversary of the verifier's prepared lookups (hints, selectProviderVia, decideFull's role
// lookup): a request whose lookups were prepared and hinted before a change decides as the
// registry and the key cache stand at the lookup, with the results and errors a verifier
// without handles gives.

// TestAdvHandleRoleRecreatedUnderSameARN: between the hints and the role lookup (from the key
// cache's clock, read while the cached key is served), the role is deleted and re-created
// under the same ARN: with a trust policy for another audience (refused, though the hinted
// record allowed), then allowing again (allowed, and the Result carries the new RoleID, not
// the hinted record's).
func TestAdvHandleRoleRecreatedUnderSameARN(t *testing.T) {
	clock := &armedClock{now: time.Now()}
	w := newWorld(t, func(o *Options) {
		o.TokenCacheSize = -1
		o.JWKS.Now = clock.Now
	})
	require.NotNil(t, w.v.hintRoles)
	w.provider(t, acctA, "sts.amazonaws.com")
	tok := w.token(t, "sts.amazonaws.com")
	ctx := context.Background()
	assume := func(arn string, during func()) (*Result, error) {
		clock.arm(during)
		defer clock.arm(nil)
		return w.v.AssumeRoleWithWebIdentity(ctx, &Request{RoleARN: arn, RoleSessionName: "session", WebIdentityToken: tok})
	}
	arn := w.role(t, acctA, "api", acctA, "sts.amazonaws.com")
	first, err := w.reg.Role(arn)
	require.NoError(t, err)
	res, err := assume(arn, nil)
	require.NoError(t, err)
	require.Equal(t, first.RoleID, res.RoleID)

	recreate := func(aud string) *iam.Role {
		require.NoError(t, w.reg.DeleteRole(arn))
		w.role(t, acctA, "api", acctA, aud)
		ro, err := w.reg.Role(arn)
		require.NoError(t, err)
		return ro
	}
	_, err = assume(arn, func() { recreate("another-audience") })
	require.Error(t, err)
	assert.Equal(t, ReasonDenied, handleReason(t, err), "re-created with another audience")

	var second *iam.Role
	res, err = assume(arn, func() { second = recreate("sts.amazonaws.com") })
	require.NoError(t, err, "re-created allowing")
	assert.Equal(t, second.RoleID, res.RoleID)
	assert.NotEqual(t, first.RoleID, res.RoleID)

	// A Load of an equal-looking role with a new RoleID, between hints and lookup.
	res, err = assume(arn, func() {
		ps := w.reg.ListOIDCProviders("aws", acctA)
		require.Len(t, ps, 1)
		p := &iam.OIDCProvider{Account: acctA, URL: ps[0].URL, ClientIDs: ps[0].ClientIDs}
		require.NoError(t, w.reg.Load([]*iam.OIDCProvider{p}, []*iam.Role{
			{Account: acctA, Name: "api", RoleID: "AROALOADEDROLE0000001", TrustPolicyDocument: second.TrustPolicyDocument},
		}))
	})
	require.NoError(t, err, "after a Load")
	assert.Equal(t, "AROALOADEDROLE0000001", res.RoleID)
}

// swappableRoles is a RoleSource whose registry a test switches: not an *iam.Registry, so the
// verifier must ask it, never a handle of the registry it pointed to before.
type swappableRoles struct{ cur atomic.Pointer[iam.Registry] }

func (s *swappableRoles) Role(arn string) (*Role, error) { return s.cur.Load().Role(arn) }

// TestAdvHandleRoleSourceSwappedMidRequest: the provider source is the verifier's own
// registry A (its handles apply), the role source a wrapper over A that switches to registry
// B between the hints and the role lookup. The decision is B's: its role (another RoleID, a
// trust policy that refuses), and a role B lacks is refused as unknown.
func TestAdvHandleRoleSourceSwappedMidRequest(t *testing.T) {
	clock := &armedClock{now: time.Now()}
	roles := &swappableRoles{}
	w := newWorld(t, func(o *Options) {
		o.TokenCacheSize = -1
		o.JWKS.Now = clock.Now
		o.Roles = roles
	})
	b := iam.New(iam.Options{AllowURLPort: true})
	roles.cur.Store(w.reg)
	require.NotNil(t, w.v.hintProviders)
	require.Nil(t, w.v.hintRoles, "the wrapper is not the verifier's own registry")
	w.provider(t, acctA, "sts.amazonaws.com")
	tok := w.token(t, "sts.amazonaws.com")
	arn := w.role(t, acctA, "api", acctA, "sts.amazonaws.com")
	bRole, err := b.CreateRole(&iam.Role{Account: acctA, Name: "api", TrustPolicyDocument: w.irsaDoc(acctA, "another-audience")})
	require.NoError(t, err)
	assume := func(arn string, during func()) (*Result, error) {
		clock.arm(during)
		defer clock.arm(nil)
		return w.v.AssumeRoleWithWebIdentity(context.Background(), &Request{RoleARN: arn, RoleSessionName: "session", WebIdentityToken: tok})
	}
	_, err = assume(arn, nil)
	require.NoError(t, err)

	res, err := assume(arn, func() { roles.cur.Store(b) })
	require.Error(t, err)
	assert.Equal(t, ReasonDenied, handleReason(t, err), "B's trust policy")
	require.NotNil(t, res)
	assert.Equal(t, bRole.RoleID, res.RoleID)

	roles.cur.Store(w.reg)
	other := w.role(t, acctA, "only-in-a", acctA, "sts.amazonaws.com")
	_, err = assume(other, func() { roles.cur.Store(b) })
	require.Error(t, err)
	assert.Equal(t, ReasonUnknownRole, handleReason(t, err), "a role B lacks")
}

// advOutcome is a decision: the reason (-1: allowed) and the RoleID it carried.
type advOutcome struct {
	reason Reason
	roleID string
}

func advOutcomeOf(res *Result, err error) advOutcome {
	if err == nil {
		return advOutcome{reason: -1, roleID: res.RoleID}
	}
	var e *Error
	if !errors.As(err, &e) {
		return advOutcome{reason: -2}
	}
	o := advOutcome{reason: e.Reason}
	if res != nil {
		o.roleID = res.RoleID
	}
	return o
}

// TestAdvHandleConcurrentDecisionsMatchTheirState: goroutines decide requests while a writer
// cycles the role and the provider through states that decide differently: allowed; a trust
// policy for another audience (Denied); the role deleted and re-created under the same ARN
// (allowed, a new RoleID); the provider re-created with other client IDs (Audience); the
// provider gone (UnknownIssuer); back. A decision bracketed by two equal registry revisions
// (one state throughout, and the key cache does not change) must be that state's, RoleID
// included. With the token cache and decision memo off and on (-race).
func TestAdvHandleConcurrentDecisionsMatchTheirState(t *testing.T) {
	for _, size := range []int{-1, 0} {
		t.Run(fmt.Sprint("cache", size), func(t *testing.T) {
			w := newWorld(t, func(o *Options) { o.TokenCacheSize = size })
			require.NotNil(t, w.v.hintRoles)
			require.NotNil(t, w.v.hintProviders)
			p := w.provider(t, acctA, "sts.amazonaws.com")
			tok := w.token(t, "sts.amazonaws.com")
			arn := w.role(t, acctA, "api", acctA, "sts.amazonaws.com")
			ctx := context.Background()
			req := &Request{RoleARN: arn, RoleSessionName: "session", WebIdentityToken: tok}
			_, err := w.v.AssumeRoleWithWebIdentity(ctx, req) // keys cached
			require.NoError(t, err)

			var expected sync.Map // revision -> advOutcome
			roleID := func() string {
				ro, err := w.reg.Role(arn)
				if err != nil {
					return ""
				}
				return ro.RoleID
			}
			record := func(o advOutcome) { expected.Store(w.reg.Revision(), o) }
			record(advOutcome{-1, roleID()})
			stop := make(chan struct{})
			var writer sync.WaitGroup
			writer.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := w.reg.UpdateAssumeRolePolicy(arn, w.irsaDoc(acctA, "another-audience"))
					if !assert.NoError(t, err) {
						return
					}
					record(advOutcome{ReasonDenied, roleID()})
					assert.NoError(t, w.reg.DeleteRole(arn))
					record(advOutcome{ReasonUnknownRole, ""})
					_, err = w.reg.CreateRole(&iam.Role{Account: acctA, Name: "api", TrustPolicyDocument: w.irsaDoc(acctA, "sts.amazonaws.com")})
					assert.NoError(t, err)
					record(advOutcome{-1, roleID()})
					assert.NoError(t, w.reg.DeleteOIDCProvider(p.ARN))
					record(advOutcome{ReasonUnknownIssuer, ""})
					_, err = w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: w.iss.URL(), ClientIDs: []string{"other"}})
					assert.NoError(t, err)
					record(advOutcome{ReasonAudience, ""})
					assert.NoError(t, w.reg.DeleteOIDCProvider(p.ARN))
					record(advOutcome{ReasonUnknownIssuer, ""})
					_, err = w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: w.iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
					assert.NoError(t, err)
					record(advOutcome{-1, roleID()})
				}
			})
			type seen struct {
				rev uint64
				o   advOutcome
			}
			var mu sync.Mutex
			var all []seen
			var readers sync.WaitGroup
			for range 3 {
				readers.Go(func() {
					var mine []seen
					for range 300 {
						rev := w.reg.Revision()
						res, err := w.v.AssumeRoleWithWebIdentity(ctx, req)
						if w.reg.Revision() == rev {
							mine = append(mine, seen{rev, advOutcomeOf(res, err)})
						}
					}
					mu.Lock()
					all = append(all, mine...)
					mu.Unlock()
				})
			}
			readers.Wait()
			close(stop)
			writer.Wait()
			checked := 0
			for _, s := range all {
				want, ok := expected.Load(s.rev)
				if !assert.True(t, ok, "revision %d not recorded", s.rev) {
					continue
				}
				wo := want.(advOutcome)
				if wo.reason != -1 && wo.reason != ReasonDenied {
					wo.roleID = "" // refused before the role is looked up, or no role
					s.o.roleID = ""
				}
				if wo.reason == ReasonDenied && s.o.reason == ReasonDenied {
					// A denial's Result names the role it read.
					assert.Equal(t, wo.roleID, s.o.roleID, "revision %d", s.rev)
				}
				assert.Equal(t, wo, s.o, "revision %d", s.rev)
				checked++
			}
			t.Logf("%d decisions checked against their state", checked)
			assert.Positive(t, checked, "no decision ran within one state")
		})
	}
}

// TestAdvHandleKeyCacheSharedByTwoVerifiers: two verifiers share one *jwks.Cache (the first
// one's default cache, given to the second as Options.Keys) and one registry. Between the
// second's key hints and its cached-key lookup (from its provider source, an opaque wrapper
// whose lookup runs a hook), the issuer's key is rotated out through the first verifier's
// cache, and a Register of the issuer in the shared cache then drops its state altogether:
// the rotated-out key's token is refused as a verifier without handles refuses it, each time.
//
// (A rotation made from inside the cached-key lookup itself, from the cache's clock as serve
// reads it, is not a case: a plain CachedKey picks its key before that read too, so the key
// was current at the lookup.)
func TestAdvHandleKeyCacheSharedByTwoVerifiers(t *testing.T) {
	clock := &armedClock{now: time.Now()}
	w := newWorld(t, func(o *Options) {
		o.TokenCacheSize = -1
		o.JWKS.Now = clock.Now
	})
	cache := w.v.cache
	require.NotNil(t, cache)
	hp := &hookedProviders{r: w.reg}
	second, err := New(Options{ProviderSource: hp, Roles: w.reg, Keys: cache, TokenCacheSize: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Close() })
	require.Same(t, cache, second.hintKeys)
	plain, err := New(Options{ProviderSource: opaqueProviders{w.reg}, Roles: opaqueRoles{w.reg}, Keys: opaqueKeys{cache}, TokenCacheSize: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Close() })
	w.provider(t, acctA, "sts.amazonaws.com")
	arn := w.role(t, acctA, "api", acctA, "sts.amazonaws.com")
	ctx := context.Background()
	iss := w.iss.URL()

	for i, change := range []string{"rotation", "re-Register"} {
		tok := w.token(t, "sts.amazonaws.com")
		req := &Request{RoleARN: arn, RoleSessionName: "session", WebIdentityToken: tok}
		_, err = second.AssumeRoleWithWebIdentity(ctx, req)
		require.NoError(t, err, change)
		oldKid := w.iss.Kids()[0]
		newKid, err := w.iss.AddKey("ES256")
		require.NoError(t, err)
		w.iss.RemoveKey(oldKid)
		hp.mu.Lock()
		hp.hook = func() {
			clock.advance(jwks.DefaultMinRefreshInterval + time.Second)
			if i == 0 {
				_, err := w.v.cache.Key(ctx, iss, newKid) // a miss: the refresh drops oldKid
				require.NoError(t, err)
				return
			}
			require.NoError(t, cache.Register(jwks.IssuerConfig{Issuer: iss})) // state dropped
		}
		hp.mu.Unlock()
		res, err := second.AssumeRoleWithWebIdentity(ctx, req)
		got := advOutcomeOf(res, err)
		_, stillServed := cache.CachedKey(iss, []byte(oldKid))
		require.False(t, stillServed, "%s: the cache itself still serves the old key", change)
		pres, perr := plain.AssumeRoleWithWebIdentity(ctx, req)
		want := advOutcomeOf(pres, perr)
		assert.NotEqual(t, Reason(-1), got.reason, "%s: a key rotated out was served", change)
		assert.Equal(t, want.reason, got.reason, "%s: with handles and without", change)
	}
}
