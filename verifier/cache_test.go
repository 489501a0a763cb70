package verifier

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/jwks"
)

// mutableKeys is a KeySource whose keys tests change between calls.
type mutableKeys struct {
	mu   sync.Mutex
	keys map[string]*jwks.Key
}

func newMutableKeys(keys ...*testKey) *mutableKeys {
	m := &mutableKeys{keys: map[string]*jwks.Key{}}
	for _, k := range keys {
		m.keys[k.kid] = k.key
	}
	return m
}

func (m *mutableKeys) set(kid string, k *jwks.Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k == nil {
		delete(m.keys, kid)
		return
	}
	m.keys[kid] = k
}

func (m *mutableKeys) Key(_ context.Context, _, kid string) (*jwks.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[kid]; ok {
		return k, nil
	}
	return nil, jwks.ErrUnknownKey
}

func (m *mutableKeys) Keys(context.Context, string) ([]*jwks.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*jwks.Key
	for _, k := range m.keys {
		out = append(out, k)
	}
	return out, nil
}

// clock is a settable injected clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestTokenCache(t *testing.T) {
	ks := newKeySet(t)
	ctx := context.Background()
	setup := func(t *testing.T) (*Verifier, *mutableKeys, *clock) {
		keys := newMutableKeys(ks.rs, ks.es)
		clk := &clock{now: testNow}
		v := newTestVerifier(t, keys, func(o *Options) { o.TokenCacheSize = 16; o.Now = clk.Now })
		return v, keys, clk
	}
	token := mint(t, ks.rs, baseClaims(), nil)

	t.Run("hit", func(t *testing.T) {
		v, _, _ := setup(t)
		first, err := v.Verify(ctx, token)
		require.NoError(t, err)
		second, err := v.Verify(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), v.tokens.hits.Load())
		assert.Equal(t, first, second)
	})
	t.Run("key left the set", func(t *testing.T) {
		v, keys, _ := setup(t)
		_, err := v.Verify(ctx, token)
		require.NoError(t, err)
		keys.set("rs", nil)
		_, err = v.Verify(ctx, token)
		assert.ErrorIs(t, err, ReasonUnknownKey)
		assert.Zero(t, v.tokens.hits.Load())
	})
	t.Run("kid now names another key", func(t *testing.T) {
		v, keys, _ := setup(t)
		_, err := v.Verify(ctx, token)
		require.NoError(t, err)
		keys.set("rs", newTestKey(t, "ES256", "rs").key)
		_, err = v.Verify(ctx, token)
		assert.ErrorIs(t, err, ReasonKeyMismatch)
		assert.Zero(t, v.tokens.hits.Load())
	})
	t.Run("same key material, new *jwks.Key", func(t *testing.T) {
		v, keys, _ := setup(t)
		_, err := v.Verify(ctx, token)
		require.NoError(t, err)
		keys.set("rs", newTestKey(t, "RS256", "rs").key)
		_, err = v.Verify(ctx, token)
		assert.NoError(t, err, "verified again from scratch")
		assert.Zero(t, v.tokens.hits.Load())
	})
	t.Run("expired while cached", func(t *testing.T) {
		v, _, clk := setup(t)
		_, err := v.Verify(ctx, token)
		require.NoError(t, err)
		clk.Set(testNow.Add(time.Hour + DefaultLeeway))
		_, err = v.Verify(ctx, token)
		reason, code := reasonOf(t, err)
		assert.Equal(t, ReasonExpired, reason)
		assert.Equal(t, CodeExpiredToken, code)
		assert.Zero(t, v.tokens.lru.Len(), "the expired entry is dropped")
	})
	t.Run("failures are not cached", func(t *testing.T) {
		v, _, _ := setup(t)
		_, err := v.Verify(ctx, mint(t, ks.rs, with(baseClaims(), map[string]any{"aud": "other"}), nil))
		require.Error(t, err)
		assert.Zero(t, v.tokens.lru.Len())
	})
	t.Run("token without kid", func(t *testing.T) {
		v, keys, _ := setup(t)
		noKid := mint(t, ks.es, baseClaims(), map[string]any{"kid": nil})
		_, err := v.Verify(ctx, noKid)
		require.NoError(t, err)
		_, err = v.Verify(ctx, noKid)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), v.tokens.hits.Load())
		keys.set("es", nil)
		_, err = v.Verify(ctx, noKid)
		assert.ErrorIs(t, err, ReasonUnknownKey)
	})
	t.Run("bounded", func(t *testing.T) {
		v := newTestVerifier(t, newMutableKeys(ks.rs), func(o *Options) { o.TokenCacheSize = 2 })
		for i := range 3 {
			_, err := v.Verify(ctx, mint(t, ks.rs, with(baseClaims(), map[string]any{"jti": i}), nil))
			require.NoError(t, err)
		}
		assert.Equal(t, 2, v.tokens.lru.Len())
	})
	t.Run("disabled", func(t *testing.T) {
		v := newTestVerifier(t, newMutableKeys(ks.rs), func(o *Options) { o.TokenCacheSize = -1 })
		assert.Nil(t, v.tokens)
		_, err := v.Verify(ctx, token)
		assert.NoError(t, err)
	})
}

func TestTokenCachePolicyAlwaysEvaluated(t *testing.T) {
	cond := `{"StringEquals":{"sts:RoleSessionName":"good"}}`
	env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity}, cond)},
		func(o *Options) { o.TokenCacheSize = 8 })
	req := env.request(t, baseClaims())
	req.RoleSessionName = "good"
	_, err := env.v.AssumeRoleWithWebIdentity(context.Background(), req)
	require.NoError(t, err)
	req.RoleSessionName = "bad"
	_, err = env.v.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.ErrorIs(t, err, ReasonDenied)
	assert.Equal(t, uint64(1), env.v.tokens.hits.Load(), "the second request was a cache hit")
}
