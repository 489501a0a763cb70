package stsapi

import (
	"net/url"
	"strings"
)

// param is one of the parameters AssumeRoleWithWebIdentity takes by a fixed name: the index
// of its slot in a form.
type param uint8

const (
	pAction param = iota
	pVersion
	pRoleArn
	pRoleSessionName
	pWebIdentityToken
	pProviderID
	pDurationSeconds
	pPolicy
	pPolicyArns
	numParams
)

// paramNames are the names of the params, by slot.
var paramNames = [numParams]string{
	pAction: "Action", pVersion: "Version", pRoleArn: "RoleArn", pRoleSessionName: "RoleSessionName",
	pWebIdentityToken: "WebIdentityToken", pProviderID: "ProviderId", pDurationSeconds: "DurationSeconds",
	pPolicy: "Policy", pPolicyArns: "PolicyArns",
}

// lookupParam returns the slot of a parameter name (case-sensitive, as AWS's).
func lookupParam(name string) (param, bool) {
	switch name {
	case "Action":
		return pAction, true
	case "Version":
		return pVersion, true
	case "RoleArn":
		return pRoleArn, true
	case "RoleSessionName":
		return pRoleSessionName, true
	case "WebIdentityToken":
		return pWebIdentityToken, true
	case "ProviderId":
		return pProviderID, true
	case "DurationSeconds":
		return pDurationSeconds, true
	case "Policy":
		return pPolicy, true
	case "PolicyArns":
		return pPolicyArns, true
	}
	return 0, false
}

// maxFormParams is url.ParseQuery's default limit on the parameters of one query string or
// body (net/url's defaultMaxParams; GODEBUG urlmaxqueryparams changes it there, and parse
// then asks url.ParseQuery).
const maxFormParams = 10000

// form is the parameters of one request, query string and body together, as url.Values would
// hold them but without a map for the parameters of fixed name: each has a slot with its
// first value and the number of times it was given. Every other name (PolicyArns.member.N.arn,
// unknown names) goes to other, which stays nil on the common path. Values are substrings of
// the input when they needed no unescaping.
type form struct {
	values [numParams]string
	count  [numParams]int
	other  map[string][]string
	body   string // the POST body as read, for Options.Forward
}

// has reports whether p was given.
func (f *form) has(p param) bool { return f.count[p] > 0 }

// get returns p's first value, or "".
func (f *form) get(p param) string { return f.values[p] }

// add records one parameter. The empty name ("=v") is dropped, as before: the handler never
// refused or used it. (Before, url.Values kept it and the repeated and unknown checks read it
// as "none found", so by map order it could hide a repeated or unknown parameter given beside
// it; dropped, it hides nothing.)
func (f *form) add(name, value string) {
	if p, ok := lookupParam(name); ok {
		if f.count[p] == 0 {
			f.values[p] = value
		}
		f.count[p]++
		return
	}
	if name == "" {
		return
	}
	if f.other == nil {
		f.other = make(map[string][]string, 2)
	}
	f.other[name] = append(f.other[name], value)
}

// parse adds the parameters of s, an application/x-www-form-urlencoded string (a query string
// or a form body), and reports whether s is well-formed by url.ParseQuery's rules: pairs
// separated by "&", the name and value split at the first "=", "+" for a space and "%XX"
// escapes (a "%" without two hex digits is malformed), a pair holding ";" malformed, empty
// pairs skipped, at most maxFormParams pairs. On false f is partly filled: discard it.
func (f *form) parse(s string) bool {
	if strings.Count(s, "&") >= maxFormParams {
		// Over the default limit: url.ParseQuery decides, with its GODEBUG setting.
		if _, err := url.ParseQuery(s); err != nil {
			return false
		}
	}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			return false
		}
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, ok := unescapeQuery(name)
		if !ok {
			return false
		}
		if value, ok = unescapeQuery(value); !ok {
			return false
		}
		f.add(name, value)
	}
	return true
}

// unescapeQuery is url.QueryUnescape: "+" is a space, "%XX" a byte, and a "%" not followed
// by two hex digits is malformed. s itself is returned when it has neither.
func unescapeQuery(s string) (string, bool) {
	pct := strings.IndexByte(s, '%')
	if pct < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true // the common case (tokens are base64url), found by the vectorized search
	}
	n := 0
	for i := max(pct, 0); i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			n++
			i += 2
		}
	}
	b := make([]byte, 0, len(s)-2*n)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unhex is the value of a hex digit (isHex(c) holds).
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// firstRepeated returns the smallest name (so that the answer does not depend on map order)
// of a parameter given more than once, or "".
func (f *form) firstRepeated() string {
	found := ""
	for p, n := range f.count {
		if n > 1 && (found == "" || paramNames[p] < found) {
			found = paramNames[p]
		}
	}
	for k, vs := range f.other {
		if len(vs) > 1 && (found == "" || k < found) {
			found = k
		}
	}
	return found
}

// policyARNIndex returns N of a name PolicyArns.member.N.arn, N from 1 to 99 written without
// a leading zero, or 0.
func policyARNIndex(name string) int {
	rest, ok := strings.CutPrefix(name, "PolicyArns.member.")
	if !ok {
		return 0
	}
	digits, ok := strings.CutSuffix(rest, ".arn")
	if !ok || len(digits) < 1 || len(digits) > 2 || digits[0] < '1' || digits[0] > '9' {
		return 0
	}
	n := int(digits[0] - '0')
	if len(digits) == 2 {
		if digits[1] < '0' || digits[1] > '9' {
			return 0
		}
		n = 10*n + int(digits[1]-'0')
	}
	return n
}
