// Package floor is the crypto floor that every benchmark of this module is measured against:
// Go's own hash and signature verification of a compact JWS, on a signing input and signature
// split and decoded beforehand. Nothing else is done, so "× floor" ratios say what parsing,
// key lookup, claim checks and the policy decision add to the signature check itself.
//
// It lives in one place so that the verifier's benchmarks, the bench suite and the peer
// comparison (bench/peers) measure against the very same code.
package floor

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
)

// Check returns a function that verifies token's signature with pub under alg (RS256, PS256,
// ES256 or EdDSA) and reports whether it holds. The token is split and its signature decoded
// once, here; the returned function only hashes and verifies.
func Check(alg string, pub crypto.PublicKey, token string) (func() bool, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return nil, fmt.Errorf("floor: not a compact JWS")
	}
	input := []byte(token[:i])
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil {
		return nil, fmt.Errorf("floor: signature: %w", err)
	}
	switch alg {
	case "RS256":
		pk, ok := pub.(*rsa.PublicKey)
		if !ok {
			break
		}
		return func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(pk, crypto.SHA256, d[:], sig) == nil
		}, nil
	case "PS256":
		pk, ok := pub.(*rsa.PublicKey)
		if !ok {
			break
		}
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPSS(pk, crypto.SHA256, d[:], sig, opts) == nil
		}, nil
	case "ES256":
		pk, ok := pub.(*ecdsa.PublicKey)
		if !ok || len(sig) != 64 {
			break
		}
		return func() bool {
			d := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(pk, d[:], r, s)
		}, nil
	case "EdDSA":
		pk, ok := pub.(ed25519.PublicKey)
		if !ok {
			break
		}
		return func() bool { return ed25519.Verify(pk, input, sig) }, nil
	}
	return nil, fmt.Errorf("floor: no check for %s with a %T key", alg, pub)
}
