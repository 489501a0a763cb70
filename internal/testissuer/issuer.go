package testissuer

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TB is the part of testing.TB that Start and MustMint use; *testing.T and *testing.B satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Options configures an Issuer. The zero value is an issuer at the server root with one RS256 key.
type Options struct {
	// Path is the path part of the issuer URL, such as "/id/EXAMPLED539D4633E53DE1B71EXAMPLE".
	// Empty means the issuer is the server root.
	Path string
	// Algorithms names one signing key to create per entry at start. If empty, {"RS256"} is used.
	Algorithms []string
	// Now is the clock Claims uses. If nil, time.Now is used.
	Now func() time.Time
	// KubeAPIServer makes the issuer serve its documents the way kube-apiserver's service
	// account issuer does (pkg/routes/openidmetadata.go, pkg/serviceaccount/openidmetadata.go
	// and go-restful's content negotiation):
	//   - the JWKS at ServerURL()+KubeJWKSPath ("/openid/v1/jwks"), as MediaTypeJWKSet only;
	//     the discovery document as MediaTypeJSON only; both with "Cache-Control: public,
	//     max-age=3600";
	//   - an Accept header that does not allow the endpoint's one media type (see
	//     AcceptsMediaType) is answered 406 with the apiserver's metav1.Status JSON body, whose
	//     message ends "Available representations: <type>" (KubeNotAcceptableMessage);
	//   - the discovery document has exactly issuer, jwks_uri, response_types_supported
	//     ["id_token"], subject_types_supported ["public"] and
	//     id_token_signing_alg_values_supported (the sorted set of published algorithms);
	//   - JWKs carry use, kty, kid, (crv,) alg and the public members, in that order, and kids
	//     are KubeKeyID: base64url(SHA-256(PKIX DER)).
	// Faults apply after negotiation. The request counters count 406 answers too.
	KubeAPIServer bool
	// Listener, if set, is where the issuer serves (HTTPS, with the test certificate for
	// 127.0.0.1); otherwise a loopback port of its own.
	Listener net.Listener
}

// Endpoint names one of the documents the issuer serves.
type Endpoint string

// The endpoints whose behaviour SetFault changes and Requests counts.
const (
	Discovery Endpoint = "discovery"
	JWKS      Endpoint = "jwks"
)

// Fault changes how an endpoint answers. The zero Fault serves the real document.
type Fault struct {
	// Status, if non-zero, is the HTTP status to answer with (body: Body, or a short text).
	Status int
	// Body, if non-nil, is served instead of the real document.
	Body []byte
	// Oversize, if positive, serves the real document padded with an extra member to this many
	// bytes; the result is still valid JSON.
	Oversize int
	// DelayHeaders waits this long before writing the headers (less if the client goes away).
	DelayHeaders time.Duration
	// SlowBody writes the body one byte at a time, waiting this long between bytes.
	SlowBody time.Duration
	// RedirectTo, if set, answers 302 Found with this Location.
	RedirectTo string
	// Header holds extra response headers, such as Cache-Control or Expires.
	Header http.Header
}

// MintOptions controls the header and key of a minted token.
type MintOptions struct {
	// Kid names the key to sign with. If empty, the first published key is used.
	Kid string
	// Alg is the "alg" header. If empty, the key's algorithm. Signing always uses the key's own
	// algorithm, so a different Alg builds a token whose header lies.
	Alg string
	// HeaderKid is the "kid" header: nil means the signing key's kid, a pointer to "" omits it.
	HeaderKid *string
	// Header holds extra header members; a nil value deletes a member (such as "typ").
	Header map[string]any
}

// Issuer is a running test OIDC issuer. Its methods are safe for concurrent use.
type Issuer struct {
	srv  *httptest.Server
	path string
	now  func() time.Time
	kube bool

	mu        sync.Mutex
	keys      map[string]*signingKey
	order     []string // every key ever made, in creation order
	published map[string]bool
	faults    map[Endpoint]Fault
	editDisc  func(map[string]any)
	extra     map[string]http.Handler

	discoveryCount atomic.Int64
	jwksCount      atomic.Int64
}

