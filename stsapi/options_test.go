package stsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/verifier"
)

// deciderFunc is a Decider built from a function.
type deciderFunc func(context.Context, *verifier.Request) (*verifier.Result, error)

func (f deciderFunc) AssumeRoleWithWebIdentity(ctx context.Context, req *verifier.Request) (*verifier.Result, error) {
	return f(ctx, req)
}

var _ Decider = deciderFunc(nil)

// allowAll allows every request for the request's role, for an hour.
var allowAll = deciderFunc(func(_ context.Context, req *verifier.Request) (*verifier.Result, error) {
	return &verifier.Result{RoleARN: req.RoleARN, RoleSessionName: req.RoleSessionName, Subject: "s", Duration: time.Hour}, nil
})

func TestNewHandlerFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no verifier", Options{Issuer: &LocalIssuer{}}},
		{"no issuer", Options{Verifier: allowAll}},
		{"negative body limit", Options{Verifier: allowAll, Issuer: &LocalIssuer{}, MaxBodyBytes: -1}},
		{"negative timeout", Options{Verifier: allowAll, Issuer: &LocalIssuer{}, DecisionTimeout: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHandler(tc.opts)
			assert.Error(t, err)
			assert.Nil(t, h)
		})
	}
}

// serveOnce builds a handler from opts and posts one AssumeRoleWithWebIdentity to it.
func serveOnce(t *testing.T, opts Options, role string) rawResponse {
	t.Helper()
	h, err := NewHandler(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return do(t, postForm(t, srv.URL, assumeForm(role, "header.payload.signature")))
}

// Everything after the verifier's Allow that fails is an InternalFailure (500) that says
// nothing about why.
func TestHandlerInternalFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		role string
	}{
		{"untyped verifier error", Options{Verifier: deciderFunc(func(context.Context, *verifier.Request) (*verifier.Result, error) {
			return nil, errors.New("database down")
		}), Issuer: &LocalIssuer{}}, testRoleARN},
		{"no RoleId for the role", Options{Verifier: allowAll, Issuer: &LocalIssuer{}, RoleIDs: StaticRoleIDs{}}, testRoleARN},
		{"empty RoleId", Options{Verifier: allowAll, Issuer: &LocalIssuer{}, RoleIDs: StaticRoleIDs{testRoleARN: ""}}, testRoleARN},
		{"role ARN without a role name", Options{Verifier: allowAll, Issuer: &LocalIssuer{}}, "arn:aws:iam::111122223333:user/app"},
		{"issuer returns neither credentials nor error", Options{Verifier: allowAll,
			Issuer: issuerFunc(func(context.Context, *IssueRequest) (*Credentials, error) { return nil, nil })}, testRoleARN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := serveOnce(t, tc.opts, tc.role)
			require.NotNil(t, r.err)
			assert.Equal(t, http.StatusInternalServerError, r.status)
			assert.Equal(t, CodeInternalFailure, r.err.Error.Code)
			assert.Equal(t, "Receiver", r.err.Error.Type)
			assert.NotContains(t, r.err.Error.Message, "database")
		})
	}
}

// Without RoleIDs, the RoleId is derived from the ARN; the assumed-role ARN keeps the
// partition and account and drops the role's path.
func TestHandlerDerivedRoleID(t *testing.T) {
	const role = "arn:aws-cn:iam::444455556666:role/team/path/builder"
	r := serveOnce(t, Options{Verifier: allowAll, Issuer: &LocalIssuer{}}, role)
	require.NotNil(t, r.ok)
	assert.Equal(t, "arn:aws-cn:sts::444455556666:assumed-role/builder/"+testSession, r.ok.Result.AssumedRoleUser.Arn)
	assert.Equal(t, DerivedRoleID(role)+":"+testSession, r.ok.Result.AssumedRoleUser.AssumedRoleID)
	assert.Regexp(t, `^AROA[A-Z2-7]{17}$`, DerivedRoleID(role))
	assert.Equal(t, DerivedRoleID(role), DerivedRoleID(role))
	assert.NotEqual(t, DerivedRoleID(role), DerivedRoleID(testRoleARN))
}

// The verifier and the issuer run under DecisionTimeout.
func TestHandlerDecisionTimeout(t *testing.T) {
	var deadline time.Duration
	opts := Options{
		Verifier: deciderFunc(func(ctx context.Context, req *verifier.Request) (*verifier.Result, error) {
			d, ok := ctx.Deadline()
			require.True(t, ok)
			deadline = time.Until(d)
			return allowAll(ctx, req)
		}),
		Issuer:          &LocalIssuer{},
		DecisionTimeout: time.Minute,
	}
	r := serveOnce(t, opts, testRoleARN)
	require.NotNil(t, r.ok)
	assert.InDelta(t, time.Minute.Seconds(), deadline.Seconds(), 5)
}

// The observer sees one event per answer, with the code (empty for credentials), status and
// request id; protocol errors included.
func TestHandlerObserver(t *testing.T) {
	var mu sync.Mutex
	var events []ResponseEvent
	f := newFixture(t, func(o *Options) {
		o.Observer = ObserverFunc(func(_ context.Context, e ResponseEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		})
	})
	ok := do(t, postForm(t, f.srv.URL, assumeForm(testRoleARN, f.token(t, testSubject, nil))))
	denied := do(t, postForm(t, f.srv.URL, assumeForm(testRoleARN, f.token(t, "system:serviceaccount:other:demo", nil))))
	missing := do(t, postForm(t, f.srv.URL, nil))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, 3)
	for i, want := range []struct {
		r      rawResponse
		code   string
		status int
	}{
		{ok, "", http.StatusOK},
		{denied, string(verifier.CodeAccessDenied), http.StatusForbidden},
		{missing, CodeMissingAction, http.StatusBadRequest},
	} {
		assert.Equal(t, want.code, events[i].Code)
		assert.Equal(t, want.status, events[i].Status)
		assert.Equal(t, want.r.requestID, events[i].RequestID)
		assert.Positive(t, events[i].Duration)
	}
}

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[string]int{
		string(verifier.CodeInvalidIdentityToken):  400,
		string(verifier.CodeExpiredToken):          400,
		string(verifier.CodeIDPRejectedClaim):      403,
		string(verifier.CodeIDPCommunicationError): 400,
		string(verifier.CodeAccessDenied):          403,
		string(verifier.CodeValidationError):       400,
		string(verifier.CodeServiceUnavailable):    503,
		CodeMalformedQueryString:                   404,
		CodeRequestEntityTooLarge:                  413,
		CodeMethodNotAllowed:                       405,
		CodeInternalFailure:                        500,
		"SomethingElse":                            400,
	} {
		assert.Equal(t, want, HTTPStatus(code), code)
	}
}
