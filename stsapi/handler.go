package stsapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webidentity/webidentity/internal/awsid"
	"github.com/webidentity/webidentity/verifier"
)

// Decider decides AssumeRoleWithWebIdentity requests. *verifier.Verifier implements it;
// errors must be *verifier.Error (anything else is answered with InternalFailure).
type Decider interface {
	AssumeRoleWithWebIdentity(ctx context.Context, req *verifier.Request) (*verifier.Result, error)
}

var _ Decider = (*verifier.Verifier)(nil)

// Options configures a Handler. Verifier and Issuer are required; every other zero value is
// safe.
type Options struct {
	// Verifier decides each request. Required.
	Verifier Decider
	// Issuer mints the credentials of allowed requests. Required: a service passes its own;
	// LocalIssuer mints credentials that grant nothing, for local testing.
	Issuer CredentialIssuer
	// RoleIDs gives the RoleId that AssumedRoleUser names. If nil, the role's own RoleId as
	// the verifier's RoleSource gave it (verifier.Result.RoleID: an iam.Registry's AROA id),
	// or, for a role without one, DerivedRoleID of the role ARN (stable, but not IAM's id).
	RoleIDs RoleIDs
	// Observer receives one ResponseEvent per answer. If nil, none.
	Observer Observer
	// Logger receives one line per request with its request id and outcome (never the
	// token). If nil, logs are discarded.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies. If zero, DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DecisionTimeout bounds the verifier's decision and the credential issuer, on top of
	// the request's own context. If zero, DefaultDecisionTimeout.
	DecisionTimeout time.Duration
	// Forward, if set, is asked for a handler for each request whose Action is not
	// AssumeRoleWithWebIdentity; a non-nil answer gets the request, its body restored as it
	// was read, in place of STS's InvalidAction. A server that answers another Query API on
	// the same address (serve answers IAM so) uses it to route the unsigned calls of that API,
	// which it cannot tell apart by their signature, to the handler that refuses them as that
	// API does.
	Forward func(action string) http.Handler
}

// Defaults for zero Options fields.
const (
	DefaultMaxBodyBytes    = 64 << 10
	DefaultDecisionTimeout = 10 * time.Second
)

// Limits of the Query API parameters that the verifier does not check.
const (
	maxSessionPolicy = 2048
	maxPolicyARNs    = 10
)

// Handler answers the STS Query API: AssumeRoleWithWebIdentity, version 2011-06-15, as POST
// with a form body or GET with query parameters, unsigned as AWS accepts it. Answers are AWS's
// XML shapes with AWS's HTTP status per code and an x-amzn-RequestId header. It is safe for
// concurrent use. Build it with NewHandler.
//
// Not done here: request signing (AssumeRoleWithWebIdentity is unsigned), TLS, server
// timeouts and header size limits (set them on the http.Server), and trusting
// X-Forwarded-For: aws:SourceIp is the TCP peer's address.
type Handler struct {
	verifier Decider
	issuer   CredentialIssuer
	roleIDs  RoleIDs
	// explicitIDs: Options.RoleIDs was set, and wins over the verifier's RoleID.
	explicitIDs bool
	observer    Observer
	log         *slog.Logger
	maxBody     int64
	timeout     time.Duration
	forward     func(action string) http.Handler
}

var _ http.Handler = (*Handler)(nil)

