package verifier

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/jwks"
)

// RFC 7517 section 4.5 allows one kid on keys of different types. Whichever comes first in the
// set, a token of either type verifies with its own key, is cached, and a cache hit stays valid
// only while that same key is published. A token whose alg fits neither key is still refused.
func TestSharedKidAcrossKeyTypes(t *testing.T) {
	const kid = "shared"
	rs := newTestKey(t, "RS256", kid)
	es := newTestKey(t, "ES256", kid)
	ed := newTestKey(t, "EdDSA", kid)

	for _, order := range [][]*testKey{{rs, es}, {es, rs}} {
		t.Run(order[0].alg+" first", func(t *testing.T) {
			var hits []bool
			v := newTestVerifier(t, staticKeys(t, order...), func(o *Options) {
				o.TokenCacheSize = 16
				o.Observer = ObserverFunc(func(_ context.Context, ev DecisionEvent) { hits = append(hits, ev.CacheHit) })
			})
			for _, k := range []*testKey{rs, es} {
				tok := mint(t, k, baseClaims(), nil)
				got, err := v.Verify(context.Background(), tok)
				require.NoError(t, err, k.alg)
				assert.Equal(t, k.alg, got.Algorithm)
				_, err = v.Verify(context.Background(), tok)
				require.NoError(t, err, k.alg)
			}
			assert.Equal(t, []bool{false, true, false, true}, hits, "second Verify of each token is a cache hit")

			_, err := v.Verify(context.Background(), mint(t, ed, baseClaims(), nil))
			reason, code := reasonOf(t, err)
			assert.Equal(t, ReasonKeyMismatch, reason)
			assert.Equal(t, CodeInvalidIdentityToken, code)
		})
	}

	// The cached token's key leaves the set: the hit is refused even though the kid remains
	// (on the other key).
	t.Run("cached token invalidated when its sibling leaves", func(t *testing.T) {
		current := staticKeys(t, rs, es)
		src := &fakeKeys{
			key:  func(ctx context.Context, iss, kid string) (*jwks.Key, error) { return current.Key(ctx, iss, kid) },
			keys: func(ctx context.Context, iss string) ([]*jwks.Key, error) { return current.Keys(ctx, iss) },
		}
		v := newTestVerifier(t, src, func(o *Options) { o.TokenCacheSize = 16 })
		tok := mint(t, es, baseClaims(), nil)
		_, err := v.Verify(context.Background(), tok)
		require.NoError(t, err)
		current = staticKeys(t, rs)
		_, err = v.Verify(context.Background(), tok)
		reason, _ := reasonOf(t, err)
		assert.Equal(t, ReasonKeyMismatch, reason)
	})
}
