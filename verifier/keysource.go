package verifier

import (
	"context"
	"errors"
	"fmt"

	"github.com/webidentity/webidentity/iam"
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

// setupKeys checks Options.Keys against the static providers and, when it is a *jwks.Cache,
// registers there the static providers' issuers it does not serve yet, with their
// DiscoveryURL, as the default key cache does. v.keys is non-nil.
func (v *Verifier) setupKeys(opts *Options) error {
	switch ks := v.keys.(type) {
	case *jwks.Cache:
		if ks == nil {
			return errors.New("verifier: Options.Keys is a nil *jwks.Cache")
		}
		v.cache = ks
		for _, p := range opts.Providers {
			if err := v.registerStatic(&p); err != nil {
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
		return v.refuseProviderSettings(opts.Providers, "a jwks.Static")
	default:
		return v.refuseProviderSettings(opts.Providers, fmt.Sprintf("a %T", ks))
	}
	return nil
}

// registerStatic registers p's issuer in v.cache unless it is registered already. A
// registered issuer keeps its settings (its own discovery URL or static keys, perhaps shared
// with other verifiers); a provider that sets DiscoveryURL for it is refused, since New can
// neither compare nor safely replace it. Thumbprints are the provider's, checked per token
// against the chain the cache records (ThumbprintChecker), so they need no registration.
func (v *Verifier) registerStatic(p *Provider) error {
	if v.cache.Registered(p.URL) {
		if p.DiscoveryURL != "" {
			return fmt.Errorf("%w: provider %q sets DiscoveryURL, but the jwks.Cache of Options.Keys already has its issuer registered with settings of its own: set it in that cache's jwks.IssuerConfig instead (or leave Options.Keys nil)",
				ErrProviderSettingIgnored, p.URL)
		}
		return nil
	}
	if err := v.cache.Register(jwks.IssuerConfig{Issuer: p.URL, DiscoveryURL: p.DiscoveryURL}); err != nil {
		return fmt.Errorf("verifier: registering provider %q in the jwks.Cache of Options.Keys: %w", p.URL, err)
	}
	v.registered[p.URL] = true
	return nil
}

// refuseProviderSettings fails on the first provider with a DiscoveryURL, which a key source
// that takes no registrations (described by what) cannot apply, or with Thumbprints, when the
// key source cannot check them (it is no ThumbprintChecker).
func (v *Verifier) refuseProviderSettings(providers []Provider, what string) error {
	for _, p := range providers {
		if p.DiscoveryURL != "" || (len(p.Thumbprints) > 0 && v.thumbs == nil) {
			return fmt.Errorf("%w: provider %q sets Thumbprints or DiscoveryURL, which Options.Keys (%s) cannot apply: pin and locate keys in the key source itself, or leave Options.Keys nil (or pass a *jwks.Cache) so that New registers them",
				ErrProviderSettingIgnored, p.URL, what)
		}
	}
	return nil
}

// register registers an issuer in v.cache when a provider of it is used and the cache does
// not serve it: the provider source, not the token, is what allows the fetch. It reports
// whether the cache serves the issuer now.
func (v *Verifier) register(iss string) bool {
	if v.cache == nil {
		return false
	}
	v.regMu.Lock()
	defer v.regMu.Unlock()
	if v.cache.Registered(iss) {
		return true
	}
	// A source that lists its issuers (an *iam.Registry) is asked again under regMu: an issuer
	// whose last provider was deleted since the request looked its provider up is not
	// registered. The deletion is published before its watchers run, and the watcher that
	// unregisters waits for regMu, so either this check sees it or the unregister follows.
	if h, ok := v.providers.(issuerChecker); ok && !h.HasIssuer(iss) {
		return false
	}
	if err := v.cache.Register(jwks.IssuerConfig{Issuer: iss, DiscoveryURL: v.discovery[iss]}); err != nil {
		return false
	}
	v.registered[iss] = true
	return true
}

// unregister drops issuers that this verifier registered, when their last provider is gone:
// in one call to the cache, O(1) each.
func (v *Verifier) unregister(issuers ...string) {
	v.regMu.Lock()
	defer v.regMu.Unlock()
	var drop []string
	for _, iss := range issuers {
		if v.registered[iss] {
			delete(v.registered, iss)
			drop = append(drop, iss)
		}
	}
	if len(drop) > 0 {
		v.cache.Unregister(drop...)
	}
}

// issuerChecker is what register asks of a source that knows its issuers (*iam.Registry).
type issuerChecker interface{ HasIssuer(url string) bool }

var _ issuerChecker = (*iam.Registry)(nil)

// key is KeySource.Key, registering the issuer in the cache first if it does not serve it.
func (v *Verifier) key(ctx context.Context, iss, kid string) (*jwks.Key, error) {
	k, err := v.keys.Key(ctx, iss, kid)
	if err != nil && v.cache != nil && isUnknownIssuer(err) && v.register(iss) {
		k, err = v.keys.Key(ctx, iss, kid)
	}
	return k, err
}

// keySet is KeySource.Keys, registering the issuer as key does.
func (v *Verifier) keySet(ctx context.Context, iss string) ([]*jwks.Key, error) {
	ks, err := v.keys.Keys(ctx, iss)
	if err != nil && v.cache != nil && isUnknownIssuer(err) && v.register(iss) {
		ks, err = v.keys.Keys(ctx, iss)
	}
	return ks, err
}