// NewHandler validates opts and returns a Handler. It fails without a Verifier or an Issuer,
// and on negative limits.
func NewHandler(opts Options) (*Handler, error) {
	switch {
	case opts.Verifier == nil:
		return nil, errors.New("stsapi: Options.Verifier is required")
	case opts.Issuer == nil:
		return nil, errors.New("stsapi: Options.Issuer is required (LocalIssuer for local testing)")
	case opts.MaxBodyBytes < 0 || opts.DecisionTimeout < 0:
		return nil, errors.New("stsapi: negative MaxBodyBytes or DecisionTimeout")
	}
	h := &Handler{
		verifier: opts.Verifier, issuer: opts.Issuer, roleIDs: opts.RoleIDs, observer: opts.Observer,
		log: opts.Logger, maxBody: opts.MaxBodyBytes, timeout: opts.DecisionTimeout,
		forward: opts.Forward,
	}
	h.explicitIDs = h.roleIDs != nil
	if h.roleIDs == nil {
		h.roleIDs = derivedRoleIDs{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.timeout == 0 {
		h.timeout = DefaultDecisionTimeout
	}
	return h, nil
}

// stsError is an answer other than success: the code and message the caller sees, and for
// logs and the observer the reason and the parameter it is about (already rendered by
// paramName).
type stsError struct {
	code    string
	message string
	reason  string
	param   string
}

// answered is the stsError of an answer with credentials: no code, no reason.
var answered stsError

var errInternal = &stsError{code: CodeInternalFailure, message: "Internal failure.", reason: ReasonInternal}

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header()[headerRequestID] = []string{id}
	l := requestLog{log: h.log, id: id, sourceIP: peerIP(r.RemoteAddr)}

	var f form
	if perr := h.readParams(w, r, &f); perr != nil {
		if perr.reason == ReasonRepeatedParameter {
			l.setRole(&f) // the parameters parsed: the log line names the role asked for
		}
		h.fail(w, r, &l, perr, nil, nil, start)
		return
	}
	if h.forward != nil {
		if a := f.get(pAction); a != Action {
			if fh := h.forward(a); fh != nil {
				r.Body = io.NopCloser(strings.NewReader(f.body))
				r.ContentLength = int64(len(f.body))
				delete(w.Header(), headerRequestID) // the other handler names the request
				fh.ServeHTTP(w, r)
				return
			}
		}
	}
	l.setRole(&f)
	req, policyDoc, policyARNs, perr := decodeAssume(&f)
	if perr != nil {
		h.fail(w, r, &l, perr, nil, nil, start)
		return
	}
	req.SourceIP = l.sourceIP
	l.session, l.hasSession = req.RoleSessionName, true

	ctx := newDecisionContext(r.Context(), start, h.timeout)
	defer ctx.release()
	res, err := h.verifier.AssumeRoleWithWebIdentity(ctx, req)
	if err != nil {
		var verr *verifier.Error
		if !errors.As(err, &verr) {
			// The verifier documents only *Error; anything else is a bug worth a 500.
			if l.enabled(slog.LevelError) {
				l.emit(slog.LevelError, "verifier returned an untyped error", slog.String("err", err.Error()))
			}
			h.fail(w, r, &l, errInternal, nil, nil, start)
			return
		}
		h.fail(w, r, &l, &stsError{code: string(verr.Code), message: verr.Message, reason: verr.Reason.String(),
			param: verifierParams[verr.Reason]}, err, res, start)
		return
	}

	roleID, err := res.RoleID, error(nil)
	if roleID == "" || h.explicitIDs {
		roleID, err = h.roleIDs.RoleID(ctx, res.RoleARN)
	}
	if err != nil {
		if l.enabled(slog.LevelError) {
			l.emit(slog.LevelError, "no RoleId for the allowed role", slog.String("err", err.Error()))
		}
		h.fail(w, r, &l, errInternal, nil, res, start)
		return
	}
	user, ok := assumedRoleUser(res.RoleARN, roleID, res.RoleSessionName)
	if !ok {
		if l.enabled(slog.LevelError) {
			l.emit(slog.LevelError, "the allowed role's ARN is not arn:PARTITION:iam::ACCOUNT:role/NAME, or its RoleId is empty")
		}
		h.fail(w, r, &l, errInternal, nil, res, start)
		return
	}
	creds, err := h.issuer.Issue(ctx, &IssueRequest{
		RequestID: id, Result: res, RoleID: roleID, AssumedRoleUser: user, Policy: policyDoc, PolicyARNs: policyARNs,
	})
	if err == nil && creds == nil {
		err = errors.New("stsapi: the credential issuer returned no credentials and no error")
	}
	if err != nil {
		if l.enabled(slog.LevelError) {
			l.emit(slog.LevelError, "credential issuer failed", slog.String("err", err.Error()))
		}
		h.fail(w, r, &l, errInternal, nil, res, start)
		return
	}
	buf := getBuffer()
	*buf = appendAssumeResponse((*buf)[:0], id, res, &user, creds)
	writeAnswer(w, http.StatusOK, *buf)
	putBuffer(buf)
	h.responded(r, id, &answered, http.StatusOK, start)
	if l.enabled(slog.LevelInfo) {
		attrs := l.attrs(numDecisionAttrs + 4)
		attrs = appendDecisionAttrs(attrs, res)
		attrs = append(attrs, slog.String("code", "OK"), slog.String("access_key_id", creds.AccessKeyID),
			slog.String("expiration", creds.Expiration.UTC().Format(time.RFC3339)),
			slog.String("duration", readable(time.Since(start))))
		l.log.LogAttrs(context.Background(), slog.LevelInfo, "sts decision", attrs...)
	}
}

// headerRequestID is x-amzn-RequestId in the canonical form http.Header.Set would store.
const headerRequestID = "X-Amzn-Requestid"

// peerIP is the host of a RemoteAddr, or "" when it has none.
func peerIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return ""
}

