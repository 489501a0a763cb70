package verifier

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/webidentity/webidentity/internal/prefetch"
)

// tokenCache remembers tokens that verified, so that a token presented again skips the
// signature check. It is keyed by a seeded hash of the token string and each entry keeps the
// string itself: a hit requires byte-for-byte equality, so a hash collision can only cost a
// miss, never admit a token. A hit is used only while the key that verified the token is still
// the provider's current key for (issuer, kid), and exp and nbf are checked again; the caller
// evaluates the policy every time. Only verified tokens are stored.
//
// The LRU decides what stays; an index (see index) finds the entries it holds, for lookups,
// in one cache line and one pointer, instead of the LRU's map group, list element and value.
type tokenCache struct {
	seed  maphash.Seed
	lru   *lru.Cache[uint64, *cacheEntry]
	index []indexBucket // a power of two of them
	mask  uint64        // len(index)-1
	// mu orders the index's writes: a store's insertion before its LRU add, an eviction's
	// removal, a re-insertion after a Peek (see lookup).
	mu   sync.Mutex
	hits atomic.Uint64 // hits used, for tests and debugging
	// memoHits counts the hits answered from a decision memo (also counted in hits);
	// vouched those of the full path whose provider, key and admission a memo vouched for
	// (see decisionMemo.vouches; also counted in hits).
	memoHits, vouched atomic.Uint64
	// ticks counts the changes that can move an entry toward eviction (adds, removals and
	// promotions); a hit promotes its entry (moves it to the front of the LRU list, a write
	// of cold list neighbours) only once promoteAfter ticks passed since its last promotion.
	// Each tick brings an entry at most one place closer to eviction, and an entry is
	// evicted only after at least size-1 of them, so an entry hit at least once every
	// size/2 ticks is never evicted: the LRU's guarantee, without its cost per hit.
	ticks        atomic.Uint64
	promoteAfter uint64
}

// indexWays is how many entries an index bucket holds.
const indexWays = 3

// indexBucket is one cache line of the index: the tags (a part of each entry's hash, never
// zero; zero marks a free way), the entries and their decision memos (each also the entry's
// memo, here so that a lookup reads the memo and the entry at once, not one after the
// other). Readers load them without a lock; a tag only filters, the entry's own hash and
// token decide, and a memo is used only for the entry it names (decisionMemo.entry), so a
// reader that sees a tag, an entry and a memo of different writes at worst misses.
type indexBucket struct {
	tags    [indexWays]atomic.Uint32
	_       uint32
	entries [indexWays]atomic.Pointer[cacheEntry]
	memos   [indexWays]atomic.Pointer[decisionMemo]
}

type cacheEntry struct {
	// memo is the last Allow decision made with the token, with what it depended on; nil
	// until one is made (see decisionMemo). It, tick, hash and raw sit in the line a lookup
	// reads first.
	memo atomic.Pointer[decisionMemo]
	// tick is the cache's ticks when the entry was added or last promoted.
	tick atomic.Uint64
	hash uint64 // the cache key of raw
	raw  string
	v    verified
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), promoteAfter: uint64(size / 2)}
	l, err := lru.NewWithEvict[uint64, *cacheEntry](size, c.evicted)
	if err != nil {
		panic(err) // only for a non-positive size, which New rules out
	}
	c.lru = l
	// At most one entry per bucket on average: a bucket overflows (and its extra entries
	// are found through the LRU's map) for about 2 % of them when the cache is full. The
	// index is made here, whole, so it is bounded (64 MiB) whatever the size: a larger cache
	// finds its further entries through the LRU's map, which grows only as tokens arrive.
	n := 1
	for n < size && n < maxIndexBuckets {
		n <<= 1
	}
	c.index, c.mask = make([]indexBucket, n), uint64(n-1)
	return c
}

// maxIndexBuckets bounds the token cache's index: 2^20 buckets of one cache line.
const maxIndexBuckets = 1 << 20

// hashTail is how many bytes of the end of a longer token the cache's hash reads.
const hashTail = 32

