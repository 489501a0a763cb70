package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// Adversary of the full path's key choice by the header's raw kid bytes (5b6a28e:
// verifyFull asks jwks.Cache.CachedKey, verifySignature skips pickKey for a key that fits
// alg) over the snapshot's inline kid entries (ac3b14d), through a real TLS issuer whose
// JWKS document the test writes. Each token is decided with the token cache off, so every
// decision is the full path's.

// todayKey is a signing key of its own (not privateKey's shared one) with the kid its JWK
// carries and the JSON spelling of that kid in the document.
type todayKey struct {
	tk      *testKey
	kidJSON string // the kid member's JSON literal in the JWKS ("" : the kid JSON-quoted)
	extra   string // extra JWK members
}

func newTodayKey(t *testing.T, alg, kid string) *todayKey {
	var s crypto.Signer
	var err error
	switch alg {
	case "ES256":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("alg %s", alg)
	}
	require.NoError(t, err)
	return &todayKey{tk: keyFromSigner(t, alg, kid, s, false)}
}

func (k *todayKey) jwk(t *testing.T) string {
	kid := k.kidJSON
	if kid == "" {
		kid = mustJSON(t, k.tk.kid)
	}
	switch pub := k.tk.signer.Public().(type) {
	case *ecdsa.PublicKey:
		b, err := pub.Bytes() // 0x04 || X || Y
		require.NoError(t, err)
		x, y := b[1:33], b[33:]
		return `{"kty":"EC","crv":"P-256","x":"` + b64e.EncodeToString(x) + `","y":"` + b64e.EncodeToString(y) + `","kid":` + kid + k.extra + `}`
	case ed25519.PublicKey:
		return `{"kty":"OKP","crv":"Ed25519","x":"` + b64e.EncodeToString(pub) + `","kid":` + kid + k.extra + `}`
	}
	t.Fatal("key type")
	return ""
}

type todayWorld struct {
	iss   *testissuer.Issuer
	other *testissuer.Issuer
	cache *jwks.Cache
	v     *Verifier
	now   time.Time
}

// newTodayWorld starts two issuers (the second shares httptest's certificate) and a verifier
// over one jwks.Cache with a provider for each.
func newTodayWorld(t *testing.T) *todayWorld {
	w := &todayWorld{now: testNow}
	w.iss = testissuer.Start(t, testissuer.Options{Path: "/id/TODAY"})
	w.other = testissuer.Start(t, testissuer.Options{Path: "/id/OTHER"})
	clock := func() time.Time { return w.now }
	c, err := jwks.New(jwks.Options{HTTPClient: w.iss.Client(), AllowPrivateAddresses: true, Now: clock, MinRefreshInterval: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	w.cache = c
	w.v, err = New(Options{
		Providers: []Provider{
			{URL: w.iss.URL(), ARN: w.iss.ProviderARN("111122223333"), ClientIDs: []string{testClientID}},
			{URL: w.other.URL(), ARN: w.other.ProviderARN("111122223333"), ClientIDs: []string{testClientID}},
		},
		Keys:           c,
		Now:            clock,
		TokenCacheSize: -1,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.v.Close() })
	return w
}

func (w *todayWorld) publish(t *testing.T, iss *testissuer.Issuer, keys ...*todayKey) {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.jwk(t)
	}
	iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: []byte(`{"keys":[` + strings.Join(parts, ",") + `]}`), Header: http.Header{"Cache-Control": {"max-age=60"}}})
}

