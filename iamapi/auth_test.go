package iamapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iamapi"
)

// rewriteAuth returns a mutation that rewrites the signed Authorization header.
func rewriteAuth(f func(string) string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", f(r.Header.Get("Authorization"))) }
}

func replaceAuth(old, new string) func(*http.Request) {
	return rewriteAuth(func(s string) string { return strings.Replace(s, old, new, 1) })
}

func TestAuthenticateSDKSigned(t *testing.T) {
	tests := []struct {
		name    string
		opts    iamapi.Options
		url     string // path and query after the server's URL; default "/"
		method  string
		body    string // default listRolesBody
		noBody  bool
		sign    func(*signing)
		unsign  bool                // send without signing
		prepare func(*http.Request) // applied before signing
		mutate  func(*http.Request) // applied after signing
		code    string              // "" = accepted
		reason  iamapi.Reason
		status  int
		wantKey string
	}{
		{name: "valid", wantKey: akid},
		{name: "valid second admin key", sign: func(s *signing) { s.akid, s.secret = akid2, secret2 }, wantKey: akid2},
		{name: "valid any region by default", sign: func(s *signing) { s.region = "eu-west-1" }, wantKey: akid},
		{name: "valid listed region", opts: iamapi.Options{Regions: []string{"us-east-1", "eu-west-1"}}, sign: func(s *signing) { s.region = "eu-west-1" }, wantKey: akid},
		{name: "valid 14 minutes old", sign: func(s *signing) { s.at = t0.Add(-14 * time.Minute) }, wantKey: akid},
		{name: "valid 14 minutes ahead", sign: func(s *signing) { s.at = t0.Add(14 * time.Minute) }, wantKey: akid},
		{name: "valid GET with query string", method: http.MethodGet, noBody: true, url: "/?Action=ListRoles&Version=2010-05-08&PathPrefix=%2Fa%20b%2F&Marker=x%2By", wantKey: akid},
		{name: "valid empty body", noBody: true, wantKey: akid},
		{name: "valid unicode body", body: "Action=CreateRole&Version=2010-05-08&RoleName=r&Description=D%C3%A9ploiement+%E2%9C%93+%26%3D%25", wantKey: akid},
		{name: "unsigned header added", mutate: func(r *http.Request) {
			r.Header.Set("X-Forwarded-For", "192.0.2.1")
			r.Header.Set("User-Agent", "proxy/1.0")
			r.Header.Set("X-Amzn-Trace-Id", "Root=1-abc")
		}, wantKey: akid},

		{name: "valid signed user-agent", prepare: func(r *http.Request) {
			// A client that signs User-Agent (the SDK signer skips the canonical key, so
			// the Authenticator must pass it lower-cased to reproduce such a signature).
			r.Header["user-agent"] = []string{"custom-client/1.0"}
		}, mutate: func(r *http.Request) {
			r.Header["User-Agent"] = r.Header["user-agent"]
			delete(r.Header, "user-agent")
		}, wantKey: akid},
		{name: "valid signed header with excess spaces and two values", prepare: func(r *http.Request) {
			r.Header["X-Amz-Meta-Note"] = []string{"a   b  c", "d"}
		}, wantKey: akid},
		{name: "valid without spaces after commas", mutate: rewriteAuth(func(s string) string { return strings.ReplaceAll(s, ", ", ",") }), wantKey: akid},
		{name: "unsigned", unsign: true, code: iamapi.CodeMissingAuthenticationToken, reason: iamapi.ReasonUnsigned, status: 403},
		{name: "wrong secret", sign: func(s *signing) { s.secret = "not-the-secret" }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "secret of the other admin", sign: func(s *signing) { s.secret = secret2 }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "unknown key id", sign: func(s *signing) { s.akid = "AKIAUNKNOWN" }, code: iamapi.CodeInvalidClientTokenId, reason: iamapi.ReasonUnknownKey, status: 403},
		{name: "session token", sign: func(s *signing) { s.token = "FwoGZXIvYXdzEXAMPLE" }, code: iamapi.CodeInvalidClientTokenId, reason: iamapi.ReasonSessionToken, status: 403},
		{name: "stale by 16 minutes", sign: func(s *signing) { s.at = t0.Add(-16 * time.Minute) }, code: iamapi.CodeRequestExpired, reason: iamapi.ReasonExpired, status: 400},
		{name: "16 minutes in the future", sign: func(s *signing) { s.at = t0.Add(16 * time.Minute) }, code: iamapi.CodeRequestExpired, reason: iamapi.ReasonNotYetValid, status: 400},
		{name: "custom max skew", opts: iamapi.Options{MaxSkew: time.Minute}, sign: func(s *signing) { s.at = t0.Add(-2 * time.Minute) }, code: iamapi.CodeRequestExpired, reason: iamapi.ReasonExpired, status: 400},
		{name: "wrong service in scope", sign: func(s *signing) { s.service = "sts" }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonScopeService, status: 403},
		{name: "unlisted region in scope", opts: iamapi.Options{Regions: []string{"us-east-1"}}, sign: func(s *signing) { s.region = "eu-west-1" }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonScopeRegion, status: 403},
		{name: "scope date is not X-Amz-Date's day", mutate: replaceAuth("/20261201/", "/20261130/"), code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonScopeDate, status: 403},
		{name: "body tampered", mutate: func(r *http.Request) { setBody(r, strings.Replace(listRolesBody, "teams", "xeams", 1)) }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "body extended", mutate: func(r *http.Request) { setBody(r, listRolesBody+"&MaxItems=1") }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "signed content-type tampered", mutate: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "signed x-amz-date moved a second", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261201T093001Z") }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "signed header removed", mutate: func(r *http.Request) { r.Header.Del("Content-Type") }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "host tampered", mutate: func(r *http.Request) { r.Host = "iam.other.example" }, code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "signed header list shortened", mutate: replaceAuth("content-length;content-type;host", "content-length;host"), code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch, status: 403},
		{name: "duplicate Authorization", mutate: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonDuplicateAuth, status: 400},
		{name: "Date instead of X-Amz-Date", mutate: func(r *http.Request) {
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", t0.Format(http.TimeFormat))
		}, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMissingDate, status: 400},
		{name: "X-Amz-Date missing", mutate: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMissingDate, status: 400},
		{name: "X-Amz-Date twice", mutate: func(r *http.Request) { r.Header.Add("X-Amz-Date", "20261201T093000Z") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMissingDate, status: 400},
		{name: "X-Amz-Date extended ISO format", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-12-01T09:30:00Z") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedDate, status: 400},
		{name: "X-Amz-Date month 13", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261301T093000Z") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedDate, status: 400},
		{name: "X-Amz-Date without Z", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261201T093000") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedDate, status: 400},
		{name: "X-Amz-Date with offset", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261201T093000+0000") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedDate, status: 400},
		{name: "malformed: SigV4a algorithm", mutate: replaceAuth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonBadAlgorithm, status: 400},
		{name: "malformed: bearer", mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: empty", mutate: func(r *http.Request) { r.Header.Set("Authorization", "") }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: lower-case algorithm", mutate: replaceAuth("AWS4-HMAC-SHA256", "aws4-hmac-sha256"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: no Signature", mutate: rewriteAuth(func(s string) string { return s[:strings.Index(s, ", Signature=")] }), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: Credential twice", mutate: rewriteAuth(func(s string) string { return s + ", Credential=AKIDEXAMPLE/20261201/us-east-1/iam/aws4_request" }), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: unknown component", mutate: rewriteAuth(func(s string) string { return s + ", Extra=1" }), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: component without =", mutate: rewriteAuth(func(s string) string { return s + ", junk" }), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: signature upper-case hex", mutate: rewriteAuth(func(s string) string {
			i := strings.Index(s, "Signature=") + len("Signature=")
			return s[:i] + strings.ToUpper(s[i:])
		}), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: signature truncated", mutate: rewriteAuth(func(s string) string { return s[:len(s)-1] }), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedAuth, status: 400},
		{name: "malformed: scope of four parts", mutate: replaceAuth("/us-east-1/iam/", "/us-east-1/"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedScope, status: 400},
		{name: "malformed: scope terminator", mutate: replaceAuth("aws4_request", "aws4_reqest"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedScope, status: 400},
		{name: "malformed: scope date", mutate: replaceAuth("/20261201/", "/2026121/"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedScope, status: 400},
		{name: "malformed: empty key id", mutate: replaceAuth("Credential=AKIDEXAMPLE/", "Credential=/"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedScope, status: 400},
		{name: "malformed: upper-case region", mutate: replaceAuth("/us-east-1/", "/US-EAST-1/"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedScope, status: 400},
		{name: "malformed: signed headers unsorted", mutate: replaceAuth("content-length;content-type;host", "content-type;content-length;host"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedHeaders, status: 400},
		{name: "malformed: signed header twice", mutate: replaceAuth(";host;", ";host;host;"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedHeaders, status: 400},
		{name: "malformed: signed header upper case", mutate: replaceAuth(";host;", ";Host;"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedHeaders, status: 400},
		{name: "malformed: empty signed header", mutate: replaceAuth(";host;", ";host;;"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedHeaders, status: 400},
		{name: "malformed: authorization signed", mutate: replaceAuth("SignedHeaders=", "SignedHeaders=authorization;"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedHeaders, status: 400},
		{name: "host not signed", mutate: replaceAuth(";host;", ";"), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonUnsignedHost, status: 400},
		{name: "x-amz-date not signed", mutate: replaceAuth(";x-amz-date", ""), code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonUnsignedDate, status: 400},
		{name: "unparsable query added after signing", mutate: func(r *http.Request) { r.URL.RawQuery = "a=%zz" }, code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonMalformedQuery, status: 400},
		{name: "presign parameters beside Authorization", url: "/?X-Amz-Signature=00", code: iamapi.CodeIncompleteSignature, reason: iamapi.ReasonPresigned, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAuthServer(t, tc.opts)
			body := tc.body
			if body == "" && !tc.noBody {
				body = listRolesBody
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := newPost(t, srv.URL+tc.url, body)
			req.Method = method
			if body == "" {
				req.Body, req.ContentLength = http.NoBody, 0
			}
			s := defaultSigning()
			if tc.sign != nil {
				tc.sign(&s)
			}
			if tc.prepare != nil {
				tc.prepare(req)
			}
			if !tc.unsign {
				sign(t, req, body, s)
			}
			if tc.mutate != nil {
				tc.mutate(req)
			}
			got, status := srv.do(t, req)
			if tc.code == "" {
				require.NoError(t, got.err)
				assert.Equal(t, tc.wantKey, got.p.AccessKeyID)
				assert.Equal(t, s.region, got.p.Region)
				assert.True(t, s.at.Truncate(time.Second).Equal(got.p.SignedAt))
				assert.Equal(t, http.StatusOK, status)
				return
			}
			var ae *iamapi.AuthError
			require.True(t, errors.As(got.err, &ae), "error %v", got.err)
			assert.Equal(t, tc.code, ae.Code)
			assert.Equal(t, tc.reason, ae.Reason)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.status, ae.HTTPStatus())
			assert.Nil(t, got.p)
			assertNoSecrets(t, req, ae.Message)
			assertNoSecrets(t, req, srv.logs.String())
			assert.Contains(t, srv.logs.String(), `"reason":"`+string(tc.reason)+`"`, "refusal is logged with its reason")
		})
	}
}

// assertNoSecrets checks that text shows neither secret nor any signature, the client's or
// the expected one (a signature is 64 hex digits; AWS messages hold none).
func assertNoSecrets(t *testing.T, req *http.Request, text string) {
	t.Helper()
	for _, s := range []string{secret, secret2} {
		assert.NotContains(t, text, s)
	}
	if a := req.Header.Get("Authorization"); strings.Contains(a, "Signature=") {
		sig := a[strings.Index(a, "Signature=")+len("Signature="):]
		if sig != "" {
			assert.NotContains(t, text, sig)
		}
	}
	assert.NotRegexp(t, `[0-9a-f]{64}`, text)
}

func TestAuthenticatePresignedURL(t *testing.T) {
	srv := newAuthServer(t, iamapi.Options{})
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/?Action=ListRoles&Version=2010-05-08", nil)
	require.NoError(t, err)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, payloadHash(""), "iam", "us-east-1", t0)
	require.NoError(t, err)
	presigned, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)

	got, status := srv.do(t, presigned)
	var ae *iamapi.AuthError
	require.True(t, errors.As(got.err, &ae), "error %v", got.err)
	assert.Equal(t, iamapi.CodeMissingAuthenticationToken, ae.Code)
	assert.Equal(t, iamapi.ReasonPresigned, ae.Reason)
	assert.Equal(t, http.StatusForbidden, status)
}

// rotatingCredentials is a Credentials whose secrets change under it.
type rotatingCredentials struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *rotatingCredentials) SecretAccessKey(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	return s, ok
}

func (c *rotatingCredentials) set(id, secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[id] = secret
}

// TestAuthenticateSecretRotation: the SDK signer caches derived keys by key id, region,
// service and day, not by secret; after a rotation the old secret must stop working at once.
func TestAuthenticateSecretRotation(t *testing.T) {
	creds := &rotatingCredentials{m: map[string]string{akid: secret}}
	srv := newAuthServer(t, iamapi.Options{Credentials: creds})
	send := func(sec string) error {
		req := newPost(t, srv.URL, listRolesBody)
		s := defaultSigning()
		s.secret = sec
		sign(t, req, listRolesBody, s)
		got, _ := srv.do(t, req)
		return got.err
	}
	require.NoError(t, send(secret), "before rotation")

	creds.set(akid, "rotated/secret/EXAMPLE")
	tests := []struct {
		name   string
		secret string
		reason iamapi.Reason
	}{
		{name: "old secret refused", secret: secret, reason: iamapi.ReasonSignatureMismatch},
		{name: "new secret accepted", secret: "rotated/secret/EXAMPLE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := send(tc.secret)
			if tc.reason == "" {
				assert.NoError(t, err)
				return
			}
			var ae *iamapi.AuthError
			require.True(t, errors.As(err, &ae), "error %v", err)
			assert.Equal(t, iamapi.CodeSignatureDoesNotMatch, ae.Code)
			assert.Equal(t, tc.reason, ae.Reason)
		})
	}
}

func TestNewAuthenticatorOptions(t *testing.T) {
	tests := []struct {
		name string
		opts iamapi.Options
		ok   bool
	}{
		{name: "credentials only", opts: iamapi.Options{Credentials: admins}, ok: true},
		{name: "no credentials", opts: iamapi.Options{}},
		{name: "negative skew", opts: iamapi.Options{Credentials: admins, MaxSkew: -time.Second}},
		{name: "bad region", opts: iamapi.Options{Credentials: admins, Regions: []string{"US East"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := iamapi.NewAuthenticator(tc.opts)
			if tc.ok {
				assert.NoError(t, err)
				assert.NotNil(t, a)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestAuthErrorFormatting(t *testing.T) {
	e := &iamapi.AuthError{Code: iamapi.CodeRequestExpired, Message: "Request has expired.", Reason: iamapi.ReasonExpired}
	assert.Equal(t, "RequestExpired: Request has expired.", e.Error())
	assert.Equal(t, http.StatusBadRequest, e.HTTPStatus())
}

// TestAuthenticateLogsRefusal: one structured line per refusal with the code, reason,
// access key id and peer, and no secret or signature.
func TestAuthenticateLogsRefusal(t *testing.T) {
	srv := newAuthServer(t, iamapi.Options{})
	req := newPost(t, srv.URL, listRolesBody)
	s := defaultSigning()
	s.secret = "wrong"
	sign(t, req, listRolesBody, s)
	got, _ := srv.do(t, req)
	require.Error(t, got.err)

	lines := strings.Split(strings.TrimSpace(srv.logs.String()), "\n")
	require.Len(t, lines, 1)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	assert.Equal(t, "WARN", entry["level"])
	assert.Equal(t, iamapi.CodeSignatureDoesNotMatch, entry["code"])
	assert.Equal(t, string(iamapi.ReasonSignatureMismatch), entry["reason"])
	assert.Equal(t, akid, entry["access_key_id"])
	assert.NotEmpty(t, entry["remote"])
	assertNoSecrets(t, req, lines[0])
	assert.NotContains(t, lines[0], "wrong")
}