// answeredProvider is the Provider of an answer. Real STS answers the provider's IAM ARN
// (arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH) for a provider registered in IAM, and the
// provider's domain for the well-known issuers that need no registration; that is the trust
// policy's Federated principal, Result.ProviderPrincipal. (The STS API reference says "the
// value of the iss field"; the service answers the ARN, and clients see that.) A Result
// built without it (by a Decider other than *verifier.Verifier) answers the issuer URL.
func answeredProvider(res *verifier.Result) string {
	if res.ProviderPrincipal != "" {
		return res.ProviderPrincipal
	}
	return res.Provider
}

// responded reports an answer to the observer.
func (h *Handler) responded(r *http.Request, id string, e *stsError, status int, start time.Time) {
	if h.observer != nil {
		h.observer.Responded(r.Context(), ResponseEvent{
			RequestID: id, Code: e.code, Reason: e.reason, Parameter: e.param, Status: status, Duration: time.Since(start),
		})
	}
}

// requestLog is the log of one request: the attributes every line of it carries (request id,
// source IP, and once known the role ARN and session name), added only when a line is
// written. Callers check enabled before they build a line's attributes, so that a disabled
// or discarding logger costs no allocation.
type requestLog struct {
	log                 *slog.Logger
	id, sourceIP        string
	roleARN, session    string
	hasRole, hasSession bool
}

// setRole records the RoleArn parameter, if given.
func (l *requestLog) setRole(f *form) {
	if f.has(pRoleArn) {
		l.roleARN, l.hasRole = f.get(pRoleArn), true
	}
}

// enabled reports whether a line at level would be written.
func (l *requestLog) enabled(level slog.Level) bool {
	return l.log.Enabled(context.Background(), level)
}

// attrs returns the request's attributes, with room for n more: the start of a line.
func (l *requestLog) attrs(n int) []slog.Attr {
	a := make([]slog.Attr, 0, 4+n)
	a = append(a, slog.String("request_id", l.id), slog.String("source_ip", l.sourceIP))
	if l.hasRole {
		a = append(a, slog.String("role_arn", clip(l.roleARN)))
	}
	if l.hasSession {
		a = append(a, slog.String("session_name", clip(l.session)))
	}
	return a
}

// emit writes one line: the request's attributes, then attrs.
func (l *requestLog) emit(level slog.Level, msg string, attrs ...slog.Attr) {
	l.log.LogAttrs(context.Background(), level, msg, append(l.attrs(len(attrs)), attrs...)...)
}

