package iam

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewOIDCProvider: the standalone constructor validates as Create does and returns a value
// whose precomputed fields are built; a value built by hand still answers correctly.
func TestNewOIDCProvider(t *testing.T) {
	p, err := NewOIDCProvider(&OIDCProvider{
		Account:   "111122223333",
		URL:       "https://OIDC.Example.com/id/ABC",
		ClientIDs: []string{"a", "b", "a"},
	})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:iam::111122223333:oidc-provider/OIDC.Example.com/id/ABC", p.ARN)
	assert.Equal(t, []string{"a", "b"}, p.ClientIDs)
	assert.True(t, p.AcceptsClientID("a"))
	assert.True(t, p.AcceptsClientID("b"))
	assert.False(t, p.AcceptsClientID("A"))
	assert.Equal(t, "oidc.example.com/id/abc", p.KeyPrefix())

	_, err = NewOIDCProvider(&OIDCProvider{Account: "111122223333", URL: "http://x.example.com"})
	var ie *Error
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, CodeInvalidInput, ie.Code)
	_, err = NewOIDCProvider(nil)
	assert.True(t, errors.Is(err, ErrInvalidInput), "%v", err)

	// By hand: no precomputed fields, the same answers.
	h := &OIDCProvider{URL: "https://OIDC.Example.com/id/ABC", ClientIDs: []string{"a", "b"}}
	assert.True(t, h.AcceptsClientID("a"), "the first client ID of a hand-built value")
	assert.True(t, h.AcceptsClientID("b"))
	assert.False(t, h.AcceptsClientID("c"))
	assert.Equal(t, p.KeyPrefix(), h.KeyPrefix())

	// Many client IDs (the map form) through the registry.
	r := New(Options{})
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
	rp, err := r.CreateOIDCProvider(&OIDCProvider{Account: "111122223333", URL: "https://k.example.com", ClientIDs: ids})
	require.NoError(t, err)
	for _, id := range ids {
		assert.True(t, rp.AcceptsClientID(id), id)
	}
	assert.False(t, rp.AcceptsClientID("c10"))
	assert.Equal(t, "k.example.com", rp.KeyPrefix())
}

// IAM refuses a port in a provider URL; Options.AllowURLPort admits one (local issuers), and
// the ARN round-trips with it.
func TestAllowURLPort(t *testing.T) {
	strict := New(Options{})
	_, err := strict.CreateOIDCProvider(&OIDCProvider{Account: acctA, URL: "https://127.0.0.1:8443/id/x", ClientIDs: []string{"a"}})
	assert.True(t, errors.Is(err, ErrInvalidInput), "%v", err)

	r := New(Options{AllowURLPort: true})
	p, err := r.CreateOIDCProvider(&OIDCProvider{Account: acctA, URL: "https://127.0.0.1:8443/id/x", ClientIDs: []string{"a"}})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:iam::"+acctA+":oidc-provider/127.0.0.1:8443/id/x", p.ARN)
	got, err := r.OIDCProviderByARN(p.ARN)
	require.NoError(t, err)
	assert.Same(t, p, got)
	assert.Equal(t, "127.0.0.1:8443/id/x", p.KeyPrefix())
	for _, bad := range []string{"https://h.example.com:0", "https://h.example.com:65536", "https://h.example.com:", "https://h.example.com:08", "https://h.example.com:x", "https://:443", "https://h.example.com:44:3"} {
		_, err := r.CreateOIDCProvider(&OIDCProvider{Account: acctB, URL: bad, ClientIDs: []string{"a"}})
		assert.True(t, errors.Is(err, ErrInvalidInput), "%s: %v", bad, err)
	}
}

func TestHasIssuer(t *testing.T) {
	r := New(Options{})
	assert.False(t, r.HasIssuer(eksURL))
	p, err := r.CreateOIDCProvider(&OIDCProvider{Account: acctA, URL: eksURL, ClientIDs: []string{"a"}})
	require.NoError(t, err)
	_, err = r.CreateOIDCProvider(&OIDCProvider{Account: acctB, URL: eksURL, ClientIDs: []string{"a"}})
	require.NoError(t, err)
	assert.True(t, r.HasIssuer(eksURL))
	assert.False(t, r.HasIssuer(ghURL))
	require.NoError(t, r.DeleteOIDCProvider(p.ARN))
	assert.True(t, r.HasIssuer(eksURL), "B still registers it")
	require.NoError(t, r.Load(nil, nil))
	assert.False(t, r.HasIssuer(eksURL))
	allocs := testing.AllocsPerRun(100, func() { r.HasIssuer(eksURL) })
	assert.Zero(t, allocs)
}
