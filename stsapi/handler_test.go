package stsapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

func TestSTSAllowedResponseShape(t *testing.T) {
	f := newFixture(t, nil)
	token := f.token(t, testSubject, nil)

	for _, tc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"POST form", func() *http.Request { return postForm(t, f.srv.URL, assumeForm(testRoleARN, token)) }},
		{"GET query", func() *http.Request {
			req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/?"+assumeForm(testRoleARN, token).Encode(), nil)
			require.NoError(t, err)
			return req
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.req())
			require.Equal(t, http.StatusOK, r.status)
			assert.Regexp(t, uuidRE, r.requestID)
			assert.Equal(t, r.requestID, r.ok.RequestID)
			res := r.ok.Result
			assert.Equal(t, testSubject, res.SubjectFromWebIdentityToken)
			assert.Equal(t, testAudience, res.Audience)
			assert.Equal(t, f.iss.ProviderARN(testAccount), res.Provider, "the provider ARN, as real STS answers")
			assert.Equal(t, "arn:aws:sts::"+testAccount+":assumed-role/app/"+testSession, res.AssumedRoleUser.Arn)
			assert.Equal(t, testRoleID+":"+testSession, res.AssumedRoleUser.AssumedRoleID)
			assert.Regexp(t, `^ASIA[A-Z2-7]{16}$`, res.Credentials.AccessKeyID)
			assert.Len(t, res.Credentials.SecretAccessKey, 40)
			assert.True(t, strings.HasPrefix(res.Credentials.SessionToken, LocalSessionTokenPrefix))
			exp, err := time.Parse(time.RFC3339, res.Credentials.Expiration)
			require.NoError(t, err)
			assert.Equal(t, testNow.Add(time.Hour), exp)
		})
	}
}

