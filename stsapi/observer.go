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
	// Status is the HTTP status.
	Status int
	// Duration is the time from receiving the request to the end of the answer.
	Duration time.Duration
}
