package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Key is one usable public signature key: what the verifier needs from a JWK, derived once
// when the key is parsed or built. It is immutable and handed out as *Key; the jwx types that
// parse it never leave this package.
//
// A *Key exists only through [ParseJWKS], [ParsePEM] or [NewKey], which apply the same checks
// (RSA 2048 to 8192 bits with a valid exponent and no ROCA fingerprint, EC on P-256, P-384 or
// P-521 with the point on the curve, Ed25519 of 32 bytes, alg fitting the key), so every
// *Key from them verifies something. The zero Key has no type and fits no algorithm.
//
// Identity: a [Cache] keeps returning the same *Key while a key stays in its issuer's set
// with the same kid, alg, use and public material (RFC 7638 thumbprint), so callers may
// cache by pointer what they derive from, or verified with, a key.
type Key struct {
	// What a verifier reads per token comes first (type, curve, alg, public key: one or two
	// cache lines, as the allocator places the Key), and the strings among them are the
	// package's constants (see intern), whose bytes are shared and stay in the CPU caches:
	// comparing them with a verifier's own constants of the same text compares pointers.
	kty   string
	crv   string
	alg   string
	pub   crypto.PublicKey
	kid   string
	use   string
	bits  int
	thumb [32]byte
}

// interned lists the texts of kty, crv, alg and use that keys hold as the constants below,
// not as the strings a parse produced (which sit anywhere in the heap, cold when a token of
// a random issuer reads them).
var interned = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"RSA", "EC", "OKP", "P-256", "P-384", "P-521", "Ed25519", "sig",
		"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
	} {
		m[s] = s
	}
	return m
}()

// intern returns s as one of the package's constant strings when it has one's text, else s.
func intern(s string) string {
	if c, ok := interned[s]; ok {
		return c
	}
	return s
}

// KeyID returns the key's kid, "" if it has none.
func (k *Key) KeyID() string { return k.kid }

// Algorithm returns the JWK's own "alg" member ("RS256", "ES256", "EdDSA", ...), "" if absent:
// then the key may verify every algorithm of its type and curve.
func (k *Key) Algorithm() string { return k.alg }

// Use returns the JWK's "use" member: "sig" or "" (keys for other uses are never usable).
func (k *Key) Use() string { return k.use }

// KeyType returns the JWK key type: "RSA", "EC" or "OKP" ("" for the zero Key).
func (k *Key) KeyType() string { return k.kty }

// Curve returns the curve of an EC or OKP key ("P-256", "P-384", "P-521", "Ed25519"), "" for
// RSA.
func (k *Key) Curve() string { return k.crv }

// Bits returns an RSA key's modulus size in bits, 0 for other keys.
func (k *Key) Bits() int { return k.bits }

// Public returns the Go public key: *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey. It
// is shared: do not modify it.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Thumbprint returns the key's RFC 7638 JWK thumbprint (SHA-256 over its required members),
// computed once when the key was built.
func (k *Key) Thumbprint() [32]byte { return k.thumb }

// KeyError says why a key could not be built (NewKey, ParsePEM) or accepted as a static key
// (NewStatic, IssuerConfig.Keys). Match the reason with errors.As.
type KeyError struct {
	Index  int    // position of the key in the input (PEM block, static key list); 0 for NewKey
	Kid    string // the key's kid, if known
	Reason SkipReason
	Err    error // detail, may be nil
}

func (e *KeyError) Error() string {
	msg := "jwks: key " + strconv.Itoa(e.Index)
	if e.Kid != "" {
		msg += " (kid " + strconv.Quote(truncate(e.Kid, 64)) + ")"
	}
	msg += ": " + e.Reason.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *KeyError) Unwrap() error { return e.Err }

// NewKey builds a Key from a Go public key (*rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey), with the given kid and alg ("" for none), checked as [ParseJWKS] checks
// a JWK. Errors are *KeyError (SkipUnknownType for other key types, SkipPrivate for private
// keys, SkipRSASize, SkipCurve, SkipAlgorithm, ...).
func NewKey(pub crypto.PublicKey, kid, alg string) (*Key, error) {
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return nil, &KeyError{Kid: kid, Reason: SkipPrivate}
	default:
		return nil, &KeyError{Kid: kid, Reason: SkipUnknownType, Err: fmt.Errorf("%T", pub)}
	}
	if p, ok := pub.(*ecdsa.PublicKey); ok {
		if p == nil || p.Curve == nil {
			return nil, &KeyError{Kid: kid, Reason: SkipMalformed, Err: errors.New("incomplete EC key")}
		}
		switch name := p.Curve.Params().Name; name {
		case "P-256", "P-384", "P-521":
		default:
			return nil, &KeyError{Kid: kid, Reason: SkipCurve, Err: fmt.Errorf("curve %q", name)}
		}
		if _, err := p.Bytes(); err != nil {
			return nil, &KeyError{Kid: kid, Reason: SkipNotOnCurve, Err: err}
		}
	}
	if p, ok := pub.(*rsa.PublicKey); ok && (p == nil || p.N == nil) {
		return nil, &KeyError{Kid: kid, Reason: SkipMalformed, Err: errors.New("incomplete RSA key")}
	}
	jk, err := jwk.FromRaw(pub)
	if err != nil {
		return nil, &KeyError{Kid: kid, Reason: SkipCurve, Err: err}
	}
	if kid != "" {
		if err := jk.Set(jwk.KeyIDKey, kid); err != nil {
			return nil, &KeyError{Kid: kid, Reason: SkipMalformed, Err: err}
		}
	}
	k, reason, err := keyFromJWK(jk)
	if reason != 0 {
		return nil, &KeyError{Kid: kid, Reason: reason, Err: err}
	}
	if !algFits(k.kty, k.crv, alg) {
		return nil, &KeyError{Kid: kid, Reason: SkipAlgorithm, Err: fmt.Errorf("alg %q on %s key", alg, k.kty)}
	}
	k.alg = intern(alg)
	return k, nil
}

