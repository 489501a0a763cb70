package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/jwks"
)

// keySet is the unit tests' keys, one per algorithm family plus odd ones.
type keySet struct {
	rs, rs384, ps, es, es384, es512, ed *testKey
	rsNoAlg                             *testKey // RSA key whose JWK has no alg
}

func newKeySet(t testing.TB) *keySet {
	return &keySet{
		rs:      newTestKey(t, "RS256", "rs"),
		rs384:   newTestKey(t, "RS384", "rs384"),
		ps:      newTestKey(t, "PS256", "ps"),
		es:      newTestKey(t, "ES256", "es"),
		es384:   newTestKey(t, "ES384", "es384"),
		es512:   newTestKey(t, "ES512", "es512"),
		ed:      newTestKey(t, "EdDSA", "ed"),
		rsNoAlg: keyFromSigner(t, "RS256", "rs-noalg", privateKey(t, "RS256"), false),
	}
}

func (ks *keySet) source() *fakeKeys {
	return mapKeys(ks.rs, ks.rs384, ks.ps, ks.es, ks.es384, ks.es512, ks.ed, ks.rsNoAlg)
}

func TestVerifyAccepts(t *testing.T) {
	ks := newKeySet(t)
	v := newTestVerifier(t, ks.source(), nil)
	cases := []struct {
		name  string
		token func(t *testing.T) string
		aud   []string
	}{
		{"RS256", func(t *testing.T) string { return mint(t, ks.rs, baseClaims(), nil) }, []string{testClientID}},
		{"RS384", func(t *testing.T) string { return mint(t, ks.rs384, baseClaims(), nil) }, []string{testClientID}},
		{"PS256", func(t *testing.T) string { return mint(t, ks.ps, baseClaims(), nil) }, []string{testClientID}},
		{"ES256", func(t *testing.T) string { return mint(t, ks.es, baseClaims(), nil) }, []string{testClientID}},
		{"ES384", func(t *testing.T) string { return mint(t, ks.es384, baseClaims(), nil) }, []string{testClientID}},
		{"ES512", func(t *testing.T) string { return mint(t, ks.es512, baseClaims(), nil) }, []string{testClientID}},
		{"EdDSA", func(t *testing.T) string { return mint(t, ks.ed, baseClaims(), nil) }, []string{testClientID}},
		{"JWK without alg", func(t *testing.T) string {
			return mint(t, &testKey{alg: "RS256", kid: "rs-noalg", signer: ks.rsNoAlg.signer}, baseClaims(), nil)
		}, []string{testClientID}},
		{"PS256 with the same RSA key as RS256, JWK without alg", func(t *testing.T) string {
			return mint(t, &testKey{alg: "PS256", kid: "rs-noalg", signer: ks.rsNoAlg.signer}, baseClaims(), nil)
		}, []string{testClientID}},
		{"aud array", func(t *testing.T) string {
			return mint(t, ks.rs, with(baseClaims(), map[string]any{"aud": []string{"other", testClientID}}), nil)
		}, []string{"other", testClientID}},
		{"aud array of three", func(t *testing.T) string {
			return mint(t, ks.rs, with(baseClaims(), map[string]any{"aud": []string{"a", "b", testClientID}}), nil)
		}, []string{"a", "b", testClientID}},
		{"typ lower case", func(t *testing.T) string { return mint(t, ks.rs, baseClaims(), map[string]any{"typ": "jwt"}) }, []string{testClientID}},
		{"no typ", func(t *testing.T) string { return mint(t, ks.rs, baseClaims(), map[string]any{"typ": nil}) }, []string{testClientID}},
		{"no kid", func(t *testing.T) string { return mint(t, ks.es, baseClaims(), map[string]any{"kid": nil}) }, []string{testClientID}},
		{"no nbf, no iat", func(t *testing.T) string {
			return mint(t, ks.rs, with(baseClaims(), map[string]any{"nbf": nil, "iat": nil}), nil)
		}, []string{testClientID}},
		{"fractional exp", func(t *testing.T) string {
			return compactJWS(t, ks.rs, "RS256", `{"alg":"RS256","kid":"rs"}`,
				`{"iss":"`+testIssuer+`","sub":"s","aud":"`+testClientID+`","exp":1700003600.25}`)
		}, []string{testClientID}},
		{"escaped iss and sub", func(t *testing.T) string {
			return compactJWS(t, ks.rs, "RS256", `{"\u0061lg":"RS256","kid":"rs"}`,
				`{"iss":"https:\/\/oidc.example.com\/id\/TEST","sub":"\u00e9t\u00e9","aud":"`+testClientID+`","exp":1700003600}`)
		}, []string{testClientID}},
		{"unknown claims and header members are ignored", func(t *testing.T) string {
			return mint(t, ks.rs, with(baseClaims(), map[string]any{"x": map[string]any{"y": []any{1, true, nil}}}), map[string]any{"x5t": "abc"})
		}, []string{testClientID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Verify(context.Background(), tc.token(t))
			require.NoError(t, err)
			assert.Equal(t, testIssuer, tok.Issuer)
			assert.Equal(t, tc.aud, tok.Audience)
			assert.NotEmpty(t, tok.Subject)
			assert.False(t, tok.ExpiresAt.IsZero())
		})
	}
}

