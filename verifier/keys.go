package verifier

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/webidentity/webidentity/jwks"
)

// KeySource finds the public keys of registered issuers. jwks.Cache (keys fetched through the
// issuer's discovery document) and jwks.Static (pinned keys) implement it; tests may use any
// implementation. Keys are *jwks.Key, built by package jwks (from a JWKS, PEM or a
// crypto.PublicKey) with their facts derived once, so the verifier reads them directly.
//
// Implementations must be safe for concurrent use and should return the same *jwks.Key for an
// unchanged key, so that the verifier can tell that a cached token's key is still current. A
// nil key with a nil error is taken as an unknown key.
type KeySource interface {
	// Key returns the issuer's current key with the given kid.
	Key(ctx context.Context, issuer, kid string) (*jwks.Key, error)
	// Keys returns all of the issuer's current keys, for tokens without kid.
	Keys(ctx context.Context, issuer string) ([]*jwks.Key, error)
}

// Both key sources of package jwks fit.
var (
	_ KeySource = (*jwks.Cache)(nil)
	_ KeySource = (*jwks.Static)(nil)
)

// kidTable interns the kid strings of keys that verified a token, so that the hot path does
// not allocate one per token. It is sharded by a hash of the kid: a read is one hash, one
// atomic load and one map lookup; a new kid copies only its shard (copy on write), so filling
// the table with n kids costs O(n²/kidShards), not the O(n²) of copying one map per kid.
type kidTable struct {
	seedOnce sync.Once
	seed     maphash.Seed
	mu       sync.Mutex // serialises writers
	n        atomic.Int64
	shards   [kidShards]atomic.Pointer[map[string]string]
}

const kidShards = 64

// maxInternedKids bounds the kid table: enough for a registry of thousands of issuers with a
// few keys each (kids are interned only once they verified a token, so an attacker cannot fill
// it); about 100 bytes each.
const maxInternedKids = 16384

// shard returns the shard of kid b (maphash.Bytes and maphash.String agree on equal content).
func (c *kidTable) shard(b []byte) *atomic.Pointer[map[string]string] {
	c.seedOnce.Do(func() { c.seed = maphash.MakeSeed() })
	return &c.shards[maphash.Bytes(c.seed, b)%kidShards]
}

func (c *kidTable) shardOf(kid string) *atomic.Pointer[map[string]string] {
	c.seedOnce.Do(func() { c.seed = maphash.MakeSeed() })
	return &c.shards[maphash.String(c.seed, kid)%kidShards]
}

// kid returns the kid in b as a string, without allocating if it is interned.
func (c *kidTable) kid(b []byte) string {
	if m := c.shard(b).Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	return string(b)
}

// intern remembers kid, which has just verified a token (so an attacker cannot fill the table
// with made-up kids).
func (c *kidTable) intern(kid string) {
	sh := c.shardOf(kid)
	if m := sh.Load(); m != nil {
		if _, ok := (*m)[kid]; ok {
			return
		}
	}
	if c.n.Load() >= maxInternedKids {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := sh.Load()
	next := make(map[string]string, 1)
	if old != nil {
		if _, ok := (*old)[kid]; ok {
			return
		}
		for k, v := range *old {
			next[k] = v
		}
	}
	next[kid] = kid
	sh.Store(&next)
	c.n.Add(1)
}

// canVerify reports whether fits(k, alg) would return nil, without building an error: the
// key's type and curve are alg's and its own alg, if set, is alg. jwks built the key, so its
// material is valid (RSA size, curve point, Ed25519 length); the zero Key has no type and fits
// nothing.
func canVerify(k *jwks.Key, alg *algorithm) bool {
	return k.KeyType() == alg.kty && (alg.crv == "" || k.Curve() == alg.crv) &&
		(k.Algorithm() == "" || k.Algorithm() == alg.name) && k.Public() != nil
}

// fits is canVerify with the reason.
func fits(k *jwks.Key, alg *algorithm) error {
	switch {
	case k.KeyType() != alg.kty:
		return fmt.Errorf("verifier: %s key cannot verify %s", k.KeyType(), alg.name)
	case alg.crv != "" && k.Curve() != alg.crv:
		return fmt.Errorf("verifier: curve %s cannot verify %s", k.Curve(), alg.name)
	case k.Algorithm() != "" && k.Algorithm() != alg.name:
		return fmt.Errorf("verifier: key for %s cannot verify %s", k.Algorithm(), alg.name)
	case k.Public() == nil:
		return errors.New("verifier: key without public material")
	}
	return nil
}

// keySourceError classifies an error from a KeySource.
func keySourceError(err error) *Error {
	switch {
	case isUnknownKey(err):
		return newError(ReasonUnknownKey, err)
	case isUnknownIssuer(err):
		return newError(ReasonUnknownIssuer, err)
	}
	return newError(ReasonKeysUnavailable, err)
}

func isUnknownKey(err error) bool    { return errors.Is(err, jwks.ErrUnknownKey) }
func isUnknownIssuer(err error) bool { return errors.Is(err, jwks.ErrUnknownIssuer) }

// KeyPrefetcher is the optional interface of a KeySource that can load issuers' keys ahead of
// the first token, such as jwks.Cache. Verifier.Prefetch uses it.
type KeyPrefetcher interface {
	// Prefetch loads the keys of the given issuers and returns once each has usable keys or
	// failed; the error reports the failures.
	Prefetch(ctx context.Context, issuers ...string) error
}

var _ KeyPrefetcher = (*jwks.Cache)(nil)

// Prefetch loads every registered provider's keys (the static providers', or those of every
// issuer an *iam.Registry given as ProviderSource lists), so that the first tokens do not wait for
// discovery and JWKS fetches, and reports whether all of them could be loaded: use it for
// readiness checks. It works through the default key cache (Options.Keys nil) or through
// Options.Keys when that implements KeyPrefetcher, asking only for the providers' issuers;
// for other key sources (jwks.Static: keys that are always there) it does nothing and
// returns nil. The error wraps the key source's (for jwks.Cache, the *jwks.Error of each
// issuer that failed, joined). It is safe for concurrent use, also with decisions.
func (v *Verifier) Prefetch(ctx context.Context) error {
	p, ok := v.keys.(KeyPrefetcher)
	if !ok {
		return nil
	}
	issuers := v.issuers
	if w, ok := v.providers.(watcher); ok && v.static == nil {
		issuers = w.Issuers()
		for _, iss := range issuers {
			v.register(iss)
		}
		if len(issuers) == 0 {
			return nil
		}
	}
	if err := p.Prefetch(ctx, issuers...); err != nil {
		return fmt.Errorf("verifier: prefetch: %w", err)
	}
	return nil
}
