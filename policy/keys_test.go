package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonKey(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{"lower ASCII unchanged", "aws:tagkeys", "aws:tagkeys"},
		{"ASCII lower-cased", "AWS:TagKeys", "aws:tagkeys"},
		{"long s is s", "aws:TagKey\u017f", "aws:tagkeys"},
		{"Kelvin sign is k", "aws:Tag\u212aeys", "aws:tagkeys"},
		{"other letters lower-cased", "aws:RequestTag/\u00dcBER", "aws:requesttag/\u00fcber"},
		{"final sigma is sigma", "k:\u03a3\u03c2", "k:\u03c3\u03c3"},
		{"dotted capital I has no fold partner and stays", "k:\u0130", "k:\u0130"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, canonKey(tt.key))
			assert.True(t, isCanon(canonKey(tt.key)))
			assert.True(t, sameKey(tt.key, tt.want))
		})
	}
}

// canonRune is constant on every Unicode simple case-folding orbit and
// different between orbits (except through ToLower), so that canonical keys
// are equal exactly when strings.EqualFold says the keys are.
func TestCanonRuneMatchesEqualFold(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		c := canonRune(r)
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if canonRune(f) != c {
				t.Fatalf("canonRune(%U) = %U but canonRune(%U) = %U", r, c, f, canonRune(f))
			}
		}
		if c != r {
			inOrbit := false
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				inOrbit = inOrbit || f == c
			}
			require.True(t, inOrbit, "canonRune(%U) = %U is not in its orbit", r, c)
		}
	}
}

// Every use of a key agrees on the canonical form: Keys, duplicate
// detection, lint's key checks.
func TestUnicodeKeysEverywhere(t *testing.T) {
	t.Run("Keys", func(t *testing.T) {
		p, err := Parse([]byte(cond(`"StringEquals":{"aws:TagKey` + longS + `":"a","k:x":"${aw` + longS + `:Calledvia}"}`)))
		require.NoError(t, err)
		assert.Equal(t, []string{"aws:calledvia", "aws:tagkeys", "k:x"}, p.Keys())
	})
	t.Run("duplicate in one operator", func(t *testing.T) {
		_, err := Parse([]byte(cond(`"StringEquals":{"k:s":"a","k:` + longS + `":"b"}`)))
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, ReasonDuplicate, pe.Reason)
	})
	t.Run("lint sees the multivalued key", func(t *testing.T) {
		p, err := Parse([]byte(stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:TagSession","Condition":{"StringEquals":{"aws:TagKey` + longS + `":"team"}}`)))
		require.NoError(t, err)
		var rules []string
		for _, f := range Lint(p) {
			rules = append(rules, f.Rule)
		}
		assert.Contains(t, rules, RuleMultivaluedNoSet)
	})
}

// TestCanonKeyASCIIPath checks canonKey, which lower-cases ASCII bytes one
// at a time until the first non-ASCII byte, against the rune-by-rune
// definition.
func TestCanonKeyASCIIPath(t *testing.T) {
	ref := func(key string) string {
		if isCanon(key) {
			return key
		}
		var b strings.Builder
		for _, r := range key {
			b.WriteRune(canonRune(r))
		}
		return b.String()
	}
	parts := []string{"A", "z", "K", ":", "/", "\u212a", "\u017f", "É", "ß", "Σ", "\xff", "oidc.EKS", "0"}
	r := rand.New(rand.NewPCG(3, 3))
	for range 5000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		k := b.String()
		if got, want := canonKey(k), ref(k); got != want {
			t.Fatalf("canonKey(%q) = %q, want %q", k, got, want)
		}
	}
}
