package iamapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/awsid"
)

// Handler serves the AWS IAM Query API (version 2010-05-08) for OpenID Connect providers and
// roles over an iam.Registry: the actions in the package documentation's table, as POST with
// a form body (what the SDKs, botocore and the CLI send) or GET with a query string.
//
// Every request is authenticated first, by an Authenticator built from the same Options: what
// needs no body (the Authorization header, the date and scope, the access key) is checked
// before the body is read, so an unsigned or unknown caller never makes the server read a
// body; the signature is then checked over the body (at most Options.MaxBodyBytes). A refusal
// answers AWS's ErrorResponse with the AuthError's code and status and changes nothing. The request then acts on the account
// (and partition) of the admin credential that signed it, as IAM acts on the caller's own
// account: it names roles by RoleName within that account and providers by ARNs that must
// be that account's (another account's ARN is AccessDenied).
//
// Each request logs one line, "iam request", at Info (Error for a 5xx answer) with
// request_id, action, code ("OK" on success), status, access_key_id, account, partition,
// entity (the role or provider ARN concerned), reason and parameter for refusals, remote and
// duration. Never a secret, a signature, or a policy document.
//
// A Handler is safe for concurrent use. Build it with NewHandler. Not done here: TLS, server
// timeouts and header size limits (set them on the http.Server), and permissions: every admin
// key may do every action on its account.
type Handler struct {
	auth    *Authenticator
	reg     *iam.Registry
	log     *slog.Logger
	maxBody int64
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a Handler for opts. It fails without a Registry, when Credentials do not
// implement AdminCredentials, when a StaticAdmins entry is unusable (no secret, an account that
// is not 12 digits, an unknown partition), and on what NewAuthenticator refuses.
func NewHandler(opts Options) (*Handler, error) {
	if opts.Registry == nil {
		return nil, errors.New("iamapi: Options.Registry is required")
	}
	if opts.MaxBodyBytes < 0 {
		return nil, errors.New("iamapi: Options.MaxBodyBytes is negative")
	}
	if _, ok := opts.Credentials.(AdminCredentials); !ok {
		return nil, errors.New("iamapi: Options.Credentials must implement AdminCredentials (such as StaticAdmins), which say each key's account")
	}
	if s, ok := opts.Credentials.(StaticAdmins); ok {
		for id, a := range s {
			if err := checkAdmin(a); err != nil {
				return nil, fmt.Errorf("iamapi: StaticAdmins[%q]: %w", id, err)
			}
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The Handler logs refusals in its own per-request line; the Authenticator stays quiet.
	opts.Logger = slog.New(slog.DiscardHandler)
	a, err := NewAuthenticator(opts)
	if err != nil {
		return nil, err
	}
	h := &Handler{auth: a, reg: opts.Registry, log: log, maxBody: opts.MaxBodyBytes}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	return h, nil
}

func checkAdmin(a Admin) error {
	p := a.Partition
	if p == "" {
		p = "aws"
	}
	switch {
	case a.SecretAccessKey == "":
		return errors.New("no SecretAccessKey")
	case !iam.ValidAccount(a.Account):
		return fmt.Errorf("the Account %q is not 12 digits", a.Account)
	case !iam.ValidPartition(p):
		return fmt.Errorf("unknown Partition %q", a.Partition)
	}
	return nil
}

// apiError is an answer other than success: the code and message the caller sees, and for the
// log the reason, the parameter it is about (rendered by paramName) and the cause.
type apiError struct {
	code    string
	message string
	reason  Reason
	param   string
	cause   error
}

// request is one request in flight: what its log line reports.
type request struct {
	id        string
	start     time.Time
	remote    string
	action    string
	akid      string
	principal *Principal
	entity    string
}

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := &request{id: newRequestID(), start: time.Now(), remote: r.RemoteAddr}
	w.Header().Set("x-amzn-RequestId", rq.id)

	// What needs no body is checked first: an unsigned request, an unknown key or a stale
	// date is refused without reading a body that may be large.
	pre, akid, ae := h.auth.precheck(r)
	rq.akid = akid
	if ae != nil {
		h.fail(w, rq, &apiError{code: ae.Code, message: ae.Message, reason: ae.Reason})
		return
	}
	body, e := h.readBody(w, r)
	if e != nil {
		h.fail(w, rq, e)
		return
	}
	p, _, ae := h.auth.verify(r, pre, body)
	if ae != nil {
		h.fail(w, rq, &apiError{code: ae.Code, message: ae.Message, reason: ae.Reason})
		return
	}
	rq.principal = p
	if !iam.ValidAccount(p.Account) || !iam.ValidPartition(p.Partition) {
		// AdminCredentials other than StaticAdmins are checked here, per request.
		h.fail(w, rq, &apiError{code: CodeInvalidClientTokenId, reason: ReasonInvalidAdmin,
			message: "The security token included in the request is invalid.",
			cause:   fmt.Errorf("iamapi: the admin credential names account %q in partition %q", clip(p.Account), clip(p.Partition))})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		h.fail(w, rq, &apiError{code: CodeMethodNotAllowed, message: "Use GET or POST.", reason: ReasonMethod})
		return
	}
	params, e := formParams(r, body)
	if e != nil {
		h.fail(w, rq, e)
		return
	}
	action := params.Get("Action")
	rq.action = paramName(action)
	if _, ok := params["Action"]; !ok {
		h.fail(w, rq, &apiError{code: CodeMissingAction, message: "The request must contain the parameter Action.",
			reason: ReasonMissingAction, param: "Action"})
		return
	}
	spec, known := actions[action]
	if version := params.Get("Version"); !known || version != Version {
		msg := "Could not find operation for this version."
		if plainParamRE.MatchString(action) && plainParamRE.MatchString(version) {
			msg = "Could not find operation " + action + " for version " + version
		}
		param := "Action"
		if known {
			param = "Version"
		}
		h.fail(w, rq, &apiError{code: CodeInvalidAction, message: msg, reason: ReasonUnknownAction, param: param})
		return
	}
	args, e := parseArgs(action, spec, params)
	if e != nil {
		h.fail(w, rq, e)
		return
	}
	c := &call{h: h, rq: rq, p: p, args: args, action: action}
	result, e := spec.run(c)
	if e != nil {
		h.fail(w, rq, e)
		return
	}
	out, err := responseBody(action, rq.id, result)
	if err != nil {
		h.fail(w, rq, &apiError{code: string(iam.CodeServiceFailure), message: serviceFailureMessage, reason: ReasonRegistry, cause: err})
		return
	}
	// The line is logged before the answer is sent, so that it exists when the client has
	// the answer.
	h.logRequest(rq, "OK", http.StatusOK, nil)
	send(w, http.StatusOK, out)
}

// readBody reads the whole body with the size limit, before anything else: Authenticate
// hashes it.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > h.maxBody {
		return nil, &apiError{code: CodeRequestEntityTooLarge, message: "The request body is too large.", reason: ReasonBodyTooLarge}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{code: CodeRequestEntityTooLarge, message: "The request body is too large.", reason: ReasonBodyTooLarge}
		}
		return nil, &apiError{code: CodeMalformedQueryString, message: "The request body could not be read.", reason: ReasonMalformedBody, cause: err}
	}
	return body, nil
}

