package jwks

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of [Options].
const (
	DefaultMaxIssuers         = 10000
	DefaultMinTTL             = 5 * time.Minute
	DefaultMaxTTL             = 24 * time.Hour
	DefaultMaxStale           = 24 * time.Hour
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultRetryBackoff       = time.Second
	DefaultNegativeTTL        = time.Minute
	DefaultMaxNegativeKids    = 256
	DefaultFetchTimeout       = 5 * time.Second
	DefaultMaxDiscoveryBytes  = 64 << 10
	DefaultMaxJWKSBytes       = 1 << 20
	maxRedirects              = 3
	discoveryPath             = "/.well-known/openid-configuration"
)

// Options configures a [Cache]. The zero value is usable: every zero field
// takes the default documented on it. Negative durations and sizes are
// rejected by [New].
type Options struct {
	// HTTPClient supplies TLS settings (root CAs, client certificates) and
	// transport tuning. Only its Transport is used, and only when it is an
	// *http.Transport (nil means http.DefaultTransport): the cache clones it,
	// replaces its dialer (to check destinations at dial time; with
	// AllowPrivateAddresses its DialContext is kept), drops its proxy (unless
	// AllowPrivateAddresses is set, since a proxy would hide the real
	// destination) and its DialTLS hooks (the cache's TLS checks must run),
	// and closes every connection it made when the cache is closed. The
	// client's CheckRedirect, Jar and Timeout are not used: the cache's own
	// redirect policy (at most 3, https only) and FetchTimeout apply. A
	// Transport of another type is accepted only with AllowPrivateAddresses
	// and without thumbprint pinning, since neither check can be enforced
	// through it. A TLS config with InsecureSkipVerify is rejected.
	HTTPClient *http.Client

	// MaxIssuers bounds how many issuers that AllowAnyIssuer lets through
	// hold cached keys (least recently used are evicted and fetched again on
	// next use). Registered issuers are not counted and never evicted: their
	// number is the registrar's, and evicting one would drop the keys that
	// serve its tokens through an outage. If zero, 10,000.
	MaxIssuers int

	// MinTTL and MaxTTL clamp the freshness lifetime taken from the
	// responses' Cache-Control max-age or Expires. If zero, 5 minutes and
	// 24 hours. A response without either header gets MinTTL.
	MinTTL, MaxTTL time.Duration

	// MaxStale is how long past expiry the last good keys keep being served
	// while refreshes fail. If zero, 24 hours; if negative, expired keys are
	// never served. Past it, lookups fail with ErrIssuerUnavailable.
	MaxStale time.Duration

	// MinRefreshInterval is the least time between a successful fetch of an
	// issuer's keys and the next one, whatever triggers it (unknown kid,
	// refresh ahead). If zero, 30 seconds.
	MinRefreshInterval time.Duration

	// RetryBackoff is the least time between a failed fetch and the next
	// one. It doubles with each consecutive failure, up to
	// MinRefreshInterval, and resets on success: an issuer that comes back
	// is fetched again within a second or two, and a dead one is tried at
	// most every MinRefreshInterval once the backoff has grown. The time
	// counts from the end of the failed fetch. If zero, 1 second.
	RetryBackoff time.Duration

	// NegativeTTL is how long a kid that a completed fetch did not contain
	// is answered with ErrUnknownKey without triggering another fetch. Only
	// a fetch started by a miss of that kid counts: one already running
	// when the kid was first looked up may predate its publication. If
	// zero, 1 minute. MaxNegativeKids bounds these entries per issuer; if
	// zero, 256.
	NegativeTTL     time.Duration
	MaxNegativeKids int

	// FetchTimeout bounds each HTTP fetch: connect, TLS, headers and body.
	// If zero, 5 seconds.
	FetchTimeout time.Duration

	// MaxDiscoveryBytes and MaxJWKSBytes bound response bodies. If zero,
	// 64 KiB and 1 MiB.
	MaxDiscoveryBytes, MaxJWKSBytes int64

	// AllowPrivateAddresses turns off the dial-time refusal of loopback,
	// private, link-local, unspecified and other non-public addresses. Set
	// it for tests and in-cluster issuers only: it lets the cache reach
	// internal services (SSRF) if an issuer or its discovery document points
	// there.
	AllowPrivateAddresses bool

	// Issuers registers the issuers the cache may fetch, with per-issuer
	// settings. More can be added with [Cache.Register].
	Issuers []IssuerConfig

	// AllowAnyIssuer lets Key fetch keys for any https issuer it is asked
	// about, not only registered ones. This gives up a real protection:
	// an unverified token's "iss" would then decide where the cache
	// connects. Leave it off unless a layer in front restricts issuers.
	AllowAnyIssuer bool

	// Observer receives fetch results, skipped keys, rate-limited refreshes
	// and stale serving. If nil, events are dropped.
	Observer Observer

	// Now is the clock. If nil, time.Now (its monotonic reading). A clock
	// without a monotonic reading may step backwards: a time earlier than
	// the last fetch is taken as such a step, so cached keys and discovery
	// results are due for a refresh (still served meanwhile), negative
	// entries lapse, and MinRefreshInterval does not block that refresh.
	Now func() time.Time

	// UserAgent is sent with every request. If empty, "webidentity-jwks".
	UserAgent string
}

