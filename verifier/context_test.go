package verifier

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConditionContextAllocations: answering the keys a trust policy usually asks does not
// allocate.
func TestConditionContextAllocations(t *testing.T) {
	ks := newKeySet(t)
	v := newTestVerifier(t, ks.source(), nil)
	tok, err := v.Verify(context.Background(), mint(t, ks.rs, with(baseClaims(), map[string]any{"azp": "p"}), nil))
	require.NoError(t, err)
	p := v.providers[testIssuer]
	cc := &condContext{tok: tok, prov: p, req: &Request{RoleSessionName: "s", SourceIP: "192.0.2.1"}, now: testNow}
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
