package verifier

import (
	"errors"
	"strconv"
)

// Code is an AWS STS error code. It is what a service embedding this package answers with.
type Code string

// The STS error codes that AssumeRoleWithWebIdentity answers with.
const (
	// CodeInvalidIdentityToken: the token is malformed, is not signed by a key of a registered
	// provider, or its claims do not fit the provider (issuer, audience, missing claims).
	CodeInvalidIdentityToken Code = "InvalidIdentityToken"
	// CodeExpiredToken: the token's exp lies in the past, beyond the leeway.
	CodeExpiredToken Code = "ExpiredTokenException"
	// CodeIDPRejectedClaim: a well-formed claim carries a value STS refuses (session tags,
	// source identity).
	CodeIDPRejectedClaim Code = "IDPRejectedClaim"
	// CodeIDPCommunicationError: the provider's keys could not be obtained.
	CodeIDPCommunicationError Code = "IDPCommunicationError"
	// CodeAccessDenied: the trust policy does not allow the request, or the role does not exist
	// (both give the same message, so callers cannot probe for roles).
	CodeAccessDenied Code = "AccessDenied"
	// CodeValidationError: a request parameter breaks an STS constraint.
	CodeValidationError Code = "ValidationError"
	// CodeServiceUnavailable: a provider or role source failed (not a miss): the request
	// could not be decided. HTTP 503, which the AWS SDKs retry.
	CodeServiceUnavailable Code = "ServiceUnavailable"
)

// Reason says why a request was refused. Each Reason maps to exactly one Code (see
// [Reason.Code]). A Reason is itself an error so that callers can write
// errors.Is(err, verifier.ReasonExpired).
type Reason int

// Reasons for refusing a token or a request.
const (
	_ Reason = iota
	// ReasonTokenSize: the token is shorter than 4 or longer than 20,000 characters.
	ReasonTokenSize
	// ReasonTokenFormat: the token is not a compact JWS (three base64url segments joined by two
	// dots): JSON serializations, JWE, wrong number of dots, foreign characters, empty segments.
	ReasonTokenFormat
	// ReasonTokenEncoding: a segment is not canonical unpadded base64url (nonzero trailing bits,
	// impossible length).
	ReasonTokenEncoding
	// ReasonHeaderMalformed: the JOSE header is not a strict JSON object with members of the
	// right types, or has duplicate members.
	ReasonHeaderMalformed
	// ReasonAlgorithm: alg is missing, unknown, none, HMAC, or not on the provider's allow-list.
	ReasonAlgorithm
	// ReasonHeaderForbidden: the header carries a member this verifier refuses to honour (crit,
	// b64, zip, jku, x5u, x5c, jwk, enc, cty).
	ReasonHeaderForbidden
	// ReasonType: typ is present and not one the provider accepts.
	ReasonType
	// ReasonClaimsMalformed: the payload is not a strict JSON object, has duplicate members, or
	// a registered claim has the wrong type or an out-of-range value.
	ReasonClaimsMalformed
	// ReasonMissingClaim: iss, sub or exp is missing (or iat, when MaxTokenLifetime is set).
	ReasonMissingClaim
	// ReasonUnknownIssuer: the account (the role's, or the one VerifyFor names) has no provider
	// for iss (exact match), whatever other accounts register. The message is STS's: "No
	// OpenIDConnect provider found in your account for https://...", with the issuer when it is
	// a plain https URL (it is token content, so nothing else is repeated).
	ReasonUnknownIssuer
	// ReasonUnknownKey: the provider has no key with the token's kid (or, without kid, no key
	// that fits alg).
	ReasonUnknownKey
	// ReasonKeyMismatch: the key's type, curve, size, use or alg does not fit the token's alg.
	ReasonKeyMismatch
	// ReasonBadSignature: the signature does not verify.
	ReasonBadSignature
	// ReasonAudience: no aud value is one of the provider's client IDs.
	ReasonAudience
	// ReasonExpired: exp is not after now minus the leeway.
	ReasonExpired
	// ReasonNotYetValid: nbf is after now plus the leeway.
	ReasonNotYetValid
	// ReasonIssuedInFuture: iat is after now plus the leeway.
	ReasonIssuedInFuture
	// ReasonLifetime: exp - iat exceeds Options.MaxTokenLifetime.
	ReasonLifetime
	// ReasonKeysUnavailable: the provider's keys could not be fetched.
	ReasonKeysUnavailable
	// ReasonSessionTags: the session tags claim breaks STS rules.
	ReasonSessionTags
	// ReasonSourceIdentity: the source identity claim breaks STS rules.
	ReasonSourceIdentity
	// ReasonRoleARN: RoleArn is not 20..2048 characters or not ARN-shaped.
	ReasonRoleARN
	// ReasonSessionName: RoleSessionName is not 2..64 characters of [\w+=,.@-].
	ReasonSessionName
	// ReasonDuration: DurationSeconds is outside 900..43200 or above the role's maximum.
	ReasonDuration
	// ReasonProviderID: ProviderId is set; it must be absent for OpenID Connect tokens.
	ReasonProviderID
	// ReasonSourceIP: SourceIP is set and is not an IP address.
	ReasonSourceIP
	// ReasonUnknownRole: the role does not exist (or the role source failed).
	ReasonUnknownRole
	// ReasonDenied: the trust policy does not allow sts:AssumeRoleWithWebIdentity.
	ReasonDenied
	// ReasonTagSessionDenied: the token carries session tags and the trust policy does not
	// allow sts:TagSession.
	ReasonTagSessionDenied
	// ReasonSourceIdentityDenied: the token carries a source identity and the trust policy does
	// not allow sts:SetSourceIdentity.
	ReasonSourceIdentityDenied
	// ReasonKidRequired: the token has no kid and more than one of the provider's keys fits
	// its alg. RFC 7515 makes kid a hint, so such a token is well-formed, but this verifier
	// checks at most one signature per token (trying every key would let a forged token cost
	// several verifications); it asks for the kid instead. With exactly one fitting key, a
	// token without kid is verified with that key.
	ReasonKidRequired
	// ReasonThumbprint: the provider pins certificate thumbprints and none is in the verified
	// TLS chain over which the key that signed the token was fetched (or the key source records
	// no chain: static keys).
	ReasonThumbprint
	// ReasonSourceFailure: the ProviderSource or RoleSource failed with an error other than
	// a miss (its store is down, say). Nothing was decided.
	ReasonSourceFailure

	reasonCount // keep last
)

