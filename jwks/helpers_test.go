package jwks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/webidentity/webidentity/internal/testissuer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is a manual clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is an Observer that records events.
type recorder struct {
	mu      sync.Mutex
	fetched []FetchEvent
	skipped []SkipEvent
	limited []RateLimitEvent
	stale   []StaleEvent
}

var _ Observer = (*recorder)(nil)

func (r *recorder) Fetched(e FetchEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetched = append(r.fetched, e)
}

func (r *recorder) KeySkipped(e SkipEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipped = append(r.skipped, e)
}

func (r *recorder) RateLimited(e RateLimitEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limited = append(r.limited, e)
}

func (r *recorder) StaleServed(e StaleEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stale = append(r.stale, e)
}

func (r *recorder) snapshot() (fetched []FetchEvent, skipped []SkipEvent, limited []RateLimitEvent, stale []StaleEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]FetchEvent(nil), r.fetched...), append([]SkipEvent(nil), r.skipped...),
		append([]RateLimitEvent(nil), r.limited...), append([]StaleEvent(nil), r.stale...)
}

// env is a test issuer with a cache pointed at it.
type env struct {
	iss   *testissuer.Issuer
	clock *fakeClock
	rec   *recorder
	cache *Cache
}

// newEnv starts an issuer and a cache that trusts it. edit may change the
// options before the cache is built.
func newEnv(t *testing.T, io testissuer.Options, edit func(*Options)) *env {
	t.Helper()
	iss := testissuer.Start(t, io)
	clock := newClock()
	rec := &recorder{}
	opts := Options{
		HTTPClient:            iss.Client(),
		AllowPrivateAddresses: true,
		Issuers:               []IssuerConfig{{Issuer: iss.URL()}},
		Observer:              rec,
		Now:                   clock.Now,
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return &env{iss: iss, clock: clock, rec: rec, cache: c}
}

// waitFetch waits for the issuer's running fetch, if any, to finish and
// publish its result. Fetches start synchronously inside the call that
// triggers them, so calling this right after that call is exact.
func waitFetch(t *testing.T, c *Cache, issuer string) {
	t.Helper()
	st := (*c.hot.Load())[issuer]
	require.NotNil(t, st, "issuer has no state")
	st.mu.Lock()
	f := st.fl
	st.mu.Unlock()
	if f != nil {
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
			t.Fatal("fetch did not finish")
		}
	}
}

var bg = context.Background()
