package jwks

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jwkMaps holds JSON objects of generated keys, built once.
type jwkMaps struct {
	rsa, rsa1024, rsaPriv, p256, p384, p521, ed25519, x25519 map[string]any
}

var (
	testKeysOnce sync.Once
	testKeys     jwkMaps
)

func toMap(t testing.TB, raw any) map[string]any {
	t.Helper()
	key, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	b, err := json.Marshal(key)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func keyMaps(t testing.TB) jwkMaps {
	testKeysOnce.Do(func() {
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		require.NoError(t, err)
		ec := func(c elliptic.Curve) map[string]any {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			require.NoError(t, err)
			return toMap(t, &k.PublicKey)
		}
		edPub, _, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		x, err := ecdh.X25519().GenerateKey(rand.Reader)
		require.NoError(t, err)
		x25519 := map[string]any{"kty": "OKP", "crv": "X25519", "x": b64(x.PublicKey().Bytes())}
		testKeys = jwkMaps{
			rsa: toMap(t, &r.PublicKey), rsa1024: toMap(t, &small.PublicKey), rsaPriv: toMap(t, r),
			p256: ec(elliptic.P256()), p384: ec(elliptic.P384()), p521: ec(elliptic.P521()),
			ed25519: toMap(t, edPub), x25519: x25519,
		}
	})
	return testKeys
}

// with returns a copy of m with members set (nil deletes).
func with(m map[string]any, kv ...any) map[string]any {
	c := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestParseJWKSKeys(t *testing.T) {
	k := keyMaps(t)
	offCurve := func() map[string]any {
		y, _ := base64.RawURLEncoding.DecodeString(k.p256["y"].(string))
		y[len(y)-1] ^= 1
		return with(k.p256, "y", b64(y))
	}()
	tests := []struct {
		name string
		key  any
		want SkipReason // 0: usable
	}{
		{"RSA 2048", with(k.rsa, "kid", "a"), 0},
		{"RSA with alg and use", with(k.rsa, "kid", "a", "alg", "PS384", "use", "sig"), 0},
		{"RSA key_ops verify", with(k.rsa, "kid", "a", "key_ops", []string{"verify"}), 0},
		{"P-256", with(k.p256, "kid", "a", "alg", "ES256"), 0},
		{"P-384", with(k.p384, "kid", "a"), 0},
		{"P-521", with(k.p521, "kid", "a", "alg", "ES512"), 0},
		{"Ed25519", with(k.ed25519, "kid", "a", "alg", "EdDSA"), 0},
		{"no kid", k.rsa, 0},
		{"symmetric", map[string]any{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}, SkipSymmetric},
		{"RSA 1024", with(k.rsa1024, "kid", "a"), SkipRSASize},
		{"RSA even exponent", with(k.rsa, "e", b64([]byte{1, 0, 0})), SkipRSAInvalid},
		{"RSA exponent 1", with(k.rsa, "e", b64([]byte{1})), SkipRSAInvalid},
		{"RSA exponent over 32 bits", with(k.rsa, "e", b64([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1})), SkipRSAInvalid},
		{"RSA private", with(k.rsaPriv, "kid", "a"), SkipPrivate},
		{"public with d", with(k.p256, "d", "AAAA"), SkipPrivate},
		{"EC off curve", offCurve, SkipNotOnCurve},
		{"EC short x", with(k.p256, "x", b64(make([]byte, 31))), SkipNotOnCurve},
		{"EC wrong alg", with(k.p256, "alg", "ES384"), SkipAlgorithm},
		{"EC unknown curve", with(k.p256, "crv", "secp256k1"), SkipCurve},
		{"X25519", with(k.x25519, "kid", "a"), SkipCurve},
		{"Ed25519 with ES256", with(k.ed25519, "alg", "ES256"), SkipAlgorithm},
		{"use enc", with(k.rsa, "use", "enc"), SkipUse},
		{"use other", with(k.rsa, "use", "whatever"), SkipUse},
		{"key_ops sign only", with(k.rsa, "key_ops", []string{"sign"}), SkipKeyOps},
		{"key_ops empty", with(k.rsa, "key_ops", []string{}), SkipKeyOps},
		{"key_ops unknown op", with(k.rsa, "key_ops", []string{"verify", "launch"}), SkipMalformed},
		{"RSA with HS256", with(k.rsa, "alg", "HS256"), SkipAlgorithm},
		{"RSA with none", with(k.rsa, "alg", "none"), SkipAlgorithm},
		{"unknown kty", map[string]any{"kty": "PQC", "kid": "a"}, SkipUnknownType},
		{"missing kty", with(k.rsa, "kty", nil), SkipUnknownType},
		{"kid not a string", with(k.rsa, "kid", 7), SkipMalformed},
		{"kty not a string", with(k.rsa, "kty", []string{"RSA"}), SkipMalformed},
		{"not an object", 42, SkipMalformed},
		{"RSA missing n", with(k.rsa, "n", nil), SkipMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"keys": []any{tt.key}})
			require.NoError(t, err)
			keys, skipped, err := ParseJWKS(doc)
			require.NoError(t, err)
			if tt.want == 0 {
				assert.Len(t, keys, 1)
				assert.Empty(t, skipped)
				return
			}
			assert.Empty(t, keys)
			require.Len(t, skipped, 1)
			assert.Equal(t, tt.want, skipped[0].Reason, "skip reason (%v)", skipped[0].Err)
			assert.Equal(t, 0, skipped[0].Index)
		})
	}
}

