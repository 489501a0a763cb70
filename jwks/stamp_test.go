package jwks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// A stamp stays current while the issuer's key set is served unchanged and without a refresh
// due, and never again after a swap, a drop, a re-Register, an Unregister or an eviction.
func TestStamp(t *testing.T) {
	fresh := func(t *testing.T, edit func(*Options)) (*env, string, Stamp) {
		t.Helper()
		e := newEnv(t, testissuer.Options{}, edit)
		iss := e.iss.URL()
		_, ok := e.cache.Stamp(iss)
		assert.False(t, ok, "no keys yet")
		k, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
		require.NoError(t, err)
		s, ok := e.cache.Stamp(iss)
		require.True(t, ok)
		assert.True(t, s.Current())
		assert.True(t, s.Holds(k))
		assert.False(t, s.Holds(nil))
		return e, iss, s
	}
	t.Run("zero", func(t *testing.T) {
		var s Stamp
		assert.False(t, s.Current())
	})
	t.Run("refresh point", func(t *testing.T) {
		e, iss, s := fresh(t, nil)
		e.clock.Advance(DefaultMinTTL*3/4 - time.Second)
		assert.True(t, s.Current(), "before the refresh point")
		e.clock.Advance(time.Second)
		assert.False(t, s.Current(), "a Key call is due: it starts the refresh")
		_, ok := e.cache.Stamp(iss)
		assert.False(t, ok, "no stamp while a refresh is due")
	})
	t.Run("clock stepped back", func(t *testing.T) {
		e, _, s := fresh(t, nil)
		e.clock.Advance(-time.Second)
		assert.False(t, s.Current())
	})
	t.Run("swap", func(t *testing.T) {
		e, iss, s := fresh(t, nil)
		e.clock.Advance(DefaultMinTTL)
		_, err := e.cache.Key(bg, iss, e.iss.Kids()[0]) // refresh ahead: the same keys, a new set
		require.NoError(t, err)
		waitFetch(t, e.cache, iss)
		assert.False(t, s.Current())
		s2, ok := e.cache.Stamp(iss)
		require.True(t, ok)
		assert.True(t, s2.Current())
	})
	t.Run("re-Register", func(t *testing.T) {
		e, iss, s := fresh(t, nil)
		require.NoError(t, e.cache.Register(IssuerConfig{Issuer: iss}))
		assert.False(t, s.Current())
		_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
		require.NoError(t, err)
		assert.False(t, s.Current(), "a state that left the cache stays retired")
	})
	t.Run("Unregister", func(t *testing.T) {
		e, iss, s := fresh(t, nil)
		assert.Equal(t, 1, e.cache.Unregister(iss))
		assert.False(t, s.Current())
	})
	t.Run("eviction", func(t *testing.T) {
		other := testissuer.Start(t, testissuer.Options{Path: "/other"})
		e, _, _ := fresh(t, func(o *Options) { o.Issuers = nil; o.AllowAnyIssuer = true; o.MaxIssuers = 1 })
		iss := e.iss.URL()
		s, ok := e.cache.Stamp(iss)
		require.True(t, ok)
		_, err := e.cache.Key(bg, other.URL(), other.Kids()[0]) // evicts the first issuer
		require.NoError(t, err)
		assert.False(t, s.Current())
	})
	t.Run("static keys", func(t *testing.T) {
		e := newEnv(t, testissuer.Options{}, nil)
		key, err := NewKey(e.iss.PublicKey(e.iss.Kids()[0]), "k", "RS256")
		require.NoError(t, err)
		require.NoError(t, e.cache.Register(IssuerConfig{Issuer: "https://static.example.com", Keys: []*Key{key}}))
		_, err = e.cache.Key(bg, "https://static.example.com", "k")
		require.NoError(t, err)
		s, ok := e.cache.Stamp("https://static.example.com")
		require.True(t, ok)
		e.clock.Advance(1000 * time.Hour)
		assert.True(t, s.Current(), "static keys are never refreshed")
		assert.True(t, s.Holds(key))
	})
}

// CurrentAt takes the caller's reading of time.Now instead of reading the clock: on a cache
// with the real clock, that reading decides (a time past the refresh point is not current,
// nor one before the fetch), but only when it carries the monotonic clock; a time without
// one, or any time on a cache with a clock of its own (Options.Now), is ignored for the
// cache's clock, as Current reads it.
func TestStampCurrentAt(t *testing.T) {
	t.Run("real clock", func(t *testing.T) {
		e := newEnv(t, testissuer.Options{}, func(o *Options) { o.Now = nil })
		iss := e.iss.URL()
		_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
		require.NoError(t, err)
		s, ok := e.cache.Stamp(iss)
		require.True(t, ok)
		now := time.Now()
		assert.True(t, s.CurrentAt(now))
		assert.False(t, s.CurrentAt(now.Add(DefaultMaxTTL)), "past the refresh point")
		assert.False(t, s.CurrentAt(now.Add(-time.Hour)), "before the fetch")
		wall := now.Round(0) // no monotonic reading: the cache reads its own clock
		assert.True(t, s.CurrentAt(wall.Add(DefaultMaxTTL)))
		assert.True(t, s.CurrentAt(time.Unix(0, 0)))
		assert.True(t, s.Current())

		require.Equal(t, 1, e.cache.Unregister(iss))
		assert.False(t, s.CurrentAt(time.Now()), "the key set left the cache")
	})
	t.Run("own clock", func(t *testing.T) {
		e := newEnv(t, testissuer.Options{}, nil)
		iss := e.iss.URL()
		_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
		require.NoError(t, err)
		s, ok := e.cache.Stamp(iss)
		require.True(t, ok)
		assert.True(t, s.CurrentAt(time.Now().Add(DefaultMaxTTL)), "the cache's clock decides")
		e.clock.Advance(DefaultMaxTTL)
		assert.False(t, s.CurrentAt(time.Now()))
		assert.False(t, s.Current())
	})
	t.Run("zero", func(t *testing.T) {
		var s Stamp
		assert.False(t, s.CurrentAt(time.Now()))
	})
}
