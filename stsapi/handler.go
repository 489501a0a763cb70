package stsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

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
	w.Header().Set("x-amzn-RequestId", id)
	sourceIP := ""
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	params, perr := h.readParams(w, r)
	var log *slog.Logger
	if arn := params["RoleArn"]; len(arn) > 0 {
		log = h.log.With("request_id", id, "source_ip", sourceIP, "role_arn", clip(arn[0]))
	} else {
		log = h.log.With("request_id", id, "source_ip", sourceIP)
	}
	if perr != nil {
		h.fail(w, r, log, id, perr, nil, start)
		return
	}
	action := params.Get("Action")
	if action == "" {
		h.fail(w, r, log, id, &stsError{code: CodeMissingAction, message: "The request must contain the parameter Action.",
			reason: ReasonMissingAction, param: "Action"}, nil, start)
		return
	}
	if version := params.Get("Version"); action != Action || version != Version {
		// AWS's wording; the names are echoed only when they are plain identifiers.
		msg := "Could not find operation for this version."
		if identRE.MatchString(action) && identRE.MatchString(version) {
			msg = "Could not find operation " + action + " for version " + version
		}
		param := "Action"
		if action == Action {
			param = "Version"
		}
		h.fail(w, r, log, id, &stsError{code: CodeInvalidAction, message: msg, reason: ReasonUnknownAction, param: param}, nil, start)
		return
	}
	req, policyDoc, policyARNs, perr := parseAssumeParams(params)
	if perr != nil {
		h.fail(w, r, log, id, perr, nil, start)
		return
	}
	req.SourceIP = sourceIP
	log = log.With("session_name", clip(req.RoleSessionName))

	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	res, err := h.verifier.AssumeRoleWithWebIdentity(ctx, req)
	if err != nil {
		var verr *verifier.Error
		if !errors.As(err, &verr) {
			// The verifier documents only *Error; anything else is a bug worth a 500.
			log.Error("verifier returned an untyped error", "err", err)
			h.fail(w, r, log, id, errInternal, nil, start)
			return
		}
		attrs := []any{"err", err.Error()}
		if res != nil {
			attrs = append(attrs, decisionAttrs(res)...)
		}
		h.fail(w, r, log, id, &stsError{code: string(verr.Code), message: verr.Message, reason: verr.Reason.String(),
			param: verifierParams[verr.Reason]}, attrs, start)
		return
	}

	roleID, err := res.RoleID, error(nil)
	if roleID == "" || h.explicitIDs {
		roleID, err = h.roleIDs.RoleID(ctx, res.RoleARN)
	}
	if err != nil {
		log.Error("no RoleId for the allowed role", "err", err.Error())
		h.fail(w, r, log, id, errInternal, decisionAttrs(res), start)
		return
	}
	user, ok := assumedRoleUser(res.RoleARN, roleID, res.RoleSessionName)
	if !ok {
		log.Error("the allowed role's ARN is not arn:PARTITION:iam::ACCOUNT:role/NAME, or its RoleId is empty")
		h.fail(w, r, log, id, errInternal, decisionAttrs(res), start)
		return
	}
	creds, err := h.issuer.Issue(ctx, &IssueRequest{
		RequestID: id, Result: res, RoleID: roleID, AssumedRoleUser: user, Policy: policyDoc, PolicyARNs: policyARNs,
	})
	if err == nil && creds == nil {
		err = errors.New("stsapi: the credential issuer returned no credentials and no error")
	}
	if err != nil {
		log.Error("credential issuer failed", "err", err.Error())
		h.fail(w, r, log, id, errInternal, decisionAttrs(res), start)
		return
	}
	out := assumeResponse{
		Result: assumeResult{
			SubjectFromWebIdentityToken: res.Subject,
			Audience:                    res.Audience,
			AssumedRoleUser:             assumedRoleUserXML{Arn: user.ARN, AssumedRoleID: user.ID},
			Credentials: credentialsXML{
				SessionToken:    creds.SessionToken,
				SecretAccessKey: creds.SecretAccessKey,
				Expiration:      creds.Expiration.UTC().Format(time.RFC3339),
				AccessKeyID:     creds.AccessKeyID,
			},
			SourceIdentity: res.SourceIdentity,
			Provider:       answeredProvider(res),
		},
		RequestID: id,
	}
	writeXML(w, http.StatusOK, &out)
	h.responded(r, id, &answered, http.StatusOK, start)
	log.Info("sts decision", append(decisionAttrs(res),
		"code", "OK", "access_key_id", creds.AccessKeyID, "expiration", out.Result.Credentials.Expiration,
		"duration", readable(time.Since(start)))...)
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

// decisionAttrs are the log attributes of a verified result. Everything in it was verified
// or is the request's own; nothing comes from an unverified token.
func decisionAttrs(res *verifier.Result) []any {
	return []any{
		"provider", answeredProvider(res), "subject", res.Subject, "audience", res.Audience,
		"effect", res.Decision.Effect.String(), "statement", res.Decision.Statement,
		"sid", res.Decision.Sid, "decision", res.Decision.Reason,
	}
}

