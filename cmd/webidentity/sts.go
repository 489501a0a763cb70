package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
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

// The STS Query API this endpoint speaks.
const (
	stsVersion   = "2011-06-15"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	stsAction    = "AssumeRoleWithWebIdentity"
)

// Error codes the endpoint answers with besides the verifier's (verifier.Code).
const (
	codeMissingAction           = "MissingAction"           // no Action parameter
	codeInvalidAction           = "InvalidAction"           // unknown Action, or a Version other than 2011-06-15
	codeMalformedQueryString    = "MalformedQueryString"    // query string or form body does not parse
	codeMalformedPolicyDocument = "MalformedPolicyDocument" // session Policy is not JSON
	codeRequestEntityTooLarge   = "RequestEntityTooLarge"   // body over the limit
	codeMethodNotAllowed        = "MethodNotAllowed"        // neither GET nor POST
	codeInternalFailure         = "InternalFailure"         // the credential issuer failed
	codeOK                      = "OK"                      // metrics label for an allowed request
)

// stsStatus is the HTTP status of each error code, as AWS documents them for
// AssumeRoleWithWebIdentity and the common Query API errors.
var stsStatus = map[string]int{
	string(verifier.CodeInvalidIdentityToken):  http.StatusBadRequest,
	string(verifier.CodeExpiredToken):          http.StatusBadRequest,
	string(verifier.CodeIDPRejectedClaim):      http.StatusForbidden,
	string(verifier.CodeIDPCommunicationError): http.StatusBadRequest,
	string(verifier.CodeAccessDenied):          http.StatusForbidden,
	string(verifier.CodeValidationError):       http.StatusBadRequest,
	codeMalformedPolicyDocument:                http.StatusBadRequest,
	codeMissingAction:                          http.StatusBadRequest,
	codeInvalidAction:                          http.StatusBadRequest,
	codeMalformedQueryString:                   http.StatusNotFound,
	codeRequestEntityTooLarge:                  http.StatusRequestEntityTooLarge,
	codeMethodNotAllowed:                       http.StatusMethodNotAllowed,
	codeInternalFailure:                        http.StatusInternalServerError,
}

