package iamapi_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/iamapi"
)

// The two accounts of the handler tests: akid administers acctA, akid2 acctB.
const (
	acctA = "111122223333"
	acctB = "444455556666"
)

var adminsAB = iamapi.StaticAdmins{
	akid:  {SecretAccessKey: secret, Account: acctA},
	akid2: {SecretAccessKey: secret2, Account: acctB},
}

// iamServer is a real TLS server running a Handler over its own registry.
type iamServer struct {
	*httptest.Server
	reg  *iam.Registry
	logs *syncBuffer
}

// newIAMServer starts a Handler over a registry made with regOpts (clock t0 unless set);
// opts.Credentials defaults to adminsAB, opts.Now to time.Now (the SDK signs with the real
// clock), opts.Logger to a JSON log the test can read.
func newIAMServer(t *testing.T, opts iamapi.Options, regOpts iam.Options) *iamServer {
	t.Helper()
	if regOpts.Now == nil {
		regOpts.Now = func() time.Time { return t0 }
	}
	s := &iamServer{reg: iam.New(regOpts), logs: &syncBuffer{}}
	if opts.Credentials == nil {
		opts.Credentials = adminsAB
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(s.logs, nil))
	}
	opts.Registry = s.reg
	h, err := iamapi.NewHandler(opts)
	require.NoError(t, err)
	s.Server = httptest.NewTLSServer(h)
	t.Cleanup(s.Close)
	return s
}

// client returns a Go SDK v2 IAM client of the server signing with the key, without retries
// (so that a 500 is one request).
func (s *iamServer) client(keyID, keySecret string) *awsiam.Client {
	return awsiam.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, keySecret, ""),
		HTTPClient:       s.Client(),
		RetryMaxAttempts: 1,
	}, func(o *awsiam.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

// logLines returns the server's log lines, decoded.
func (s *iamServer) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// lastLog returns the last log line.
func (s *iamServer) lastLog(t *testing.T) map[string]any {
	t.Helper()
	lines := s.logLines(t)
	require.NotEmpty(t, lines)
	return lines[len(lines)-1]
}

// apiCode returns the AWS error code and the HTTP status of an SDK error.
func apiCode(t *testing.T, err error) (string, int) {
	t.Helper()
	var api smithy.APIError
	require.True(t, errors.As(err, &api), "not an API error: %v", err)
	var re *awshttp.ResponseError
	require.True(t, errors.As(err, &re), "no HTTP response: %v", err)
	return api.ErrorCode(), re.HTTPStatusCode()
}

// rawResponse is a raw HTTP answer.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// post sends body signed by the key (empty keyID: unsigned) and returns the answer.
func (s *iamServer) post(t *testing.T, keyID, keySecret, body string) rawResponse {
	t.Helper()
	req := newPost(t, s.URL+"/", body)
	if keyID != "" {
		sign(t, req, body, signing{akid: keyID, secret: keySecret, service: "iam", region: "us-east-1", at: time.Now()})
	}
	return s.do(t, req)
}

func (s *iamServer) do(t *testing.T, req *http.Request) rawResponse {
	t.Helper()
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// errorCode parses an ErrorResponse body's Type and Code.
func errorCode(t *testing.T, body string) (typ, code string) {
	t.Helper()
	var e struct {
		Error struct {
			Type, Code, Message string
		}
		RequestID string `xml:"RequestId"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &e), body)
	assert.NotEmpty(t, e.RequestID)
	return e.Error.Type, e.Error.Code
}

// trustPolicy is a GitHub Actions trust policy of acctA.
func trustPolicy(sub string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acctA +
		`:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"` + sub + `"}}}]}`
}

func ctx() context.Context { return context.Background() }
