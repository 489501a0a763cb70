package verifier

import (
	"context"
	"github.com/webidentity/webidentity/iam"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/policy"
)

// TestConditionContextAllocations: answering the keys a trust policy usually asks does not
// allocate.
func TestConditionContextAllocations(t *testing.T) {
	ks := newKeySet(t)
	v := newTestVerifier(t, ks.source(), nil)
	var vt verified
	require.Nil(t, v.verify(context.Background(), mint(t, ks.rs, with(baseClaims(), map[string]any{"azp": "p"}), nil), testNow, &selector{static: true}, &vt, nil))
	tok := &vt.tok
	cc := &condContext{tok: tok, spans: &vt.spans, prov: &vt.route, req: &Request{RoleSessionName: "s", SourceIP: "192.0.2.1"}, now: testNow}
	for _, key := range []string{
		"oidc.example.com/id/test:sub", "oidc.example.com/id/test:aud", "oidc.example.com/id/test:azp",
		"sts:rolesessionname", "aws:sourceip", "aws:federatedprovider", "aws:requesttag/x", "other:key",
	} {
		allocs := testing.AllocsPerRun(100, func() { cc.Values(key) })
		assert.Zero(t, allocs, key)
	}
	values, ok := cc.Values("oidc.example.com/id/test:sub")
	assert.True(t, ok)
	assert.Equal(t, []string{tok.Subject}, values)
	_, ok = cc.Values("oidc.example.com/id/test:amr")
	assert.False(t, ok)
}

// A provider's condition-key prefix is folded exactly as policy folds the keys it asks for
// (policy.FoldKey), also for non-ASCII hosts: with strings.ToLower, U+017F stayed "ſ" while the
// policy asked for "s", so every provider key looked missing and a negated operator in an Allow
// held for any token. (IAM refuses non-ASCII provider URLs, so such a provider comes only from
// a ProviderSource of one's own, built by hand.)
func TestProviderPrefixFoldsAsPolicy(t *testing.T) {
	for _, url := range []string{
		"https://OIDC.EKS.us-west-2.amazonaws.com/id/ABC",
		"https://oidc.\u017fample.example.com/id/X", // ſ folds to s
		"https://oidc.\u212aey.example.com",         // Kelvin sign folds to k
	} {
		src := fixedProviders{{ARN: "arn:aws:iam::111122223333:oidc-provider/" + url[len("https://"):], Account: "111122223333", Partition: "aws", URL: url, ClientIDs: []string{"sts.amazonaws.com"}}}
		v, err := New(Options{ProviderSource: src, Keys: mapKeys()})
		require.NoError(t, err, url)
		var p route
		require.Nil(t, v.selectProvider(&selector{partition: "aws", account: "111122223333"}, url, &p))
		pol, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + url[len("https://"):] + `:sub":"s"}}}]}`))
		require.NoError(t, err)
		require.Len(t, pol.Keys(), 1)
		assert.Equal(t, pol.Keys()[0], p.prefix+":sub", "the key the policy asks for is the provider's")
	}
}

// fixedProviders is a ProviderSource of one's own over hand-built values.
type fixedProviders []*iam.OIDCProvider

func (f fixedProviders) OIDCProvider(partition, account, issuer string) (*iam.OIDCProvider, error) {
	for _, p := range f {
		if p.Partition == partition && p.Account == account && p.URL == issuer {
			return p, nil
		}
	}
	return nil, iam.ErrNoSuchEntity
}
