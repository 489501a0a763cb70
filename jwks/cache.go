package jwks

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache holds the signing keys of many issuers, fetched through OpenID
// Connect discovery and kept fresh. All methods are safe for concurrent use.
//
// Layout: registered issuers' states live in a map of their own (never
// evicted); the states of issuers only AllowAnyIssuer lets through live in a
// golang-lru/v2 LRU bounded by MaxIssuers; both are guarded by a mutex taken
// only when an issuer is added or dropped. In front of it sits a read-only map issuer → state behind an
// atomic.Pointer, replaced (copy on write) when the LRU changes; each state
// holds its immutable key snapshot behind another atomic.Pointer. A cache
// hit is two atomic loads, two map lookups and a clock read: no lock, no
// allocation. Since hits do not touch the LRU, recency is tracked with a
// per-issuer "used" bit that eviction honours (second chance).
type Cache struct {
	set       settings
	base      time.Time       // Cache.now counts from here
	realClock bool            // Options.Now was nil: use the monotonic clock
	transport *http.Transport // owned transport, nil if the caller's RoundTripper is used as is
	fetch     *fetcher        // shared by unpinned issuers

	hot atomic.Pointer[map[string]*issuer]
	// registry holds the registered issuers' configurations (string -> *issuerConfig). A
	// sync.Map rather than a copied map: registering or dropping one issuer costs O(1), not
	// O(registered issuers), so a registry of many tenants' issuers registers in linear time.
	// Written under mu.
	registry sync.Map

	mu  sync.Mutex // guards lru, pinned, writes to hot and registry, owned
	lru *simplelru.LRU[string, *issuer]
	// pinned holds the states of registered issuers, which MaxIssuers does not evict: their
	// number is the registrar's (an iam.Registry's issuers, a configuration), and evicting one
	// would drop the keys a tenant is served from while its issuer is down. The LRU bounds the
	// issuers that only AllowAnyIssuer lets through.
	pinned  map[string]*issuer
	evicted []string
	owned   map[string][]*http.Transport // issuer → its own transports (CAPEM, pins)

	ctx    context.Context // cancelled by Close; fetches run on it
	cancel context.CancelFunc
	life   sync.RWMutex // guards closed against wg.Add
	closed bool
	wg     sync.WaitGroup
}

// NewCache is [New] for options known to be valid: it panics if New would
// return an error, like regexp.MustCompile. The zero Options are valid.
func NewCache(opts Options) *Cache {
	c, err := New(opts)
	if err != nil {
		panic(err)
	}
	return c
}

