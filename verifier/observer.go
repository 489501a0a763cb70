package verifier

import (
	"context"
	"strconv"
	"time"
)

// Observer receives one DecisionEvent per call of Verify and AssumeRoleWithWebIdentity, for
// metrics and tracing. Set it in Options.Observer; without one nothing is measured and the hot
// path pays nothing.
//
// Decided is called synchronously on the caller's goroutine, after the decision and before
// the call returns, with the caller's ctx (for trace spans; do not keep it). Implementations
// must be safe for concurrent use and fast: their time is the caller's. Events carry codes,
// reasons and the configured provider URL, never the token nor any claim value, so they are
// safe to export as metric labels.
type Observer interface {
	Decided(ctx context.Context, e DecisionEvent)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e DecisionEvent)

var _ Observer = ObserverFunc(nil)

// Decided calls f(ctx, e).
func (f ObserverFunc) Decided(ctx context.Context, e DecisionEvent) { f(ctx, e) }

// Operation names the call a DecisionEvent reports.
type Operation uint8

// The observed operations.
const (
	// OpVerify is a call of Verify.
	OpVerify Operation = iota + 1
	// OpAssumeRoleWithWebIdentity is a call of AssumeRoleWithWebIdentity.
	OpAssumeRoleWithWebIdentity
)

// String returns "Verify" or "AssumeRoleWithWebIdentity".
func (o Operation) String() string {
	switch o {
	case OpVerify:
		return "Verify"
	case OpAssumeRoleWithWebIdentity:
		return "AssumeRoleWithWebIdentity"
	}
	return "Operation(" + strconv.Itoa(int(o)) + ")"
}

// DecisionEvent is the outcome of one Verify or AssumeRoleWithWebIdentity call. Callers may
// construct one (for tests of their observers).
type DecisionEvent struct {
	// Op is the call.
	Op Operation
	// Code and Reason are the refusal's (as in *Error); both are zero when the token was
	// valid (Verify) or the request allowed (AssumeRoleWithWebIdentity).
	Code   Code
	Reason Reason
	// Provider is the URL of the registered provider the token was routed to, as configured
	// in Options.Providers; empty when the token was refused before it was routed (malformed,
	// unknown issuer) or not looked at (invalid request parameters). It is set for refusals
	// after routing too (a bad signature, say), so it names the provider a token claimed,
	// not one it proved.
	Provider string
	// Latency is the time the call took, on the monotonic clock (not Options.Now).
	Latency time.Duration
	// CacheHit reports that the token was found in the verified-token cache, so that no
	// signature was checked.
	CacheHit bool
}

// observe reports a finished call to the observer, which must be set. vt is nil when the
// call was refused before its token was looked at.
func (v *Verifier) observe(ctx context.Context, op Operation, start time.Time, vt *verified, e *Error) {
	provider, hit := "", false
	if vt != nil {
		hit = vt.cacheHit
		if vt.route.p != nil {
			provider = vt.route.p.URL
		}
	}
	v.observed(ctx, op, start, provider, hit, e)
}

// observed reports a finished call to the observer, which must be set.
func (v *Verifier) observed(ctx context.Context, op Operation, start time.Time, provider string, cacheHit bool, e *Error) {
	ev := DecisionEvent{Op: op, Latency: time.Since(start), Provider: provider, CacheHit: cacheHit}
	if e != nil {
		ev.Code, ev.Reason = e.Code, e.Reason
	}
	v.observer.Decided(ctx, ev)
}
