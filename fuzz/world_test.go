package fuzz

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// The fuzz world: three test issuers whose keys sign everything the targets present.
//
// Corpus files must mean the same thing in every process, but test issuers generate fresh keys
// and listen on random ports. So the verifier knows the issuers under stable, real-shaped URLs
// (eksURL, githubURL: each jwks.IssuerConfig points its DiscoveryURL at the test server, whose
// discovery document is edited to name the stable issuer), and each issuer's JWKS is served
// with stable kids (kidFor). Only signatures differ between processes; the targets' "sign"
// modes make them in-process.
const (
	eksURL    = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	eksARN    = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	eksPrefix = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	githubURL = "https://token.actions.githubusercontent.com"
	githubARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
	// strangerURL is an issuer that is not registered: its keys sign, but nothing of it is
	// trusted.
	strangerURL = "https://oidc.eks.eu-west-1.amazonaws.com/id/0000000000000000000000000000000F"
	clientID    = "sts.amazonaws.com"

	eksRoleARN     = "arn:aws:iam::111122223333:role/eks-app"
	githubRoleARN  = "arn:aws:iam::111122223333:role/github-deploy"
	eksTagsRoleARN = "arn:aws:iam::111122223333:role/eks-tagged"
	eksSubject     = "system:serviceaccount:default:app-sa"
	githubSubPfx   = "repo:octo-org/octo-repo:"
)

// now is the fixed clock of every target: 2025-06-01T12:00:00Z.
var now = time.Unix(1748779200, 0).UTC()

func clock() time.Time { return now }

// leeway is the verifier's default leeway, which the targets use.
const leeway = verifier.DefaultLeeway

// key is one signing key of the world.
type key struct {
	sym       string // stable name, such as "eks/RS256"
	issuer    string // the stable issuer URL whose tokens it signs
	kid       string // stable kid, as published and as written in tokens
	alg       string
	signer    crypto.Signer
	realKid   string // the test issuer's own kid for the key
	published bool   // in the issuer's served JWKS
}

