package iam

import (
	"io"
)

// roleIDAlphabet is the alphabet of the 17 characters after "AROA" in the
// role IDs IAM issues: RFC 4648 base32 (A-Z, 2-7), as AWS unique IDs are.
const roleIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// roleIDLength is the length of an IAM role ID: "AROA" + 17.
const roleIDLength = 21

// newRoleID returns "AROA" followed by 17 random base32 characters read from
// rnd (crypto/rand by default). 256 is a multiple of 32, so taking each byte
// modulo 32 is uniform.
func newRoleID(rnd io.Reader) (string, error) {
	var b [roleIDLength]byte
	copy(b[:], "AROA")
	if _, err := io.ReadFull(rnd, b[4:]); err != nil {
		return "", err
	}
	for i := 4; i < len(b); i++ {
		b[i] = roleIDAlphabet[b[i]&31]
	}
	return string(b[:]), nil
}