// formParams collects the Query API parameters from the query string and, for a POST with a
// form body, from the body. The Authenticator has refused a query string that does not parse.
// A parameter given twice (in either place or both) is refused with InvalidInput naming it:
// IAM documents nothing for it, which copy wins differs between parsers, and a request must
// mean one thing.
func formParams(r *http.Request, body []byte) (url.Values, *apiError) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &apiError{code: CodeMalformedQueryString, message: "The query string is malformed.", reason: ReasonMalformedBody}
	}
	if r.Method == http.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/x-www-form-urlencoded" {
			return nil, &apiError{code: CodeMalformedQueryString, message: "The body must be application/x-www-form-urlencoded.", reason: ReasonMalformedBody}
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &apiError{code: CodeMalformedQueryString, message: "The request body is malformed.", reason: ReasonMalformedBody}
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	if name := firstRepeated(params); name != "" {
		return nil, invalidInput(ReasonRepeatedParameter, name, paramMessage(name,
			"The parameter %p was given more than once.", "A parameter was given more than once."))
	}
	return params, nil
}

// fail logs the request and answers with an ErrorResponse.
func (h *Handler) fail(w http.ResponseWriter, rq *request, e *apiError) {
	status := HTTPStatus(e.code)
	h.logRequest(rq, e.code, status, e)
	send(w, status, errorBody(status, e.code, e.message, rq.id))
}

// logRequest writes the request's one log line.
func (h *Handler) logRequest(rq *request, code string, status int, e *apiError) {
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs, slog.String("request_id", rq.id))
	if rq.action != "" {
		attrs = append(attrs, slog.String("action", rq.action))
	}
	attrs = append(attrs, slog.String("code", code), slog.Int("status", status))
	if rq.akid != "" {
		attrs = append(attrs, slog.String("access_key_id", rq.akid))
	}
	if rq.principal != nil {
		attrs = append(attrs, slog.String("account", clip(rq.principal.Account)), slog.String("partition", clip(rq.principal.Partition)))
	}
	if rq.entity != "" {
		attrs = append(attrs, slog.String("entity", clip(rq.entity)))
	}
	level := slog.LevelInfo
	if e != nil {
		attrs = append(attrs, slog.String("reason", string(e.reason)))
		if e.param != "" {
			attrs = append(attrs, slog.String("parameter", e.param))
		}
		if status >= 500 {
			level = slog.LevelError
			if e.cause != nil {
				attrs = append(attrs, slog.String("err", e.cause.Error()))
			}
		}
	}
	attrs = append(attrs, slog.String("remote", rq.remote),
		slog.String("duration", time.Since(rq.start).Round(time.Microsecond).String()))
	h.log.LogAttrs(context.Background(), level, "iam request", attrs...)
}

// clip bounds a value before it is logged.
func clip(s string) string {
	const limit = 256
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

// newRequestID returns a random UUID (version 4), the shape of AWS request ids.
func newRequestID() string { return awsid.RequestID() }

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
