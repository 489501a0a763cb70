package jwks

import (
	"context"
	"math"
)

// Static serves fixed keys for one issuer: offline verification, pinned keys, tests. It never
// touches the network and never expires. Its methods match [Cache]'s and are safe for
// concurrent use.
type Static struct {
	issuer string
	snap   *snapshot
}

// NewStatic returns a Static serving keys for issuer. Build the keys with [ParseJWKS] (a JWKS
// document), [ParsePEM] (PEM public keys or certificates) or [NewKey] (a crypto.PublicKey).
// The issuer must be a valid issuer identifier (ErrUnknownIssuer otherwise); a nil key, two
// keys with the same kid and key type (ambiguous: SkipDuplicateKid) or more than MaxKeys keys
// (SkipTooMany) fail with a *KeyError. No keys is allowed and serves none.
func NewStatic(issuer string, keys ...*Key) (*Static, error) {
	if err := checkIssuer(issuer); err != nil {
		return nil, err
	}
	if err := checkStatic(keys); err != nil {
		return nil, err
	}
	return &Static{issuer: issuer, snap: staticSnapshot(keys)}, nil
}

// MustStatic is [NewStatic] that panics on error, for keys known to be valid (tests,
// examples), like regexp.MustCompile.
func MustStatic(issuer string, keys ...*Key) *Static {
	s, err := NewStatic(issuer, keys...)
	if err != nil {
		panic(err)
	}
	return s
}

// Key returns the key with the given kid. An issuer other than the one given to NewStatic
// fails with ErrUnknownIssuer, an absent kid with ErrUnknownKey. It always returns the same
// *Key for a kid.
func (s *Static) Key(_ context.Context, issuer, kid string) (*Key, error) {
	if issuer != s.issuer {
		return nil, &Error{Reason: ReasonUnknownIssuer, Issuer: issuer}
	}
	if key, ok := s.snap.key(kid); ok && kid != "" {
		return key, nil
	}
	return nil, &Error{Reason: ReasonUnknownKey, Issuer: issuer, Kid: kid}
}

// Keys returns every key, in the order given to NewStatic. The slice is shared: do not modify
// it.
func (s *Static) Keys(_ context.Context, issuer string) ([]*Key, error) {
	if issuer != s.issuer {
		return nil, &Error{Reason: ReasonUnknownIssuer, Issuer: issuer}
	}
	return s.snap.all, nil
}

// Issuer returns the issuer the keys belong to.
func (s *Static) Issuer() string { return s.issuer }

func staticSnapshot(keys []*Key) *snapshot {
	s := newSnapshot(keys, nil)
	s.fetched = math.MinInt64 // fresh at any time, whatever the clock does
	s.refreshAt, s.expires, s.staleUntil = farFuture, farFuture, farFuture
	return s
}
