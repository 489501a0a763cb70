package jwks

import (
	"bytes"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// SkipReason says why a key in a JWKS was not used. Following RFC 7517
// section 5, an unusable key is skipped and counted; it never fails the set.
type SkipReason int

// Reasons a key is skipped.
const (
	SkipMalformed    SkipReason = iota + 1 // not a JSON object, or jwx cannot parse it
	SkipUnknownType                        // kty missing or not RSA, EC or OKP
	SkipSymmetric                          // kty "oct": shared secrets never verify third-party tokens
	SkipPrivate                            // private key material published ("d", primes, ...)
	SkipUse                                // "use" present and not "sig"
	SkipKeyOps                             // "key_ops" present without "verify"
	SkipAlgorithm                          // "alg" present but not a signature algorithm for this key
	SkipRSASize                            // RSA modulus under 2048 or over 8192 bits
	SkipRSAInvalid                         // RSA modulus even, or exponent not an odd integer in [3, 2^31)
	SkipCurve                              // unsupported curve (EC: P-256/384/521; OKP: Ed25519)
	SkipNotOnCurve                         // EC point not on its curve, or wrong coordinate length
	SkipDuplicateKid                       // same kid twice with the same kty: all copies dropped
	SkipROCA                               // RSA modulus with the ROCA fingerprint (CVE-2017-15361): factorable
	SkipTooMany                            // usable, but beyond the first MaxKeys usable keys of the set
)

var skipNames = [...]string{
	SkipMalformed:    "malformed",
	SkipUnknownType:  "unknown key type",
	SkipSymmetric:    "symmetric key",
	SkipPrivate:      "private key material",
	SkipUse:          "use is not sig",
	SkipKeyOps:       "key_ops lacks verify",
	SkipAlgorithm:    "algorithm not usable with key",
	SkipRSASize:      "RSA key size out of range",
	SkipRSAInvalid:   "invalid RSA parameters",
	SkipCurve:        "unsupported curve",
	SkipNotOnCurve:   "point not on curve",
	SkipDuplicateKid: "duplicate kid",
	SkipROCA:         "ROCA-vulnerable RSA key (CVE-2017-15361)",
	SkipTooMany:      "more than MaxKeys usable keys",
}

// String returns a short description of the reason.
func (r SkipReason) String() string {
	if r > 0 && int(r) < len(skipNames) {
		return skipNames[r]
	}
	return "skip(" + strconv.Itoa(int(r)) + ")"
}

// SkippedKey describes one key that was not used.
type SkippedKey struct {
	Index  int    // position in the "keys" array
	Kid    string // the key's kid, if it had a string one
	Kty    string // the key's kty, if it had a string one
	Reason SkipReason
	Err    error // detail for logs, may be nil
}

const (
	minRSABits = 2048
	maxRSABits = 8192
)

// MaxKeys is the most usable keys taken from one set; later ones are skipped with
// SkipTooMany. Real issuers publish a handful (two or three during a rotation). A token without
// kid is matched against every key of its issuer, so an issuer that published thousands would
// make each of its forged tokens cost thousands of key checks.
const MaxKeys = 100

// ParseJWKS parses a JWK Set document (RFC 7517 section 5) and returns its
// usable public signature keys in document order, and the keys it skipped
// with reasons. It fails (with ErrInvalidDocument) only when the document is
// not a JSON object with a "keys" array; individual keys never fail the set.
//
// A key is usable when it is an RSA (2048 to 8192 bits), EC (P-256, P-384,
// P-521, point on the curve) or OKP Ed25519 public key, with "use" absent or
// "sig", "key_ops" absent or including "verify", and "alg" absent or a
// signature algorithm that fits the key. RSA moduli with the ROCA fingerprint
// (CVE-2017-15361: keys made by Infineon's RSA library, which can be
// factored) are skipped with SkipROCA. A kid that appears on two keys of
// the same kty is ambiguous: all of them are dropped. Keys that share a kid
// but differ in kty are all kept. Usable keys beyond the first MaxKeys are
// skipped with SkipTooMany.
//
// Each usable key is derived once, here: its Go public key, type, curve and RFC 7638
// thumbprint (see [Key]).
func ParseJWKS(data []byte) (keys []*Key, skipped []SkippedKey, err error) {
	keys, _, skipped, err = parseJWKS(data)
	return keys, skipped, err
}

// parseJWKS is ParseJWKS that also returns, for each usable key, its index in
// the "keys" array.
func parseJWKS(data []byte) (keys []*Key, index []int, skipped []SkippedKey, err error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil || doc == nil {
		return nil, nil, nil, fmt.Errorf("%w: JWKS is not a JSON object", ErrInvalidDocument)
	}
	rawKeys, ok := doc["keys"]
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: JWKS has no \"keys\" member", ErrInvalidDocument)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(rawKeys, &raws); err != nil || raws == nil {
		return nil, nil, nil, fmt.Errorf("%w: JWKS \"keys\" is not an array", ErrInvalidDocument)
	}

	type candidate struct {
		key   *Key
		index int
		kid   string
		kty   string
	}
	cands := make([]candidate, 0, len(raws))
	for i, raw := range raws {
		key, sk := parseOne(raw)
		if key == nil {
			sk.Index = i
			skipped = append(skipped, sk)
			continue
		}
		cands = append(cands, candidate{key: key, index: i, kid: sk.Kid, kty: sk.Kty})
	}

	// Ambiguous kids: the same kid on two keys of one kty.
	type kidKty struct{ kid, kty string }
	count := make(map[kidKty]int, len(cands))
	for _, c := range cands {
		if c.kid != "" {
			count[kidKty{c.kid, c.kty}]++
		}
	}
	for _, c := range cands {
		if c.kid != "" && count[kidKty{c.kid, c.kty}] > 1 {
			skipped = append(skipped, SkippedKey{Index: c.index, Kid: c.kid, Kty: c.kty, Reason: SkipDuplicateKid})
			continue
		}
		if len(keys) == MaxKeys {
			skipped = append(skipped, SkippedKey{Index: c.index, Kid: c.kid, Kty: c.kty, Reason: SkipTooMany})
			continue
		}
		keys = append(keys, c.key)
		index = append(index, c.index)
	}
	return keys, index, skipped, nil
}