// New starts an issuer. Call Close when done.
func New(opts Options) (*Issuer, error) {
	if opts.Path != "" && (!strings.HasPrefix(opts.Path, "/") || strings.HasSuffix(opts.Path, "/")) {
		return nil, fmt.Errorf("testissuer: Path %q must start with / and not end with /", opts.Path)
	}
	algs := opts.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256"}
	}
	iss := &Issuer{
		path:      opts.Path,
		now:       opts.Now,
		kube:      opts.KubeAPIServer,
		keys:      map[string]*signingKey{},
		published: map[string]bool{},
		faults:    map[Endpoint]Fault{},
		extra:     map[string]http.Handler{},
	}
	if iss.now == nil {
		iss.now = time.Now
	}
	for _, alg := range algs {
		if _, err := iss.AddKey(alg); err != nil {
			return nil, err
		}
	}
	iss.srv = httptest.NewUnstartedServer(http.HandlerFunc(iss.serve))
	if opts.Listener != nil {
		_ = iss.srv.Listener.Close()
		iss.srv.Listener = opts.Listener
	}
	iss.srv.StartTLS()
	return iss, nil
}

// Start is New for tests: it fails the test on error and closes the issuer at cleanup.
func Start(tb TB, opts Options) *Issuer {
	tb.Helper()
	iss, err := New(opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(iss.Close)
	return iss
}

// Close stops the server.
func (i *Issuer) Close() { i.srv.Close() }

// URL returns the issuer identifier, "https://127.0.0.1:PORT" followed by Options.Path.
func (i *Issuer) URL() string { return i.srv.URL + i.path }

// ServerURL returns "https://127.0.0.1:PORT".
func (i *Issuer) ServerURL() string { return i.srv.URL }

// Host returns "127.0.0.1:PORT".
func (i *Issuer) Host() string { return strings.TrimPrefix(i.srv.URL, "https://") }

// KeyPrefix returns the issuer URL without "https://": the prefix of the provider's condition
// keys ("127.0.0.1:PORT/id/X:sub") and the tail of its IAM provider ARN.
func (i *Issuer) KeyPrefix() string { return strings.TrimPrefix(i.URL(), "https://") }

// ProviderARN returns the IAM OIDC provider ARN naming this issuer in account.
func (i *Issuer) ProviderARN(account string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + i.KeyPrefix()
}

// DiscoveryURL returns the URL of the OIDC discovery document.
func (i *Issuer) DiscoveryURL() string { return i.URL() + "/.well-known/openid-configuration" }

// JWKSURL returns the URL where the JWKS is served: URL()+"/keys", or with
// Options.KubeAPIServer ServerURL()+KubeJWKSPath.
func (i *Issuer) JWKSURL() string { return i.srv.URL + i.jwksPath() }

func (i *Issuer) jwksPath() string {
	if i.kube {
		return KubeJWKSPath
	}
	return i.path + "/keys"
}

// Client returns an HTTP client that trusts the server's certificate.
func (i *Issuer) Client() *http.Client { return i.srv.Client() }

// RootCAs returns a pool holding the server's certificate.
func (i *Issuer) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(i.srv.Certificate())
	return pool
}

// Certificate returns the server's leaf certificate.
func (i *Issuer) Certificate() *x509.Certificate { return i.srv.Certificate() }

// AddKey generates a key for alg, publishes it and returns its kid.
func (i *Issuer) AddKey(alg string) (string, error) {
	kid, err := i.AddUnpublishedKey(alg)
	if err != nil {
		return "", err
	}
	i.Publish(kid)
	return kid, nil
}

