package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test proves it is rejected
}

// testSet returns one Ed25519 public key and its kid.
func testSet(t testing.TB) ([]*Key, string) {
	t.Helper()
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public()
	key, err := NewKey(pub, "ed-1", "")
	require.NoError(t, err)
	return []*Key{key}, "ed-1"
}

func mustNewKey(t testing.TB, pub any, kid, alg string) *Key {
	t.Helper()
	k, err := NewKey(pub, kid, alg)
	require.NoError(t, err)
	return k
}

func TestNewKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	evenExp := &rsa.PublicKey{N: rsaKey.N, E: 65536}

	tests := []struct {
		name      string
		pub       any
		alg       string
		want      SkipReason // 0: usable
		kty, crv  string
		bits      int
		wantAlg   string
		publicKey any
	}{
		{name: "RSA", pub: &rsaKey.PublicKey, alg: "RS256", kty: "RSA", bits: 2048, wantAlg: "RS256"},
		{name: "RSA PSS", pub: &rsaKey.PublicKey, alg: "PS512", kty: "RSA", bits: 2048, wantAlg: "PS512"},
		{name: "RSA no alg", pub: &rsaKey.PublicKey, kty: "RSA", bits: 2048},
		{name: "EC P-256", pub: &ecKey.PublicKey, alg: "ES256", kty: "EC", crv: "P-256", wantAlg: "ES256"},
		{name: "Ed25519", pub: edPub, alg: "EdDSA", kty: "OKP", crv: "Ed25519", wantAlg: "EdDSA"},
		{name: "RSA too small", pub: &smallRSA.PublicKey, want: SkipRSASize},
		{name: "RSA even exponent", pub: evenExp, want: SkipRSAInvalid},
		{name: "EC wrong alg", pub: &ecKey.PublicKey, alg: "ES384", want: SkipAlgorithm},
		{name: "RSA with EC alg", pub: &rsaKey.PublicKey, alg: "ES256", want: SkipAlgorithm},
		{name: "Ed25519 with HMAC alg", pub: edPub, alg: "HS256", want: SkipAlgorithm},
		{name: "P-224", pub: &p224.PublicKey, want: SkipCurve},
		{name: "Ed25519 short", pub: edPub[:31], want: SkipNotOnCurve},
		{name: "RSA private", pub: rsaKey, want: SkipPrivate},
		{name: "Ed25519 private", pub: edPriv, want: SkipPrivate},
		{name: "secret", pub: []byte("shared secret"), want: SkipUnknownType},
		{name: "nil", pub: nil, want: SkipUnknownType},
		{name: "nil RSA", pub: (*rsa.PublicKey)(nil), want: SkipMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKey(tt.pub, "kid-1", tt.alg)
			if tt.want != 0 {
				var ke *KeyError
				require.ErrorAs(t, err, &ke)
				assert.Equal(t, tt.want, ke.Reason)
				assert.Nil(t, k)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "kid-1", k.KeyID())
			assert.Equal(t, tt.kty, k.KeyType())
			assert.Equal(t, tt.crv, k.Curve())
			assert.Equal(t, tt.bits, k.Bits())
			assert.Equal(t, tt.wantAlg, k.Algorithm())
			assert.True(t, publicKeyEqual(k.Public(), tt.pub))
			assert.NotEqual(t, [32]byte{}, k.Thumbprint())
		})
	}
}

// The thumbprint is RFC 7638's: the same as a JWKS-parsed copy of the key has, and the example
// of RFC 7638 section 3.1 gives the published value.
func TestThumbprint(t *testing.T) {
	const rfc7638 = `{"keys":[{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}]}`
	keys, _, err := ParseJWKS([]byte(rfc7638))
	require.NoError(t, err)
	require.Len(t, keys, 1)
	tp := keys[0].Thumbprint()
	want, err := base64.RawURLEncoding.DecodeString("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
	require.NoError(t, err)
	assert.Equal(t, want, tp[:])
	again := mustNewKey(t, keys[0].Public(), "other kid", "")
	assert.Equal(t, tp, again.Thumbprint(), "kid and alg are not part of the thumbprint")
}

func TestParsePEM(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	pkix := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)
	iss := testissuer.Start(t, testissuer.Options{})
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Certificate().Raw})
	join := func(parts ...[]byte) (out []byte) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}

	tests := []struct {
		name  string
		data  []byte
		want  []any      // public keys, in order
		fail  SkipReason // 0: success
		index int        // the failing block
	}{
		{name: "PKIX keys of every type", data: join(pkix(&rsaKey.PublicKey), []byte("comment\n"), pkix(&ecKey.PublicKey), pkix(edPub)),
			want: []any{&rsaKey.PublicKey, &ecKey.PublicKey, edPub}},
		{name: "PKCS1 RSA", data: pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}),
			want: []any{&rsaKey.PublicKey}},
		{name: "certificate", data: cert, want: []any{iss.Certificate().PublicKey}},
		{name: "private key", data: join(pkix(edPub), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), fail: SkipPrivate, index: 1},
		{name: "other block", data: pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{1}}), fail: SkipUnknownType},
		{name: "garbage DER", data: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2}}), fail: SkipMalformed},
		{name: "small RSA", data: join(pkix(edPub), pkix(&smallRSA.PublicKey)), fail: SkipRSASize, index: 1},
		{name: "no block", data: []byte("not PEM"), fail: SkipMalformed},
		{name: "empty", data: nil, fail: SkipMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParsePEM(tt.data)
			if tt.fail != 0 {
				var ke *KeyError
				require.ErrorAs(t, err, &ke)
				assert.Equal(t, tt.fail, ke.Reason)
				assert.Equal(t, tt.index, ke.Index)
				return
			}
			require.NoError(t, err)
			require.Len(t, keys, len(tt.want))
			for i, k := range keys {
				assert.True(t, publicKeyEqual(k.Public(), tt.want[i]), "key %d", i)
				kid, err := testissuer.KubeKeyID(tt.want[i])
				require.NoError(t, err)
				assert.Equal(t, kid, k.KeyID(), "kube-apiserver's kid")
				assert.Empty(t, k.Algorithm())
			}
		})
	}
}