// reasons is the one table from reason to STS code and caller-facing message. Messages never
// contain anything taken from the token or the request.
var reasons = [reasonCount]struct {
	name string
	code Code
	msg  string
}{
	ReasonTokenSize:            {"TokenSize", CodeValidationError, "the web identity token must be 4 to 20000 characters long"},
	ReasonTokenFormat:          {"TokenFormat", CodeInvalidIdentityToken, "the web identity token is not a compact JWS"},
	ReasonTokenEncoding:        {"TokenEncoding", CodeInvalidIdentityToken, "the web identity token is not canonical base64url"},
	ReasonHeaderMalformed:      {"HeaderMalformed", CodeInvalidIdentityToken, "the web identity token header is malformed"},
	ReasonAlgorithm:            {"Algorithm", CodeInvalidIdentityToken, "the web identity token is signed with an algorithm that is not allowed"},
	ReasonHeaderForbidden:      {"HeaderForbidden", CodeInvalidIdentityToken, "the web identity token header has a member that is not allowed"},
	ReasonType:                 {"Type", CodeInvalidIdentityToken, "the web identity token has a type that is not allowed"},
	ReasonClaimsMalformed:      {"ClaimsMalformed", CodeInvalidIdentityToken, "the web identity token claims are malformed"},
	ReasonMissingClaim:         {"MissingClaim", CodeInvalidIdentityToken, "the web identity token lacks a required claim"},
	ReasonUnknownIssuer:        {"UnknownIssuer", CodeInvalidIdentityToken, "No OpenIDConnect provider found in your account for the token's issuer"},
	ReasonUnknownKey:           {"UnknownKey", CodeInvalidIdentityToken, "the web identity token is not signed by a known key of its provider"},
	ReasonKeyMismatch:          {"KeyMismatch", CodeInvalidIdentityToken, "the provider's key does not fit the token's algorithm"},
	ReasonBadSignature:         {"BadSignature", CodeInvalidIdentityToken, "the web identity token signature is invalid"},
	ReasonAudience:             {"Audience", CodeInvalidIdentityToken, "the web identity token audience is not a registered client ID"},
	ReasonExpired:              {"Expired", CodeExpiredToken, "the web identity token has expired"},
	ReasonNotYetValid:          {"NotYetValid", CodeInvalidIdentityToken, "the web identity token is not valid yet"},
	ReasonIssuedInFuture:       {"IssuedInFuture", CodeInvalidIdentityToken, "the web identity token was issued in the future"},
	ReasonLifetime:             {"Lifetime", CodeInvalidIdentityToken, "the web identity token lifetime is too long"},
	ReasonKeysUnavailable:      {"KeysUnavailable", CodeIDPCommunicationError, "the provider's signing keys could not be retrieved"},
	ReasonSessionTags:          {"SessionTags", CodeIDPRejectedClaim, "the session tags in the web identity token are invalid"},
	ReasonSourceIdentity:       {"SourceIdentity", CodeIDPRejectedClaim, "the source identity in the web identity token is invalid"},
	ReasonRoleARN:              {"RoleARN", CodeValidationError, "RoleArn must be an ARN of 20 to 2048 characters"},
	ReasonSessionName:          {"SessionName", CodeValidationError, "RoleSessionName must be 2 to 64 characters of [\\w+=,.@-]"},
	ReasonDuration:             {"Duration", CodeValidationError, "DurationSeconds must be 900 to 43200 and no more than the role's maximum session duration"},
	ReasonProviderID:           {"ProviderID", CodeValidationError, "ProviderId must not be set for OpenID Connect tokens"},
	ReasonSourceIP:             {"SourceIP", CodeValidationError, "SourceIp must be an IP address"},
	ReasonUnknownRole:          {"UnknownRole", CodeAccessDenied, accessDeniedMessage},
	ReasonDenied:               {"Denied", CodeAccessDenied, accessDeniedMessage},
	ReasonTagSessionDenied:     {"TagSessionDenied", CodeAccessDenied, accessDeniedMessage},
	ReasonSourceIdentityDenied: {"SourceIdentityDenied", CodeAccessDenied, accessDeniedMessage},
	ReasonThumbprint:           {"Thumbprint", CodeInvalidIdentityToken, "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"},
	ReasonSourceFailure:        {"SourceFailure", CodeServiceUnavailable, "the request could not be decided now; retry"},
	ReasonKidRequired:          {"KidRequired", CodeInvalidIdentityToken, "the web identity token has no kid and its provider has several keys for its algorithm; RFC 7515 makes kid a hint, but this service needs it to choose the key"},
}