// IssuerConfig holds per-issuer settings.
type IssuerConfig struct {
	// Issuer is the issuer identifier: an https URL without query, fragment
	// or userinfo, compared code point for code point with the discovery
	// document's "issuer" and, by the verifier, with tokens' "iss".
	Issuer string

	// DiscoveryURL is where the discovery document is served when not at
	// Issuer + "/.well-known/openid-configuration" (e.g. private clusters
	// whose metadata is served elsewhere). It must be https. The document's
	// "issuer" must still equal Issuer.
	DiscoveryURL string

	// Thumbprints pins TLS: hex SHA-1 fingerprints (40 hex digits, case and
	// colons ignored) of certificates, as in IAM OIDC providers'
	// ThumbprintList. When set, the connections that fetch the JWKS (the
	// jwks_uri host, and any redirect from it: the host IAM takes the
	// thumbprint of) must verify through a chain (leaf, intermediates or
	// root, as verified by normal TLS verification) that holds a certificate
	// with one of these fingerprints; a pinned certificate that the server
	// merely sends without it being part of the verified chain does not
	// count. Pinned fetches
	// use their own connection pool. Discovery is not pinned: a discovery
	// document pointing elsewhere fails the pin at the JWKS fetch.
	Thumbprints []string

	// CAPEM, when set, holds the PEM certificates ("CERTIFICATE" blocks)
	// of the root CAs that this issuer's discovery and JWKS fetches trust,
	// instead of those of Options.HTTPClient (or the system's): for
	// self-managed clusters whose issuer is served under a private CA. The
	// issuer gets its own transport, cloned from the cache's (TLS 1.2 or
	// later, destination checks); Thumbprints still apply on top. It needs
	// the cache to own an *http.Transport (see Options.HTTPClient).
	CAPEM []byte

	// Keys, when not empty, are static keys: the issuer is never fetched
	// and Keys is its key set. Build them with ParseJWKS, ParsePEM or
	// NewKey; Register refuses nil keys, a kid shared by two keys of one
	// type and more than MaxKeys keys (*KeyError). An empty Keys (as from
	// ParseJWKS of a set without usable keys) means a fetched issuer: check
	// the length first.
	Keys []*Key
}