func TestStatic(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaK := mustNewKey(t, &rsaKey.PublicKey, "rsa", "RS256")
	ecK := mustNewKey(t, &ecKey.PublicKey, "ec", "")
	s, err := NewStatic("https://static.example", rsaK, ecK)
	require.NoError(t, err)
	assert.Equal(t, "https://static.example", s.Issuer())

	for _, k := range []*Key{rsaK, ecK} {
		key, err := s.Key(bg, "https://static.example", k.KeyID())
		require.NoError(t, err)
		assert.Same(t, k, key)
	}
	keys, err := s.Keys(bg, "https://static.example")
	require.NoError(t, err)
	assert.Equal(t, []*Key{rsaK, ecK}, keys)

	tests := []struct {
		name, issuer, kid string
		want              error
	}{
		{"unknown kid", "https://static.example", "nope", ErrUnknownKey},
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

	empty, err := NewStatic("https://none.example")
	require.NoError(t, err)
	_, err = empty.Key(bg, "https://none.example", "x")
	assert.ErrorIs(t, err, ErrUnknownKey)
}

func TestNewStaticRefuses(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	a := mustNewKey(t, &ecKey.PublicKey, "k", "")
	sameKidOtherKey := mustNewKey(t, &other.PublicKey, "k", "")
	sameKidRSA := mustNewKey(t, &rsaKey.PublicKey, "k", "")
	var many []*Key
	for range MaxKeys + 1 {
		many = append(many, mustNewKey(t, &ecKey.PublicKey, "", ""))
	}

	tests := []struct {
		name   string
		issuer string
		keys   []*Key
		reason SkipReason // 0: accepted
		target error      // checked with errors.Is when set
	}{
		{name: "kid shared across key types", issuer: "https://s.example", keys: []*Key{a, sameKidRSA}},
		{name: "ambiguous kid", issuer: "https://s.example", keys: []*Key{a, sameKidOtherKey}, reason: SkipDuplicateKid},
		{name: "nil key", issuer: "https://s.example", keys: []*Key{a, nil}, reason: SkipMalformed},
		{name: "zero key", issuer: "https://s.example", keys: []*Key{{}}, reason: SkipMalformed},
		{name: "too many", issuer: "https://s.example", keys: many, reason: SkipTooMany},
		{name: "kid-less keys may repeat", issuer: "https://s.example", keys: many[:MaxKeys]},
		{name: "bad issuer", issuer: "http://s.example", keys: []*Key{a}, target: ErrUnknownIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewStatic(tt.issuer, tt.keys...)
			c, rerr := New(Options{Issuers: []IssuerConfig{{Issuer: tt.issuer, Keys: tt.keys}}})
			if c != nil {
				require.NoError(t, c.Close())
			}
			switch {
			case tt.target != nil:
				assert.ErrorIs(t, err, tt.target)
				assert.ErrorIs(t, rerr, tt.target)
			case tt.reason != 0:
				for _, err := range []error{err, rerr} {
					var ke *KeyError
					require.ErrorAs(t, err, &ke)
					assert.Equal(t, tt.reason, ke.Reason)
				}
				assert.Nil(t, s)
			default:
				require.NoError(t, err)
				require.NoError(t, rerr)
				keys, err := s.Keys(bg, tt.issuer)
				require.NoError(t, err)
				assert.Len(t, keys, len(tt.keys))
			}
		})
	}
}
