package jwks

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHexFoldMatchesHexEqual: CheckThumbprints' comparison against the spelled-once
// lower-case hex answers as hexEqual does, for pins in either case, mixed case, with one
// character replaced by every byte value, and of other lengths.
func TestHexFoldMatchesHexEqual(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var fp [20]byte
		for i := range fp {
			fp[i] = byte(rng.Uint32())
		}
		var lo [40]byte
		hex.Encode(lo[:], fp[:])
		pins := []string{string(lo[:]), string(lo[:39]), string(lo[:]) + "0", ""}
		up := []byte(string(lo[:]))
		for i := range up {
			if rng.IntN(2) == 0 && up[i] >= 'a' {
				up[i] -= 'a' - 'A'
			}
		}
		pins = append(pins, string(up))
		for c := range 256 {
			b := []byte(string(up))
			b[rng.IntN(len(b))] = byte(c)
			pins = append(pins, string(b))
		}
		for _, p := range pins {
			assert.Equal(t, hexEqual(&fp, p), hexFold(&lo, p), "%x %q", fp, p)
		}
	}
}

// hexEqual is the thumbprint comparison CheckThumbprints made before hexFold (decoding t
// against fp): the reference hexFold is tested against.
func hexEqual(fp *[20]byte, t string) bool {
	if len(t) != 2*len(fp) {
		return false
	}
	for i, b := range fp {
		hi, ok1 := hexVal(t[2*i])
		lo, ok2 := hexVal(t[2*i+1])
		if !ok1 || !ok2 || hi<<4|lo != b {
			return false
		}
	}
	return true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
