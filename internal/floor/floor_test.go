package floor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

func TestCheck(t *testing.T) {
	algs := []string{"RS256", "PS256", "ES256", "EdDSA"}
	iss := testissuer.Start(t, testissuer.Options{Algorithms: algs})
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			kid := iss.KeyID(alg)
			tok := iss.MustMint(t, iss.Claims("s", "a"), testissuer.MintOptions{Kid: kid})
			check, err := Check(alg, iss.PublicKey(kid), tok)
			require.NoError(t, err)
			assert.True(t, check())

			other := iss.MustMint(t, iss.Claims("other", "a"), testissuer.MintOptions{Kid: kid})
			forged := tok[:len(tok)-len(tok[lastDot(tok):])] + other[lastDot(other):]
			check, err = Check(alg, iss.PublicKey(kid), forged)
			require.NoError(t, err)
			assert.False(t, check(), "another token's signature must not verify")
		})
	}
	_, err := Check("RS256", iss.PublicKey(iss.KeyID("EdDSA")), "a.b.c")
	assert.Error(t, err)
	_, err = Check("HS256", nil, "a.b.c")
	assert.Error(t, err)
	_, err = Check("RS256", nil, "nodots")
	assert.Error(t, err)
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
