package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// loadResult is what the load generator saw.
type loadResult struct {
	ok, refused, moved atomic.Int64 // complete answers, refused dials, workers told Connection: close
	mu                 sync.Mutex
	torn               []error // requests sent that got no complete answer
}

func (r *loadResult) tear(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.torn = append(r.torn, err)
}

// refusedDial reports whether err is a connection that failed before any request was
// written: the clean way for a server that stopped listening to say no.
func refusedDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// hammer sends AssumeRoleWithWebIdentity requests over keep-alive HTTP/1.1 connections from
// workers goroutines, as clients behind a load balancer do: each one goes on until an answer
// says Connection: close (it moves to another replica), its dial is refused, or stop is
// closed.
func hammer(base, token string, workers int, stop <-chan struct{}) (*loadResult, *sync.WaitGroup) {
	res := &loadResult{}
	tr := &http.Transport{MaxIdleConnsPerHost: workers, ForceAttemptHTTP2: false}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	form := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {testRoleARN},
		"RoleSessionName": {testSession}, "WebIdentityToken": {token},
	}.Encode()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(base, "application/x-www-form-urlencoded", strings.NewReader(form))
				if err != nil {
					if refusedDial(err) {
						res.refused.Add(1)
						return
					}
					res.tear(err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					res.tear(err)
				case resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "</AssumeRoleWithWebIdentityResponse>"):
					res.tear(errors.New("incomplete answer: " + resp.Status))
				default:
					res.ok.Add(1)
					if resp.Close {
						res.moved.Add(1)
						return
					}
				}
			}
		})
	}
	return res, &wg
}

// On SIGTERM (serve cancels the run context on it), the service drains under concurrent
// keep-alive load: /readyz answers 503 at once on both listeners, requests keep being served
// with Connection: close, then the listener closes. No request that was sent is left without
// a complete answer; dials after the drain are refused.
func TestServiceRunDrainsUnderLoad(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock})
	cfg, err := LoadConfig(healthyConfig(t, iss))
	require.NoError(t, err)
	logs := &syncBuffer{}
	svc, err := newService(cfg, serviceOptions{Now: fixedClock, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	require.NoError(t, err)
	t.Cleanup(svc.Close)

	public, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base, opsBase := "http://"+public.Addr().String(), "http://"+ops.Addr().String()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const drain = 2 * time.Second // ample for the probes below on a loaded machine
	done := make(chan error, 1)
	go func() { done <- svc.run(ctx, public, ops, drain) }()

	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	readyz := func(b string) int {
		resp, err := probe.Get(b + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Eventually(t, func() bool { return readyz(opsBase) == http.StatusOK }, 10*time.Second, 5*time.Millisecond, "%s", logs)

	stop := make(chan struct{})
	res, wg := hammer(base, iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{}), 16, stop)
	t.Cleanup(func() { close(stop); wg.Wait() })
	require.Eventually(t, func() bool { return res.ok.Load() >= 200 }, 20*time.Second, time.Millisecond)
	assert.Equal(t, 0.0, counter(scrape(t, opsBase), "webidentity_draining", nil), "draining gauge before SIGTERM")
	assert.Zero(t, res.moved.Load(), "Connection: close before the drain")

	cancel() // what SIGTERM does
	// Draining starts when the serving goroutine sees the cancellation: wait for it rather
	// than probing at once (seen to race under load).
	require.Eventually(t, func() bool { return readyz(opsBase) == http.StatusServiceUnavailable }, 5*time.Second, time.Millisecond, "ops /readyz while draining")
	assert.Equal(t, http.StatusServiceUnavailable, readyz(base), "public /readyz while draining")
	assert.Equal(t, 1.0, counter(scrape(t, opsBase), "webidentity_draining", nil), "draining gauge")
	resp, err := probe.Get(opsBase + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "liveness while draining")
	// A client that connects during the drain is still answered, and told to close.
	resp, err = http.Post(base, "application/x-www-form-urlencoded", strings.NewReader(url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {testRoleARN},
		"RoleSessionName": {testSession}, "WebIdentityToken": {iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})},
	}.Encode()))
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "new connection during the drain")
	assert.True(t, resp.Close, "Connection: close during the drain")

	select {
	case err := <-done:
		require.NoError(t, err, "%s", logs)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
	}
	wg.Wait() // every worker ends, moved away or refused

	res.mu.Lock()
	defer res.mu.Unlock()
	assert.Empty(t, res.torn, "requests without a complete answer")
	assert.Positive(t, res.moved.Load(), "workers answered during the drain and told to close")
	assert.Equal(t, int64(16), res.moved.Load()+res.refused.Load(), "every worker moved away or was refused")
	_, err = net.Dial("tcp", public.Addr().String())
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "dial after shutdown: %v", err)
	_, err = net.Dial("tcp", ops.Addr().String())
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "ops dial after shutdown: %v", err)
}
