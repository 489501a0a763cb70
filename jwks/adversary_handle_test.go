package jwks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// Adversary of KeyLookup: a lookup prepared and hinted (issuer state, snapshot and key
// remembered) before a change must serve, at CachedKey, exactly what Cache.CachedKey serves
// at that moment: the same *Key or nothing.

// advKeyRuns are the hint runs tried before each lookup.
var advKeyRuns = [][]int{nil, {0, 1, 2, 3}, {2}, {3}, {0, 1, 2, 3, 2, 3}}

// advEdKey is an Ed25519 key from seed under kid.
func advEdKey(t testing.TB, seed byte, kid string) *Key {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	k, err := NewKey(ed25519.NewKeyFromSeed(s).Public(), kid, "")
	require.NoError(t, err)
	return k
}

// advCheck compares the prepared lookup with CachedKey, now.
func advCheck(t *testing.T, c *Cache, l *KeyLookup, iss string, kid []byte, what string) *Key {
	t.Helper()
	want, wok := c.CachedKey(iss, kid)
	got, ok := l.CachedKey()
	assert.Equal(t, wok, ok, what)
	assert.Same(t, want, got, what)
	return got
}

// TestAdvKeyLookupSameKidOtherKeyStatic: an issuer's static key under kid "k" is replaced by
// another key under the same kid (Register again), after the handle found the first one in
// its hints; then the issuer is dropped (Unregister) and registered again with the first key
// material under a fresh *Key. At each step the handle serves the key the cache serves.
func TestAdvKeyLookupSameKidOtherKeyStatic(t *testing.T) {
	c, err := New(Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	iss := "https://static.example.com"
	kid := []byte("k")
	k1, k2, k1again := advEdKey(t, 1, "k"), advEdKey(t, 2, "k"), advEdKey(t, 1, "k")
	install := func(k *Key) {
		require.NoError(t, c.Register(IssuerConfig{Issuer: iss, Keys: []*Key{k}}))
		got, err := c.Key(bg, iss, "k") // builds the state
		require.NoError(t, err)
		require.Same(t, k, got)
	}
	install(k1)
	for ri, run := range advKeyRuns {
		what := fmt.Sprintf("run %d", ri)
		hinted := func() KeyLookup {
			l := c.PrepareKey(iss, kid)
			for _, d := range run {
				l.Prefetch(d)
			}
			return l
		}
		l := hinted()
		install(k2)
		assert.Same(t, k2, advCheck(t, c, &l, iss, kid, what+": same kid, other key"))

		l = hinted()
		require.Equal(t, 1, c.Unregister(iss))
		assert.Nil(t, advCheck(t, c, &l, iss, kid, what+": unregistered"))
		install(k1again) // equal material, another *Key
		assert.Same(t, k1again, advCheck(t, c, &l, iss, kid, what+": registered again"))

		l = hinted()
		install(k1)
		assert.Same(t, k1, advCheck(t, c, &l, iss, kid, what+": back to the first"))
	}
}

// TestAdvKeyLookupSameKidOtherKeyFetched: the issuer's JWKS starts serving another public key
// under the token key's kid (a same-kid rotation, as a compromised or careless issuer does);
// after the refresh the handle hinted before it must not serve the old *Key.
func TestAdvKeyLookupSameKidOtherKeyFetched(t *testing.T) {
	e := newEnv(t, testissuer.Options{Algorithms: []string{"ES256"}}, nil)
	other := testissuer.Start(t, testissuer.Options{Algorithms: []string{"ES256"}})
	iss := e.iss.URL()
	ctx := context.Background()
	kid := e.iss.Kids()[0]
	old, err := e.cache.Key(ctx, iss, kid)
	require.NoError(t, err)
	l := e.cache.PrepareKey(iss, []byte(kid))
	for d := range 4 {
		l.Prefetch(d)
	}
	// The other issuer's key, renamed to kid.
	body := bytes.ReplaceAll(other.JWKS(), []byte(other.Kids()[0]), []byte(kid))
	require.NotEqual(t, other.JWKS(), body)
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: body})
	e.clock.Advance(DefaultMaxTTL + time.Minute) // past the refresh point: a background refresh
	_, _ = e.cache.CachedKey(iss, []byte(kid))
	waitFetch(t, e.cache, iss)
	now, err := e.cache.Key(ctx, iss, kid)
	require.NoError(t, err)
	require.NotSame(t, old, now, "the cache still serves the old key")
	got := advCheck(t, e.cache, &l, iss, []byte(kid), "same kid, other key, fetched")
	assert.NotSame(t, old, got)
	assert.Same(t, now, got)
}

