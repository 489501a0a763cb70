package verifier

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

func TestGuessIssuer(t *testing.T) {
	for _, c := range []struct {
		name, pay, want string
		none            bool
	}{
		{name: "first", pay: `{"iss":"https://a.example","sub":"x"}`, want: "https://a.example"},
		{name: "later", pay: `{"aud":"sts","iss":"https://b.example/id/1"}`, want: "https://b.example/id/1"},
		{name: "empty", pay: `{"iss":""}`, want: ""},
		{name: "escaped", pay: `{"iss":"https:\/\/a.example"}`, none: true},
		{name: "spaced", pay: `{"iss": "https://a.example"}`, none: true},
		{name: "unterminated", pay: `{"iss":"https://a.example`, none: true},
		{name: "absent", pay: `{"sub":"x"}`, none: true},
		{name: "a decoy first", pay: `{"a":{"iss":"https://decoy"},"iss":"https://real"}`, want: "https://decoy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := guessIssuer([]byte(c.pay))
			if c.none {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, c.want, string(got))
		})
	}
}

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
// opaque sources, keys through a KeySource wrapper): every Result and refusal is the same,
// including tokens whose first "iss" text is a decoy, which the hints guess wrong.
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
	parts := strings.Split(decoyTok, ".")
	pay, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	require.Equal(t, "https://decoy.example.com", string(guessIssuer(pay)), "the hints guess the decoy")
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
		{name: "decoy iss first", role: roleA, token: decoyTok, ok: true},
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
