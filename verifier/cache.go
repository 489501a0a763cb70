package verifier

import (
	"context"
	"hash/maphash"
	"strings"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// tokenCache remembers tokens that verified, so that a token presented again skips the
// signature check. It is keyed by a seeded hash of the exact token string and each entry keeps
// the string itself: a hit requires byte-for-byte equality, so a hash collision can only cost a
// miss, never admit a token. A hit is used only while the key that verified the token is still
// the provider's current key for (issuer, kid), and exp and nbf are checked again; the caller
// evaluates the policy every time. Only verified tokens are stored.
type tokenCache struct {
	seed maphash.Seed
	lru  *lru.Cache[uint64, *cacheEntry]
	hits atomic.Uint64 // hits used, for tests and debugging
}

type cacheEntry struct {
	raw string
	v   verified
}

func newTokenCache(size int) *tokenCache {
	c, err := lru.New[uint64, *cacheEntry](size)
	if err != nil {
		panic(err) // only for a non-positive size, which New rules out
	}
	return &tokenCache{seed: maphash.MakeSeed(), lru: c}
}

// lookup returns the entry for raw, or nil.
func (c *tokenCache) lookup(raw string) (*cacheEntry, uint64) {
	h := maphash.String(c.seed, raw)
	e, ok := c.lru.Get(h)
	if !ok || e.raw != raw {
		return nil, h
	}
	return e, h
}

// store remembers a verified token. The token string is cloned so that the cache does not pin
// a caller's larger buffer.
func (c *tokenCache) store(h uint64, raw string, v *verified) *cacheEntry {
	e := &cacheEntry{raw: strings.Clone(raw), v: *v}
	e.v.fixAudience()
	e.v.shared = nil
	c.lru.Add(h, e)
	return e
}

// current reports whether the key that verified the cached token is still current for its
// issuer and kid.
func (v *Verifier) current(ctx context.Context, e *cacheEntry) bool {
	tok := &e.v.tok
	if tok.KeyID != "" {
		k, err := v.keys.Key(ctx, tok.Issuer, tok.KeyID)
		if err != nil {
			return false
		}
		if k == e.v.key {
			return true
		}
		// The token may have been verified by a sibling under the same kid (see siblingKey).
	}
	keys, err := v.keys.Keys(ctx, tok.Issuer)
	if err != nil {
		return false
	}
	for _, k := range keys {
		if k == e.v.key {
			return true
		}
	}
	return false
}
