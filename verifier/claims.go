package verifier

import (
	"encoding/binary"
	"time"
	"unicode/utf8"
)

// claimID names a claim the verifier reads. The parser records where each one lies in the
// payload, so that later steps (the condition context) need no second pass.
type claimID uint8

const (
	cIss claimID = iota
	cSub
	cAud
	cExp
	cNbf
	cIat
	cAzp
	cAmr
	cTags
	cSourceIdentity
	// The GitHub Actions claims AWS accepts as condition keys.
	cActor
	cActorID
	cJobWorkflowRef
	cRepository
	cRepositoryID
	cRepositoryOwnerID
	cWorkflow
	cRef
	cEnvironment
	cEnterpriseID
	cRunnerEnvironment
	claimCount
)

// Claim names for the AWS session claims.
const (
	tagsClaim           = "https://aws.amazon.com/tags"
	sourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

var claimNames = [claimCount]string{
	cIss: "iss", cSub: "sub", cAud: "aud", cExp: "exp", cNbf: "nbf", cIat: "iat", cAzp: "azp",
	cAmr: "amr", cTags: tagsClaim, cSourceIdentity: sourceIdentityClaim,
	cActor: "actor", cActorID: "actor_id", cJobWorkflowRef: "job_workflow_ref",
	cRepository: "repository", cRepositoryID: "repository_id",
	cRepositoryOwnerID: "repository_owner_id", cWorkflow: "workflow", cRef: "ref",
	cEnvironment: "environment", cEnterpriseID: "enterprise_id",
	cRunnerEnvironment: "runner_environment",
}

// claimIndex returns the claimID of a member name, or claimCount for other names.
func claimIndex[T string | []byte](name T) claimID {
	switch string(name) {
	case "iss":
		return cIss
	case "sub":
		return cSub
	case "aud":
		return cAud
	case "exp":
		return cExp
	case "nbf":
		return cNbf
	case "iat":
		return cIat
	case "azp":
		return cAzp
	case "amr":
		return cAmr
	case tagsClaim:
		return cTags
	case sourceIdentityClaim:
		return cSourceIdentity
	case "actor":
		return cActor
	case "actor_id":
		return cActorID
	case "job_workflow_ref":
		return cJobWorkflowRef
	case "repository":
		return cRepository
	case "repository_id":
		return cRepositoryID
	case "repository_owner_id":
		return cRepositoryOwnerID
	case "workflow":
		return cWorkflow
	case "ref":
		return cRef
	case "environment":
		return cEnvironment
	case "enterprise_id":
		return cEnterpriseID
	case "runner_environment":
		return cRunnerEnvironment
	}
	return claimCount
}

// claimSpans locates the known claims in a payload; kind == kindNone marks an absent claim.
type claimSpans [claimCount]span

// Bounds on NumericDate values: 1 s after the epoch to the end of year 9999.
const (
	minNumericDate = 1
	maxNumericDate = 253402300799
)

// Subject length bounds, in characters.
const (
	minSubject = 1
	maxSubject = 255
)

// claims is the parsed payload.
type claims struct {
	spans         claimSpans
	exp, nbf, iat time.Time // zero when absent
}

// parseClaims reads the decoded payload strictly and checks the types of the registered
// claims: iss, sub, azp strings; aud a string or an array of strings; amr a string or an array
// of strings; exp, nbf, iat NumericDates. iss, sub and exp are required.
func parseClaims(r *objectReader, data []byte) (c claims, e *Error) {
	// c is the named result, so that it is built where the caller receives it, not copied there.
	r.reset(data)
	if err := r.beginObject(); err != nil {
		return c, newError(ReasonClaimsMalformed, err)
	}
	var nb [48]byte // an escaped name, unescaped: each is used up before the next
	for {
		m, more, err := r.nextMember()
		if err != nil {
			return c, newError(ReasonClaimsMalformed, err)
		}
		if !more {
			break
		}
		name := data[m.name.start:m.name.end] // memberName, by hand: it is not inlined
		if m.name.esc {
			name = unescape(nb[:0], name)
		}
		id := claimIndex(name)
		if id == claimCount {
			continue
		}
		c.spans[id] = m.span
		var ok bool
		switch id {
		case cIss, cAzp:
			ok = m.kind == kindString
		case cSub:
			ok = m.kind == kindString && subjectLengthOK(data, m.span)
		case cAud, cAmr:
			ok = m.kind == kindString || m.stringsOnly()
		case cExp:
			c.exp, ok = numericDate(data, m.span)
		case cNbf:
			c.nbf, ok = numericDate(data, m.span)
		case cIat:
			c.iat, ok = numericDate(data, m.span)
		default:
			ok = true // other claims: any JSON type; the condition context reads strings
		}
		if !ok {
			return c, errorf(ReasonClaimsMalformed, "claim "+claimNames[id]+" has a wrong type or value")
		}
	}
	for _, id := range [...]claimID{cIss, cSub, cExp} {
		if c.spans[id].kind == kindNone {
			return c, errorf(ReasonMissingClaim, "claim "+claimNames[id]+" is missing")
		}
	}
	return c, nil
}

// subjectLengthOK checks that sub has 1..255 characters once unescaped. Characters are not
// counted when the bytes decide: a string of 1..255 bytes has at least one character and at
// most as many as bytes.
func subjectLengthOK(data []byte, sp span) bool {
	raw := data[sp.start:sp.end]
	if sp.esc {
		raw = unescape(nil, raw)
	}
	if minSubject <= 1 && len(raw) >= 1 && len(raw) <= maxSubject {
		return true
	}
	n := utf8.RuneCount(raw)
	return n >= minSubject && n <= maxSubject
}

// appendStrings appends to dst the values of the array at sp in data, whose elements the
// reader found to be strings only (span.stringsOnly), as strings of text (data's bytes as a
// string: the values point into it). It is stringArray without the callback: aud and amr are
// read once more, in a loop of their own.
func appendStrings(dst []string, text string, data []byte, sp span) []string {
	s := scanner{data: data[:sp.end], pos: int(sp.start) + 1}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return dst // ']'
		}
		el, err := s.str()
		if err != nil {
			return dst
		}
		dst = append(dst, stringValue(text, el))
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ',' {
			return dst
		}
		s.pos++
	}
}

