package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// healthyConfig writes a configuration with only the healthy issuer and returns its path.
func healthyConfig(t *testing.T, iss *testissuer.Issuer) string {
	t.Helper()
	dir := t.TempDir()
	writeCA(t, dir, iss)
	doc := testConfigDoc(t, iss, iss)
	doc["Providers"] = doc["Providers"].([]any)[:1]
	doc["Roles"] = doc["Roles"].([]any)[:2]
	path := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(path, []byte(mustJSON(t, doc)), 0o600))
	return path
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// scrape reads /metrics and returns the families by name.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// counter returns the value of the family's sample whose labels include want.
func counter(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
metrics:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue metrics
			}
		}
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func TestServiceReadiness(t *testing.T) {
	f := newFixture(t)
	code, _ := get(t, f.srv.URL+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, f.srv.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "ready before any keys were fetched")

	// One provider's issuer is down: the prefetch fails and the service stays unready.
	require.Error(t, f.svc.prefetch(context.Background()))
	code, _ = get(t, f.srv.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)

	// With only the healthy provider, it becomes ready.
	cfg, err := LoadConfig(healthyConfig(t, f.iss))
	require.NoError(t, err)
	svc, err := newService(cfg, serviceOptions{Now: fixedClock})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	srv := newHTTPTestServer(t, svc.Handler())
	ops := newHTTPTestServer(t, svc.OpsHandler())
	require.NoError(t, svc.prefetch(context.Background()))
	for _, base := range []string{srv, ops} {
		code, _ = get(t, base+"/readyz")
		assert.Equal(t, http.StatusOK, code)
	}
	assert.Equal(t, 1.0, counter(scrape(t, ops), "webidentity_ready", nil))
}

func TestServiceMetrics(t *testing.T) {
	f := newFixture(t)
	client := sdkClient(f.srv)
	for _, sub := range []string{testSubject, testSubject, "system:serviceaccount:other:demo"} {
		_, _ = client.AssumeRoleWithWebIdentity(context.Background(), assumeInput(testRoleARN, f.token(t, sub, nil)))
	}
	_, _ = client.AssumeRoleWithWebIdentity(context.Background(), assumeInput(testDownRole,
		f.down.MustMint(t, f.down.Claims(testSubject, testAudience), testissuer.MintOptions{})))
	resp, err := http.Post(f.srv.URL, "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	resp.Body.Close()

	fams := scrape(t, f.ops.URL)
	for _, tc := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"allowed decisions", "webidentity_decisions_total", map[string]string{"code": "OK"}, 2},
		{"policy denials", "webidentity_decisions_total", map[string]string{"code": "AccessDenied", "reason": "Denied"}, 1},
		{"unreachable issuer", "webidentity_decisions_total", map[string]string{"code": "IDPCommunicationError"}, 1},
		{"decision latency observed", "webidentity_decision_duration_seconds", nil, 4},
		{"responses with credentials", "webidentity_sts_responses_total", map[string]string{"code": "OK"}, 2},
		{"protocol errors", "webidentity_sts_responses_total", map[string]string{"code": "MissingAction"}, 1},
		{"discovery fetched", "webidentity_jwks_fetches_total", map[string]string{"issuer": f.iss.URL(), "document": "discovery", "result": "ok"}, 1},
		{"JWKS fetched", "webidentity_jwks_fetches_total", map[string]string{"issuer": f.iss.URL(), "document": "jwks", "result": "ok"}, 1},
		{"failed fetch of the down issuer", "webidentity_jwks_fetches_total", map[string]string{"issuer": f.down.URL(), "result": "error"}, 1},
		{"not ready", "webidentity_ready", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, counter(fams, tc.metric, tc.labels))
		})
	}
	assert.Contains(t, fams, "go_goroutines")
}

// Rate-limited refreshes and skipped keys reach the metrics through the jwks observer.
func TestServiceMetricsKeyEvents(t *testing.T) {
	f := newFixture(t)
	require.Error(t, f.svc.prefetch(context.Background())) // f.iss loads, f.down fails
	client := sdkClient(f.srv)

	// A token with a kid the issuer never published: one refresh, then rate limited.
	unpublished, err := f.iss.AddUnpublishedKey("ES256")
	require.NoError(t, err)
	for range 3 {
		tok := f.iss.MustMint(t, f.iss.Claims(testSubject, testAudience), testissuer.MintOptions{Kid: unpublished})
		_, err := client.AssumeRoleWithWebIdentity(context.Background(), assumeInput(testRoleARN, tok))
		code, _ := apiError(t, err)
		assert.Equal(t, "InvalidIdentityToken", code)
	}
	fams := scrape(t, f.ops.URL)
	assert.GreaterOrEqual(t, counter(fams, "webidentity_jwks_refresh_rate_limited_total", map[string]string{"issuer": f.iss.URL()}), 1.0)
}

func newHTTPTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// runServeAsync runs the serve subcommand in this process and returns its base URL and a
// channel with its exit status.
func runServeAsync(t *testing.T, ctx context.Context, args ...string) (string, <-chan int, *syncBuffer) {
	t.Helper()
	return runServeClock(t, ctx, fixedClock, args...)
}

// runServeClock is runServeAsync with the clock now.
func runServeClock(t *testing.T, ctx context.Context, now func() time.Time, args ...string) (string, <-chan int, *syncBuffer) {
	t.Helper()
	addr := make(chan string, 1)
	done := make(chan int, 1)
	logs := &syncBuffer{}
	e := &env{stdin: nil, stdout: io.Discard, stderr: logs, now: now, listening: func(a string) { addr <- a }}
	go func() { done <- run(ctx, append([]string{"serve"}, args...), e) }()
	select {
	case a := <-addr:
		return "http://" + a, done, logs
	case code := <-done:
		t.Fatalf("serve exited with %d before listening:\n%s", code, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs)
	}
	return "", nil, nil
}

// awaitCleanExit waits for a serve started by runServeAsync to exit, and checks it exited 0.
func awaitCleanExit(t *testing.T, done <-chan int, logs *syncBuffer) {
	t.Helper()
	select {
	case status := <-done:
		assert.Equal(t, exitOK, status, "%s", logs)
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

func TestServeCommandLifecycle(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock})
	cfgPath := healthyConfig(t, iss)

	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelFunc)
	}{
		{"context cancelled", func(cancel context.CancelFunc) { cancel() }},
		{"SIGTERM", func(context.CancelFunc) { require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM)) }},
		{"SIGINT", func(context.CancelFunc) { require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			base, done, logs := runServeAsync(t, ctx, "-config", cfgPath, "-addr", "127.0.0.1:0",
				"-metrics-addr", "127.0.0.1:0", "-drain", "50ms")

			code, _ := get(t, base+"/healthz")
			assert.Equal(t, http.StatusOK, code)
			require.Eventually(t, func() bool {
				code, _ := get(t, base+"/readyz")
				return code == http.StatusOK
			}, 10*time.Second, 10*time.Millisecond, "never ready:\n%s", logs)

			_, err := newSTSClient(base).AssumeRoleWithWebIdentity(context.Background(), assumeInput(testRoleARN,
				iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})))
			require.NoError(t, err)

			tc.stop(cancel)
			awaitCleanExit(t, done, logs)
			assert.NotContains(t, logs.String(), `"level":"ERROR"`)
		})
	}
}