// New validates opts and returns a cache. It makes no network requests;
// use [Cache.Prefetch] to load keys before serving.
func New(opts Options) (*Cache, error) {
	set, err := opts.settings()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	rt, owned, err := buildTransport(opts.HTTPClient, set.allowPrivate, ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	c := &Cache{
		ctx:       ctx,
		cancel:    cancel,
		set:       set,
		base:      set.now(),
		realClock: opts.Now == nil,
		transport: owned,
		fetch:     &fetcher{client: newClient(rt), userAgent: set.userAgent},
		owned:     map[string][]*http.Transport{},
	}
	c.lru, err = simplelru.NewLRU(set.maxIssuers, func(id string, _ *issuer) {
		c.evicted = append(c.evicted, id)
	})
	if err != nil {
		cancel()
		return nil, err
	}
	empty := map[string]*issuer{}
	c.hot.Store(&empty)
	c.pinned = map[string]*issuer{}
	for _, ic := range opts.Issuers {
		if err := c.Register(ic); err != nil {
			c.cancel()
			return nil, err
		}
	}
	return c, nil
}

// Register adds an issuer (or replaces its settings, dropping its cached
// keys and closing the idle connections of its previous own transports).
// Only registered issuers are fetched unless Options.AllowAnyIssuer is set.
// Static keys (IssuerConfig.Keys) are checked here (*KeyError), and so are
// CAPEM and Thumbprints. Register makes no network request and is safe for
// concurrent use, also with lookups.
func (c *Cache) Register(ic IssuerConfig) error {
	if err := checkIssuer(ic.Issuer); err != nil {
		return err
	}
	cfg := &issuerConfig{id: ic.Issuer, discoveryURL: ic.DiscoveryURL, fetch: c.fetch, jwksFetch: c.fetch}
	if cfg.discoveryURL == "" {
		cfg.discoveryURL = DiscoveryURL(ic.Issuer)
	} else if err := checkFetchURL(cfg.discoveryURL); err != nil {
		return fmt.Errorf("jwks: discovery URL for %q: %w", ic.Issuer, err)
	}
	pins, err := parseThumbprints(ic.Thumbprints)
	if err != nil {
		return err
	}
	var roots *x509.CertPool
	if ic.CAPEM != nil {
		if roots, err = parseCAPEM(ic.CAPEM); err != nil {
			return fmt.Errorf("jwks: CAPEM for %q: %w", ic.Issuer, err)
		}
	}
	if len(ic.Keys) > 0 {
		if err := checkStatic(ic.Keys); err != nil {
			return fmt.Errorf("jwks: static keys for %q: %w", ic.Issuer, err)
		}
		cfg.static = staticSnapshot(ic.Keys)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg.static == nil && (pins != nil || roots != nil) {
		if c.transport == nil {
			return errors.New("jwks: thumbprint pinning and CAPEM need an *http.Transport (see Options.HTTPClient)")
		}
		base := c.transport
		if roots != nil {
			base = rootsTransport(c.transport, roots)
			cfg.owned = append(cfg.owned, base)
			cfg.fetch = &fetcher{client: newClient(base), userAgent: c.set.userAgent}
			cfg.jwksFetch = cfg.fetch
		}
		if pins != nil {
			p := pinnedTransport(base, pins)
			cfg.owned = append(cfg.owned, p)
			cfg.jwksFetch = &fetcher{client: newClient(p), userAgent: c.set.userAgent}
		}
	}
	if old := c.config(ic.Issuer); old != nil && len(old.owned) > 0 {
		// A fetch still running on them closes its connections when done.
		old.retired.Store(true)
		old.closeIdle()
		delete(c.owned, ic.Issuer)
	}
	if len(cfg.owned) > 0 {
		c.owned[ic.Issuer] = cfg.owned
	}
	c.registry.Store(ic.Issuer, cfg)
	c.dropStateLocked(ic.Issuer)
	return nil
}

// config returns the registered configuration of issuer, or nil.
func (c *Cache) config(issuer string) *issuerConfig {
	if v, ok := c.registry.Load(issuer); ok {
		return v.(*issuerConfig)
	}
	return nil
}

// dropStateLocked forgets the issuer's state (its keys), pinned or in the LRU. c.mu is held.
func (c *Cache) dropStateLocked(issuer string) {
	if _, ok := c.pinned[issuer]; ok {
		delete(c.pinned, issuer)
		c.evicted = append(c.evicted, issuer)
		c.publishLocked(nil)
		return
	}
	if c.lru.Remove(issuer) {
		c.publishLocked(nil)
	}
}

// Registered reports whether issuer was registered (through Options.Issuers or Register). An
// issuer that only Options.AllowAnyIssuer lets through is not registered. It does no I/O and
// is safe for concurrent use.
func (c *Cache) Registered(issuer string) bool {
	return c.config(issuer) != nil
}

// Key returns the issuer's key with the given kid.
//
// On a hit it makes no network request, takes no lock and allocates
// nothing. Otherwise: an issuer without usable keys (cold start, or stale past
// MaxStale) is fetched, concurrent callers sharing one fetch, each waiting
// only as long as its own ctx allows; an unknown kid triggers one refresh at
// most every MinRefreshInterval per issuer (whatever the Cache-Control said;
// after a failed fetch, once the RetryBackoff has passed), and fails at once
// with an error matching both ErrUnknownKey and ErrRateLimited while that
// interval runs. Kids confirmed absent by a fetch
// their own miss started are remembered for NegativeTTL (a kid missing from
// a fetch it merely joined is not: that fetch may predate the kid). An empty kid is never found: use [Cache.Keys]
// for tokens without one. Keys past expiry keep being served, while a
// background refresh runs, until MaxStale past expiry.
//
// Errors are *Error: ErrUnknownKey, ErrRateLimited, ErrIssuerUnavailable
// (with the cause, e.g. a *FetchError) or ErrUnknownIssuer. Only
// registered issuers are fetched, unless Options.AllowAnyIssuer is set.
//
// Identity: while a key stays in the issuer's set with the same kid,
// public material (RFC 7638 thumbprint), alg and use, refreshes keep
// returning the same *Key, so callers may cache derived data by
// key identity. Key does not check the key
// against the token's alg; the caller does. When one kid names keys of
// different types (RSA and EC, say), Key returns the first in document order
// and Keys lists all of them.
//
// Key is safe for concurrent use.
func (c *Cache) Key(ctx context.Context, issuer, kid string) (*Key, error) {
	if key := c.cachedKey(issuer, kid); key != nil {
		return key, nil
	}
	return c.keySlow(ctx, issuer, kid)
}

// CachedKey returns the issuer's key with the given kid when Key would return it from the
// cache as it is, and nil, false when Key would have to fetch, wait or fail (then call Key).
// It makes no network request, allocates nothing and keeps nothing of kid, so kid may be a
// view of scratch memory; like Key, it takes no lock but to start a background refresh of keys
// past their refresh point. It is safe for concurrent use.
func (c *Cache) CachedKey(issuer string, kid []byte) (*Key, bool) {
	if len(kid) == 0 {
		return nil, false
	}
	key := c.cachedKey(issuer, unsafe.String(&kid[0], len(kid)))
	return key, key != nil
}

// cachedKey is Key's hit: the key when the issuer's keys are cached and may be served now.
// It keeps nothing of kid.
func (c *Cache) cachedKey(issuer, kid string) *Key {
	if st := (*c.hot.Load())[issuer]; st != nil {
		if snap := st.snap.Load(); snap != nil {
			if key, ok := snap.key(kid); ok {
				return c.serve(st, snap, key)
			}
		}
	}
	return nil
}

// serve is cachedKey's end, once the issuer's snapshot holds key for the kid: key when the
// snapshot may be served now (marking the issuer used, and starting a background refresh past
// the refresh point), else nil.
func (c *Cache) serve(st *issuer, snap *snapshot, key *Key) *Key {
	now := c.now()
	if snap.fresh(now) {
		st.touch()
		return key
	}
	if now < snap.staleUntil {
		st.touch()
		st.refreshAhead(now, snap)
		return key
	}
	return nil
}

func (c *Cache) keySlow(ctx context.Context, issuer, kid string) (*Key, error) {
	st, err := c.state(issuer)
	if err != nil {
		return nil, err
	}
	st.touch()
	if kid == "" {
		return nil, &Error{Reason: ReasonUnknownKey, Issuer: issuer, Err: errors.New("jwks: empty kid")}
	}
	snap, ahead, err := st.usable(ctx)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Kid = kid
		}
		return nil, err
	}
	if key, ok := snap.key(kid); ok {
		return key, nil
	}
	return st.missRefresh(ctx, kid, ahead)
}

