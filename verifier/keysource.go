package verifier

import (
	"errors"
	"fmt"

	"github.com/webidentity/webidentity/jwks"
)

// Errors of New about Options.Keys. Match them with errors.Is; the error New returns names the
// provider and the fix.
var (
	// ErrProviderSettingIgnored: a provider sets Thumbprints or DiscoveryURL, which
	// Options.Keys would not apply. Pinning must never fail open, so New refuses instead of
	// ignoring them. It happens when Options.Keys is not a *jwks.Cache (jwks.Static and other
	// key sources take no registrations), or is a *jwks.Cache that already serves the issuer
	// under settings of its own, which New cannot compare and will not replace.
	ErrProviderSettingIgnored = errors.New("verifier: provider setting would be ignored by Options.Keys")

	// ErrKeySourceIssuer: Options.Keys is a jwks.Static, which serves one issuer, and a
	// provider has another issuer: every token of that provider would be refused.
	ErrKeySourceIssuer = errors.New("verifier: Options.Keys does not serve a provider's issuer")
)

// setupKeys checks Options.Keys against the providers and, when it is a *jwks.Cache that does
// not know a provider's issuer, registers it there with the provider's Thumbprints and
// DiscoveryURL, as the default key cache does. v.keys is opts.Keys, non-nil.
func (v *Verifier) setupKeys(opts *Options) error {
	switch ks := v.keys.(type) {
	case *jwks.Cache:
		if ks == nil {
			return errors.New("verifier: Options.Keys is a nil *jwks.Cache")
		}
		for _, p := range opts.Providers {
			if err := registerProvider(ks, &p); err != nil {
				return err
			}
		}
	case *jwks.Static:
		if ks == nil {
			return errors.New("verifier: Options.Keys is a nil *jwks.Static")
		}
		for _, p := range opts.Providers {
			if p.URL != ks.Issuer() {
				return fmt.Errorf("%w: it is a jwks.Static for %q and cannot serve provider %q: a jwks.Static serves one issuer; for static keys of several issuers use a jwks.Cache with jwks.IssuerConfig.Keys (or leave Options.Keys nil)",
					ErrKeySourceIssuer, ks.Issuer(), p.URL)
			}
		}
		return refuseProviderSettings(opts.Providers, "a jwks.Static")
	default:
		return refuseProviderSettings(opts.Providers, fmt.Sprintf("a %T", ks))
	}
	return nil
}

// registerProvider registers p in c unless c already has p's issuer registered. A registered
// issuer keeps its settings (its own discovery URL, pins or static keys, perhaps shared with
// other verifiers); a provider that sets Thumbprints or DiscoveryURL for it is refused, since
// New can neither compare nor safely replace them. An issuer that c serves only because of
// Options.AllowAnyIssuer is registered with the provider's settings, so that they apply.
func registerProvider(c *jwks.Cache, p *Provider) error {
	if c.Registered(p.URL) {
		if len(p.Thumbprints) > 0 || p.DiscoveryURL != "" {
			return fmt.Errorf("%w: provider %q sets Thumbprints or DiscoveryURL, but the jwks.Cache of Options.Keys already has its issuer registered with settings of its own: set them in that cache's jwks.IssuerConfig instead (or leave Options.Keys nil)",
				ErrProviderSettingIgnored, p.URL)
		}
		return nil
	}
	if err := c.Register(jwks.IssuerConfig{Issuer: p.URL, Thumbprints: p.Thumbprints, DiscoveryURL: p.DiscoveryURL}); err != nil {
		return fmt.Errorf("verifier: registering provider %q in the jwks.Cache of Options.Keys: %w", p.URL, err)
	}
	return nil
}

// refuseProviderSettings fails on the first provider with Thumbprints or DiscoveryURL, which
// a key source that takes no registrations (described by what) cannot apply.
func refuseProviderSettings(providers []Provider, what string) error {
	for _, p := range providers {
		if len(p.Thumbprints) > 0 || p.DiscoveryURL != "" {
			return fmt.Errorf("%w: provider %q sets Thumbprints or DiscoveryURL, which Options.Keys (%s) cannot apply: pin and locate keys in the key source itself, or leave Options.Keys nil (or pass a *jwks.Cache) so that New registers them",
				ErrProviderSettingIgnored, p.URL, what)
		}
	}
	return nil
}
