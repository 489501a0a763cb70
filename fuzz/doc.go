// Package fuzz holds webidentity's cross-package fuzz targets: the proof behind "nothing
// forged gets through". The targets live in this package's _test.go files and use only the
// public API of policy, jwks and verifier, plus internal/testissuer for keys and servers.
//
// Run one target for a while:
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzToken$' -fuzztime 10m
//
// or every target of the module (CI runs them ~8 s each; FUZZTIME=10m for long runs):
//
//	scripts/fuzz.sh
//
// A plain `go test ./fuzz` runs every seed as a unit test. Findings land in
// testdata/fuzz/<Target>/ and stay there as regression seeds.
//
// # The world
//
// Each process builds once (sync.Once) three test issuers: an EKS-shaped issuer with a key of
// every JOSE algorithm (RS256..PS512, ES256..ES512, EdDSA) plus a retired and an unpublished
// key, a GitHub-Actions-shaped issuer with two RS256 keys, and a stranger that is not
// registered. The verifier knows the registered ones under their real-shaped, stable issuer
// URLs (https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE..., https://token.actions.
// githubusercontent.com), fetched through a real jwks.Cache over the issuers' TLS servers,
// with stable kids. The clock is frozen, so every verdict is reproducible.
//
// Keys differ from process to process, so corpus entries of the token targets carry a mode
// byte instead of relying on their stored signature: its low two bits say keep the signature
// as given (0), sign the signing input afresh (1), sign and XOR the input's signature bytes
// into the result (2), or make a non-canonical signature (3: RSA-PSS with maximum salt, ECDSA
// with s' = n-s); the other six bits pick the signing key (an index into keySpecs). Seeds are
// regenerated with WEBIDENTITY_WRITE_CORPUS=1 go test ./fuzz -run TestWriteCorpus.
//
// # Targets and invariants
//
// FuzzToken (decoded header, payload and signature, canonically encoded) and
// FuzzTokenCompact (the whole compact string: dots, alphabets, padding, whitespace, JSON
// serialization) feed tokens to Verify, twice on a verifier without token cache and twice on
// one with, and to AssumeRoleWithWebIdentity:
//   - accepted only if an independent oracle (encoding/json and Go's crypto, no verifier code)
//     agrees: canonical three-segment compact JWS of at most 20,000 characters, no crit, jku,
//     x5u, x5c, jwk, b64, zip, enc or cty header, iss of a registered issuer, a kid that issuer
//     publishes (or, without kid, one of its keys) whose alg equals the header's, and a
//     signature that verifies under that key (PSS salt = hash length, fixed-length ECDSA on
//     the alg's curve, RSA of 2048 bits or more);
//   - the Token is exactly the signed payload: Claims byte for byte, iss, sub, aud (containing
//     the client ID), alg, kid, exp after now minus leeway, nbf and iat not after now plus
//     leeway, and Token.Claim returns every top-level claim as encoding/json reads it (escaped
//     member names included) and nothing for an absent name;
//   - every valid minted token is accepted;
//   - verdict, STS code and reason are the same on every call, with or without token cache,
//     and each reason maps to its code;
//   - AssumeRoleWithWebIdentity refuses with the same reason as Verify, or, for a verified
//     token, only for the trust policy or the session claims; when it allows, the subject and
//     audience satisfy the role's policy (checked independently), and the IRSA role never
//     refuses a verified token of its own service account and audience without session
//     claims;
//   - fetches stay bounded (at most one refresh per issuer with the frozen clock, whatever
//     kids arrive) and the unregistered issuer is never contacted.
//
// FuzzDifferential compares Verify with jwx/v2 jwt.Parse (compact only, same JWKS, issuer,
// audience, required claims, clock and leeway). Where both accept, iss, sub, aud, exp, nbf,
// iat, jti and every private claim agree. A disagreement must fall in a category that the
// target's doc comment explains and TestDifferentialDisagreements demonstrates.
//
// FuzzPolicy: Parse never panics and fails only with a *policy.ParseError with a reason;
// Keys() are lower-cased; Evaluate gives the same Decision on a second call, with context keys
// upper-cased or in mixed case, and through a Context that answers only lower-cased keys that
// Keys() listed (so Evaluate never asks for others); rewriting the case of the document's
// condition keys still parses and gives the same Effect.
//
// FuzzPolicyStringLike: StringLike through a whole document (JSON, Parse, Evaluate) agrees
// with an anchored regexp translation of the pattern ('*' is ".*", '?' is ".", the rest
// literal, (?s)).
//
// FuzzJWKS: ParseJWKS fails only with ErrInvalidDocument; otherwise it accounts for every key
// of the document, returns only public signature keys of a supported type, size and curve,
// and a verifier over exactly those keys accepts an EKS token only if the document holds the
// signer's public key under the token's kid (and with its alg); the issuer's own document
// verifies every published key's token.
//
// FuzzDiscovery: ParseDiscovery is deterministic, fails only with its documented sentinels,
// and accepts only a document that encoding/json reads the same way (so duplicate members
// cannot smuggle another issuer or jwks_uri), whose issuer equals the expected one exactly
// (with or without a trailing slash is a different issuer) and whose jwks_uri is https with a
// host and without userinfo.
//
// FuzzSessionTags splices the fuzzed value into an EKS token as its
// "https://aws.amazon.com/tags" claim and calls AssumeRoleWithWebIdentity for a role that
// allows sts:TagSession: accepted exactly when a reference written from STS's documented rules
// accepts, with the same tags in token order and the same transitive keys; refused otherwise
// with ReasonSessionTags (IDPRejectedClaim) or, for a payload that is not strict JSON,
// ReasonClaimsMalformed.
package fuzz
