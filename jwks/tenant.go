package jwks

import (
	"errors"
	"fmt"
)

// ErrNoTLSChain: the issuer's keys were not fetched over TLS (static keys), so a thumbprint
// pin cannot be checked against them; CheckThumbprints fails closed with it (and with
// ErrThumbprintMismatch).
var ErrNoTLSChain = errors.New("jwks: keys were not fetched over a verified TLS chain")

// CheckThumbprints reports whether key, which must be one of the issuer's current keys,
// arrived through a verified TLS chain that holds a certificate with one of the hex SHA-1
// thumbprints (case ignored, as IAM's ThumbprintList): the chain recorded when the JWKS fetch
// that produced the current key set connected to its host. It makes no network request and
// does not allocate.
//
// This is how many tenants registering one issuer, each with thumbprints of its own, share one
// fetch: the issuer is fetched unpinned (IssuerConfig.Thumbprints empty), every fetch records
// its chain, and each tenant's pins are checked against it when a token is verified. As with
// IssuerConfig.Thumbprints, only certificates of the verified chains count, never ones the
// server merely sent along.
//
// It returns nil on a match; an *Error matching ErrUnknownKey when key is not among the
// issuer's current keys (or the issuer has none cached); otherwise an error matching
// ErrThumbprintMismatch (and ErrNoTLSChain for static keys).
func (c *Cache) CheckThumbprints(issuer string, key *Key, thumbprints []string) error {
	var snap *snapshot
	if st := (*c.hot.Load())[issuer]; st != nil {
		snap = st.snap.Load()
	}
	if snap == nil || !snap.has(key) {
		return &Error{Reason: ReasonUnknownKey, Issuer: issuer, Err: errors.New("jwks: the key is not one of the issuer's current keys")}
	}
	if snap.chain == nil {
		return fmt.Errorf("jwks: issuer %q: %w", issuer, errors.Join(ErrThumbprintMismatch, ErrNoTLSChain))
	}
	for i := range snap.chain {
		for _, t := range thumbprints {
			if hexFold(&snap.chain[i], t) {
				return nil
			}
		}
	}
	return fmt.Errorf("jwks: issuer %q: %w", issuer, ErrThumbprintMismatch)
}

// hexFold reports whether t is lo, a lower-case hex spelling, in either case: hexEqual of the
// bytes lo spells (the snapshot spells them once: setChain).
func hexFold(lo *[40]byte, t string) bool {
	if len(t) != len(lo) {
		return false
	}
	for i, c := range lo {
		if d := t[i]; d != c && (d < 'A' || d > 'F' || d|0x20 != c) {
			return false
		}
	}
	return true
}

// Unregister removes issuers that Register (or Options.Issuers) added: their cached keys are
// dropped, the idle connections of their own transports are closed, and lookups fail with
// ErrUnknownIssuer (unless AllowAnyIssuer) as for an issuer never registered. It returns how
// many of them were registered. Each costs O(1), whatever the number of registered issuers. It
// makes no network request and is safe for concurrent use, also with lookups.
func (c *Cache) Unregister(issuers ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, issuer := range issuers {
		old := c.config(issuer)
		if old == nil {
			continue
		}
		n++
		if len(old.owned) > 0 {
			old.retired.Store(true)
			old.closeIdle()
			delete(c.owned, issuer)
		}
		c.registry.Delete(issuer)
		if _, ok := c.pinned[issuer]; ok {
			delete(c.pinned, issuer)
			c.evicted = append(c.evicted, issuer)
		} else if c.lru.Remove(issuer) {
			// lru.Remove appended it to c.evicted.
		}
	}
	if len(c.evicted) > 0 {
		c.publishLocked(nil)
	}
	return n
}
