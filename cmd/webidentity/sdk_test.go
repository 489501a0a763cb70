package main

// These tests call the serve handler with the official AWS SDK for Go v2, over real HTTP, the
// way IRSA pods and CI jobs do. The SDK is a test dependency only: nothing outside _test.go
// files imports it.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/stsapi"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// recorder wraps the serve handler and remembers the Authorization headers it saw.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	auth []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.mu.Unlock()
	r.h.ServeHTTP(w, req)
}

// sdkClient returns an STS client whose endpoint is srv, without retries (so that each
// error is one request) and with anonymous credentials: AssumeRoleWithWebIdentity is unsigned.
func sdkClient(srv *httptest.Server) *sts.Client { return newSTSClient(srv.URL) }

func newSTSClient(endpoint string) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  aws.AnonymousCredentials{},
		Retryer:      aws.NopRetryer{},
	})
}

func assumeInput(role, token string) *sts.AssumeRoleWithWebIdentityInput {
	return &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(role),
		RoleSessionName:  aws.String(testSession),
		WebIdentityToken: aws.String(token),
	}
}

// apiError asserts that err is an STS API error and returns its code and HTTP status.
func apiError(t *testing.T, err error) (code string, status int) {
	t.Helper()
	require.Error(t, err)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	var re *awshttp.ResponseError
	require.True(t, errors.As(err, &re), "no HTTP response: %v", err)
	assert.Regexp(t, uuidRE, re.ServiceRequestID())
	return ae.ErrorCode(), re.HTTPStatusCode()
}

func TestSDKAssumeRoleWithWebIdentity(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{h: f.svc.Handler()}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	client := sdkClient(srv)

	t.Run("allowed", func(t *testing.T) {
		out, err := client.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
			RoleArn:          aws.String(testRoleARN),
			RoleSessionName:  aws.String(testSession),
			WebIdentityToken: aws.String(f.token(t, testSubject, nil)),
			DurationSeconds:  aws.Int32(7200),
		})
		require.NoError(t, err)
		require.NotNil(t, out.Credentials)
		assert.Regexp(t, `^ASIA[A-Z2-7]{16}$`, aws.ToString(out.Credentials.AccessKeyId))
		assert.NotEmpty(t, aws.ToString(out.Credentials.SecretAccessKey))
		assert.NotEmpty(t, aws.ToString(out.Credentials.SessionToken))
		assert.Equal(t, testNow.Add(2*time.Hour), aws.ToTime(out.Credentials.Expiration))
		assert.Equal(t, testSubject, aws.ToString(out.SubjectFromWebIdentityToken))
		assert.Equal(t, testAudience, aws.ToString(out.Audience))
		assert.Equal(t, f.iss.ProviderARN(testAccount), aws.ToString(out.Provider), "STS answers the provider ARN")
		require.NotNil(t, out.AssumedRoleUser)
		assert.Equal(t, "arn:aws:sts::"+testAccount+":assumed-role/app/"+testSession, aws.ToString(out.AssumedRoleUser.Arn))
		assert.Equal(t, testRoleID+":"+testSession, aws.ToString(out.AssumedRoleUser.AssumedRoleId))
	})

	expired := func(c map[string]any) {
		c["iat"], c["nbf"], c["exp"] = testNow.Add(-2*time.Hour).Unix(), testNow.Add(-2*time.Hour).Unix(), testNow.Add(-time.Hour).Unix()
	}
	stranger := testissuer.Start(t, testissuer.Options{Path: "/id/STRANGER", Now: fixedClock})
	for _, tc := range []struct {
		name   string
		role   string
		token  func() string
		dur    int32
		code   string
		status int
	}{
		{"another namespace", testRoleARN, func() string { return f.token(t, "system:serviceaccount:other:demo", nil) }, 0, "AccessDenied", 403},
		{"role that does not exist", "arn:aws:iam::" + testAccount + ":role/missing", func() string { return f.token(t, testSubject, nil) }, 0, "AccessDenied", 403},
		{"expired token", testRoleARN, func() string { return f.token(t, testSubject, expired) }, 0, "ExpiredTokenException", 400},
		{"bad signature", testRoleARN, func() string {
			tok := f.token(t, testSubject, nil)
			return tok[:len(tok)-4] + "AAAA"
		}, 0, "InvalidIdentityToken", 400},
		{"not a JWT", testRoleARN, func() string { return "this-is-not-a-token" }, 0, "InvalidIdentityToken", 400},
		{"unregistered issuer", testRoleARN, func() string {
			return stranger.MustMint(t, stranger.Claims(testSubject, testAudience), testissuer.MintOptions{})
		}, 0, "InvalidIdentityToken", 400},
		{"unreachable issuer", testDownRole, func() string {
			return f.down.MustMint(t, f.down.Claims(testSubject, testAudience), testissuer.MintOptions{})
		}, 0, "IDPCommunicationError", 400},
		{"rejected session tags", testRoleARN, func() string {
			return f.token(t, testSubject, func(c map[string]any) {
				c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"aws:reserved": []string{"v"}}}
			})
		}, 0, "IDPRejectedClaim", 403},
		{"duration above the role maximum", testRoleARN, func() string { return f.token(t, testSubject, nil) }, 7201, "ValidationError", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(tc.role),
				RoleSessionName:  aws.String(testSession),
				WebIdentityToken: aws.String(tc.token()),
			}
			if tc.dur != 0 {
				in.DurationSeconds = aws.Int32(tc.dur)
			}
			_, err := client.AssumeRoleWithWebIdentity(context.Background(), in)
			code, status := apiError(t, err)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.status, status)
		})
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.NotEmpty(t, rec.auth)
	for _, a := range rec.auth {
		assert.Empty(t, a, "the SDK signed a request that STS accepts unsigned")
	}
}

