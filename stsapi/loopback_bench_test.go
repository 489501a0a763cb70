package stsapi

// The STS endpoint against net/http alone, over a real loopback listener: what the handler
// costs beyond HTTP itself.
//
//	go test -run '^$' -bench Loopback -benchmem -count 10 ./stsapi > loopback.txt
//	benchstat -col /server loopback.txt   # per-server columns, stsapi against nethttp
//
// BenchmarkLoopback runs the servers one after another (ns/op, cpu-ns/op, allocations of
// client and server together, since both run in this process); benchstat -col /server puts
// them side by side. BenchmarkLoopbackRatio interleaves nethttp and stsapi in blocks of
// loopbackBlock requests inside one benchmark function, so that both sides see the same
// machine load (the machine is shared), and reports the ratio stsapi/nethttp of wall time
// ("ratio") and of process CPU time ("cpu-ratio"), each side's total over its requests, from
// the same run. Both sides include the client's work, which is the same for both.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/cputime"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// loopbackBlock is how many requests BenchmarkLoopbackRatio sends to one server before it
// switches to the other: enough to make the clock reads negligible, few enough that both
// sides see the same load.
const loopbackBlock = 32

// loopbackBench is the shared setup: the request body, the servers and a keep-alive client.
type loopbackBench struct {
	body    []byte
	servers map[string]*httptest.Server
	client  *http.Client
}

// eksClaims are the claims of an EKS service-account token (IRSA): about 1 KB signed RS256.
func eksClaims(iss *testissuer.Issuer, now time.Time) map[string]any {
	c := iss.Claims(testSubject, testAudience)
	c["exp"] = now.Add(24 * time.Hour).Unix()
	c["kubernetes.io"] = map[string]any{
		"namespace": "default",
		"node":      map[string]any{"name": "ip-192-168-42-17.us-west-2.compute.internal", "uid": "5c3c6a9e-2b1f-4d3e-9a7b-1c2d3e4f5a6b"},
		"pod":       map[string]any{"name": "demo-7d9f8b6c5d-x2x7z", "uid": "0d3c1f5e-6d4b-4e7a-9c1e-2f3a4b5c6d7e"},
		"serviceaccount": map[string]any{
			"name": "demo", "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
		},
		"warnafter": now.Add(time.Hour).Unix(),
	}
	return c
}

// newLoopbackBench starts the three servers of the comparison.
func newLoopbackBench(b *testing.B) *loopbackBench {
	b.Helper()
	now := time.Now().UTC()
	clock := func() time.Time { return now }
	iss := testissuer.Start(b, testissuer.Options{Path: "/id/EXAMPLED539D4633E53DE1B71EXAMPLE", Algorithms: []string{"RS256"}, Now: clock})
	parsed, _, err := jwks.ParseJWKS(iss.JWKS())
	require.NoError(b, err)
	keys, err := jwks.NewStatic(iss.URL(), parsed...)
	require.NoError(b, err)
	opts := verifier.Options{
		Providers: []verifier.Provider{{URL: iss.URL(), ARN: iss.ProviderARN(testAccount), ClientIDs: []string{testAudience}}},
		Keys:      keys,
	}
	roles, err := verifier.NewStaticRoles(&verifier.Role{ARN: testRoleARN, TrustPolicy: irsaPolicy(b, iss, testSubject), MaxSessionDuration: 12 * time.Hour})
	require.NoError(b, err)
	opts.Roles = roles

	token, err := iss.Mint(eksClaims(iss, now), testissuer.MintOptions{})
	require.NoError(b, err)
	form := url.Values{
		"Action": {Action}, "Version": {Version}, "RoleArn": {testRoleARN},
		"RoleSessionName": {"botocore-session-1767225600"}, "WebIdentityToken": {token},
	}
	lb := &loopbackBench{body: []byte(form.Encode()), servers: map[string]*httptest.Server{}}
	b.Logf("token %d bytes, form %d bytes", len(token), len(lb.body))

	// The same options, with an observer, prove that a repeated token is a cache hit; the
	// measured verifier has none (an observer makes it read the clock).
	var hit atomic.Bool
	probeOpts := opts
	probeOpts.Observer = verifier.ObserverFunc(func(_ context.Context, e verifier.DecisionEvent) { hit.Store(e.CacheHit) })
	probe, err := verifier.New(probeOpts)
	require.NoError(b, err)
	vreq := &verifier.Request{RoleARN: testRoleARN, RoleSessionName: form.Get("RoleSessionName"), WebIdentityToken: token}
	for range 2 {
		_, err = probe.AssumeRoleWithWebIdentity(context.Background(), vreq)
		require.NoError(b, err)
	}
	require.True(b, hit.Load(), "a repeated token is a token-cache hit")
	require.NoError(b, probe.Close())

	v, err := verifier.New(opts)
	require.NoError(b, err)
	b.Cleanup(func() { _ = v.Close() })
	res, err := v.AssumeRoleWithWebIdentity(context.Background(), vreq) // warms the token cache
	require.NoError(b, err)
	require.Equal(b, policy.Allow, res.Decision.Effect)

	full, err := NewHandler(Options{Verifier: v, Issuer: &LocalIssuer{}})
	require.NoError(b, err)
	fixed := *res
	nodecision, err := NewHandler(Options{
		Verifier: deciderFunc(func(context.Context, *verifier.Request) (*verifier.Result, error) { return &fixed, nil }),
		Issuer:   &LocalIssuer{},
	})
	require.NoError(b, err)
	jsonlog, err := NewHandler(Options{Verifier: v, Issuer: &LocalIssuer{}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(b, err)
	lb.servers["stsapi"] = httptest.NewServer(full)
	lb.servers["stsapi-nodecision"] = httptest.NewServer(nodecision)
	lb.servers["stsapi-jsonlog"] = httptest.NewServer(jsonlog)

	lb.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	b.Cleanup(lb.client.CloseIdleConnections)

	// nethttp answers the bytes stsapi answers (same size, same headers), after reading the
	// same form with ParseForm.
	answer, header := lb.post(b, lb.servers["stsapi"].URL)
	requestID := header.Get("x-amzn-RequestId")
	lb.servers["nethttp"] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("WebIdentityToken") == "" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("x-amzn-RequestId", requestID)
		h.Set("Content-Type", "text/xml")
		h.Set("Content-Length", header.Get("Content-Length"))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(answer)
	}))
	for name, srv := range lb.servers {
		b.Cleanup(srv.Close)
		got, _ := lb.post(b, srv.URL)
		require.Len(b, got, len(answer), "%s answers as many bytes as stsapi", name)
	}
	return lb
}

