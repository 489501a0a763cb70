// Package awsid makes the request ids that the AWS Query APIs (stsapi, iamapi) answer with.
package awsid

import (
	"crypto/rand"
	"encoding/hex"
)

// RequestID returns a random UUID (version 4), the shape of AWS request ids. It reads 16 bytes
// from crypto/rand (about 0.1 µs: a faster, weaker source would buy nothing measurable).
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