// numericDate parses a NumericDate: a JSON number of whole seconds, optionally with a fraction,
// between minNumericDate and maxNumericDate. Strings, booleans, negative numbers, zero and
// exponent notation are refused; a fraction below a nanosecond is dropped.
func numericDate(data []byte, sp span) (time.Time, bool) {
	if sp.kind != kindNumber {
		return time.Time{}, false
	}
	b := data[sp.start:sp.end]
	i := digitRun(b, 0)
	if i > 12 { // more digits than maxNumericDate has
		return time.Time{}, false
	}
	var sec int64
	j := 0
	if i >= 8 { // the last eight digits at once, the others (at most four) one at a time
		for ; j < i-8; j++ {
			sec = sec*10 + int64(b[j]-'0')
		}
		sec = sec*1e8 + int64(eightDigits(binary.LittleEndian.Uint64(b[j:i])))
		j = i
	}
	for ; j < i; j++ {
		sec = sec*10 + int64(b[j]-'0')
	}
	var nsec int64
	if i < len(b) && b[i] == '.' {
		i++
		scale := int64(100000000)
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			nsec += int64(b[i]-'0') * scale
			scale /= 10
		}
	}
	if i != len(b) || sec < minNumericDate || sec > maxNumericDate {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec), true
}

// eightDigits returns the value of the eight ASCII digits of w, the first in its lowest byte
// (a little-endian load). Each step joins neighbouring groups, the earlier one scaled: digits
// into pairs (d0*10+d1 <= 99 fits a byte), pairs into fours (<= 9999 fits 16 bits), fours into
// the eight (<= 99999999 fits 32 bits); no product or sum reaches into the next group, and the
// masks drop the groups left over.
func eightDigits(w uint64) uint32 {
	w -= '0' * lanes01
	w = (w*10 + w>>8) & 0x00FF00FF00FF00FF
	w = (w*100 + w>>16) & 0x0000FFFF0000FFFF
	return uint32(w*10000 + w>>32)
}

// checkTimes applies exp, nbf and iat with leeway, and the lifetime bound when maxLifetime > 0.
func checkTimes(c *claims, now time.Time, leeway, maxLifetime time.Duration) *Error {
	return checkTokenTimes(c.exp, c.nbf, c.iat, now, leeway, maxLifetime)
}

// checkTokenTimes is checkTimes on the three times (zero when absent).
func checkTokenTimes(exp, nbf, iat, now time.Time, leeway, maxLifetime time.Duration) *Error {
	if !exp.After(now.Add(-leeway)) {
		return errorf(ReasonExpired, "exp is before now minus leeway")
	}
	if !nbf.IsZero() && nbf.After(now.Add(leeway)) {
		return errorf(ReasonNotYetValid, "nbf is after now plus leeway")
	}
	if !iat.IsZero() && iat.After(now.Add(leeway)) {
		return errorf(ReasonIssuedInFuture, "iat is after now plus leeway")
	}
	if maxLifetime > 0 {
		if iat.IsZero() {
			return errorf(ReasonMissingClaim, "iat is required when the token lifetime is bounded")
		}
		if exp.Sub(iat) > maxLifetime {
			return errorf(ReasonLifetime, "exp - iat exceeds the maximum token lifetime")
		}
	}
	return nil
}
