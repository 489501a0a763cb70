package stsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// testNow is the fixed clock of every test that decides.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

const (
	testAccount  = "111122223333"
	testRoleARN  = "arn:aws:iam::" + testAccount + ":role/eks/app"
	testRoleID   = "AROAEXAMPLEROLEID0001"
	testDownRole = "arn:aws:iam::" + testAccount + ":role/down"
	testSubject  = "system:serviceaccount:default:demo"
	testAudience = "sts.amazonaws.com"
	testSession  = "build-42"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a Handler over real HTTP, deciding with a verifier whose default key cache
// fetches from two providers: iss (healthy) and down (its server is closed).
type fixture struct {
	iss, down *testissuer.Issuer
	v         *verifier.Verifier
	opts      Options
	srv       *httptest.Server
	logs      *syncBuffer
}

// irsaPolicy is an IRSA trust policy for iss admitting sub.
func irsaPolicy(t testing.TB, iss *testissuer.Issuer, sub string) *policy.Policy {
	t.Helper()
	doc, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": iss.ProviderARN(testAccount)},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{
				iss.KeyPrefix() + ":aud": testAudience,
				iss.KeyPrefix() + ":sub": sub,
			}},
		}},
	})
	require.NoError(t, err)
	p, err := policy.Parse(doc)
	require.NoError(t, err)
	return p
}

// newFixture starts the issuers, the verifier and the handler (with LocalIssuer), edited by
// edit before the handler is built.
func newFixture(t testing.TB, edit func(*Options)) *fixture {
	t.Helper()
	f := &fixture{
		iss:  testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock}),
		down: testissuer.Start(t, testissuer.Options{Path: "/down", Algorithms: []string{"ES256"}, Now: fixedClock}),
		logs: &syncBuffer{},
	}
	f.down.Close()
	roles, err := verifier.NewStaticRoles(
		&verifier.Role{ARN: testRoleARN, TrustPolicy: irsaPolicy(t, f.iss, testSubject), MaxSessionDuration: 2 * time.Hour},
		&verifier.Role{ARN: testDownRole, TrustPolicy: irsaPolicy(t, f.down, testSubject)},
	)
	require.NoError(t, err)
	f.v, err = verifier.New(verifier.Options{
		Providers: []verifier.Provider{
			{URL: f.iss.URL(), ARN: f.iss.ProviderARN(testAccount), ClientIDs: []string{testAudience}},
			{URL: f.down.URL(), ARN: f.down.ProviderARN(testAccount), ClientIDs: []string{testAudience}},
		},
		Roles: roles,
		Now:   fixedClock,
		JWKS:  jwks.Options{HTTPClient: f.iss.Client(), AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.v.Close() })
	f.opts = Options{
		Verifier: f.v,
		Issuer:   &LocalIssuer{Now: fixedClock},
		RoleIDs:  StaticRoleIDs{testRoleARN: testRoleID, testDownRole: DerivedRoleID(testDownRole)},
		Logger:   slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&f.opts)
	}
	h, err := NewHandler(f.opts)
	require.NoError(t, err)
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// token mints a token of f.iss for sub, edited by edit.
func (f *fixture) token(t testing.TB, sub string, edit func(map[string]any)) string {
	t.Helper()
	c := f.iss.Claims(sub, testAudience)
	if edit != nil {
		edit(c)
	}
	return f.iss.MustMint(t, c, testissuer.MintOptions{})
}

// rawResponse is one answer of the endpoint, decoded.
type rawResponse struct {
	status    int
	requestID string
	header    http.Header
	ok        *assumeResponse
	err       *errorResponse
}

// do sends a request and decodes the XML answer strictly into the shape its status calls for.
func do(t *testing.T, req *http.Request) rawResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := rawResponse{status: resp.StatusCode, requestID: resp.Header.Get("x-amzn-RequestId"), header: resp.Header}
	assert.Equal(t, "text/xml", resp.Header.Get("Content-Type"))
	if resp.StatusCode == http.StatusOK {
		out.ok = &assumeResponse{}
		require.NoError(t, xml.Unmarshal(body, out.ok), "%s", body)
		assert.Equal(t, Namespace, out.ok.XMLName.Space)
	} else {
		out.err = &errorResponse{}
		require.NoError(t, xml.Unmarshal(body, out.err), "%s", body)
		assert.Equal(t, Namespace, out.err.XMLName.Space)
		assert.Equal(t, out.requestID, out.err.RequestID)
	}
	return out
}

func postForm(t *testing.T, endpoint string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return req
}

func assumeForm(role, token string) url.Values {
	return url.Values{
		"Action": {Action}, "Version": {Version}, "RoleArn": {role},
		"RoleSessionName": {testSession}, "WebIdentityToken": {token},
	}
}