func TestVerifyClaimsFields(t *testing.T) {
	ks := newKeySet(t)
	v := newTestVerifier(t, ks.source(), nil)
	token := mint(t, ks.es, with(baseClaims(), map[string]any{"azp": "client", "custom": []int{1, 2}}), nil)
	tok, err := v.Verify(context.Background(), token)
	require.NoError(t, err)
	assert.Equal(t, "system:serviceaccount:default:app", tok.Subject)
	assert.Equal(t, "client", tok.AuthorizedParty)
	assert.Equal(t, "ES256", tok.Algorithm)
	assert.Equal(t, "es", tok.KeyID)
	assert.Equal(t, testNow.Add(time.Hour), tok.ExpiresAt)
	assert.Equal(t, testNow, tok.NotBefore)
	assert.Equal(t, testNow, tok.IssuedAt)
	raw, ok := tok.Claim("custom")
	assert.True(t, ok)
	assert.Equal(t, "[1,2]", raw)
	_, ok = tok.Claim("absent")
	assert.False(t, ok)
}

// hs256 forges an HS256 token keyed with secret (classically the RSA public key).
func hs256(header, payload string, secret []byte) string {
	input := b64e.EncodeToString([]byte(header)) + "." + b64e.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + b64e.EncodeToString(m.Sum(nil))
}

// segments splits a token.
func segments(tok string) (string, string, string) {
	p := strings.Split(tok, ".")
	return p[0], p[1], p[2]
}

// resign replaces the signature of a token.
func resign(tok string, sig []byte) string {
	h, p, _ := segments(tok)
	return h + "." + p + "." + b64e.EncodeToString(sig)
}

