// Package jwks finds and caches the keys that web-identity tokens are signed
// with: OpenID Connect discovery, JWKS fetches, and a multi-issuer key cache
// built to sit on the hot path of an STS-like service.
//
// # Looking up keys
//
// Register the issuers you trust and ask for keys by (issuer, kid):
//
//	cache, err := jwks.New(jwks.Options{
//		Issuers: []jwks.IssuerConfig{
//			{Issuer: "https://token.actions.githubusercontent.com"},
//			{Issuer: "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},
//		},
//		Observer: jwks.NewSlogObserver(slog.Default()),
//	})
//	if err != nil { ... }
//	defer cache.Close()
//	if err := cache.Prefetch(ctx); err != nil { ... } // readiness
//	key, err := cache.Key(ctx, iss, kid)              // iss routes; nothing else of the token is used
//
// The issuer's discovery document is fetched from
// issuer + "/.well-known/openid-configuration" (or IssuerConfig.DiscoveryURL);
// its "issuer" must equal the configured issuer exactly and its jwks_uri
// must be https. The JWKS is requested with "Accept: application/jwk-set+json,
// application/json" (kube-apiserver serves it only as the former and answers
// 406 to the latter alone), discovery with "Accept: application/json"; the
// response's Content-Type is not checked, the body is. Every fetch is bounded in time (FetchTimeout, 5 s, covering
// connect, headers and body) and size (64 KiB discovery, 1 MiB JWKS),
// follows at most 3 redirects, all https, and refuses at dial time to
// connect to loopback, private, link-local (169.254.169.254 included) or
// otherwise non-public addresses unless AllowPrivateAddresses is set.
// Thumbprint pinning (IssuerConfig.Thumbprints) adds a check that a
// certificate of the JWKS host's chain has a given SHA-1 fingerprint, as IAM
// does with an OIDC provider's ThumbprintList.
//
// Unusable keys in a JWKS are skipped and reported, never fatal (RFC 7517
// section 5): see [ParseJWKS] and [SkipReason]. Among them are RSA keys with
// the ROCA fingerprint (CVE-2017-15361, Infineon's RSA library: the modulus is
// a power of 65537 modulo the primes up to 167), which can be factored
// (SkipROCA); the test costs about a microsecond per key at parse time. A set
// keeps at most [MaxKeys] usable keys (SkipTooMany for the rest), so that a
// token without kid, matched against every key of its issuer, stays cheap.
//
// # Freshness, failures and floods
//
// Each issuer's keys are an immutable snapshot, read without locks. A
// snapshot lives for the response's Cache-Control max-age (or Expires),
// clamped to [MinTTL, MaxTTL]; a background refresh starts when three
// quarters of that has passed. If refreshes fail, the last good keys are
// served until MaxStale past expiry; then lookups fail with
// ErrIssuerUnavailable, wrapping a *FetchError with the cause.
//
// A kid that is not in the snapshot triggers a refresh, whatever the
// Cache-Control said (so a rotation is picked up at once even under a 7-day
// max-age), but at most one fetch per issuer per MinRefreshInterval. Callers
// that arrive while that fetch runs share it; callers that arrive after it
// during the interval fail at once with an error matching both
// ErrUnknownKey and ErrRateLimited. A flood of random kids therefore costs
// at most one fetch per interval and never queues. Kids a fetch proved absent
// are remembered for NegativeTTL.
//
// A failed fetch is not held for MinRefreshInterval: the next one may start
// RetryBackoff (1 s) after it, doubling with each consecutive failure up to
// MinRefreshInterval, and a success resets it. A cache that starts during
// an issuer outage is ready a second or two after the issuer is back, and a
// dead issuer is fetched at most every MinRefreshInterval once the backoff
// has grown. Inside a backoff window lookups fail at once with the last
// failure's cause, as during the refresh interval.
//
// Concurrent first lookups of an issuer share one discovery and one JWKS
// fetch. The fetch runs on the cache's own context, bounded by FetchTimeout;
// each caller waits only as long as its own ctx allows.
//
// # Which issuers are fetched
//
// Only registered issuers (Options.Issuers, [Cache.Register]) cause network
// access; others fail with ErrUnknownIssuer without any, since a token's
// unverified "iss" must never choose where the cache connects.
// Options.AllowAnyIssuer lifts this for deployments that filter issuers
// elsewhere.
//
// # Keys
//
// Keys are handed out as *[Key]: kid, alg, use, key type, curve, the Go
// crypto.PublicKey and the RFC 7638 thumbprint, derived once when a set is
// parsed, so lookups return facts ready for verification. An unchanged key
// keeps its *Key across refreshes. jwx (lestrrat-go/jwx/v2), which parses
// JWKs, is an implementation detail: no exported name of this package
// mentions it.
//
// # Static keys
//
// [NewStatic] serves fixed keys for one issuer (offline verification,
// pinned keys), and IssuerConfig.Keys does the same inside a Cache. Build
// the keys from a JWKS ([ParseJWKS], the same rules as fetched sets), from
// PEM public keys or certificates ([ParsePEM], with kube-apiserver's kid),
// or from a crypto.PublicKey ([NewKey]), all checked alike.
//
// # Private CAs
//
// IssuerConfig.CAPEM gives an issuer its own root CAs (PEM certificates)
// for its discovery and JWKS fetches, as self-managed clusters need,
// without building an http.Transport; TLS 1.2 or later, the destination
// checks and Thumbprints still apply.
//
// # Errors
//
// Lookups return *[Error], whose Reason matches the sentinels with
// errors.Is: ErrUnknownKey (the verifier's InvalidIdentityToken),
// ErrRateLimited (with ErrUnknownKey), ErrIssuerUnavailable (its
// IDPCommunicationError), ErrUnknownIssuer. Causes (*FetchError with the
// HTTP status, ErrTooLarge, ErrIssuerMismatch, ErrInsecureURL,
// ErrRefusedDestination, context.DeadlineExceeded, ...) are reachable with
// errors.Is and errors.As.
package jwks
