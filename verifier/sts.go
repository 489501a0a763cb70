package verifier

import (
	"encoding/binary"
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
	for i := 0; i < len(arn); {
		// Eight plain characters at a time (no colon, nothing outside 0x20..0x7E): the
		// resource part of a role ARN is mostly such runs.
		if i+8 <= len(arn) && plainWord(binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(arn[i:]), 8))) {
			i += 8
			continue
		}
		c := arn[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(arn[i:])
			if r == utf8.RuneError && size == 1 {
				return "", "", false // invalid UTF-8
			}
			i += size
			continue
		}
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7F:
			return "", "", false
		case c == ':' && n < len(colon):
			colon[n] = i
			n++
		}
		i++
	}
	if n != len(colon) || colon[1] <= colon[0]+1 || colon[2] <= colon[1]+1 || colon[4] >= len(arn)-1 {
		return "", "", false
	}
	return arn[colon[0]+1 : colon[1]], arn[colon[3]+1 : colon[4]], true
}

// plainWord reports whether the eight bytes of w are all in 0x20..0x7E and none is a colon:
// characters parseARN passes over without a look. (lanes01 and lanes80 are json.go's.)
func plainWord(w uint64) bool {
	// A lane is flagged when its byte is below 0x20, is 0x7F or ':' (zero after the XOR), or
	// has its high bit set. The borrow trick may flag a lane above a flagged one, never one
	// when none is: the answer for the word is exact.
	below := (w - 0x20*lanes01) &^ w
	del := w ^ 0x7F*lanes01
	col := w ^ ':'*lanes01
	return (below|(del-lanes01)&^del|(col-lanes01)&^col|w)&lanes80 == 0
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
