package stsapi

import (
	"context"
	"time"
)

// Observer receives one ResponseEvent per answer of the handler, protocol errors included,
// for metrics. The verifier's decisions (code, reason, latency) are reported by
// verifier.Options.Observer; this one sees what the caller was answered.
//
// Responded is called synchronously after the answer was written, with the request's ctx.
// Implementations must be safe for concurrent use and fast.
type Observer interface {
	Responded(ctx context.Context, e ResponseEvent)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e ResponseEvent)

var _ Observer = ObserverFunc(nil)

// Responded calls f(ctx, e).
func (f ObserverFunc) Responded(ctx context.Context, e ResponseEvent) { f(ctx, e) }

// ResponseEvent describes one answer. It carries no request content.
type ResponseEvent struct {
	// RequestID is the answer's request id (x-amzn-RequestId).
	RequestID string
	// Code is the error code answered (a verifier.Code or one of this package's Code
	// constants), or empty when credentials were issued.
	Code string
	// Reason says why, for an error: the verifier's verifier.Reason name, or one of this
	// package's Reason constants. Empty when credentials were issued.
	Reason string
	// Parameter names the request parameter a refusal is about ("DurationSeconds"), if any.
	// A caller-chosen name that is not plain ([A-Za-z0-9._-], at most 64 characters) is
	// clipped to 64 bytes and quoted as ASCII. It is never token content.
	Parameter string
	// Status is the HTTP status.
	Status int
	// Duration is the time from receiving the request to the end of the answer.
	Duration time.Duration
}