// clip bounds a request value before it is logged.
func clip(s string) string {
	const limit = 256
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

// readable renders a latency for logs the way people read it ("1.234ms"), to the
// microsecond.
func readable(d time.Duration) string { return d.Round(time.Microsecond).String() }

// numDecisionAttrs is how many attributes appendDecisionAttrs adds.
const numDecisionAttrs = 7

// appendDecisionAttrs appends the log attributes of a verified result. Everything in it was
// verified or is the request's own; nothing comes from an unverified token.
func appendDecisionAttrs(attrs []slog.Attr, res *verifier.Result) []slog.Attr {
	return append(attrs,
		slog.String("provider", answeredProvider(res)), slog.String("subject", res.Subject),
		slog.String("audience", res.Audience), slog.String("effect", res.Decision.Effect.String()),
		slog.Int("statement", res.Decision.Statement), slog.String("sid", res.Decision.Sid),
		slog.String("decision", res.Decision.Reason))
}

// fail answers with an ErrorResponse, reports it and logs the outcome: the cause (an error
// for the log only) and the verified result if there is one, code, reason and the parameter
// it is about, besides the request id, source IP and role ARN that l carries.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, l *requestLog, e *stsError, cause error, res *verifier.Result, start time.Time) {
	status := HTTPStatus(e.code)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	if e.code == CodeMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST")
	}
	buf := getBuffer()
	*buf = appendErrorResponse((*buf)[:0], typ, e.code, e.message, l.id)
	writeAnswer(w, status, *buf)
	putBuffer(buf)
	h.responded(r, l.id, e, status, start)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if !l.enabled(level) {
		return
	}
	attrs := l.attrs(1 + numDecisionAttrs + 5)
	if cause != nil {
		attrs = append(attrs, slog.String("err", cause.Error()))
	}
	if res != nil {
		attrs = appendDecisionAttrs(attrs, res)
	}
	attrs = append(attrs, slog.String("code", e.code), slog.String("reason", e.reason))
	if e.param != "" {
		attrs = append(attrs, slog.String("parameter", e.param))
	}
	attrs = append(attrs, slog.Int("status", status), slog.String("duration", readable(time.Since(start))))
	l.log.LogAttrs(context.Background(), level, "sts decision", attrs...)
}

// formContentType is the one media type of a form body.
const formContentType = "application/x-www-form-urlencoded"

// readParams collects the Query API parameters into f from the query string and, for a POST
// with a form body, from the body. A parameter given twice (in either place, or in both) is
// refused: which copy wins differs between parsers, and a request must mean one thing. f
// holds the parameters with that refusal too, for the log line; after any other refusal it
// is not to be used.
func (h *Handler) readParams(w http.ResponseWriter, r *http.Request, f *form) *stsError {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return &stsError{code: CodeMethodNotAllowed, message: "Use GET or POST.", reason: ReasonMethod}
	}
	if !f.parse(r.URL.RawQuery) {
		return malformed("The query string is malformed.")
	}
	if r.Method == http.MethodPost {
		body, err := h.readBody(w, r)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return &stsError{code: CodeRequestEntityTooLarge, message: "The request body is too large.", reason: ReasonBodyTooLarge}
			}
			return malformed("The request body could not be read.")
		}
		f.body = body
		if strings.TrimSpace(body) != "" {
			if !isFormContentType(r.Header.Get("Content-Type")) {
				return malformed("The body must be application/x-www-form-urlencoded.")
			}
			if !f.parse(body) {
				return malformed("The request body is malformed.")
			}
		}
	}
	if name := f.firstRepeated(); name != "" {
		return paramError(ReasonRepeatedParameter, name, paramMessage(name,
			"The parameter %p was given more than once.", "A parameter was given more than once."))
	}
	return nil
}

// malformed is a MalformedQueryString refusal.
func malformed(msg string) *stsError {
	return &stsError{code: CodeMalformedQueryString, message: msg, reason: ReasonMalformed}
}