// keyHint holds the members checked before jwx parses a key. Members are
// matched by exact name (encoding/json would match field tags
// case-insensitively, so a map is used).
type keyHint struct {
	kid, kty, use, alg string
	hasUse, hasAlg     bool
	ops                []string
	hasOps             bool
}

var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

func parseOne(raw json.RawMessage) (*Key, SkippedKey) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, SkippedKey{Reason: SkipMalformed, Err: errors.New("key is not a JSON object")}
	}
	var h keyHint
	sk := SkippedKey{}
	str := func(name string, dst *string) (present bool, ok bool) {
		v, present := members[name]
		if !present {
			return false, true
		}
		return true, json.Unmarshal(v, dst) == nil
	}
	if _, ok := str("kid", &h.kid); !ok {
		return nil, SkippedKey{Reason: SkipMalformed, Err: errors.New("kid is not a string")}
	}
	sk.Kid = h.kid
	if _, ok := str("kty", &h.kty); !ok {
		return nil, SkippedKey{Kid: h.kid, Reason: SkipMalformed, Err: errors.New("kty is not a string")}
	}
	sk.Kty = h.kty
	switch h.kty {
	case "RSA", "EC", "OKP":
	case "oct":
		sk.Reason = SkipSymmetric
		return nil, sk
	default:
		sk.Reason = SkipUnknownType
		return nil, sk
	}
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			sk.Reason = SkipPrivate
			sk.Err = fmt.Errorf("member %q present", m)
			return nil, sk
		}
	}
	var ok bool
	if h.hasUse, ok = str("use", &h.use); !ok {
		sk.Reason, sk.Err = SkipMalformed, errors.New("use is not a string")
		return nil, sk
	}
	if h.hasUse && h.use != "sig" {
		sk.Reason = SkipUse
		return nil, sk
	}
	if v, present := members["key_ops"]; present {
		h.hasOps = true
		if err := json.Unmarshal(v, &h.ops); err != nil {
			sk.Reason, sk.Err = SkipMalformed, errors.New("key_ops is not an array of strings")
			return nil, sk
		}
		verify := false
		for _, op := range h.ops {
			verify = verify || op == "verify"
		}
		if !verify {
			sk.Reason = SkipKeyOps
			return nil, sk
		}
		// jwx rejects operations it does not know; RFC 7517 lets other
		// values appear, and only "verify" matters here.
		if !knownOps(h.ops) {
			sk.Reason, sk.Err = SkipMalformed, errors.New("key_ops has unknown operations")
			return nil, sk
		}
	}
	if h.hasAlg, ok = str("alg", &h.alg); !ok {
		sk.Reason, sk.Err = SkipMalformed, errors.New("alg is not a string")
		return nil, sk
	}

	jk, err := jwk.ParseKey(raw)
	if err != nil {
		sk.Reason, sk.Err = SkipMalformed, err
		return nil, sk
	}
	key, reason, err := keyFromJWK(jk)
	if reason != 0 {
		sk.Reason, sk.Err = reason, err
		return nil, sk
	}
	return key, sk
}

