package verifier

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkHostileJSON measures how long the verifier takes to refuse the hostile tokens of
// hostileCases (forged signatures, hundreds of escaped member names), beside the full
// verification of a genuine RS256 token in the same run: compare each hostile ns/op with
// RS256-genuine/verify. A forged token should never cost more than a genuine one.
func BenchmarkHostileJSON(b *testing.B) {
	ctx := context.Background()
	k := newTestKey(b, "RS256", "bench-hostile")
	v := newTestVerifier(b, mapKeys(k), nil)
	genuine := mint(b, k, benchClaims(), nil)
	if _, err := v.Verify(ctx, genuine); err != nil {
		b.Fatal(err)
	}
	b.Run("RS256-genuine/verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, genuine); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RS256-genuine/parse", func(b *testing.B) { // the JSON reader's share of verify
		parts := strings.Split(genuine, ".")
		hdr, err := b64e.DecodeString(parts[0])
		require.NoError(b, err)
		pay, err := b64e.DecodeString(parts[1])
		require.NoError(b, err)
		r := new(objectReader)
		b.ReportAllocs()
		for b.Loop() {
			if _, e := parseHeader(r, hdr); e != nil {
				b.Fatal(e)
			}
			if _, e := parseClaims(r, pay); e != nil {
				b.Fatal(e)
			}
		}
	})
	for _, tc := range hostileCases(b, k.kid) {
		if _, err := v.Verify(ctx, tc.token); err == nil { // warm the pool
			b.Fatalf("%s: accepted", tc.name)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.token)))
			for b.Loop() {
				if _, err := v.Verify(ctx, tc.token); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
