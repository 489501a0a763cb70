package jwks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// TestPrefetchKeyChangesNothing: at every depth, for each of an issuer's kids (RSA, EC, OKP
// keys), an unknown kid, no kid and an unknown issuer, PrefetchKey allocates nothing, fetches
// nothing, does not mark the issuer used and leaves CachedKey's answers as they were.
func TestPrefetchKeyChangesNothing(t *testing.T) {
	e := newEnv(t, testissuer.Options{Algorithms: []string{"RS256", "ES256", "EdDSA"}}, nil)
	iss := e.iss.URL()
	ks, err := e.cache.Keys(context.Background(), iss)
	require.NoError(t, err)
	require.Len(t, ks, 3)
	kids := [][]byte{nil, {}, []byte("no-such-kid")}
	want := map[string]*Key{}
	for _, k := range ks {
		kids = append(kids, []byte(k.KeyID()))
		want[k.KeyID()] = k
	}
	fetched, _, _, _ := e.rec.snapshot()
	st := (*e.cache.hot.Load())[iss]
	require.NotNil(t, st)
	st.used.Store(false)
	for depth := -1; depth <= 4; depth++ {
		allocs := testing.AllocsPerRun(10, func() {
			for _, kid := range kids {
				e.cache.PrefetchKey(iss, kid, depth)
				e.cache.PrefetchKey("https://unknown.example.com", kid, depth)
			}
		})
		assert.Zero(t, allocs, "depth %d", depth)
	}
	assert.False(t, st.used.Load(), "a hint marked the issuer used")
	after, _, _, _ := e.rec.snapshot()
	assert.Len(t, after, len(fetched), "a hint fetched")
	for _, kid := range kids {
		got, ok := e.cache.CachedKey(iss, kid)
		assert.Equal(t, want[string(kid)] != nil, ok, "kid %q", kid)
		assert.Same(t, want[string(kid)], got, "kid %q", kid)
	}
}
