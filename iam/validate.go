package iam

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/webidentity/webidentity/policy"
)

// IAM's fixed limits (the API reference's length constraints and the quotas
// that cannot be raised). The adjustable quotas are in Options.
const (
	MaxURLLength           = 255    // CreateOpenIDConnectProvider Url
	MaxClientIDs           = 100    // client IDs per OIDC provider
	MaxClientIDLength      = 255    // characters per client ID
	MaxThumbprints         = 5      // thumbprints per OIDC provider
	ThumbprintLength       = 40     // hex SHA-1
	MaxTags                = 50     // tags per provider or role
	MaxTagKeyLength        = 128    // characters
	MaxTagValueLength      = 256    // characters
	MaxRoleNameLength      = 64     // characters
	MaxPathLength          = 512    // characters
	MaxDescriptionLength   = 1000   // characters
	MaxPolicyDocumentChars = 131072 // AssumeRolePolicyDocument length constraint
	MinSessionDuration     = time.Hour
	MaxSessionDuration     = 12 * time.Hour
	DefaultSessionDuration = time.Hour
)

// NewOIDCProvider validates p as CreateOIDCProvider does (everything but
// the per-account quota and uniqueness, which need a registry) and returns
// the normalised, immutable value a registry would store, with its
// precomputed fields built: for a ProviderSource of one's own (the
// verifier's interface) backed by another store than Registry. It does
// not fill CreateDate. The error is an *Error, as for CreateOIDCProvider.
func NewOIDCProvider(p *OIDCProvider) (*OIDCProvider, error) {
	if p == nil {
		return nil, &Error{Code: CodeInvalidInput, Message: "The provider is missing."}
	}
	return validateProvider(p, false)
}

// validateProvider checks p as IAM checks CreateOpenIDConnectProvider and
// returns a normalised copy: ARN, Partition, Account and URL all set,
// duplicate client IDs and thumbprints dropped, the client-ID set built.
func validateProvider(in *OIDCProvider, allowPort bool) (*OIDCProvider, error) {
	p := in.clone()
	if err := p.reconcileNames(allowPort); err != nil {
		return nil, err
	}
	id := p.ARN
	ids, err := validateClientIDs(id, p.ClientIDs)
	if err != nil {
		return nil, err
	}
	p.ClientIDs = ids
	tps, err := validateThumbprints(id, p.Thumbprints)
	if err != nil {
		return nil, err
	}
	p.Thumbprints = tps
	if err := validateTags(id, p.Tags); err != nil {
		return nil, err
	}
	p.finish()
	return p, nil
}

// finish builds the precomputed fields; p must not be published yet.
func (p *OIDCProvider) finish() {
	p.finished = true
	p.keyPrefix = policy.FoldKey(strings.TrimPrefix(p.URL, "https://"))
	p.clientIDSet, p.clientID0 = nil, ""
	if len(p.ClientIDs) > 0 {
		p.clientID0 = p.ClientIDs[0]
	}
	if len(p.Thumbprints) == 1 {
		p.thumb0[0] = p.Thumbprints[0]
		p.Thumbprints = p.thumb0[:]
	}
	if len(p.ClientIDs) >= clientIDSetMin {
		p.clientIDSet = make(map[string]struct{}, len(p.ClientIDs))
		for _, c := range p.ClientIDs {
			p.clientIDSet[c] = struct{}{}
		}
	}
}

// reconcileNames fills ARN from Partition, Account and URL, or those from
// ARN, and checks that they agree and that the URL is one IAM accepts.
func (p *OIDCProvider) reconcileNames(allowPort bool) error {
	entity := p.ARN
	if entity == "" {
		entity = p.URL
	}
	if p.ARN == "" {
		if p.Partition == "" {
			p.Partition = "aws"
		}
		if err := validateURL(entity, p.URL, allowPort); err != nil {
			return err
		}
		arn, err := OIDCProviderARN(p.Partition, p.Account, p.URL)
		if err != nil {
			return err
		}
		p.ARN = arn
		p.Partition, p.Account = canonicalPartition(p.Partition), accountOf(arn, p.Partition)
		return nil
	}
	part, acct, url, err := ParseOIDCProviderARN(p.ARN)
	if err != nil {
		return err
	}
	for _, f := range [...]struct{ name, have, want string }{
		{"Partition", p.Partition, part}, {"Account", p.Account, acct}, {"Url", p.URL, url},
	} {
		if f.have != "" && f.have != f.want {
			return newError(CodeInvalidInput, entity, f.name, f.name+" "+quote(f.have)+" disagrees with the ARN")
		}
	}
	p.Partition, p.Account, p.URL = canonicalPartition(part), acct, url
	return validateURL(entity, url, allowPort)
}

