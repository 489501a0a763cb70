package verifier

import (
	"context"
	"errors"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/prefetch"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// opaqueProviders and opaqueRoles hide an *iam.Registry's type, so that a verifier over
// them uses no prefetch hint.
type opaqueProviders struct{ r *iam.Registry }

func (o opaqueProviders) OIDCProvider(p, a, u string) (*iam.OIDCProvider, error) {
	return o.r.OIDCProvider(p, a, u)
}

type opaqueRoles struct{ r *iam.Registry }

func (o opaqueRoles) Role(arn string) (*Role, error) { return o.r.Role(arn) }

// TestHintsChangeNoDecision decides the same requests with a verifier that uses the prefetch
// hints (registry and key cache its own) and one that cannot (the same registry behind
// opaque sources, keys through a KeySource wrapper): every Result and refusal is the same.
func TestHintsChangeNoDecision(t *testing.T) {
	w := newWorld(t, func(o *Options) { o.TokenCacheSize = -1 })
	require.NotNil(t, w.v.hintProviders)
	require.NotNil(t, w.v.hintRoles)
	require.NotNil(t, w.v.hintKeys)
	plain, err := New(Options{
		ProviderSource: opaqueProviders{w.reg},
		Roles:          opaqueRoles{w.reg},
		Keys:           opaqueKeys{w.v.cache},
		TokenCacheSize: -1,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Close() })
	require.Nil(t, plain.hintProviders)
	require.Nil(t, plain.hintRoles)
	require.Nil(t, plain.hintKeys)

	w.provider(t, acctA, "sts.amazonaws.com")
	w.provider(t, acctB, "other-audience")
	roleA := w.role(t, acctA, "api", acctA, "sts.amazonaws.com")
	roleB := w.role(t, acctB, "api", acctB, "other-audience")
	good := w.token(t, "sts.amazonaws.com")
	decoy := w.iss.Claims(irsaSub, "sts.amazonaws.com")
	decoy["a"] = map[string]any{"iss": "https://decoy.example.com"}
	decoyTok := w.iss.MustMint(t, decoy, testissuer.MintOptions{})
	other := w.iss.Claims(irsaSub, "sts.amazonaws.com")
	other["iss"] = "https://unregistered.example.com"
	otherTok := w.iss.MustMint(t, other, testissuer.MintOptions{})
	forged := good[:len(good)-4] + "AAAA"

	ctx := context.Background()
	for _, c := range []struct {
		name, role, token string
		ok                bool
	}{
		{name: "allowed", role: roleA, token: good, ok: true},
		{name: "an iss inside another claim", role: roleA, token: decoyTok, ok: true},
		{name: "wrong aud for B", role: roleB, token: good},
		{name: "unknown role", role: "arn:aws:iam::" + acctA + ":role/nope", token: good},
		{name: "account without provider", role: "arn:aws:iam::" + acctC + ":role/api", token: good},
		{name: "unregistered issuer", role: roleA, token: otherTok},
		{name: "forged signature", role: roleA, token: forged},
		{name: "malformed role ARN", role: "arn:aws:iam::1:role/x", token: good},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := &Request{RoleARN: c.role, RoleSessionName: "session", WebIdentityToken: c.token}
			for range 2 { // the second time with the hints' lines cached
				got, gerr := w.v.AssumeRoleWithWebIdentity(ctx, req)
				want, werr := plain.AssumeRoleWithWebIdentity(ctx, req)
				if c.ok {
					require.NoError(t, gerr)
					require.NoError(t, werr)
				}
				if werr != nil {
					require.Error(t, gerr)
					var ge, we *Error
					require.True(t, errors.As(gerr, &ge))
					require.True(t, errors.As(werr, &we))
					assert.Equal(t, we.Reason, ge.Reason)
					assert.Equal(t, we.Code, ge.Code)
				} else {
					require.NoError(t, gerr)
				}
				assert.Equal(t, want, got)
			}
		})
	}
}

// opaqueKeys hides a *jwks.Cache's type.
type opaqueKeys struct{ c *jwks.Cache }

func (o opaqueKeys) Key(ctx context.Context, iss, kid string) (*jwks.Key, error) {
	return o.c.Key(ctx, iss, kid)
}