// isFormContentType reports whether a Content-Type is the form media type, parameters
// aside, as mime.ParseMediaType reads it; the forms the SDKs send are matched without
// parsing.
func isFormContentType(ct string) bool {
	switch ct {
	case formContentType, formContentType + "; charset=utf-8", formContentType + "; charset=UTF-8":
		return true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == formContentType
}

// Body buffers are pooled; one that grew beyond maxPooledBody is left to the collector.
const maxPooledBody = 16 << 10

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// readBody reads the whole body, at most h.maxBody bytes (more is an *http.MaxBytesError,
// and the server closes the connection after the answer), into one string.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (string, error) {
	rd := http.MaxBytesReader(w, r.Body, h.maxBody)
	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	var err error
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		var n int
		n, err = rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			break
		}
	}
	s := string(b)
	if cap(b) <= maxPooledBody {
		*bp = b
		bodyPool.Put(bp)
	}
	if err == io.EOF {
		err = nil
	}
	return s, err
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// decodeAssume checks Action and Version and builds the verifier request from the
// AssumeRoleWithWebIdentity parameters, checking what the verifier does not: unknown and
// missing parameters, DurationSeconds syntax, session policies. Every refusal names its
// parameter.
func decodeAssume(f *form) (req *verifier.Request, policyDoc string, policyARNs []string, e *stsError) {
	action := f.get(pAction)
	if action == "" {
		return nil, "", nil, &stsError{code: CodeMissingAction, message: "The request must contain the parameter Action.",
			reason: ReasonMissingAction, param: "Action"}
	}
	if version := f.get(pVersion); action != Action || version != Version {
		// AWS's wording; the names are echoed only when they are plain identifiers.
		msg := "Could not find operation for this version."
		if identRE.MatchString(action) && identRE.MatchString(version) {
			msg = "Could not find operation " + action + " for version " + version
		}
		param := "Action"
		if action == Action {
			param = "Version"
		}
		return nil, "", nil, &stsError{code: CodeInvalidAction, message: msg, reason: ReasonUnknownAction, param: param}
	}
	if f.get(pPolicyArns) != "" { // PolicyArns alone is an empty list
		return nil, "", nil, paramError(ReasonInvalidParameter, "PolicyArns", "PolicyArns must be given as PolicyArns.member.N.arn.")
	}
	var arns map[int]string
	unknown := ""
	for k, vs := range f.other {
		n := policyARNIndex(k)
		if n == 0 {
			if unknown == "" || k < unknown {
				unknown = k // the smallest, so that the answer does not depend on map order
			}
			continue
		}
		if arns == nil {
			arns = make(map[int]string)
		}
		arns[n] = vs[0]
	}
	if unknown != "" {
		return nil, "", nil, paramError(ReasonUnknownParameter, unknown, paramMessage(unknown,
			"%p is not a parameter of AssumeRoleWithWebIdentity.",
			"The request has a parameter that AssumeRoleWithWebIdentity does not take."))
	}
	for _, p := range requiredParams {
		if !f.has(p) {
			// AWS's wording for a missing required member.
			return nil, "", nil, paramError(ReasonMissingParameter, paramNames[p],
				"1 validation error detected: Value null at '"+awsMemberName(paramNames[p])+"' failed to satisfy constraint: Member must not be null")
		}
	}
	req = &verifier.Request{
		RoleARN:          f.get(pRoleArn),
		RoleSessionName:  f.get(pRoleSessionName),
		WebIdentityToken: f.get(pWebIdentityToken),
		ProviderID:       f.get(pProviderID),
	}
	if f.has(pDurationSeconds) {
		s := f.get(pDurationSeconds)
		d, err := strconv.Atoi(s)
		if err != nil || strings.HasPrefix(s, "+") {
			return nil, "", nil, paramError(ReasonInvalidParameter, "DurationSeconds", "DurationSeconds must be an integer.")
		}
		if d < 900 {
			// The verifier reads 0 as "not given" (the default hour); an explicit value must
			// meet STS's minimum, so 0, -0 and negatives are refused here.
			return nil, "", nil, paramError(ReasonInvalidParameter, "DurationSeconds", "DurationSeconds must be at least 900.")
		}
		req.DurationSeconds = d
	}
	if f.has(pPolicy) {
		policyDoc = f.get(pPolicy)
		if len(policyDoc) < 1 || len(policyDoc) > maxSessionPolicy {
			return nil, "", nil, paramError(ReasonInvalidParameter, "Policy", "Policy must be 1 to 2048 characters.")
		}
		if !json.Valid([]byte(policyDoc)) {
			return nil, "", nil, &stsError{code: CodeMalformedPolicyDocument, message: "The session policy is not valid JSON.",
				reason: ReasonInvalidParameter, param: "Policy"}
		}
	}
	if len(arns) > maxPolicyARNs {
		return nil, "", nil, paramError(ReasonInvalidParameter, "PolicyArns", "At most 10 PolicyArns are allowed.")
	}
	for i := 1; i <= len(arns); i++ {
		name := "PolicyArns.member." + strconv.Itoa(i) + ".arn"
		a, ok := arns[i]
		if !ok {
			return nil, "", nil, paramError(ReasonInvalidParameter, name, name+" is missing: PolicyArns members must be numbered from 1 without gaps.")
		}
		if len(a) < 20 || len(a) > 2048 || !strings.HasPrefix(a, "arn:") {
			return nil, "", nil, paramError(ReasonInvalidParameter, name, name+" is not a policy ARN.")
		}
		policyARNs = append(policyARNs, a)
	}
	return req, policyDoc, policyARNs, nil
}

// newRequestID returns a random UUID (version 4), the shape of AWS request ids.
func newRequestID() string { return awsid.RequestID() }
