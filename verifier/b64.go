package verifier

import (
	"encoding/base64"
	"encoding/binary"
)

// A decoder of unpadded base64url that accepts exactly what base64.RawURLEncoding.Strict()
// accepts from input without CR or LF (which that decoder skips; this one refuses them as
// bytes outside the alphabet, see splitCompact): only the 64 characters of the alphabet, no
// padding, a length that is not 1 mod 4, and zero trailing bits in the last quantum. It
// reports the same base64.CorruptInputError offsets. It exists because it is faster on a
// token's segments: sixteen characters per step, each through a lookup in a table pre-shifted
// to the character's place in its quantum, so that a quantum is the OR of four lookups and the
// invalid marker (a bit above the 24 of the value) is ORed with it and tested once per step;
// each six bytes are written as one 8-byte store, whose last two bytes the next store
// overwrites (which is why the loop stops while enough input remains). On amd64 with AVX2
// (useAVX2, unless built with the purego tag) decodeBlocksAVX2 first decodes, 32 characters at
// a time, the longest run of whole valid blocks; the Go loops continue where it stopped and
// make every error report.
//
// b64_test.go's tests and FuzzBase64 compare it with encoding/base64.

// b64Invalid is b64Value's marker of a byte outside the alphabet; the values are below 64.
const b64Invalid = 0xFF

// b64Value maps each base64url character to its 6-bit value and every other byte to b64Invalid.
var b64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = b64Invalid
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = byte(i)
	}
	return t
}()

// b64Bad is the bit b64Shifted sets for a byte outside the alphabet, above the 24 bits of a
// quantum's value.
const b64Bad = 1 << 31

// b64Shifted holds b64Value pre-shifted to each of the four places of a quantum, so that a
// quantum is the OR of four lookups (its invalid markers ORed with it):
// b64Shifted[i][c] = b64Value[c] << (18 - 6*i), or b64Bad.
var b64Shifted = func() (t [4][256]uint32) {
	for i := range t {
		for c, v := range b64Value {
			if v == b64Invalid {
				t[i][c] = b64Bad
			} else {
				t[i][c] = uint32(v) << (18 - 6*i)
			}
		}
	}
	return t
}()

// quantum decodes the four characters of s into the 24 bits of the result, with b64Bad set if
// one of them is outside the alphabet.
func quantum(s []byte) uint32 {
	s = s[:4]
	return b64Shifted[0][s[0]] | b64Shifted[1][s[1]] | b64Shifted[2][s[2]] | b64Shifted[3][s[3]]
}

// b64Decode decodes src, unpadded base64url, into dst, which must hold decodedLen(len(src))
// bytes, and returns the number of bytes written. On failure it returns
// base64.CorruptInputError with encoding/base64's offset: the first byte outside the alphabet
// or, if there is none, the last byte when the length is impossible or a final quantum of three
// characters has nonzero trailing bits, and the first byte of a final quantum of two that has.
func b64Decode(dst, src []byte) (int, error) { return b64DecodeWith(dst, src, useAVX2) }