// The credential provider IRSA pods use: a token file and a role ARN.
func TestSDKWebIdentityRoleProvider(t *testing.T) {
	f := newFixture(t)
	client := sdkClient(f.srv)
	dir := t.TempDir()

	for _, tc := range []struct {
		name    string
		role    string
		subject string
		code    string // "" for success
	}{
		{"allowed", testRoleARN, testSubject, ""},
		{"allowed by a wildcard, URL-encoded policy", testRole2ARN, "system:serviceaccount:ci:runner", ""},
		{"denied", testRoleARN, "system:serviceaccount:kube-system:default", "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokenFile := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(tokenFile, []byte(f.token(t, tc.subject, nil)), 0o600))
			// No RoleSessionName: the provider makes one up, as it does in pods.
			provider := stscreds.NewWebIdentityRoleProvider(client, tc.role, stscreds.IdentityTokenFile(tokenFile))
			creds, err := aws.NewCredentialsCache(provider).Retrieve(context.Background())
			if tc.code != "" {
				code, status := apiError(t, err)
				assert.Equal(t, tc.code, code)
				assert.Equal(t, http.StatusForbidden, status)
				return
			}
			require.NoError(t, err)
			assert.Regexp(t, `^ASIA[A-Z2-7]{16}$`, creds.AccessKeyID)
			assert.NotEmpty(t, creds.SecretAccessKey)
			assert.NotEmpty(t, creds.SessionToken)
			assert.True(t, creds.CanExpire)
			assert.Equal(t, testNow.Add(time.Hour), creds.Expires)
			assert.Equal(t, stscreds.WebIdentityProviderName, creds.Source)
			assert.Equal(t, testAccount, creds.AccountID)
		})
	}
}

// The IRSA environment as the EKS pod identity webhook injects it, with the STS endpoint
// taken from AWS_ENDPOINT_URL_STS: the SDK's default chain finds the web identity and calls
// this endpoint, unchanged.
func TestSDKDefaultConfigFromEnvironment(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(f.token(t, testSubject, nil)), 0o600))

	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_STS":        f.srv.URL,
		"AWS_REGION":                  "eu-west-1",
		"AWS_ROLE_ARN":                testRoleARN,
		"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_ROLE_SESSION_NAME":       testSession,
		// Nothing else may supply credentials or endpoints.
		"AWS_CONFIG_FILE":                     filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE":         filepath.Join(dir, "no-credentials"),
		"AWS_ACCESS_KEY_ID":                   "",
		"AWS_SECRET_ACCESS_KEY":               "",
		"AWS_SESSION_TOKEN":                   "",
		"AWS_PROFILE":                         "",
		"AWS_ENDPOINT_URL":                    "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":  "",
		"AWS_EC2_METADATA_DISABLED":           "true",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	require.NoError(t, err)

	creds, err := cfg.Credentials.Retrieve(ctx)
	require.NoError(t, err)
	assert.Regexp(t, `^ASIA[A-Z2-7]{16}$`, creds.AccessKeyID)
	assert.Equal(t, testNow.Add(time.Hour), creds.Expires)
	assert.Equal(t, testAccount, creds.AccountID)

	// The same endpoint serves a client built from that configuration.
	_, err = sts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(testRoleARN),
		RoleSessionName:  aws.String(testSession),
		WebIdentityToken: aws.String(f.token(t, "system:serviceaccount:other:demo", nil)),
	})
	code, status := apiError(t, err)
	assert.Equal(t, "AccessDenied", code)
	assert.Equal(t, http.StatusForbidden, status)
}

// issuerFunc is a stsapi.CredentialIssuer built from a function.
type issuerFunc func(context.Context, *stsapi.IssueRequest) (*stsapi.Credentials, error)

func (f issuerFunc) Issue(ctx context.Context, req *stsapi.IssueRequest) (*stsapi.Credentials, error) {
	return f(ctx, req)
}

var _ stsapi.CredentialIssuer = issuerFunc(nil)

