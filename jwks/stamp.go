package jwks

import "time"

// retiredEpoch is set in an issuer state's epoch when the state leaves the cache: terminal,
// so that no Stamp of it is current again, whatever happens to the issuer afterwards.
const retiredEpoch = 1 << 63

// retire marks the state as gone from the cache. Called after the hot map without it is
// published.
func (st *issuer) retire() {
	for {
		e := st.epoch.Load()
		if e&retiredEpoch != 0 || st.epoch.CompareAndSwap(e, e|retiredEpoch) {
			return
		}
	}
}

// Stamp records which key set a cache served an issuer's keys from, so that a caller that
// derived something from those keys (a decision made with a token they verified) can tell
// later, cheaply, whether a lookup now would see the same keys. Take it with [Cache.Stamp]
// before the lookups whose results are to be remembered; [Stamp.Current] reports whether they
// still hold. The zero Stamp is never current. A Stamp is a small value; copy it freely.
type Stamp struct {
	st    *issuer
	snap  *snapshot
	epoch uint64
	// The snapshot's freshness window on the cache's clock (see Cache.now).
	fetched, refreshAt int64
}

// Stamp returns a stamp of the issuer's current key set, or false when the cache holds no
// keys for the issuer that it would serve now without a refresh (none cached, or a refresh
// due: past the refresh point, or the clock stepped back).
//
// Take it before the lookups (Key, Keys, CheckThumbprints) whose outcome it is to vouch for:
// while [Stamp.Current] holds, every such lookup made after Stamp returned saw this key set,
// and a lookup now would see it too. It makes no network request, takes no lock and does not
// allocate. Safe for concurrent use.
func (c *Cache) Stamp(issuer string) (Stamp, bool) {
	st := (*c.hot.Load())[issuer]
	if st == nil {
		return Stamp{}, false
	}
	// The epoch first: a swap publishes its snapshot and then moves the epoch, so a snapshot
	// read after an epoch belongs to it or to a later one (which moves the epoch again).
	e := st.epoch.Load()
	snap := st.snap.Load()
	if e&retiredEpoch != 0 || snap == nil || !snap.fresh(c.now()) {
		return Stamp{}, false
	}
	return Stamp{st: st, snap: snap, epoch: e, fetched: int64(snap.fetched), refreshAt: int64(snap.refreshAt)}, true
}

// Current reports whether the key set s recorded is still the one the cache serves for its
// issuer, and serves without a refresh: no snapshot swap, drop, Unregister, re-Register or
// eviction of the issuer since s was taken, and the cache's clock before the point where
// Key would start a background refresh (and not stepped back before the fetch). So it never
// keeps a caller from calling Key when a refresh is due, nor past the time the cache stops
// serving stale keys. Like a Key hit, it marks the issuer used for eviction. Lock-free, no
// allocation, safe for concurrent use.
func (s *Stamp) Current() bool {
	st := s.st
	if st == nil || st.epoch.Load() != s.epoch || st.snap.Load() != s.snap {
		return false
	}
	return s.currentOn(int64(st.c.now()))
}

// CurrentAt is Current for a caller that has just read the clock, which it
// saves reading it again: now is a reading of time.Now, taken just before
// the call. The cache uses it only when its own clock is the real one (no
// Options.Now) and now carries the monotonic clock reading time.Now gives;
// otherwise it reads its own clock, as Current does. A now older than the
// call by more than the caller's own work between the two would let the
// stamp look current a little past the refresh point; no longer than that.
func (s *Stamp) CurrentAt(now time.Time) bool {
	st := s.st
	if st == nil || st.epoch.Load() != s.epoch || st.snap.Load() != s.snap {
		return false
	}
	c := st.c
	if !c.realClock || now == now.Round(0) { // Round(0) strips the monotonic reading
		return s.currentOn(int64(c.now()))
	}
	return s.currentOn(int64(now.Sub(c.base)))
}

// currentOn is the rest of Current, at now on the cache's clock.
func (s *Stamp) currentOn(now int64) bool {
	if now >= s.refreshAt || now < s.fetched {
		return false
	}
	s.st.touch()
	return true
}

// Holds reports whether key is one of the keys of the key set s recorded (by identity, as
// Key returns them), so that a Key or Keys lookup made while s is current returns it. It does
// not tell whether s is current.
func (s *Stamp) Holds(key *Key) bool {
	return s.snap != nil && s.snap.has(key)
}
