package verifier

import (
	"context"
	"errors"
	"github.com/webidentity/webidentity/iam"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidation(t *testing.T) {
	keys := mapKeys()
	base := func() Options { return Options{Providers: []Provider{testProvider()}, Keys: keys} }
	withProvider := func(edit func(p *Provider)) Options {
		o := base()
		edit(&o.Providers[0])
		return o
	}
	manyIDs := make([]string, 101)
	for i := range manyIDs {
		manyIDs[i] = "c" + strings.Repeat("x", i)
	}
	cases := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"valid", base(), true},
		{"no providers", Options{Keys: keys}, false},
		{"no client IDs", withProvider(func(p *Provider) { p.ClientIDs = nil }), false},
		{"101 client IDs", withProvider(func(p *Provider) { p.ClientIDs = manyIDs }), false},
		{"100 client IDs", withProvider(func(p *Provider) { p.ClientIDs = manyIDs[:100] }), true},
		{"empty client ID", withProvider(func(p *Provider) { p.ClientIDs = []string{""} }), false},
		{"http URL", withProvider(func(p *Provider) { p.URL = "http://oidc.example.com/id/TEST" }), false},
		{"trailing slash", withProvider(func(p *Provider) { p.URL = testIssuer + "/" }), false},
		{"query", withProvider(func(p *Provider) { p.URL = testIssuer + "?x=1" }), false},
		{"fragment", withProvider(func(p *Provider) { p.URL = testIssuer + "#x" }), false},
		{"userinfo", withProvider(func(p *Provider) { p.URL = "https://u:p@oidc.example.com/id/TEST" }), false},
		{"no host", withProvider(func(p *Provider) { p.URL = "https:///id/TEST" }), false},
		{"not a URL", withProvider(func(p *Provider) { p.URL = "oidc.example.com" }), false},
		{"no ARN", withProvider(func(p *Provider) { p.ARN = "" }), false},
		{"ARN for another host", withProvider(func(p *Provider) {
			p.ARN = "arn:aws:iam::111122223333:oidc-provider/other.example.com/id/TEST"
		}), false},
		{"ARN with a bad account", withProvider(func(p *Provider) {
			p.ARN = "arn:aws:iam::1111:oidc-provider/oidc.example.com/id/TEST"
		}), false},
		{"ARN in another partition", withProvider(func(p *Provider) {
			p.ARN = "arn:aws-cn:iam::111122223333:oidc-provider/oidc.example.com/id/TEST"
		}), true},
		{"Google without ARN", Options{Keys: keys, Providers: []Provider{{URL: "https://accounts.google.com", ClientIDs: []string{"c"}}}}, true},
		{"algorithm none", withProvider(func(p *Provider) { p.Algorithms = []string{"none"} }), false},
		{"algorithm HS256", withProvider(func(p *Provider) { p.Algorithms = []string{"RS256", "HS256"} }), false},
		{"algorithm in lower case", withProvider(func(p *Provider) { p.Algorithms = []string{"rs256"} }), false},
		{"bare host aws shadows global keys", Options{Keys: keys, Providers: []Provider{{URL: "https://aws", ARN: "arn:aws:iam::111122223333:oidc-provider/aws", ClientIDs: []string{"c"}}}}, false},
		{"bare host sts with a path", Options{Keys: keys, Providers: []Provider{{URL: "https://sts/x", ARN: "arn:aws:iam::111122223333:oidc-provider/sts/x", ClientIDs: []string{"c"}}}}, false},
		{"IP literal host", Options{Keys: keys, Providers: []Provider{{URL: "https://127.0.0.1:8443/id/X", ARN: "arn:aws:iam::111122223333:oidc-provider/127.0.0.1:8443/id/X", ClientIDs: []string{"c"}}}}, true},
		// Two issuers whose URLs differ only in case are two providers, as in IAM: their
		// condition keys fold alike, but a trust policy names its provider by ARN, and the
		// Federated principal is matched exactly.
		{"providers differing only in case", func() Options {
			o := base()
			o.Providers = append(o.Providers, Provider{URL: "https://OIDC.example.com/id/TEST", ARN: "arn:aws:iam::111122223333:oidc-provider/OIDC.example.com/id/TEST", ClientIDs: []string{"c"}})
			return o
		}(), true},
		{"same URL in two accounts", func() Options {
			o := base()
			p := testProvider()
			p.ARN = strings.Replace(p.ARN, "111122223333", "444455556666", 1)
			p.ClientIDs = []string{"other"}
			o.Providers = append(o.Providers, p)
			return o
		}(), true},
		{"same URL, different Algorithms", func() Options {
			o := base()
			p := testProvider()
			p.ARN = strings.Replace(p.ARN, "111122223333", "444455556666", 1)
			p.Algorithms = []string{"ES256"}
			o.Providers = append(o.Providers, p)
			return o
		}(), false},
		{"ProviderSource and Providers", func() Options { o := base(); o.ProviderSource = iam.New(iam.Options{}); return o }(), false},
		{"ProviderSource alone", Options{Keys: keys, ProviderSource: iam.New(iam.Options{})}, true},
		{"duplicate provider", func() Options { o := base(); o.Providers = append(o.Providers, testProvider()); return o }(), false},
		{"negative MaxTokenLifetime", func() Options { o := base(); o.MaxTokenLifetime = -time.Second; return o }(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.opts)
			if tc.ok {
				require.NoError(t, err)
				assert.NoError(t, v.Close())
				return
			}
			assert.Error(t, err)
			assert.Nil(t, v)
		})
	}
}

