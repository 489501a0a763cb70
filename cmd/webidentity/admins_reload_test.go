package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve -data: SIGHUP reads the -admin file again. A key removed from it is refused by the
// next call (InvalidClientTokenId), a key added works; a file that does not load keeps the
// keys in use.
func TestServeStoreSIGHUPReloadsAdmins(t *testing.T) {
	dir := t.TempDir()
	admins := writeAdmins(t, dir)
	args := []string{"-data", filepath.Join(dir, "data"), "-admin", admins,
		"-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done, logs := runServeAt(t, ctx, args...)

	const newKey, newSecret = "AKIAEXAMPLEADMIN0002", "example/admin/secret/key/0002"
	list := func(key, secret string) string {
		_, err := iamClient(base, key, secret).ListRoles(ctx, &awsiam.ListRolesInput{})
		if err == nil {
			return ""
		}
		var ae smithy.APIError
		require.True(t, errors.As(err, &ae), "%v", err)
		return ae.ErrorCode()
	}
	hup := func(wantLog string) {
		t.Helper()
		before := countLines(logs.String(), wantLog)
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
		require.Eventually(t, func() bool { return countLines(logs.String(), wantLog) > before },
			10*time.Second, 10*time.Millisecond, "no %q:\n%s", wantLog, logs)
	}
	require.Empty(t, list(adminKey, adminSecret), "%s", logs)
	assert.Equal(t, "InvalidClientTokenId", list(newKey, newSecret))

	// Rotate: the old key out, a new one in.
	doc := map[string]any{"Admins": []any{map[string]any{"AccessKeyId": newKey, "SecretAccessKey": newSecret, "Account": testAccount}}}
	require.NoError(t, os.WriteFile(admins, []byte(mustJSON(t, doc)), 0o600))
	hup("admin credentials reloaded")
	assert.Equal(t, "InvalidClientTokenId", list(adminKey, adminSecret), "a revoked key is refused at once")
	assert.Empty(t, list(newKey, newSecret))

	// A broken file keeps the keys in use.
	require.NoError(t, os.WriteFile(admins, []byte(`{"Admins": [`), 0o600))
	hup("admin credentials reload failed")
	assert.Empty(t, list(newKey, newSecret))
	assert.Equal(t, "InvalidClientTokenId", list(adminKey, adminSecret))

	cancel()
	awaitCleanExit(t, done, logs)
	assert.NotContains(t, logs.String(), newSecret)
}

// countLines counts the lines of s that contain sub.
func countLines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
