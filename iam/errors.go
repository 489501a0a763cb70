package iam

import "errors"

// ErrorCode is an IAM error code, spelled as the IAM Query API spells it, so
// that a control plane can answer with it unchanged.
type ErrorCode string

// The IAM error codes this package returns.
const (
	// CodeEntityAlreadyExists: a Create of an entity that exists, or a
	// name, URL or role ID that another entity already has.
	CodeEntityAlreadyExists ErrorCode = "EntityAlreadyExists"
	// CodeNoSuchEntity: a lookup, update or delete of an entity that does
	// not exist.
	CodeNoSuchEntity ErrorCode = "NoSuchEntity"
	// CodeMalformedPolicyDocument: the trust policy does not parse as a
	// trust policy. Err is the *policy.ParseError (its Path locates the
	// problem).
	CodeMalformedPolicyDocument ErrorCode = "MalformedPolicyDocument"
	// CodeValidationError: a parameter breaks a length, pattern or range
	// constraint of the IAM API (what IAM reports as "1 validation error
	// detected").
	CodeValidationError ErrorCode = "ValidationError"
	// CodeLimitExceeded: a quota would be exceeded (providers or roles per
	// account, client IDs or thumbprints per provider, tags per entity,
	// trust policy length).
	CodeLimitExceeded ErrorCode = "LimitExceeded"
	// CodeInvalidInput: a value that passes the API's constraints but that
	// IAM refuses (a provider URL with a query or a port, a reserved tag
	// key, a duplicate tag key, an ARN that disagrees with the other
	// fields).
	CodeInvalidInput ErrorCode = "InvalidInput"
	// CodeServiceFailure: the change could not be made durable (the
	// Options.Commit hook failed); nothing changed. IAM's code for a
	// failure of its own, answered with HTTP 500. Err is the hook's error.
	CodeServiceFailure ErrorCode = "ServiceFailure"
)

// Error is the only error type this package returns. Code is IAM's error
// code; Field names the offending parameter as the IAM API names it ("Url",
// "ClientIDList[2]", "Tags[0].Key", "RoleName", "AssumeRolePolicyDocument",
// ...), empty when the error concerns the entity as a whole; Entity is the ARN
// (or, before one can be formed, the name or URL) of the entity concerned;
// Message is worded as IAM words it where known. Err, when set, is the cause
// (a *policy.ParseError for CodeMalformedPolicyDocument).
//
// Test for a code with errors.Is and the sentinels (ErrNoSuchEntity, ...), or
// with errors.As and Code. Messages quote configuration that callers wrote
// (URLs, names, ARNs), never token content.
type Error struct {
	Code    ErrorCode
	Field   string
	Entity  string
	Message string
	Err     error
}

// Sentinels for errors.Is, one per code: errors.Is(err, ErrNoSuchEntity)
// holds for every *Error with Code CodeNoSuchEntity.
var (
	ErrEntityAlreadyExists     = &Error{Code: CodeEntityAlreadyExists}
	ErrNoSuchEntity            = &Error{Code: CodeNoSuchEntity}
	ErrMalformedPolicyDocument = &Error{Code: CodeMalformedPolicyDocument}
	ErrValidation              = &Error{Code: CodeValidationError}
	ErrLimitExceeded           = &Error{Code: CodeLimitExceeded}
	ErrInvalidInput            = &Error{Code: CodeInvalidInput}
	ErrServiceFailure          = &Error{Code: CodeServiceFailure}
)

// Error returns "iam: <Code>: <Message>", with the field when there is one:
// "iam: ValidationError: RoleName: ...".
func (e *Error) Error() string {
	s := "iam: " + string(e.Code)
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's code (an *Error with only
// a Code), or e itself.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t == e {
		return true
	}
	return t.Code == e.Code && t.Field == "" && t.Entity == "" && t.Message == "" && t.Err == nil
}

// ErrStale is what a durability hook (Options.Commit, Options.CommitBatch)
// wraps in its error to say that it made nothing durable because its store
// is ahead of the registry: another replica of a fleet committed changes
// that this registry has not installed yet, so the change, validated
// against the older state, cannot be committed on top of the store's. With
// Options.CatchUp set, the registry then catches up and runs the write
// again (its validation included) against the newer state, instead of
// failing it; without CatchUp, or once the attempts are spent, the write
// fails with CodeServiceFailure wrapping the hook's error, so errors.Is(err,
// ErrStale) holds for it.
var ErrStale = errors.New("iam: the store is ahead of the registry")

// Preallocated lookup misses: the read path returns these as they are, so
// that a miss costs no allocation. They name no entity.
var (
	errNoProvider = &Error{Code: CodeNoSuchEntity, Message: "OpenIDConnect provider not found"}
	errNoRole     = &Error{Code: CodeNoSuchEntity, Message: "role not found"}
)

func newError(code ErrorCode, entity, field, msg string) *Error {
	return &Error{Code: code, Entity: entity, Field: field, Message: msg}
}