// fail answers with an ErrorResponse, reports it and logs the outcome: code, reason and the
// parameter it is about, besides the request id, source IP and role ARN that log carries.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, id string, e *stsError, attrs []any, start time.Time) {
	status := HTTPStatus(e.code)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	if e.code == CodeMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST")
	}
	writeXML(w, status, &errorResponse{
		Error:     errorXML{Type: typ, Code: e.code, Message: e.message},
		RequestID: id,
	})
	h.responded(r, id, e, status, start)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs = append(attrs, "code", e.code, "reason", e.reason)
	if e.param != "" {
		attrs = append(attrs, "parameter", e.param)
	}
	log.Log(context.Background(), level, "sts decision",
		append(attrs, "status", status, "duration", readable(time.Since(start)))...)
}

// readParams collects the Query API parameters from the query string and, for a POST with a
// form body, from the body. A parameter given twice (in either place, or in both) is refused:
// which copy wins differs between parsers, and a request must mean one thing. Params are
// returned with that refusal too, for the log line.
func (h *Handler) readParams(w http.ResponseWriter, r *http.Request) (url.Values, *stsError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, &stsError{code: CodeMethodNotAllowed, message: "Use GET or POST.", reason: ReasonMethod}
	}
	malformed := func(msg string) *stsError {
		return &stsError{code: CodeMalformedQueryString, message: msg, reason: ReasonMalformed}
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, malformed("The query string is malformed.")
	}
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &stsError{code: CodeRequestEntityTooLarge, message: "The request body is too large.", reason: ReasonBodyTooLarge}
			}
			return nil, malformed("The request body could not be read.")
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if ct != "application/x-www-form-urlencoded" {
				return nil, malformed("The body must be application/x-www-form-urlencoded.")
			}
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, malformed("The request body is malformed.")
			}
			for k, vs := range form {
				params[k] = append(params[k], vs...)
			}
		}
	}
	if name := firstRepeated(params); name != "" {
		return params, paramError(ReasonRepeatedParameter, name, paramMessage(name,
			"The parameter %p was given more than once.", "A parameter was given more than once."))
	}
	return params, nil
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

var policyARNParam = regexp.MustCompile(`^PolicyArns\.member\.([1-9][0-9]?)\.arn$`)

// parseAssumeParams builds the verifier request from the AssumeRoleWithWebIdentity
// parameters and checks what the verifier does not: unknown and missing parameters,
// DurationSeconds syntax, session policies. Every refusal names its parameter.
func parseAssumeParams(p url.Values) (req *verifier.Request, policyDoc string, policyARNs []string, e *stsError) {
	arns := map[int]string{}
	unknown := ""
	for k := range p {
		switch k {
		case "Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken", "ProviderId",
			"DurationSeconds", "Policy":
		case "PolicyArns": // an empty list
			if p.Get(k) != "" {
				return nil, "", nil, paramError(ReasonInvalidParameter, k, "PolicyArns must be given as PolicyArns.member.N.arn.")
			}
		default:
			m := policyARNParam.FindStringSubmatch(k)
			if m == nil {
				if unknown == "" || k < unknown {
					unknown = k // the smallest, so that the answer does not depend on map order
				}
				continue
			}
			n, _ := strconv.Atoi(m[1])
			arns[n] = p.Get(k)
		}
	}
	if unknown != "" {
		return nil, "", nil, paramError(ReasonUnknownParameter, unknown, paramMessage(unknown,
			"%p is not a parameter of AssumeRoleWithWebIdentity.",
			"The request has a parameter that AssumeRoleWithWebIdentity does not take."))
	}
	for _, name := range requiredParams {
		if _, ok := p[name]; !ok {
			// AWS's wording for a missing required member.
			return nil, "", nil, paramError(ReasonMissingParameter, name,
				"1 validation error detected: Value null at '"+awsMemberName(name)+"' failed to satisfy constraint: Member must not be null")
		}
	}
	req = &verifier.Request{
		RoleARN:          p.Get("RoleArn"),
		RoleSessionName:  p.Get("RoleSessionName"),
		WebIdentityToken: p.Get("WebIdentityToken"),
		ProviderID:       p.Get("ProviderId"),
	}
	if _, ok := p["DurationSeconds"]; ok {
		d, err := strconv.Atoi(p.Get("DurationSeconds"))
		if err != nil || strings.HasPrefix(p.Get("DurationSeconds"), "+") {
			return nil, "", nil, paramError(ReasonInvalidParameter, "DurationSeconds", "DurationSeconds must be an integer.")
		}
		if d < 900 {
			// The verifier reads 0 as "not given" (the default hour); an explicit value must
			// meet STS's minimum, so 0, -0 and negatives are refused here.
			return nil, "", nil, paramError(ReasonInvalidParameter, "DurationSeconds", "DurationSeconds must be at least 900.")
		}
		req.DurationSeconds = d
	}
	if _, ok := p["Policy"]; ok {
		policyDoc = p.Get("Policy")
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
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