// validateURL applies CreateOpenIDConnectProvider's Url rules: 1 to 255
// characters, https://, a host, an optional path; no query, fragment,
// user info or port (IAM documents "should not contain a port number"; this
// package refuses one unless allowPort, Options.AllowURLPort). The URL is kept verbatim: it must equal the tokens'
// iss byte for byte, and IAM does not normalise case or a trailing slash.
func validateURL(entity, u string, allowPort bool) error {
	if u == "" {
		return newError(CodeValidationError, entity, "Url", "Url is required")
	}
	if utf8.RuneCountInString(u) > MaxURLLength || !utf8.ValidString(u) {
		return newError(CodeValidationError, entity, "Url", "Member must have length less than or equal to "+strconv.Itoa(MaxURLLength))
	}
	rest, ok := strings.CutPrefix(u, httpsPrefix)
	if !ok {
		return newError(CodeInvalidInput, entity, "Url", "The URL must begin with https://")
	}
	if _, err := url.Parse(u); err != nil {
		// A malformed percent-escape, say: no key cache could fetch such an issuer.
		return newError(CodeInvalidInput, entity, "Url", "The URL does not parse")
	}
	host, _, _ := strings.Cut(rest, "/")
	if allowPort {
		if h, port, ok := strings.Cut(host, ":"); ok {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
				return newError(CodeInvalidInput, entity, "Url", "The URL's port must be a number from 1 to 65535")
			}
			rest = h + rest[len(h)+1+len(port):]
			host = h
		}
	}
	if host == "" {
		return newError(CodeInvalidInput, entity, "Url", "The URL must name a host")
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c <= ' ' || c >= 0x7f:
			return newError(CodeInvalidInput, entity, "Url", "The URL must be printable ASCII without spaces")
		case c == '?' || c == '#':
			return newError(CodeInvalidInput, entity, "Url", "The URL must not have a query or a fragment")
		case c == '@' && i < len(host):
			return newError(CodeInvalidInput, entity, "Url", "The URL must not have user information")
		case c == ':' && i < len(host):
			return newError(CodeInvalidInput, entity, "Url", "The URL should not contain a port number")
		case i < len(host) && !(c == '.' || c == '-' || c == '_' || isAlnum(c)):
			return newError(CodeInvalidInput, entity, "Url", "The URL's host must be a DNS name")
		}
	}
	return nil
}

