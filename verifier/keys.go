package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/webidentity/webidentity/jwks"
)

// KeySource finds the public keys of registered issuers. jwks.Cache (keys fetched through the
// issuer's discovery document) and jwks.Static (pinned keys) implement it; tests may use any
// implementation.
//
// Implementations must be safe for concurrent use and should return the same jwk.Key value for
// an unchanged key, so that the verifier can cache what it derives from the key and can tell
// that a cached token's key is still current. Keys handed out must not be modified afterwards.
type KeySource interface {
	// Key returns the issuer's current key with the given kid.
	Key(ctx context.Context, issuer, kid string) (jwk.Key, error)
	// Keys returns all of the issuer's current keys, for tokens without kid.
	Keys(ctx context.Context, issuer string) ([]jwk.Key, error)
}

// Both key sources of package jwks fit.
var (
	_ KeySource = (*jwks.Cache)(nil)
	_ KeySource = (*jwks.Static)(nil)
)

// keyInfo is what the verifier derives once from a jwk.Key: the Go public key and the facts
// needed to decide which algorithms it may verify.
type keyInfo struct {
	pub  crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	kty  string
	crv  string
	alg  string // the JWK's own alg, "" if absent
	bits int    // RSA modulus size
	err  error  // why the key can verify nothing at all, or nil
}

// keyCache maps jwk.Key values to their derived keyInfo, bounded. It also interns the kid
// strings of keys that verified a token, so that the hot path does not allocate one per token.
type keyCache struct {
	lru *lru.Cache[jwk.Key, *keyInfo]

	kidMu sync.Mutex                        // serializes writers of kids
	kids  atomic.Pointer[map[string]string] // copy-on-write; at most maxInternedKids
}

const maxInternedKids = 1024

// kid returns the kid in b as a string, without allocating if it is interned.
func (c *keyCache) kid(b []byte) string {
	if m := c.kids.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	return string(b)
}

// internKid remembers kid, which has just verified a token (so an attacker cannot fill the
// table with made-up kids).
func (c *keyCache) internKid(kid string) {
	if m := c.kids.Load(); m != nil {
		if _, ok := (*m)[kid]; ok || len(*m) >= maxInternedKids {
			return
		}
	}
	c.kidMu.Lock()
	defer c.kidMu.Unlock()
	old := c.kids.Load()
	next := make(map[string]string, 1)
	if old != nil {
		if _, ok := (*old)[kid]; ok || len(*old) >= maxInternedKids {
			return
		}
		for k, v := range *old {
			next[k] = v
		}
	}
	next[kid] = kid
	c.kids.Store(&next)
}

const keyCacheSize = 1024

func newKeyCache() *keyCache {
	c, err := lru.New[jwk.Key, *keyInfo](keyCacheSize)
	if err != nil {
		panic(err) // only for a non-positive size
	}
	return &keyCache{lru: c}
}

// info returns the derived facts for k, from the cache when k is a pointer (pointers are
// comparable and stable; other dynamic types could even panic as map keys).
func (c *keyCache) info(k jwk.Key) *keyInfo {
	cacheable := reflect.TypeOf(k).Kind() == reflect.Pointer
	if cacheable {
		if ki, ok := c.lru.Get(k); ok {
			return ki
		}
	}
	ki := deriveKey(k)
	if cacheable {
		c.lru.Add(k, ki)
	}
	return ki
}

// deriveKey builds keyInfo from a JWK.
func deriveKey(k jwk.Key) *keyInfo {
	ki := &keyInfo{kty: string(k.KeyType())}
	if a := k.Algorithm(); a != nil {
		ki.alg = a.String()
	}
	if u := k.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
		ki.err = fmt.Errorf("verifier: key use %q is not sig", u)
		return ki
	}
	if ops := k.KeyOps(); len(ops) > 0 {
		verify := false
		for _, op := range ops {
			verify = verify || op == jwk.KeyOpVerify
		}
		if !verify {
			ki.err = errors.New("verifier: key_ops lacks verify")
			return ki
		}
	}
	var raw any
	if err := k.Raw(&raw); err != nil {
		ki.err = fmt.Errorf("verifier: unusable key: %w", err)
		return ki
	}
	switch pub := raw.(type) {
	case *rsa.PublicKey:
		ki.pub, ki.bits = pub, pub.N.BitLen()
		if ki.bits < minRSABits || ki.bits > maxRSABits {
			ki.err = fmt.Errorf("verifier: RSA key of %d bits; %d to %d required", ki.bits, minRSABits, maxRSABits)
		}
	case *ecdsa.PublicKey:
		ki.pub, ki.crv = pub, pub.Curve.Params().Name
	case ed25519.PublicKey:
		ki.pub, ki.crv = pub, "Ed25519"
		if len(pub) != ed25519.PublicKeySize { // jwx does not check; ed25519.Verify would panic
			ki.err = fmt.Errorf("verifier: Ed25519 key of %d bytes", len(pub))
		}
	default:
		ki.err = fmt.Errorf("verifier: key of type %T is not a public signature key", raw)
	}
	return ki
}

// mayFit is canVerify's test on the JWK's own members (kty, alg, crv), without deriving the
// key. A token without kid is matched against every key of its issuer (at most jwks.MaxKeys
// from a jwks source): only the keys that pass are derived, so that a walk past many keys of
// other types or curves costs member reads, and never evicts other issuers' derived keys.
func mayFit(k jwk.Key, alg *algorithm) bool {
	if string(k.KeyType()) != alg.kty {
		return false
	}
	if a := k.Algorithm(); a != nil {
		if s := a.String(); s != "" && s != alg.name {
			return false
		}
	}
	if alg.crv == "" {
		return true
	}
	switch ck := k.(type) {
	case jwk.ECDSAPublicKey:
		return ck.Crv().String() == alg.crv
	case jwk.OKPPublicKey:
		return ck.Crv().String() == alg.crv
	}
	return false
}

// canVerify reports whether fits(alg) would return nil, without building an error.
func (ki *keyInfo) canVerify(alg *algorithm) bool {
	return ki.err == nil && ki.kty == alg.kty && (alg.crv == "" || ki.crv == alg.crv) && (ki.alg == "" || ki.alg == alg.name)
}

// fits checks that the key may verify alg: the key type and curve are alg's and the key's own
// alg, if set, is alg.
func (ki *keyInfo) fits(alg *algorithm) error {
	if ki.err != nil {
		return ki.err
	}
	if ki.kty != alg.kty {
		return fmt.Errorf("verifier: %s key cannot verify %s", ki.kty, alg.name)
	}
	if alg.crv != "" && ki.crv != alg.crv {
		return fmt.Errorf("verifier: curve %s cannot verify %s", ki.crv, alg.name)
	}
	if ki.alg != "" && ki.alg != alg.name {
		return fmt.Errorf("verifier: key for %s cannot verify %s", ki.alg, alg.name)
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

// Prefetch loads every registered provider's keys, so that the first tokens do not wait for
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
	if err := p.Prefetch(ctx, v.issuers...); err != nil {
		return fmt.Errorf("verifier: prefetch: %w", err)
	}
	return nil
}