// statusOf returns the HTTP status for an error code (400 for an unknown one).
func statusOf(code string) int {
	if s, ok := stsStatus[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// Limits of the Query API parameters that the verifier does not check.
const (
	defaultMaxBodyBytes = 64 << 10
	maxSessionPolicy    = 2048
	maxPolicyARNs       = 10
	decisionTimeout     = 10 * time.Second
)

// stsHandler answers the STS Query API: AssumeRoleWithWebIdentity, version 2011-06-15, as
// POST with a form body or GET with query parameters, unsigned.
type stsHandler struct {
	verifier *verifier.Verifier
	roles    map[string]*RoleConfig
	issuer   CredentialIssuer
	metrics  *metrics // nil: no metrics
	log      *slog.Logger
	maxBody  int64
}

var _ http.Handler = (*stsHandler)(nil)

// stsError is an answer other than success.
type stsError struct {
	code    string
	message string
}

func (h *stsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("x-amzn-RequestId", id)
	log := h.log.With("request_id", id)

	params, perr := h.readParams(w, r)
	if perr != nil {
		h.fail(w, log, id, perr, nil, start)
		return
	}
	action := params.Get("Action")
	if action == "" {
		h.fail(w, log, id, &stsError{codeMissingAction, "The request must contain the parameter Action."}, nil, start)
		return
	}
	if version := params.Get("Version"); action != stsAction || version != stsVersion {
		// AWS's wording; the names are echoed only when they are plain identifiers.
		msg := "Could not find operation for this version."
		if identRE.MatchString(action) && identRE.MatchString(version) {
			msg = "Could not find operation " + action + " for version " + version
		}
		h.fail(w, log, id, &stsError{codeInvalidAction, msg}, nil, start)
		return
	}
	req, policyDoc, policyARNs, perr := parseAssumeParams(params)
	if perr != nil {
		h.fail(w, log, id, perr, nil, start)
		return
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		req.SourceIP = host
	}
	log = log.With("role_arn", clip(req.RoleARN), "session_name", clip(req.RoleSessionName), "source_ip", req.SourceIP)

	ctx, cancel := context.WithTimeout(r.Context(), decisionTimeout)
	defer cancel()
	decStart := time.Now()
	res, err := h.verifier.AssumeRoleWithWebIdentity(ctx, req)
	decDur := time.Since(decStart)
	if err != nil {
		var verr *verifier.Error
		if !errors.As(err, &verr) {
			// The verifier documents only *Error; anything else is a bug worth a 500.
			log.Error("verifier returned an untyped error", "err", err)
			h.metrics.decision(codeInternalFailure, "", decDur)
			h.fail(w, log, id, &stsError{codeInternalFailure, "Internal failure."}, nil, start)
			return
		}
		h.metrics.decision(string(verr.Code), verr.Reason.String(), decDur)
		attrs := []any{"reason", verr.Reason.String(), "err", err.Error()}
		if res != nil {
			attrs = append(attrs, decisionAttrs(res)...)
		}
		h.fail(w, log, id, &stsError{string(verr.Code), verr.Message}, attrs, start)
		return
	}
	h.metrics.decision(codeOK, "", decDur)

	rc := h.roles[res.RoleARN]
	if rc == nil { // the verifier found the role in the same configuration
		log.Error("allowed role missing from the role table")
		h.fail(w, log, id, &stsError{codeInternalFailure, "Internal failure."}, nil, start)
		return
	}
	creds, err := h.issuer.Issue(ctx, &IssueRequest{
		RequestID: id, Result: res, Role: rc, Policy: policyDoc, PolicyARNs: policyARNs,
	})
	if err != nil {
		log.Error("credential issuer failed", "err", err.Error())
		h.fail(w, log, id, &stsError{codeInternalFailure, "Internal failure."}, decisionAttrs(res), start)
		return
	}
	session := res.RoleSessionName
	out := assumeResponse{
		Result: assumeResult{
			SubjectFromWebIdentityToken: res.Subject,
			Audience:                    res.Audience,
			AssumedRoleUser: assumedRoleUser{
				Arn:           "arn:" + rc.Partition + ":sts::" + rc.Account + ":assumed-role/" + rc.Name + "/" + session,
				AssumedRoleID: rc.ID + ":" + session,
			},
			Credentials: credentialsXML{
				SessionToken:    creds.SessionToken,
				SecretAccessKey: creds.SecretAccessKey,
				Expiration:      creds.Expiration.UTC().Format(time.RFC3339),
				AccessKeyID:     creds.AccessKeyID,
			},
			SourceIdentity: res.SourceIdentity,
			Provider:       res.Provider,
		},
		RequestID: id,
	}
	h.metrics.response(codeOK)
	writeXML(w, http.StatusOK, &out)
	log.Info("sts decision", append(decisionAttrs(res),
		"code", codeOK, "access_key_id", creds.AccessKeyID, "expiration", out.Result.Credentials.Expiration,
		"duration_ms", millis(time.Since(start)))...)
}

// clip bounds a request value before it is logged.
func clip(s string) string {
	const limit = 256
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// decisionAttrs are the log attributes of a verified result. Everything in it was verified
// or is the request's own; nothing comes from an unverified token.
func decisionAttrs(res *verifier.Result) []any {
	return []any{
		"provider", res.Provider, "subject", res.Subject, "audience", res.Audience,
		"effect", res.Decision.Effect.String(), "statement", res.Decision.Statement,
		"sid", res.Decision.Sid, "decision", res.Decision.Reason,
	}
}

// fail answers with an ErrorResponse and logs the outcome.
func (h *stsHandler) fail(w http.ResponseWriter, log *slog.Logger, id string, e *stsError, attrs []any, start time.Time) {
	status := statusOf(e.code)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	if e.code == codeMethodNotAllowed {
		w.Header().Set("Allow", "GET, POST")
	}
	h.metrics.response(e.code)
	writeXML(w, status, &errorResponse{
		Error:     errorXML{Type: typ, Code: e.code, Message: e.message},
		RequestID: id,
	})
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	log.Log(context.Background(), level, "sts decision",
		append(attrs, "code", e.code, "status", status, "duration_ms", millis(time.Since(start)))...)
}

// readParams collects the Query API parameters from the query string and, for a POST with a
// form body, from the body. A parameter given twice (in either place, or in both) is refused:
// which copy wins differs between parsers, and a request must mean one thing.
func (h *stsHandler) readParams(w http.ResponseWriter, r *http.Request) (url.Values, *stsError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, &stsError{codeMethodNotAllowed, "Use GET or POST."}
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &stsError{codeMalformedQueryString, "The query string is malformed."}
	}
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &stsError{codeRequestEntityTooLarge, "The request body is too large."}
			}
			return nil, &stsError{codeMalformedQueryString, "The request body could not be read."}
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if ct != "application/x-www-form-urlencoded" {
				return nil, &stsError{codeMalformedQueryString, "The body must be application/x-www-form-urlencoded."}
			}
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, &stsError{codeMalformedQueryString, "The request body is malformed."}
			}
			for k, vs := range form {
				params[k] = append(params[k], vs...)
			}
		}
	}
	for _, vs := range params {
		if len(vs) > 1 {
			return nil, &stsError{string(verifier.CodeValidationError), "A parameter was given more than once."}
		}
	}
	return params, nil
}

var identRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

var policyARNParam = regexp.MustCompile(`^PolicyArns\.member\.([1-9][0-9]?)\.arn$`)

// parseAssumeParams builds the verifier request from the AssumeRoleWithWebIdentity
// parameters and checks what the verifier does not: unknown parameters, DurationSeconds
// syntax, session policies.
func parseAssumeParams(p url.Values) (req *verifier.Request, policyDoc string, policyARNs []string, e *stsError) {
	validation := func(msg string) *stsError { return &stsError{string(verifier.CodeValidationError), msg} }
	arns := map[int]string{}
	for k := range p {
		switch k {
		case "Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken", "ProviderId",
			"DurationSeconds", "Policy":
		case "PolicyArns": // an empty list
			if p.Get(k) != "" {
				return nil, "", nil, validation("PolicyArns must be given as PolicyArns.member.N.arn.")
			}
		default:
			m := policyARNParam.FindStringSubmatch(k)
			if m == nil {
				return nil, "", nil, validation("The request has a parameter that AssumeRoleWithWebIdentity does not take.")
			}
			n, _ := strconv.Atoi(m[1])
			arns[n] = p.Get(k)
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
			return nil, "", nil, validation("DurationSeconds must be an integer.")
		}
		req.DurationSeconds = d
	}
	if _, ok := p["Policy"]; ok {
		policyDoc = p.Get("Policy")
		if len(policyDoc) < 1 || len(policyDoc) > maxSessionPolicy {
			return nil, "", nil, validation("Policy must be 1 to 2048 characters.")
		}
		if !json.Valid([]byte(policyDoc)) {
			return nil, "", nil, &stsError{codeMalformedPolicyDocument, "The session policy is not valid JSON."}
		}
	}
	if len(arns) > maxPolicyARNs {
		return nil, "", nil, validation("At most 10 PolicyArns are allowed.")
	}
	for i := 1; i <= len(arns); i++ {
		a, ok := arns[i]
		if !ok {
			return nil, "", nil, validation("PolicyArns members must be numbered from 1 without gaps.")
		}
		if len(a) < 20 || len(a) > 2048 || !strings.HasPrefix(a, "arn:") {
			return nil, "", nil, validation("A PolicyArns member is not a policy ARN.")
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

// writeXML writes v as an XML document.
func writeXML(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "internal failure", http.StatusInternalServerError)
		return
	}
	buf.WriteByte('\n')
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// The XML shapes of the STS Query API (2011-06-15).
type (
	assumeResponse struct {
		XMLName   xml.Name     `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
		Result    assumeResult `xml:"AssumeRoleWithWebIdentityResult"`
		RequestID string       `xml:"ResponseMetadata>RequestId"`
	}
	assumeResult struct {
		SubjectFromWebIdentityToken string
		Audience                    string
		AssumedRoleUser             assumedRoleUser
		Credentials                 credentialsXML
		SourceIdentity              string `xml:",omitempty"`
		Provider                    string
	}
	assumedRoleUser struct {
		Arn           string
		AssumedRoleID string `xml:"AssumedRoleId"`
	}
	credentialsXML struct {
		SessionToken    string
		SecretAccessKey string
		Expiration      string
		AccessKeyID     string `xml:"AccessKeyId"`
	}
	errorResponse struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error     errorXML
		RequestID string `xml:"RequestId"`
	}
	errorXML struct {
		Type    string
		Code    string
		Message string
	}
)