// settings are Options with defaults applied.
type settings struct {
	maxIssuers     int
	minTTL, maxTTL time.Duration
	maxStale       time.Duration
	minRefresh     time.Duration
	retryBase      time.Duration
	negativeTTL    time.Duration
	maxNegative    int
	fetchTimeout   time.Duration
	maxDiscovery   int64
	maxJWKS        int64
	allowPrivate   bool
	allowAnyIssuer bool
	userAgent      string
	observer       Observer
	now            func() time.Time
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (o *Options) settings() (settings, error) {
	if o.MaxIssuers < 0 || o.MinTTL < 0 || o.MaxTTL < 0 ||
		o.MinRefreshInterval < 0 || o.RetryBackoff < 0 || o.NegativeTTL < 0 || o.MaxNegativeKids < 0 ||
		o.FetchTimeout < 0 || o.MaxDiscoveryBytes < 0 || o.MaxJWKSBytes < 0 {
		return settings{}, errors.New("jwks: negative option")
	}
	s := settings{
		maxIssuers:     orDefault(o.MaxIssuers, DefaultMaxIssuers),
		minTTL:         orDefault(o.MinTTL, DefaultMinTTL),
		maxTTL:         orDefault(o.MaxTTL, DefaultMaxTTL),
		maxStale:       max(orDefault(o.MaxStale, DefaultMaxStale), 0), // negative: none
		minRefresh:     orDefault(o.MinRefreshInterval, DefaultMinRefreshInterval),
		retryBase:      orDefault(o.RetryBackoff, DefaultRetryBackoff),
		negativeTTL:    orDefault(o.NegativeTTL, DefaultNegativeTTL),
		maxNegative:    orDefault(o.MaxNegativeKids, DefaultMaxNegativeKids),
		fetchTimeout:   orDefault(o.FetchTimeout, DefaultFetchTimeout),
		maxDiscovery:   orDefault(o.MaxDiscoveryBytes, DefaultMaxDiscoveryBytes),
		maxJWKS:        orDefault(o.MaxJWKSBytes, DefaultMaxJWKSBytes),
		allowPrivate:   o.AllowPrivateAddresses,
		allowAnyIssuer: o.AllowAnyIssuer,
		userAgent:      o.UserAgent,
		observer:       o.Observer,
		now:            o.Now,
	}
	if s.minTTL > s.maxTTL {
		return settings{}, fmt.Errorf("jwks: MinTTL %v exceeds MaxTTL %v", s.minTTL, s.maxTTL)
	}
	if s.userAgent == "" {
		s.userAgent = "webidentity-jwks"
	}
	if s.observer == nil {
		s.observer = nopObserver{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// retryBackoff is the wait after the n-th consecutive failed fetch (n >= 1):
// retryBase doubled n-1 times, capped at minRefresh.
func (s *settings) retryBackoff(n int) time.Duration {
	d := s.retryBase
	for i := 1; i < n && d < s.minRefresh; i++ {
		d *= 2
	}
	return min(d, s.minRefresh)
}

// checkIssuer validates an issuer identifier.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("%w: issuer %q does not parse", ErrUnknownIssuer, issuer)
	}
	if err := checkURL(u); err != nil {
		return fmt.Errorf("%w: issuer %q: %w", ErrUnknownIssuer, issuer, err)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(issuer, "?#") {
		return fmt.Errorf("%w: issuer %q has a query or fragment", ErrUnknownIssuer, issuer)
	}
	return nil
}

// DiscoveryURL returns issuer + "/.well-known/openid-configuration", keeping
// the issuer's path and joining with exactly one slash.
func DiscoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + discoveryPath
}

// parseThumbprints normalises hex SHA-1 thumbprints.
func parseThumbprints(list []string) (map[[20]byte]bool, error) {
	if len(list) == 0 {
		return nil, nil
	}
	pins := make(map[[20]byte]bool, len(list))
	for _, t := range list {
		h := strings.ReplaceAll(strings.TrimSpace(t), ":", "")
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 20 {
			return nil, fmt.Errorf("jwks: thumbprint %q is not 40 hex digits", t)
		}
		pins[[20]byte(b)] = true
	}
	return pins, nil
}
