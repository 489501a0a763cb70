package stsapi

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/webidentity/webidentity/verifier"
)

// Reasons of the handler's own refusals, in ResponseEvent.Reason and in the log line's
// "reason". Refusals by the verifier carry its verifier.Reason name instead.
const (
	ReasonMethod            = "Method"            // neither GET nor POST
	ReasonMalformed         = "Malformed"         // the query string or form body does not parse
	ReasonBodyTooLarge      = "BodyTooLarge"      // the body is over Options.MaxBodyBytes
	ReasonMissingAction     = "MissingAction"     // no Action parameter
	ReasonUnknownAction     = "UnknownAction"     // another action or version
	ReasonUnknownParameter  = "UnknownParameter"  // a parameter AssumeRoleWithWebIdentity does not take
	ReasonRepeatedParameter = "RepeatedParameter" // a parameter given more than once
	ReasonMissingParameter  = "MissingParameter"  // RoleArn, RoleSessionName or WebIdentityToken absent
	ReasonInvalidParameter  = "InvalidParameter"  // a parameter value that does not parse or is out of range
	ReasonInternal          = "Internal"          // the role id lookup or the credential issuer failed
)

// maxParamName bounds a caller-supplied parameter name before it is echoed or logged.
const maxParamName = 64

// plainParamRE is a parameter name safe to repeat in a caller-facing message.
var plainParamRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// paramName renders a caller-supplied parameter name for logs and ResponseEvent: as is when
// it is a plain name of at most 64 characters, else clipped and quoted as ASCII, so that no
// control character, invalid UTF-8 or unbounded input reaches a log line.
func paramName(name string) string {
	if plainParamRE.MatchString(name) {
		return name
	}
	if len(name) > maxParamName {
		name = name[:maxParamName]
	}
	return strconv.QuoteToASCII(name)
}

// paramMessage returns msg with the parameter's name, or generic when the name is not plain.
func paramMessage(name, withName, generic string) string {
	if plainParamRE.MatchString(name) {
		return strings.ReplaceAll(withName, "%p", name)
	}
	return generic
}

// paramError is a ValidationError about one parameter.
func paramError(reason, name, msg string) *stsError {
	return &stsError{code: string(verifier.CodeValidationError), message: msg, reason: reason, param: paramName(name)}
}

// requiredParams are the AssumeRoleWithWebIdentity parameters without which there is no
// request to decide, in the order AWS lists them.
var requiredParams = [...]param{pRoleArn, pRoleSessionName, pWebIdentityToken}

// awsMemberName is the lower-camel member name AWS's validation messages use ("roleArn").
func awsMemberName(param string) string {
	return strings.ToLower(param[:1]) + param[1:]
}

// verifierParams maps the verifier's parameter reasons to the parameter they are about.
var verifierParams = map[verifier.Reason]string{
	verifier.ReasonRoleARN:     "RoleArn",
	verifier.ReasonSessionName: "RoleSessionName",
	verifier.ReasonDuration:    "DurationSeconds",
	verifier.ReasonProviderID:  "ProviderId",
	verifier.ReasonTokenSize:   "WebIdentityToken",
}
