// Package testissuer runs a real OpenID Connect issuer in-process, for tests, fuzzers, benchmarks
// and the demo command.
//
// An Issuer is an httptest TLS server on 127.0.0.1 that serves a discovery document at
// URL()+"/.well-known/openid-configuration" and a JWKS at JWKSURL(), holds signing keys of every
// JOSE algorithm that webidentity accepts (RSA 2048, RSA-PSS, ECDSA P-256/P-384/P-521, Ed25519),
// and mints compact JWTs with them:
//
//	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"RS256", "ES256"}})
//	token := iss.MustMint(t, iss.Claims("system:serviceaccount:default:demo", "sts.amazonaws.com"), testissuer.MintOptions{})
//
// Keys rotate under the test's control (AddKey, RemoveKey, Rotate, Publish); a removed key can
// still sign, so tests can present tokens signed by retired or never-published keys. MintOptions
// lets a test lie in the header (another alg, another or no kid, extra members such as crit or
// jku) to build forged tokens.
//
// Faults are switched per endpoint with SetFault: a status code, a replacement body, an oversized
// body, a delay before the headers, a body trickled one byte at a time, a redirect, and extra
// headers such as Cache-Control and Expires. SetDiscovery edits the discovery document (another
// issuer, an http:// jwks_uri, another host). Requests counts what each endpoint served, so tests
// can assert how many fetches a cache made.
//
// Options.KubeAPIServer makes the issuer behave like kube-apiserver's service account issuer, the
// issuer of self-managed, kind and in-cluster deployments: its exact discovery document, its JWKS
// at /openid/v1/jwks served only as application/jwk-set+json, kids that are base64url(SHA-256(PKIX
// DER)), "Cache-Control: public, max-age=3600", and go-restful's Accept negotiation with the
// apiserver's 406 answer (AcceptsMediaType documents the rules, quirks included).
//
// The package is internal: it is test equipment, not a production issuer. Its private keys live in
// memory and its TLS certificate is httptest's.
package testissuer
