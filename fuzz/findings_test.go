package fuzz

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/verifier"
)

// Regression tests for what the fuzz targets and their probes found. Each names the finding,
// the exact input and the expected behaviour; the seeds stay in testdata/fuzz.

// TestFindingSharedKidAcrossKeyTypes: RFC 7517 section 4.5 allows one kid on keys of
// different kty ("equivalent alternatives"), and jwks.ParseJWKS keeps all of them, but the
// verifier asks its KeySource for one key per (issuer, kid) and gets the first in document
// order. A valid token signed by the other key is refused with KeyMismatch. Input: the EKS
// issuer's JWKS with its RS256 key and its ES256 key both under kid kidFor("eks/RS256"), in
// either order, and one token per key carrying that kid (seed FuzzJWKS/same_kid_kty). Fixed
// in the verifier by commit 51d3d36 (a sibling key under the same kid that fits alg); the
// test stays as the regression guard.
func TestFindingSharedKidAcrossKeyTypes(t *testing.T) {
	w := getWorld(t)
	shared := kidFor("eks/RS256")
	var rs, ec map[string]any
	for _, k := range mustKeys(t, w.jwksDoc[eksURL]) {
		switch k["kid"] {
		case kidFor("eks/RS256"):
			rs = k
		case kidFor("eks/ES256"):
			ec = map[string]any{}
			for n, v := range k {
				ec[n] = v
			}
			ec["kid"] = shared
		}
	}
	rsTok := w.minted["eks/RS256"]
	esTok := craft(t, []byte(`{"alg":"ES256","kid":"`+shared+`"}`), []byte(eksPayload(t, nil)), "eks/ES256")
	for _, tc := range []struct {
		name string
		keys []map[string]any
	}{{"RSA first", []map[string]any{rs, ec}}, {"EC first", []map[string]any{ec, rs}}} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"keys": tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			keys, skipped, err := jwks.ParseJWKS(doc)
			if err != nil || len(keys) != 2 || len(skipped) != 0 {
				t.Fatalf("ParseJWKS: %d keys, %d skipped, %v (both keys are usable)", len(keys), len(skipped), err)
			}
			static, err := jwks.NewStatic(eksURL, keys...)
			if err != nil {
				t.Fatal(err)
			}
			v, err := verifier.New(verifier.Options{
				Providers: []verifier.Provider{{URL: eksURL, ARN: eksARN, ClientIDs: []string{clientID}}},
				Keys:      static, Now: clock, TokenCacheSize: -1,
			})
			if err != nil {
				t.Fatal(err)
			}
			for alg, tok := range map[string]string{"RS256": rsTok, "ES256": esTok} {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Errorf("%s token under the shared kid refused: %v", alg, err)
				}
			}
		})
	}
}