// TestAdvKeyLookupEvictedAndBack: with AllowAnyIssuer and room for one issuer, a handle
// hinted on issuer A outlives A's eviction by issuer B (serves nothing) and A's return under
// a new state (serves the new state's key), as CachedKey does at each point.
func TestAdvKeyLookupEvictedAndBack(t *testing.T) {
	a := testissuer.Start(t, testissuer.Options{Algorithms: []string{"ES256"}})
	b := testissuer.Start(t, testissuer.Options{Algorithms: []string{"ES256"}})
	clock := newClock()
	c, err := New(Options{HTTPClient: a.Client(), AllowPrivateAddresses: true, AllowAnyIssuer: true, MaxIssuers: 1, Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	kid := []byte(a.Kids()[0])
	_, err = c.Key(ctx, a.URL(), string(kid))
	require.NoError(t, err)
	st := (*c.hot.Load())[a.URL()]
	require.NotNil(t, st)
	l := c.PrepareKey(a.URL(), kid)
	for d := range 4 {
		l.Prefetch(d)
	}
	_, err = c.Key(ctx, b.URL(), b.Kids()[0])
	require.NoError(t, err)
	require.Nil(t, (*c.hot.Load())[a.URL()], "A was not evicted")
	assert.Nil(t, advCheck(t, c, &l, a.URL(), kid, "evicted"))

	again, err := c.Key(ctx, a.URL(), string(kid))
	require.NoError(t, err)
	require.NotSame(t, st, (*c.hot.Load())[a.URL()], "A came back with its old state")
	got := advCheck(t, c, &l, a.URL(), kid, "back")
	assert.Same(t, again, got)
}

// TestAdvKeyLookupSnapshotSwapsAcrossGC: a handle remembers a snapshot; the issuer's key set
// is swapped many times with garbage collections in between (so that, were the handle's
// memory not keeping its snapshot alive, a new snapshot could land at the old address: ABA).
// At each step the handle answers as CachedKey: the old key set's key is never served after
// it left.
func TestAdvKeyLookupSnapshotSwapsAcrossGC(t *testing.T) {
	c, err := New(Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	iss := "https://aba.example.com"
	kid := []byte("k")
	for i := range 40 {
		k := advEdKey(t, byte(i%2+1), "k")
		require.NoError(t, c.Register(IssuerConfig{Issuer: iss, Keys: []*Key{k}}))
		_, err := c.Key(bg, iss, "k")
		require.NoError(t, err)
		l := c.PrepareKey(iss, kid)
		for d := range 4 {
			l.Prefetch(d)
		}
		// Swap to a fresh key set under the same kid, drop every reference to the old one
		// but the handle's, collect.
		next := advEdKey(t, byte(i%2+1), "k")
		require.NoError(t, c.Register(IssuerConfig{Issuer: iss, Keys: []*Key{next}}))
		runtime.GC()
		runtime.GC()
		_, err = c.Key(bg, iss, "k")
		require.NoError(t, err)
		got := advCheck(t, c, &l, iss, kid, fmt.Sprintf("swap %d", i))
		assert.Same(t, next, got, "swap %d", i)
		assert.NotSame(t, k, got, "swap %d: the old key set's key", i)
	}
}

// TestAdvKeyLookupConcurrentStamped: goroutines with their own handles, hinted at random
// depths, look up while another swaps the issuer's key set between two keys under the same
// kid and drops it. A lookup bracketed by two equal Stamps (one key set throughout) must be
// CachedKey's answer; every key served is one of the two (-race). Every fourth lookup of a
// reader holds gate for reading, which the writer holds across each swap, so some brackets
// see one key set whatever the scheduling (on a loaded machine the writer may swap inside
// every unguarded bracket); the others race the writer freely.
func TestAdvKeyLookupConcurrentStamped(t *testing.T) {
	c, err := New(Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	iss := "https://race.example.com"
	kid := []byte("k")
	k1, k2 := advEdKey(t, 1, "k"), advEdKey(t, 2, "k")
	require.NoError(t, c.Register(IssuerConfig{Issuer: iss, Keys: []*Key{k1}}))
	_, err = c.Key(bg, iss, "k") // the issuer's state, as the writer leaves it after each swap
	require.NoError(t, err)
	stop := make(chan struct{})
	var gate sync.RWMutex // the writer holds it across a swap; guarded lookups for reading
	var writer, readers sync.WaitGroup
	writer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := k1
			if i%2 == 1 {
				k = k2
			}
			gate.Lock()
			if i%7 == 0 {
				c.Unregister(iss)
			}
			_ = c.Register(IssuerConfig{Issuer: iss, Keys: []*Key{k}})
			_, _ = c.Key(bg, iss, "k")
			gate.Unlock()
		}
	})
	var mu sync.Mutex
	bracketed := 0
	for g := range 4 {
		readers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 5))
			n := 0
			for i := range 3000 {
				l := c.PrepareKey(iss, kid)
				for range rng.IntN(5) {
					l.Prefetch(rng.IntN(5) - 1)
				}
				guarded := i%4 == 0
				if guarded {
					gate.RLock()
				}
				s1, ok1 := c.Stamp(iss)
				got, gok := l.CachedKey()
				want, wok := c.CachedKey(iss, kid)
				s2, ok2 := c.Stamp(iss)
				if guarded {
					gate.RUnlock()
					assert.True(t, ok1 && ok2 && s1 == s2, "a guarded bracket saw a swap or no key set (ok %v, %v)", ok1, ok2)
				}
				if ok1 && ok2 && s1 == s2 {
					n++
					assert.Equal(t, wok, gok)
					assert.Same(t, want, got)
				}
				if gok {
					assert.True(t, got == k1 || got == k2, "a key that was never the issuer's")
				}
			}
			mu.Lock()
			bracketed += n
			mu.Unlock()
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()
	assert.Positive(t, bracketed, "no lookup ran within one key set")
}

// TestAdvKeyLookupKidVariants: a handle of another issuer's name (a trailing slash, upper
// case), of a kid that differs in case or by a byte, of a kid with a NUL and of an empty kid
// finds what CachedKey finds, after any hints: only the exact pair is served.
func TestAdvKeyLookupKidVariants(t *testing.T) {
	c, err := New(Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	iss := "https://variants.example.com"
	require.NoError(t, c.Register(IssuerConfig{Issuer: iss, Keys: []*Key{advEdKey(t, 1, "Kid-1")}}))
	_, err = c.Key(bg, iss, "Kid-1")
	require.NoError(t, err)
	for _, id := range []string{iss, iss + "/", "https://VARIANTS.example.com"} {
		for _, kid := range []string{"Kid-1", "kid-1", "Kid-", "Kid-1\x00", "Kid-11", ""} {
			for _, run := range advKeyRuns {
				l := c.PrepareKey(id, []byte(kid))
				for _, d := range run {
					l.Prefetch(d)
				}
				advCheck(t, c, &l, id, []byte(kid), fmt.Sprintf("%s %q %v", id, kid, run))
			}
		}
	}
}
