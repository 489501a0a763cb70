package jwks

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func certPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// IssuerConfig.CAPEM: the issuer's discovery and JWKS fetches trust exactly these roots
// (self-managed clusters under a private CA), over real TLS; pins still apply on top.
func TestCAPEM(t *testing.T) {
	issuerCA := newTestCA(t, "cluster CA", 1)
	otherCA := newTestCA(t, "other CA", 2)
	srv := pinnedIssuer(t, issuerCA)
	pin := sha1.Sum(issuerCA.cert.Raw)
	otherPin := sha1.Sum(otherCA.cert.Raw)
	// A client whose own roots trust the issuer: CAPEM must replace them, not add to them.
	trusting := x509.NewCertPool()
	trusting.AddCert(issuerCA.cert)
	trustingClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: trusting}}}

	tests := []struct {
		name   string
		client *http.Client
		capem  []byte
		pins   []string
		want   error // nil: the key is found
		x509   bool  // the failure is a certificate verification error
	}{
		{name: "CAPEM of the issuer's CA", capem: certPEM(issuerCA.cert)},
		{name: "CAPEM among several roots", capem: certPEM(otherCA.cert, issuerCA.cert)},
		{name: "no CAPEM, system roots", want: ErrIssuerUnavailable, x509: true},
		{name: "CAPEM of another CA replaces the client's roots", client: trustingClient, capem: certPEM(otherCA.cert), want: ErrIssuerUnavailable, x509: true},
		{name: "CAPEM and the right pin", capem: certPEM(issuerCA.cert), pins: []string{hex.EncodeToString(pin[:])}},
		{name: "CAPEM and a wrong pin", capem: certPEM(issuerCA.cert), pins: []string{hex.EncodeToString(otherPin[:])}, want: ErrThumbprintMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Options{
				HTTPClient:            tt.client,
				AllowPrivateAddresses: true,
				Issuers:               []IssuerConfig{{Issuer: srv.URL, CAPEM: tt.capem, Thumbprints: tt.pins}},
			})
			require.NoError(t, err)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			key, err := c.Key(ctx, srv.URL, "k1")
			if tt.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "k1", key.KeyID())
				return
			}
			assert.ErrorIs(t, err, tt.want)
			if tt.x509 {
				var unknown x509.UnknownAuthorityError
				assert.ErrorAs(t, err, &unknown)
			}
		})
	}
}

func TestCAPEMRefused(t *testing.T) {
	ca := newTestCA(t, "CA", 1)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
	tests := []struct {
		name  string
		opts  Options
		capem []byte
	}{
		{name: "empty", capem: []byte{}},
		{name: "not PEM", capem: []byte("roots")},
		{name: "private key block", capem: append(certPEM(ca.cert), keyPEM...)},
		{name: "bad certificate", capem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}})},
		{name: "transport the cache cannot clone", opts: Options{AllowPrivateAddresses: true, HTTPClient: &http.Client{Transport: roundTripFunc(nil)}}, capem: certPEM(ca.cert)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			require.NoError(t, err)
			defer c.Close()
			err = c.Register(IssuerConfig{Issuer: "https://cluster.example", CAPEM: tt.capem})
			assert.Error(t, err)
			assert.False(t, c.Registered("https://cluster.example"))
		})
	}
}
