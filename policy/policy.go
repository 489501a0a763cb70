package policy

// Effect is the outcome of evaluating a policy against a request.
type Effect int

const (
	// ImplicitDeny means no statement allowed the request and none denied it:
	// the default answer.
	ImplicitDeny Effect = iota
	// Allow means at least one Allow statement matched and no Deny statement did.
	Allow
	// ExplicitDeny means a Deny statement matched. It wins over any Allow.
	ExplicitDeny
)

// String returns "ImplicitDeny", "Allow" or "ExplicitDeny".
func (e Effect) String() string {
	switch e {
	case ImplicitDeny:
		return "ImplicitDeny"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "Effect(" + itoa(int(e)) + ")"
}

// Request is what a policy is evaluated against.
//
// For a web-identity role assumption, Action is "sts:AssumeRoleWithWebIdentity" (or
// "sts:TagSession", "sts:SetSourceIdentity"), Principal is the federated provider
// and Context holds the condition keys built from the verified token.
type Request struct {
	// Action is the API action, such as "sts:AssumeRoleWithWebIdentity".
	// It is matched case-insensitively.
	Action string
	// Principal is who asks.
	Principal Principal
	// Resource is the role ARN. Evaluate does not consult it: a trust policy
	// has no Resource element (Parse refuses Resource and NotResource), being
	// attached to the role it governs. It is kept so that callers can pass the
	// whole request and for Context implementations that want it.
	Resource string
	// Context supplies the condition keys. A nil Context has no keys.
	Context Context
}

// Principal identifies the caller the way the Principal element of a policy
// names it: Type is one of "AWS", "Federated", "Service" or "CanonicalUser" and
// ID is the ARN, provider ARN, domain or service name, for example
//
//	Principal{Type: "Federated", ID: "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/X"}
//	Principal{Type: "Federated", ID: "accounts.google.com"}
//
// Type and ID are compared exactly (case-sensitively).
type Principal struct {
	Type string
	ID   string
}

// Context supplies the values of condition keys during evaluation.
//
// Contract: Evaluate only ever asks for keys exactly as (*Policy).Keys returns
// them, that is in canonical form (for ASCII keys: lower-cased). An
// implementation that stores its keys that way may therefore do a plain
// lookup; an implementation that stores keys in another case must fold case
// itself (as Values does).
//
// Values returns the values of key and whether the key is present. A present
// key with no values (ok true, empty slice) is treated as missing. Evaluate
// neither modifies nor retains the slice. A Context shared between goroutines
// must be safe for concurrent use. The strings are the request values, always
// taken literally: a "*" in a value is just a star. For BinaryEquals a value is
// the raw bytes, not base64.
type Context interface {
	Values(key string) (values []string, ok bool)
}

// Values is the simple Context: a map from condition key to its values.
//
// Keys may be written in any case. Evaluate, which knows Values, looks a key
// up in a fixed order, without allocating:
//
//  1. the key in canonical form (see (*Policy).Keys; lower-cased for ASCII);
//  2. the key as the policy spells it where it first names it (one spelling
//     per key, whichever condition or variable asks);
//  3. a case-insensitive scan of the map, which takes the smallest (in byte
//     order) of the map's keys that name the key.
//
// So a map keyed in canonical form costs one map lookup per key, and a map
// keyed as the policy writes its keys (EKS issuer ids are upper-case hex) two.
// The Values method, for other callers, does 1 and 3. If the map holds one key
// in two spellings the order above decides which one is read: the same one
// for every condition and every call, but not necessarily the one a reader of
// the policy expects, so do not do that.
//
// Values cannot declare keys multivalued beyond those Evaluate knows (see
// MultivaluedContext).
type Values map[string][]string

// Values returns the values stored under key, compared case-insensitively:
// those of the key in canonical form if the map has it, else those of the
// smallest (in byte order) of the map's keys that name key.
func (v Values) Values(key string) ([]string, bool) {
	if isCanon(key) {
		if vals, ok := v[key]; ok {
			return vals, true
		}
	}
	return v.fold(key)
}

// fold finds key by a case-insensitive scan: the map's key in canonical form
// if there is one, else the smallest key that names key. It does not allocate.
func (v Values) fold(key string) ([]string, bool) {
	var best string
	var bestVals []string
	found := false
	for k, vals := range v {
		if !sameKey(k, key) {
			continue
		}
		if isCanon(k) {
			return vals, true
		}
		if !found || k < best {
			best, bestVals, found = k, vals, true
		}
	}
	return bestVals, found
}

// Decision is the answer of Evaluate and the reason for it.
type Decision struct {
	// Effect is Allow, ExplicitDeny or ImplicitDeny.
	Effect Effect
	// Statement is the index in the policy's Statement list of the statement the
	// decision rests on: the statement that allowed, the Deny statement that
	// matched, or for an ImplicitDeny the Allow statement that came closest to
	// matching. It is -1 when no statement applies (for example a policy with no
	// Allow statement, or a nil request).
	Statement int
	// Sid is that statement's Sid, if it has one.
	Sid string
	// Reason explains the decision in one line, naming the statement and, for an
	// implicit deny, its first element that did not match, for example
	//
	//	Statement[0]: condition StringLike on "oidc.example.com/id/X:sub" did not match
	//
	// Reasons name elements, operators and keys but never echo request values.
	// They are prepared when the policy is parsed, so explaining costs nothing.
	Reason string
}

// itoa formats small non-negative and negative integers without fmt.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
