package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// reloadWorld is a service over a configuration file that a test rewrites.
type reloadWorld struct {
	iss  *testissuer.Issuer
	path string
	svc  *service
	base string
	logs *syncBuffer
}

// writeConfig writes a one-provider configuration whose role admits sub.
func (w *reloadWorld) writeConfig(t *testing.T, sub string) {
	t.Helper()
	doc := map[string]any{
		"Providers": []any{map[string]any{"Url": w.iss.URL(), "Arn": w.iss.ProviderARN(testAccount), "ClientIDList": []string{testAudience}}},
		"Roles": []any{map[string]any{"Role": map[string]any{
			"Arn": testRoleARN, "RoleId": testRoleID, "AssumeRolePolicyDocument": irsaPolicy(w.iss, sub),
		}}},
		"Keys": map[string]any{"AllowPrivateAddresses": true, "CAFile": "ca.pem"},
	}
	require.NoError(t, os.WriteFile(w.path, []byte(mustJSON(t, doc)), 0o600))
}

func newReloadWorld(t *testing.T) *reloadWorld {
	t.Helper()
	w := &reloadWorld{
		iss:  testissuer.Start(t, testissuer.Options{Path: "/id/RELOAD", Algorithms: []string{"ES256"}, Now: fixedClock}),
		logs: &syncBuffer{},
	}
	dir := t.TempDir()
	writeCA(t, dir, w.iss)
	w.path = filepath.Join(dir, "config.json")
	w.writeConfig(t, testSubject)
	cfg, err := LoadConfig(w.path)
	require.NoError(t, err)
	w.svc, err = newService(cfg, serviceOptions{Now: fixedClock, Logger: slog.New(slog.NewJSONHandler(w.logs, nil))})
	require.NoError(t, err)
	t.Cleanup(w.svc.Close)
	srv := httptest.NewServer(w.svc.Handler())
	t.Cleanup(srv.Close)
	w.base = srv.URL
	return w
}

func (w *reloadWorld) assume(t *testing.T, sub string) (string, error) {
	t.Helper()
	out, err := newSTSClient(w.base).AssumeRoleWithWebIdentity(context.Background(), assumeInput(testRoleARN,
		w.iss.MustMint(t, w.iss.Claims(sub, testAudience), testissuer.MintOptions{})))
	if err != nil {
		return "", err
	}
	return aws.ToString(out.AssumedRoleUser.AssumedRoleId), nil
}

// A reload replaces the configuration whole; a bad file keeps the old one, is logged and
// counted; the key cache survives reloads (no new fetch for a kept issuer).
func TestServiceReload(t *testing.T) {
	w := newReloadWorld(t)
	const other = "system:serviceaccount:payments:other"
	id, err := w.assume(t, testSubject)
	require.NoError(t, err)
	assert.Equal(t, testRoleID+":"+testSession, id, "the role's RoleId from the configuration")
	_, err = w.assume(t, other)
	require.Error(t, err)
	fetches := w.iss.Requests(testissuer.JWKS)

	// A new trust policy: the other service account gets in, the first one no longer.
	w.writeConfig(t, other)
	require.NoError(t, w.svc.reload(w.path))
	_, err = w.assume(t, other)
	assert.NoError(t, err)
	_, err = w.assume(t, testSubject)
	code, _ := apiError(t, err)
	assert.Equal(t, "AccessDenied", code)
	assert.Equal(t, fetches, w.iss.Requests(testissuer.JWKS), "the kept issuer's keys were kept")

	// Bad files: syntax, semantics, changed key settings. Each keeps the previous state.
	for name, content := range map[string]string{
		"syntax":    `{"Providers": [`,
		"semantics": `{"Providers": [], "Roles": []}`,
		"keys":      strings.Replace(mustRead(t, w.path), `"AllowPrivateAddresses":true`, `"AllowPrivateAddresses":false`, 1),
	} {
		require.NoError(t, os.WriteFile(w.path, []byte(content), 0o600))
		err := w.svc.reload(w.path)
		var ce *ConfigError
		assert.True(t, errors.As(err, &ce), "%s: %v", name, err)
		_, err = w.assume(t, other)
		assert.NoError(t, err, "%s: the previous configuration still decides", name)
	}
	require.NoError(t, os.Remove(w.path))
	assert.Error(t, w.svc.reload(w.path), "a missing file")
	_, err = w.assume(t, other)
	assert.NoError(t, err)

	ops := httptest.NewServer(w.svc.OpsHandler())
	defer ops.Close()
	fams := scrape(t, ops.URL)
	assert.Equal(t, 1.0, counter(fams, "webidentity_config_reloads_total", map[string]string{"result": "ok"}))
	assert.Equal(t, 4.0, counter(fams, "webidentity_config_reloads_total", map[string]string{"result": "error"}))
	assert.Contains(t, w.logs.String(), "configuration reload failed; keeping the previous configuration")
}

// Reloads while requests run (-race): each reload's configuration decides the next request.
func TestServiceReloadUnderTraffic(t *testing.T) {
	w := newReloadWorld(t)
	const other = "system:serviceaccount:payments:other"
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 2 {
		go func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				_, _ = w.assume(t, testSubject)
				_, _ = w.assume(t, other)
			}
		}()
	}
	for i := range 10 {
		sub := testSubject
		if i%2 == 0 {
			sub = other
		}
		w.writeConfig(t, sub)
		require.NoError(t, w.svc.reload(w.path))
		_, err := w.assume(t, sub)
		require.NoError(t, err, "reload %d: the new configuration decides the next request", i)
	}
	close(stop)
	for range 2 {
		require.NoError(t, <-errs)
	}
}

// The serve command reloads on SIGHUP.
func TestServeCommandSIGHUP(t *testing.T) {
	w := newReloadWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done, logs := runServeAsync(t, ctx, "-config", w.path, "-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s")
	w.base = base
	const other = "system:serviceaccount:payments:other"
	_, err := w.assume(t, other)
	require.Error(t, err)
	w.writeConfig(t, other)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		_, err := w.assume(t, other)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "SIGHUP did not reload:\n%s", logs)
	assert.Contains(t, logs.String(), "configuration reloaded")
	cancel()
	awaitCleanExit(t, done, logs)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
