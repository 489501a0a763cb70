package jwks

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// BenchmarkParseJWKS measures the parse cost of a one-key set per key type: JSON, validation
// (ROCA test for RSA, on-curve check for EC) and whatever is derived from each key at parse time.
func BenchmarkParseJWKS(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			iss := testissuer.Start(b, testissuer.Options{Algorithms: []string{alg}})
			doc := iss.JWKS()
			keys, _, err := ParseJWKS(doc)
			require.NoError(b, err)
			require.Len(b, keys, 1)
			b.ReportAllocs()
			for b.Loop() {
				if keys, _, err := ParseJWKS(doc); err != nil || len(keys) != 1 {
					b.Fatal(err)
				}
			}
		})
	}
}