func TestParseJWKSDuplicateKids(t *testing.T) {
	k := keyMaps(t)
	doc, err := json.Marshal(map[string]any{"keys": []any{
		with(k.rsa, "kid", "dup"),
		with(k.p256, "kid", "shared"),
		with(k.rsa1024, "kid", "x"),
		with(k.rsa, "kid", "dup", "alg", "RS512"),
		with(k.rsa, "kid", "shared"),
		with(k.p384, "kid", "unique"),
		with(k.rsa1024, "kid", "unique"), // skipped for size: does not make "unique" ambiguous
	}})
	require.NoError(t, err)
	keys, skipped, err := ParseJWKS(doc)
	require.NoError(t, err)
	var kids []string
	for _, key := range keys {
		kids = append(kids, key.KeyID()+"/"+key.KeyType())
	}
	assert.Equal(t, []string{"shared/EC", "shared/RSA", "unique/EC"}, kids)
	byIndex := map[int]SkipReason{}
	for _, sk := range skipped {
		byIndex[sk.Index] = sk.Reason
	}
	assert.Equal(t, map[int]SkipReason{0: SkipDuplicateKid, 2: SkipRSASize, 3: SkipDuplicateKid, 6: SkipRSASize}, byIndex)

	// Key returns the first of the kids shared across key types; Keys has both.
	snap := newSnapshot(keys, nil)
	assert.Equal(t, "EC", snap.byKid["shared"].KeyType())
	assert.Len(t, snap.all, 3)
}

func TestParseJWKSDocuments(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"empty set", `{"keys":[]}`, true},
		{"extra members", `{"keys":[],"other":1}`, true},
		{"not JSON", `<html>`, false},
		{"array", `[]`, false},
		{"null", `null`, false},
		{"no keys", `{}`, false},
		{"keys is object", `{"keys":{}}`, false},
		{"keys is null", `{"keys":null}`, false},
		{"Keys capitalised", `{"Keys":[]}`, false},
		{"trailing garbage", `{"keys":[]} x`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, _, err := ParseJWKS([]byte(tt.doc))
			if tt.ok {
				assert.NoError(t, err)
				assert.Empty(t, keys)
			} else {
				assert.ErrorIs(t, err, ErrInvalidDocument)
			}
		})
	}
}