func TestServeCommandExitStatus(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Now: fixedClock})
	good := healthyConfig(t, iss)
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"Providers": [{"Url": "http://insecure.example.com"}]}`), 0o600))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { busy.Close() })

	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no config flag", []string{}, exitUsage},
		{"unknown flag", []string{"-config", good, "-port", "1"}, exitUsage},
		{"stray argument", []string{"-config", good, "extra"}, exitUsage},
		{"missing config file", []string{"-config", filepath.Join(t.TempDir(), "nope.json")}, exitUsage},
		{"invalid config", []string{"-config", bad}, exitUsage},
		{"tls cert without key", []string{"-config", good, "-tls-cert", "c.pem"}, exitUsage},
		{"tls key without cert", []string{"-config", good, "-tls-key", "k.pem"}, exitUsage},
		{"bad log level", []string{"-config", good, "-log-level", "loud"}, exitUsage},
		{"address without port", []string{"-config", good, "-addr", "127.0.0.1"}, exitUsage},
		{"address with a bad port", []string{"-config", good, "-addr", "127.0.0.1:http-ish"}, exitUsage},
		{"metrics address without port", []string{"-config", good, "-metrics-addr", "localhost"}, exitUsage},
		{"metrics address same as address", []string{"-config", good, "-addr", "127.0.0.1:8443", "-metrics-addr", "127.0.0.1:8443"}, exitUsage},
		{"negative drain", []string{"-config", good, "-drain", "-1s"}, exitUsage},
		{"address in use", []string{"-config", good, "-addr", busy.Addr().String(), "-metrics-addr", "off"}, exitFail},
		{"metrics address in use", []string{"-config", good, "-addr", "127.0.0.1:0", "-metrics-addr", busy.Addr().String()}, exitFail},
		{"help", []string{"-h"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := &syncBuffer{}
			e := &env{stdout: io.Discard, stderr: stderr, now: fixedClock}
			assert.Equal(t, tc.want, run(context.Background(), append([]string{"serve"}, tc.args...), e))
			if tc.want == exitUsage {
				// What is wrong comes first, before the usage text.
				first, _, _ := strings.Cut(stderr.String(), "\n")
				assert.True(t, strings.HasPrefix(first, "webidentity serve: ") || strings.HasPrefix(first, "flag provided but not defined"),
					"first line: %q", first)
			}
		})
	}
}

// serve puts /metrics on its own listener (-metrics-addr), never on the STS listener; both
// answer /healthz and /readyz.
func TestServeCommandMetricsListener(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done, logs := runServeAsync(t, ctx, "-config", healthyConfig(t, iss), "-addr", "127.0.0.1:0",
		"-metrics-addr", "127.0.0.1:0", "-drain", "0")

	// The listening log line names the metrics address.
	var opsBase string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "listening" {
			addr, _ := rec["metrics_addr"].(string)
			opsBase = "http://" + addr
		}
	}
	require.NotEmpty(t, opsBase, "%s", logs)
	require.Eventually(t, func() bool {
		code, _ := get(t, opsBase+"/readyz")
		return code == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond, "never ready:\n%s", logs)

	for _, tc := range []struct {
		name string
		url  string
		want int
	}{
		{"metrics on the metrics listener", opsBase + "/metrics", http.StatusOK},
		{"healthz on the metrics listener", opsBase + "/healthz", http.StatusOK},
		{"readyz on the metrics listener", opsBase + "/readyz", http.StatusOK},
		{"no metrics on the STS listener", base + "/metrics", http.StatusNotFound},
		{"healthz on the STS listener", base + "/healthz", http.StatusOK},
		{"readyz on the STS listener", base + "/readyz", http.StatusOK},
		{"no STS API on the metrics listener", opsBase + "/?Action=AssumeRoleWithWebIdentity", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := get(t, tc.url)
			assert.Equal(t, tc.want, code)
		})
	}
	assert.Equal(t, 1.0, counter(scrape(t, opsBase), "webidentity_ready", nil))

	cancel()
	awaitCleanExit(t, done, logs)
}

// serve logs the configuration's warnings at load, naming the file, role and path.
func TestServeCommandLogsConfigWarnings(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock})
	dir := t.TempDir()
	writeCA(t, dir, iss)
	doc := testConfigDoc(t, iss, iss)
	doc["Providers"] = doc["Providers"].([]any)[:1]
	pol := irsaPolicy(iss, testSubject)
	pol["Statement"].([]any)[0].(map[string]any)["Principal"] = "*"
	doc["Roles"] = []any{map[string]any{"Role": map[string]any{"Arn": testRoleARN, "AssumeRolePolicyDocument": pol}}}
	cfgPath := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(cfgPath, []byte(mustJSON(t, doc)), 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	_, done, logs := runServeAsync(t, ctx, "-config", cfgPath, "-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0")
	cancel()
	<-done
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "configuration warning" {
			continue
		}
		found = true
		assert.Equal(t, "WARN", rec["level"])
		assert.Equal(t, cfgPath, rec["file"])
		assert.Equal(t, testRoleARN, rec["role"])
		assert.Equal(t, "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Principal", rec["path"])
		assert.Equal(t, "principal-anyone", rec["rule"])
	}
	assert.True(t, found, "no configuration warning logged:\n%s", logs)
}

// A loopback issuer refused because Keys.AllowPrivateAddresses is off: the readiness log
// names the setting.
func TestServicePrefetchHintsAllowPrivateAddresses(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock})
	cfg, err := LoadConfig(healthyConfig(t, iss))
	require.NoError(t, err)
	cfg.Keys.AllowPrivateAddresses = false
	logs := &syncBuffer{}
	svc, err := newService(cfg, serviceOptions{Now: fixedClock, Logger: slog.New(slog.NewJSONHandler(logs, nil)), PrefetchRetry: time.Hour})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.prefetchLoop(ctx); close(done) }()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "loading keys failed") }, 10*time.Second, time.Millisecond)
	cancel()
	<-done
	var rec map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "loading keys failed; not ready" {
			break
		}
	}
	assert.Equal(t, "Keys.AllowPrivateAddresses", rec["setting"])
	assert.Equal(t, HintAllowPrivateAddresses.String(), rec["hint"])

	// Another failure gets no such hint.
	iss.SetFault(testissuer.Discovery, testissuer.Fault{Status: http.StatusServiceUnavailable})
	cfg.Keys.AllowPrivateAddresses = true
	logs2 := &syncBuffer{}
	svc2, err := newService(cfg, serviceOptions{Now: fixedClock, Logger: slog.New(slog.NewJSONHandler(logs2, nil)), PrefetchRetry: time.Hour})
	require.NoError(t, err)
	t.Cleanup(svc2.Close)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { svc2.prefetchLoop(ctx2); close(done2) }()
	require.Eventually(t, func() bool { return strings.Contains(logs2.String(), "loading keys failed") }, 10*time.Second, time.Millisecond)
	cancel2()
	<-done2
	assert.NotContains(t, logs2.String(), `"setting"`)
}

// clock is a settable test clock.
type clock struct{ now atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.now.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// Stale serving and skipped keys reach the metrics through the jwks observer.
func TestServiceMetricsStaleAndSkipped(t *testing.T) {
	clk := newClock(testNow)
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: clk.Now})

	// The JWKS also carries a symmetric key, which must be skipped.
	var set map[string]any
	require.NoError(t, json.Unmarshal(iss.JWKS(), &set))
	set["keys"] = append(set["keys"].([]any), map[string]any{"kty": "oct", "kid": "shared", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"})
	iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: []byte(mustJSON(t, set))})

	cfg, err := LoadConfig(healthyConfig(t, iss))
	require.NoError(t, err)
	svc, err := newService(cfg, serviceOptions{Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	base := newHTTPTestServer(t, svc.Handler())
	ops := newHTTPTestServer(t, svc.OpsHandler())
	require.NoError(t, svc.prefetch(context.Background()))

	// The keys expire (MinTTL, 5 minutes, without Cache-Control) and the issuer goes down:
	// the last good keys keep serving, and that is counted.
	iss.SetFault(testissuer.Discovery, testissuer.Fault{Status: http.StatusServiceUnavailable})
	iss.SetFault(testissuer.JWKS, testissuer.Fault{Status: http.StatusServiceUnavailable})
	clk.Advance(time.Hour)
	tok := iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	_, err = newSTSClient(base).AssumeRoleWithWebIdentity(context.Background(), assumeInput(testRoleARN, tok))
	require.NoError(t, err)

	require.Eventually(t, func() bool { // the refresh that failed runs in the background
		return counter(scrape(t, ops), "webidentity_jwks_fetches_total", map[string]string{"result": "error"}) >= 1
	}, 10*time.Second, 10*time.Millisecond)
	fams := scrape(t, ops)
	assert.GreaterOrEqual(t, counter(fams, "webidentity_jwks_stale_served_total", map[string]string{"issuer": iss.URL()}), 1.0)
	assert.Equal(t, 1.0, counter(fams, "webidentity_jwks_keys_skipped_total", map[string]string{"issuer": iss.URL(), "reason": jwks.SkipSymmetric.String()}))
}

// writeServerCert writes a self-signed certificate for 127.0.0.1 and its key as PEM files.
func writeServerCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "webidentity test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serve -tls-cert/-tls-key answers over HTTPS, and the SDK calls it there.
func TestServeCommandTLS(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock})
	certFile, keyFile, pool := writeServerCert(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done, logs := runServeAsync(t, ctx, "-config", healthyConfig(t, iss), "-addr", "127.0.0.1:0",
		"-metrics-addr", "off", "-drain", "0", "-tls-cert", certFile, "-tls-key", keyFile)
	base = "https://" + strings.TrimPrefix(base, "http://")

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(base), Credentials: aws.AnonymousCredentials{},
		Retryer: aws.NopRetryer{}, HTTPClient: hc,
	})
	out, err := client.AssumeRoleWithWebIdentity(context.Background(), assumeInput(testRoleARN,
		iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})))
	require.NoError(t, err)
	assert.Regexp(t, `^ASIA`, aws.ToString(out.Credentials.AccessKeyId))

	cancel()
	awaitCleanExit(t, done, logs)
}

// serve becomes ready once an issuer that was down at start comes back.
func TestServicePrefetchRetries(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock})
	iss.SetFault(testissuer.Discovery, testissuer.Fault{Status: http.StatusServiceUnavailable})
	cfg, err := LoadConfig(healthyConfig(t, iss))
	require.NoError(t, err)
	// The cache retries a failed fetch after RetryBackoff, doubling up to MinRefreshInterval:
	// 1 ms caps it, so this test runs on the real clock in milliseconds.
	// (TestServeReadyShortlyAfterIssuerRecovers covers the default interval on a fake clock.)
	cfg.Keys.MinRefreshInterval = time.Millisecond
	// The real clock: the cache measures MinRefreshInterval with it.
	svc, err := newService(cfg, serviceOptions{Now: time.Now, PrefetchRetry: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	base := newHTTPTestServer(t, svc.Handler())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.prefetchLoop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool { return iss.Requests(testissuer.Discovery) >= 2 }, 10*time.Second, time.Millisecond)
	code, _ := get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)

	iss.ClearFaults()
	require.Eventually(t, func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusOK
	}, 10*time.Second, time.Millisecond)
	select {
	case <-done: // the loop ends once ready
	case <-time.After(10 * time.Second):
		t.Fatal("prefetch loop still running after ready")
	}
}
