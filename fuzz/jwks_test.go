package fuzz

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/verifier"
)

// FuzzJWKS parses JWKS documents with jwks.ParseJWKS and verifies the world's EKS tokens (one
// per algorithm) with a verifier over the parsed keys. See doc.go for the invariants.
func FuzzJWKS(f *testing.F) {
	w := getWorld(f)
	f.Add(w.jwksDoc[eksURL])
	f.Add(w.jwksDoc[githubURL])
	var eksTokens []string // every EKS key's token, published or not
	for _, sym := range sortedKeys(w.minted) {
		if w.bySym[sym].issuer == eksURL {
			eksTokens = append(eksTokens, w.minted[sym])
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, skipped, err := jwks.ParseJWKS(doc)
		if err != nil {
			if !errors.Is(err, jwks.ErrInvalidDocument) || len(keys) != 0 || len(skipped) != 0 {
				t.Fatalf("failed parse: %v, %d keys, %d skipped", err, len(keys), len(skipped))
			}
			return
		}
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(doc, &set); err != nil {
			t.Fatalf("ParseJWKS accepted what encoding/json refuses: %v", err)
		}
		if len(keys)+len(skipped) != len(set.Keys) {
			t.Fatalf("%d keys + %d skipped for %d in the document", len(keys), len(skipped), len(set.Keys))
		}
		for _, k := range keys {
			checkPublicKey(t, k)
		}
		static, err := jwks.NewStatic(eksURL, keys...)
		if err != nil {
			t.Fatalf("ParseJWKS's keys refused as static keys: %v", err)
		}
		v, err := verifier.New(verifier.Options{
			Providers: []verifier.Provider{{URL: eksURL, ARN: eksARN, ClientIDs: []string{clientID}}},
			Keys:      static, Now: clock, TokenCacheSize: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		served := bytes.Equal(doc, w.jwksDoc[eksURL])
		for _, tok := range eksTokens {
			got, err := v.Verify(context.Background(), tok)
			if err != nil {
				if served && w.valid[tok] {
					t.Fatalf("a token refused under the issuer's own JWKS: %v", err)
				}
				continue
			}
			// Accepted: the document must hold the signer's public key under the token's kid.
			signer := w.pub[eksURL][got.KeyID]
			found := false
			for _, k := range keys {
				if k.KeyID() != got.KeyID {
					continue
				}
				if eq, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool }); ok && signer != nil && eq.Equal(signer.signer.Public()) {
					found = k.Algorithm() == "" || k.Algorithm() == got.Algorithm
				}
			}
			if !found {
				t.Fatalf("token with kid %q accepted, but the JWKS has no matching public key for it", got.KeyID)
			}
		}
	})
}

// checkPublicKey re-checks a returned key independently: a public signature key of a supported
// type and size, never a secret.
func checkPublicKey(t *testing.T, k *jwks.Key) {
	t.Helper()
	raw := k.Public()
	switch pk := raw.(type) {
	case *rsa.PublicKey:
		if n := pk.N.BitLen(); n < 2048 || n > 8192 {
			t.Fatalf("returned RSA key of %d bits", n)
		}
	case *ecdsa.PublicKey:
		switch pk.Curve.Params().Name {
		case "P-256", "P-384", "P-521":
		default:
			t.Fatalf("returned EC key on %s", pk.Curve.Params().Name)
		}
		if _, err := pk.ECDH(); err != nil {
			t.Fatalf("returned EC point not on its curve: %v", err)
		}
	case ed25519.PublicKey:
		if len(pk) != ed25519.PublicKeySize {
			t.Fatalf("returned Ed25519 key of %d bytes", len(pk))
		}
	default:
		t.Fatalf("returned key of type %T", raw)
	}
	if u := k.Use(); u != "" && u != "sig" {
		t.Fatalf("returned key with use %q", u)
	}
}

// FuzzDiscovery parses discovery documents with jwks.ParseDiscovery against a fuzzed issuer.
// See doc.go for the invariants.
func FuzzDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"`+githubURL+`","jwks_uri":"`+githubURL+`/.well-known/jwks"}`), githubURL)
	f.Fuzz(func(t *testing.T, doc []byte, issuer string) {
		uri, err := jwks.ParseDiscovery(doc, issuer)
		again, err2 := jwks.ParseDiscovery(doc, issuer)
		if uri != again || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic")
		}
		if err != nil {
			if !errors.Is(err, jwks.ErrInvalidDocument) && !errors.Is(err, jwks.ErrIssuerMismatch) && !errors.Is(err, jwks.ErrInsecureURL) {
				t.Fatalf("error matches no documented sentinel: %v", err)
			}
			return
		}
		// encoding/json must read the same document the same way (it keeps the last of
		// duplicate members: a parser that kept the first would disagree here).
		var d map[string]json.RawMessage
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatalf("accepted a document encoding/json refuses: %v", err)
		}
		var gotIss, gotURI string
		if json.Unmarshal(d["issuer"], &gotIss) != nil || gotIss != issuer {
			t.Fatalf("accepted issuer %q for %q", gotIss, issuer)
		}
		if json.Unmarshal(d["jwks_uri"], &gotURI) != nil || gotURI != uri {
			t.Fatalf("returned jwks_uri %q, document says %q", uri, gotURI)
		}
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			t.Fatalf("accepted jwks_uri %q", uri)
		}
		// No trailing-slash forgiveness, in either direction.
		other := issuer + "/"
		if strings.HasSuffix(issuer, "/") {
			other = strings.TrimSuffix(issuer, "/")
		}
		if _, err := jwks.ParseDiscovery(doc, other); err == nil {
			t.Fatalf("issuer %q also accepted as %q", issuer, other)
		}
	})
}