// hash returns the cache key of raw: a seeded hash of its last hashTail bytes (the
// signature's end, which differs between any two tokens an issuer signs) and of its length,
// so that a lookup reads the caller's token only once more, for the comparison with the
// entry's, which streams both. The hash only places entries: a hit requires byte-for-byte
// equality, so tokens that share the end and the length can only push each other out, and
// only verified tokens are stored (tokens that share a signature's end are, in practice, one
// token).
func (c *tokenCache) hash(raw string) uint64 {
	tail := raw
	if len(raw) > hashTail {
		tail = raw[len(raw)-hashTail:]
	}
	return maphash.String(c.seed, tail) ^ uint64(len(raw))*0x9e3779b97f4a7c15
}

// tag is the index tag of hash h: bits the bucket number does not use, never zero.
func tag(h uint64) uint32 { return uint32(h>>32) | 1 }

// find returns the entry of hash h that the index holds, with the memo its way holds, or
// nil.
func (c *tokenCache) find(h uint64) (*cacheEntry, *decisionMemo) {
	b := &c.index[h&c.mask]
	t := tag(h)
	for i := range b.tags {
		if b.tags[i].Load() == t {
			m := b.memos[i].Load()
			if e := b.entries[i].Load(); e != nil && e.hash == h {
				return e, m
			}
		}
	}
	return nil, nil
}

// lookup returns the entry for raw, or nil, and raw's hash.
func (c *tokenCache) lookup(raw string) (*cacheEntry, uint64) {
	e, _, h := c.entry(raw)
	if e == nil || e.raw != raw {
		return nil, h
	}
	c.used(e, h)
	return e, h
}

// entry returns the entry of raw's hash, or nil, its memo as the index holds it (perhaps
// nil, or another entry's: see indexBucket), and the hash. The caller compares the entry's
// token with raw and, when they are equal, calls used.
func (c *tokenCache) entry(raw string) (*cacheEntry, *decisionMemo, uint64) {
	h := c.hash(raw)
	e, m := c.find(h)
	if e != nil {
		// The entry's token, which follows it when it fits (see newEntry) and, for a hit,
		// is as long as raw: its lines arrive while the caller reads the entry's.
		prefetch.At(addr(unsafe.Pointer(e))+entrySize, uintptr(min(len(raw), prefetchMax)))
	} else {
		// Not in the index (its bucket overflowed): the LRU's map holds every entry.
		var ok bool
		if e, ok = c.lru.Peek(h); !ok {
			return nil, nil, h
		}
		c.reindex(h)
	}
	return e, m, h
}

// used records a hit of e (of hash h): it promotes e in the LRU when promoteAfter ticks
// passed since its last promotion.
func (c *tokenCache) used(e *cacheEntry, h uint64) {
	if c.ticks.Load()-e.tick.Load() >= c.promoteAfter {
		c.lru.Get(h)
		e.tick.Store(c.ticks.Add(1))
	}
}

// setMemo publishes m as e's memo, in e and in e's way of the index.
func (c *tokenCache) setMemo(e *cacheEntry, m *decisionMemo) {
	e.memo.Store(m)
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &c.index[e.hash&c.mask]
	for i := range b.entries {
		if b.entries[i].Load() == e {
			b.memos[i].Store(m)
		}
	}
}

// reindex puts the LRU's entry of hash h back in the index. The Peek is repeated under mu, so
// that an eviction of the entry, whose removal from the index waits for mu, comes after the
// insertion and undoes it.
func (c *tokenCache) reindex(h uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.lru.Peek(h); ok {
		c.insert(e)
	}
}

// insert puts e in its bucket, under mu: in the way of an entry of the same hash (which the
// LRU replaces with e), else in a free way, else in place of another (which the LRU keeps:
// lookups find it through the LRU's map).
func (c *tokenCache) insert(e *cacheEntry) {
	b := &c.index[e.hash&c.mask]
	way := -1
	for i := range b.entries {
		if o := b.entries[i].Load(); o == nil {
			if way < 0 {
				way = i
			}
		} else if o.hash == e.hash {
			way = i
			break
		}
	}
	if way < 0 {
		way = int(e.hash>>8) % indexWays
	}
	b.tags[way].Store(0)
	b.entries[way].Store(e)
	b.memos[way].Store(e.memo.Load())
	b.tags[way].Store(tag(e.hash))
}

