package jwks

// Adversary tests of PrefetchKey: hints racing what they walk. A test FAILS when the attack
// succeeds; "// HOLDS:" marks what the code withstands (kept as regression tests).

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// HOLDS: PrefetchKey at every depth, for kids published, removed and never known, while
// another goroutine swaps the issuer's snapshot (keys added and removed past the inline
// table, so the snapshot switches between its inline kids and its map) and a third drops the
// issuer (Unregister) and registers it again, under -race: nothing faults or races, and once
// the writers stop, CachedKey answers for every published kid what Key answers.
func TestAdvPrefetchKeyRacesSwapsAndUnregister(t *testing.T) {
	e := newEnv(t, testissuer.Options{Algorithms: []string{"RS256", "ES256", "EdDSA"}}, nil)
	iss := e.iss.URL()
	ctx := context.Background()
	_, err := e.cache.Keys(ctx, iss)
	require.NoError(t, err)
	var (
		mu   sync.Mutex
		kids = [][]byte{nil, {}, []byte("never")}
	)
	for _, k := range must(e.cache.Keys(ctx, iss)) {
		kids = append(kids, []byte(k.KeyID()))
	}
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
	wg.Go(func() { // snapshot swaps: from three keys to seven and back
		var added []string
		for i := 0; !done(); i++ {
			if i%8 < 4 {
				kid, err := e.iss.AddKey("ES256")
				if !assert.NoError(t, err) {
					return
				}
				added = append(added, kid)
				mu.Lock()
				kids = append(kids, []byte(kid))
				mu.Unlock()
			} else if len(added) > 0 {
				e.iss.RemoveKey(added[0])
				added = added[1:]
			}
			e.clock.Advance(DefaultMinRefreshInterval + time.Second)
			_, _ = e.cache.Key(ctx, iss, "refresh-"+string(rune('a'+i%26))) // an unknown kid refreshes
			waitFetchIfAny(e.cache, iss)
		}
	})
	wg.Go(func() { // the issuer dropped and registered again
		for !done() {
			e.cache.Unregister(iss)
			_ = e.cache.Register(IssuerConfig{Issuer: iss})
			_, _ = e.cache.Keys(ctx, iss)
		}
	})
	for range 3000 {
		mu.Lock()
		ks := kids
		mu.Unlock()
		for _, kid := range ks {
			for depth := -1; depth <= 4; depth++ {
				e.cache.PrefetchKey(iss, kid, depth)
			}
		}
	}
	close(stop)
	wg.Wait()
	_ = e.cache.Register(IssuerConfig{Issuer: iss})
	e.clock.Advance(DefaultMinRefreshInterval + time.Second)
	ks, err := e.cache.Keys(ctx, iss)
	require.NoError(t, err)
	for _, k := range ks {
		got, ok := e.cache.CachedKey(iss, []byte(k.KeyID()))
		assert.True(t, ok, k.KeyID())
		want, err := e.cache.Key(ctx, iss, k.KeyID())
		require.NoError(t, err)
		assert.Same(t, want, got, k.KeyID())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// waitFetchIfAny waits for the issuer's running fetch, if it has a state and a fetch.
func waitFetchIfAny(c *Cache, issuer string) {
	st := (*c.hot.Load())[issuer]
	if st == nil {
		return
	}
	st.mu.Lock()
	f := st.fl
	st.mu.Unlock()
	if f != nil {
		<-f.done
	}
}
