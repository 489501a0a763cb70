package jwks

import (
	"context"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// farFuture marks snapshots that never expire (static keys).
const farFuture = time.Duration(math.MaxInt64)

// snapshot is an immutable view of one issuer's usable keys. It is shared
// by all readers through issuer.snap and never modified after publication.
//
// Layout: a lookup of a random issuer's key finds the snapshot cold in memory, so what Key
// and CheckThumbprints read sits in the snapshot itself, in a few neighbouring cache lines,
// rather than behind more pointers: the freshness window, the first keys by kid with their
// kids' bytes (inline, for sets of up to inlineKids keys with kids of up to inlineKidBytes
// bytes in all) and the TLS chain's fingerprints (inline up to inlineChain certificates).
type snapshot struct {
	// Points in time, as durations since Cache.base (see Cache.now).
	fetched    time.Duration
	refreshAt  time.Duration // refresh ahead in the background from here
	expires    time.Duration // freshness lifetime ends
	staleUntil time.Duration // expires + MaxStale: no serving from here

	// kids holds byKid's entries in document order when it has at most inlineKids of them
	// and their kids fit kidBytes; nKids < 0: they did not, look in byKid.
	nKids    int
	kids     [inlineKids]kidEntry
	kidBytes [inlineKidBytes]byte  // backing of the inline kids' strings
	chainBuf [inlineChain][40]byte // backing of chain, when it fits

	byKid map[string]*Key // kid → key; the first in document order for kids shared across kty

	all []*Key // every usable key in document order (capacity clipped)
	// chain holds the SHA-1 fingerprints, spelled in lower-case hex (as CheckThumbprints
	// compares them with pins), of the certificates of the verified TLS chains that the JWKS
	// fetch producing this snapshot connected through (nil for static keys); it points into
	// chainBuf when they fit there (see setChain).
	chain [][40]byte
	ids   map[identity]*Key
}

// Sizes of a snapshot's inline tables: enough for an issuer that rotates between two or three
// keys with kube-apiserver's 43-byte kids, and for a chain of leaf, intermediate and root.
const (
	inlineKids     = 4
	inlineKidBytes = 176
	inlineChain    = 3
)

// kidEntry is one key by kid, inline in its snapshot.
type kidEntry struct {
	kid string // points into the snapshot's kidBytes
	key *Key
}

// key returns the key with kid: byKid's answer, read from the inline entries when they hold
// them.
func (s *snapshot) key(kid string) (*Key, bool) {
	if s.nKids < 0 {
		k, ok := s.byKid[kid]
		return k, ok
	}
	for i := range s.kids[:s.nKids] {
		if e := &s.kids[i]; e.kid == kid {
			return e.key, true
		}
	}
	return nil, false
}

// setChain records the TLS chain's fingerprints, spelled in hex once here rather than at each
// CheckThumbprints, inline when they fit. nil (no chain: static keys) stays nil.
func (s *snapshot) setChain(chain [][20]byte) {
	switch {
	case chain == nil:
		s.chain = nil
		return
	case len(chain) <= len(s.chainBuf):
		s.chain = s.chainBuf[:len(chain):len(chain)]
	default:
		s.chain = make([][40]byte, len(chain))
	}
	for i := range chain {
		hex.Encode(s.chain[i][:], chain[i][:])
	}
}

// has reports whether key is one of the snapshot's keys, by identity (as Key and Keys return
// them). The inline entries come first (a key just returned by Key is there, in lines the
// lookup read); then, for the few keys of a usual set, it compares the pointers of all, one
// or two cache lines read in order, rather than hashing the key's identity (which reads the
// key) into ids.
func (s *snapshot) has(key *Key) bool {
	if key == nil {
		return false
	}
	if s.nKids > 0 {
		for i := range s.kids[:s.nKids] {
			if s.kids[i].key == key {
				return true
			}
		}
	}
	if len(s.all) <= 16 {
		for _, k := range s.all {
			if k == key {
				return true
			}
		}
		return false
	}
	return s.ids[identityOf(key)] == key
}

// identity is what must be unchanged for a refreshed key to keep its previous *Key: kid, RFC
// 7638 thumbprint (kty and public material), and the alg and use members that constrain it.
type identity struct {
	kid, alg, use string
	thumb         [32]byte
}

func identityOf(key *Key) identity {
	return identity{kid: key.kid, alg: key.alg, use: key.use, thumb: key.thumb}
}

// newSnapshot builds a snapshot from usable keys. Keys whose identity is unchanged from prev
// keep prev's *Key, so that callers caching by key identity stay valid across refreshes.
func newSnapshot(keys []*Key, prev *snapshot) *snapshot {
	s := &snapshot{
		byKid: make(map[string]*Key, len(keys)),
		all:   make([]*Key, 0, len(keys)),
		ids:   make(map[identity]*Key, len(keys)),
	}
	for _, key := range keys {
		id := identityOf(key)
		if prev != nil {
			if old, ok := prev.ids[id]; ok {
				key = old
			}
		}
		s.ids[id] = key
		s.all = append(s.all, key)
		if kid := key.kid; kid != "" {
			if _, dup := s.byKid[kid]; !dup {
				s.byKid[kid] = key
			}
		}
	}
	s.all = slices.Clip(s.all)
	s.inlineKids()
	return s
}

// inlineKids fills the inline entries from byKid, in document order, if they fit.
func (s *snapshot) inlineKids() {
	s.nKids = -1
	if len(s.byKid) > inlineKids {
		return
	}
	n, off := 0, 0
	for _, key := range s.all {
		kid := key.kid
		if kid == "" || s.byKid[kid] != key {
			continue // no kid, or not the key Key serves for it
		}
		if off+len(kid) > len(s.kidBytes) {
			s.kids = [inlineKids]kidEntry{}
			return
		}
		copy(s.kidBytes[off:], kid)
		s.kids[n] = kidEntry{kid: unsafe.String(&s.kidBytes[off], len(kid)), key: key}
		n, off = n+1, off+len(kid)
	}
	s.nKids = n
}

// fresh reports whether the snapshot may be served without a refresh at
// now. A clock that reads earlier than the fetch has been stepped back
// (Options.Now without a monotonic reading): the keys are still served, but
// a refresh is due.
func (s *snapshot) fresh(now time.Duration) bool {
	return now < s.refreshAt && now >= s.fetched
}

func (s *snapshot) setTimes(fetched, ttl, maxStale time.Duration) {
	s.fetched = fetched
	s.expires = fetched + ttl
	s.refreshAt = fetched + ttl - ttl/4
	s.staleUntil = s.expires + maxStale
}

// issuerConfig is the permanent configuration of an issuer.
type issuerConfig struct {
	id           string
	discoveryURL string
	jwksFetch    *fetcher  // JWKS: also pinned when the issuer has thumbprints
	fetch        *fetcher  // discovery: own roots when the issuer has CAPEM
	static       *snapshot // non-nil: static keys, never fetched

	owned   []*http.Transport // the issuer's own transports (CAPEM roots, pins), if any
	retired atomic.Bool       // a Register replaced this config: close owned's connections after use
}

// closeIdle closes the idle connections of the issuer's own transports.
func (cfg *issuerConfig) closeIdle() {
	for _, t := range cfg.owned {
		t.CloseIdleConnections()
	}
}

// flight is one fetch of an issuer's keys, shared by every caller that needs
// it (cold start, kid miss, refresh ahead). snap and err are written before
// done is closed.
type flight struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// issuer is the cached state of one issuer.
type issuer struct {
	c    *Cache
	cfg  *issuerConfig
	snap atomic.Pointer[snapshot]
	used atomic.Bool // second-chance bit for LRU eviction, set on hits
	// epoch moves after every snapshot swap and, with its retiredEpoch bit, when the state
	// leaves the cache (drop, Unregister, re-Register, eviction): see Stamp.
	epoch atomic.Uint64

	// tried is when the last fetch started and nextTry when the next may
	// start (see Cache.now); both are written under mu and read without
	// locking on the hot path to skip refresh-ahead work. See coolingDown.
	tried   atomic.Int64
	nextTry atomic.Int64

	mu          sync.Mutex
	fl          *flight
	lastErr     error
	failures    int  // consecutive failed fetches; sets the retry backoff
	rlReported  bool // a RateLimited event was emitted in this window
	negative    *simplelru.LRU[string, time.Duration]
	staleNotice bool // a StaleServed event was emitted since the last fetch

	// Owned by the running flight (flights never overlap).
	discURI     string
	discAt      time.Duration // discovery fetched (see Cache.now)
	discExpires time.Duration
}

func newIssuer(c *Cache, cfg *issuerConfig) *issuer {
	st := &issuer{c: c, cfg: cfg}
	st.tried.Store(math.MinInt64)
	st.nextTry.Store(math.MinInt64)
	if cfg.static != nil {
		st.snap.Store(cfg.static)
		st.nextTry.Store(int64(farFuture))
	}
	return st
}

// coolingDown reports whether MinRefreshInterval forbids a fetch at now.
// A clock that reads earlier than the last fetch's start has been stepped
// back (Options.Now without a monotonic reading): the interval is measured
// from a time that has not come yet, so a fetch is allowed rather than
// blocked for the size of the step.
func (st *issuer) coolingDown(now time.Duration) bool {
	return int64(now) < st.nextTry.Load() && int64(now) >= st.tried.Load()
}

func (st *issuer) touch() {
	if !st.used.Load() {
		st.used.Store(true)
	}
}

// usable returns keys that may be served now, fetching them first when
// there are none (cold start, or stale past MaxStale). ahead is the refresh
// ahead it started for keys past their refresh point, if any (see missRefresh).
func (st *issuer) usable(ctx context.Context) (*snapshot, *flight, error) {
	now := st.c.now()
	if snap := st.snap.Load(); snap != nil && now < snap.staleUntil {
		var ahead *flight
		if !snap.fresh(now) {
			ahead = st.refreshAhead(now, snap)
		}
		return snap, ahead, nil
	}
	if st.c.isClosed() {
		return nil, nil, &Error{Reason: ReasonUnavailable, Issuer: st.cfg.id, Err: ErrClosed}
	}
	st.mu.Lock()
	f := st.fl
	if f == nil {
		if st.coolingDown(now) {
			cause := st.lastErr
			st.mu.Unlock()
			if cause == nil {
				cause = errors.New("jwks: keys stale and refresh cooling down")
			}
			return nil, nil, &Error{Reason: ReasonUnavailable, Issuer: st.cfg.id, Err: cause}
		}
		f = st.startLocked(now)
	}
	st.mu.Unlock()
	if err := st.wait(ctx, f, ""); err != nil {
		return nil, nil, err
	}
	return f.snap, nil, nil
}

// wait waits for f or ctx; the fetch itself runs on the cache's context.
func (st *issuer) wait(ctx context.Context, f *flight, kid string) error {
	select {
	case <-f.done:
	case <-ctx.Done():
		return &Error{Reason: ReasonUnavailable, Issuer: st.cfg.id, Kid: kid, Err: ctx.Err()}
	}
	if f.err != nil {
		return &Error{Reason: ReasonUnavailable, Issuer: st.cfg.id, Kid: kid, Err: f.err}
	}
	return nil
}

// refreshAhead starts a background refresh if none is running and the
// refresh interval allows one, and returns its flight (nil if it started
// none). It never blocks on the fetch.
func (st *issuer) refreshAhead(now time.Duration, snap *snapshot) *flight {
	if st.coolingDown(now) {
		return nil
	}
	st.mu.Lock()
	if st.fl != nil || st.coolingDown(now) {
		st.mu.Unlock()
		return nil
	}
	f := st.startLocked(now)
	stale := now >= snap.expires && !st.staleNotice
	if stale {
		st.staleNotice = true
	}
	lastErr := st.lastErr
	st.mu.Unlock()
	if stale {
		st.c.set.observer.StaleServed(StaleEvent{Issuer: st.cfg.id, Expired: st.c.base.Add(snap.expires), Stale: now - snap.expires, LastErr: lastErr})
	}
	return f
}

// missRefresh handles a kid absent from usable keys: answer from the
// negative cache, join a running fetch, start one if the refresh interval
// allows, or fail at once as rate limited. Only a fetch this miss started
// puts the kid in the negative cache: one it joined may have started before
// the issuer published the kid. ahead is the refresh ahead that this lookup's
// usable started, if any: the miss joins it even when it has finished already,
// so that the answer does not depend on the fetch's speed (finished, it would
// otherwise be refused by the interval that very refresh set: ErrRateLimited).
func (st *issuer) missRefresh(ctx context.Context, kid string, ahead *flight) (*Key, error) {
	if st.cfg.static != nil {
		return nil, &Error{Reason: ReasonUnknownKey, Issuer: st.cfg.id, Kid: kid}
	}
	now := st.c.now()
	st.mu.Lock()
	if snap := st.snap.Load(); snap != nil && now < snap.staleUntil {
		if key, ok := snap.key(kid); ok { // a fetch landed meanwhile
			st.mu.Unlock()
			return key, nil
		}
	}
	if st.negative != nil {
		if until, ok := st.negative.Get(kid); ok {
			// Expired, or added "later" than now: the clock stepped back.
			if now < until && now >= until-st.c.set.negativeTTL {
				st.mu.Unlock()
				return nil, &Error{Reason: ReasonUnknownKey, Issuer: st.cfg.id, Kid: kid}
			}
			st.negative.Remove(kid)
		}
	}
	f := st.fl
	own := f == nil // a joined fetch started before this miss
	if f == nil && ahead != nil {
		f, own = ahead, false // finished: joined all the same, as when it still runs
	}
	if f == nil && st.c.isClosed() {
		st.mu.Unlock()
		return nil, &Error{Reason: ReasonUnavailable, Issuer: st.cfg.id, Kid: kid, Err: ErrClosed}
	}
	if f == nil {
		if next := st.nextTry.Load(); st.coolingDown(now) {
			report := !st.rlReported
			st.rlReported = true
			st.mu.Unlock()
			if report {
				st.c.set.observer.RateLimited(RateLimitEvent{Issuer: st.cfg.id, Kid: truncate(kid, 64), RetryAfter: time.Duration(next - int64(now))})
			}
			return nil, &Error{Reason: ReasonRateLimited, Issuer: st.cfg.id, Kid: kid}
		}
		f = st.startLocked(now)
	}
	st.mu.Unlock()
	if err := st.wait(ctx, f, kid); err != nil {
		return nil, err
	}
	if key, ok := f.snap.key(kid); ok {
		return key, nil
	}
	if !own {
		// The joined fetch may predate the kid's publication: its answer
		// proves nothing, so the next miss past the refresh interval
		// fetches again.
		return nil, &Error{Reason: ReasonUnknownKey, Issuer: st.cfg.id, Kid: kid}
	}
	st.mu.Lock()
	if st.negative == nil {
		st.negative, _ = simplelru.NewLRU[string, time.Duration](st.c.set.maxNegative, nil)
	}
	st.negative.Add(kid, st.c.now()+st.c.set.negativeTTL)
	st.mu.Unlock()
	return nil, &Error{Reason: ReasonUnknownKey, Issuer: st.cfg.id, Kid: kid}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// startLocked starts a fetch. st.mu must be held.
func (st *issuer) startLocked(now time.Duration) *flight {
	f := &flight{done: make(chan struct{})}
	st.tried.Store(int64(now))
	st.nextTry.Store(int64(now + st.c.set.minRefresh))
	st.rlReported = false
	if !st.c.beginWork() {
		f.err = ErrClosed
		close(f.done)
		return f
	}
	st.fl = f
	go st.run(f)
	return f
}

func (st *issuer) run(f *flight) {
	defer st.c.wg.Done()
	snap, err := st.fetch(st.c.ctx, st.snap.Load())
	if st.cfg.retired.Load() {
		st.cfg.closeIdle()
	}
	st.mu.Lock()
	if err == nil {
		st.snap.Store(snap)
		st.epoch.Add(1) // published first, moved next (see Stamp)
		st.lastErr = nil
		st.staleNotice = false
		st.failures = 0
	} else {
		st.lastErr = err
		// A failed fetch is retried on its own backoff, not after
		// MinRefreshInterval: the interval exists to bound fetches of a
		// healthy issuer (kid floods), and holding a retry for it would keep
		// a cache that started during an outage empty for that long after
		// the issuer came back.
		st.failures++
		st.nextTry.Store(int64(st.c.now() + st.c.set.retryBackoff(st.failures)))
	}
	st.fl = nil
	st.mu.Unlock()
	f.snap, f.err = snap, err
	close(f.done)
}

// fetch runs discovery (when its result has expired) and the JWKS fetch,
// each under its own FetchTimeout, and builds the next snapshot.
func (st *issuer) fetch(ctx context.Context, prev *snapshot) (*snapshot, error) {
	uri, err := st.jwksURI(ctx)
	if err != nil {
		return nil, err
	}
	set := &st.c.set
	obs := set.observer
	start := st.c.now()
	fctx, cancel := context.WithTimeout(ctx, set.fetchTimeout)
	resp, err := st.cfg.jwksFetch.get(fctx, DocJWKS, uri, set.maxJWKS)
	cancel()
	ev := FetchEvent{Issuer: st.cfg.id, Document: DocJWKS, URL: uri}
	if err != nil {
		st.discURI = "" // the jwks_uri may have moved: discover again next time
		ev.Latency, ev.Err = st.c.now()-start, err
		var fe *FetchError
		if errors.As(err, &fe) {
			ev.Status = fe.Status
		}
		obs.Fetched(ev)
		return nil, err
	}
	ev.Status, ev.Bytes = resp.status, len(resp.body)
	keys, _, skipped, err := parseJWKS(resp.body)
	for _, sk := range skipped {
		obs.KeySkipped(SkipEvent{Issuer: st.cfg.id, Key: sk})
	}
	ev.Keys, ev.Skipped = len(keys), len(skipped)
	if err == nil && len(keys) == 0 {
		err = ErrNoUsableKeys
	}
	if err != nil {
		err = &FetchError{Document: DocJWKS, URL: uri, Status: resp.status, Err: err}
		ev.Latency, ev.Err = st.c.now()-start, err
		obs.Fetched(ev)
		return nil, err
	}
	ttl := freshness(resp.header, st.c.base.Add(start), set.minTTL, set.maxTTL)
	snap := newSnapshot(keys, prev)
	snap.setChain(resp.chain)
	snap.setTimes(start, ttl, set.maxStale)
	ev.Latency, ev.TTL = st.c.now()-start, ttl
	obs.Fetched(ev)
	return snap, nil
}

// jwksURI returns the cached jwks_uri or runs discovery.
func (st *issuer) jwksURI(ctx context.Context) (string, error) {
	set := &st.c.set
	start := st.c.now()
	if st.discURI != "" && start < st.discExpires && start >= st.discAt {
		return st.discURI, nil
	}
	url := st.cfg.discoveryURL
	fctx, cancel := context.WithTimeout(ctx, set.fetchTimeout)
	resp, err := st.cfg.fetch.get(fctx, DocDiscovery, url, set.maxDiscovery)
	cancel()
	ev := FetchEvent{Issuer: st.cfg.id, Document: DocDiscovery, URL: url}
	var uri string
	if err == nil {
		ev.Status, ev.Bytes = resp.status, len(resp.body)
		uri, err = ParseDiscovery(resp.body, st.cfg.id)
		if err != nil {
			err = &FetchError{Document: DocDiscovery, URL: url, Status: resp.status, Err: err}
		}
	} else {
		var fe *FetchError
		if errors.As(err, &fe) {
			ev.Status = fe.Status
		}
	}
	ev.Latency = st.c.now() - start
	if err != nil {
		ev.Err = err
		set.observer.Fetched(ev)
		return "", err
	}
	ttl := freshness(resp.header, st.c.base.Add(start), set.minTTL, set.maxTTL)
	ev.TTL = ttl
	set.observer.Fetched(ev)
	st.discURI, st.discAt, st.discExpires = uri, start, start+ttl
	return uri, nil
}
