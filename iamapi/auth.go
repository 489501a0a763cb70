package iamapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/webidentity/webidentity/iam"
)

// Authentication error codes, as AWS answers them on its Query APIs (IAM "Common Errors").
const (
	// CodeMissingAuthenticationToken: no Authorization header (403).
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	// CodeIncompleteSignature: the Authorization header, X-Amz-Date or the signed-header
	// list does not follow SigV4 (400).
	CodeIncompleteSignature = "IncompleteSignature"
	// CodeSignatureDoesNotMatch: a wrong signature, or a credential scope of another date,
	// region or service (403).
	CodeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	// CodeInvalidClientTokenId: the access key id is not an admin credential, or the request
	// carries a session token (403).
	CodeInvalidClientTokenId = "InvalidClientTokenId"
	// CodeRequestExpired: X-Amz-Date is further than MaxSkew from the server's clock (400).
	CodeRequestExpired = "RequestExpired"
)

// authStatus is the HTTP status of each code, as the IAM API reference's Common Errors list them.
var authStatus = map[string]int{
	CodeMissingAuthenticationToken: http.StatusForbidden,
	CodeIncompleteSignature:        http.StatusBadRequest,
	CodeSignatureDoesNotMatch:      http.StatusForbidden,
	CodeInvalidClientTokenId:       http.StatusForbidden,
	CodeRequestExpired:             http.StatusBadRequest,
}

// Reason says precisely why a request was refused; several reasons share one AWS code.
// Reasons are stable names, logged and meant for tests and metrics, never shown to callers.
type Reason string

// The reasons of an AuthError.
const (
	ReasonUnsigned          Reason = "unsigned"  // no Authorization header
	ReasonPresigned         Reason = "presigned" // query-string (presigned URL) authentication
	ReasonDuplicateAuth     Reason = "duplicate_authorization"
	ReasonBadAlgorithm      Reason = "unsupported_algorithm" // not AWS4-HMAC-SHA256
	ReasonMalformedAuth     Reason = "malformed_authorization"
	ReasonMalformedScope    Reason = "malformed_credential_scope"
	ReasonMalformedHeaders  Reason = "malformed_signed_headers"
	ReasonUnsignedHost      Reason = "host_not_signed"
	ReasonUnsignedDate      Reason = "date_not_signed"
	ReasonMissingDate       Reason = "missing_date" // no X-Amz-Date, or more than one
	ReasonMalformedDate     Reason = "malformed_date"
	ReasonMalformedQuery    Reason = "malformed_query"
	ReasonScopeDate         Reason = "scope_date_mismatch"
	ReasonScopeRegion       Reason = "scope_region"
	ReasonScopeService      Reason = "scope_service"
	ReasonExpired           Reason = "expired"       // signed more than MaxSkew ago
	ReasonNotYetValid       Reason = "not_yet_valid" // signed more than MaxSkew in the future
	ReasonSessionToken      Reason = "session_token"
	ReasonUnknownKey        Reason = "unknown_access_key"
	ReasonSignatureMismatch Reason = "signature_mismatch"
	ReasonSignerFailed      Reason = "signer_failed"
)

// AuthError is a refused request: an AWS error code, the message AWS would answer, and the
// precise Reason. Message never holds a secret, the expected signature or the canonical request.
type AuthError struct {
	Code    string // one of the Code* constants
	Message string // safe to show the caller
	Reason  Reason // why, for logs, metrics and tests
}

// Error formats the code and message.
func (e *AuthError) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus is the HTTP status AWS answers the code with (403 or 400).
func (e *AuthError) HTTPStatus() int {
	if s, ok := authStatus[e.Code]; ok {
		return s
	}
	return http.StatusForbidden
}

// Credentials finds the secret of an admin access key id. Implementations must be safe for
// concurrent use. A secret may change (rotation); the next request sees the new one.
type Credentials interface {
	SecretAccessKey(accessKeyID string) (secret string, ok bool)
}

// StaticCredentials maps access key ids to secret access keys. It must not be modified once
// an Authenticator uses it.
type StaticCredentials map[string]string

// SecretAccessKey implements Credentials.
func (s StaticCredentials) SecretAccessKey(accessKeyID string) (string, bool) {
	secret, ok := s[accessKeyID]
	return secret, ok
}

// Admin is an admin credential as AdminCredentials return it: the secret access key and the
// account the key administers.
type Admin struct {
	SecretAccessKey string
	// Account is the 12-digit AWS account ID whose providers and roles the key manages.
	Account string
	// Partition is the account's partition; "aws" if empty.
	Partition string
}