func validateClientIDs(entity string, ids []string) ([]string, error) {
	out := ids[:0]
	for i, id := range ids {
		if n := utf8.RuneCountInString(id); n < 1 || n > MaxClientIDLength || !utf8.ValidString(id) {
			return nil, newError(CodeValidationError, entity, "ClientIDList["+strconv.Itoa(i)+"]",
				"Member must have length between 1 and "+strconv.Itoa(MaxClientIDLength))
		}
		if !containsString(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > MaxClientIDs {
		return nil, newError(CodeLimitExceeded, entity, "ClientIDList",
			"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: "+strconv.Itoa(MaxClientIDs))
	}
	return out, nil
}

func validateThumbprints(entity string, tps []string) ([]string, error) {
	out := tps[:0]
	for i, t := range tps {
		field := "ThumbprintList[" + strconv.Itoa(i) + "]"
		if len(t) != ThumbprintLength {
			return nil, newError(CodeValidationError, entity, field, "Member must have length 40")
		}
		for j := 0; j < len(t); j++ {
			if !isHex(t[j]) {
				return nil, newError(CodeValidationError, entity, field, "A thumbprint is 40 hexadecimal characters")
			}
		}
		dup := false
		for _, o := range out {
			dup = dup || strings.EqualFold(o, t)
		}
		if !dup {
			out = append(out, t)
		}
	}
	if len(out) > MaxThumbprints {
		return nil, newError(CodeLimitExceeded, entity, "ThumbprintList",
			"Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: "+strconv.Itoa(MaxThumbprints))
	}
	return out, nil
}

// validateTags applies IAM's Tag rules: at most 50; keys 1 to 128 and values
// 0 to 256 characters of letters, digits, spaces and _.:/=+-@; keys unique
// ignoring case; no key starting with "aws:" in any case.
func validateTags(entity string, tags []Tag) error {
	if len(tags) > MaxTags {
		return newError(CodeLimitExceeded, entity, "Tags", "Cannot exceed quota for TagsPerEntity: "+strconv.Itoa(MaxTags))
	}
	for i, t := range tags {
		field := "Tags[" + strconv.Itoa(i) + "]"
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > MaxTagKeyLength || !tagText(t.Key) {
			return newError(CodeValidationError, entity, field+".Key",
				"Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")
		}
		if n := utf8.RuneCountInString(t.Value); n > MaxTagValueLength || !tagText(t.Value) {
			return newError(CodeValidationError, entity, field+".Value",
				"Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
		}
		if len(t.Key) >= 4 && strings.EqualFold(t.Key[:4], "aws:") {
			return newError(CodeInvalidInput, entity, field+".Key", "Tag keys starting with 'aws:' are reserved for AWS use")
		}
		for _, o := range tags[:i] {
			if strings.EqualFold(o.Key, t.Key) {
				return newError(CodeInvalidInput, entity, field+".Key",
					"Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
	}
	return nil
}

func tagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.In(r, unicode.Z) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r) {
			continue
		}
		return false
	}
	return true
}

// validateRole checks r as IAM checks CreateRole and returns a normalised
// copy with ARN, Partition, Account, Path, Name, MaxSessionDuration and
// TrustPolicy set. maxPolicy is the trust policy length quota (<0: none).
//
// prev returns the registry's current role with an ARN, if any: when its
// document is the same text, its compiled policy (and document string) are
// reused instead of parsing again, which makes reloads of unchanged roles
// cheap.
func validateRole(in *Role, maxPolicy int, prev func(arn string) *Role) (*Role, error) {
	r := in.clone()
	if err := r.reconcileNames(); err != nil {
		return nil, err
	}
	id := r.ARN
	if r.RoleID != "" && !validRoleID(r.RoleID) {
		return nil, newError(CodeValidationError, id, "RoleId", "Member must have length between 16 and 128 and satisfy regular expression pattern: [\\w]+")
	}
	if err := validateSessionDuration(id, &r.MaxSessionDuration); err != nil {
		return nil, err
	}
	if err := validateDescription(id, r.Description); err != nil {
		return nil, err
	}
	if old := prev(r.ARN); old != nil && old.TrustPolicy != nil && old.TrustPolicyDocument == r.TrustPolicyDocument {
		r.TrustPolicy, r.TrustPolicyDocument = old.TrustPolicy, old.TrustPolicyDocument
	} else {
		p, err := parseTrustPolicy(id, r.TrustPolicyDocument, maxPolicy)
		if err != nil {
			return nil, err
		}
		r.TrustPolicy = p
	}
	if err := validateTags(id, r.Tags); err != nil {
		return nil, err
	}
	return r, nil
}

// reconcileNames fills ARN from Partition, Account, Path and Name, or those
// from ARN, checks that they agree, and applies the name and path rules.
func (r *Role) reconcileNames() error {
	entity := r.ARN
	if entity == "" {
		entity = r.Name
	}
	if r.ARN == "" {
		if r.Partition == "" {
			r.Partition = "aws"
		}
		if r.Path == "" {
			r.Path = "/"
		}
		if err := checkPartitionAccount(r.Partition, r.Account, entity); err != nil {
			return err
		}
		if err := validateRoleName(entity, r.Name); err != nil {
			return err
		}
		if err := validatePath(entity, r.Path); err != nil {
			return err
		}
		r.ARN = RoleARN(r.Partition, r.Account, r.Path, r.Name)
		r.Partition, r.Account = canonicalPartition(r.Partition), accountOf(r.ARN, r.Partition)
		return nil
	}
	part, acct, path, name, err := ParseRoleARN(r.ARN)
	if err != nil {
		return err
	}
	for _, f := range [...]struct{ name, have, want string }{
		{"Partition", r.Partition, part}, {"Account", r.Account, acct}, {"Path", r.Path, path}, {"RoleName", r.Name, name},
	} {
		if f.have != "" && f.have != f.want {
			return newError(CodeInvalidInput, entity, f.name, f.name+" "+quote(f.have)+" disagrees with the ARN")
		}
	}
	r.Partition, r.Account, r.Path, r.Name = canonicalPartition(part), acct, path, name
	if err := validateRoleName(entity, name); err != nil {
		return err
	}
	return validatePath(entity, path)
}

// validateRoleName: 1 to 64 characters of [\w+=,.@-].
func validateRoleName(entity, name string) error {
	ok := len(name) >= 1 && len(name) <= MaxRoleNameLength
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = isAlnum(c) || strings.IndexByte("_+=,.@-", c) >= 0
	}
	if !ok {
		return newError(CodeValidationError, entity, "RoleName",
			"Member must have length between 1 and 64 and satisfy regular expression pattern: [\\w+=,.@-]+")
	}
	return nil
}

// validatePath: "/" or "/" + [\x21-\x7E]+ + "/", at most 512 characters.
func validatePath(entity, path string) error {
	ok := len(path) >= 1 && len(path) <= MaxPathLength && path[0] == '/' && path[len(path)-1] == '/'
	for i := 0; ok && i < len(path); i++ {
		ok = path[i] >= 0x21 && path[i] <= 0x7e
	}
	if !ok {
		return newError(CodeValidationError, entity, "Path",
			"Member must have length between 1 and 512 and satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)")
	}
	return nil
}

func validRoleID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) && id[i] != '_' {
			return false
		}
	}
	return true
}

