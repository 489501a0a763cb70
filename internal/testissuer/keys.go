package testissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
)

// Algorithms lists the JOSE algorithms the test issuer can sign with.
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// signingKey is one key pair of the issuer.
type signingKey struct {
	kid    string
	alg    string
	signer crypto.Signer
}

// newSigningKey generates a fresh key pair for alg.
func newSigningKey(alg string) (*signingKey, error) {
	var (
		signer crypto.Signer
		err    error
	)
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		signer, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("testissuer: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("testissuer: generate %s key: %w", alg, err)
	}
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return &signingKey{kid: fmt.Sprintf("%s-%s", alg, hex.EncodeToString(id[:])), alg: alg, signer: signer}, nil
}

// hashFor returns the hash function that alg uses (zero for EdDSA).
func hashFor(alg string) crypto.Hash {
	switch alg[len(alg)-3:] {
	case "256":
		return crypto.SHA256
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return 0
}

// sign signs input with the key under the key's own algorithm and returns the JOSE signature
// bytes (for ECDSA, the fixed-length r‖s form of RFC 7518 §3.4).
func (k *signingKey) sign(input []byte) ([]byte, error) {
	if k.alg == "EdDSA" {
		return ed25519.Sign(k.signer.(ed25519.PrivateKey), input), nil
	}
	h := hashFor(k.alg)
	var digest []byte
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(input)
		digest = d[:]
	case crypto.SHA384:
		d := sha512.Sum384(input)
		digest = d[:]
	case crypto.SHA512:
		d := sha512.Sum512(input)
		digest = d[:]
	}
	switch key := k.signer.(type) {
	case *rsa.PrivateKey:
		if k.alg[0] == 'P' {
			return rsa.SignPSS(rand.Reader, key, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(rand.Reader, key, h, digest)
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, key, digest)
		if err != nil {
			return nil, err
		}
		size := (key.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	}
	return nil, fmt.Errorf("testissuer: cannot sign with %T", k.signer)
}

// jwk returns the public JWK of the key as a JSON-ready map.
func (k *signingKey) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"kid": k.kid, "alg": k.alg, "use": "sig"}
	switch pub := k.signer.Public().(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = b64(pub.N.Bytes())
		m["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		raw, err := pub.Bytes() // uncompressed point: 0x04 ‖ X ‖ Y
		if err != nil {
			panic(fmt.Sprintf("testissuer: encode EC key: %v", err))
		}
		m["x"] = b64(raw[1 : 1+size])
		m["y"] = b64(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"] = "OKP"
		m["crv"] = "Ed25519"
		m["x"] = b64(pub)
	}
	return m
}
