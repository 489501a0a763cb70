package jwks_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/webidentity/webidentity/jwks"
)

// A JWKS as an issuer might serve it: one Ed25519 signing key, plus keys
// that must never verify a token.
const exampleJWKS = `{"keys":[
 {"kty":"OKP","crv":"Ed25519","kid":"sig-1","alg":"EdDSA","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"},
 {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
 {"kty":"OKP","crv":"Ed25519","kid":"enc-1","use":"enc","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"}
]}`

func ExampleParseJWKS() {
	keys, skipped, err := jwks.ParseJWKS([]byte(exampleJWKS))
	if err != nil {
		panic(err)
	}
	for _, k := range keys {
		fmt.Println("usable:", k.KeyID(), k.KeyType())
	}
	for _, s := range skipped {
		fmt.Println("skipped:", s.Kid, "-", s.Reason)
	}
	// Output:
	// usable: sig-1 OKP
	// skipped: hmac - symmetric key
	// skipped: enc-1 - use is not sig
}

func ExampleNewStatic() {
	parsed, _, err := jwks.ParseJWKS([]byte(exampleJWKS))
	if err != nil {
		panic(err)
	}
	keys, err := jwks.NewStatic("https://issuer.example", parsed...)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	key, err := keys.Key(ctx, "https://issuer.example", "sig-1")
	fmt.Println(key.KeyID(), err)

	_, err = keys.Key(ctx, "https://issuer.example", "hmac")
	fmt.Println(errors.Is(err, jwks.ErrUnknownKey))

	_, err = keys.Key(ctx, "https://elsewhere.example", "sig-1")
	fmt.Println(errors.Is(err, jwks.ErrUnknownIssuer))
	// Output:
	// sig-1 <nil>
	// true
	// true
}

// A Cache only ever looks up registered issuers. Here the issuer's keys are
// static, so the example runs offline; a real issuer is registered with just
// its URL and its keys are discovered and fetched.
func ExampleCache() {
	keys, _, err := jwks.ParseJWKS([]byte(exampleJWKS))
	if err != nil {
		panic(err)
	}
	cache, err := jwks.New(jwks.Options{
		Issuers: []jwks.IssuerConfig{{Issuer: "https://issuer.example", Keys: keys}},
	})
	if err != nil {
		panic(err)
	}
	defer cache.Close()
	ctx := context.Background()

	key, err := cache.Key(ctx, "https://issuer.example", "sig-1")
	fmt.Println(key.KeyID(), err)

	// An unregistered issuer fails without any network access.
	_, err = cache.Key(ctx, "https://attacker.example", "sig-1")
	fmt.Println(errors.Is(err, jwks.ErrUnknownIssuer))
	// Output:
	// sig-1 <nil>
	// true
}

func ExampleNewSlogObserver() {
	// A handler without timestamps, so the output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	obs := jwks.NewSlogObserver(logger)
	// A Cache reports the keys its fetches skip; static keys are parsed by the caller, who
	// may report them the same way.
	_, skipped, err := jwks.ParseJWKS([]byte(exampleJWKS))
	if err != nil {
		panic(err)
	}
	for _, sk := range skipped {
		obs.KeySkipped(jwks.SkipEvent{Issuer: "https://issuer.example", Key: sk})
	}
	// Output:
	// level=INFO msg="jwks: key skipped" issuer=https://issuer.example index=1 kid=hmac kty=oct reason="symmetric key"
	// level=INFO msg="jwks: key skipped" issuer=https://issuer.example index=2 kid=enc-1 kty=OKP reason="use is not sig"
}

// Static keys from PEM: a self-managed cluster's service-account public key
// (kube-apiserver --service-account-key-file). Each key gets the kid that
// kube-apiserver gives it, so the cluster's tokens find it.
func ExampleParsePEM() {
	pemData := []byte(`-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAO2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=
-----END PUBLIC KEY-----
`)
	keys, err := jwks.ParsePEM(pemData)
	if err != nil {
		panic(err)
	}
	for _, k := range keys {
		fmt.Println(k.KeyType(), k.Curve(), k.KeyID())
	}
	// Output:
	// OKP Ed25519 M54v-RdjBQe2pCO1zghOKF0fpl2Ts-J6YZXTu-vJriM
}

// Static keys from a Go public key, with the kid and alg the issuer uses.
func ExampleNewKey() {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public()
	key, err := jwks.NewKey(pub, "sig-1", "EdDSA")
	if err != nil {
		panic(err)
	}
	fmt.Println(key.KeyID(), key.Algorithm(), key.KeyType(), key.Curve())

	_, err = jwks.NewKey(pub, "sig-1", "RS256")
	var ke *jwks.KeyError
	fmt.Println(errors.As(err, &ke) && ke.Reason == jwks.SkipAlgorithm)
	// Output:
	// sig-1 EdDSA OKP Ed25519
	// true
}