// validateSessionDuration sets a zero duration to the default and checks
// the range 3,600 to 43,200 whole seconds.
func validateSessionDuration(entity string, d *time.Duration) error {
	if *d == 0 {
		*d = DefaultSessionDuration
	}
	if *d < MinSessionDuration || *d > MaxSessionDuration || *d%time.Second != 0 {
		return newError(CodeValidationError, entity, "MaxSessionDuration",
			"Member must have value between 3600 and 43200 seconds")
	}
	return nil
}

// validateDescription: at most 1,000 characters of
// [\t\n\r\x20-\x7E\xA1-\xFF].
func validateDescription(entity, d string) error {
	ok := utf8.ValidString(d) && utf8.RuneCountInString(d) <= MaxDescriptionLength
	for _, c := range d {
		if !ok {
			break
		}
		ok = c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0x7e) || (c >= 0xa1 && c <= 0xff)
	}
	if !ok {
		return newError(CodeValidationError, entity, "Description",
			"Member must have length less than or equal to 1000 and satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*")
	}
	return nil
}

// parseTrustPolicy checks the document as IAM checks
// AssumeRolePolicyDocument: 1 to 131,072 characters of
// [\t\n\r\x20-\xFF]; at most maxChars characters that are not whitespace
// (IAM's "Role trust policy length" quota, which does not count white
// space); then a trust policy that policy.Parse accepts.
func parseTrustPolicy(entity, doc string, maxChars int) (*policy.Policy, error) {
	const field = "AssumeRolePolicyDocument"
	n, nonSpace, ok := 0, 0, utf8.ValidString(doc)
	for _, c := range doc {
		if !ok {
			break
		}
		n++
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c >= 0x20 && c <= 0xff:
			nonSpace++
		default:
			ok = false
		}
	}
	if !ok || n < 1 || n > MaxPolicyDocumentChars {
		return nil, newError(CodeValidationError, entity, field,
			"Member must have length between 1 and 131072 and satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
	}
	if maxChars >= 0 && nonSpace > maxChars {
		return nil, newError(CodeLimitExceeded, entity, field, "Cannot exceed quota for ACLSizePerRole: "+strconv.Itoa(maxChars))
	}
	p, err := policy.ParseWithOptions([]byte(doc), policy.ParseOptions{MaxSize: 2 * MaxPolicyDocumentChars})
	if err != nil {
		e := newError(CodeMalformedPolicyDocument, entity, field, err.Error())
		var pe *policy.ParseError
		if errors.As(err, &pe) {
			e.Message = pe.Msg
			if pe.Path != "" {
				e.Message = pe.Path + ": " + pe.Msg
			}
		}
		e.Err = err
		return nil, e
	}
	return p, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
