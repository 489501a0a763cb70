package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"unsafe"

	"github.com/webidentity/webidentity/internal/prefetch"
)

// KeyLookup is CachedKey(iss, kid) prepared, for a caller that hints it at several depths
// (Prefetch, as PrefetchKey) and then makes it (CachedKey): the issuer is looked up once and
// the key for kid found once, instead of at each call. Make it with Cache.PrepareKey.
//
// What it remembers (the issuer's state, the snapshot and the key it found) is used only
// while it is still the cache's current one (the same issuer table and the same snapshot,
// both immutable once published): CachedKey through a KeyLookup answers exactly as
// Cache.CachedKey(iss, kid) would at the time it is called, whatever changed since the
// KeyLookup was made (keys swapped, the issuer dropped or registered again).
//
// It keeps iss and kid: kid may be a view of scratch memory that stays unchanged while the
// KeyLookup is used. A KeyLookup serves one goroutine at a time; distinct ones are
// independent. The zero KeyLookup finds nothing and hints nothing.
type KeyLookup struct {
	c   *Cache
	iss string
	kid string
	hot *map[string]*issuer // the issuer table st was looked up in
	st  *issuer             // nil: the issuer is not in hot
	// snap is the snapshot the key was looked up in (nil: not yet), key and found its
	// answer for kid.
	snap  *snapshot
	key   *Key
	found bool
}

// PrepareKey returns the prepared lookup of the issuer's key for kid. It looks the issuer up
// (an atomic load and a map lookup), allocates nothing and keeps iss and kid.
func (c *Cache) PrepareKey(iss string, kid []byte) KeyLookup {
	l := KeyLookup{c: c, iss: iss}
	if len(kid) > 0 {
		l.kid = unsafe.String(&kid[0], len(kid))
	}
	l.hot = c.hot.Load()
	l.st = (*l.hot)[iss]
	return l
}

// Prefetch is PrefetchKey(iss, kid, depth) without looking the issuer or the key up again: a
// hint, with no effect on any result or on the cache. See PrefetchKey for the depths.
func (l *KeyLookup) Prefetch(depth int) {
	st := l.st
	if st == nil {
		return
	}
	if depth <= 0 {
		prefetch.Lines(unsafe.Pointer(st), unsafe.Offsetof(issuer{}.epoch))
		return
	}
	if depth == 1 {
		if snap := st.snap.Load(); snap != nil {
			prefetch.Lines(unsafe.Pointer(snap), unsafe.Sizeof(snapshot{}))
		}
		return
	}
	key := l.key
	if l.snap == nil || depth == 2 {
		snap := st.snap.Load()
		if snap == nil || l.kid == "" {
			return
		}
		var found bool
		key, found = snap.key(l.kid)
		l.snap, l.key, l.found = snap, key, found
	}
	switch {
	case key == nil:
	case depth == 2:
		prefetch.Lines(unsafe.Pointer(key), keyHotBytes)
	default:
		prefetchPublic(key)
	}
}

// prefetchPublic asks for the first line of key's public material.
func prefetchPublic(key *Key) {
	switch pub := key.pub.(type) {
	case *rsa.PublicKey:
		prefetch.Line(unsafe.Pointer(pub))
	case *ecdsa.PublicKey:
		prefetch.Line(unsafe.Pointer(pub))
	case ed25519.PublicKey:
		if len(pub) > 0 {
			prefetch.Line(unsafe.Pointer(&pub[0]))
		}
	}
}

// CachedKey is Cache.CachedKey(iss, kid): the issuer's key with kid when Key would return it
// from the cache as it is, else nil, false. It makes no network request and allocates
// nothing; like Cache.CachedKey it may start a background refresh of keys past their refresh
// point. Safe to call while other goroutines use the cache.
func (l *KeyLookup) CachedKey() (*Key, bool) {
	c := l.c
	if c == nil || l.kid == "" {
		return nil, false
	}
	st := l.st
	if hot := c.hot.Load(); hot != l.hot {
		st = (*hot)[l.iss] // the issuers changed since: look again
	}
	if st == nil {
		return nil, false
	}
	snap := st.snap.Load()
	if snap == nil {
		return nil, false
	}
	key, ok := l.key, l.found
	if snap != l.snap || st != l.st {
		key, ok = snap.key(l.kid)
	}
	if !ok {
		return nil, false
	}
	if key = c.serve(st, snap, key); key != nil {
		return key, true
	}
	return nil, false
}