// b64DecodeWith is b64Decode, starting with decodeBlocksAVX2 if avx2 is true (which needs
// useAVX2); the tests call it both ways.
func b64DecodeWith(dst, src []byte, avx2 bool) (int, error) {
	n := decodedLen(len(src))
	if len(dst) < n {
		panic("verifier: b64Decode: short destination")
	}
	s, d := src, dst[:n]
	if avx2 && len(s) >= 32 {
		// Whole 32-character blocks, 24 bytes each (no store wider than that), up to the
		// first block with a byte outside the alphabet; the loops below take over from there
		// as if they had decoded them: len(d) is still decodedLen(len(s)).
		k := decodeBlocksAVX2(d, s)
		s, d = s[k:], d[k/32*24:]
	}
	// Each step reads 8 characters and stores 8 bytes of which 6 are decoded; the other two
	// must fall inside dst, which holds at least 2 more bytes while 11 or more characters
	// remain after the step's 8 (3 characters decode to 2 bytes). The loop walks shrinking
	// slices, which lets the compiler drop the bounds checks.
	// Sixteen characters per step while 19 or more remain (the second store's two spare bytes
	// fall inside dst as above); a step with a byte outside the alphabet leaves it to the
	// eight-character loop, which reports it.
	for len(s) >= 16+3 && len(d) >= 14 {
		_ = s[15]
		q1 := b64Shifted[0][s[0]] | b64Shifted[1][s[1]] | b64Shifted[2][s[2]] | b64Shifted[3][s[3]]
		q2 := b64Shifted[0][s[4]] | b64Shifted[1][s[5]] | b64Shifted[2][s[6]] | b64Shifted[3][s[7]]
		q3 := b64Shifted[0][s[8]] | b64Shifted[1][s[9]] | b64Shifted[2][s[10]] | b64Shifted[3][s[11]]
		q4 := b64Shifted[0][s[12]] | b64Shifted[1][s[13]] | b64Shifted[2][s[14]] | b64Shifted[3][s[15]]
		if (q1|q2|q3|q4)&b64Bad != 0 {
			break
		}
		binary.BigEndian.PutUint64(d, uint64(q1)<<40|uint64(q2)<<16)
		binary.BigEndian.PutUint64(d[6:], uint64(q3)<<40|uint64(q4)<<16)
		s, d = s[16:], d[12:]
	}
	for len(s) >= 8+3 && len(d) >= 8 {
		_ = s[7]
		q1 := b64Shifted[0][s[0]] | b64Shifted[1][s[1]] | b64Shifted[2][s[2]] | b64Shifted[3][s[3]]
		q2 := b64Shifted[0][s[4]] | b64Shifted[1][s[5]] | b64Shifted[2][s[6]] | b64Shifted[3][s[7]]
		if (q1|q2)&b64Bad != 0 {
			break // the quantum loop decodes the step's good first quantum and reports the bad one
		}
		binary.BigEndian.PutUint64(d, uint64(q1)<<40|uint64(q2)<<16)
		s, d = s[8:], d[6:]
	}
	si, di := len(src)-len(s), n-len(d)
	for len(src)-si >= 4 {
		q := quantum(src[si:])
		if q&b64Bad != 0 {
			return di, base64.CorruptInputError(si + firstInvalid(src[si:si+4]))
		}
		t := dst[di : di+3 : di+3]
		t[0], t[1], t[2] = byte(q>>16), byte(q>>8), byte(q)
		si += 4
		di += 3
	}
	switch rest := src[si:]; len(rest) {
	case 0:
	case 1: // an impossible length; the offset is the same whether the byte is valid or not
		return di, base64.CorruptInputError(si)
	case 2:
		a, b := b64Value[rest[0]], b64Value[rest[1]]
		if (a|b)&0x80 != 0 {
			return di, base64.CorruptInputError(si + firstInvalid(rest))
		}
		if b&0x0F != 0 { // encoding/base64 reports the quantum's first byte here
			return di, base64.CorruptInputError(si)
		}
		dst[di] = a<<2 | b>>4
		di++
	case 3:
		a, b, c := b64Value[rest[0]], b64Value[rest[1]], b64Value[rest[2]]
		if (a|b|c)&0x80 != 0 {
			return di, base64.CorruptInputError(si + firstInvalid(rest))
		}
		if c&0x03 != 0 {
			return di, base64.CorruptInputError(si + 2)
		}
		v := uint32(a)<<10 | uint32(b)<<4 | uint32(c)>>2
		dst[di], dst[di+1] = byte(v>>8), byte(v)
		di += 2
	}
	return di, nil
}

// firstInvalid returns the index of the first byte of s outside the alphabet (len(s) if none).
func firstInvalid(s []byte) int {
	for i, c := range s {
		if b64Value[c] == b64Invalid {
			return i
		}
	}
	return len(s)
}
