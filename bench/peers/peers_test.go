package peers

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	golangjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v2/jwa"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/webidentity/webidentity/internal/floor"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/verifier"
)

var algs = []string{"RS256", "PS256", "ES256", "EdDSA"}

const (
	clientID = "sts.amazonaws.com"
	leeway   = 5 * time.Minute
)

var errInvalid = errors.New("peers: token refused")

// BenchmarkPeers verifies the same EKS-shaped token, with the same public key, in one run:
//
//	floor                   Go's hash + signature verify of the pre-split token
//	webidentity             verifier.Verify over a jwks.Static (token cache off)
//	webidentity-tokencache  the same with the verified-token cache (a repeated token)
//	jwx                     lestrrat-go/jwx/v2 jwt.Parse, WithKey, validate iss/aud/exp
//	golang-jwt              golang-jwt/jwt/v5 Parser.ParseWithClaims, valid methods, iss/aud/exp
//	go-jose                 go-jose/v4 jwt.ParseSigned + Claims + ValidateWithLeeway(iss/aud/exp)
//	go-oidc                 coreos/go-oidc/v3 IDTokenVerifier.Verify over a StaticKeySet
//
// Every one checks the signature, iss, aud and exp with a 5-minute leeway; webidentity does
// its whole list besides (strict JSON, header rules, nbf, iat, claim types).
func BenchmarkPeers(b *testing.B) {
	iss, err := testissuer.New(testissuer.Options{Path: "/id/EXAMPLED539D4633E53DE1B71EXAMPLE", Algorithms: algs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(iss.Close)
	ctx := context.Background()
	issuer := iss.URL()
	for _, alg := range algs {
		kid := iss.KeyID(alg)
		pub := iss.PublicKey(kid)
		claims := iss.Claims("system:serviceaccount:default:app-sa", clientID)
		claims["aud"] = []string{clientID}
		claims["kubernetes.io"] = map[string]any{
			"namespace":      "default",
			"pod":            map[string]any{"name": "app-7d9f8b6c5d-x2x7z", "uid": "0d3c1f5e-6d4b-4e7a-9c1e-2f3a4b5c6d7e"},
			"serviceaccount": map[string]any{"name": "app-sa", "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"},
		}
		token, err := iss.Mint(claims, testissuer.MintOptions{Kid: kid})
		if err != nil {
			b.Fatal(err)
		}

		ours, _, err := jwks.ParseJWKS(iss.JWKS())
		if err != nil {
			b.Fatal(err)
		}
		static := jwks.MustStatic(issuer, ours...)
		prov := verifier.Provider{URL: issuer, ARN: "arn:aws:iam::111122223333:oidc-provider/" + strings.TrimPrefix(issuer, "https://"), ClientIDs: []string{clientID}}
		newV := func(size int) *verifier.Verifier {
			v, err := verifier.New(verifier.Options{Providers: []verifier.Provider{prov}, Keys: static, TokenCacheSize: size})
			if err != nil {
				b.Fatal(err)
			}
			return v
		}
		plain, cached := newV(-1), newV(0)

		var jwxAlg jwa.SignatureAlgorithm
		if err := jwxAlg.Accept(alg); err != nil {
			b.Fatal(err)
		}
		gjParser := golangjwt.NewParser(
			golangjwt.WithValidMethods([]string{alg}), golangjwt.WithIssuer(issuer),
			golangjwt.WithAudience(clientID), golangjwt.WithExpirationRequired(), golangjwt.WithLeeway(leeway))
		gjKey := func(*golangjwt.Token) (any, error) { return pub, nil }
		oidcV := oidc.NewVerifier(issuer, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{pub}},
			&oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{alg}})
		floor := bareCheck(b, alg, pub, token)

		impls := []struct {
			name string
			op   func() error
		}{
			{"floor", func() error {
				if !floor() {
					return errInvalid
				}
				return nil
			}},
			{"webidentity", func() error { _, err := plain.Verify(ctx, token); return err }},
			{"webidentity-tokencache", func() error { _, err := cached.Verify(ctx, token); return err }},
			{"jwx", func() error {
				_, err := jwxjwt.Parse([]byte(token), jwxjwt.WithKey(jwxAlg, pub), jwxjwt.WithValidate(true),
					jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(clientID), jwxjwt.WithAcceptableSkew(leeway))
				return err
			}},
			{"golang-jwt", func() error {
				_, err := gjParser.ParseWithClaims(token, &golangjwt.RegisteredClaims{}, gjKey)
				return err
			}},
			{"go-jose", func() error {
				t, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					return err
				}
				var c josejwt.Claims
				if err := t.Claims(pub, &c); err != nil {
					return err
				}
				return c.ValidateWithLeeway(josejwt.Expected{Issuer: issuer, AnyAudience: josejwt.Audience{clientID}, Time: time.Now()}, leeway)
			}},
			{"go-oidc", func() error { _, err := oidcV.Verify(ctx, token); return err }},
		}
		for _, impl := range impls {
			b.Run(alg+"/"+impl.name, func(b *testing.B) {
				if err := impl.op(); err != nil { // warm, and check that it accepts
					b.Fatalf("%s refused the token: %v", impl.name, err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := impl.op(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// bareCheck is the floor: Go's hash and signature verify on a token split and decoded
// beforehand (see internal/floor, shared with the root module's benchmarks).
func bareCheck(b *testing.B, alg string, pub crypto.PublicKey, token string) func() bool {
	b.Helper()
	check, err := floor.Check(alg, pub, token)
	if err != nil {
		b.Fatal(err)
	}
	return check
}
