package main

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/stsapi"
	"github.com/webidentity/webidentity/verifier"
)

// metrics holds the Prometheus collectors of serve, on a registry of its own (never the
// global one). It is fed by the library's observer hooks: verifier.Observer for decisions
// (by code and reason, and their latency), stsapi.Observer for every answer, and
// jwks.Observer for the key cache's events. A nil *metrics drops everything.
type metrics struct {
	reg *prometheus.Registry

	responses   *prometheus.CounterVec // every STS answer, by code
	decisions   *prometheus.CounterVec // verifier decisions, by code and reason
	latency     prometheus.Histogram   // verifier decision latency
	fetches     *prometheus.CounterVec // JWKS/discovery fetches, by issuer, document, result
	stale       *prometheus.CounterVec // stale keys served, by issuer
	rateLimited *prometheus.CounterVec // refreshes refused by the rate limit, by issuer
	skipped     *prometheus.CounterVec // unusable keys skipped, by issuer and reason
	ready       prometheus.Gauge
	draining    prometheus.Gauge
	reloads     *prometheus.CounterVec // configuration reloads (SIGHUP), by result
}

var (
	_ jwks.Observer     = (*metrics)(nil)
	_ verifier.Observer = (*metrics)(nil)
	_ stsapi.Observer   = (*metrics)(nil)
)

// codeOK labels an allowed decision and an answer with credentials.
const codeOK = "OK"

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webidentity_sts_responses_total",
			Help: "STS Query API answers by code (OK for issued credentials).",
		}, []string{"code"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webidentity_decisions_total",
			Help: "AssumeRoleWithWebIdentity decisions of the verifier by STS code (OK when allowed) and reason.",
		}, []string{"code", "reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "webidentity_decision_duration_seconds",
			Help:    "Time the verifier took to decide an AssumeRoleWithWebIdentity request.",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3, 250e-3, 1, 5},
		}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webidentity_jwks_fetches_total",
			Help: "Discovery and JWKS fetches by issuer, document and result (ok or error).",
		}, []string{"issuer", "document", "result"}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webidentity_jwks_stale_served_total",
			Help: "Times an issuer's keys were served past their expiry because refreshes failed.",
		}, []string{"issuer"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webidentity_jwks_refresh_rate_limited_total",
			Help: "Key refreshes for an unknown kid refused by the per-issuer rate limit.",
		}, []string{"issuer"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webidentity_jwks_keys_skipped_total",
			Help: "Unusable keys skipped in fetched or static key sets, by issuer and reason.",
		}, []string{"issuer", "reason"}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webidentity_ready",
			Help: "1 once every provider's keys have been fetched, else 0.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webidentity_config_reloads_total",
			Help: "Configuration reloads (SIGHUP) by result: ok, or error (the previous configuration stays).",
		}, []string{"result"}),
		draining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webidentity_draining",
			Help: "1 once shutdown began: /readyz answers 503 and connections close after each answer.",
		}),
	}
	m.reg.MustRegister(m.responses, m.decisions, m.latency, m.fetches, m.stale, m.rateLimited, m.skipped, m.ready, m.draining, m.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the registry in the Prometheus exposition format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Decided implements verifier.Observer: one decision, by STS code and reason (OK and no
// reason when allowed), and its latency. Both labels come from closed sets.
func (m *metrics) Decided(_ context.Context, e verifier.DecisionEvent) {
	if m == nil {
		return
	}
	code, reason := codeOK, ""
	if e.Code != "" {
		code, reason = string(e.Code), e.Reason.String()
	}
	m.decisions.WithLabelValues(code, reason).Inc()
	m.latency.Observe(e.Latency.Seconds())
}

// Responded implements stsapi.Observer: every answer, by code (OK with credentials).
func (m *metrics) Responded(_ context.Context, e stsapi.ResponseEvent) {
	if m == nil {
		return
	}
	code := e.Code
	if code == "" {
		code = codeOK
	}
	m.responses.WithLabelValues(code).Inc()
}

func (m *metrics) setReady(ready bool) {
	if m == nil {
		return
	}
	if ready {
		m.ready.Set(1)
	} else {
		m.ready.Set(0)
	}
}

// reloaded counts a configuration reload.
func (m *metrics) reloaded(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
	} else {
		m.reloads.WithLabelValues("error").Inc()
	}
}

func (m *metrics) setDraining(draining bool) {
	if m == nil {
		return
	}
	if draining {
		m.draining.Set(1)
	} else {
		m.draining.Set(0)
	}
}

// Fetched implements jwks.Observer. Issuers are registered ones only, so the label is bounded.
func (m *metrics) Fetched(e jwks.FetchEvent) {
	if m == nil {
		return
	}
	result := "ok"
	if e.Err != nil {
		result = "error"
	}
	m.fetches.WithLabelValues(e.Issuer, string(e.Document), result).Inc()
}

// KeySkipped implements jwks.Observer.
func (m *metrics) KeySkipped(e jwks.SkipEvent) {
	if m != nil {
		m.skipped.WithLabelValues(e.Issuer, e.Key.Reason.String()).Inc()
	}
}

// RateLimited implements jwks.Observer. The event's Kid is attacker-controlled and is not
// used as a label.
func (m *metrics) RateLimited(e jwks.RateLimitEvent) {
	if m != nil {
		m.rateLimited.WithLabelValues(e.Issuer).Inc()
	}
}

// StaleServed implements jwks.Observer.
func (m *metrics) StaleServed(e jwks.StaleEvent) {
	if m != nil {
		m.stale.WithLabelValues(e.Issuer).Inc()
	}
}

// observers fans jwks events out to several observers.
type observers []jwks.Observer

var _ jwks.Observer = observers(nil)

func (o observers) Fetched(e jwks.FetchEvent) {
	for _, x := range o {
		x.Fetched(e)
	}
}

func (o observers) KeySkipped(e jwks.SkipEvent) {
	for _, x := range o {
		x.KeySkipped(e)
	}
}

func (o observers) RateLimited(e jwks.RateLimitEvent) {
	for _, x := range o {
		x.RateLimited(e)
	}
}

func (o observers) StaleServed(e jwks.StaleEvent) {
	for _, x := range o {
		x.StaleServed(e)
	}
}
