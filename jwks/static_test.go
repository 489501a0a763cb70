package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test proves it is rejected
}

// testSet returns a set with one Ed25519 public key and its kid.
func testSet(t testing.TB) (jwk.Set, string) {
	t.Helper()
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public()
	key, err := jwk.FromRaw(pub)
	require.NoError(t, err)
	require.NoError(t, key.Set(jwk.KeyIDKey, "ed-1"))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(key))
	return set, "ed-1"
}

func mustKey(t *testing.T, raw any, kid string, fields map[string]any) jwk.Key {
	t.Helper()
	key, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	require.NoError(t, key.Set(jwk.KeyIDKey, kid))
	for k, v := range fields {
		require.NoError(t, key.Set(k, v))
	}
	return key
}

func TestStatic(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	set := jwk.NewSet()
	for _, k := range []jwk.Key{
		mustKey(t, &rsaKey.PublicKey, "rsa", map[string]any{jwk.AlgorithmKey: "RS256"}),
		mustKey(t, &ecKey.PublicKey, "ec", nil),
		mustKey(t, &smallRSA.PublicKey, "small", nil),
		mustKey(t, rsaKey, "private-rsa", nil),
		mustKey(t, edPriv, "private-ed", nil),
		mustKey(t, []byte("shared secret"), "hmac", nil),
		mustKey(t, &ecKey.PublicKey, "enc", map[string]any{jwk.KeyUsageKey: "enc"}),
		mustKey(t, &ecKey.PublicKey, "wrong-alg", map[string]any{jwk.AlgorithmKey: "ES384"}),
	} {
		require.NoError(t, set.AddKey(k))
	}
	s := NewStatic("https://static.example", set)
	assert.Equal(t, "https://static.example", s.Issuer())

	for _, kid := range []string{"rsa", "ec"} {
		key, err := s.Key(bg, "https://static.example", kid)
		require.NoError(t, err, kid)
		assert.Equal(t, kid, key.KeyID())
	}
	keys, err := s.Keys(bg, "https://static.example")
	require.NoError(t, err)
	assert.Len(t, keys, 2)

	reasons := map[string]SkipReason{}
	for _, sk := range s.Skipped() {
		reasons[sk.Kid] = sk.Reason
	}
	assert.Equal(t, map[string]SkipReason{
		"small":       SkipRSASize,
		"private-rsa": SkipPrivate,
		"private-ed":  SkipPrivate,
		"hmac":        SkipSymmetric,
		"enc":         SkipUse,
		"wrong-alg":   SkipAlgorithm,
	}, reasons)

	tests := []struct {
		name, issuer, kid string
		want              error
	}{
		{"unknown kid", "https://static.example", "nope", ErrUnknownKey},
		{"skipped kid", "https://static.example", "hmac", ErrUnknownKey},
		{"empty kid", "https://static.example", "", ErrUnknownKey},
		{"other issuer", "https://other.example", "rsa", ErrUnknownIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Key(bg, tt.issuer, tt.kid)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	_, err = s.Keys(bg, "https://other.example")
	assert.ErrorIs(t, err, ErrUnknownIssuer)

	empty := NewStatic("https://none.example", nil)
	_, err = empty.Key(bg, "https://none.example", "x")
	assert.ErrorIs(t, err, ErrUnknownKey)
}
