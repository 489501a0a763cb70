package testissuer

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func getAccept(t *testing.T, iss *Issuer, url string, accept []string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	resp, err := iss.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// kube-apiserver's negotiation, endpoint by endpoint: go-restful ignores q-values, knows only
// the "*/*" wildcard and compares media types exactly.
func TestKubeAPIServerNegotiation(t *testing.T) {
	iss := Start(t, Options{KubeAPIServer: true, Algorithms: []string{"RS256", "ES256"}})
	tests := []struct {
		name   string
		url    string
		accept []string // header fields; nil sends none
		want   int
	}{
		{"jwks: no Accept", iss.JWKSURL(), nil, 200},
		{"jwks: empty Accept", iss.JWKSURL(), []string{""}, 200},
		{"jwks: */*", iss.JWKSURL(), []string{"*/*"}, 200},
		{"jwks: jwk-set+json", iss.JWKSURL(), []string{"application/jwk-set+json"}, 200},
		{"jwks: webidentity's Accept", iss.JWKSURL(), []string{"application/jwk-set+json, application/json"}, 200},
		{"jwks: json first, jwk-set second", iss.JWKSURL(), []string{"application/json,application/jwk-set+json"}, 200},
		{"jwks: json only (the bug)", iss.JWKSURL(), []string{"application/json"}, 406},
		{"jwks: json with */* fallback", iss.JWKSURL(), []string{"application/json, */*;q=0.8"}, 200},
		{"jwks: q-value ignored", iss.JWKSURL(), []string{"application/jwk-set+json;q=0.5"}, 200},
		{"jwks: q=0 ignored too", iss.JWKSURL(), []string{"application/jwk-set+json;q=0"}, 200},
		{"jwks: type wildcard not supported", iss.JWKSURL(), []string{"application/*"}, 406},
		{"jwks: case-sensitive", iss.JWKSURL(), []string{"Application/JWK-Set+JSON"}, 406},
		{"jwks: only the first field counts", iss.JWKSURL(), []string{"application/json", "application/jwk-set+json"}, 406},
		{"jwks: spaces trimmed", iss.JWKSURL(), []string{"  application/jwk-set+json  ; q=1"}, 200},
		{"discovery: json", iss.DiscoveryURL(), []string{"application/json"}, 200},
		{"discovery: no Accept", iss.DiscoveryURL(), nil, 200},
		{"discovery: jwk-set+json only", iss.DiscoveryURL(), []string{"application/jwk-set+json"}, 406},
		{"discovery: text/html", iss.DiscoveryURL(), []string{"text/html"}, 406},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := getAccept(t, iss, tt.url, tt.accept)
			require.Equal(t, tt.want, resp.StatusCode)
			if tt.want == http.StatusOK {
				want := MediaTypeJSON
				if tt.url == iss.JWKSURL() {
					want = MediaTypeJWKSet
				}
				assert.Equal(t, want, resp.Header.Get("Content-Type"))
				assert.Equal(t, "public, max-age=3600", resp.Header.Get("Cache-Control"))
				return
			}
			available := MediaTypeJSON
			if tt.url == iss.JWKSURL() {
				available = MediaTypeJWKSet
			}
			assert.Equal(t, MediaTypeJSON, resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-cache, private", resp.Header.Get("Cache-Control"))
			assert.JSONEq(t, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
				`"message":"406: Not Acceptable\n\nAvailable representations: `+available+`",`+
				`"reason":"NotAcceptable","details":{},"code":406}`, string(body))
		})
	}
}

// The documents have kube-apiserver's exact shape and member order.
func TestKubeAPIServerDocuments(t *testing.T) {
	iss := Start(t, Options{KubeAPIServer: true, Algorithms: []string{"RS256", "ES256"}})
	assert.Equal(t, iss.ServerURL()+"/openid/v1/jwks", iss.JWKSURL())

	_, disc := getAccept(t, iss, iss.DiscoveryURL(), []string{"application/json"})
	assert.Equal(t, `{"issuer":"`+iss.URL()+`","jwks_uri":"`+iss.JWKSURL()+`",`+
		`"response_types_supported":["id_token"],"subject_types_supported":["public"],`+
		`"id_token_signing_alg_values_supported":["ES256","RS256"]}`, string(disc))

	_, body := getAccept(t, iss, iss.JWKSURL(), []string{"application/jwk-set+json"})
	rsa := regexp.MustCompile(`^\{"use":"sig","kty":"RSA","kid":"[A-Za-z0-9_-]{43}","alg":"RS256","n":"[A-Za-z0-9_-]+","e":"AQAB"\}$`)
	ec := regexp.MustCompile(`^\{"use":"sig","kty":"EC","kid":"[A-Za-z0-9_-]{43}","crv":"P-256","alg":"ES256","x":"[A-Za-z0-9_-]{43}","y":"[A-Za-z0-9_-]{43}"\}$`)
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Len(t, doc.Keys, 2)
	assert.Regexp(t, rsa, string(doc.Keys[0]))
	assert.Regexp(t, ec, string(doc.Keys[1]))

	// kid = base64url(SHA-256(PKIX DER)).
	for _, kid := range iss.Kids() {
		der, err := x509.MarshalPKIXPublicKey(iss.PublicKey(kid))
		require.NoError(t, err)
		sum := sha256.Sum256(der)
		assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), kid)
	}
	assert.Equal(t, body, iss.JWKS(), "JWKS() returns what is served")
}

// Faults still apply in kube mode, and a fault's headers replace the defaults.
func TestKubeAPIServerFaults(t *testing.T) {
	iss := Start(t, Options{KubeAPIServer: true})
	iss.SetFault(JWKS, Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Cache-Control": {"no-store"}}})
	resp, _ := getAccept(t, iss, iss.JWKSURL(), []string{"application/jwk-set+json"})
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, []string{"no-store"}, resp.Header.Values("Cache-Control"))

	// Negotiation comes first, as in the apiserver's router.
	resp, _ = getAccept(t, iss, iss.JWKSURL(), []string{"application/json"})
	assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode)
	assert.Equal(t, 2, iss.Requests(JWKS))
}

// The default issuer is unchanged: JWKS at /keys as application/json, any Accept.
func TestDefaultModeIgnoresAccept(t *testing.T) {
	iss := Start(t, Options{})
	assert.Equal(t, iss.URL()+"/keys", iss.JWKSURL())
	resp, _ := getAccept(t, iss, iss.JWKSURL(), []string{"text/html"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, MediaTypeJSON, resp.Header.Get("Content-Type"))
}