const accessDeniedMessage = "not authorized to perform sts:AssumeRoleWithWebIdentity"

func (r Reason) valid() bool { return r > 0 && r < reasonCount }

// Code returns the STS error code for r.
func (r Reason) Code() Code {
	if !r.valid() {
		return CodeInvalidIdentityToken
	}
	return reasons[r].code
}

// String returns the reason's name, e.g. "Expired".
func (r Reason) String() string {
	if !r.valid() {
		return "Reason(" + strconv.Itoa(int(r)) + ")"
	}
	return reasons[r].name
}

// Error makes a Reason usable as an errors.Is target. It returns the same text as String, so
// that fmt's %s and %v (which prefer Error to String) print the documented name. A Reason is
// never returned as an error on its own: errors of this package are *Error, whose text carries
// the package prefix.
func (r Reason) Error() string { return r.String() }

// Error is the one error type of this package. Code is the STS error code, Reason says why,
// Message is safe to show to the caller (it never contains token or request content) and Err,
// when set, carries detail for logs.
//
// Match it with errors.As, or with errors.Is against a Reason or an *Error template whose zero
// fields act as wildcards:
//
//	errors.Is(err, verifier.ReasonExpired)
//	errors.Is(err, &verifier.Error{Code: verifier.CodeAccessDenied})
type Error struct {
	Code    Code
	Reason  Reason
	Message string
	Err     error
}

// Error returns the caller-facing text followed by the detail, for logs. Show only Code and
// Message to callers.
func (e *Error) Error() string {
	s := "verifier: " + string(e.Code) + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the detail error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Reason, or an *Error whose non-zero Code and Reason equal e's.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Reason:
		return t == e.Reason
	case *Error:
		return t != nil && (t.Code == "" || t.Code == e.Code) && (t.Reason == 0 || t.Reason == e.Reason)
	}
	return false
}

// newError builds the *Error for r, wrapping detail (which may be nil).
func newError(r Reason, detail error) *Error {
	return &Error{Code: r.Code(), Reason: r, Message: reasons[r].msg, Err: detail}
}

// errorf is newError with a constant detail message; it keeps call sites short.
func errorf(r Reason, detail string) *Error {
	return newError(r, errors.New("verifier: "+detail))
}