// post sends the form and returns the answer, failing on anything but 200.
func (lb *loopbackBench) post(b *testing.B, endpoint string) ([]byte, http.Header) {
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(lb.body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := lb.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d, %v: %s", resp.StatusCode, err, body)
	}
	return body, resp.Header
}

// send is post without keeping the answer: the loop body of the benchmarks.
func (lb *loopbackBench) send(b *testing.B, endpoint string) {
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(lb.body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := lb.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d, %v", resp.StatusCode, err)
	}
}

// BenchmarkLoopback: one AssumeRoleWithWebIdentity over loopback HTTP/1.1 with keep-alive,
// per server: "nethttp" (ParseForm and a fixed answer of the same size), "stsapi" (the
// handler over a real verifier, token-cache hit, LocalIssuer), "stsapi-nodecision" (the
// handler with a Decider that allows at once), and "stsapi-jsonlog" (the full path with a real
// JSON logger writing to io.Discard: the cost of the log line, which the others discard).
func BenchmarkLoopback(b *testing.B) {
	lb := newLoopbackBench(b)
	for _, name := range []string{"nethttp", "stsapi", "stsapi-nodecision", "stsapi-jsonlog"} {
		endpoint := lb.servers[name].URL
		b.Run("server="+name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				lb.send(b, endpoint)
			}
		})
	}
}

// BenchmarkLoopbackRatio interleaves nethttp and stsapi (blocks of loopbackBlock requests,
// alternating) in one benchmark function and reports, from that one run, each side's ns/op
// and cpu-ns/op and their ratios stsapi/nethttp ("ratio" of wall time, "cpu-ratio" of process
// CPU time; CPU time counts client, server and GC work, as wall time does on an idle machine).
func BenchmarkLoopbackRatio(b *testing.B) {
	lb := newLoopbackBench(b)
	endpoints := [2]string{lb.servers["nethttp"].URL, lb.servers["stsapi"].URL}
	var wall, cpu [2]time.Duration
	var count [2]int
	b.ReportAllocs()
	i, side := 0, 0
	startWall, startCPU := time.Now(), cputime.Process()
	for b.Loop() {
		if i == loopbackBlock {
			endWall, endCPU := time.Now(), cputime.Process()
			wall[side] += endWall.Sub(startWall)
			cpu[side] += endCPU - startCPU
			count[side] += i
			startWall, startCPU = endWall, endCPU
			i, side = 0, 1-side
		}
		lb.send(b, endpoints[side])
		i++
	}
	wall[side] += time.Since(startWall)
	cpu[side] += cputime.Process() - startCPU
	count[side] += i
	if count[0] == 0 || count[1] == 0 {
		return // too few iterations for both sides (the first, b.N = 1, round)
	}
	per := func(d time.Duration, n int) float64 { return float64(d) / float64(n) }
	b.ReportMetric(per(wall[0], count[0]), "nethttp-ns/op")
	b.ReportMetric(per(wall[1], count[1]), "stsapi-ns/op")
	b.ReportMetric(per(wall[1], count[1])/per(wall[0], count[0]), "ratio")
	if cpu[0] > 0 && cpu[1] > 0 {
		b.ReportMetric(per(cpu[0], count[0]), "nethttp-cpu-ns/op")
		b.ReportMetric(per(cpu[1], count[1]), "stsapi-cpu-ns/op")
		b.ReportMetric(per(cpu[1], count[1])/per(cpu[0], count[0]), "cpu-ratio")
	}
}

// reportCPU reports the process CPU time per operation (cpu-ns/op) when the returned
// function runs after the benchmark loop: on a shared machine ns/op also counts time spent
// waiting for a CPU, and cpu-ns/op does not.
func reportCPU(b *testing.B) func() {
	start := cputime.Process()
	return func() {
		if start != 0 && b.N > 0 {
			b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
