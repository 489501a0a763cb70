package testissuer

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, iss *Issuer, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := iss.Client().Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func TestDiscoveryAndJWKS(t *testing.T) {
	iss := Start(t, Options{Path: "/id/ABC"})
	assert.True(t, strings.HasPrefix(iss.URL(), "https://127.0.0.1:"))
	assert.True(t, strings.HasSuffix(iss.URL(), "/id/ABC"))
	assert.Equal(t, iss.Host()+"/id/ABC", iss.KeyPrefix())
	assert.Equal(t, "arn:aws:iam::111122223333:oidc-provider/"+iss.Host()+"/id/ABC", iss.ProviderARN("111122223333"))

	resp, body := get(t, iss, iss.DiscoveryURL())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	assert.Equal(t, iss.URL(), doc.Issuer)
	assert.Equal(t, iss.JWKSURL(), doc.JWKSURI)

	resp, body = get(t, iss, doc.JWKSURI)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	set, err := jwk.Parse(body)
	require.NoError(t, err)
	assert.Equal(t, 1, set.Len())
	assert.Equal(t, 1, iss.Requests(Discovery))
	assert.Equal(t, 1, iss.Requests(JWKS))
	iss.ResetCounts()
	assert.Equal(t, 0, iss.Requests(JWKS))
}

// Every algorithm's token verifies under the published JWKS with an independent implementation.
func TestMintVerifiesUnderJWKS(t *testing.T) {
	iss := Start(t, Options{Algorithms: Algorithms})
	set, err := jwk.Parse(iss.JWKS())
	require.NoError(t, err)
	require.Equal(t, len(Algorithms), set.Len())
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			kid := iss.KeyID(alg)
			require.NotEmpty(t, kid)
			tok := iss.MustMint(t, iss.Claims("sub-1", "aud-1"), MintOptions{Kid: kid})
			key, ok := set.LookupKeyID(kid)
			require.True(t, ok)
			payload, err := jws.Verify([]byte(tok), jws.WithKey(jwa.SignatureAlgorithm(alg), key))
			require.NoError(t, err)
			var claims map[string]any
			require.NoError(t, json.Unmarshal(payload, &claims))
			assert.Equal(t, "sub-1", claims["sub"])
			assert.Equal(t, iss.URL(), claims["iss"])
		})
	}
}

func TestMintHeaderControl(t *testing.T) {
	iss := Start(t, Options{})
	empty := ""
	other := "other-kid"
	tok := iss.MustMint(t, iss.Claims("s"), MintOptions{Alg: "HS256", HeaderKid: &empty, Header: map[string]any{"typ": nil, "crit": []string{"exp"}}})
	h := decodeHeader(t, tok)
	assert.Equal(t, "HS256", h["alg"])
	assert.NotContains(t, h, "kid")
	assert.NotContains(t, h, "typ")
	assert.Contains(t, h, "crit")

	tok = iss.MustMint(t, iss.Claims("s"), MintOptions{HeaderKid: &other})
	assert.Equal(t, "other-kid", decodeHeader(t, tok)["kid"])

	_, err := iss.Mint(iss.Claims("s"), MintOptions{Kid: "nope"})
	assert.Error(t, err)
}

func decodeHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	return h
}

func TestRotation(t *testing.T) {
	iss := Start(t, Options{})
	first := iss.Kids()[0]
	second, err := iss.AddKey("ES256")
	require.NoError(t, err)
	assert.Equal(t, []string{first, second}, iss.Kids())
	iss.RemoveKey(first)
	assert.Equal(t, []string{second}, iss.Kids())
	// A removed key still signs.
	_, err = iss.Mint(iss.Claims("s"), MintOptions{Kid: first})
	assert.NoError(t, err)
	third, err := iss.Rotate("EdDSA")
	require.NoError(t, err)
	assert.Equal(t, []string{third}, iss.Kids())
	hidden, err := iss.AddUnpublishedKey("RS256")
	require.NoError(t, err)
	assert.NotContains(t, iss.Kids(), hidden)
	iss.Publish(hidden)
	assert.Contains(t, iss.Kids(), hidden)
}

func TestFaults(t *testing.T) {
	iss := Start(t, Options{})
	iss.SetFault(JWKS, Fault{Status: 503, Header: http.Header{"Cache-Control": {"max-age=60"}}})
	resp, _ := get(t, iss, iss.JWKSURL())
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, "max-age=60", resp.Header.Get("Cache-Control"))

	iss.SetFault(JWKS, Fault{Oversize: 5000})
	_, body := get(t, iss, iss.JWKSURL())
	assert.Len(t, body, 5000)
	assert.True(t, json.Valid(body))

	iss.SetFault(JWKS, Fault{Body: []byte("garbage")})
	_, body = get(t, iss, iss.JWKSURL())
	assert.Equal(t, "garbage", string(body))

	iss.SetFault(JWKS, Fault{SlowBody: time.Millisecond})
	_, body = get(t, iss, iss.JWKSURL())
	assert.Equal(t, iss.JWKS(), body)

	iss.SetFault(Discovery, Fault{RedirectTo: "/elsewhere"})
	iss.Handle("/elsewhere", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "moved") }))
	_, body = get(t, iss, iss.DiscoveryURL())
	assert.Equal(t, "moved", string(body))

	iss.ClearFaults()
	iss.SetDiscovery(func(doc map[string]any) { doc["issuer"] = "https://evil.example.com" })
	_, body = get(t, iss, iss.DiscoveryURL())
	assert.Contains(t, string(body), "evil.example.com")
	iss.SetDiscovery(nil)
	_, body = get(t, iss, iss.DiscoveryURL())
	assert.NotContains(t, string(body), "evil.example.com")
}

func TestDelayHeadersEndsWithClient(t *testing.T) {
	iss := Start(t, Options{})
	iss.SetFault(JWKS, Fault{DelayHeaders: time.Minute})
	c := iss.Client()
	c.Timeout = 100 * time.Millisecond
	_, err := c.Get(iss.JWKSURL())
	assert.Error(t, err)
	iss.Close() // must not wait a minute for the handler
}

func TestBadOptions(t *testing.T) {
	_, err := New(Options{Path: "no-slash"})
	assert.Error(t, err)
	_, err = New(Options{Algorithms: []string{"HS256"}})
	assert.Error(t, err)
}