func (o opaqueKeys) Keys(ctx context.Context, iss string) ([]*jwks.Key, error) {
	return o.c.Keys(ctx, iss)
}

// BenchmarkHints measures what the hints of one full-path decision cost when everything they
// walk is in the caches (one tenant, the HotPath case): the request start's role hint and token
// lines, the three steps and the key's public material. At full size they
// pay for themselves many times over; here they are pure overhead.
func BenchmarkHints(b *testing.B) {
	iss := testissuer.Start(b, testissuer.Options{Path: eksPath})
	reg := iam.New(iam.Options{AllowURLPort: true})
	v, err := New(Options{ProviderSource: reg, Roles: reg, TokenCacheSize: -1,
		JWKS: jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = v.Close() })
	w := &world{iss: iss, reg: reg, v: v}
	if _, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: w.iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}}); err != nil {
		b.Fatal(err)
	}
	ro, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "api", TrustPolicyDocument: w.irsaDoc(acctA, "sts.amazonaws.com")})
	if err != nil {
		b.Fatal(err)
	}
	tok := w.iss.MustMint(b, w.iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{})
	req := &Request{RoleARN: ro.ARN, RoleSessionName: "session", WebIdentityToken: tok}
	if _, err := w.v.AssumeRoleWithWebIdentity(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	kid := []byte(w.iss.Kids()[0])
	iss0 := w.iss.URL()
	// prepared is the full path's hints: the request start's role hint and token lines, the
	// three steps and the key's public material.
	var (
		rl  iam.RoleLookup
		sel selector
		hs  hints
	)
	prepared := func() {
		rl = v.hintRoles.PrepareRole(req.RoleARN)
		rl.Prefetch(0)
		prefetch.Lines(unsafe.Pointer(unsafe.StringData(tok)), uintptr(len(tok)))
		sel = selector{partition: "aws", account: acctA, role: &rl}
		hs = hints{sel: &sel, prov: v.hintProviders.PrepareOIDCProvider("aws", acctA, iss0), key: v.hintKeys.PrepareKey(iss0, kid), keyIss: iss0}
		hs.step(0)
		hs.step(1)
		hs.step(2)
		hs.key.Prefetch(3)
	}
	var sink *Role
	for _, c := range []struct {
		name string
		op   func()
	}{
		{"all", prepared},
		// The hints and the three lookups that follow them (provider, cached key, role),
		// through the prepared lookups as the full path makes them ...
		{"with-lookups", func() {
			prepared()
			_, _ = hs.prov.OIDCProvider()
			_, _ = hs.key.CachedKey()
			sink, _ = rl.Role()
		}},
		// ... and as they were made before them: each hint and lookup from the strings.
		{"with-lookups-by-string", func() {
			v.hintRoles.PrefetchRole(req.RoleARN, 0)
			prefetch.Lines(unsafe.Pointer(unsafe.StringData(tok)), uintptr(len(tok)))
			for d := range 3 {
				v.hintProviders.PrefetchOIDCProvider("aws", acctA, iss0, d)
				v.hintRoles.PrefetchRole(req.RoleARN, d+1)
				v.hintKeys.PrefetchKey(iss0, kid, d)
				if d == 1 {
					_, _ = v.hintProviders.OIDCProvider("aws", acctA, iss0)
				}
			}
			v.hintKeys.PrefetchKey(iss0, kid, 3)
			_, _ = v.hintKeys.CachedKey(iss0, kid)
			sink, _ = v.hintRoles.Role(req.RoleARN)
		}},
		{"role", func() {
			for d := range 4 {
				v.hintRoles.PrefetchRole(req.RoleARN, d)
			}
		}},
		{"provider", func() {
			for d := range 3 {
				v.hintProviders.PrefetchOIDCProvider("aws", acctA, iss0, d)
			}
		}},
		{"keys", func() {
			for d := range 4 {
				v.hintKeys.PrefetchKey(iss0, kid, d)
			}
		}},
		{"token", func() { prefetch.Lines(unsafe.Pointer(unsafe.StringData(tok)), uintptr(len(tok))) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.op()
			}
		})
	}
	_ = sink
}