func knownOps(ops []string) bool {
	for _, op := range ops {
		switch jwk.KeyOperation(op) {
		case jwk.KeyOpSign, jwk.KeyOpVerify, jwk.KeyOpEncrypt, jwk.KeyOpDecrypt,
			jwk.KeyOpWrapKey, jwk.KeyOpUnwrapKey, jwk.KeyOpDeriveKey, jwk.KeyOpDeriveBits:
		default:
			return false
		}
	}
	return true
}

// checkKey decides whether a parsed key is a usable public signature key. It
// is used for fetched and for static keys, and returns 0 when usable.
func checkKey(key jwk.Key) (SkipReason, error) {
	switch k := key.(type) {
	case jwk.SymmetricKey:
		return SkipSymmetric, nil
	case jwk.AsymmetricKey:
		if k.IsPrivate() {
			return SkipPrivate, nil
		}
	default:
		return SkipUnknownType, fmt.Errorf("key type %q", key.KeyType())
	}
	if u := key.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
		return SkipUse, nil
	}
	if ops := key.KeyOps(); ops != nil {
		verify := false
		for _, op := range ops {
			verify = verify || op == jwk.KeyOpVerify
		}
		if !verify {
			return SkipKeyOps, nil
		}
	}
	alg := ""
	if a := key.Algorithm(); a != nil {
		alg = a.String()
	}
	switch k := key.(type) {
	case jwk.RSAPublicKey:
		return checkRSA(k.N(), k.E(), alg)
	case jwk.ECDSAPublicKey:
		return checkEC(k.Crv(), k.X(), k.Y(), alg)
	case jwk.OKPPublicKey:
		if k.Crv() != jwa.Ed25519 {
			return SkipCurve, fmt.Errorf("curve %q", k.Crv())
		}
		if len(k.X()) != 32 {
			return SkipNotOnCurve, errors.New("Ed25519 key is not 32 bytes")
		}
		if alg != "" && alg != "EdDSA" && alg != "Ed25519" {
			return SkipAlgorithm, fmt.Errorf("alg %q on Ed25519 key", alg)
		}
		return 0, nil
	}
	return SkipUnknownType, fmt.Errorf("key type %q", key.KeyType())
}

