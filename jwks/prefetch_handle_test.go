package jwks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// keyDepthRuns are the hint sequences a KeyLookup may see before its lookup: none, the
// verifier's, out of order, repeated, beyond the last depth.
var keyDepthRuns = [][]int{nil, {0}, {0, 1, 2}, {0, 1, 2, 3}, {3}, {2, 1}, {1, 3, 3}, {-1, 5}}

// TestKeyLookupAnswersAsCachedKey: for each of an issuer's kids (RSA, EC, OKP), an unknown
// kid, no kid and an unknown issuer, after any sequence of hints, a KeyLookup answers as
// CachedKey, allocates nothing, fetches nothing and marks the issuer used only as CachedKey
// does (the hints alone do not).
func TestKeyLookupAnswersAsCachedKey(t *testing.T) {
	e := newEnv(t, testissuer.Options{Algorithms: []string{"RS256", "ES256", "EdDSA"}}, nil)
	iss := e.iss.URL()
	ks, err := e.cache.Keys(context.Background(), iss)
	require.NoError(t, err)
	require.Len(t, ks, 3)
	kids := [][]byte{nil, {}, []byte("no-such-kid")}
	for _, k := range ks {
		kids = append(kids, []byte(k.KeyID()))
	}
	fetched, _, _, _ := e.rec.snapshot()
	st := (*e.cache.hot.Load())[iss]
	require.NotNil(t, st)
	for _, id := range []string{iss, "https://unknown.example.com"} {
		for _, kid := range kids {
			want, wok := e.cache.CachedKey(id, kid)
			for _, run := range keyDepthRuns {
				st.used.Store(false)
				l := e.cache.PrepareKey(id, kid)
				for _, d := range run {
					l.Prefetch(d)
				}
				assert.False(t, st.used.Load(), "a hint marked the issuer used")
				var got *Key
				var ok bool
				allocs := testing.AllocsPerRun(5, func() { got, ok = l.CachedKey() })
				assert.Zero(t, allocs)
				assert.Equal(t, wok, ok, "%s %q after %v", id, kid, run)
				assert.Same(t, want, got, "%s %q after %v", id, kid, run)
				assert.Equal(t, wok && id == iss, st.used.Load(), "%s %q: used", id, kid)
			}
		}
	}
	after, _, _, _ := e.rec.snapshot()
	assert.Len(t, after, len(fetched), "a hint or lookup fetched")

	var zero KeyLookup
	for d := range 4 {
		zero.Prefetch(d)
	}
	_, ok := zero.CachedKey()
	assert.False(t, ok)
}

// TestKeyLookupSeesLaterChanges: a KeyLookup prepared and hinted (issuer, snapshot and key
// remembered) before the issuer's keys rotate, before it is dropped, and before it is dropped
// and registered again, answers as CachedKey does at the lookup: a removed key is not served,
// a dropped issuer serves nothing, a new snapshot's keys are the ones served.
func TestKeyLookupSeesLaterChanges(t *testing.T) {
	e := newEnv(t, testissuer.Options{Algorithms: []string{"ES256"}}, nil)
	iss := e.iss.URL()
	ctx := context.Background()
	ks, err := e.cache.Keys(ctx, iss)
	require.NoError(t, err)
	old := []byte(ks[0].KeyID())
	hinted := func(kid []byte) KeyLookup {
		l := e.cache.PrepareKey(iss, kid)
		for d := range 4 {
			l.Prefetch(d)
		}
		return l
	}
	check := func(l *KeyLookup, kid []byte, what string) {
		t.Helper()
		want, wok := e.cache.CachedKey(iss, kid)
		got, ok := l.CachedKey()
		assert.Equal(t, wok, ok, what)
		assert.Same(t, want, got, what)
	}

	// Rotation: the old key removed, a new one added, between the hints and the lookup.
	lOld := hinted(old)
	newKid, err := e.iss.AddKey("ES256")
	require.NoError(t, err)
	lNew := hinted([]byte(newKid)) // hinted before the issuer's snapshot has it
	e.iss.RemoveKey(string(old))
	e.clock.Advance(DefaultMinRefreshInterval + time.Second)
	_, err = e.cache.Key(ctx, iss, newKid) // a miss: refreshes
	require.NoError(t, err)
	waitFetch(t, e.cache, iss)
	_, ok := e.cache.CachedKey(iss, old)
	require.False(t, ok, "the old key is still served")
	check(&lOld, old, "rotated out")
	check(&lNew, []byte(newKid), "rotated in")
	got, ok := lNew.CachedKey()
	require.True(t, ok)
	assert.Equal(t, newKid, got.KeyID())

	// Dropped after the hints.
	l := hinted([]byte(newKid))
	require.Equal(t, 1, e.cache.Unregister(iss))
	check(&l, []byte(newKid), "unregistered")
	_, ok = l.CachedKey()
	assert.False(t, ok)

	// Registered again and its keys fetched: a new state, found again by the lookup.
	require.NoError(t, e.cache.Register(IssuerConfig{Issuer: iss}))
	_, err = e.cache.Keys(ctx, iss)
	require.NoError(t, err)
	check(&l, []byte(newKid), "registered again")
	_, ok = l.CachedKey()
	assert.True(t, ok)

	// Past the snapshot's staleness bound: not served, as CachedKey.
	l = hinted([]byte(newKid))
	e.clock.Advance(24 * 365 * time.Hour)
	check(&l, []byte(newKid), "stale")
}

// TestKeyLookupRacesSwapsAndUnregister hints and looks up through KeyLookups while keys
// rotate and the issuer is dropped and registered again (-race): every key served is one the
// issuer published under the kid asked for.
func TestKeyLookupRacesSwapsAndUnregister(t *testing.T) {
	e := newEnv(t, testissuer.Options{Algorithms: []string{"RS256", "ES256"}}, nil)
	iss := e.iss.URL()
	ctx := context.Background()
	ks, err := e.cache.Keys(ctx, iss)
	require.NoError(t, err)
	kid := []byte(ks[0].KeyID())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	done := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	wg.Go(func() {
		for i := 0; !done(); i++ {
			k, err := e.iss.AddKey("ES256")
			if !assert.NoError(t, err) {
				return
			}
			e.clock.Advance(DefaultMinRefreshInterval + time.Second)
			_, _ = e.cache.Key(ctx, iss, k)
			waitFetchIfAny(e.cache, iss)
			e.iss.RemoveKey(k)
		}
	})
	wg.Go(func() {
		for !done() {
			e.cache.Unregister(iss)
			_ = e.cache.Register(IssuerConfig{Issuer: iss})
			_, _ = e.cache.Keys(ctx, iss)
		}
	})
	for range 3000 {
		l := e.cache.PrepareKey(iss, kid)
		for d := range 4 {
			l.Prefetch(d)
		}
		if k, ok := l.CachedKey(); ok {
			assert.Equal(t, string(kid), k.KeyID())
		}
	}
	close(stop)
	wg.Wait()
}
