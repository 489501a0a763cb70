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
	// memoHits counts the hits answered from a decision memo (also counted in hits).
	memoHits atomic.Uint64
	// ticks counts the changes that can move an entry toward eviction (adds, removals and
	// promotions); a hit promotes its entry (moves it to the front of the LRU list, a write
	// of cold list neighbours) only once promoteAfter ticks passed since its last promotion.
	// Each tick brings an entry at most one place closer to eviction, and an entry is
	// evicted only after at least size-1 of them, so an entry hit at least once every
	// size/2 ticks is never evicted: the LRU's guarantee, without its cost per hit.
	ticks        atomic.Uint64
	promoteAfter uint64
}

type cacheEntry struct {
	// memo is the last Allow decision made with the token, with what it depended on; nil
	// until one is made (see decisionMemo). It and tick sit beside raw, in the line a
	// lookup reads first.
	memo atomic.Pointer[decisionMemo]
	// tick is the cache's ticks when the entry was added or last promoted.
	tick atomic.Uint64
	raw  string
	v    verified
}

func newTokenCache(size int) *tokenCache {
	c, err := lru.New[uint64, *cacheEntry](size)
	if err != nil {
		panic(err) // only for a non-positive size, which New rules out
	}
	return &tokenCache{seed: maphash.MakeSeed(), lru: c, promoteAfter: uint64(size / 2)}
}

// hashEnds is how many bytes of each end of a longer token the cache's hash reads.
const hashEnds = 64

// hash returns the cache key of raw: a seeded hash of its length and of its first and last
// hashEnds bytes (the header, and the signature's end), so that a lookup reads the caller's
// token only once, for the comparison with the entry's, which streams both. The hash only
// places entries: a hit requires byte-for-byte equality, so tokens that share both ends can
// only push each other out (and only verified tokens are stored: two with one signature end
// and one header are, in practice, one token).
func (c *tokenCache) hash(raw string) uint64 {
	if len(raw) <= 2*hashEnds {
		return maphash.String(c.seed, raw)
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(raw[:hashEnds])
	h.WriteString(raw[len(raw)-hashEnds:])
	n := uint64(len(raw))
	h.WriteByte(byte(n))
	h.WriteByte(byte(n >> 8))
	h.WriteByte(byte(n >> 16))
	h.WriteByte(byte(n >> 24))
	return h.Sum64()
}

// lookup returns the entry for raw, or nil.
func (c *tokenCache) lookup(raw string) (*cacheEntry, uint64) {
	h := c.hash(raw)
	e, ok := c.lru.Peek(h)
	if !ok || e.raw != raw {
		return nil, h
	}
	if c.ticks.Load()-e.tick.Load() >= c.promoteAfter {
		c.lru.Get(h)
		e.tick.Store(c.ticks.Add(1))
	}
	return e, h
}

// remove drops the entry of hash h.
func (c *tokenCache) remove(h uint64) {
	if c.lru.Remove(h) {
		c.ticks.Add(1)
	}
}

// store remembers a verified token. The token string is cloned so that the cache does not pin
// a caller's larger buffer.
func (c *tokenCache) store(h uint64, raw string, v *verified) *cacheEntry {
	e := &cacheEntry{raw: strings.Clone(raw), v: *v}
	e.v.fixAudience()
	e.tick.Store(c.ticks.Add(1))
	c.lru.Add(h, e)
	return e
}

// current reports whether the key that verified the cached token is still the one the full
// path would pick for it now (pickKey: the same rule, so that a kid-less token stops being
// served once a second key fits its alg, as a full verification refuses it then).
func (v *Verifier) current(ctx context.Context, e *cacheEntry) bool {
	k, err := v.pickKey(ctx, e.v.tok.Issuer, e.v.tok.KeyID, e.v.hasKid, e.v.alg, e.v.key)
	return err == nil && k == e.v.key
}
