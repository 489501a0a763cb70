package jwks

import (
	"context"
	"log/slog"
	"time"
)

// Observer receives the cache's events, for metrics and logs. Methods are
// called synchronously from the goroutine that caused the event (usually a
// fetch goroutine, never the hot path of a cache hit), so they must be quick
// and safe for concurrent use, and must not call back into the Cache (a
// fetch waits for its observer). Embed [ObserverFuncs] or implement all four.
//
// Values that come from unverified tokens (RateLimitEvent.Kid) are
// attacker-controlled; log them quoted.
type Observer interface {
	// Fetched reports every completed fetch, successful or not.
	Fetched(FetchEvent)
	// KeySkipped reports each unusable key in a fetched or static set.
	KeySkipped(SkipEvent)
	// RateLimited reports an unknown kid refused because a refresh is
	// cooling down; at most once per refresh window per issuer.
	RateLimited(RateLimitEvent)
	// StaleServed reports that an issuer's keys are being served past their
	// expiry: once when that starts, and again only after a successful
	// refresh ended it.
	StaleServed(StaleEvent)
}

// FetchEvent describes one HTTP fetch.
type FetchEvent struct {
	Issuer   string
	Document Document
	URL      string
	Status   int           // HTTP status, 0 if none was received
	Latency  time.Duration // measured with Options.Now
	Bytes    int           // body size
	Keys     int           // usable keys (JWKS only)
	Skipped  int           // skipped keys (JWKS only)
	TTL      time.Duration // freshness lifetime granted (successful fetches)
	Err      error         // nil on success
}

// SkipEvent describes one skipped key.
type SkipEvent struct {
	Issuer string
	Key    SkippedKey
}

// RateLimitEvent describes a refused refresh for an unknown kid.
type RateLimitEvent struct {
	Issuer     string
	Kid        string        // from an unverified token
	RetryAfter time.Duration // until the next refresh is allowed
}

// StaleEvent describes stale keys being served.
type StaleEvent struct {
	Issuer  string
	Expired time.Time     // when the keys expired
	Stale   time.Duration // how long past expiry
	LastErr error         // the last refresh error, if any
}

// ObserverFuncs is an Observer built from optional functions; nil fields
// drop their events.
type ObserverFuncs struct {
	OnFetched     func(FetchEvent)
	OnKeySkipped  func(SkipEvent)
	OnRateLimited func(RateLimitEvent)
	OnStaleServed func(StaleEvent)
}

var _ Observer = ObserverFuncs{}

// Fetched implements Observer.
func (o ObserverFuncs) Fetched(e FetchEvent) {
	if o.OnFetched != nil {
		o.OnFetched(e)
	}
}

// KeySkipped implements Observer.
func (o ObserverFuncs) KeySkipped(e SkipEvent) {
	if o.OnKeySkipped != nil {
		o.OnKeySkipped(e)
	}
}

// RateLimited implements Observer.
func (o ObserverFuncs) RateLimited(e RateLimitEvent) {
	if o.OnRateLimited != nil {
		o.OnRateLimited(e)
	}
}

// StaleServed implements Observer.
func (o ObserverFuncs) StaleServed(e StaleEvent) {
	if o.OnStaleServed != nil {
		o.OnStaleServed(e)
	}
}

type nopObserver = ObserverFuncs

// NewSlogObserver returns an Observer that logs to l: failed fetches,
// rate-limited refreshes and stale serving at Warn, skipped keys at Info,
// successful fetches at Debug. A nil l uses slog.Default().
func NewSlogObserver(l *slog.Logger) Observer {
	if l == nil {
		l = slog.Default()
	}
	return slogObserver{l: l}
}

type slogObserver struct{ l *slog.Logger }

func (o slogObserver) Fetched(e FetchEvent) {
	attrs := []slog.Attr{
		slog.String("issuer", e.Issuer),
		slog.String("document", string(e.Document)),
		slog.String("url", e.URL),
		slog.Int("status", e.Status),
		slog.Duration("latency", e.Latency),
		slog.Int("bytes", e.Bytes),
	}
	if e.Document == DocJWKS {
		attrs = append(attrs, slog.Int("keys", e.Keys), slog.Int("skipped", e.Skipped))
	}
	if e.Err != nil {
		o.l.LogAttrs(context.Background(), slog.LevelWarn, "jwks: fetch failed", append(attrs, slog.Any("error", e.Err))...)
		return
	}
	o.l.LogAttrs(context.Background(), slog.LevelDebug, "jwks: fetched", append(attrs, slog.Duration("ttl", e.TTL))...)
}

func (o slogObserver) KeySkipped(e SkipEvent) {
	attrs := []slog.Attr{
		slog.String("issuer", e.Issuer),
		slog.Int("index", e.Key.Index),
		slog.String("kid", e.Key.Kid),
		slog.String("kty", e.Key.Kty),
		slog.String("reason", e.Key.Reason.String()),
	}
	if e.Key.Err != nil {
		attrs = append(attrs, slog.Any("error", e.Key.Err))
	}
	o.l.LogAttrs(context.Background(), slog.LevelInfo, "jwks: key skipped", attrs...)
}

func (o slogObserver) RateLimited(e RateLimitEvent) {
	o.l.LogAttrs(context.Background(), slog.LevelWarn, "jwks: unknown kid, refresh rate limited",
		slog.String("issuer", e.Issuer), slog.String("kid", e.Kid), slog.Duration("retry_after", e.RetryAfter))
}

func (o slogObserver) StaleServed(e StaleEvent) {
	attrs := []slog.Attr{
		slog.String("issuer", e.Issuer),
		slog.Time("expired", e.Expired),
		slog.Duration("stale", e.Stale),
	}
	if e.LastErr != nil {
		attrs = append(attrs, slog.Any("error", e.LastErr))
	}
	o.l.LogAttrs(context.Background(), slog.LevelWarn, "jwks: serving stale keys", attrs...)
}
