package iamapi

import (
	"net/http"

	"github.com/webidentity/webidentity/iam"
)

// The IAM Query API the Handler speaks.
const (
	// Version is the only API version answered.
	Version = "2010-05-08"
	// Namespace is the XML namespace of every answer.
	Namespace = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// Error codes the Handler answers with besides the Authenticator's (CodeMissingAuthenticationToken,
// ...) and the registry's (iam.ErrorCode: EntityAlreadyExists, NoSuchEntity, ...).
const (
	// CodeMissingAction: no Action parameter (400).
	CodeMissingAction = "MissingAction"
	// CodeInvalidAction: an action this server does not implement, or a Version other than
	// 2010-05-08 (400).
	CodeInvalidAction = "InvalidAction"
	// CodeMalformedQueryString: a POST body that is not application/x-www-form-urlencoded or
	// does not parse (404, as AWS's common errors list it).
	CodeMalformedQueryString = "MalformedQueryString"
	// CodeAccessDenied: an ARN of another account or partition than the admin's (403). IAM
	// answers a cross-account call so, since no IAM resource grants another account access.
	CodeAccessDenied = "AccessDenied"
	// CodeRequestEntityTooLarge: a body over Options.MaxBodyBytes (413; not an AWS code).
	CodeRequestEntityTooLarge = "RequestEntityTooLarge"
	// CodeMethodNotAllowed: neither GET nor POST (405; not an AWS code).
	CodeMethodNotAllowed = "MethodNotAllowed"
)

// httpStatus is the HTTP status of each code, as the IAM API reference lists them for these
// actions and in its Common Errors, and as the AWS SDK for Go v2 expects them (its response
// snapshots: EntityAlreadyExists 409, NoSuchEntity 404, MalformedPolicyDocument 400,
// LimitExceeded 409, InvalidInput 400, ServiceFailure 500).
var httpStatus = map[string]int{
	string(iam.CodeEntityAlreadyExists):     http.StatusConflict,
	string(iam.CodeNoSuchEntity):            http.StatusNotFound,
	string(iam.CodeMalformedPolicyDocument): http.StatusBadRequest,
	string(iam.CodeValidationError):         http.StatusBadRequest,
	string(iam.CodeLimitExceeded):           http.StatusConflict,
	string(iam.CodeInvalidInput):            http.StatusBadRequest,
	string(iam.CodeServiceFailure):          http.StatusInternalServerError,
	CodeMissingAction:                       http.StatusBadRequest,
	CodeInvalidAction:                       http.StatusBadRequest,
	CodeMalformedQueryString:                http.StatusNotFound,
	CodeAccessDenied:                        http.StatusForbidden,
	CodeRequestEntityTooLarge:               http.StatusRequestEntityTooLarge,
	CodeMethodNotAllowed:                    http.StatusMethodNotAllowed,
}

// HTTPStatus returns the HTTP status the Handler answers an error code with: the
// Authenticator's codes, the registry's (iam.ErrorCode) and this package's. An unknown code
// is 400.
func HTTPStatus(code string) int {
	if s, ok := authStatus[code]; ok {
		return s
	}
	if s, ok := httpStatus[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// Reasons of the Handler's own refusals, logged in the request's line as "reason" (beside
// the AuthError reasons above for refused authentication).
const (
	ReasonBodyTooLarge         Reason = "body_too_large"        // over Options.MaxBodyBytes
	ReasonMalformedBody        Reason = "malformed_body"        // not a form, or does not parse
	ReasonMethod               Reason = "method"                // neither GET nor POST
	ReasonInvalidAdmin         Reason = "invalid_admin_account" // the Admin names no valid account or partition
	ReasonMissingAction        Reason = "missing_action"        // no Action
	ReasonUnknownAction        Reason = "unknown_action"        // another action or version
	ReasonUnknownParameter     Reason = "unknown_parameter"     // a parameter the action does not take
	ReasonUnsupportedParameter Reason = "unsupported_parameter" // an IAM parameter this server does not implement
	ReasonRepeatedParameter    Reason = "repeated_parameter"    // a parameter given more than once
	ReasonMissingParameter     Reason = "missing_parameter"     // a required parameter absent
	ReasonInvalidParameter     Reason = "invalid_parameter"     // a value out of the API's constraints
	ReasonOtherAccount         Reason = "other_account"         // an ARN of another account or partition
	ReasonRegistry             Reason = "registry"              // the registry refused; its code says why
)
