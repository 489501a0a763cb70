package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/jwks"
)

// The unit tests' provider and clock.
const (
	testIssuer   = "https://oidc.example.com/id/TEST"
	testARN      = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/TEST"
	testClientID = "sts.amazonaws.com"
	testRoleARN  = "arn:aws:iam::111122223333:role/app"
)

var testNow = time.Unix(1_700_000_000, 0)

func testClock() time.Time { return testNow }

// fakeKeys is a KeySource built from function fields.
type fakeKeys struct {
	key  func(ctx context.Context, issuer, kid string) (*jwks.Key, error)
	keys func(ctx context.Context, issuer string) ([]*jwks.Key, error)
}

var _ KeySource = (*fakeKeys)(nil)

func (f *fakeKeys) Key(ctx context.Context, issuer, kid string) (*jwks.Key, error) {
	return f.key(ctx, issuer, kid)
}

func (f *fakeKeys) Keys(ctx context.Context, issuer string) ([]*jwks.Key, error) {
	return f.keys(ctx, issuer)
}

// mapKeys serves keys by kid for every issuer, with jwks's sentinel errors.
func mapKeys(keys ...*testKey) *fakeKeys {
	byKid := map[string]*jwks.Key{}
	var all []*jwks.Key
	for _, k := range keys {
		byKid[k.kid] = k.key
		all = append(all, k.key)
	}
	return &fakeKeys{
		key: func(_ context.Context, _, kid string) (*jwks.Key, error) {
			if k, ok := byKid[kid]; ok {
				return k, nil
			}
			return nil, jwks.ErrUnknownKey
		},
		keys: func(context.Context, string) ([]*jwks.Key, error) {
			return all, nil
		},
	}
}

// testKey is a signing key with its public key as jwks builds it.
type testKey struct {
	alg    string
	kid    string
	signer crypto.Signer
	key    *jwks.Key
}

var (
	keyMu         sync.Mutex
	generatedKeys = map[string]crypto.Signer{}
)

// privateKey returns a key for alg, generated once per test binary.
func privateKey(t testing.TB, alg string) crypto.Signer {
	keyMu.Lock()
	defer keyMu.Unlock()
	kind := alg
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		kind = "RSA2048"
	}
	if k, ok := generatedKeys[kind]; ok {
		return k
	}
	var k crypto.Signer
	var err error
	switch kind {
	case "RSA2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key for %s", alg)
	}
	require.NoError(t, err)
	generatedKeys[kind] = k
	return k
}

// newTestKey returns a key for alg with the given kid, whose public key carries alg.
func newTestKey(t testing.TB, alg, kid string) *testKey {
	t.Helper()
	signer := privateKey(t, alg)
	return keyFromSigner(t, alg, kid, signer, true)
}

func keyFromSigner(t testing.TB, alg, kid string, signer crypto.Signer, withAlg bool) *testKey {
	t.Helper()
	keyAlg := ""
	if withAlg {
		keyAlg = alg
	}
	k, err := jwks.NewKey(signer.Public(), kid, keyAlg)
	require.NoError(t, err)
	return &testKey{alg: alg, kid: kid, signer: signer, key: k}
}

// staticKeys returns a jwks.Static for testIssuer holding the keys.
func staticKeys(t testing.TB, keys ...*testKey) *jwks.Static {
	t.Helper()
	var list []*jwks.Key
	for _, k := range keys {
		list = append(list, k.key)
	}
	s, err := jwks.NewStatic(testIssuer, list...)
	require.NoError(t, err)
	return s
}

var b64e = base64.RawURLEncoding

// sign signs input the way JOSE alg specifies, with Go's crypto.
func sign(t testing.TB, alg string, signer crypto.Signer, input []byte) []byte {
	t.Helper()
	h := map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}[alg[len(alg)-3:]]
	digest := func() []byte {
		hh := h.New()
		hh.Write(input)
		return hh.Sum(nil)
	}
	switch alg[:2] {
	case "RS":
		sig, err := rsa.SignPKCS1v15(rand.Reader, signer.(*rsa.PrivateKey), h, digest())
		require.NoError(t, err)
		return sig
	case "PS":
		sig, err := rsa.SignPSS(rand.Reader, signer.(*rsa.PrivateKey), h, digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		require.NoError(t, err)
		return sig
	case "ES":
		k := signer.(*ecdsa.PrivateKey)
		r, s, err := ecdsa.Sign(rand.Reader, k, digest())
		require.NoError(t, err)
		size := (k.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig
	case "Ed":
		return ed25519.Sign(signer.(ed25519.PrivateKey), input)
	}
	t.Fatalf("cannot sign %s", alg)
	return nil
}

// compactJWS builds header.payload.signature from raw JSON texts, signing with k under alg.
func compactJWS(t testing.TB, k *testKey, alg, header, payload string) string {
	t.Helper()
	input := b64e.EncodeToString([]byte(header)) + "." + b64e.EncodeToString([]byte(payload))
	return input + "." + b64e.EncodeToString(sign(t, alg, k.signer, []byte(input)))
}

// mustJSON encodes v.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// baseClaims returns valid claims for testIssuer at testNow.
func baseClaims() map[string]any {
	return map[string]any{
		"iss": testIssuer,
		"sub": "system:serviceaccount:default:app",
		"aud": testClientID,
		"iat": testNow.Unix(),
		"nbf": testNow.Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
	}
}

// mint signs claims with k, with header {"alg","kid","typ":"JWT"} edited by edits (nil values
// delete).
func mint(t testing.TB, k *testKey, claims map[string]any, edits map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": k.alg, "kid": k.kid, "typ": "JWT"}
	for n, v := range edits {
		if v == nil {
			delete(h, n)
		} else {
			h[n] = v
		}
	}
	return compactJWS(t, k, k.alg, mustJSON(t, h), mustJSON(t, claims))
}

// with returns a copy of m with edits applied (nil values delete).
func with(m map[string]any, edits map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range edits {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// testProvider is the unit tests' provider.
func testProvider() Provider {
	return Provider{URL: testIssuer, ARN: testARN, ClientIDs: []string{testClientID}}
}

// newTestVerifier returns a verifier for testProvider over keys, with the fixed clock and the
// token cache off unless opts say otherwise.
func newTestVerifier(t testing.TB, keys KeySource, edit func(*Options)) *Verifier {
	t.Helper()
	opts := Options{
		Providers:      []Provider{testProvider()},
		Keys:           keys,
		Now:            testClock,
		TokenCacheSize: -1,
	}
	if edit != nil {
		edit(&opts)
	}
	v, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// reasonOf returns the Reason and Code of err, failing the test if err is not an *Error.
func reasonOf(t testing.TB, err error) (Reason, Code) {
	t.Helper()
	var e *Error
	require.ErrorAs(t, err, &e)
	return e.Reason, e.Code
}