// AdminCredentials are Credentials that also say which account each admin access key id
// administers: a request signed with the key acts on that account, as an IAM user's key acts
// on its own account in AWS. The Handler requires them; the Authenticator uses Admin instead
// of SecretAccessKey when its Credentials implement it, so that the secret and the account
// come from one lookup, and fills Principal.Account and Principal.Partition. Implementations
// must be safe for concurrent use; a change (rotation, a key moved to another account) is seen
// by the next request.
type AdminCredentials interface {
	Credentials
	// Admin returns the admin credential of the access key id, ok false if there is none.
	Admin(accessKeyID string) (admin Admin, ok bool)
}

// StaticAdmins maps admin access key ids to their secrets and accounts; several keys may
// administer one account. It must not be modified once an Authenticator or Handler uses it.
// NewHandler checks every entry (a secret, a 12-digit account, a known partition).
type StaticAdmins map[string]Admin

// SecretAccessKey implements Credentials.
func (s StaticAdmins) SecretAccessKey(accessKeyID string) (string, bool) {
	a, ok := s[accessKeyID]
	return a.SecretAccessKey, ok
}

// Admin implements AdminCredentials.
func (s StaticAdmins) Admin(accessKeyID string) (Admin, bool) {
	a, ok := s[accessKeyID]
	return a, ok
}

var _ AdminCredentials = StaticAdmins(nil)

// Principal is the admin a request was authenticated as.
type Principal struct {
	AccessKeyID string
	Region      string    // the credential scope's region
	SignedAt    time.Time // X-Amz-Date
	// Account and Partition are the Admin's, when the Credentials are AdminCredentials
	// (Partition "aws" when the Admin leaves it empty); both empty otherwise.
	Account   string
	Partition string
}

// Defaults of Options.
const (
	DefaultMaxSkew = 15 * time.Minute
	DefaultService = "iam"
	// DefaultMaxBodyBytes bounds a Handler's request bodies: a CreateRole with a trust
	// policy of IAM's maximum 131,072 characters, each form-encoded as %XX%XX (a non-ASCII
	// Latin-1 character), is 786,432 bytes; 1 MiB leaves room for the other parameters.
	DefaultMaxBodyBytes = 1 << 20
)