// evicted is the LRU's eviction callback (evictions and removals alike; it runs outside the
// LRU's lock): e leaves the index, unless another entry took its way already.
func (c *tokenCache) evicted(h uint64, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &c.index[h&c.mask]
	for i := range b.entries {
		if b.entries[i].Load() == e {
			b.tags[i].Store(0)
			b.entries[i].Store(nil)
			b.memos[i].Store(nil)
		}
	}
}

// remove drops the entry of hash h.
func (c *tokenCache) remove(h uint64) {
	if c.lru.Remove(h) {
		c.ticks.Add(1)
	}
}

// store remembers a verified token. The token string is copied (see newEntry) so that the
// cache does not pin a caller's larger buffer. The entry enters the index before the LRU, so that its eviction,
// however soon, finds it there.
func (c *tokenCache) store(h uint64, raw string, v *verified) *cacheEntry {
	e := newEntry(raw)
	e.hash, e.v = h, *v
	e.v.fixAudience()
	e.tick.Store(c.ticks.Add(1))
	c.mu.Lock()
	c.insert(e)
	c.mu.Unlock()
	c.lru.Add(h, e)
	// Two stores of one token can reach the index and the LRU in opposite orders (the LRU
	// replaces a value without an eviction, so nothing would take the loser out of the
	// index): put back what the LRU holds now. The last reindex comes after the last Add.
	c.reindex(h)
	return e
}

// entrySize is a cacheEntry's size: where its token's bytes start when they follow it.
const entrySize = unsafe.Sizeof(cacheEntry{})

// withToken is a cacheEntry with its token's bytes right after it, in one allocation, so
// that a lookup that finds the entry knows where the token is without reading the entry
// first. B is a byte array that fills the object up to a size class (see newEntry).
type withToken[B any] struct {
	e   cacheEntry
	raw B
}

// mallocHeader is the word the Go runtime (1.22 and later) puts in front of an object that
// has pointers and is larger than 512 bytes: such an object of size class C holds C-8 bytes.
// TestBlockSizeClasses checks that the rooms below fill their classes exactly.
const mallocHeader = 8

// Room for a token after an entry, so that the entry and its token fill a size class.
const (
	room1024 = max(1024-mallocHeader-int(entrySize), 0)
	room1280 = max(1280-mallocHeader-int(entrySize), 0)
	room1536 = max(1536-mallocHeader-int(entrySize), 0)
	room2048 = max(2048-mallocHeader-int(entrySize), 0)
	room3072 = max(3072-mallocHeader-int(entrySize), 0)
	room4096 = max(4096-mallocHeader-int(entrySize), 0)
)

// newEntry returns a new entry holding a copy of raw: with raw's bytes right after it in
// one allocation (of the smallest size class among those of withToken that has room),
// or in a string of its own for a longer token. Either way the cache does not pin a
// caller's larger buffer.
func newEntry(raw string) *cacheEntry {
	switch n := len(raw); {
	case n == 0:
		return &cacheEntry{}
	case n <= room1024:
		return inlineEntry[[room1024]byte](raw)
	case n <= room1280:
		return inlineEntry[[room1280]byte](raw)
	case n <= room1536:
		return inlineEntry[[room1536]byte](raw)
	case n <= room2048:
		return inlineEntry[[room2048]byte](raw)
	case n <= room3072:
		return inlineEntry[[room3072]byte](raw)
	case n <= room4096:
		return inlineEntry[[room4096]byte](raw)
	}
	return &cacheEntry{raw: strings.Clone(raw)}
}

// inlineEntry returns the entry of a new withToken[B] whose raw is a copy of raw, in the
// bytes after the entry (B, a byte array, has room for it).
func inlineEntry[B any](raw string) *cacheEntry {
	w := new(withToken[B])
	b := unsafe.Slice((*byte)(unsafe.Pointer(&w.raw)), unsafe.Sizeof(w.raw))
	w.e.raw = unsafe.String(&b[0], copy(b, raw)) // never written again
	return &w.e
}

// current reports whether the key that verified the cached token is still the one the full
// path would pick for it now (pickKey: the same rule, so that a kid-less token stops being
// served once a second key fits its alg, as a full verification refuses it then).
func (v *Verifier) current(ctx context.Context, e *cacheEntry) bool {
	k, err := v.pickKey(ctx, e.v.tok.Issuer, e.v.tok.KeyID, e.v.hasKid, e.v.alg, e.v.key)
	return err == nil && k == e.v.key
}
