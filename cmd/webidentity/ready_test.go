package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// Issue 9 item 12: with the default MinRefreshInterval (30 s), serve becomes
// ready as soon as an issuer that was down at start is back, not 30 s later.
// The cache's clock is injected: the issuer fails at t=0, is back at t=1s,
// and at t=2s the retry loop's next Prefetch fetches and succeeds. While the
// clock stands still the loop's fast retries (1 ms) cause no fetch: the
// cache's own backoff fails them at once.
func TestServeReadyShortlyAfterIssuerRecovers(t *testing.T) {
	clk := newClock(testNow)
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: clk.Now})
	iss.SetFault(testissuer.Discovery, testissuer.Fault{Status: http.StatusServiceUnavailable})
	cfg, err := LoadConfig(healthyConfig(t, iss))
	require.NoError(t, err)
	require.Zero(t, cfg.Keys.MinRefreshInterval, "the default interval applies")
	svc, err := newService(cfg, serviceOptions{Now: clk.Now, PrefetchRetry: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	base := newHTTPTestServer(t, svc.Handler())
	ops := newHTTPTestServer(t, svc.OpsHandler())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.prefetchLoop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// t=0: the first prefetch reached the issuer and its failure was recorded (the metric counts
	// a fetch when it has ended: a fetch still in flight when the clock moves would record its
	// failure at t=2s and push the retry past the end of the test).
	require.Eventually(t, func() bool {
		return counter(scrape(t, ops), "webidentity_jwks_fetches_total", map[string]string{"document": "discovery", "result": "error"}) >= 1
	}, 10*time.Second, time.Millisecond)
	code, _ := get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, 1, iss.Requests(testissuer.Discovery), "retries inside the backoff make no request")

	// The issuer is back by t=1s (cleared before the clock moves, so that no retry can see it
	// down in between); at t=2s the next retry fetches.
	iss.ClearFaults()
	clk.Advance(2 * time.Second)
	require.Eventually(t, func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusOK
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, 2, iss.Requests(testissuer.Discovery))
	assert.Equal(t, 1, iss.Requests(testissuer.JWKS))
}