// AddUnpublishedKey generates a key for alg that can sign but is not in the JWKS.
func (i *Issuer) AddUnpublishedKey(alg string) (string, error) {
	k, err := newSigningKey(alg)
	if err != nil {
		return "", err
	}
	if i.kube {
		if k.kid, err = KubeKeyID(k.signer.Public()); err != nil {
			return "", err
		}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys[k.kid] = k
	i.order = append(i.order, k.kid)
	return k.kid, nil
}

// Publish adds a known key to the JWKS.
func (i *Issuer) Publish(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if _, ok := i.keys[kid]; ok {
		i.published[kid] = true
	}
}

// RemoveKey takes a key out of the JWKS; it can still sign.
func (i *Issuer) RemoveKey(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.published, kid)
}

// Rotate adds and publishes a new key for alg and unpublishes every other key.
func (i *Issuer) Rotate(alg string) (string, error) {
	kid, err := i.AddUnpublishedKey(alg)
	if err != nil {
		return "", err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.published = map[string]bool{kid: true}
	return kid, nil
}

// Kids returns the published kids in creation order.
func (i *Issuer) Kids() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for _, kid := range i.order {
		if i.published[kid] {
			out = append(out, kid)
		}
	}
	return out
}

// KeyID returns the first published kid for alg, or "" if there is none.
func (i *Issuer) KeyID(alg string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, kid := range i.order {
		if i.published[kid] && i.keys[kid].alg == alg {
			return kid
		}
	}
	return ""
}

// PublicKey returns the public key of kid, published or not (nil if unknown).
func (i *Issuer) PublicKey(kid string) crypto.PublicKey {
	if s := i.Signer(kid); s != nil {
		return s.Public()
	}
	return nil
}

// Signer returns the private key of kid (nil if unknown).
func (i *Issuer) Signer(kid string) crypto.Signer {
	i.mu.Lock()
	defer i.mu.Unlock()
	if k, ok := i.keys[kid]; ok {
		return k.signer
	}
	return nil
}

// JWKS returns the JWKS document that the issuer currently serves (without faults).
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.jwksLocked()
}

func (i *Issuer) jwksLocked() []byte {
	if i.kube {
		return i.kubeJWKSLocked()
	}
	keys := []map[string]any{}
	for _, kid := range i.order {
		if i.published[kid] {
			keys = append(keys, i.keys[kid].jwk())
		}
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(fmt.Sprintf("testissuer: encode JWKS: %v", err))
	}
	return doc
}

// Claims returns the claims of a typical token of this issuer: iss, sub, aud (a string for one
// audience, an array otherwise), iat and nbf now, exp an hour from now, by Options.Now.
func (i *Issuer) Claims(sub string, aud ...string) map[string]any {
	now := i.now().Unix()
	c := map[string]any{"iss": i.URL(), "sub": sub, "iat": now, "nbf": now, "exp": now + 3600}
	switch len(aud) {
	case 0:
	case 1:
		c["aud"] = aud[0]
	default:
		c["aud"] = aud
	}
	return c
}

