package policy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		value   string
		fold    bool
		want    bool
	}{
		{"empty matches empty", "", "", false, true},
		{"empty does not match text", "", "a", false, false},
		{"literal", "abc", "abc", false, true},
		{"literal prefix only", "abc", "abcd", false, false},
		{"star alone", "*", "", false, true},
		{"star anything", "*", "a:b/c*?", false, true},
		{"prefix star", "ab*", "abzzz", false, true},
		{"star suffix", "*yz", "abxyz", false, true},
		{"star suffix overlapping prefix", "ab*bc", "abc", false, false},
		{"star suffix exact overlap", "ab*bc", "abbc", false, true},
		{"middle segments leftmost", "a*b*c", "a_b_b_c", false, true},
		{"middle segment missing", "a*b*c", "a_x_c", false, false},
		{"double star", "a**b", "ab", false, true},
		{"question marks", "??", "ab", false, true},
		{"question mark too few", "???", "ab", false, false},
		{"question mark multibyte", "?", "€", false, true},
		{"question mark in last segment", "*a?", "xxab", false, true},
		{"question mark in last segment, too short", "*a?", "a", false, false},
		{"question mark in middle segment", "*a?c*", "zzabczz", false, true},
		{"stars and question marks", "*?*?*", "a", false, false},
		{"stars and question marks enough", "*?*?*", "ab", false, true},
		{"fold literal", "sts:AssumeRole", "STS:assumerole", true, true},
		{"fold wildcard", "sts:assume*", "STS:AssumeRoleWithWebIdentity", true, true},
		{"fold suffix", "*ROLE", "sts:assumerole", true, true},
		{"fold unicode", "*ſ", "xS", true, true},
		{"no fold", "sts:assume*", "STS:AssumeRole", false, false},
		{"pathological", strings.Repeat("a*", 50) + "b", strings.Repeat("a", 5000), false, false},
		// Middle segments found by strings.Index and by Shift-And.
		{"long literal middle absent", "*" + strings.Repeat("a", 300) + "b*", strings.Repeat("a", 2000), false, false},
		{"long literal middle at the end", "*" + strings.Repeat("a", 300) + "b*", strings.Repeat("a", 2000) + "b", false, true},
		{"question middle, overlapping candidates", "x*a?a?b*y", "xaxaxaab_y", false, true},
		{"question middle, none", "x*a?a?b*y", "xaaaaaaaaaay", false, false},
		{"question middle, multibyte", "*é?€*", "zzéſ€zz", false, true},
		{"question middle, multibyte mismatch", "*é?€*", "zzèſ€zz", false, false},
		{"question middle of 64 code points", "*" + strings.Repeat("a?", 32) + "*", "b" + strings.Repeat("ab", 32) + "b", false, true},
		{"question middle of 65 code points (fallback)", "*" + strings.Repeat("a?", 32) + "c*", "b" + strings.Repeat("ab", 32) + "cb", false, true},
		{"middle segment ends before the last starts", "*ab*bc", "abc", false, false},
		{"last segment with question, multibyte", "a*?é", "a€é", false, true},
		{"last segment longer than the rest", "abc*??", "abcd", false, false},
		{"fold middle with question", "sts:*a?sume*", "STS:xASSUMErole", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compileGlob(tt.pattern, tt.fold)
			assert.Equal(t, tt.want, p.match(tt.value, nil))
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		sec  int64
		nsec int32
		ok   bool
	}{
		{"1970-01-01T00:00:00Z", 0, 0, true},
		{"1970-01-01", 0, 0, true},
		{"1970-01-01T01:00+01:00", 0, 0, true},
		{"1970-01-01T00:00:01.25z", 1, 250000000, true},
		{"2000-02-29T00:00:00Z", 951782400, 0, true},
		{"0", 0, 0, true},
		{"-1", -1, 0, true},
		{"-0.25", -1, 750000000, true},
		{"12.1234567891", 12, 123456789, true},
		{"2001-02-29", 0, 0, false},
		{"2024-13-01", 0, 0, false},
		{"2024-01-01T24:00:00Z", 0, 0, false},
		{"2024-01-01T10:60Z", 0, 0, false},
		{"2024-01-01T10:00:61Z", 0, 0, false},
		{"2024-01-01T10:00:00.Z", 0, 0, false},
		{"2024-01-01 10:00:00Z", 0, 0, false},
		{"2024-01-01T10:00:00+0100", 0, 0, false},
		{"2024-1-01", 0, 0, false},
		{"1.", 0, 0, false},
		{"-", 0, 0, false},
		{"99999999999999999999", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseDate(tt.in)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, instant{tt.sec, tt.nsec}, got)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"10", 10, true}, {"1.5", 1.5, true}, {"-2e3", -2000, true}, {"1E+2", 100, true},
		{"01", 0, false}, {"1.", 0, false}, {".5", 0, false}, {"+1", 0, false}, {"1e", 0, false}, {"Inf", 0, false},
		{"NaN", 0, false}, {"1_000", 0, false}, {"0x1p3", 0, false}, {"", 0, false}, {" 1", 0, false}, {"1e999", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseNumber(tt.in)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// globRegexp is the reference translation of a StringLike pattern: '*' is
// any run of characters (including newlines), '?' exactly one, anything else
// itself.
func globRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s`)
	if fold {
		b.WriteString(`i`)
	}
	b.WriteString(`:`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

// Middle segments with '?' and at most 64 code points get a Shift-And
// scanner; longer ones and ones with variables do not.
func TestSegmentScanner(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"question, 64 code points", "*" + strings.Repeat("é?", 32) + "*", true},
		{"question, 65 code points", "*" + strings.Repeat("é?", 32) + "a*", false},
		{"literal only", "*abc*", false},
		{"question and variable", "*a?${k:x}*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compileText(tt.pattern, textOptions{wild: true, vars: &varSet{}}, "")
			assert.Nil(t, err)
			assert.Len(t, p.x.segs, 3)
			assert.Equal(t, tt.want, p.x.segs[1].sa != nil)
		})
	}
}

// Variables resolve to literal text in any segment, including the last one
// (whose length then depends on the variable) and a middle one found by
// strings.Index.
func TestGlobVariables(t *testing.T) {
	tests := []struct {
		name, pattern, value, v string
		want                    bool
	}{
		{"middle variable", "a*${k:x}*z", "a_needle_z", "needle", true},
		{"middle variable absent", "a*${k:x}*z", "a_needl_z", "needle", false},
		{"middle variable with a star is literal", "a*${k:x}*z", "a_x_z", "*", false},
		{"middle variable and text", "a*-${k:x}-*z", "a--b-needle-z", "needle", true},
		{"last variable", "a*${k:x}", "a_é€", "é€", true},
		{"last variable and question", "a*?${k:x}", "a€é€", "é€", true},
		{"last variable too long", "ab*${k:x}", "abc", "bc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := &varSet{}
			p, err := compileText(tt.pattern, textOptions{wild: true, vars: vs}, "")
			assert.Nil(t, err)
			assert.Equal(t, tt.want, p.match(tt.value, []string{tt.v}))
		})
	}
}

func TestGlobAgreesWithRegexp(t *testing.T) {
	patterns := []string{"", "*", "?", "a*", "*a", "a*b", "*a*", "a?b*c", "**", "*?", "?*?", "ab*ab*ab", "é*?ü", "*a?b*", "*?é?*", "a*b?*?", "*ab*b?"}
	values := []string{"", "a", "b", "ab", "aab", "abb", "a?b", "axbxc", "abab", "ababab", "é€ü", "a\nb", "*", "A", "AB"}
	for _, pat := range patterns {
		for _, val := range values {
			for _, fold := range []bool{false, true} {
				p := compileGlob(pat, fold)
				assert.Equal(t, globRegexp(pat, fold).MatchString(val), p.match(val, nil), "pattern %q value %q fold %v", pat, val, fold)
			}
		}
	}
}
