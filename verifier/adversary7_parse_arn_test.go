package verifier

// Adversary 7, item 2: parseARN's colon masks and checkRequest at the role ARN's length bounds.

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// a7ARN is an ARN of exactly n bytes (n >= 27): arn:aws:iam::123456789012:role/ and a
// resource of plain characters, with a colon every seventh byte when colons is set.
func a7ARN(n int, colons bool) string {
	const head = "arn:aws:iam::123456789012:role/"
	if n < len(head)+1 {
		return ("arn:p:s:r:a:" + strings.Repeat("x", n))[:n]
	}
	b := []byte(head + strings.Repeat("r", n-len(head)))
	if colons {
		for i := len(head) + 3; i < n; i += 7 {
			b[i] = ':'
		}
	}
	return string(b)
}

// TestAdversary7ARNBounds: role ARNs of every length around both bounds (minRoleARNLen and
// maxRoleARNLen, plus and minus 3), plain and with colons in the resource, with each of a set
// of bytes and multi-byte sequences (colons, tab, control characters, DEL, bytes >= 0x80,
// valid and invalid UTF-8) replacing or inserted at every position near either end and at
// every eleventh position elsewhere, get the verdict, partition and account of the one-character
// definition and of the former word scan, and checkRequest refuses exactly those with
// ReasonRoleARN.
func TestAdversary7ARNBounds(t *testing.T) {
	pieces := []string{":", "::", "\t", "\n", "\r", "\x00", "\x01", "\x1f", " ", "~", "\x7f", "\x80", "\xbf", "\xc3", "\xff",
		"\u00e9", "\u20ac", "\U0001F600", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80"}
	var seeds []string
	for d := -3; d <= 3; d++ {
		seeds = append(seeds, a7ARN(maxRoleARNLen+d, false), a7ARN(maxRoleARNLen+d, true))
		seeds = append(seeds, ("arn:a:b::1:r/" + strings.Repeat("x", 40))[:minRoleARNLen+d])
		seeds = append(seeds, ("arn:aws:iam::1:" + strings.Repeat("y:", 20))[:minRoleARNLen+d])
	}
	check := func(arn string) bool {
		p, a, ok := parseARN(arn)
		rp, ra, rok := refParseARN(arn)
		wp, wa, wok := wordParseARN(arn)
		if p != rp || a != ra || ok != rok || ok != wok || p != wp || a != wa {
			t.Fatalf("parseARN(%q) (len %d) = %q, %q, %v; definition %q, %q, %v; word scan %v", arn, len(arn), p, a, ok, rp, ra, rok, wok)
		}
		cp, ca, e := checkRequest(&Request{RoleARN: arn, RoleSessionName: "session", WebIdentityToken: "abcd"})
		if rok {
			if e != nil || cp != rp || ca != ra {
				t.Fatalf("checkRequest(%q) = %q, %q, %v; want %q, %q", arn, cp, ca, e, rp, ra)
			}
		} else if e == nil || e.Reason != ReasonRoleARN {
			t.Fatalf("checkRequest(%q) = %v, want ReasonRoleARN", arn, e)
		}
		return ok
	}
	accepted := 0
	for _, s := range seeds {
		check(s)
		for pos := 0; pos <= len(s); pos++ {
			if pos > 40 && pos < len(s)-40 && pos%11 != 0 {
				continue
			}
			for _, pc := range pieces {
				if check(s[:pos] + pc + s[pos:]) {
					accepted++
				}
				if pos < len(s) {
					check(s[:pos] + pc + s[pos+1:])
				}
			}
		}
	}
	assert.Greater(t, accepted, 1000)
}
