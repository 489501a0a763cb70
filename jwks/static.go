package jwks

import (
	"context"
	"math"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Static serves a fixed key set for one issuer: offline verification,
// pinned keys, tests. It never touches the network and never expires. Its
// methods match [Cache]'s and are safe for concurrent use.
type Static struct {
	issuer  string
	snap    *snapshot
	skipped []SkippedKey
}

// NewStatic returns a Static serving set's usable keys for issuer. Keys
// that [ParseJWKS] would skip (symmetric, private, too small, wrong use,
// ambiguous kid, ...) are skipped here too; see [Static.Skipped]. A nil set
// serves no keys.
func NewStatic(issuer string, set jwk.Set) *Static {
	keys, skipped := usableKeys(set)
	return &Static{issuer: issuer, snap: staticSnapshot(keys), skipped: skipped}
}

// Key returns the key with the given kid. An issuer other than the one
// given to NewStatic fails with ErrUnknownIssuer, an absent kid with
// ErrUnknownKey.
func (s *Static) Key(_ context.Context, issuer, kid string) (jwk.Key, error) {
	if issuer != s.issuer {
		return nil, &Error{Reason: ReasonUnknownIssuer, Issuer: issuer}
	}
	if key, ok := s.snap.byKid[kid]; ok && kid != "" {
		return key, nil
	}
	return nil, &Error{Reason: ReasonUnknownKey, Issuer: issuer, Kid: kid}
}

// Keys returns every usable key, in set order. The slice is shared: do not
// modify it.
func (s *Static) Keys(_ context.Context, issuer string) ([]jwk.Key, error) {
	if issuer != s.issuer {
		return nil, &Error{Reason: ReasonUnknownIssuer, Issuer: issuer}
	}
	return s.snap.all, nil
}

// Issuer returns the issuer the keys belong to.
func (s *Static) Issuer() string { return s.issuer }

// Skipped returns the keys of the set that were not usable, with reasons.
func (s *Static) Skipped() []SkippedKey { return s.skipped }

// usableKeys applies the same rules as ParseJWKS to an already parsed set.
func usableKeys(set jwk.Set) ([]jwk.Key, []SkippedKey) {
	if set == nil {
		return nil, nil
	}
	type cand struct {
		key   jwk.Key
		index int
	}
	var (
		cands   []cand
		skipped []SkippedKey
	)
	type kidKty struct{ kid, kty string }
	count := map[kidKty]int{}
	for i := 0; i < set.Len(); i++ {
		key, ok := set.Key(i)
		if !ok {
			continue
		}
		kid, kty := key.KeyID(), key.KeyType().String()
		if reason, err := checkKey(key); reason != 0 {
			skipped = append(skipped, SkippedKey{Index: i, Kid: kid, Kty: kty, Reason: reason, Err: err})
			continue
		}
		cands = append(cands, cand{key, i})
		if kid != "" {
			count[kidKty{kid, kty}]++
		}
	}
	var keys []jwk.Key
	for _, c := range cands {
		kid, kty := c.key.KeyID(), c.key.KeyType().String()
		if kid != "" && count[kidKty{kid, kty}] > 1 {
			skipped = append(skipped, SkippedKey{Index: c.index, Kid: kid, Kty: kty, Reason: SkipDuplicateKid})
			continue
		}
		if len(keys) == MaxKeys {
			skipped = append(skipped, SkippedKey{Index: c.index, Kid: kid, Kty: kty, Reason: SkipTooMany})
			continue
		}
		keys = append(keys, c.key)
	}
	return keys, skipped
}

func staticSnapshot(keys []jwk.Key) *snapshot {
	s := newSnapshot(keys, nil)
	s.fetched = math.MinInt64 // fresh at any time, whatever the clock does
	s.refreshAt, s.expires, s.staleUntil = farFuture, farFuture, farFuture
	return s
}