// Keys returns every usable key of the issuer, in document order, for tokens
// without a kid. It fetches like [Cache.Key] does when the issuer has no
// usable keys. The returned slice is shared: do not modify it. Safe for
// concurrent use.
func (c *Cache) Keys(ctx context.Context, issuer string) ([]*Key, error) {
	if st := (*c.hot.Load())[issuer]; st != nil {
		if snap := st.snap.Load(); snap != nil {
			if snap.fresh(c.now()) {
				st.touch()
				return snap.all, nil
			}
		}
	}
	st, err := c.state(issuer)
	if err != nil {
		return nil, err
	}
	st.touch()
	snap, _, err := st.usable(ctx)
	if err != nil {
		return nil, err
	}
	return snap.all, nil
}

// Prefetch loads the keys of the given issuers, or of every registered issuer
// when none are given, concurrently, and waits until each has usable keys or
// failed. Issuers with servable keys are not waited for (keys past their
// refresh point get a background refresh, as on a lookup). It returns the
// failures joined (errors.Join of *Error). Use it for readiness checks. Safe
// for concurrent use.
func (c *Cache) Prefetch(ctx context.Context, issuers ...string) error {
	if len(issuers) == 0 {
		c.registry.Range(func(k, _ any) bool {
			issuers = append(issuers, k.(string))
			return true
		})
	}
	errs := make([]error, len(issuers))
	var wg sync.WaitGroup
	for i, id := range issuers {
		wg.Go(func() {
			_, errs[i] = c.Keys(ctx, id)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// state returns the issuer's state, creating it for registered issuers (or
// any valid issuer under AllowAnyIssuer).
func (c *Cache) state(issuer string) (*issuer, error) {
	if st := (*c.hot.Load())[issuer]; st != nil {
		return st, nil
	}
	if c.config(issuer) == nil {
		if !c.set.allowAnyIssuer {
			return nil, &Error{Reason: ReasonUnknownIssuer, Issuer: issuer}
		}
		if err := checkIssuer(issuer); err != nil {
			return nil, &Error{Reason: ReasonUnknownIssuer, Issuer: issuer, Err: err}
		}
	}
	return c.stateFor(issuer)
}

// stateFor returns the issuer's state, pinned or from the LRU, or adds a new one. The
// registry is read under c.mu, so that a Register or Unregister that ran since the caller
// looked wins: a lookup racing Unregister cannot bring the issuer's state back (it is refused,
// unless AllowAnyIssuer), and one racing Register builds the state from the new settings.
func (c *Cache) stateFor(issuer string) (*issuer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pinned[issuer]; ok {
		return st, nil
	}
	if st, ok := c.lru.Get(issuer); ok {
		return st, nil
	}
	if cur := c.config(issuer); cur != nil {
		// Registered: pinned, never evicted by MaxIssuers.
		st := newIssuer(c, cur)
		c.pinned[issuer] = st
		c.publishLocked(st)
		return st, nil
	}
	if !c.set.allowAnyIssuer {
		return nil, &Error{Reason: ReasonUnknownIssuer, Issuer: issuer}
	}
	// Not registered (any more, perhaps): an issuer AllowAnyIssuer lets through, with the
	// default settings.
	cfg := &issuerConfig{id: issuer, discoveryURL: DiscoveryURL(issuer), fetch: c.fetch, jwksFetch: c.fetch}
	// Second chance: move recently hit issuers to the front before the
	// LRU evicts its oldest entry.
	for i := 0; i < 8 && c.lru.Len() >= c.set.maxIssuers; i++ {
		id, old, _ := c.lru.GetOldest()
		if !old.used.Swap(false) {
			break
		}
		c.lru.Get(id)
	}
	st := newIssuer(c, cfg)
	c.lru.Add(issuer, st)
	c.publishLocked(st)
	return st, nil
}

// publishLocked replaces the hot map after LRU changes: removes evicted
// issuers, adds st (if non-nil). c.mu must be held.
func (c *Cache) publishLocked(st *issuer) {
	next := make(map[string]*issuer, c.lru.Len()+len(c.pinned))
	for id, s := range *c.hot.Load() {
		next[id] = s
	}
	var gone []*issuer
	for _, id := range c.evicted {
		if old := next[id]; old != nil {
			gone = append(gone, old)
			delete(next, id)
		}
	}
	c.evicted = c.evicted[:0]
	if st != nil {
		next[st.cfg.id] = st
	}
	// Entries removed by Register (lru.Remove) also pass through evicted.
	c.hot.Store(&next)
	// Published first, retired next: a Stamp of a state that left the cache is never current
	// again (see Stamp).
	for _, old := range gone {
		if old != st {
			old.retire()
		}
	}
}

// now returns the current time as the duration since c.base. With the
// default clock it reads only the monotonic clock (time.Since), which costs
// half of time.Now on the hot path; with Options.Now it asks that clock.
func (c *Cache) now() time.Duration {
	if c.realClock {
		return time.Since(c.base)
	}
	return c.set.now().Sub(c.base)
}

// beginWork registers a background goroutine unless the cache is closed.
func (c *Cache) beginWork() bool {
	c.life.RLock()
	defer c.life.RUnlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

func (c *Cache) isClosed() bool {
	c.life.RLock()
	defer c.life.RUnlock()
	return c.closed
}

// Close stops all background work: running fetches are cancelled and waited
// for, idle connections of the cache's own transports are closed, and no
// goroutine started by the cache outlives it. Keys already cached may still
// be returned afterwards, but nothing is fetched: lookups that need a fetch
// fail with ErrIssuerUnavailable wrapping ErrClosed. Close is idempotent,
// safe to call concurrently with lookups, and always returns nil.
func (c *Cache) Close() error {
	c.life.Lock()
	if c.closed {
		c.life.Unlock()
		return nil
	}
	c.closed = true
	c.life.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
	for _, ts := range c.owned {
		for _, t := range ts {
			t.CloseIdleConnections()
		}
	}
	return nil
}