func TestParseDiscovery(t *testing.T) {
	const iss = "https://oidc.example/id/ABC"
	tests := []struct {
		name string
		doc  string
		want string
		err  error
	}{
		{"ok", `{"issuer":"https://oidc.example/id/ABC","jwks_uri":"https://keys.example/k"}`, "https://keys.example/k", nil},
		{"jwks on another host with query", `{"issuer":"https://oidc.example/id/ABC","jwks_uri":"https://k.example/k?v=1"}`, "https://k.example/k?v=1", nil},
		{"trailing slash", `{"issuer":"https://oidc.example/id/ABC/","jwks_uri":"https://k.example/k"}`, "", ErrIssuerMismatch},
		{"case differs", `{"issuer":"https://OIDC.example/id/ABC","jwks_uri":"https://k.example/k"}`, "", ErrIssuerMismatch},
		{"issuer member capitalised", `{"Issuer":"https://oidc.example/id/ABC","jwks_uri":"https://k.example/k"}`, "", ErrInvalidDocument},
		{"issuer not string", `{"issuer":1,"jwks_uri":"https://k.example/k"}`, "", ErrInvalidDocument},
		{"no jwks_uri", `{"issuer":"https://oidc.example/id/ABC"}`, "", ErrInvalidDocument},
		{"http jwks_uri", `{"issuer":"https://oidc.example/id/ABC","jwks_uri":"http://k.example/k"}`, "", ErrInsecureURL},
		{"relative jwks_uri", `{"issuer":"https://oidc.example/id/ABC","jwks_uri":"/k"}`, "", ErrInsecureURL},
		{"userinfo", `{"issuer":"https://oidc.example/id/ABC","jwks_uri":"https://a:b@k.example/k"}`, "", ErrInsecureURL},
		{"no host", `{"issuer":"https://oidc.example/id/ABC","jwks_uri":"https:///k"}`, "", ErrInsecureURL},
		{"not an object", `"x"`, "", ErrInvalidDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDiscovery([]byte(tt.doc), iss)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDiscoveryURL(t *testing.T) {
	tests := []struct{ issuer, want string }{
		{"https://a.example", "https://a.example/.well-known/openid-configuration"},
		{"https://a.example/", "https://a.example/.well-known/openid-configuration"},
		{"https://a.example/id/X", "https://a.example/id/X/.well-known/openid-configuration"},
		{"https://a.example/id/X/", "https://a.example/id/X/.well-known/openid-configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			assert.Equal(t, tt.want, DiscoveryURL(tt.issuer))
		})
	}
}

// A set with more than MaxKeys usable keys keeps the first MaxKeys in document order and skips
// the rest with SkipTooMany, in ParseJWKS; NewStatic refuses more than MaxKeys.
func TestMaxKeysPerSet(t *testing.T) {
	set := jwk.NewSet()
	for i := range MaxKeys + 3 {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		k, err := jwk.FromRaw(&priv.PublicKey)
		require.NoError(t, err)
		require.NoError(t, k.Set(jwk.KeyIDKey, "k"+string(rune('A'+i/26))+string(rune('a'+i%26))))
		require.NoError(t, set.AddKey(k))
	}
	doc, err := json.Marshal(set)
	require.NoError(t, err)

	keys, skipped, err := ParseJWKS(doc)
	require.NoError(t, err)
	require.Len(t, keys, MaxKeys)
	require.Len(t, skipped, 3)
	for i, sk := range skipped {
		assert.Equal(t, SkipTooMany, sk.Reason)
		assert.Equal(t, MaxKeys+i, sk.Index, "the last keys of the document are skipped")
	}

	_, err = NewStatic("https://issuer.example.com", keys...)
	require.NoError(t, err, "MaxKeys static keys are fine")
	more, err := NewKey(keys[0].Public(), "one more", "")
	require.NoError(t, err)
	_, err = NewStatic("https://issuer.example.com", append(keys, more)...)
	var ke *KeyError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, SkipTooMany, ke.Reason)
}
