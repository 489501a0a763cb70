package verifier

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/webidentity/webidentity/jwks"
)

// Provider is a static IAM OpenID Connect identity provider: one account's registration of an
// issuer whose tokens may be presented. New fills a registry of its own with them; with
// Options.ProviderSource, providers are *iam.OIDCProvider values instead.
type Provider struct {
	// URL is the issuer identifier, an https URL that may have a path
	// ("https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"). A token's iss must equal it
	// byte for byte. It must not end in a slash or carry a query, fragment or userinfo, and its
	// host must be a domain name with a dot or an IP address (a bare "aws" or "sts" would make
	// the provider's condition keys collide with global ones). Several providers (of different
	// accounts) may have the same URL.
	URL string

	// ARN is how trust policies name the provider as their Federated principal:
	// "arn:aws:iam::ACCOUNT:oidc-provider/" followed by URL without "https://"; its account is
	// the provider's. For the well-known issuers accounts.google.com and
	// cognito-identity.amazonaws.com it may be left empty: policies name them by their domain,
	// which is then used, and the provider serves every account (as STS's built-in ones do).
	ARN string

	// ClientIDs are the accepted audiences: a token's aud must contain one of them (for
	// accounts.google.com, azp may be the client ID instead). 1 to 100 non-empty values are
	// required.
	ClientIDs []string

	// Algorithms is the allow-list of JOSE signature algorithms, case-sensitive. If empty, all
	// supported ones: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA. none and
	// the HMAC algorithms are never accepted. It is the issuer's: providers of one URL must set
	// the same (as Types and DiscoveryURL).
	Algorithms []string

	// Types are the accepted values of the typ header, compared case-insensitively; a token
	// without typ is always accepted. If empty, "JWT".
	Types []string

	// Thumbprints pins the TLS certificates of the provider's key endpoints (hex SHA-1, as in
	// IAM's ThumbprintList): a token is accepted only if the JWKS fetch that produced its key
	// connected through a verified chain holding one of them. They are the provider's, checked
	// per token against the chain the key source recorded (ThumbprintChecker: the default key
	// cache, or a *jwks.Cache in Options.Keys); New refuses them (ErrProviderSettingIgnored)
	// with a key source that records no chain, so that pinning never fails open.
	Thumbprints []string

	// DiscoveryURL is where the key cache fetches the discovery document when it is not at
	// URL + "/.well-known/openid-configuration". The document's issuer must still be URL.
	// Like Thumbprints, it needs the default key cache or a *jwks.Cache in Options.Keys that
	// does not serve the issuer yet.
	DiscoveryURL string
}

// Options configures a Verifier. Either ProviderSource or Providers is required; the zero
// value of every other field is safe.
type Options struct {
	// ProviderSource finds, per request, the provider that the role's account registers for
	// the token's issuer: an *iam.Registry (which changes at runtime), or a source of one's
	// own. Set it or Providers, not both.
	ProviderSource ProviderSource

	// Providers are static providers, the convenience for a fixed configuration: New fills an
	// iam.Registry of its own with them (each provider in the account of its ARN; any number
	// of accounts may register one URL). Set it or ProviderSource, not both.
	Providers []Provider

	// Roles finds roles for AssumeRoleWithWebIdentity (an *iam.Registry, a StaticRoles, or a
	// source of one's own). If nil, every AssumeRoleWithWebIdentity is refused with
	// AccessDenied (Verify still works).
	Roles RoleSource

	// Keys finds the providers' public keys. If nil, New starts a jwks.Cache configured from
	// JWKS with the providers registered (and Close stops it).
	//
	// A *jwks.Cache given here may be shared (Close leaves it running). New registers in it
	// every provider whose issuer it does not serve yet, with the provider's Thumbprints and
	// DiscoveryURL; an issuer it already serves (registered by the caller, or allowed by
	// jwks.Options.AllowAnyIssuer) keeps the cache's own settings, and a provider that sets
	// Thumbprints or DiscoveryURL for it is refused (ErrProviderSettingIgnored): configure such
	// an issuer in one place. A jwks.Static must be for the issuer of every provider
	// (ErrKeySourceIssuer). A jwks.Static or any other KeySource takes no registrations, so
	// providers with Thumbprints or DiscoveryURL are refused (ErrProviderSettingIgnored).
	Keys KeySource

	// JWKS configures the default key cache when Keys is nil. Its Issuers are registered
	// first; every other issuer is registered when a provider of it is first used (and, with an
	// *iam.Registry as ProviderSource, dropped when its last provider is deleted). Its Now
	// defaults to this Options' Now.
	JWKS jwks.Options

	// Leeway is the clock skew allowed on exp, nbf and iat. If zero, 5 minutes (as STS); a
	// negative value means none.
	Leeway time.Duration

	// MaxTokenLifetime, if positive, refuses tokens whose exp - iat exceeds it (and tokens
	// without iat). If zero, the lifetime is not bounded.
	MaxTokenLifetime time.Duration

	// Now is the clock. If nil, time.Now.
	Now func() time.Time

	// TokenCacheSize bounds the verified-token cache (entries). If zero, 10000; if negative,
	// there is no cache.
	//
	// When one *iam.Registry is both ProviderSource and Roles (that type itself: not a type
	// of the caller's that embeds or wraps one) and the key source is a *jwks.Cache, the
	// cache also remembers each token's last Allow decision and answers an identical request
	// from it while the account's ChangeEpoch and the issuer's key set (jwks.Stamp) stand
	// still and the token's times still hold. Other sources get no such memo: every request
	// looks the provider and the role up and evaluates the trust policy.
	TokenCacheSize int

	// Observer receives one DecisionEvent per Verify and AssumeRoleWithWebIdentity call
	// (code, reason, provider, latency, cache hit; never token content). If nil, nothing is
	// reported and nothing is measured.
	Observer Observer
}