func TestNewDefaults(t *testing.T) {
	v, err := New(Options{Providers: []Provider{testProvider()}, Keys: mapKeys()})
	require.NoError(t, err)
	assert.Equal(t, DefaultLeeway, v.leeway)
	require.NotNil(t, v.tokens)
	assert.NotNil(t, v.now)
	for i := range algorithms {
		var r route
		require.Nil(t, v.selectProvider(&selector{static: true}, testIssuer, &r))
		assert.True(t, r.set.algs[i], algorithms[i].name)
	}
	assert.Nil(t, v.ownCache, "no default cache when Keys is given")
	require.NoError(t, v.Close())

	t.Run("default key cache", func(t *testing.T) {
		v, err := New(Options{Providers: []Provider{testProvider()}})
		require.NoError(t, err)
		assert.NotNil(t, v.ownCache)
		assert.NoError(t, v.Close())
	})
}

func TestStaticRoles(t *testing.T) {
	r := &Role{ARN: testRoleARN}
	roles, err := NewStaticRoles(r)
	require.NoError(t, err)
	got, err := roles.Role(testRoleARN)
	require.NoError(t, err)
	assert.Same(t, r, got)
	_, err = roles.Role("arn:aws:iam::111122223333:role/none")
	assert.True(t, errors.Is(err, ErrRoleNotFound))

	for name, bad := range map[string][]*Role{
		"nil role":         {nil},
		"no ARN":           {{}},
		"duplicate":        {{ARN: testRoleARN}, {ARN: testRoleARN}},
		"negative maximum": {{ARN: testRoleARN, MaxSessionDuration: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewStaticRoles(bad...)
			assert.Error(t, err)
		})
	}
}

func TestAssumeRoleWithoutRoles(t *testing.T) {
	ks := newKeySet(t)
	v := newTestVerifier(t, ks.source(), nil)
	_, err := v.AssumeRoleWithWebIdentity(context.Background(), &Request{
		RoleARN: testRoleARN, RoleSessionName: "session", WebIdentityToken: mint(t, ks.rs, baseClaims(), nil),
	})
	reason, code := reasonOf(t, err)
	assert.Equal(t, ReasonUnknownRole, reason)
	assert.Equal(t, CodeAccessDenied, code)

	_, err = v.AssumeRoleWithWebIdentity(context.Background(), nil)
	assert.Error(t, err)
}