func TestSTSErrors(t *testing.T) {
	f := newFixture(t, nil)
	good := f.token(t, testSubject, nil)
	form := func(edit func(url.Values)) url.Values {
		v := assumeForm(testRoleARN, good)
		edit(v)
		return v
	}
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		code   string
		status int
	}{
		{"no Action", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Del("Action") }))
		}, "MissingAction", 400},
		{"unknown Action", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("Action", "GetCallerIdentity") }))
		}, "InvalidAction", 400},
		{"other Version", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("Version", "2011-06-16") }))
		}, "InvalidAction", 400},
		{"no Version", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Del("Version") }))
		}, "InvalidAction", 400},
		{"malformed body", func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL, strings.NewReader("Action=%zz"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req
		}, "MalformedQueryString", 404},
		{"malformed query", func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/?Action=%zz", nil)
			return req
		}, "MalformedQueryString", 404},
		{"body not a form", func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL, strings.NewReader(`{"Action":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, "MalformedQueryString", 404},
		{"parameter twice in the body", func() *http.Request {
			v := form(func(v url.Values) { v.Add("RoleArn", testDownRole) })
			return postForm(t, f.srv.URL, v)
		}, "ValidationError", 400},
		{"parameter in query and body", func() *http.Request {
			return postForm(t, f.srv.URL+"/?RoleArn="+url.QueryEscape(testDownRole), form(func(url.Values) {}))
		}, "ValidationError", 400},
		{"unknown parameter", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("DurationSecond", "900") }))
		}, "ValidationError", 400},
		{"DurationSeconds not a number", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("DurationSeconds", "1h") }))
		}, "ValidationError", 400},
		{"DurationSeconds zero", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("DurationSeconds", "0") }))
		}, "ValidationError", 400},
		{"DurationSeconds minus zero", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("DurationSeconds", "-0") }))
		}, "ValidationError", 400},
		{"DurationSeconds 899", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("DurationSeconds", "899") }))
		}, "ValidationError", 400},
		{"DurationSeconds above the role maximum", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("DurationSeconds", "7201") }))
		}, "ValidationError", 400},
		{"session policy not JSON", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("Policy", "{nope") }))
		}, "MalformedPolicyDocument", 400},
		{"session policy too long", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("Policy", `"`+strings.Repeat("a", 2048)+`"`) }))
		}, "ValidationError", 400},
		{"PolicyArns with a gap", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) {
				v.Set("PolicyArns.member.2.arn", "arn:aws:iam::aws:policy/ReadOnlyAccess")
			}))
		}, "ValidationError", 400},
		{"ProviderId set", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("ProviderId", "www.amazon.com") }))
		}, "ValidationError", 400},
		{"session name too short", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("RoleSessionName", "x") }))
		}, "ValidationError", 400},
		{"no RoleArn", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Del("RoleArn") }))
		}, "ValidationError", 400},
		{"no token", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Del("WebIdentityToken") }))
		}, "ValidationError", 400},
		{"garbage token", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("WebIdentityToken", "not.a.jwt") }))
		}, "InvalidIdentityToken", 400},
		{"unknown role", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("RoleArn", "arn:aws:iam::"+testAccount+":role/nope") }))
		}, "AccessDenied", 403},
		{"another subject", func() *http.Request {
			return postForm(t, f.srv.URL, assumeForm(testRoleARN, f.token(t, "system:serviceaccount:other:demo", nil)))
		}, "AccessDenied", 403},
		{"expired token", func() *http.Request {
			return postForm(t, f.srv.URL, assumeForm(testRoleARN, f.token(t, testSubject, func(c map[string]any) {
				c["iat"], c["nbf"], c["exp"] = testNow.Add(-3*time.Hour).Unix(), testNow.Add(-3*time.Hour).Unix(), testNow.Add(-time.Hour).Unix()
			})))
		}, "ExpiredTokenException", 400},
		{"wrong audience", func() *http.Request {
			return postForm(t, f.srv.URL, assumeForm(testRoleARN, f.token(t, testSubject, func(c map[string]any) { c["aud"] = "someone-else" })))
		}, "InvalidIdentityToken", 400},
		{"session tags claim malformed", func() *http.Request {
			return postForm(t, f.srv.URL, assumeForm(testRoleARN, f.token(t, testSubject, func(c map[string]any) {
				c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"k": "not-a-list"}}
			})))
		}, "IDPRejectedClaim", 403},
		{"unknown issuer", func() *http.Request {
			other := testissuer.Start(t, testissuer.Options{Now: fixedClock})
			return postForm(t, f.srv.URL, assumeForm(testRoleARN, other.MustMint(t, other.Claims(testSubject, testAudience), testissuer.MintOptions{})))
		}, "InvalidIdentityToken", 400},
		{"issuer unreachable", func() *http.Request {
			tok := f.down.MustMint(t, f.down.Claims(testSubject, testAudience), testissuer.MintOptions{})
			return postForm(t, f.srv.URL, assumeForm(testDownRole, tok))
		}, "IDPCommunicationError", 400},
		{"PUT", func() *http.Request {
			req, _ := http.NewRequest(http.MethodPut, f.srv.URL, strings.NewReader(assumeForm(testRoleARN, good).Encode()))
			return req
		}, "MethodNotAllowed", 405},
		{"body too large", func() *http.Request {
			return postForm(t, f.srv.URL, form(func(v url.Values) { v.Set("Policy", strings.Repeat("a", DefaultMaxBodyBytes)) }))
		}, "RequestEntityTooLarge", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.req())
			require.NotNil(t, r.err, "status %d", r.status)
			assert.Equal(t, tc.code, r.err.Error.Code)
			assert.Equal(t, tc.status, r.status)
			assert.Regexp(t, uuidRE, r.requestID)
			wantType := "Sender"
			if tc.status >= 500 {
				wantType = "Receiver"
			}
			assert.Equal(t, wantType, r.err.Error.Type)
			assert.NotEmpty(t, r.err.Error.Message)
		})
	}
}

// A caller-facing message never repeats the token, and no log line contains it.
func TestSTSNeverEchoesToken(t *testing.T) {
	f := newFixture(t, nil)
	tokens := map[string]string{
		"allowed": f.token(t, testSubject, nil),
		"denied":  f.token(t, "system:serviceaccount:other:demo", nil),
		"forged":  f.token(t, testSubject, nil)[:60] + "x.eyJzdWIiOiJ4In0.c2ln",
		"expired": f.token(t, testSubject, func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }),
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Post(f.srv.URL, "application/x-www-form-urlencoded", strings.NewReader(assumeForm(testRoleARN, tok).Encode()))
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			for _, seg := range strings.Split(tok, ".") {
				assert.NotContains(t, string(body), seg)
				assert.NotContains(t, f.logs.String(), seg)
			}
		})
	}
	assert.Contains(t, f.logs.String(), `"code":"AccessDenied"`)
}

// issuerFunc is a CredentialIssuer built from a function.
type issuerFunc func(context.Context, *IssueRequest) (*Credentials, error)

func (f issuerFunc) Issue(ctx context.Context, req *IssueRequest) (*Credentials, error) {
	return f(ctx, req)
}

var _ CredentialIssuer = issuerFunc(nil)

// The credential issuer gets the verified result and the session policies, and its failure
// is a 500 that says nothing about why.
func TestSTSCredentialIssuer(t *testing.T) {
	f := newFixture(t, nil)
	var got *IssueRequest
	issuers := map[string]CredentialIssuer{
		"recording": issuerFunc(func(_ context.Context, req *IssueRequest) (*Credentials, error) {
			got = req
			return &Credentials{AccessKeyID: "ASIAEMBEDDEDISSUER01", SecretAccessKey: "s", SessionToken: "t",
				Expiration: testNow.Add(req.Result.Duration)}, nil
		}),
		"failing": issuerFunc(func(context.Context, *IssueRequest) (*Credentials, error) {
			return nil, errors.New("credential store unavailable")
		}),
	}
	handler := func(name string) string {
		opts := f.opts
		opts.Issuer = issuers[name]
		h, err := NewHandler(opts)
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}

	form := assumeForm(testRoleARN, f.token(t, testSubject, nil))
	form.Set("Policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	form.Set("PolicyArns.member.1.arn", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	form.Set("PolicyArns.member.2.arn", "arn:aws:iam::111122223333:policy/narrow")
	form.Set("DurationSeconds", "900")

	r := do(t, postForm(t, handler("recording"), form))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "ASIAEMBEDDEDISSUER01", r.ok.Result.Credentials.AccessKeyID)
	require.NotNil(t, got)
	assert.Equal(t, r.requestID, got.RequestID)
	assert.Equal(t, form.Get("Policy"), got.Policy)
	assert.Equal(t, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:policy/narrow"}, got.PolicyARNs)
	assert.Equal(t, testSubject, got.Result.Subject)
	assert.Equal(t, 15*time.Minute, got.Result.Duration)
	assert.Equal(t, testRoleID, got.RoleID)
	assert.Equal(t, AssumedRoleUser{ARN: "arn:aws:sts::" + testAccount + ":assumed-role/app/" + testSession, ID: testRoleID + ":" + testSession}, got.AssumedRoleUser)

	r = do(t, postForm(t, handler("failing"), form))
	require.NotNil(t, r.err)
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Equal(t, "InternalFailure", r.err.Error.Code)
	assert.Equal(t, "Receiver", r.err.Error.Type)
}
