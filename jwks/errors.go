package jwks

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Callers branch on them with errors.Is; the errors this
// package returns carry detail (issuer, URL, HTTP status, cause) in the types
// [Error], [FetchError] and [DestinationError], reachable with errors.As.
var (
	// ErrUnknownKey: the issuer's current key set has no usable key with the
	// requested kid. The verifier maps it to InvalidIdentityToken.
	ErrUnknownKey = errors.New("jwks: unknown key")

	// ErrRateLimited: a kid was not found and the refresh that could have
	// found it was refused because the issuer's keys were fetched less than
	// Options.MinRefreshInterval ago (or, after a failed fetch, less than its
	// Options.RetryBackoff ago). Errors that match it also match
	// ErrUnknownKey.
	ErrRateLimited = errors.New("jwks: key refresh rate limited")

	// ErrIssuerUnavailable: no usable keys could be obtained for the issuer
	// (cold start failed, keys stale past Options.MaxStale, or a refresh for
	// an unknown kid failed). The cause is wrapped (see [FetchError]). The
	// verifier maps it to IDPCommunicationError.
	ErrIssuerUnavailable = errors.New("jwks: issuer unavailable")

	// ErrIssuerMismatch: the discovery document's "issuer" is not identical
	// to the configured issuer.
	ErrIssuerMismatch = errors.New("jwks: discovery issuer mismatch")

	// ErrTooLarge: a response body exceeded its size limit.
	ErrTooLarge = errors.New("jwks: response too large")

	// ErrRefusedDestination: a connection was refused because the resolved
	// address is loopback, private, link-local, unspecified or otherwise not
	// publicly routable (see Options.AllowPrivateAddresses).
	ErrRefusedDestination = errors.New("jwks: refused destination")

	// ErrUnknownIssuer: the issuer is neither registered nor allowed by
	// Options.AllowAnyIssuer, or is not a valid issuer URL.
	ErrUnknownIssuer = errors.New("jwks: unknown issuer")

	// ErrInsecureURL: a jwks_uri or redirect target is not an https URL, or
	// carries userinfo.
	ErrInsecureURL = errors.New("jwks: insecure URL")

	// ErrTooManyRedirects: a fetch followed more than 3 redirects.
	ErrTooManyRedirects = errors.New("jwks: too many redirects")

	// ErrInvalidDocument: a discovery or JWKS document is not valid JSON of
	// the expected shape.
	ErrInvalidDocument = errors.New("jwks: invalid document")

	// ErrNoUsableKeys: a JWKS document was fetched but contained no usable
	// key. The cache treats this as a failed fetch and keeps serving the
	// previous keys (up to MaxStale).
	ErrNoUsableKeys = errors.New("jwks: no usable keys")

	// ErrThumbprintMismatch: no certificate in the served TLS chain matched
	// the issuer's pinned thumbprints.
	ErrThumbprintMismatch = errors.New("jwks: certificate thumbprint mismatch")

	// ErrStatus: the server answered with a non-2xx status; FetchError.Status
	// holds it.
	ErrStatus = errors.New("jwks: unexpected HTTP status")

	// ErrClosed: the cache was closed; no more fetches are made.
	ErrClosed = errors.New("jwks: cache closed")
)

// Reason says why a key lookup failed. Each reason matches one or more
// sentinel errors with errors.Is (see [Error.Is]).
type Reason int

const (
	// ReasonUnknownKey: no key with that kid, confirmed against a fetch
	// (or the negative cache). Matches ErrUnknownKey.
	ReasonUnknownKey Reason = iota + 1
	// ReasonRateLimited: no key with that kid, and a refresh is cooling
	// down. Matches ErrUnknownKey and ErrRateLimited.
	ReasonRateLimited
	// ReasonUnavailable: no usable keys. Matches ErrIssuerUnavailable.
	ReasonUnavailable
	// ReasonUnknownIssuer: the issuer may not be looked up. Matches
	// ErrUnknownIssuer.
	ReasonUnknownIssuer
)

var reasonNames = [...]string{
	ReasonUnknownKey:    "unknown key",
	ReasonRateLimited:   "unknown key, refresh rate limited",
	ReasonUnavailable:   "issuer unavailable",
	ReasonUnknownIssuer: "unknown issuer",
}

// String returns a short description of the reason.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Error is the error returned by [Cache.Key], [Cache.Keys], [Cache.Prefetch]
// and [Static] lookups.
//
// Kid is the kid that was asked for; it usually comes from an unverified
// token, so it is kept out of Error() and is meant for logs only.
type Error struct {
	Reason Reason
	Issuer string
	Kid    string
	Err    error // the cause, e.g. a *FetchError; may be nil
}

// Error implements error. It does not include Kid, and quotes the issuer
// (cut to 256 bytes: for an unknown issuer it is the token's unverified
// "iss").
func (e *Error) Error() string {
	s := "jwks: " + e.Reason.String() + " for issuer " + strconv.Quote(truncate(e.Issuer, 256))
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether the error's reason matches target, one of the sentinel
// errors. Causes are matched through Unwrap.
func (e *Error) Is(target error) bool {
	switch e.Reason {
	case ReasonUnknownKey:
		return target == ErrUnknownKey
	case ReasonRateLimited:
		return target == ErrUnknownKey || target == ErrRateLimited
	case ReasonUnavailable:
		return target == ErrIssuerUnavailable
	case ReasonUnknownIssuer:
		return target == ErrUnknownIssuer
	}
	return false
}

// Document names which document a fetch was for.
type Document string

// The documents the cache fetches.
const (
	DocDiscovery Document = "discovery"
	DocJWKS      Document = "jwks"
)

// FetchError describes a failed discovery or JWKS fetch. Err is the cause:
// a context error on timeout, ErrTooLarge, ErrIssuerMismatch, ErrInsecureURL,
// ErrRefusedDestination (inside transport errors), ErrInvalidDocument, ...
type FetchError struct {
	Document Document
	URL      string
	Status   int // HTTP status when a response was received, else 0
	Err      error
}

// Error implements error.
func (e *FetchError) Error() string {
	s := "jwks: fetch " + string(e.Document) + " " + e.URL
	if e.Status != 0 {
		s += ": status " + strconv.Itoa(e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// DestinationError reports a dial refused by the destination check.
type DestinationError struct {
	Address string // the resolved "ip:port" that was refused
}

// Error implements error.
func (e *DestinationError) Error() string {
	return fmt.Sprintf("jwks: refused to connect to non-public address %s", e.Address)
}

// Is matches ErrRefusedDestination.
func (e *DestinationError) Is(target error) bool { return target == ErrRefusedDestination }
