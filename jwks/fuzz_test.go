package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// FuzzParseJWKS checks that ParseJWKS never panics, accounts for every key,
// and never returns a key that should have been skipped: each returned key
// is re-checked here from its raw JSON and its crypto/* form, independently
// of the parser's own checks. Seeds: testdata/fuzz/FuzzParseJWKS.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, index, skipped, err := parseJWKS(data)
		if err != nil {
			if len(keys) != 0 || len(skipped) != 0 {
				t.Fatalf("failed parse returned keys or skips")
			}
			return
		}
		var doc struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if json.Unmarshal(data, &doc) != nil {
			t.Fatalf("accepted a document encoding/json rejects")
		}
		if len(keys)+len(skipped) != len(doc.Keys) {
			t.Fatalf("%d keys + %d skipped != %d in document", len(keys), len(skipped), len(doc.Keys))
		}
		type kidKty struct{ kid, kty string }
		seen := map[kidKty]bool{}
		for i, key := range keys {
			if index[i] < 0 || index[i] >= len(doc.Keys) {
				t.Fatalf("index %d out of range", index[i])
			}
			assertUsable(t, key, doc.Keys[index[i]])
			id := kidKty{key.KeyID(), key.KeyType()}
			if id.kid != "" && seen[id] {
				t.Fatalf("ambiguous kid %q returned twice", id.kid)
			}
			seen[id] = true
		}
		for _, sk := range skipped {
			if sk.Reason < SkipMalformed || sk.Reason > SkipTooMany {
				t.Fatalf("skip without a reason: %+v", sk)
			}
		}
	})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// assertUsable re-checks a returned key against the rules, independently.
func assertUsable(t *testing.T, key *Key, raw json.RawMessage) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("returned key's JSON is not an object: %v", err)
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		if _, ok := m[private]; ok {
			t.Fatalf("returned key has private member %q", private)
		}
	}
	if use, ok := m["use"]; ok && use != "sig" {
		t.Fatalf("returned key has use %v", use)
	}
	if ops, ok := m["key_ops"]; ok {
		list, _ := ops.([]any)
		verify := false
		for _, op := range list {
			verify = verify || op == "verify"
		}
		if !verify {
			t.Fatalf("returned key has key_ops %v", ops)
		}
	}
	alg, _ := m["alg"].(string)
	pub := key.Public()
	if key.KeyID() != str(m["kid"]) || key.Algorithm() != alg || key.Use() != str(m["use"]) || key.KeyType() != m["kty"] {
		t.Fatalf("returned key's members differ from its JSON: %+v", key)
	}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if m["kty"] != "RSA" || p.N.BitLen() < 2048 || p.N.BitLen() > 8192 || p.E < 3 || p.E%2 == 0 {
			t.Fatalf("returned unusable RSA key (%d bits, e=%d)", p.N.BitLen(), p.E)
		}
		if alg != "" && alg != "RS256" && alg != "RS384" && alg != "RS512" && alg != "PS256" && alg != "PS384" && alg != "PS512" {
			t.Fatalf("returned RSA key with alg %q", alg)
		}
	case *ecdsa.PublicKey:
		if m["kty"] != "EC" {
			t.Fatalf("kty %v gave an ECDSA key", m["kty"])
		}
		if _, err := p.ECDH(); err != nil {
			t.Fatalf("returned EC key not on its curve: %v", err)
		}
		want := map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[p.Curve.Params().Name]
		if want == "" || (alg != "" && alg != want) {
			t.Fatalf("returned EC key on %s with alg %q", p.Curve.Params().Name, alg)
		}
	case ed25519.PublicKey:
		if m["kty"] != "OKP" || m["crv"] != "Ed25519" || len(p) != ed25519.PublicKeySize {
			t.Fatalf("returned unusable Ed25519 key")
		}
		if alg != "" && alg != "EdDSA" && alg != "Ed25519" {
			t.Fatalf("returned Ed25519 key with alg %q", alg)
		}
	default:
		t.Fatalf("returned key of type %T", pub)
	}
}

// FuzzParseDiscovery checks that ParseDiscovery never panics and accepts a
// document only when its "issuer" member is exactly the issuer and its
// jwks_uri is an https URL with a host and no userinfo.
// Seeds: testdata/fuzz/FuzzParseDiscovery.
func FuzzParseDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://oidc.example/id/ABC","jwks_uri":"https://oidc.example/id/ABC/keys"}`), "https://oidc.example/id/ABC")
	f.Add([]byte(`{"issuer":"https://a.example/","jwks_uri":"http://a.example/keys"}`), "https://a.example")
	f.Fuzz(func(t *testing.T, data []byte, issuer string) {
		uri, err := ParseDiscovery(data, issuer)
		if err != nil {
			if uri != "" {
				t.Fatalf("error with a jwks_uri")
			}
			return
		}
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			t.Fatalf("accepted a document encoding/json rejects")
		}
		if got, ok := m["issuer"].(string); !ok || got != issuer {
			t.Fatalf("accepted issuer %q for %q", m["issuer"], issuer)
		}
		if m["jwks_uri"] != uri {
			t.Fatalf("returned %q, document has %v", uri, m["jwks_uri"])
		}
		u, perr := url.Parse(uri)
		if perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			t.Fatalf("accepted unsafe jwks_uri %q", uri)
		}
	})
}

// FuzzFreshness checks that any Cache-Control, Expires, Date and Age headers
// give a lifetime inside [MinTTL, MaxTTL], and that an Age never lengthens
// it.
func FuzzFreshness(f *testing.F) {
	f.Add("public, max-age=3600", "", "", "")
	f.Add("no-store", "Thu, 01 Jan 1970 00:00:00 GMT", "", "5")
	f.Add(`max-age="99999999999999999999"`, "", "Wed, 21 Oct 2015 07:28:00 GMT", "-1")
	f.Add("", "Mon, 01 Jan 0001 00:00:00 GMT", "", "1")
	f.Fuzz(func(t *testing.T, cc, expires, date, age string) {
		h := http.Header{}
		for k, v := range map[string]string{"Cache-Control": cc, "Expires": expires, "Date": date, "Age": age} {
			if v != "" {
				h.Set(k, v)
			}
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ttl := freshness(h, now, DefaultMinTTL, DefaultMaxTTL)
		if ttl < DefaultMinTTL || ttl > DefaultMaxTTL {
			t.Fatalf("lifetime %v outside bounds", ttl)
		}
		h.Del("Age")
		if without := freshness(h, now, DefaultMinTTL, DefaultMaxTTL); ttl > without {
			t.Fatalf("Age lengthened the lifetime from %v to %v", without, ttl)
		}
	})
}
