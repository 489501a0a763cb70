package policy

// ParseErrorReason classifies a ParseError so that callers and tests can branch
// on what went wrong without reading the message.
type ParseErrorReason int

const (
	// ReasonSyntax: the document is not valid JSON (or not valid UTF-8), or has
	// data after the top-level object.
	ReasonSyntax ParseErrorReason = iota + 1
	// ReasonTooLarge: the document is over the size limit (ParseOptions.MaxSize).
	ReasonTooLarge
	// ReasonDuplicate: a member name, Sid or condition key appears twice.
	ReasonDuplicate
	// ReasonUnknown: an element, principal type or condition operator that the
	// policy language does not define.
	ReasonUnknown
	// ReasonConflict: both X and NotX in one statement (Principal/NotPrincipal,
	// Action/NotAction).
	ReasonConflict
	// ReasonMissing: a required element is missing (Statement, Effect, Action or
	// NotAction, Principal).
	ReasonMissing
	// ReasonType: a value of the wrong JSON type, for example an object where a
	// string or array is expected.
	ReasonType
	// ReasonValue: a value of the right type that is not valid, for example an
	// unsupported Version, a malformed number, date, CIDR, base64 value, ARN,
	// policy variable, Sid or action, or an empty list.
	ReasonValue
	// ReasonOperator: a malformed condition operator: a bad ForAnyValue: or
	// ForAllValues: prefix, a bad IfExists suffix (IfExists on Null), or a set
	// prefix on Null.
	ReasonOperator
	// ReasonNotAllowed: an element that the policy language defines but IAM
	// does not allow in a role trust policy: NotPrincipal. The IAM User Guide
	// (AWS JSON policy elements: NotPrincipal) says "You cannot use the
	// NotPrincipal element in an IAM identity-based policy nor in an IAM role
	// trust policy", and with "Effect": "Allow" it is not supported anywhere.
	ReasonNotAllowed
)

var parseReasonNames = [...]string{
	ReasonSyntax:     "syntax",
	ReasonTooLarge:   "too large",
	ReasonDuplicate:  "duplicate",
	ReasonUnknown:    "unknown",
	ReasonConflict:   "conflict",
	ReasonMissing:    "missing",
	ReasonType:       "type",
	ReasonValue:      "value",
	ReasonOperator:   "operator",
	ReasonNotAllowed: "not allowed in a trust policy",
}

// String returns a short lower-case name for the reason.
func (r ParseErrorReason) String() string {
	if r > 0 && int(r) < len(parseReasonNames) {
		return parseReasonNames[r]
	}
	return "ParseErrorReason(" + itoa(int(r)) + ")"
}

// ParseError is the only error Parse returns. Path locates the problem in the
// document as a JSON path such as
//
//	Statement[1].Condition.StringLike["oidc.example.com:sub"][0]
//
// (empty for the document as a whole; "Statement" without an index when the
// Statement element is a single object). Msg says what is wrong and Reason
// classifies it. Messages may quote the policy document, which is trusted
// configuration, never request data.
type ParseError struct {
	Path   string
	Msg    string
	Reason ParseErrorReason
}

// Error returns "policy: <path>: <msg>".
func (e *ParseError) Error() string {
	if e.Path == "" {
		return "policy: " + e.Msg
	}
	return "policy: " + e.Path + ": " + e.Msg
}

func perr(path string, reason ParseErrorReason, msg string) *ParseError {
	return &ParseError{Path: path, Msg: msg, Reason: reason}
}
