package jwks

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// CheckThumbprints checks each tenant's pins against the chain recorded by the one unpinned
// fetch: the pinned CA's fingerprint passes, another CA's fails, a certificate the server only
// appended does not count, and a key that is not current is refused.
func TestCheckThumbprintsAgainstRecordedChain(t *testing.T) {
	pinnedCA := newTestCA(t, "pinned CA", 1)
	otherCA := newTestCA(t, "other CA", 2)
	roots := x509.NewCertPool()
	roots.AddCert(pinnedCA.cert)
	roots.AddCert(otherCA.cert)
	fp := func(c *x509.Certificate) string { s := sha1.Sum(c.Raw); return hex.EncodeToString(s[:]) }

	for _, tt := range []struct {
		name  string
		ca    testCA
		extra []*x509.Certificate
		ok    bool
	}{
		{"chain through the pinned CA", pinnedCA, nil, true},
		{"chain through another CA", otherCA, nil, false},
		{"another CA with the pinned certificate appended", otherCA, []*x509.Certificate{pinnedCA.cert}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := pinnedIssuer(t, tt.ca, tt.extra...)
			c, err := New(Options{
				HTTPClient:            &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
				AllowPrivateAddresses: true,
				Issuers:               []IssuerConfig{{Issuer: srv.URL}}, // unpinned: one fetch for every tenant
			})
			require.NoError(t, err)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			key, err := c.Key(ctx, srv.URL, "k1")
			require.NoError(t, err)

			pins := []string{strings.Repeat("0", 40), strings.ToUpper(fp(pinnedCA.cert))} // case ignored
			err = c.CheckThumbprints(srv.URL, key, pins)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrThumbprintMismatch)
				assert.NotErrorIs(t, err, ErrNoTLSChain)
			}
			// The tenant pinning the CA actually used always passes; no pins never does.
			assert.NoError(t, c.CheckThumbprints(srv.URL, key, []string{fp(tt.ca.cert)}))
			assert.ErrorIs(t, c.CheckThumbprints(srv.URL, key, nil), ErrThumbprintMismatch)

			// A key that is not one of the issuer's current keys, and an unknown issuer.
			other, err := NewKey(pinnedCA.key.Public(), "k1", "ES256")
			require.NoError(t, err)
			assert.ErrorIs(t, c.CheckThumbprints(srv.URL, other, pins), ErrUnknownKey)
			assert.ErrorIs(t, c.CheckThumbprints("https://nobody.example.com", key, pins), ErrUnknownKey)
			assert.ErrorIs(t, c.CheckThumbprints(srv.URL, nil, pins), ErrUnknownKey)
		})
	}
}

// Static keys have no TLS chain: a pin cannot hold.
func TestCheckThumbprintsStaticKeys(t *testing.T) {
	ca := newTestCA(t, "ca", 1)
	k, err := NewKey(ca.key.Public(), "s1", "ES256")
	require.NoError(t, err)
	c, err := New(Options{Issuers: []IssuerConfig{{Issuer: "https://static.example.com", Keys: []*Key{k}}}})
	require.NoError(t, err)
	defer c.Close()
	got, err := c.Key(context.Background(), "https://static.example.com", "s1")
	require.NoError(t, err)
	err = c.CheckThumbprints("https://static.example.com", got, []string{strings.Repeat("a", 40)})
	assert.ErrorIs(t, err, ErrThumbprintMismatch)
	assert.ErrorIs(t, err, ErrNoTLSChain)
}

// Unregister drops the issuer: its keys are gone, lookups fail as for an issuer never
// registered, without a fetch; registering it again fetches anew.
func TestUnregister(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss := e.iss.URL()
	ctx := context.Background()
	kid := e.iss.KeyID("RS256")
	_, err := e.cache.Key(ctx, iss, kid)
	require.NoError(t, err)
	fetches := e.iss.Requests(testissuer.JWKS)

	assert.Equal(t, 1, e.cache.Unregister(iss, "https://never.example.com"))
	assert.Zero(t, e.cache.Unregister(iss), "second time: not registered")
	assert.False(t, e.cache.Registered(iss))
	_, err = e.cache.Key(ctx, iss, kid)
	assert.ErrorIs(t, err, ErrUnknownIssuer)
	_, err = e.cache.Keys(ctx, iss)
	assert.ErrorIs(t, err, ErrUnknownIssuer)
	assert.Equal(t, fetches, e.iss.Requests(testissuer.JWKS), "no fetch for an unregistered issuer")

	require.NoError(t, e.cache.Register(IssuerConfig{Issuer: iss}))
	_, err = e.cache.Key(ctx, iss, kid)
	require.NoError(t, err)
	assert.Greater(t, e.iss.Requests(testissuer.JWKS), fetches, "registered again: fetched anew")
}

// CheckThumbprints allocates nothing on a match (it runs per token of a pinned provider).
func TestCheckThumbprintsAllocs(t *testing.T) {
	var fp [20]byte
	for i := range fp {
		fp[i] = byte(i * 13)
	}
	k, _ := testSet(t)
	c, err := New(Options{Issuers: []IssuerConfig{{Issuer: "https://s.example.com", Keys: k}}})
	require.NoError(t, err)
	defer c.Close()
	key, err := c.Keys(bg, "https://s.example.com")
	require.NoError(t, err)
	st := (*c.hot.Load())["https://s.example.com"]
	snap := *st.snap.Load()
	snap.setChain([][20]byte{fp})
	st.snap.Store(&snap)
	pin := strings.ToUpper(hex.EncodeToString(fp[:]))
	require.NoError(t, c.CheckThumbprints("https://s.example.com", key[0], []string{strings.Repeat("0", 40), pin}))
	allocs := testing.AllocsPerRun(100, func() {
		_ = c.CheckThumbprints("https://s.example.com", key[0], []string{strings.Repeat("0", 40), pin})
	})
	assert.Zero(t, allocs)
	assert.False(t, hexEqual(&fp, pin[:39]+"g"))
	assert.False(t, hexEqual(&fp, pin[:38]))
}