// world is built once per process (sync.Once): key generation and TLS servers are far too
// slow to repeat per input.
type world struct {
	keys     []*key                     // stable order: corpus files index it
	bySym    map[string]*key            // sym -> key
	pub      map[string]map[string]*key // registered issuer -> kid -> published key
	eks, gh  *testissuer.Issuer
	stranger *testissuer.Issuer
	cache    *jwks.Cache
	plain    *verifier.Verifier // token cache off
	cached   *verifier.Verifier // token cache on
	// minted holds testissuer-minted tokens that must verify, by name.
	minted map[string]string
	// jwksDoc is the JWKS document each registered issuer serves.
	jwksDoc map[string][]byte
	valid   map[string]bool // tokens that must be accepted
	// initialFetches is the JWKS fetch count of each served issuer after warm-up.
	initialFetches map[*testissuer.Issuer]int
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

// getWorld returns the process's world, building it on first use.
func getWorld(tb testing.TB) *world {
	tb.Helper()
	worldOnce.Do(func() { theWorld, worldErr = buildWorld() })
	if worldErr != nil {
		tb.Fatalf("fuzz world: %v", worldErr)
	}
	return theWorld
}

// kidFor returns the stable kid of a key symbol: 40 hex digits, like EKS kids.
func kidFor(sym string) string {
	s := sha1.Sum([]byte(sym))
	return hex.EncodeToString(s[:])
}

// keySpecs lists the world's keys in their stable order. Corpus files select keys by index
// into this list, so only append to it.
var keySpecs = []struct {
	sym, issuer, alg string
	published        bool
}{
	{"eks/RS256", eksURL, "RS256", true},
	{"eks/RS384", eksURL, "RS384", true},
	{"eks/RS512", eksURL, "RS512", true},
	{"eks/PS256", eksURL, "PS256", true},
	{"eks/PS384", eksURL, "PS384", true},
	{"eks/PS512", eksURL, "PS512", true},
	{"eks/ES256", eksURL, "ES256", true},
	{"eks/ES384", eksURL, "ES384", true},
	{"eks/ES512", eksURL, "ES512", true},
	{"eks/EdDSA", eksURL, "EdDSA", true},
	{"eks/retired-ES256", eksURL, "ES256", false},
	{"eks/unpublished-EdDSA", eksURL, "EdDSA", false},
	{"github/RS256-current", githubURL, "RS256", true},
	{"github/RS256-next", githubURL, "RS256", true},
	{"stranger/RS256", strangerURL, "RS256", false},
	{"stranger/EdDSA", strangerURL, "EdDSA", false},
}

func buildWorld() (*world, error) {
	w := &world{
		bySym:          map[string]*key{},
		pub:            map[string]map[string]*key{eksURL: {}, githubURL: {}},
		minted:         map[string]string{},
		jwksDoc:        map[string][]byte{},
		valid:          map[string]bool{},
		initialFetches: map[*testissuer.Issuer]int{},
	}
	issuers := map[string]*testissuer.Issuer{}
	for url, path := range map[string]string{eksURL: "/id/EXAMPLED539D4633E53DE1B71EXAMPLE", githubURL: "", strangerURL: "/id/0000000000000000000000000000000F"} {
		var algs []string
		for _, s := range keySpecs {
			if s.issuer == url {
				algs = append(algs, s.alg)
			}
		}
		iss, err := testissuer.New(testissuer.Options{Path: path, Algorithms: algs, Now: clock})
		if err != nil {
			return nil, err
		}
		issuers[url] = iss
	}
	w.eks, w.gh, w.stranger = issuers[eksURL], issuers[githubURL], issuers[strangerURL]

	// Pair the specs with the issuers' keys, in creation order.
	next := map[string]int{}
	jwksDocs := map[string][]any{}
	for _, s := range keySpecs {
		iss := issuers[s.issuer]
		realKid := iss.Kids()[next[s.issuer]]
		next[s.issuer]++
		k := &key{sym: s.sym, issuer: s.issuer, kid: kidFor(s.sym), alg: s.alg, signer: iss.Signer(realKid), realKid: realKid, published: s.published}
		w.keys = append(w.keys, k)
		w.bySym[s.sym] = k
		if !s.published {
			continue
		}
		w.pub[s.issuer][k.kid] = k
		jwk, err := publicJWK(iss.JWKS(), realKid)
		if err != nil {
			return nil, err
		}
		jwk["kid"] = k.kid
		jwksDocs[s.issuer] = append(jwksDocs[s.issuer], jwk)
	}
	for _, url := range []string{eksURL, githubURL} {
		doc, err := json.Marshal(map[string]any{"keys": jwksDocs[url]})
		if err != nil {
			return nil, err
		}
		w.jwksDoc[url] = doc
		iss, stable := issuers[url], url
		iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: doc})
		iss.SetDiscovery(func(d map[string]any) { d["issuer"] = stable })
	}

	cache, err := jwks.New(jwks.Options{
		HTTPClient:            w.eks.Client(),
		AllowPrivateAddresses: true,
		Now:                   clock,
		Issuers: []jwks.IssuerConfig{
			{Issuer: eksURL, DiscoveryURL: w.eks.DiscoveryURL()},
			{Issuer: githubURL, DiscoveryURL: w.gh.DiscoveryURL()},
		},
	})
	if err != nil {
		return nil, err
	}
	if err := cache.Prefetch(context.Background()); err != nil {
		return nil, err
	}
	w.cache = cache

	roles, err := worldRoles()
	if err != nil {
		return nil, err
	}
	providers := []verifier.Provider{
		{URL: eksURL, ARN: eksARN, ClientIDs: []string{clientID}},
		{URL: githubURL, ARN: githubARN, ClientIDs: []string{clientID}},
	}
	for _, size := range []int{-1, 0} {
		v, err := verifier.New(verifier.Options{Providers: providers, Roles: roles, Keys: cache, Now: clock, TokenCacheSize: size})
		if err != nil {
			return nil, err
		}
		if size < 0 {
			w.plain = v
		} else {
			w.cached = v
		}
	}

	// Tokens minted by the test issuers themselves (testissuer.Mint), one per algorithm.
	for _, k := range w.keys {
		iss := issuers[k.issuer]
		kid := k.kid
		claims := eksClaims()
		if k.issuer == githubURL {
			claims = githubClaims()
		}
		tok, err := iss.Mint(claims, testissuer.MintOptions{Kid: k.realKid, HeaderKid: &kid})
		if err != nil {
			return nil, err
		}
		w.minted[k.sym] = tok
		if k.published {
			w.valid[tok] = true
		}
	}
	// Warm both verifiers (derived keys, token cache) on every valid token.
	for tok := range w.valid {
		for _, v := range []*verifier.Verifier{w.plain, w.cached} {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				return nil, fmt.Errorf("minted token refused: %w", err)
			}
		}
	}
	for _, iss := range []*testissuer.Issuer{w.eks, w.gh} {
		w.initialFetches[iss] = iss.Requests(testissuer.JWKS)
	}
	return w, nil
}

