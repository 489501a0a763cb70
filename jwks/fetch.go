package jwks

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fetcher performs bounded GETs for one issuer.
type fetcher struct {
	client    *http.Client
	userAgent string
}

// newClient wraps a round tripper with the redirect policy: at most 3
// redirects, each to an https URL without userinfo.
func newClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return ErrTooManyRedirects
			}
			return checkURL(req.URL)
		},
	}
}

// response is what a successful fetch returns.
type response struct {
	body   []byte
	status int
	header http.Header
	chain  [][20]byte // SHA-1 of every certificate of the verified TLS chains of the final hop
}

// get fetches url with the deadline already on ctx, reading at most max
// bytes of body. Errors are *FetchError.
func (f *fetcher) get(ctx context.Context, doc Document, url string, max int64) (*response, error) {
	fail := func(status int, err error) (*response, error) {
		return nil, &FetchError{Document: doc, URL: url, Status: status, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail(0, err)
	}
	req.Header.Set("Accept", acceptFor(doc))
	req.Header.Set("User-Agent", f.userAgent)
	resp, err := f.client.Do(req)
	if err != nil {
		return fail(0, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(resp.StatusCode, ErrStatus)
	}
	if resp.ContentLength > max {
		return fail(resp.StatusCode, fmt.Errorf("%w: Content-Length %d exceeds %d", ErrTooLarge, resp.ContentLength, max))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err == nil {
		// A read cut off by the deadline can end in a clean EOF (seen with
		// chunked HTTP/1.1 bodies): never trust a body read past it.
		err = ctx.Err()
	}
	if err != nil {
		return fail(resp.StatusCode, err)
	}
	if int64(len(body)) > max {
		return fail(resp.StatusCode, fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, max))
	}
	return &response{body: body, status: resp.StatusCode, header: resp.Header, chain: chainOf(resp.TLS)}, nil
}

// chainOf returns the SHA-1 fingerprints of the certificates in the verified chains of a TLS
// connection (leaf, intermediates, roots; each once), or nil for a connection without TLS.
// Only verified chains count: certificates the server merely sent along are not in them.
func chainOf(cs *tls.ConnectionState) [][20]byte {
	if cs == nil {
		return nil
	}
	var out [][20]byte
	for _, chain := range cs.VerifiedChains {
		for _, cert := range chain {
			fp := sha1.Sum(cert.Raw)
			if !slices.Contains(out, fp) {
				out = append(out, fp)
			}
		}
	}
	return out
}

// Accept headers. kube-apiserver serves its JWKS only as
// application/jwk-set+json (RFC 7517 section 8.5.1) and answers 406 to an
// Accept that lists only application/json; most other issuers serve
// application/json. The JWKS request lists both, so either server picks one
// it has. Discovery is application/json everywhere (OpenID Connect Discovery
// section 4.2).
const (
	acceptJWKS      = "application/jwk-set+json, application/json"
	acceptDiscovery = "application/json"
)

// acceptFor returns the Accept header for a document. The response's
// Content-Type is not checked: issuers serve these documents as
// application/json, application/jwk-set+json, text/plain (static hosting) or
// binary/octet-stream (S3), and the body is validated as a discovery
// document or a JWKS, which is the check that matters.
func acceptFor(doc Document) string {
	if doc == DocJWKS {
		return acceptJWKS
	}
	return acceptDiscovery
}

// unwrapURLError drops the *url.Error layer (its message repeats the URL,
// which FetchError already carries) but keeps the cause, so errors.Is still
// finds context.DeadlineExceeded, ErrRefusedDestination and the like.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// freshness returns the lifetime a response asks for, from Cache-Control
// (no-store, no-cache, max-age; s-maxage is for shared caches and ignored)
// or else Expires relative to Date (or now), clamped to [lo, hi]. A
// response without caching headers, or with malformed ones, gets lo.
func freshness(h http.Header, now time.Time, lo, hi time.Duration) time.Duration {
	ttl, ok := cacheControlTTL(h.Values("Cache-Control"))
	if !ok {
		if exp := h.Get("Expires"); exp != "" {
			if t, err := http.ParseTime(exp); err == nil {
				base := now
				if d, err := http.ParseTime(h.Get("Date")); err == nil {
					base = d
				}
				ttl = t.Sub(base)
			}
			// An invalid Expires means "already expired" (RFC 9111 5.3).
		}
	}
	// Raise to lo first: Expires-Date saturates to the minimum Duration for
	// an Expires centuries past, and subtracting Age from it would wrap
	// around. (Below lo the result is lo either way.)
	ttl = max(lo, ttl)
	if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); (err == nil && age > 0) || errors.Is(err, strconv.ErrRange) {
		ttl -= time.Duration(min(max(age, 0), year)) * time.Second
	}
	return min(hi, max(lo, ttl))
}

// year caps delta-seconds values, so that they cannot overflow a Duration.
const year = int64(365 * 24 * time.Hour / time.Second)

// cacheControlTTL reads max-age from Cache-Control; no-store and no-cache
// mean zero. ok is false when no directive decides.
func cacheControlTTL(values []string) (time.Duration, bool) {
	var ttl time.Duration
	found := false
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				secs, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
				switch {
				case errors.Is(err, strconv.ErrRange) && secs > 0:
					secs = year // RFC 9111 1.2.2: overflow means "very large"
				case err != nil || secs < 0:
					return 0, true
				}
				secs = min(secs, year)
				ttl, found = time.Duration(secs)*time.Second, true
			}
		}
	}
	return ttl, found
}
