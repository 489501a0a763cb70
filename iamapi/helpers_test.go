package iamapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iamapi"
)

const (
	akid    = "AKIDEXAMPLE"
	secret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	akid2   = "AKIAADMIN2EXAMPLE"
	secret2 = "second/secret+key/EXAMPLE0000000000000000"
)

// t0 is the server's clock in the tests.
var t0 = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

var admins = iamapi.StaticCredentials{akid: secret, akid2: secret2}

const listRolesBody = "Action=ListRoles&Version=2010-05-08&PathPrefix=%2Fteams%2F"

// callerIdentityXML answers the STS client of TestAuthenticateGoSDKClient (and is ignored by
// the other tests).
const callerIdentityXML = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/admin</Arn><UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account></GetCallerIdentityResult>
<ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></GetCallerIdentityResponse>`

// outcome is what the server's Authenticate returned for one request.
type outcome struct {
	p    *iamapi.Principal
	err  error
	auth string // the request's Authorization header
}

// authServer is a real TLS server whose handler authenticates every request.
type authServer struct {
	*httptest.Server
	results chan outcome
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newAuthServer starts a TLS server authenticating with opts; opts.Now defaults to t0 and
// opts.Credentials to admins.
func newAuthServer(t *testing.T, opts iamapi.Options) *authServer {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	if opts.Credentials == nil {
		opts.Credentials = admins
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	a, err := iamapi.NewAuthenticator(opts)
	require.NoError(t, err)
	s := &authServer{results: make(chan outcome, 8), logs: logs}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		p, aerr := a.Authenticate(r, body)
		s.results <- outcome{p, aerr, r.Header.Get("Authorization")}
		w.Header().Set("Content-Type", "text/xml")
		if ae, ok := aerr.(*iamapi.AuthError); ok {
			// The Query API's error shape, so that SDK clients parse the code.
			w.WriteHeader(ae.HTTPStatus())
			_, _ = fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>0</RequestId></ErrorResponse>`,
				ae.Code, html.EscapeString(ae.Message))
			return
		}
		_, _ = io.WriteString(w, callerIdentityXML)
	}))
	t.Cleanup(s.Close)
	return s
}

// do sends req and returns what Authenticate returned and the HTTP status.
func (s *authServer) do(t *testing.T, req *http.Request) (outcome, int) {
	t.Helper()
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	select {
	case o := <-s.results:
		return o, resp.StatusCode
	default:
		require.FailNow(t, "handler did not authenticate", "status %d", resp.StatusCode)
		return outcome{}, 0
	}
}

// signing describes how a test request is signed.
type signing struct {
	akid, secret, token string
	service, region     string
	at                  time.Time
}

func defaultSigning() signing {
	return signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: t0}
}

// newPost returns a POST of body to url with the headers the SDKs send.
func newPost(t *testing.T, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return req
}

func payloadHash(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// sign signs req over body with the SDK's v4 signer.
func sign(t *testing.T, req *http.Request, body string, s signing) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: s.akid, SecretAccessKey: s.secret, SessionToken: s.token}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(body), s.service, s.region, s.at))
}

// setBody replaces req's body, keeping its length header consistent.
func setBody(req *http.Request, body string) {
	req.Body = io.NopCloser(strings.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
}