// Mint signs claims as a compact JWS with the key and header that opts choose.
func (i *Issuer) Mint(claims map[string]any, opts MintOptions) (string, error) {
	i.mu.Lock()
	kid := opts.Kid
	if kid == "" {
		for _, k := range i.order {
			if i.published[k] {
				kid = k
				break
			}
		}
	}
	key, ok := i.keys[kid]
	i.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("testissuer: no key %q", kid)
	}
	header := map[string]any{"alg": key.alg, "typ": "JWT", "kid": key.kid}
	if opts.Alg != "" {
		header["alg"] = opts.Alg
	}
	if opts.HeaderKid != nil {
		if *opts.HeaderKid == "" {
			delete(header, "kid")
		} else {
			header["kid"] = *opts.HeaderKid
		}
	}
	for k, v := range opts.Header {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("testissuer: encode header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("testissuer: encode claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	sig, err := key.sign([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// MustMint is Mint that fails the test on error.
func (i *Issuer) MustMint(tb TB, claims map[string]any, opts MintOptions) string {
	tb.Helper()
	tok, err := i.Mint(claims, opts)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return tok
}

// SetFault sets how endpoint e answers from now on.
func (i *Issuer) SetFault(e Endpoint, f Fault) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.faults[e] = f
}

// ClearFaults restores normal answers on every endpoint.
func (i *Issuer) ClearFaults() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.faults = map[Endpoint]Fault{}
}

// SetDiscovery installs a function that edits the discovery document before it is served; nil
// restores the default document.
func (i *Issuer) SetDiscovery(edit func(doc map[string]any)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.editDisc = edit
}

// Handle serves h at path on the same server, for redirect targets and other extra documents.
func (i *Issuer) Handle(path string, h http.Handler) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.extra[path] = h
}

// Requests returns how many requests endpoint e received since start or the last ResetCounts.
func (i *Issuer) Requests(e Endpoint) int {
	switch e {
	case Discovery:
		return int(i.discoveryCount.Load())
	case JWKS:
		return int(i.jwksCount.Load())
	}
	return 0
}

// ResetCounts sets every request counter to zero.
func (i *Issuer) ResetCounts() {
	i.discoveryCount.Store(0)
	i.jwksCount.Store(0)
}

func (i *Issuer) discoveryLocked() []byte {
	if i.kube {
		return i.kubeDiscoveryLocked()
	}
	doc := map[string]any{
		"issuer":                                i.URL(),
		"jwks_uri":                              i.JWKSURL(),
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": Algorithms,
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf"},
	}
	if i.editDisc != nil {
		i.editDisc(doc)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("testissuer: encode discovery: %v", err))
	}
	return out
}

func (i *Issuer) serve(w http.ResponseWriter, r *http.Request) {
	var (
		e         Endpoint
		body      []byte
		mediaType = MediaTypeJSON
	)
	i.mu.Lock()
	switch r.URL.Path {
	case i.path + "/.well-known/openid-configuration":
		e = Discovery
		i.discoveryCount.Add(1)
		body = i.discoveryLocked()
	case i.jwksPath():
		e = JWKS
		i.jwksCount.Add(1)
		body = i.jwksLocked()
		if i.kube {
			mediaType = MediaTypeJWKSet
		}
	default:
		h, ok := i.extra[r.URL.Path]
		i.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
		return
	}
	f := i.faults[e]
	i.mu.Unlock()

	if i.kube && !AcceptsMediaType(r.Header.Get("Accept"), mediaType) {
		kubeNotAcceptable(w, mediaType)
		return
	}

	if f.DelayHeaders > 0 {
		t := time.NewTimer(f.DelayHeaders)
		select {
		case <-t.C:
		case <-r.Context().Done():
			// Give up the way a stalled server does: close the connection without an
			// answer. Returning would make net/http send an empty 200, which a client
			// that is still reading would take for a real answer.
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	w.Header().Set("Content-Type", mediaType)
	if i.kube {
		w.Header().Set("Cache-Control", kubeCacheControl)
	}
	for k, vs := range f.Header { // replaces the defaults above
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	if f.RedirectTo != "" {
		w.Header().Set("Location", f.RedirectTo)
		w.WriteHeader(http.StatusFound)
		return
	}
	status := http.StatusOK
	if f.Status != 0 {
		status = f.Status
		body = []byte(http.StatusText(status))
	}
	if f.Body != nil {
		body = f.Body
	}
	if f.Oversize > len(body) && len(body) > 0 && body[len(body)-1] == '}' {
		pad := f.Oversize - len(body) - len(`,"pad":""`)
		if pad > 0 {
			padded := make([]byte, 0, f.Oversize)
			padded = append(padded, body[:len(body)-1]...)
			padded = append(padded, `,"pad":"`...)
			padded = append(padded, strings.Repeat("x", pad)...)
			padded = append(padded, `"}`...)
			body = padded
		}
	}
	if f.SlowBody <= 0 {
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	w.WriteHeader(status)
	flusher, _ := w.(http.Flusher)
	for n := range body {
		if _, err := w.Write(body[n : n+1]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		t := time.NewTimer(f.SlowBody)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
}
