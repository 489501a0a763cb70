package verifier

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Request is an AssumeRoleWithWebIdentity call.
type Request struct {
	// RoleARN is the role to assume (20..2048 characters, an ARN).
	RoleARN string
	// RoleSessionName names the session (2..64 characters of [\w+=,.@-]).
	RoleSessionName string
	// WebIdentityToken is the compact JWT (4..20000 characters).
	WebIdentityToken string
	// ProviderID must be empty: STS uses it only for OAuth 2.0 providers, never for OpenID
	// Connect tokens.
	ProviderID string
	// SourceIP, if set, is the caller's IP address, offered to policies as aws:SourceIp.
	SourceIP string
	// DurationSeconds is the requested session length: 0 for the default (one hour, or the
	// role's maximum if that is shorter), else 900..43200 and at most the role's maximum.
	DurationSeconds int
}

// STS limits on request parameters.
const (
	minRoleARNLen      = 20
	maxRoleARNLen      = 2048
	minSessionName     = 2
	maxSessionName     = 64
	minDurationSeconds = 900
	maxDurationSeconds = 43200
	defaultDuration    = time.Hour
)

// checkRequest applies STS's parameter constraints that do not depend on the role or token.
// On success it returns the role ARN's partition and account (what roleAccount returns for
// it), found by the ARN's check.
func checkRequest(req *Request) (partition, account string, e *Error) {
	if req.ProviderID != "" {
		return "", "", newError(ReasonProviderID, nil)
	}
	partition, account, ok := parseARN(req.RoleARN)
	if !ok {
		return "", "", newError(ReasonRoleARN, nil)
	}
	if !validName(req.RoleSessionName, minSessionName, maxSessionName) {
		return "", "", newError(ReasonSessionName, nil)
	}
	if d := req.DurationSeconds; d != 0 && (d < minDurationSeconds || d > maxDurationSeconds) {
		return "", "", newError(ReasonDuration, nil)
	}
	if req.SourceIP != "" {
		if _, err := netip.ParseAddr(req.SourceIP); err != nil {
			return "", "", newError(ReasonSourceIP, err)
		}
	}
	if len(req.WebIdentityToken) < minTokenLen || len(req.WebIdentityToken) > maxTokenLen {
		return "", "", newError(ReasonTokenSize, nil)
	}
	return partition, account, nil
}

// validARN checks length and the shape arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE with a
// non-empty partition, service and resource, in valid UTF-8 without control characters other
// than tab, LF and CR (the STS character class).
func validARN(arn string) bool {
	_, _, ok := parseARN(arn)
	return ok
}

// parseARN is validARN returning, for a valid ARN, its partition and account as well (those
// of roleAccount), found by the same pass.
func parseARN(arn string) (partition, account string, ok bool) {
	if len(arn) < minRoleARNLen || len(arn) > maxRoleARNLen || !strings.HasPrefix(arn, "arn:") {
		return "", "", false
	}
	// One pass: the characters, and the first five colons of
	// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (the resource may contain colons).
	var colon [5]int
	n := 0
	i := 0
	for i <= len(arn)-8 {
		// Eight bytes at a time: the colons before the first byte outside 0x20..0x7E are
		// taken from a mask; that byte, if any, is looked at alone below.
		w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(arn[i:]), 8))
		odd := oddLanes(w)
		col := zeroLanes(w ^ ':'*lanes01)
		if odd != 0 {
			col &= odd&-odd - 1 // the lanes below the first odd one
		}
		for ; col != 0 && n < len(colon); col &= col - 1 {
			colon[n] = i + bits.TrailingZeros64(col)>>3
			n++
		}
		if odd == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(odd) >> 3
		size, good := arnOddChar(arn[i:])
		if !good {
			return "", "", false
		}
		i += size
	}
	for i < len(arn) { // the last few bytes, one at a time
		if c := arn[i]; c >= 0x20 && c < 0x7F {
			if c == ':' && n < len(colon) {
				colon[n] = i
				n++
			}
			i++
			continue
		}
		size, good := arnOddChar(arn[i:])
		if !good {
			return "", "", false
		}
		i += size
	}
	if n != len(colon) || colon[1] <= colon[0]+1 || colon[2] <= colon[1]+1 || colon[4] >= len(arn)-1 {
		return "", "", false
	}
	return arn[colon[0]+1 : colon[1]], arn[colon[3]+1 : colon[4]], true
}

// arnOddChar checks the character at the start of s, whose first byte is outside 0x20..0x7E:
// tab, LF and CR pass, other control characters and DEL do not, and a byte above 0x7F must
// start a valid UTF-8 sequence. It returns the character's length.
func arnOddChar(s string) (size int, ok bool) {
	c := s[0]
	if c >= utf8.RuneSelf {
		r, size := utf8.DecodeRuneInString(s)
		return size, !(r == utf8.RuneError && size == 1) // invalid UTF-8
	}
	return 1, c == '\t' || c == '\n' || c == '\r'
}

// oddLanes returns a mask with the high bit set in the lane of each byte of w that is not in
// 0x20..0x7E, and only there. With l = c&0x7F, l+0x60 reaches 0x80 exactly when c&0x7F >= 0x20
// and l+0x01 exactly when c&0x7F == 0x7F; neither sum exceeds 0xFF, so no lane carries into the
// next, and a byte with its high bit set is flagged by itself.
func oddLanes(w uint64) uint64 {
	l := w &^ lanes80
	return (w | ^(l + 0x60*lanes01) | (l + lanes01)) & lanes80
}

// zeroLanes returns a mask with the high bit set in the lane of each zero byte of x, and only
// there: (x&0x7F)+0x7F reaches 0x80 exactly when x&0x7F is not zero, without a carry into the
// next lane, and x's own high bit covers the rest.
func zeroLanes(x uint64) uint64 {
	return ^((x&^lanes80 + 0x7F*lanes01) | x) & lanes80
}

// validName checks n characters of [\w+=,.@-] with minLen <= n <= maxLen.
func validName(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '+', c == '=', c == ',', c == '.', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

// grantDuration decides the session length: the request's, or the default, bounded by the
// role's maximum (ok false if the request asks for more than the maximum).
func grantDuration(req *Request, role *Role) (time.Duration, bool) {
	maxd := role.MaxSessionDuration
	if maxd <= 0 {
		maxd = defaultMaxSession
	}
	if req.DurationSeconds == 0 {
		return min(defaultDuration, maxd), true
	}
	d := time.Duration(req.DurationSeconds) * time.Second
	return d, d <= maxd
}
