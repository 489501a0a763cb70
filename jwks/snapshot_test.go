package jwks

import (
	"crypto/ed25519"
	"crypto/rand"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A snapshot has exactly the keys it lists, by identity, for a few keys (the pointer scan)
// and for many (the identity map); a key listed twice is had under the pointer Key returns
// (the first), and another *Key of the same material is not.
func TestSnapshotHas(t *testing.T) {
	newKey := func(kid string) *Key {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		k, err := NewKey(pub, kid, "EdDSA")
		require.NoError(t, err)
		return k
	}
	for _, n := range []int{1, 3, 16, 17, 40} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			keys := make([]*Key, n)
			for i := range keys {
				keys[i] = newKey("k" + strconv.Itoa(i))
			}
			s := newSnapshot(keys, nil)
			for _, k := range keys {
				assert.True(t, s.has(k), k.KeyID())
			}
			again, err := NewKey(keys[0].Public(), keys[0].KeyID(), "EdDSA") // same identity, another pointer
			require.NoError(t, err)
			assert.False(t, s.has(again))
			assert.False(t, s.has(newKey("k0")))
			assert.False(t, s.has(nil))
		})
	}
	k := newKey("dup")
	dup, err := NewKey(k.Public(), "dup", "EdDSA")
	require.NoError(t, err)
	s := newSnapshot([]*Key{k, dup}, nil)
	assert.Same(t, k, s.byKid["dup"], "Key serves the first")
	assert.True(t, s.has(k), "the key Key serves is the snapshot's")
}