// Options configure an Authenticator (NewAuthenticator) or a Handler (NewHandler), which
// authenticates with an Authenticator built from the same Options.
type Options struct {
	// Credentials are the admin credentials; required. NewHandler requires
	// AdminCredentials (such as StaticAdmins), which name each key's account;
	// NewAuthenticator accepts any Credentials (such as StaticCredentials).
	Credentials Credentials
	// Regions the credential scope may name. Empty: any well-formed region (clients sign
	// with their configured region when given an endpoint URL). A region is part of the
	// derived signing key, so accepting any weakens nothing.
	Regions []string
	// Service the credential scope must name; default "iam".
	Service string
	// MaxSkew is how far X-Amz-Date may be from Now, either way; default 15 minutes.
	MaxSkew time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger gets, from an Authenticator, one line per refusal (code, reason, access key
	// id, remote address); from a Handler, one line per request instead (see Handler),
	// refusals included. Never a secret or a signature. Default: discard.
	Logger *slog.Logger

	// Registry holds the providers and roles a Handler serves; required by NewHandler,
	// ignored by NewAuthenticator. Changes made through the Handler are the registry's
	// writes, visible to its lookups (and its watchers and store) when the answer is sent.
	Registry *iam.Registry
	// MaxBodyBytes bounds a Handler's request bodies; a larger one is refused before it is
	// authenticated. If zero, DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Authenticator checks SigV4-signed Query API requests against admin credentials. It is
// safe for concurrent use.
type Authenticator struct {
	creds   Credentials
	regions map[string]bool
	service string
	maxSkew time.Duration
	now     func() time.Time
	log     *slog.Logger

	// signers holds one SDK signer per access key id with the secret it was made for. The
	// SDK signer caches derived keys by access key id, region, service and day but not by
	// secret, so one signer shared across a rotation would keep honouring the old secret.
	signers sync.Map // access key id -> *keySigner
}

type keySigner struct {
	secret string
	signer *v4.Signer
}

// NewAuthenticator returns an Authenticator for opts.
func NewAuthenticator(opts Options) (*Authenticator, error) {
	if opts.Credentials == nil {
		return nil, errors.New("iamapi: Options.Credentials is required")
	}
	a := &Authenticator{
		creds:   opts.Credentials,
		service: opts.Service,
		maxSkew: opts.MaxSkew,
		now:     opts.Now,
		log:     opts.Logger,
	}
	if a.service == "" {
		a.service = DefaultService
	}
	if a.maxSkew < 0 {
		return nil, errors.New("iamapi: Options.MaxSkew is negative")
	}
	if a.maxSkew == 0 {
		a.maxSkew = DefaultMaxSkew
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if len(opts.Regions) > 0 {
		a.regions = make(map[string]bool, len(opts.Regions))
		for _, r := range opts.Regions {
			if !validScopePart(r) {
				return nil, fmt.Errorf("iamapi: Options.Regions: %q is not a region name", r)
			}
			a.regions[r] = true
		}
	}
	return a, nil
}

const (
	algorithm     = "AWS4-HMAC-SHA256"
	terminator    = "aws4_request"
	amzDateLayout = "20060102T150405Z"
	amzDateHeader = "X-Amz-Date"
	tokenHeader   = "X-Amz-Security-Token"
)

// presignParams are the query parameters of query-string authentication.
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Security-Token"}

// Authenticate checks that r is signed with SigV4 (Authorization header, AWS4-HMAC-SHA256)
// by an admin credential, within MaxSkew of the clock, over body. body is the request's
// whole body, already read by the caller (with a size limit: Authenticate hashes all of
// it); r.Body is not read. On refusal it returns an *AuthError and logs one line.
func (a *Authenticator) Authenticate(r *http.Request, body []byte) (*Principal, error) {
	p, akid, err := a.authenticate(r, body)
	if err != nil {
		attrs := []slog.Attr{
			slog.String("code", err.Code),
			slog.String("reason", string(err.Reason)),
			slog.String("remote", r.RemoteAddr),
		}
		if akid != "" {
			attrs = append(attrs, slog.String("access_key_id", akid))
		}
		a.log.LogAttrs(r.Context(), slog.LevelWarn, "iam authentication refused", attrs...)
		return nil, err
	}
	return p, nil
}

func refuse(code string, reason Reason, msg string) *AuthError {
	return &AuthError{Code: code, Message: msg, Reason: reason}
}

// authenticate returns the access key id it parsed (for the log) beside the result.
func (a *Authenticator) authenticate(r *http.Request, body []byte) (*Principal, string, *AuthError) {
	c, akid, e := a.precheck(r)
	if e != nil {
		return nil, akid, e
	}
	return a.verify(r, c, body)
}

// checked is what precheck established about a request: its parsed Authorization header, its
// signing time and the admin credential of its access key.
type checked struct {
	h        *authHeader
	signedAt time.Time
	admin    Admin
}

// precheck runs every check that needs no body: the Authorization header's shape, the date,
// the scope, the skew and the access key. A request that fails them is refused before its
// body is read.
func (a *Authenticator) precheck(r *http.Request) (*checked, string, *AuthError) {
	rawQuery := r.URL.RawQuery
	query, qerr := url.ParseQuery(rawQuery)
	auths := r.Header.Values("Authorization")
	if qerr == nil {
		for _, k := range presignParams {
			if _, ok := query[k]; ok {
				if len(auths) > 0 {
					return nil, "", refuse(CodeIncompleteSignature, ReasonPresigned, "Only one auth mechanism allowed; only the Authorization header is accepted.")
				}
				return nil, "", refuse(CodeMissingAuthenticationToken, ReasonPresigned, "Query-string (presigned) authentication is not accepted; sign the request with an Authorization header.")
			}
		}
	}
	switch len(auths) {
	case 0:
		return nil, "", refuse(CodeMissingAuthenticationToken, ReasonUnsigned, "Request is missing Authentication Token")
	case 1:
	default:
		return nil, "", refuse(CodeIncompleteSignature, ReasonDuplicateAuth, "Only one Authorization header is allowed.")
	}
	if qerr != nil {
		// url.Values drops what it cannot parse, so two different query strings could share
		// one canonical form: refuse instead.
		return nil, "", refuse(CodeIncompleteSignature, ReasonMalformedQuery, "The query string does not parse.")
	}

	h, e := parseAuthorization(auths[0])
	if e != nil {
		return nil, "", e
	}
	akid := h.accessKeyID

	dates := r.Header.Values(amzDateHeader)
	if len(dates) != 1 {
		return nil, akid, refuse(CodeIncompleteSignature, ReasonMissingDate, "Authorization header requires existence of exactly one 'X-Amz-Date' header.")
	}
	signedAt, err := time.Parse(amzDateLayout, dates[0])
	if err != nil || signedAt.Format(amzDateLayout) != dates[0] {
		return nil, akid, refuse(CodeIncompleteSignature, ReasonMalformedDate, "X-Amz-Date must be in ISO-8601 basic format (YYYYMMDD'T'HHMMSS'Z').")
	}
	if !h.signs("host") {
		return nil, akid, refuse(CodeIncompleteSignature, ReasonUnsignedHost, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if !h.signs("x-amz-date") {
		return nil, akid, refuse(CodeIncompleteSignature, ReasonUnsignedDate, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if day := dates[0][:8]; h.date != day {
		return nil, akid, refuse(CodeSignatureDoesNotMatch, ReasonScopeDate, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", h.date, day, dates[0]))
	}
	if a.regions != nil && !a.regions[h.region] {
		return nil, akid, refuse(CodeSignatureDoesNotMatch, ReasonScopeRegion, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", h.region))
	}
	if h.service != a.service {
		return nil, akid, refuse(CodeSignatureDoesNotMatch, ReasonScopeService, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", a.service))
	}
	now := a.now().UTC()
	if signedAt.Before(now.Add(-a.maxSkew)) {
		return nil, akid, refuse(CodeRequestExpired, ReasonExpired, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s).",
			dates[0], now.Add(-a.maxSkew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(a.maxSkew)))
	}
	if signedAt.After(now.Add(a.maxSkew)) {
		return nil, akid, refuse(CodeRequestExpired, ReasonNotYetValid, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s).",
			dates[0], now.Add(a.maxSkew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(a.maxSkew)))
	}
	if _, ok := r.Header[tokenHeader]; ok {
		// Admin credentials are long-term keys: a session token names a session this
		// server never issued.
		return nil, akid, refuse(CodeInvalidClientTokenId, ReasonSessionToken, "The security token included in the request is invalid.")
	}
	var admin Admin
	var ok bool
	if ac, isAdmin := a.creds.(AdminCredentials); isAdmin {
		admin, ok = ac.Admin(akid)
		if ok && admin.Partition == "" {
			admin.Partition = "aws"
		}
	} else {
		admin.SecretAccessKey, ok = a.creds.SecretAccessKey(akid)
	}
	if !ok || admin.SecretAccessKey == "" {
		return nil, akid, refuse(CodeInvalidClientTokenId, ReasonUnknownKey, "The security token included in the request is invalid.")
	}
	return &checked{h: h, signedAt: signedAt, admin: admin}, akid, nil
}

// verify checks the signature of a request that passed precheck, over its whole body.
func (a *Authenticator) verify(r *http.Request, c *checked, body []byte) (*Principal, string, *AuthError) {
	h, signedAt, admin := c.h, c.signedAt, c.admin
	akid := h.accessKeyID
	want, e := a.expectedSignature(r, h, akid, admin.SecretAccessKey, signedAt, body)
	if e != nil {
		return nil, akid, e
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(h.signature)) != 1 {
		return nil, akid, refuse(CodeSignatureDoesNotMatch, ReasonSignatureMismatch,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return &Principal{AccessKeyID: akid, Region: h.region, SignedAt: signedAt, Account: admin.Account, Partition: admin.Partition}, akid, nil
}

func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", int(d/time.Minute))
	}
	return d.String()
}

// expectedSignature rebuilds r with exactly the headers the client signed and has the SDK's
// signer sign it at signedAt for the scope's region and service over body's SHA-256.
func (a *Authenticator) expectedSignature(r *http.Request, h *authHeader, akid, secret string, signedAt time.Time, body []byte) (string, *AuthError) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	c := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: make(http.Header, len(h.signedHeaders))}
	for _, name := range h.signedHeaders {
		switch name {
		case "host", "x-amz-date":
			// The signer writes both itself: Host from c.Host, X-Amz-Date from signedAt,
			// which X-Amz-Date was checked to render to exactly.
		case "content-length":
			// The signer signs the length from ContentLength only (and only when > 0).
			c.ContentLength = r.ContentLength
		default:
			// Lower-case keys: the signer skips some canonical names (User-Agent, Expect,
			// ...) that a client may nevertheless have signed, and lower-cases the rest.
			if v, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				c.Header[name] = v
			}
		}
	}
	sum := sha256.Sum256(body)
	if err := a.signer(akid, secret).SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		c, hex.EncodeToString(sum[:]), h.service, h.region, signedAt, func(o *v4.SignerOptions) { o.DisableSessionToken = true }); err != nil {
		return "", refuse(CodeSignatureDoesNotMatch, ReasonSignerFailed, "The request signature could not be computed.")
	}
	const sigField = "Signature="
	out := c.Header.Get("Authorization")
	i := strings.LastIndex(out, sigField)
	if i < 0 || len(out)-i-len(sigField) != 64 {
		return "", refuse(CodeSignatureDoesNotMatch, ReasonSignerFailed, "The request signature could not be computed.")
	}
	return out[i+len(sigField):], nil
}

func (a *Authenticator) signer(akid, secret string) *v4.Signer {
	if v, ok := a.signers.Load(akid); ok {
		if ks := v.(*keySigner); ks.secret == secret {
			return ks.signer
		}
	}
	ks := &keySigner{secret: secret, signer: v4.NewSigner()}
	a.signers.Store(akid, ks)
	return ks.signer
}

// authHeader is a parsed Authorization header.
type authHeader struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string // lower case, strictly ascending
	signature                          string   // 64 lower-case hex digits
}

func (h *authHeader) signs(name string) bool {
	for _, s := range h.signedHeaders {
		if s == name {
			return true
		}
	}
	return false
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=hex" strictly: each component once, no other component.
func parseAuthorization(v string) (*authHeader, *AuthError) {
	alg, rest, ok := strings.Cut(v, " ")
	if !ok || alg != algorithm {
		if a, _, _ := strings.Cut(v, " "); strings.HasPrefix(a, "AWS4-") {
			return nil, refuse(CodeIncompleteSignature, ReasonBadAlgorithm, "Unsupported AWS 'algorithm': only AWS4-HMAC-SHA256 is accepted.")
		}
		return nil, refuse(CodeIncompleteSignature, ReasonMalformedAuth, "Authorization header is not an AWS4-HMAC-SHA256 signature.")
	}
	var cred, signed, sig string
	var seenCred, seenSigned, seenSig bool
	for _, part := range strings.Split(rest, ",") {
		part = strings.Trim(part, " ")
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, refuse(CodeIncompleteSignature, ReasonMalformedAuth, "Authorization header component is not key=value.")
		}
		var dup bool
		switch k {
		case "Credential":
			dup, seenCred, cred = seenCred, true, val
		case "SignedHeaders":
			dup, seenSigned, signed = seenSigned, true, val
		case "Signature":
			dup, seenSig, sig = seenSig, true, val
		default:
			return nil, refuse(CodeIncompleteSignature, ReasonMalformedAuth, "Authorization header has an unknown component.")
		}
		if dup {
			return nil, refuse(CodeIncompleteSignature, ReasonMalformedAuth, "Authorization header repeats a component.")
		}
	}
	if !seenCred || !seenSigned || !seenSig {
		return nil, refuse(CodeIncompleteSignature, ReasonMalformedAuth, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	h := &authHeader{}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 {
		return nil, refuse(CodeIncompleteSignature, ReasonMalformedScope, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.")
	}
	h.accessKeyID, h.date, h.region, h.service = scope[0], scope[1], scope[2], scope[3]
	if scope[4] != terminator {
		return nil, refuse(CodeIncompleteSignature, ReasonMalformedScope, "Credential should be scoped with a valid terminator: 'aws4_request'.")
	}
	if !validAccessKeyID(h.accessKeyID) || !validDay(h.date) || !validScopePart(h.region) || !validScopePart(h.service) {
		return nil, refuse(CodeIncompleteSignature, ReasonMalformedScope, "Credential scope is malformed.")
	}
	if signed == "" {
		return nil, refuse(CodeIncompleteSignature, ReasonMalformedHeaders, "SignedHeaders is empty.")
	}
	h.signedHeaders = strings.Split(signed, ";")
	for i, name := range h.signedHeaders {
		if !validHeaderName(name) || (i > 0 && h.signedHeaders[i-1] >= name) || name == "authorization" {
			return nil, refuse(CodeIncompleteSignature, ReasonMalformedHeaders, "SignedHeaders must be distinct lower-case header names in ascending order, without 'authorization'.")
		}
	}
	if len(sig) != 64 || !isLowerHex(sig) {
		return nil, refuse(CodeIncompleteSignature, ReasonMalformedAuth, "Signature must be 64 lower-case hexadecimal digits.")
	}
	h.signature = sig
	return h, nil
}

func validAccessKeyID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func validDay(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}

// validScopePart accepts region and service names: 1..64 of [a-z0-9-].
func validScopePart(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validHeaderName accepts lower-case RFC 9110 tokens.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