func TestVerifyRejects(t *testing.T) {
	ks := newKeySet(t)
	rsHeader := `{"alg":"RS256","kid":"rs","typ":"JWT"}`
	claims := mustJSON(t, baseClaims())
	good := compactJWS(t, ks.rs, "RS256", rsHeader, claims)
	goodH, goodP, goodS := segments(good)
	pubDER, err := x509.MarshalPKIXPublicKey(ks.rs.signer.Public())
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubPKCS1 := x509.MarshalPKCS1PublicKey(ks.rs.signer.Public().(*rsa.PublicKey))
	lee := DefaultLeeway
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	rsWith := func(t *testing.T, edits map[string]any) string {
		return mint(t, ks.rs, with(baseClaims(), edits), nil)
	}
	rawPayload := func(t *testing.T, payload string) string {
		return compactJWS(t, ks.rs, "RS256", rsHeader, payload)
	}
	rawHeader := func(t *testing.T, header string) string {
		return compactJWS(t, ks.rs, "RS256", header, claims)
	}
	esSig := func(t *testing.T, r, s []byte) string {
		tok := mint(t, ks.es, baseClaims(), nil)
		return resign(tok, append(append([]byte{}, r...), s...))
	}
	p256N := algorithms[algorithmIndex([]byte("ES256"))].order

	cases := []struct {
		name   string
		token  func(t *testing.T) string
		reason Reason
		code   Code
	}{
		// Size and shape.
		{"3 characters", func(*testing.T) string { return "a.b" }, ReasonTokenSize, CodeValidationError},
		{"20001 characters", func(*testing.T) string {
			return goodH + "." + goodP + "." + goodS + strings.Repeat("A", 20001-len(good))
		}, ReasonTokenSize, CodeValidationError},
		{"one dot", func(*testing.T) string { return goodH + "." + goodP }, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"three dots", func(*testing.T) string { return good + ".AAAA" }, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"JWE (four dots)", func(*testing.T) string {
			return b64e.EncodeToString([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".AAAA.AAAA.AAAA.AAAA"
		}, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"empty signature", func(*testing.T) string { return goodH + "." + goodP + "." }, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"empty header", func(*testing.T) string { return "." + goodP + "." + goodS }, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"padding", func(*testing.T) string { return good + "==" }, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"standard alphabet +/", func(*testing.T) string {
			return goodH + "." + goodP + "." + strings.NewReplacer("-", "+", "_", "/").Replace(goodS) + "+/"
		}, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"whitespace", func(*testing.T) string { return goodH + ". " + goodP + "." + goodS }, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"newline", func(*testing.T) string { return goodH + "." + goodP[:10] + "\n" + goodP[10:] + "." + goodS }, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"nonzero trailing bits", func(*testing.T) string {
			// 256 signature bytes end in a 4-character group carrying 1 byte: the last
			// character's low 4 bits are unused and must be zero.
			s := []byte(goodS)
			last := strings.IndexByte(string(b64url64), s[len(s)-1])
			s[len(s)-1] = b64url64[last|1]
			return goodH + "." + goodP + "." + string(s)
		}, ReasonTokenEncoding, CodeInvalidIdentityToken},
		{"impossible segment length", func(*testing.T) string { return goodH + "." + goodP + "." + goodS + "AAA" }, ReasonTokenEncoding, CodeInvalidIdentityToken},
		{"JWS JSON flattened", func(*testing.T) string {
			return `{"protected":"` + goodH + `","payload":"` + goodP + `","signature":"` + goodS + `"}`
		}, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"JWS JSON general", func(*testing.T) string {
			return `{"payload":"` + goodP + `","signatures":[{"protected":"` + goodH + `","signature":"` + goodS + `"}]}`
		}, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"JWS JSON with injected claims", func(*testing.T) string {
			return `{"protected":"` + goodH + `","payload":"` + goodP + `","signature":"` + goodS + `","sub":"admin","aud":"` + testClientID + `"}`
		}, ReasonTokenFormat, CodeInvalidIdentityToken},

		// Header.
		{"alg none, no signature", func(*testing.T) string {
			return b64e.EncodeToString([]byte(`{"alg":"none"}`)) + "." + goodP + "."
		}, ReasonTokenFormat, CodeInvalidIdentityToken},
		{"alg none", func(t *testing.T) string { return rawHeader(t, `{"alg":"none","kid":"rs"}`) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"alg None", func(t *testing.T) string { return rawHeader(t, `{"alg":"None","kid":"rs"}`) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"alg NONE", func(t *testing.T) string { return rawHeader(t, `{"alg":"NONE","kid":"rs"}`) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"alg nOnE", func(t *testing.T) string { return rawHeader(t, `{"alg":"nOnE","kid":"rs"}`) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"alg empty", func(t *testing.T) string { return rawHeader(t, `{"alg":"","kid":"rs"}`) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"alg missing", func(t *testing.T) string { return rawHeader(t, `{"kid":"rs"}`) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"alg lower case rs256", func(t *testing.T) string { return rawHeader(t, `{"alg":"rs256","kid":"rs"}`) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"alg not a string", func(t *testing.T) string { return rawHeader(t, `{"alg":["RS256"],"kid":"rs"}`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},
		{"HS256 keyed with the RSA public key PEM", func(*testing.T) string {
			return hs256(`{"alg":"HS256","kid":"rs","typ":"JWT"}`, claims, pubPEM)
		}, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"HS256 keyed with the RSA public key DER", func(*testing.T) string {
			return hs256(`{"alg":"HS256","kid":"rs"}`, claims, pubDER)
		}, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"HS256 keyed with the RSA public key PKCS1", func(*testing.T) string {
			return hs256(`{"alg":"HS256"}`, claims, pubPKCS1)
		}, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"HS512", func(*testing.T) string { return hs256(`{"alg":"HS512","kid":"rs"}`, claims, pubPEM) }, ReasonAlgorithm, CodeInvalidIdentityToken},
		{"crit", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","crit":["exp"]}`) }, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"crit with escaped name", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","\u0063rit":["b64"]}`) }, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"b64 false", func(t *testing.T) string {
			return rawHeader(t, `{"alg":"RS256","kid":"rs","b64":false,"crit":["b64"]}`)
		}, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"embedded jwk", func(t *testing.T) string {
			pub := ks.rs.signer.Public().(*rsa.PublicKey)
			j := `{"kty":"RSA","n":"` + b64e.EncodeToString(pub.N.Bytes()) + `","e":"AQAB"}`
			return rawHeader(t, `{"alg":"RS256","jwk":`+j+`}`)
		}, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"jku", func(t *testing.T) string {
			return rawHeader(t, `{"alg":"RS256","kid":"rs","jku":"https://evil.example/keys"}`)
		}, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"x5u", func(t *testing.T) string {
			return rawHeader(t, `{"alg":"RS256","kid":"rs","x5u":"https://evil.example/cert"}`)
		}, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"x5c", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","x5c":["MIIB"]}`) }, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"zip", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","zip":"DEF"}`) }, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"nested cty JWT", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","cty":"JWT"}`) }, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"enc (JWE header in JWS form)", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","enc":"A128GCM"}`) }, ReasonHeaderForbidden, CodeInvalidIdentityToken},
		{"typ at+jwt", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","typ":"at+jwt"}`) }, ReasonType, CodeInvalidIdentityToken},
		{"typ not a string", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","typ":1}`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},
		{"kid not a string", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":1}`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},
		{"duplicate alg", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","alg":"RS256"}`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},
		{"duplicate kid, escaped", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs","\u006bid":"es"}`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},
		{"header is an array", func(t *testing.T) string { return rawHeader(t, `["RS256"]`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},
		{"header has trailing data", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs"}x`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},
		{"header is not JSON", func(t *testing.T) string { return rawHeader(t, `alg=RS256`) }, ReasonHeaderMalformed, CodeInvalidIdentityToken},

		// Keys.
		{"kid unknown", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"nope"}`) }, ReasonUnknownKey, CodeInvalidIdentityToken},
		{"kid ../", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"../../rs"}`) }, ReasonUnknownKey, CodeInvalidIdentityToken},
		{"kid with quotes", func(t *testing.T) string { return rawHeader(t, `{"alg":"RS256","kid":"rs\"\u0000'"}`) }, ReasonUnknownKey, CodeInvalidIdentityToken},
		{"kid of 10 KB", func(t *testing.T) string {
			return rawHeader(t, `{"alg":"RS256","kid":"`+strings.Repeat("k", 10<<10)+`"}`)
		}, ReasonUnknownKey, CodeInvalidIdentityToken},
		{"ES256 header, RSA key", func(t *testing.T) string {
			return compactJWS(t, ks.es, "ES256", `{"alg":"ES256","kid":"rs-noalg"}`, claims)
		}, ReasonKeyMismatch, CodeInvalidIdentityToken},
		{"RS256 header, EC key", func(t *testing.T) string {
			return compactJWS(t, ks.rs, "RS256", `{"alg":"RS256","kid":"es"}`, claims)
		}, ReasonKeyMismatch, CodeInvalidIdentityToken},
		{"ES384 header, P-256 key", func(t *testing.T) string {
			return compactJWS(t, ks.es384, "ES384", `{"alg":"ES384","kid":"es"}`, claims)
		}, ReasonKeyMismatch, CodeInvalidIdentityToken},
		{"EdDSA header, P-256 key", func(t *testing.T) string {
			return compactJWS(t, ks.ed, "EdDSA", `{"alg":"EdDSA","kid":"es"}`, claims)
		}, ReasonKeyMismatch, CodeInvalidIdentityToken},
		{"PS256 header, JWK alg RS256", func(t *testing.T) string {
			return compactJWS(t, ks.rs, "PS256", `{"alg":"PS256","kid":"rs"}`, claims)
		}, ReasonKeyMismatch, CodeInvalidIdentityToken},
		{"RS384 header, JWK alg RS256", func(t *testing.T) string {
			return compactJWS(t, ks.rs, "RS384", `{"alg":"RS384","kid":"rs"}`, claims)
		}, ReasonKeyMismatch, CodeInvalidIdentityToken},
		{"zero jwks.Key from a key source", func(t *testing.T) string {
			return compactJWS(t, ks.rs, "RS256", `{"alg":"RS256","kid":"zero"}`, claims)
		}, ReasonKeyMismatch, CodeInvalidIdentityToken},
		{"nil key from a key source", func(t *testing.T) string {
			return compactJWS(t, ks.rs, "RS256", `{"alg":"RS256","kid":"nil"}`, claims)
		}, ReasonUnknownKey, CodeInvalidIdentityToken},

		// Signatures.
		{"signature of another token", func(t *testing.T) string {
			_, _, s := segments(rsWith(t, map[string]any{"sub": "other"}))
			return goodH + "." + goodP + "." + s
		}, ReasonBadSignature, CodeInvalidIdentityToken},
		{"payload changed", func(t *testing.T) string {
			_, p, _ := segments(rsWith(t, map[string]any{"sub": "admin"}))
			return goodH + "." + p + "." + goodS
		}, ReasonBadSignature, CodeInvalidIdentityToken},
		{"RSA signature too short", func(*testing.T) string { return resign(good, make([]byte, 255)) }, ReasonBadSignature, CodeInvalidIdentityToken},
		{"PSS with salt length 0", func(t *testing.T) string {
			tok := mint(t, ks.ps, baseClaims(), nil)
			h, p, _ := segments(tok)
			d := sha256.Sum256([]byte(h + "." + p))
			sig, err := rsa.SignPSS(randReader{}, ks.ps.signer.(*rsa.PrivateKey), crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: 0})
			require.NoError(t, err)
			return resign(tok, sig)
		}, ReasonBadSignature, CodeInvalidIdentityToken},
		{"PSS with maximal salt length", func(t *testing.T) string {
			tok := mint(t, ks.ps, baseClaims(), nil)
			h, p, _ := segments(tok)
			d := sha256.Sum256([]byte(h + "." + p))
			sig, err := rsa.SignPSS(randReader{}, ks.ps.signer.(*rsa.PrivateKey), crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
			require.NoError(t, err)
			return resign(tok, sig)
		}, ReasonBadSignature, CodeInvalidIdentityToken},
		{"ECDSA r = 0", func(t *testing.T) string { return esSig(t, make([]byte, 32), p256N) }, ReasonBadSignature, CodeInvalidIdentityToken},
		{"ECDSA s = 0", func(t *testing.T) string {
			_, _, s := segments(mint(t, ks.es, baseClaims(), nil))
			sig, _ := b64e.DecodeString(s)
			return esSig(t, sig[:32], make([]byte, 32))
		}, ReasonBadSignature, CodeInvalidIdentityToken},
		{"ECDSA r = N", func(t *testing.T) string {
			_, _, s := segments(mint(t, ks.es, baseClaims(), nil))
			sig, _ := b64e.DecodeString(s)
			return esSig(t, p256N, sig[32:])
		}, ReasonBadSignature, CodeInvalidIdentityToken},
		{"ECDSA DER signature", func(t *testing.T) string {
			tok := mint(t, ks.es, baseClaims(), nil)
			h, p, s := segments(tok)
			sig, _ := b64e.DecodeString(s)
			der := appendDERSignature(nil, sig[:32], sig[32:])
			return h + "." + p + "." + b64e.EncodeToString(der)
		}, ReasonBadSignature, CodeInvalidIdentityToken},
		{"Ed25519 signature truncated", func(t *testing.T) string {
			tok := mint(t, ks.ed, baseClaims(), nil)
			_, _, s := segments(tok)
			sig, _ := b64e.DecodeString(s)
			return resign(tok, sig[:63])
		}, ReasonBadSignature, CodeInvalidIdentityToken},

		// Payload types.
		{"duplicate sub", func(t *testing.T) string {
			return rawPayload(t, `{"iss":"`+testIssuer+`","sub":"a","aud":"`+testClientID+`","exp":1700003600,"sub":"admin"}`)
		}, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"duplicate sub, escaped", func(t *testing.T) string {
			return rawPayload(t, `{"iss":"`+testIssuer+`","sub":"a","aud":"`+testClientID+`","exp":1700003600,"s\u0075b":"admin"}`)
		}, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"duplicate member in a nested object", func(t *testing.T) string {
			return rawPayload(t, `{"iss":"`+testIssuer+`","sub":"a","aud":"`+testClientID+`","exp":1700003600,"k":{"a":1,"a":2}}`)
		}, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"invalid UTF-8", func(t *testing.T) string {
			return rawPayload(t, `{"iss":"`+testIssuer+`","sub":"a`+"\xff"+`","aud":"`+testClientID+`","exp":1700003600}`)
		}, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"lone surrogate", func(t *testing.T) string {
			return rawPayload(t, `{"iss":"`+testIssuer+`","sub":"a\ud800","aud":"`+testClientID+`","exp":1700003600}`)
		}, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"payload trailing data", func(t *testing.T) string { return rawPayload(t, claims+`{}`) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"payload is an array", func(t *testing.T) string { return rawPayload(t, `[`+claims+`]`) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"payload nested too deep", func(t *testing.T) string {
			return rawPayload(t, `{"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`)
		}, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"iss missing", func(t *testing.T) string { return rsWith(t, map[string]any{"iss": nil}) }, ReasonMissingClaim, CodeInvalidIdentityToken},
		{"iss not a string", func(t *testing.T) string { return rsWith(t, map[string]any{"iss": []string{testIssuer}}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"iss trailing slash", func(t *testing.T) string { return rsWith(t, map[string]any{"iss": testIssuer + "/"}) }, ReasonUnknownIssuer, CodeInvalidIdentityToken},
		{"iss upper case host", func(t *testing.T) string {
			return rsWith(t, map[string]any{"iss": "https://OIDC.example.com/id/TEST"})
		}, ReasonUnknownIssuer, CodeInvalidIdentityToken},
		{"iss path case", func(t *testing.T) string { return rsWith(t, map[string]any{"iss": "https://oidc.example.com/id/test"}) }, ReasonUnknownIssuer, CodeInvalidIdentityToken},
		{"iss http", func(t *testing.T) string { return rsWith(t, map[string]any{"iss": "http://oidc.example.com/id/TEST"}) }, ReasonUnknownIssuer, CodeInvalidIdentityToken},
		{"sub missing", func(t *testing.T) string { return rsWith(t, map[string]any{"sub": nil}) }, ReasonMissingClaim, CodeInvalidIdentityToken},
		{"sub empty", func(t *testing.T) string { return rsWith(t, map[string]any{"sub": ""}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"sub of 256 characters", func(t *testing.T) string { return rsWith(t, map[string]any{"sub": strings.Repeat("é", 256)}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"sub a number", func(t *testing.T) string { return rsWith(t, map[string]any{"sub": 12}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"aud missing", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": nil}) }, ReasonMissingClaim, CodeInvalidIdentityToken},
		{"aud other", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": "other"}) }, ReasonAudience, CodeInvalidIdentityToken},
		{"aud empty string", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": ""}) }, ReasonAudience, CodeInvalidIdentityToken},
		{"aud empty array", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": []string{}}) }, ReasonAudience, CodeInvalidIdentityToken},
		{"aud client ID in other case", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": "STS.amazonaws.com"}) }, ReasonAudience, CodeInvalidIdentityToken},
		{"aud array with a number", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": []any{testClientID, 1}}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"aud number", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": 5}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"aud object", func(t *testing.T) string { return rsWith(t, map[string]any{"aud": map[string]any{"a": testClientID}}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
		{"azp not a string", func(t *testing.T) string { return rsWith(t, map[string]any{"azp": 1}) }, ReasonClaimsMalformed, CodeInvalidIdentityToken},
	}
	// Every NumericDate claim with every wrong type or range.
	for _, claim := range []string{"exp", "nbf", "iat"} {
		for _, bad := range []struct {
			name, json string
		}{
			{"string", `"1700003600"`}, {"true", `true`}, {"null", `null`}, {"zero", `0`},
			{"negative", `-1700003600`}, {"1e300", `1e300`}, {"exponent", `1.7e9`},
			{"array", `[1700003600]`}, {"object", `{}`}, {"year 10000", `253402300800`},
			{"huge", `1700003600000000000000`}, {"fraction only", `0.5`},
		} {
			payload := strings.TrimSuffix(mustJSON(t, with(baseClaims(), map[string]any{claim: nil})), "}") + `,"` + claim + `":` + bad.json + `}`
			cases = append(cases, struct {
				name   string
				token  func(t *testing.T) string
				reason Reason
				code   Code
			}{claim + " " + bad.name, func(t *testing.T) string { return rawPayload(t, payload) }, ReasonClaimsMalformed, CodeInvalidIdentityToken})
		}
	}
	// Time boundaries, one second either side of the leeway.
	for _, b := range []struct {
		name   string
		edits  map[string]any
		reason Reason
		code   Code
	}{
		{"exp missing", map[string]any{"exp": nil}, ReasonMissingClaim, CodeInvalidIdentityToken},
		{"exp = now - leeway - 1s", map[string]any{"exp": at(-lee - time.Second)}, ReasonExpired, CodeExpiredToken},
		{"exp = now - leeway", map[string]any{"exp": at(-lee)}, ReasonExpired, CodeExpiredToken},
		{"nbf = now + leeway + 1s", map[string]any{"nbf": at(lee + time.Second)}, ReasonNotYetValid, CodeInvalidIdentityToken},
		{"iat = now + leeway + 1s", map[string]any{"iat": at(lee + time.Second)}, ReasonIssuedInFuture, CodeInvalidIdentityToken},
	} {
		cases = append(cases, struct {
			name   string
			token  func(t *testing.T) string
			reason Reason
			code   Code
		}{b.name, func(t *testing.T) string { return rsWith(t, b.edits) }, b.reason, b.code})
	}

	// Key sources that are not package jwks's may hand out a zero Key or a nil one.
	odd := map[string]*jwks.Key{"zero": {}, "nil": nil}
	src := ks.source()
	v := newTestVerifier(t, &fakeKeys{
		key: func(ctx context.Context, iss, kid string) (*jwks.Key, error) {
			if k, ok := odd[kid]; ok {
				return k, nil
			}
			return src.Key(ctx, iss, kid)
		},
		keys: src.keys,
	}, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Verify(context.Background(), tc.token(t))
			require.Error(t, err)
			assert.Nil(t, tok)
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "reason: %v", err)
			assert.Equal(t, tc.code, code)
			assert.ErrorIs(t, err, tc.reason)
		})
	}
}

// b64url64 is the base64url alphabet in value order.
const b64url64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// randReader is a deterministic, non-zero byte source for salts in tests.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return len(p), nil
}

func TestVerifyTimeBoundariesAccepted(t *testing.T) {
	ks := newKeySet(t)
	lee := DefaultLeeway
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	cases := []struct {
		name  string
		edits map[string]any
	}{
		{"exp = now - leeway + 1s", map[string]any{"exp": at(-lee + time.Second)}},
		{"nbf = now + leeway", map[string]any{"nbf": at(lee)}},
		{"nbf = now + leeway - 1s", map[string]any{"nbf": at(lee - time.Second)}},
		{"iat = now + leeway", map[string]any{"iat": at(lee)}},
		{"iat = now + leeway - 1s", map[string]any{"iat": at(lee - time.Second)}},
	}
	v := newTestVerifier(t, ks.source(), nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), mint(t, ks.rs, with(baseClaims(), tc.edits), nil))
			assert.NoError(t, err)
		})
	}
}

func TestVerifyOptionsRules(t *testing.T) {
	ks := newKeySet(t)
	cases := []struct {
		name   string
		edit   func(*Options)
		token  func(t *testing.T) string
		reason Reason
	}{
		{"alg outside the provider allow-list", func(o *Options) { o.Providers[0].Algorithms = []string{"ES256"} },
			func(t *testing.T) string { return mint(t, ks.rs, baseClaims(), nil) }, ReasonAlgorithm},
		{"typ outside the provider's types", func(o *Options) { o.Providers[0].Types = []string{"at+jwt"} },
			func(t *testing.T) string { return mint(t, ks.rs, baseClaims(), nil) }, ReasonType},
		{"lifetime above MaxTokenLifetime", func(o *Options) { o.MaxTokenLifetime = 30 * time.Minute },
			func(t *testing.T) string { return mint(t, ks.rs, baseClaims(), nil) }, ReasonLifetime},
		{"no iat with MaxTokenLifetime", func(o *Options) { o.MaxTokenLifetime = 2 * time.Hour },
			func(t *testing.T) string { return mint(t, ks.rs, with(baseClaims(), map[string]any{"iat": nil}), nil) }, ReasonMissingClaim},
		{"no leeway", func(o *Options) { o.Leeway = -1 },
			func(t *testing.T) string {
				return mint(t, ks.rs, with(baseClaims(), map[string]any{"exp": testNow.Unix()}), nil)
			}, ReasonExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, ks.source(), tc.edit)
			_, err := v.Verify(context.Background(), tc.token(t))
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
			assert.Equal(t, tc.reason.Code(), code)
		})
	}
}

func TestVerifyKeySourceErrors(t *testing.T) {
	ks := newKeySet(t)
	token := mint(t, ks.rs, baseClaims(), nil)
	noKid := mint(t, ks.rs, baseClaims(), map[string]any{"kid": nil})
	cases := []struct {
		name   string
		err    error
		token  string
		reason Reason
		code   Code
	}{
		{"unknown key", &jwks.Error{Reason: jwks.ReasonUnknownKey}, token, ReasonUnknownKey, CodeInvalidIdentityToken},
		{"rate limited", &jwks.Error{Reason: jwks.ReasonRateLimited}, token, ReasonUnknownKey, CodeInvalidIdentityToken},
		{"issuer unavailable", &jwks.Error{Reason: jwks.ReasonUnavailable}, token, ReasonKeysUnavailable, CodeIDPCommunicationError},
		{"issuer unavailable without kid", &jwks.Error{Reason: jwks.ReasonUnavailable}, noKid, ReasonKeysUnavailable, CodeIDPCommunicationError},
		{"context cancelled", context.Canceled, token, ReasonKeysUnavailable, CodeIDPCommunicationError},
		{"unknown issuer", jwks.ErrUnknownIssuer, token, ReasonUnknownIssuer, CodeInvalidIdentityToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeKeys{
				key:  func(context.Context, string, string) (*jwks.Key, error) { return nil, tc.err },
				keys: func(context.Context, string) ([]*jwks.Key, error) { return nil, tc.err },
			}
			v := newTestVerifier(t, src, nil)
			_, err := v.Verify(context.Background(), tc.token)
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason)
			assert.Equal(t, tc.code, code)
			assert.True(t, errors.Is(err, tc.err), "the key source's error is wrapped")
		})
	}
}

func TestVerifyUnknownIssuerMakesNoLookup(t *testing.T) {
	ks := newKeySet(t)
	calls := 0
	src := &fakeKeys{
		key:  func(context.Context, string, string) (*jwks.Key, error) { calls++; return nil, jwks.ErrUnknownKey },
		keys: func(context.Context, string) ([]*jwks.Key, error) { calls++; return nil, nil },
	}
	v := newTestVerifier(t, src, nil)
	token := mint(t, ks.rs, with(baseClaims(), map[string]any{"iss": "https://evil.example"}), nil)
	_, err := v.Verify(context.Background(), token)
	assert.ErrorIs(t, err, ReasonUnknownIssuer)
	assert.Zero(t, calls)
}

// A token without kid is verified with the provider's one key that fits its alg; when several
// fit, it is refused without any signature check (ReasonKidRequired) instead of being tried
// against each of them, which let a forged token cost up to eight verifications.
func TestVerifyWithoutKid(t *testing.T) {
	ks := newKeySet(t)
	other := keyFromSigner(t, "ES256", "other", mustECKey(t), true)
	psOnly := keyFromSigner(t, "PS256", "ps-only", mustRSAKey(t), true) // RSA, but its alg is PS256
	forged := func(tok string) string { return tok[:strings.LastIndexByte(tok, '.')+1] + strings.Repeat("A", 86) }
	noKid := map[string]any{"kid": nil}
	cases := []struct {
		name   string
		keys   []*testKey
		token  string
		reason Reason // 0: accepted
	}{
		{"one key fits among other types", []*testKey{ks.rs, ks.es}, mint(t, ks.es, baseClaims(), noKid), 0},
		{"the key's own alg rules out another RSA key", []*testKey{psOnly, ks.rs}, mint(t, ks.rs, baseClaims(), noKid), 0},
		{"several keys fit, token's key second", []*testKey{ks.rs, other, ks.es}, mint(t, ks.es, baseClaims(), noKid), ReasonKidRequired},
		{"several keys fit, token's key first", []*testKey{ks.es, other}, mint(t, ks.es, baseClaims(), noKid), ReasonKidRequired},
		{"several keys fit, forged", []*testKey{ks.es, other}, forged(mint(t, ks.es, baseClaims(), noKid)), ReasonKidRequired},
		{"one key fits, forged", []*testKey{ks.rs, ks.es}, forged(mint(t, ks.es, baseClaims(), noKid)), ReasonBadSignature},
		{"no key fits", []*testKey{ks.es, other}, mint(t, ks.rs, baseClaims(), noKid), ReasonUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, mapKeys(tc.keys...), nil)
			tok, err := v.Verify(context.Background(), tc.token)
			if tc.reason == 0 {
				require.NoError(t, err)
				assert.Empty(t, tok.KeyID)
				return
			}
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason)
			assert.Equal(t, CodeInvalidIdentityToken, code)
		})
	}
}

// TestKidRequiredMessage checks the caller-facing text of ReasonKidRequired: it explains the
// refusal (kid is only a hint under RFC 7515; the issuer has several keys) without any token
// content.
func TestKidRequiredMessage(t *testing.T) {
	ks := newKeySet(t)
	other := keyFromSigner(t, "ES256", "other", mustECKey(t), true)
	v := newTestVerifier(t, mapKeys(ks.es, other), nil)
	_, err := v.Verify(context.Background(), mint(t, ks.es, with(baseClaims(), map[string]any{"sub": "MARKER"}), map[string]any{"kid": nil}))
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Message, "RFC 7515")
	assert.Contains(t, e.Message, "several keys")
	assert.NotContains(t, e.Error(), "MARKER")
	assert.NotContains(t, e.Error(), "ES256")
}

func mustRSAKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// JWKs a verifier must never use cannot become a *jwks.Key, the only key type a KeySource
// hands out: ParseJWKS skips them, and NewKey refuses their Go forms. (The verifier used to
// check these itself when it derived keys from jwx's jwk.Key.)
func TestUnusableKeysNeverReachTheVerifier(t *testing.T) {
	ks := newKeySet(t)
	x31 := b64e.EncodeToString(make([]byte, 31))
	x32 := b64e.EncodeToString(make([]byte, 32))
	rsaJWK := func(extra string) string {
		pub := ks.rs.signer.Public().(*rsa.PublicKey)
		return `{"kty":"RSA","n":"` + b64e.EncodeToString(pub.N.Bytes()) + `","e":"AQAB"` + extra + `}`
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	tests := []struct {
		name string
		jwk  string // a JWK, or
		pub  any    // a Go key for NewKey
		want jwks.SkipReason
	}{
		{name: "Ed25519 with a short x", jwk: `{"kty":"OKP","crv":"Ed25519","x":"` + x31 + `"}`, want: jwks.SkipNotOnCurve},
		{name: "X25519", jwk: `{"kty":"OKP","crv":"X25519","x":"` + x32 + `"}`, want: jwks.SkipCurve},
		{name: "use enc", jwk: rsaJWK(`,"use":"enc"`), want: jwks.SkipUse},
		{name: "key_ops sign only", jwk: rsaJWK(`,"key_ops":["sign"]`), want: jwks.SkipKeyOps},
		{name: "private JWK", jwk: rsaJWK(`,"d":"AQAB"`), want: jwks.SkipPrivate},
		{name: "RSA 1024", pub: &small.PublicKey, want: jwks.SkipRSASize},
		{name: "private Go key", pub: ks.rs.signer, want: jwks.SkipPrivate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.jwk != "" {
				keys, skipped, err := jwks.ParseJWKS([]byte(`{"keys":[` + tt.jwk + `]}`))
				require.NoError(t, err)
				assert.Empty(t, keys)
				require.Len(t, skipped, 1)
				assert.Equal(t, tt.want, skipped[0].Reason)
				return
			}
			_, err := jwks.NewKey(tt.pub, "k", "")
			var ke *jwks.KeyError
			require.ErrorAs(t, err, &ke)
			assert.Equal(t, tt.want, ke.Reason)
		})
	}
}

func TestTokenClaim(t *testing.T) {
	tok := &Token{Claims: `{"a":1,"\u0062":"x","c":{"d":[true]},"e":"\u00e9"}`}
	cases := []struct {
		name, claim, raw string
		ok               bool
	}{
		{"number", "a", "1", true},
		{"escaped name", "b", `"x"`, true},
		{"object", "c", `{"d":[true]}`, true},
		{"escaped value stays raw", "e", `"\u00e9"`, true},
		{"nested name is not top-level", "d", "", false},
		{"absent", "z", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, ok := tok.Claim(tc.claim)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.raw, raw)
		})
	}
	_, ok := (&Token{Claims: "not json"}).Claim("a")
	assert.False(t, ok)
}