// algFits is checkKey's alg rule: "" or a signature algorithm of the key's type and curve.
func algFits(kty, crv, alg string) bool {
	switch {
	case alg == "":
		return true
	case kty == "RSA":
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case kty == "EC":
		return crv == "P-256" && alg == "ES256" || crv == "P-384" && alg == "ES384" || crv == "P-521" && alg == "ES512"
	case kty == "OKP":
		return alg == "EdDSA" || alg == "Ed25519"
	}
	return false
}

// keyFromJWK checks a parsed JWK (see checkKey) and derives its Key.
func keyFromJWK(jk jwk.Key) (*Key, SkipReason, error) {
	if reason, err := checkKey(jk); reason != 0 {
		return nil, reason, err
	}
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return nil, SkipMalformed, err
	}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil || len(tp) != 32 {
		return nil, SkipMalformed, fmt.Errorf("thumbprint: %w", err)
	}
	k := &Key{kid: jk.KeyID(), use: intern(jk.KeyUsage()), thumb: [32]byte(tp)}
	if a := jk.Algorithm(); a != nil {
		k.alg = intern(a.String())
	}
	switch pub := raw.(type) {
	case *rsa.PublicKey:
		k.kty, k.pub, k.bits = "RSA", pub, pub.N.BitLen()
	case *ecdsa.PublicKey:
		k.kty, k.pub, k.crv = "EC", pub, intern(pub.Curve.Params().Name)
	case ed25519.PublicKey:
		k.kty, k.pub, k.crv = "OKP", pub, "Ed25519"
	default:
		return nil, SkipUnknownType, fmt.Errorf("%T", raw)
	}
	return k, 0, nil
}

// ParsePEM reads the public keys of PEM data: "PUBLIC KEY" blocks (PKIX SubjectPublicKeyInfo),
// "RSA PUBLIC KEY" blocks (PKCS #1) and "CERTIFICATE" blocks (the certificate's public key;
// nothing else of the certificate, such as its validity, is used). Text around the blocks is
// ignored. Any other block, private keys included, fails the whole input, as does input
// without a block: static keys are configuration, and a mistake in them should be loud.
//
// Each key gets the kid kube-apiserver gives it (base64url, unpadded, of the SHA-256 of its
// PKIX DER encoding), so that a self-managed cluster's service-account signing key in PEM
// (--service-account-key-file) verifies that cluster's tokens, which carry that kid. For
// another kid or an alg, rebuild the key with NewKey(k.Public(), kid, alg). Errors are
// *KeyError with Index the block's position.
func ParsePEM(data []byte) ([]*Key, error) {
	var keys []*Key
	for i := 0; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			pub any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return nil, &KeyError{Index: i, Reason: SkipPrivate, Err: fmt.Errorf("PEM block %q", block.Type)}
		default:
			return nil, &KeyError{Index: i, Reason: SkipUnknownType, Err: fmt.Errorf("PEM block %q", block.Type)}
		}
		if err != nil {
			return nil, &KeyError{Index: i, Reason: SkipMalformed, Err: err}
		}
		kid, err := pkixKeyID(pub)
		if err != nil {
			return nil, &KeyError{Index: i, Reason: SkipUnknownType, Err: err}
		}
		k, err := NewKey(pub, kid, "")
		if err != nil {
			var ke *KeyError
			if errors.As(err, &ke) {
				ke.Index = i
			}
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, &KeyError{Reason: SkipMalformed, Err: errors.New("no PEM block")}
	}
	return keys, nil
}

// pkixKeyID is kube-apiserver's kid: base64url(SHA-256(PKIX DER)).
func pkixKeyID(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// checkStatic validates a list of static keys: no nil key, no kid shared by two keys of one
// type (ambiguous), at most MaxKeys. Errors are *KeyError.
func checkStatic(keys []*Key) error {
	if len(keys) > MaxKeys {
		return &KeyError{Index: MaxKeys, Reason: SkipTooMany, Err: fmt.Errorf("%d keys, at most %d", len(keys), MaxKeys)}
	}
	type kidKty struct{ kid, kty string }
	seen := make(map[kidKty]int, len(keys))
	for i, k := range keys {
		if k == nil || k.pub == nil {
			return &KeyError{Index: i, Reason: SkipMalformed, Err: errors.New("nil or zero Key")}
		}
		if k.kid == "" {
			continue
		}
		id := kidKty{k.kid, k.kty}
		if j, dup := seen[id]; dup {
			return &KeyError{Index: i, Kid: k.kid, Reason: SkipDuplicateKid, Err: fmt.Errorf("same kid and type as key %d", j)}
		}
		seen[id] = i
	}
	return nil
}