// A service's own CredentialIssuer, through serve's handler: the SDK gets its credentials,
// and it gets the configured RoleId; its failure is an InternalFailure.
func TestSDKEmbeddedCredentialIssuer(t *testing.T) {
	f := newFixture(t)
	var got *stsapi.IssueRequest
	for _, tc := range []struct {
		name   string
		issuer issuerFunc
		code   string
	}{
		{"issued", func(_ context.Context, req *stsapi.IssueRequest) (*stsapi.Credentials, error) {
			got = req
			return &stsapi.Credentials{AccessKeyID: "ASIAEMBEDDEDISSUER01", SecretAccessKey: "s", SessionToken: "t",
				Expiration: testNow.Add(req.Result.Duration)}, nil
		}, ""},
		{"failing", func(context.Context, *stsapi.IssueRequest) (*stsapi.Credentials, error) {
			return nil, errors.New("credential store unavailable")
		}, "InternalFailure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := newService(f.cfg, serviceOptions{Now: fixedClock, Issuer: tc.issuer})
			require.NoError(t, err)
			t.Cleanup(svc.Close)
			out, err := newSTSClient(newHTTPTestServer(t, svc.Handler())).AssumeRoleWithWebIdentity(
				context.Background(), assumeInput(testRoleARN, f.token(t, testSubject, nil)))
			if tc.code != "" {
				code, status := apiError(t, err)
				assert.Equal(t, tc.code, code)
				assert.Equal(t, http.StatusInternalServerError, status)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "ASIAEMBEDDEDISSUER01", aws.ToString(out.Credentials.AccessKeyId))
			require.NotNil(t, got)
			assert.Equal(t, testRoleID, got.RoleID)
			assert.Equal(t, testSubject, got.Result.Subject)
		})
	}
}

// Issue 10, item 12: serve's configuration registers one issuer in two accounts with client
// IDs of their own (EKS cross-account IRSA); the real SDK client assumes each account's role
// with a token for that account's client ID only, and a role of an account without a provider
// gets STS's InvalidIdentityToken.
func TestSDKOneIssuerInTwoAccounts(t *testing.T) {
	const acctB, acctC = "444455556666", "777788889999"
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/CROSS", Algorithms: []string{"ES256"}, Now: fixedClock})
	dir := t.TempDir()
	writeCA(t, dir, iss)
	policyFor := func(acct, aud string) map[string]any {
		p := irsaPolicy(iss, testSubject)
		st := p["Statement"].([]any)[0].(map[string]any)
		st["Principal"] = map[string]any{"Federated": iss.ProviderARN(acct)}
		st["Condition"].(map[string]any)["StringEquals"].(map[string]any)[iss.KeyPrefix()+":aud"] = aud
		return p
	}
	roleA, roleB, roleC := "arn:aws:iam::"+testAccount+":role/app", "arn:aws:iam::"+acctB+":role/app", "arn:aws:iam::"+acctC+":role/app"
	doc := map[string]any{
		"Providers": []any{
			map[string]any{"Url": iss.URL(), "Arn": iss.ProviderARN(testAccount), "ClientIDList": []string{"client-a"}},
			map[string]any{"Url": iss.URL(), "Arn": iss.ProviderARN(acctB), "ClientIDList": []string{"client-b"}},
		},
		"Roles": []any{
			map[string]any{"Role": map[string]any{"Arn": roleA, "AssumeRolePolicyDocument": policyFor(testAccount, "client-a")}},
			map[string]any{"Role": map[string]any{"Arn": roleB, "AssumeRolePolicyDocument": policyFor(acctB, "client-b")}},
		},
		"Keys": map[string]any{"AllowPrivateAddresses": true, "CAFile": "ca.pem"},
	}
	path := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(path, []byte(mustJSON(t, doc)), 0o600))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	assert.Empty(t, cfg.Warnings)
	svc, err := newService(cfg, serviceOptions{Now: fixedClock})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	client := sdkClient(srv)
	mint := func(aud string) string {
		return iss.MustMint(t, iss.Claims(testSubject, aud), testissuer.MintOptions{})
	}
	ctx := context.Background()
	for _, tc := range []struct {
		role, aud, code string
		provider        string
	}{
		{roleA, "client-a", "", iss.ProviderARN(testAccount)},
		{roleB, "client-b", "", iss.ProviderARN(acctB)},
		{roleB, "client-a", "InvalidIdentityToken", ""},
		{roleA, "client-b", "InvalidIdentityToken", ""},
		// C registers no provider (nor the role): the provider is looked up first, as STS does.
		{roleC, "client-a", "InvalidIdentityToken", ""},
	} {
		out, err := client.AssumeRoleWithWebIdentity(ctx, assumeInput(tc.role, mint(tc.aud)))
		if tc.code == "" {
			require.NoError(t, err, "%s with %s", tc.role, tc.aud)
			assert.Equal(t, tc.provider, aws.ToString(out.Provider))
			continue
		}
		code, status := apiError(t, err)
		assert.Equal(t, tc.code, code, "%s with %s", tc.role, tc.aud)
		assert.Equal(t, 400, status)
		if tc.role == roleC {
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, "No OpenIDConnect provider found in your account for "+iss.URL(), ae.ErrorMessage())
		}
	}
}
