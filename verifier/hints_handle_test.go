package verifier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// armedClock is a clock that runs its armed function once, at its next reading, before
// answering: a write made inside a decision, at the point where that clock is read.
type armedClock struct {
	mu  sync.Mutex
	now time.Time
	fn  func()
}

func (c *armedClock) Now() time.Time {
	c.mu.Lock()
	fn := c.fn
	c.fn = nil
	now := c.now
	c.mu.Unlock()
	if fn != nil {
		fn()
	}
	return now
}

func (c *armedClock) arm(fn func()) {
	c.mu.Lock()
	c.fn = fn
	c.mu.Unlock()
}

func (c *armedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func handleReason(t *testing.T, err error) Reason {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	return e.Reason
}

// TestHintsHandleSeesRoleWritesBeforeItsLookup: the role's prepared lookup is made and hinted
// at the request's start and used once the token is judged; a write that returns in between
// (made from the key cache's clock, which the cached-key lookup reads after the provider
// lookup and before the role's) is seen by the lookup: a role deleted, created, given another
// trust policy, or its account's table resized by many new roles.
func TestHintsHandleSeesRoleWritesBeforeItsLookup(t *testing.T) {
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
	_, err := assume(arn, nil)
	require.NoError(t, err)

	_, err = assume(arn, func() { require.NoError(t, w.reg.DeleteRole(arn)) })
	assert.Equal(t, ReasonUnknownRole, handleReason(t, err), "deleted")

	res, err := assume(arn, func() { w.role(t, acctA, "api", acctA, "sts.amazonaws.com") })
	require.NoError(t, err, "created")
	assert.Equal(t, arn, res.RoleARN)

	_, err = assume(arn, func() {
		_, err := w.reg.UpdateAssumeRolePolicy(arn, w.irsaDoc(acctA, "another-audience"))
		require.NoError(t, err)
	})
	assert.Equal(t, ReasonDenied, handleReason(t, err), "trust policy changed")

	res, err = assume(arn, func() {
		for i := range 300 {
			w.role(t, acctA, fmt.Sprintf("more-%d", i), acctA, "sts.amazonaws.com")
		}
		_, err := w.reg.UpdateAssumeRolePolicy(arn, w.irsaDoc(acctA, "sts.amazonaws.com"))
		require.NoError(t, err)
	})
	require.NoError(t, err, "resized, then allowed again")
	want, err := w.reg.Role(arn)
	require.NoError(t, err)
	assert.Equal(t, want.RoleID, res.RoleID)
}

// hookedProviders is a registry behind an opaque source that runs a hook before each lookup:
// a write made inside a decision, after the key chain's first hints and before the cached
// key is looked up.
type hookedProviders struct {
	r    *iam.Registry
	mu   sync.Mutex
	hook func()
}

func (h *hookedProviders) OIDCProvider(p, a, u string) (*iam.OIDCProvider, error) {
	h.mu.Lock()
	fn := h.hook
	h.hook = nil
	h.mu.Unlock()
	if fn != nil {
		fn()
	}
	return h.r.OIDCProvider(p, a, u)
}

// TestHintsHandleSeesKeyRotationBeforeItsLookup: the cached key's prepared lookup is made and
// hinted before the provider lookup; when the token's key is rotated out of the key cache in
// between, the lookup does not serve it: the token is refused as a verifier without hints
// refuses it, and a token of the new key is accepted.
func TestHintsHandleSeesKeyRotationBeforeItsLookup(t *testing.T) {
	clock := &armedClock{now: time.Now()}
	iss := testissuer.Start(t, testissuer.Options{Path: eksPath})
	reg := iam.New(iam.Options{AllowURLPort: true})
	hp := &hookedProviders{r: reg}
	v, err := New(Options{ProviderSource: hp, Roles: reg, TokenCacheSize: -1,
		JWKS: jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true, Now: clock.Now}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	require.NotNil(t, v.hintKeys)
	require.Nil(t, v.hintProviders)
	w := &world{iss: iss, reg: reg, v: v}
	w.provider(t, acctA, "sts.amazonaws.com")
	arn := w.role(t, acctA, "api", acctA, "sts.amazonaws.com")
	ctx := context.Background()
	req := func(tok string) *Request {
		return &Request{RoleARN: arn, RoleSessionName: "session", WebIdentityToken: tok}
	}
	oldTok := w.token(t, "sts.amazonaws.com")
	_, err = v.AssumeRoleWithWebIdentity(ctx, req(oldTok))
	require.NoError(t, err)
	oldKid := iss.Kids()[0]

	newKid, err := iss.AddKey("RS256")
	require.NoError(t, err)
	hp.hook = func() {
		iss.RemoveKey(oldKid)
		clock.advance(jwks.DefaultMinRefreshInterval + time.Second)
		_, err := v.cache.Key(ctx, iss.URL(), newKid) // a miss: the refresh drops the old key
		require.NoError(t, err)
	}
	_, err = v.AssumeRoleWithWebIdentity(ctx, req(oldTok))
	require.Error(t, err, "served a key rotated out after its hint")
	got := handleReason(t, err)

	plain, err := New(Options{ProviderSource: opaqueProviders{reg}, Roles: opaqueRoles{reg}, Keys: opaqueKeys{v.cache}, TokenCacheSize: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Close() })
	_, werr := plain.AssumeRoleWithWebIdentity(ctx, req(oldTok))
	require.Error(t, werr)
	assert.Equal(t, handleReason(t, werr), got)

	newTok := iss.MustMint(t, iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{Kid: newKid})
	_, err = v.AssumeRoleWithWebIdentity(ctx, req(newTok))
	assert.NoError(t, err)
}
