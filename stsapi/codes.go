package stsapi

import (
	"net/http"

	"github.com/webidentity/webidentity/verifier"
)

// The STS Query API this package speaks.
const (
	// Version is the only API version answered.
	Version = "2011-06-15"
	// Action is the only action answered.
	Action = "AssumeRoleWithWebIdentity"
	// Namespace is the XML namespace of every answer.
	Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// Error codes the handler answers with besides the verifier's (verifier.Code).
const (
	CodeMissingAction           = "MissingAction"           // no Action parameter
	CodeInvalidAction           = "InvalidAction"           // unknown Action, or a Version other than 2011-06-15
	CodeMalformedQueryString    = "MalformedQueryString"    // query string or form body does not parse
	CodeMalformedPolicyDocument = "MalformedPolicyDocument" // session Policy is not JSON
	CodeRequestEntityTooLarge   = "RequestEntityTooLarge"   // body over the limit (not an AWS code)
	CodeMethodNotAllowed        = "MethodNotAllowed"        // neither GET nor POST (not an AWS code)
	CodeInternalFailure         = "InternalFailure"         // the credential issuer or a role lookup failed
)

// httpStatus is the HTTP status of each error code, as AWS documents them for
// AssumeRoleWithWebIdentity and the common Query API errors.
var httpStatus = map[string]int{
	string(verifier.CodeInvalidIdentityToken):  http.StatusBadRequest,
	string(verifier.CodeExpiredToken):          http.StatusBadRequest,
	string(verifier.CodeIDPRejectedClaim):      http.StatusForbidden,
	string(verifier.CodeIDPCommunicationError): http.StatusBadRequest,
	string(verifier.CodeAccessDenied):          http.StatusForbidden,
	string(verifier.CodeValidationError):       http.StatusBadRequest,
	string(verifier.CodeServiceUnavailable):    http.StatusServiceUnavailable,
	CodeMalformedPolicyDocument:                http.StatusBadRequest,
	CodeMissingAction:                          http.StatusBadRequest,
	CodeInvalidAction:                          http.StatusBadRequest,
	CodeMalformedQueryString:                   http.StatusNotFound,
	CodeRequestEntityTooLarge:                  http.StatusRequestEntityTooLarge,
	CodeMethodNotAllowed:                       http.StatusMethodNotAllowed,
	CodeInternalFailure:                        http.StatusInternalServerError,
}

// HTTPStatus returns the HTTP status the handler answers an error code with: the verifier's
// codes (verifier.Code) and this package's. An unknown code is 400.
func HTTPStatus(code string) int {
	if s, ok := httpStatus[code]; ok {
		return s
	}
	return http.StatusBadRequest
}