func checkRSA(n, e []byte, alg string) (SkipReason, error) {
	switch alg {
	case "", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
	default:
		return SkipAlgorithm, fmt.Errorf("alg %q on RSA key", alg)
	}
	e = bytes.TrimLeft(e, "\x00")
	if len(e) == 0 || len(e) > 4 {
		return SkipRSAInvalid, errors.New("exponent out of range")
	}
	ev := new(big.Int).SetBytes(e).Int64()
	if ev < 3 || ev >= 1<<31 || ev%2 == 0 {
		return SkipRSAInvalid, errors.New("exponent must be odd, at least 3 and below 2^31")
	}
	nv := new(big.Int).SetBytes(n)
	if bits := nv.BitLen(); bits < minRSABits || bits > maxRSABits {
		return SkipRSASize, fmt.Errorf("%d-bit modulus", bits)
	}
	if nv.Bit(0) == 0 {
		return SkipRSAInvalid, errors.New("even modulus")
	}
	if rocaFingerprint(n) {
		return SkipROCA, errors.New("modulus has the Infineon RSALib fingerprint")
	}
	return 0, nil
}

func checkEC(crv jwa.EllipticCurveAlgorithm, x, y []byte, alg string) (SkipReason, error) {
	var curve ecdh.Curve
	var want string
	var size int
	switch crv {
	case jwa.P256:
		curve, want, size = ecdh.P256(), "ES256", 32
	case jwa.P384:
		curve, want, size = ecdh.P384(), "ES384", 48
	case jwa.P521:
		curve, want, size = ecdh.P521(), "ES512", 66
	default:
		return SkipCurve, fmt.Errorf("curve %q", crv)
	}
	if alg != "" && alg != want {
		return SkipAlgorithm, fmt.Errorf("alg %q on %s key", alg, crv)
	}
	if len(x) != size || len(y) != size {
		return SkipNotOnCurve, errors.New("coordinate length does not match curve")
	}
	point := make([]byte, 0, 1+2*size)
	point = append(point, 4)
	point = append(point, x...)
	point = append(point, y...)
	if _, err := curve.NewPublicKey(point); err != nil {
		return SkipNotOnCurve, err
	}
	return 0, nil
}

// ParseDiscovery parses an OpenID Provider Configuration document and returns
// its jwks_uri. The document's "issuer" must equal issuer exactly (code point
// for code point, no trailing-slash forgiveness; ErrIssuerMismatch), and
// jwks_uri must be an absolute https URL with a host and without userinfo
// (ErrInsecureURL). Member names are matched exactly.
func ParseDiscovery(data []byte, issuer string) (jwksURI string, err error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil || doc == nil {
		return "", fmt.Errorf("%w: discovery document is not a JSON object", ErrInvalidDocument)
	}
	var iss string
	if v, ok := doc["issuer"]; !ok || json.Unmarshal(v, &iss) != nil {
		return "", fmt.Errorf("%w: discovery \"issuer\" missing or not a string", ErrInvalidDocument)
	}
	if iss != issuer {
		return "", fmt.Errorf("%w: document names %q", ErrIssuerMismatch, iss)
	}
	var uri string
	if v, ok := doc["jwks_uri"]; !ok || json.Unmarshal(v, &uri) != nil {
		return "", fmt.Errorf("%w: discovery \"jwks_uri\" missing or not a string", ErrInvalidDocument)
	}
	if err := checkFetchURL(uri); err != nil {
		return "", err
	}
	return uri, nil
}

// checkFetchURL accepts absolute https URLs with a host and no userinfo.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %q does not parse", ErrInsecureURL, raw)
	}
	return checkURL(u)
}

func checkURL(u *url.URL) error {
	if u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q is not https", ErrInsecureURL, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URL carries userinfo", ErrInsecureURL)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: URL has no host", ErrInsecureURL)
	}
	if u.Opaque != "" {
		return fmt.Errorf("%w: opaque URL", ErrInsecureURL)
	}
	return nil
}