// publicJWK returns the member map of kid's key in a JWKS document.
func publicJWK(doc []byte, kid string) (map[string]any, error) {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		if k["kid"] == kid {
			return k, nil
		}
	}
	return nil, fmt.Errorf("no key %q in the test issuer's JWKS", kid)
}

// eksClaims are the claims of an EKS projected service-account token (as the kubelet
// requests it for IRSA: audience sts.amazonaws.com, 24 hours).
func eksClaims() map[string]any {
	iat := now.Unix() - 600
	return map[string]any{
		"aud": []string{clientID},
		"exp": iat + 86400,
		"iat": iat,
		"iss": eksURL,
		"jti": "5d0c6d47-1c39-4c7c-a1f5-0e6c1b2d3f4a",
		"kubernetes.io": map[string]any{
			"namespace": "default",
			"node":      map[string]any{"name": "ip-192-168-12-34.us-west-2.compute.internal", "uid": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
			"pod":       map[string]any{"name": "app-7d9f8b6c5d-x2x7z", "uid": "0d3c1f5e-6d4b-4e7a-9c1e-2f3a4b5c6d7e"},
			"serviceaccount": map[string]any{
				"name": "app-sa", "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
			},
			"warnafter": iat + 3607,
		},
		"nbf": iat,
		"sub": eksSubject,
	}
}

// githubClaims are the claims of a GitHub Actions OIDC token requested with audience
// sts.amazonaws.com (five minutes of validity, nbf ten minutes before iat, as GitHub mints).
func githubClaims() map[string]any {
	iat := now.Unix() - 60
	return map[string]any{
		"jti":                   "f1a2b3c4-d5e6-4f7a-8b9c-0d1e2f3a4b5c",
		"sub":                   githubSubPfx + "environment:prod",
		"environment":           "prod",
		"aud":                   clientID,
		"ref":                   "refs/heads/main",
		"sha":                   "d6e1c0ffee1e5c0ffee1e5c0ffee1e5c0ffee1e5",
		"repository":            "octo-org/octo-repo",
		"repository_owner":      "octo-org",
		"actor_id":              "12",
		"repository_visibility": "private",
		"repository_id":         "74",
		"repository_owner_id":   "65",
		"run_id":                "9876543210",
		"run_number":            "10",
		"run_attempt":           "2",
		"runner_environment":    "github-hosted",
		"actor":                 "octocat",
		"workflow":              "deploy",
		"head_ref":              "",
		"base_ref":              "",
		"event_name":            "workflow_dispatch",
		"ref_type":              "branch",
		"job_workflow_ref":      "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
		"iss":                   githubURL,
		"nbf":                   iat - 600,
		"exp":                   iat + 300,
		"iat":                   iat,
	}
}

// worldRoles are the roles AssumeRoleWithWebIdentity is asked for: an IRSA role pinned to one
// service account, and a GitHub Actions role pinned to one repository, which also allows
// session tags.
func worldRoles() (*verifier.StaticRoles, error) {
	eks, err := policy.Parse([]byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "` + eksARN + `"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {
      "` + eksPrefix + `:sub": "` + eksSubject + `",
      "` + eksPrefix + `:aud": "sts.amazonaws.com"
    }}
  }]
}`))
	if err != nil {
		return nil, err
	}
	gh, err := policy.Parse([]byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "` + githubARN + `"},
    "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
    "Condition": {
      "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
      "StringLike": {"token.actions.githubusercontent.com:sub": "` + githubSubPfx + `*"}
    }
  }]
}`))
	if err != nil {
		return nil, err
	}
	eksTags, err := policy.Parse([]byte(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "` + eksARN + `"},
    "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
    "Condition": {"StringEquals": {"` + eksPrefix + `:sub": "` + eksSubject + `"}}
  }]
}`))
	if err != nil {
		return nil, err
	}
	return verifier.NewStaticRoles(
		&verifier.Role{ARN: eksRoleARN, TrustPolicy: eks},
		&verifier.Role{ARN: eksTagsRoleARN, TrustPolicy: eksTags},
		&verifier.Role{ARN: githubRoleARN, TrustPolicy: gh, MaxSessionDuration: 4 * time.Hour},
	)
}

var b64 = base64.RawURLEncoding

// hashFor returns the hash an alg uses (0 for EdDSA), and false for an unknown alg.
func hashFor(alg string) (crypto.Hash, bool) {
	switch alg {
	case "RS256", "PS256", "ES256":
		return crypto.SHA256, true
	case "RS384", "PS384", "ES384":
		return crypto.SHA384, true
	case "RS512", "PS512", "ES512":
		return crypto.SHA512, true
	case "EdDSA":
		return 0, true
	}
	return 0, false
}

func digest(h crypto.Hash, input []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(input)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(input)
		return d[:]
	default:
		d := sha512.Sum512(input)
		return d[:]
	}
}

// signJOSE signs input under k's own algorithm and returns the JOSE signature bytes. With
// variant set it makes a signature that is valid for the raw primitive but not canonical for
// JOSE: RSA-PSS with the maximum salt length instead of the hash length, ECDSA with s replaced
// by n-s (both r||s halves still fixed-length). Ed25519 and PKCS #1 v1.5 have no variant.
func signJOSE(k *key, input []byte, variant bool) ([]byte, error) {
	if k.alg == "EdDSA" {
		return k.signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h, _ := hashFor(k.alg)
	d := digest(h, input)
	switch k.alg[:2] {
	case "RS":
		return k.signer.Sign(rand.Reader, d, h)
	case "PS":
		salt := rsa.PSSSaltLengthEqualsHash
		if variant {
			salt = rsa.PSSSaltLengthAuto
		}
		return k.signer.Sign(rand.Reader, d, &rsa.PSSOptions{SaltLength: salt, Hash: h})
	}
	der, err := k.signer.Sign(rand.Reader, d, h)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, err
	}
	curve := k.signer.Public().(*ecdsa.PublicKey).Curve
	if variant {
		rs.S = new(big.Int).Sub(curve.Params().N, rs.S)
	}
	n := (curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	rs.R.FillBytes(out[:n])
	rs.S.FillBytes(out[n:])
	return out, nil
}

// verifyJOSE is the independent signature check: Go's crypto, the alg's own rules, no code
// shared with the verifier. PSS must use a salt as long as the hash; ECDSA signatures are
// fixed-length r||s on the alg's curve.
func verifyJOSE(alg string, pub crypto.PublicKey, input, sig []byte) bool {
	h, ok := hashFor(alg)
	if !ok {
		return false
	}
	switch pk := pub.(type) {
	case *rsa.PublicKey:
		if pk.N.BitLen() < 2048 {
			return false
		}
		switch alg[:2] {
		case "RS":
			return rsa.VerifyPKCS1v15(pk, h, digest(h, input), sig) == nil
		case "PS":
			return rsa.VerifyPSS(pk, h, digest(h, input), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		if want == nil || pk.Curve != want {
			return false
		}
		n := (want.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			return false
		}
		r := new(big.Int).SetBytes(sig[:n])
		s := new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(pk, digest(h, input), r, s)
	case ed25519.PublicKey:
		return alg == "EdDSA" && ed25519.Verify(pk, input, sig)
	}
	return false
}
