package verifier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
)

// Provider is an IAM OpenID Connect identity provider: an issuer whose tokens may be presented.
type Provider struct {
	// URL is the issuer identifier, an https URL that may have a path
	// ("https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"). A token's iss must equal it
	// byte for byte. It must not end in a slash or carry a query, fragment or userinfo, and its
	// host must be a domain name with a dot or an IP address (a bare "aws" or "sts" would make
	// the provider's condition keys collide with global ones). Two providers may not differ
	// only in case, since condition keys are case-insensitive.
	URL string

	// ARN is how trust policies name the provider as their Federated principal:
	// "arn:aws:iam::ACCOUNT:oidc-provider/" followed by URL without "https://". For the
	// well-known issuers accounts.google.com and cognito-identity.amazonaws.com it may be left
	// empty: policies name them by their domain, which is then used.
	ARN string

	// ClientIDs are the accepted audiences: a token's aud must contain one of them (for
	// accounts.google.com, azp may be the client ID instead). 1 to 100 non-empty values are
	// required.
	ClientIDs []string

	// Algorithms is the allow-list of JOSE signature algorithms, case-sensitive. If empty, all
	// supported ones: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA. none and
	// the HMAC algorithms are never accepted.
	Algorithms []string

	// Types are the accepted values of the typ header, compared case-insensitively; a token
	// without typ is always accepted. If empty, "JWT".
	Types []string

	// Thumbprints pins the TLS certificates of the provider's key endpoints (hex SHA-1, as in
	// IAM's ThumbprintList). It is applied by the default key cache, or registered in
	// Options.Keys when that is a *jwks.Cache not serving the issuer yet; New refuses it
	// (ErrProviderSettingIgnored) when Options.Keys would not apply it, so that pinning never
	// fails open.
	Thumbprints []string

	// DiscoveryURL is where the key cache fetches the discovery document when it is not at
	// URL + "/.well-known/openid-configuration". The document's issuer must still be URL.
	// Like Thumbprints, it needs the default key cache or a *jwks.Cache in Options.Keys that
	// does not serve the issuer yet.
	DiscoveryURL string
}

// Role is an IAM role that web identities may assume.
type Role struct {
	// ARN is the role's ARN, the policy's resource.
	ARN string
	// TrustPolicy decides who may assume the role. A role without one admits nobody.
	TrustPolicy *policy.Policy
	// MaxSessionDuration caps DurationSeconds. If zero, one hour, as IAM.
	MaxSessionDuration time.Duration
}

// RoleSource finds roles by ARN. It must be safe for concurrent use. An unknown role is
// reported with an error wrapping ErrRoleNotFound (any error refuses the request with
// AccessDenied).
type RoleSource interface {
	Role(ctx context.Context, arn string) (*Role, error)
}

// ErrRoleNotFound is returned by a RoleSource for an unknown role.
var ErrRoleNotFound = errors.New("verifier: role not found")

// StaticRoles is an in-memory RoleSource. Build it with NewStaticRoles.
type StaticRoles struct {
	roles map[string]*Role
}

var _ RoleSource = (*StaticRoles)(nil)

// NewStaticRoles returns a RoleSource holding roles, keyed by their ARN. It fails on a role
// without ARN, on duplicate ARNs and on a negative MaxSessionDuration.
func NewStaticRoles(roles ...*Role) (*StaticRoles, error) {
	s := &StaticRoles{roles: make(map[string]*Role, len(roles))}
	for i, r := range roles {
		switch {
		case r == nil || r.ARN == "":
			return nil, fmt.Errorf("verifier: role %d has no ARN", i)
		case s.roles[r.ARN] != nil:
			return nil, fmt.Errorf("verifier: duplicate role %q", r.ARN)
		case r.MaxSessionDuration < 0:
			return nil, fmt.Errorf("verifier: role %q has a negative MaxSessionDuration", r.ARN)
		}
		s.roles[r.ARN] = r
	}
	return s, nil
}

// Role returns the role with the given ARN or an error wrapping ErrRoleNotFound. It is safe for
// concurrent use.
func (s *StaticRoles) Role(_ context.Context, arn string) (*Role, error) {
	if r, ok := s.roles[arn]; ok {
		return r, nil
	}
	return nil, ErrRoleNotFound
}

// Options configures a Verifier. The zero value of every field but Providers is safe.
type Options struct {
	// Providers are the registered identity providers. At least one is required.
	Providers []Provider

	// Roles finds roles for AssumeRoleWithWebIdentity. If nil, every AssumeRoleWithWebIdentity
	// is refused with AccessDenied (Verify still works).
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

	// JWKS configures the default key cache when Keys is nil. Its Issuers are filled in from
	// Providers; its Now defaults to this Options' Now.
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

// provider is a validated Provider with what the hot path needs precomputed.
type provider struct {
	Provider
	principal string              // the Federated principal: ARN, or the domain
	prefix    string              // URL without "https://", folded as policy folds keys (policy.FoldKey)
	algs      [16]bool            // allowed algorithms by index into algorithms
	clientIDs map[string]struct{} // accepted audiences
	types     []string
	kind      providerKind
}

type providerKind uint8

const (
	kindGeneric providerKind = iota
	kindGoogle
	kindGitHub
)

// newProvider validates p.
func newProvider(p Provider) (*provider, error) {
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
	pp := &provider{Provider: p, prefix: policy.FoldKey(strings.TrimPrefix(p.URL, "https://"))}
	hostPath := strings.TrimPrefix(p.URL, "https://")
	switch {
	case p.ARN == "" && wellKnownIssuers[p.URL] != "":
		pp.principal = wellKnownIssuers[p.URL]
	case p.ARN == "":
		return nil, fmt.Errorf("verifier: provider %q has no ARN", p.URL)
	case !validProviderARN(p.ARN, hostPath):
		return nil, fmt.Errorf("verifier: provider ARN %q does not name %q", p.ARN, hostPath)
	default:
		pp.principal = p.ARN
	}
	switch hostPath {
	case "accounts.google.com":
		pp.kind = kindGoogle
	case "token.actions.githubusercontent.com":
		pp.kind = kindGitHub
	}
	if len(p.ClientIDs) == 0 || len(p.ClientIDs) > maxClientIDs {
		return nil, fmt.Errorf("verifier: provider %q needs 1 to %d client IDs", p.URL, maxClientIDs)
	}
	pp.clientIDs = make(map[string]struct{}, len(p.ClientIDs))
	for _, id := range p.ClientIDs {
		if id == "" || len(id) > maxClientIDLen {
			return nil, fmt.Errorf("verifier: provider %q has an empty or over-long client ID", p.URL)
		}
		pp.clientIDs[id] = struct{}{}
	}
	if len(p.Algorithms) == 0 {
		for i := range algorithms {
			pp.algs[i] = true
		}
	}
	for _, a := range p.Algorithms {
		i := algorithmIndex([]byte(a))
		if i < 0 {
			return nil, fmt.Errorf("verifier: provider %q: algorithm %q is not supported", p.URL, a)
		}
		pp.algs[i] = true
	}
	pp.types = p.Types
	if len(pp.types) == 0 {
		pp.types = []string{"JWT"}
	}
	return pp, nil
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
func (p *provider) typeAllowed(typ []byte) bool {
	for _, t := range p.types {
		if strings.EqualFold(string(typ), t) {
			return true
		}
	}
	return false
}
