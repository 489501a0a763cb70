package jwks

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// Issue 9 item 1: kube-apiserver answers 406 to a JWKS request that accepts
// only application/json. The cache's JWKS Accept lists
// application/jwk-set+json first, so discovery and JWKS both negotiate, and
// the apiserver's one-hour Cache-Control is honoured.
func TestKubeAPIServerIssuer(t *testing.T) {
	e := newEnv(t, testissuer.Options{KubeAPIServer: true, Algorithms: []string{"RS256", "ES256"}}, nil)
	iss := e.iss.URL()
	require.NoError(t, e.cache.Prefetch(bg))
	for _, kid := range e.iss.Kids() {
		_, err := e.cache.Key(bg, iss, kid)
		assert.NoError(t, err)
	}
	fetched, skipped, _, _ := e.rec.snapshot()
	assert.Empty(t, skipped)
	require.Len(t, fetched, 2)
	for _, ev := range fetched {
		assert.Equal(t, http.StatusOK, ev.Status, "%s", ev.Document)
		assert.Equal(t, time.Hour, ev.TTL, "%s: public, max-age=3600", ev.Document)
	}
	assert.Equal(t, e.iss.JWKSURL(), fetched[1].URL)
}

// What each document's request carries, and that the response's media type
// does not decide anything: the body is what is validated.
func TestAcceptHeadersAndContentTypes(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
	}{
		{"jwk-set+json", "application/jwk-set+json"},
		{"json", "application/json"},
		{"json with charset", "application/json; charset=utf-8"},
		{"static hosting text/plain", "text/plain; charset=utf-8"},
		{"S3 octet-stream", "binary/octet-stream"},
		{"none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testissuer.Options{}, nil)
			var mu sync.Mutex
			accept := map[testissuer.Endpoint][]string{}
			e.iss.SetDiscovery(func(doc map[string]any) { doc["jwks_uri"] = e.iss.ServerURL() + "/jwks-as-is" })
			jwks := e.iss.JWKS()
			e.iss.Handle("/jwks-as-is", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				accept[testissuer.JWKS] = r.Header.Values("Accept")
				mu.Unlock()
				w.Header()["Content-Type"] = []string{tt.contentType}
				_, _ = w.Write(jwks)
			}))
			disc := e.iss.DiscoveryURL()
			e.iss.Handle("/disc-accept", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				accept[testissuer.Discovery] = r.Header.Values("Accept")
				mu.Unlock()
				http.Redirect(w, r, disc, http.StatusFound)
			}))
			require.NoError(t, e.cache.Register(IssuerConfig{Issuer: e.iss.URL(), DiscoveryURL: e.iss.ServerURL() + "/disc-accept"}))
			_, err := e.cache.Key(bg, e.iss.URL(), e.iss.Kids()[0])
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []string{"application/jwk-set+json, application/json"}, accept[testissuer.JWKS])
			assert.Equal(t, []string{"application/json"}, accept[testissuer.Discovery])
		})
	}
}