// Defaults for zero Options fields.
const (
	DefaultLeeway         = 5 * time.Minute
	DefaultTokenCacheSize = 10000
	defaultMaxSession     = time.Hour
	maxClientIDs          = 100
	maxClientIDLen        = 255
)

// wellKnownIssuers are the issuers trust policies name by domain rather than by ARN.
var wellKnownIssuers = map[string]string{
	"https://accounts.google.com":            "accounts.google.com",
	"https://cognito-identity.amazonaws.com": "cognito-identity.amazonaws.com",
}

// issuerSettings are what an issuer's tokens are held to beyond the provider: the alg
// allow-list and the accepted typ values. They come from static Providers; every other
// issuer gets defaultSettings.
type issuerSettings struct {
	algs  [16]bool // allowed algorithms by index into algorithms
	types []string
}

// defaultSettings: every supported algorithm, typ "JWT" (or none).
var defaultSettings = func() *issuerSettings {
	s := &issuerSettings{types: []string{"JWT"}}
	for i := range algorithms {
		s.algs[i] = true
	}
	return s
}()

type providerKind uint8

const (
	kindGeneric providerKind = iota
	kindGoogle
	kindGitHub
)

// Issuers with claims of their own.
const (
	googleIssuerURL = "https://accounts.google.com"
	githubIssuerURL = "https://token.actions.githubusercontent.com"
)

// kindOf returns the issuer's kind: two string comparisons, cheap enough per request.
func kindOf(url string) providerKind {
	switch url {
	case googleIssuerURL:
		return kindGoogle
	case githubIssuerURL:
		return kindGitHub
	}
	return kindGeneric
}

// checkStatic validates a static Provider beyond what IAM checks (which the registry does):
// the verifier's own rules, and it returns the issuer settings the provider asks for (nil for
// the defaults).
func checkStatic(p *Provider) (*issuerSettings, error) {
	u, err := url.Parse(p.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" ||
		u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(p.URL, "/") || strings.ContainsAny(p.URL, "?#") {
		return nil, fmt.Errorf("verifier: provider URL %q must be an https URL without trailing slash, query, fragment or userinfo", p.URL)
	}
	if host := u.Hostname(); !strings.Contains(host, ".") && net.ParseIP(host) == nil {
		// A bare name such as "aws" or "sts" would make the provider's condition keys
		// ("aws:sub") collide with global ones.
		return nil, fmt.Errorf("verifier: provider URL %q must name a host with a domain (a dot) or an IP address", p.URL)
	}
	hostPath := strings.TrimPrefix(p.URL, "https://")
	switch {
	case p.ARN == "" && wellKnownIssuers[p.URL] != "":
	case p.ARN == "":
		return nil, fmt.Errorf("verifier: provider %q has no ARN", p.URL)
	case !validProviderARN(p.ARN, hostPath):
		return nil, fmt.Errorf("verifier: provider ARN %q does not name %q", p.ARN, hostPath)
	}
	if len(p.ClientIDs) == 0 || len(p.ClientIDs) > maxClientIDs {
		return nil, fmt.Errorf("verifier: provider %q needs 1 to %d client IDs", p.URL, maxClientIDs)
	}
	for _, id := range p.ClientIDs {
		if id == "" || len(id) > maxClientIDLen {
			return nil, fmt.Errorf("verifier: provider %q has an empty or over-long client ID", p.URL)
		}
	}
	if len(p.Algorithms) == 0 && len(p.Types) == 0 {
		return nil, nil
	}
	set := &issuerSettings{types: p.Types}
	if len(p.Algorithms) == 0 {
		set.algs = defaultSettings.algs
	}
	for _, a := range p.Algorithms {
		i := algorithmIndex([]byte(a))
		if i < 0 {
			return nil, fmt.Errorf("verifier: provider %q: algorithm %q is not supported", p.URL, a)
		}
		set.algs[i] = true
	}
	if len(set.types) == 0 {
		set.types = defaultSettings.types
	}
	return set, nil
}

// same reports whether two providers of one issuer ask for the same settings.
func (s *issuerSettings) same(o *issuerSettings) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.algs == o.algs && slices.EqualFunc(s.types, o.types, strings.EqualFold)
}

// validProviderARN checks arn:PARTITION:iam::ACCOUNT:oidc-provider/HOSTPATH.
func validProviderARN(arn, hostPath string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" {
		return false
	}
	if len(parts[4]) != 12 || strings.Trim(parts[4], "0123456789") != "" {
		return false
	}
	return parts[5] == "oidc-provider/"+hostPath
}

// typeAllowed reports whether the typ header value is accepted.
func (s *issuerSettings) typeAllowed(typ []byte) bool {
	for _, t := range s.types {
		if strings.EqualFold(string(typ), t) {
			return true
		}
	}
	return false
}
