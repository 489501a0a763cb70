package verifier

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
)

// family is a signature scheme.
type family uint8

const (
	famRSA   family = iota + 1 // RSASSA-PKCS1-v1_5
	famPSS                     // RSASSA-PSS, salt length = hash length
	famECDSA                   // ECDSA, fixed-length r||s
	famEdDSA                   // Ed25519
)

// algorithm is one JOSE signature algorithm this package verifies. There is deliberately no
// entry for none or any HMAC algorithm: a token naming them fails the lookup.
type algorithm struct {
	name  string
	fam   family
	hash  crypto.Hash
	kty   string         // the JWK key type the algorithm needs
	crv   string         // the JWK curve (EC, OKP)
	curve elliptic.Curve // ECDSA curve
	size  int            // ECDSA: bytes of r and of s
	order []byte         // ECDSA: the curve order, big-endian, size bytes
}

// algorithms lists the supported algorithms, which are also the default allow-list.
var algorithms = []*algorithm{
	{name: "RS256", fam: famRSA, hash: crypto.SHA256, kty: "RSA"},
	{name: "RS384", fam: famRSA, hash: crypto.SHA384, kty: "RSA"},
	{name: "RS512", fam: famRSA, hash: crypto.SHA512, kty: "RSA"},
	{name: "PS256", fam: famPSS, hash: crypto.SHA256, kty: "RSA"},
	{name: "PS384", fam: famPSS, hash: crypto.SHA384, kty: "RSA"},
	{name: "PS512", fam: famPSS, hash: crypto.SHA512, kty: "RSA"},
	ecAlg("ES256", crypto.SHA256, "P-256", elliptic.P256()),
	ecAlg("ES384", crypto.SHA384, "P-384", elliptic.P384()),
	ecAlg("ES512", crypto.SHA512, "P-521", elliptic.P521()),
	{name: "EdDSA", fam: famEdDSA, kty: "OKP", crv: "Ed25519"},
}

func ecAlg(name string, h crypto.Hash, crv string, c elliptic.Curve) *algorithm {
	size := (c.Params().BitSize + 7) / 8
	return &algorithm{name: name, fam: famECDSA, hash: h, kty: "EC", crv: crv, curve: c, size: size,
		order: c.Params().N.FillBytes(make([]byte, size))}
}

// algorithmIndex returns the position of the named algorithm in algorithms (case-sensitive), or
// -1.
func algorithmIndex(name []byte) int {
	for i, a := range algorithms {
		if string(name) == a.name {
			return i
		}
	}
	return -1
}

var pssOptions = rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

var (
	errSignature = errors.New("verifier: signature does not verify")
	errSigLength = errors.New("verifier: signature has the wrong length")
	errSigRange  = errors.New("verifier: ECDSA r or s out of range")
)

// sigScratch is working memory for verifySignature, kept in pooled scratch so that the digest
// and the DER signature, which the crypto functions retain as far as escape analysis can tell,
// do not cost an allocation per token.
type sigScratch struct {
	digest [sha512.Size]byte
	der    [2*(66+3) + 3]byte
}

// verifySignature checks sig over input with the public key pub, which fits has matched to
// alg.
func verifySignature(alg *algorithm, pub crypto.PublicKey, input, sig []byte, ss *sigScratch) error {
	if alg.fam == famEdDSA {
		k := pub.(ed25519.PublicKey)
		if len(k) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
			return errSigLength
		}
		if !ed25519.Verify(k, input, sig) {
			return errSignature
		}
		return nil
	}
	digest := hashInto(&ss.digest, alg.hash, input)
	switch alg.fam {
	case famRSA, famPSS:
		k := pub.(*rsa.PublicKey)
		if len(sig) != k.Size() {
			return errSigLength
		}
		var err error
		if alg.fam == famRSA {
			err = rsa.VerifyPKCS1v15(k, alg.hash, digest, sig)
		} else {
			err = rsa.VerifyPSS(k, alg.hash, digest, sig, &pssOptions)
		}
		if err != nil {
			return errSignature
		}
		return nil
	case famECDSA:
		k := pub.(*ecdsa.PublicKey)
		if len(sig) != 2*alg.size {
			return errSigLength
		}
		r, s := sig[:alg.size], sig[alg.size:]
		if !inRange(r, alg.order) || !inRange(s, alg.order) {
			return errSigRange
		}
		if !ecdsa.VerifyASN1(k, digest, appendDERSignature(ss.der[:0], r, s)) {
			return errSignature
		}
		return nil
	}
	return errSignature
}

// hashInto hashes input with h into buf and returns the digest.
func hashInto(buf *[sha512.Size]byte, h crypto.Hash, input []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(input)
		return append(buf[:0], d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384(input)
		return append(buf[:0], d[:]...)
	default:
		d := sha512.Sum512(input)
		return append(buf[:0], d[:]...)
	}
}

// inRange reports whether the big-endian integer x (as long as n) satisfies 0 < x < n.
func inRange(x, n []byte) bool {
	zero := true
	for _, b := range x {
		if b != 0 {
			zero = false
			break
		}
	}
	if zero {
		return false
	}
	for i := range x {
		if x[i] != n[i] {
			return x[i] < n[i]
		}
	}
	return false // x == n
}

// appendDERSignature encodes (r, s) as the ASN.1 DER SEQUENCE { INTEGER r, INTEGER s } that
// crypto/ecdsa verifies. r and s are positive and below the curve order (at most 66 bytes), so
// every length fits one byte except the sequence of P-521, which takes the long form 0x81 LL.
func appendDERSignature(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	ilen := func(x []byte) int { return 2 + len(x) + int(x[0]>>7) }
	body := ilen(r) + ilen(s)
	dst = append(dst, 0x30)
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	for _, x := range [2][]byte{r, s} {
		dst = append(dst, 0x02, byte(len(x)+int(x[0]>>7)))
		if x[0]&0x80 != 0 {
			dst = append(dst, 0)
		}
		dst = append(dst, x...)
	}
	return dst
}

func trimZeros(x []byte) []byte {
	for len(x) > 1 && x[0] == 0 {
		x = x[1:]
	}
	return x
}