func (w *todayWorld) claims(iss *testissuer.Issuer) string {
	return `{"iss":"` + iss.URL() + `","sub":"system:serviceaccount:default:app","aud":"` + testClientID +
		`","iat":` + itoa(testNow.Unix()) + `,"exp":` + itoa(testNow.Add(time.Hour).Unix()) + `}`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// token is a token of iss signed by k, whose header's kid member is the JSON literal kidJSON
// ("-": no kid member).
func (w *todayWorld) token(t *testing.T, iss *testissuer.Issuer, k *todayKey, kidJSON string) string {
	h := `{"alg":"` + k.tk.alg + `","typ":"JWT"`
	if kidJSON != "-" {
		h += `,"kid":` + kidJSON
	}
	h += `}`
	return compactJWS(t, k.tk, k.tk.alg, h, w.claims(iss))
}

func (w *todayWorld) verify(tok string) (*Token, error) {
	return w.v.Verify(context.Background(), tok)
}

// HOLDS (each case): a token is accepted only with the key its kid names, whatever the kid
// shapes; the Token's KeyID is that key's kid.
func TestAdversaryTodayKidBytes(t *testing.T) {
	w := newTodayWorld(t)
	a, ab, abc, abcd := newTodayKey(t, "EdDSA", "a"), newTodayKey(t, "EdDSA", "ab"), newTodayKey(t, "EdDSA", "abc"), newTodayKey(t, "EdDSA", "abcd")
	w.publish(t, w.iss, a, ab, abc, abcd)

	type tc struct {
		name    string
		k       *todayKey
		kidJSON string
		ok      bool
		kid     string // the Token's KeyID when ok
		reason  Reason // when refused
	}
	run := func(t *testing.T, cases []tc) {
		for _, c := range cases {
			got, err := w.verify(w.token(t, w.iss, c.k, c.kidJSON))
			if c.ok {
				if assert.NoError(t, err, c.name) {
					assert.Equal(t, c.kid, got.KeyID, c.name)
				}
				continue
			}
			// FINDING if it fails: a token accepted with a key other than its kid's.
			if assert.Error(t, err, c.name) {
				reason, code := reasonOf(t, err)
				assert.Equal(t, c.reason, reason, c.name)
				assert.Equal(t, CodeInvalidIdentityToken, code, c.name)
			}
		}
	}
	prefixCases := []tc{
		{"own kid a", a, `"a"`, true, "a", 0},
		{"own kid abcd", abcd, `"abcd"`, true, "abcd", 0},
		{"own kid escaped", ab, `"a\u0062"`, true, "ab", 0},
		{"own kid escaped slash-free", abc, `"\u0061bc"`, true, "abc", 0},
		{"ab's token under kid a (a prefix)", ab, `"a"`, false, "", ReasonBadSignature},
		{"a's token under kid ab (an extension)", a, `"ab"`, false, "", ReasonBadSignature},
		{"abc's token under escaped kid ab", abc, `"a\u0062"`, false, "", ReasonBadSignature},
		{"abcd's token under kid abcde (absent)", abcd, `"abcde"`, false, "", ReasonUnknownKey},
		{"kid A (case)", a, `"A"`, false, "", ReasonUnknownKey},
		{"kid with NUL", a, `"a\u0000"`, false, "", ReasonUnknownKey},
		{"empty kid", a, `""`, false, "", ReasonUnknownKey},
		{"no kid, four keys fit", a, `-`, false, "", ReasonKidRequired},
	}
	t.Run("prefixes inline", func(t *testing.T) { run(t, prefixCases) })

	// A fifth key: the kids leave the inline entries for the map.
	e := newTodayKey(t, "EdDSA", "abcde")
	w.publish(t, w.iss, a, ab, abc, abcd, e)
	w.now = w.now.Add(10 * time.Minute)
	_, _ = w.verify(w.token(t, w.iss, e, `"abcde"`)) // the refresh for the new kid
	fiveCases := append([]tc{}, prefixCases...)
	for i := range fiveCases {
		if fiveCases[i].name == "abcd's token under kid abcde (absent)" {
			fiveCases[i].reason = ReasonBadSignature // abcde is now a key, another one
		}
	}
	fiveCases = append(fiveCases, tc{"own kid abcde", e, `"abcde"`, true, "abcde", 0})
	t.Run("prefixes in the map", func(t *testing.T) { run(t, fiveCases) })

	// The other issuer's key and kid never verify this issuer's tokens.
	x, xyz := newTodayKey(t, "EdDSA", "x"), newTodayKey(t, "EdDSA", "xyz")
	w.publish(t, w.other, x, xyz)
	_, err := w.verify(w.token(t, w.other, x, `"x"`))
	require.NoError(t, err, "the other issuer's own token")
	// xyz's genuine token under kid xy, which no key has (a strict prefix of xyz's kid).
	_, err = w.verify(w.token(t, w.other, xyz, `"xy"`))
	reason, _ := reasonOf(t, err)
	assert.Equal(t, ReasonUnknownKey, reason, "a kid that is a strict prefix of a key's")
	_, err = w.verify(w.token(t, w.iss, x, `"x"`))
	reason, _ = reasonOf(t, err)
	assert.Equal(t, ReasonUnknownKey, reason, "another issuer's kid")
	_, err = w.verify(w.token(t, w.other, a, `"a"`))
	reason, _ = reasonOf(t, err)
	assert.Equal(t, ReasonUnknownKey, reason, "this issuer's kid at the other")
}

// HOLDS: with one kid on keys of two types (RFC 7517 section 4.5) and a key of use enc
// first under another kid, the found key that does not fit alg falls back to pickKey's
// sibling rule; an enc key never verifies; the kid that the found path returns is the key's.
func TestAdversaryTodaySiblingAndUse(t *testing.T) {
	w := newTodayWorld(t)
	sEC, sED := newTodayKey(t, "ES256", "s"), newTodayKey(t, "EdDSA", "s")
	enc, sig := newTodayKey(t, "EdDSA", "e"), newTodayKey(t, "EdDSA", "e")
	enc.extra, sig.extra = `,"use":"enc"`, `,"use":"sig"`
	w.publish(t, w.iss, sEC, sED, enc, sig)

	for _, k := range []*todayKey{sEC, sED, sig} {
		got, err := w.verify(w.token(t, w.iss, k, mustJSON(t, k.tk.kid)))
		if assert.NoError(t, err, "%s %s", k.tk.alg, k.tk.kid) {
			assert.Equal(t, k.tk.kid, got.KeyID)
			assert.Equal(t, k.tk.alg, got.Algorithm)
		}
	}
	// The same with the kid escaped (the path without CachedKey).
	got, err := w.verify(w.token(t, w.iss, sED, `"\u0073"`))
	if assert.NoError(t, err) {
		assert.Equal(t, "s", got.KeyID)
	}
	_, err = w.verify(w.token(t, w.iss, enc, `"e"`))
	reason, _ := reasonOf(t, err)
	assert.Equal(t, ReasonBadSignature, reason, "a token signed by the enc key")
}

// HOLDS: at the 176-byte boundary of the inline kid bytes (four 44-byte kids fit; one more
// byte spills to the map), a token verifies only under its own kid, also a kid that is the
// 44-byte prefix of another; and after a rotation drops a kid, its tokens are refused.
func TestAdversaryTodayKidBoundaryAndRotation(t *testing.T) {
	for _, last := range []string{strings.Repeat("s", 44), strings.Repeat("s", 45)} {
		t.Run(itoa(int64(len(last))), func(t *testing.T) {
			w := newTodayWorld(t)
			ks := []*todayKey{
				newTodayKey(t, "EdDSA", strings.Repeat("p", 44)),
				newTodayKey(t, "ES256", strings.Repeat("s", 43)),
				newTodayKey(t, "EdDSA", strings.Repeat("r", 44)),
				newTodayKey(t, "EdDSA", last),
			}
			w.publish(t, w.iss, ks...)
			for i, k := range ks {
				_, err := w.verify(w.token(t, w.iss, k, mustJSON(t, k.tk.kid)))
				assert.NoError(t, err, "key %d", i)
			}
			// last's token under the 43-byte s kid: another key of another type.
			_, err := w.verify(w.token(t, w.iss, ks[3], mustJSON(t, strings.Repeat("s", 43))))
			assert.Error(t, err)
			_, err = w.verify(w.token(t, w.iss, ks[1], mustJSON(t, last)))
			assert.Error(t, err)

			// Rotation: drop key 3 and 0; their tokens are refused, the others still verify.
			w.publish(t, w.iss, ks[1], ks[2])
			w.now = w.now.Add(10 * time.Minute)
			_, _ = w.verify(w.token(t, w.iss, ks[2], mustJSON(t, ks[2].tk.kid))) // starts the refresh ahead
			require.Eventually(t, func() bool {
				_, err := w.verify(w.token(t, w.iss, ks[0], mustJSON(t, ks[0].tk.kid)))
				return err != nil
			}, 10*time.Second, 10*time.Millisecond, "a dropped key still verifies after the refresh")
			for _, k := range []*todayKey{ks[0], ks[3]} {
				_, err := w.verify(w.token(t, w.iss, k, mustJSON(t, k.tk.kid)))
				reason, _ := reasonOf(t, err)
				assert.Equal(t, ReasonUnknownKey, reason, k.tk.kid)
			}
			for _, k := range []*todayKey{ks[1], ks[2]} {
				_, err := w.verify(w.token(t, w.iss, k, mustJSON(t, k.tk.kid)))
				assert.NoError(t, err, k.tk.kid)
			}
		})
	}
}
