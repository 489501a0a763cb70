package jwks

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/webidentity/webidentity/internal/testissuer"
)

func TestSlogObserver(t *testing.T) {
	var buf bytes.Buffer
	o := NewSlogObserver(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	fail := &FetchError{Document: DocJWKS, URL: "https://x/keys", Status: 500, Err: ErrStatus}
	o.Fetched(FetchEvent{Issuer: "https://x", Document: DocJWKS, URL: "https://x/keys", Status: 200, Keys: 2, TTL: time.Hour})
	o.Fetched(FetchEvent{Issuer: "https://x", Document: DocDiscovery, Status: 500, Err: fail})
	o.KeySkipped(SkipEvent{Issuer: "https://x", Key: SkippedKey{Index: 3, Kid: "k", Kty: "oct", Reason: SkipSymmetric, Err: errors.New("detail")}})
	o.RateLimited(RateLimitEvent{Issuer: "https://x", Kid: "bad\nkid", RetryAfter: time.Second})
	o.StaleServed(StaleEvent{Issuer: "https://x", Stale: time.Minute, LastErr: fail})

	var records []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m), "one JSON record per line (kid newline escaped)")
		records = append(records, m)
	}
	require.Len(t, records, 5)
	tests := []struct {
		level string
		attrs map[string]any
	}{
		{"DEBUG", map[string]any{"issuer": "https://x", "document": "jwks", "keys": 2.0, "status": 200.0}},
		{"WARN", map[string]any{"document": "discovery", "status": 500.0}},
		{"INFO", map[string]any{"kid": "k", "reason": "symmetric key", "index": 3.0}},
		{"WARN", map[string]any{"kid": "bad\nkid"}},
		{"WARN", map[string]any{"issuer": "https://x"}},
	}
	for i, tt := range tests {
		assert.Equal(t, tt.level, records[i]["level"], "record %d", i)
		for k, v := range tt.attrs {
			assert.Equal(t, v, records[i][k], "record %d attr %s", i, k)
		}
	}
	assert.Contains(t, records[1], "error")
	assert.Contains(t, records[4], "error")

	// nil logger falls back to slog.Default; ObserverFuncs drops nil fields.
	assert.NotNil(t, NewSlogObserver(nil))
	var of ObserverFuncs
	of.Fetched(FetchEvent{})
	of.KeySkipped(SkipEvent{})
	of.RateLimited(RateLimitEvent{})
	of.StaleServed(StaleEvent{})
}

// TestCloseLeavesNoGoroutines runs refreshes in every state and checks,
// after Close and the server's shutdown, that no goroutine is left.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	iss, err := testissuer.New(testissuer.Options{})
	require.NoError(t, err)
	defer iss.Close()
	// The server keeps running: its per-connection goroutines end only if
	// the cache really closed every connection it opened.
	ignore := goleak.IgnoreCurrent()
	clock := newClock()
	c, err := New(Options{
		HTTPClient: iss.Client(), AllowPrivateAddresses: true, Now: clock.Now,
		Issuers: []IssuerConfig{{Issuer: iss.URL()}},
	})
	require.NoError(t, err)
	kid := iss.Kids()[0]
	_, err = c.Key(bg, iss.URL(), kid)
	require.NoError(t, err)
	// A background refresh left hanging on a slow server.
	iss.SetFault(testissuer.JWKS, testissuer.Fault{DelayHeaders: 10 * time.Second})
	clock.Advance(4 * time.Minute)
	_, err = c.Key(bg, iss.URL(), kid)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	goleak.VerifyNone(t, ignore)
}
