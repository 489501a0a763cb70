package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// testNow is the fixed clock of every test that decides.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

const (
	testAccount  = "111122223333"
	testRoleARN  = "arn:aws:iam::" + testAccount + ":role/eks/app"
	testRoleID   = "AROAEXAMPLEROLEID0001"
	testRole2ARN = "arn:aws:iam::" + testAccount + ":role/other"
	testDownRole = "arn:aws:iam::" + testAccount + ":role/down"
	testSubject  = "system:serviceaccount:default:demo"
	testAudience = "sts.amazonaws.com"
	testSession  = "build-42"
)

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

// fixture is a running serve handler over real HTTP, with two providers: iss (healthy) and
// down (its server is closed, so its keys cannot be fetched).
type fixture struct {
	iss, down  *testissuer.Issuer
	dir        string
	configPath string
	cfg        *Config
	svc        *service
	srv        *httptest.Server // the public listener: STS API, /healthz, /readyz
	ops        *httptest.Server // the operational listener: /metrics, /healthz, /readyz
	logs       *syncBuffer
}

// irsaPolicy is an IRSA trust policy for iss admitting the subjects that match sub with
// StringEquals, or StringLike when sub has a '*'.
func irsaPolicy(iss *testissuer.Issuer, sub string) map[string]any {
	cond := map[string]any{"StringEquals": map[string]any{
		iss.KeyPrefix() + ":aud": testAudience,
		iss.KeyPrefix() + ":sub": sub,
	}}
	if strings.Contains(sub, "*") {
		cond = map[string]any{
			"StringEquals": map[string]any{iss.KeyPrefix() + ":aud": testAudience},
			"StringLike":   map[string]any{iss.KeyPrefix() + ":sub": sub},
		}
	}
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": iss.ProviderARN(testAccount)},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": cond,
		}},
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// writeCA writes iss's certificate as a PEM file and returns its path.
func writeCA(t testing.TB, dir string, iss *testissuer.Issuer) string {
	t.Helper()
	path := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(path,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Certificate().Raw}), 0o600))
	return path
}

// testConfigDoc returns a serve configuration for the fixture's issuers, in the shapes the AWS
// CLI prints: the first provider's Url without scheme (get-open-id-connect-provider), the
// first role's policy as a JSON object (get-role via the CLI), the second's URL-encoded
// (the IAM API).
func testConfigDoc(t testing.TB, iss, down *testissuer.Issuer) map[string]any {
	t.Helper()
	return map[string]any{
		"Providers": []any{
			map[string]any{
				"Url": iss.KeyPrefix(), "Arn": iss.ProviderARN(testAccount), "ClientIDList": []string{testAudience},
				"ThumbprintList": []string{}, "CreateDate": "2024-01-01T00:00:00+00:00", "Tags": []any{},
			},
			map[string]any{"Url": down.URL(), "Arn": down.ProviderARN(testAccount), "ClientIDList": []string{testAudience}},
		},
		"Roles": []any{
			map[string]any{"Role": map[string]any{
				"Path": "/eks/", "RoleName": "app", "RoleId": testRoleID, "Arn": testRoleARN,
				"CreateDate": "2024-01-01T00:00:00+00:00", "MaxSessionDuration": 7200,
				"AssumeRolePolicyDocument": irsaPolicy(iss, testSubject),
				"RoleLastUsed":             map[string]any{},
			}},
			map[string]any{"Role": map[string]any{
				"Arn":                      testRole2ARN,
				"AssumeRolePolicyDocument": url.QueryEscape(mustJSON(t, irsaPolicy(iss, "system:serviceaccount:ci:*"))),
			}},
			map[string]any{"Role": map[string]any{
				"Arn":                      testDownRole,
				"AssumeRolePolicyDocument": irsaPolicy(down, testSubject),
			}},
		},
		"Keys": map[string]any{"AllowPrivateAddresses": true, "CAFile": "ca.pem"},
	}
}

// newFixture starts the issuers, writes the configuration, loads it as serve does and mounts
// the handler on an httptest server. The keys are not prefetched.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		iss:  testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"ES256"}, Now: fixedClock}),
		down: testissuer.Start(t, testissuer.Options{Path: "/down", Algorithms: []string{"ES256"}, Now: fixedClock}),
		dir:  t.TempDir(),
		logs: &syncBuffer{},
	}
	f.down.Close()
	writeCA(t, f.dir, f.iss)
	f.configPath = filepath.Join(f.dir, "config.json")
	require.NoError(t, os.WriteFile(f.configPath, []byte(mustJSON(t, testConfigDoc(t, f.iss, f.down))), 0o600))
	cfg, err := LoadConfig(f.configPath)
	require.NoError(t, err)
	f.cfg = cfg
	f.svc, err = newService(cfg, serviceOptions{
		Now:    fixedClock,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	t.Cleanup(f.svc.Close)
	f.srv = httptest.NewServer(f.svc.Handler())
	t.Cleanup(f.srv.Close)
	f.ops = httptest.NewServer(f.svc.OpsHandler())
	t.Cleanup(f.ops.Close)
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
