package jwks

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"unsafe"

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

// The inline kid entries answer exactly as byKid does, whether the set fits them (up to
// inlineKids kids of inlineKidBytes in all) or not (then byKid answers); keys without kid and
// the second key under a shared kid are not found by kid, and every key is still had.
func TestSnapshotKeyByKid(t *testing.T) {
	newKey := func(kid string) *Key {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		k, err := NewKey(pub, kid, "")
		require.NoError(t, err)
		return k
	}
	long := strings.Repeat("x", inlineKidBytes/2)
	cases := []struct {
		name   string
		kids   []string
		inline bool
	}{
		{"one", []string{"a"}, true},
		{"four", []string{"a", "b", "c", "d"}, true},
		{"five", []string{"a", "b", "c", "d", "e"}, false},
		{"without kid", []string{"", "a", ""}, true},
		{"shared kid", []string{"a", "a", "b"}, true},
		{"bytes just fit", []string{long, long}, true},
		{"bytes overflow", []string{long, long, "z"}, false},
		{"kube-apiserver kids", []string{strings.Repeat("k", 43), strings.Repeat("l", 43), strings.Repeat("m", 43)}, true},
		{"empty set", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys := make([]*Key, len(tc.kids))
			for i, kid := range tc.kids {
				if i > 0 && kid == long {
					kid = long[:len(long)-1] + "y" // a distinct kid of the same length
				}
				keys[i] = newKey(kid)
			}
			s := newSnapshot(keys, nil)
			assert.Equal(t, tc.inline, s.nKids >= 0, "inline entries used")
			for _, k := range keys {
				assert.True(t, s.has(k))
				if k.KeyID() == "" {
					continue
				}
				got, ok := s.key(k.KeyID())
				assert.True(t, ok)
				assert.Same(t, s.byKid[k.KeyID()], got)
			}
			for _, absent := range []string{"", "q", "aa", long + "x", strings.Repeat("k", 42)} {
				got, ok := s.key(absent)
				want, wantOK := s.byKid[absent]
				assert.Equal(t, wantOK, ok, absent)
				assert.Same(t, want, got, absent)
			}
		})
	}
}

// setChain spells a chain's fingerprints in lower-case hex, inline when they fit and in a
// slice of their own when not; nil stays nil (static keys: no TLS chain), and an empty chain
// stays non-nil (fetched, over no verified chain). The caller's slice is never kept.
func TestSnapshotChain(t *testing.T) {
	fp := func(b byte) (f [20]byte) {
		f[0], f[19] = b, 0xAB
		return f
	}
	for _, n := range []int{0, 1, inlineChain, inlineChain + 1} {
		chain := make([][20]byte, n)
		want := make([][40]byte, n)
		for i := range chain {
			chain[i] = fp(byte(i + 1))
			hex.Encode(want[i][:], chain[i][:])
		}
		var s snapshot
		s.setChain(chain)
		assert.NotNil(t, s.chain)
		assert.Equal(t, want, s.chain, "n=%d", n)
		assert.Equal(t, n <= inlineChain, n == 0 || &s.chain[0] == &s.chainBuf[0], "n=%d: inline when it fits", n)
		if n > 0 {
			assert.Equal(t, "01"+strings.Repeat("00", 18)+"ab", string(s.chain[0][:]), "lower-case hex")
			chain[0] = fp(99)
			assert.Equal(t, want[0], s.chain[0], "n=%d: the caller's slice is not kept", n)
		}
	}
	var s snapshot
	s.setChain(nil)
	assert.Nil(t, s.chain)
}

// A parsed key's kty, crv, alg and use are the package's constant strings (the same bytes for
// every key), whatever buffer the JWKS was parsed from.
func TestKeyStringsInterned(t *testing.T) {
	doc := []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`)
	keys, _, _, err := parseJWKS(doc)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	k := keys[0]
	for _, s := range []string{k.KeyType(), k.Curve(), k.Algorithm(), k.Use()} {
		c, ok := interned[s]
		require.True(t, ok, s)
		assert.Same(t, unsafe.StringData(c), unsafe.StringData(s), s)
	}
}
