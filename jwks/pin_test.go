package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, name string, serial int64) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return testCA{cert: cert, key: key}
}

// pinnedIssuer serves discovery and a one-key JWKS over TLS with a leaf for 127.0.0.1 issued by
// ca; extra certificates are appended to the chain the server presents.
func pinnedIssuer(t *testing.T, ca testCA, extra ...*x509.Certificate) *httptest.Server {
	t.Helper()
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leaf, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &leafKey.PublicKey, ca.key)
	require.NoError(t, err)
	chain := [][]byte{leaf, ca.cert.Raw}
	for _, c := range extra {
		chain = append(chain, c.Raw)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pub, err := jwk.FromRaw(rsaKey.Public())
	require.NoError(t, err)
	require.NoError(t, pub.Set(jwk.KeyIDKey, "k1"))
	require.NoError(t, pub.Set(jwk.AlgorithmKey, "RS256"))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	body, err := json.Marshal(set)
	require.NoError(t, err)

	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: chain, PrivateKey: leafKey}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	return srv
}

// Pinning counts only certificates of the verified chain. An attacker holding a certificate from
// another trusted CA cannot pass the pin by appending the (public) pinned certificate to the chain
// it serves.
func TestThumbprintPinOnlyVerifiedChain(t *testing.T) {
	pinnedCA := newTestCA(t, "pinned CA", 1)
	otherCA := newTestCA(t, "other CA", 2)
	roots := x509.NewCertPool() // both CAs are trusted for normal verification
	roots.AddCert(pinnedCA.cert)
	roots.AddCert(otherCA.cert)
	pin := sha1.Sum(pinnedCA.cert.Raw)

	tests := []struct {
		name    string
		ca      testCA
		extra   []*x509.Certificate
		wantErr error
	}{
		{"chain through the pinned CA", pinnedCA, nil, nil},
		{"chain through another CA", otherCA, nil, ErrThumbprintMismatch},
		{"another CA with the pinned certificate appended", otherCA, []*x509.Certificate{pinnedCA.cert}, ErrThumbprintMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pinnedIssuer(t, tt.ca, tt.extra...)
			c, err := New(Options{
				HTTPClient:            &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
				AllowPrivateAddresses: true,
				Issuers:               []IssuerConfig{{Issuer: srv.URL, Thumbprints: []string{hex.EncodeToString(pin[:])}}},
			})
			require.NoError(t, err)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			key, err := c.Key(ctx, srv.URL, "k1")
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, "k1", key.KeyID())
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
			assert.ErrorIs(t, err, ErrIssuerUnavailable)
			assert.Nil(t, key)
		})
	}
}

// Re-registering a pinned issuer (as a config reload does) replaces its
// transport: live pinned transports stay bounded by the pinned issuers, and
// the replaced one is retired.
func TestReRegisterReplacesPinnedTransport(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss := e.iss.URL()
	pin := []string{strings.Repeat("ab", 20)}
	var prev *issuerConfig
	for range 5 {
		require.NoError(t, e.cache.Register(IssuerConfig{Issuer: iss, Thumbprints: pin}))
		require.NoError(t, e.cache.Register(IssuerConfig{Issuer: "https://other.example", Thumbprints: pin}))
		cur := e.cache.config(iss)
		require.Len(t, cur.owned, 1)
		if prev != nil {
			assert.True(t, prev.retired.Load(), "replaced config retired")
		}
		assert.False(t, cur.retired.Load())
		prev = cur
	}
	e.cache.mu.Lock()
	assert.Len(t, e.cache.owned, 2)
	assert.Equal(t, prev.owned, e.cache.owned[iss])
	e.cache.mu.Unlock()

	require.NoError(t, e.cache.Register(IssuerConfig{Issuer: iss})) // pin dropped
	e.cache.mu.Lock()
	assert.Len(t, e.cache.owned, 1)
	e.cache.mu.Unlock()
	assert.True(t, prev.retired.Load())
}
