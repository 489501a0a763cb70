package main

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

const (
	adminKey    = "AKIAEXAMPLEADMIN0001"
	adminSecret = "example/admin/secret/key/0001"
)

// runServeAt is runServeAsync with the real clock: the SDK clients sign with it.
func runServeAt(t *testing.T, ctx context.Context, args ...string) (string, <-chan int, *syncBuffer) {
	t.Helper()
	return runServeClock(t, ctx, time.Now, args...)
}

func writeAdmins(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "admins.json")
	doc := map[string]any{"Admins": []any{map[string]any{"AccessKeyId": adminKey, "SecretAccessKey": adminSecret, "Account": testAccount}}}
	require.NoError(t, os.WriteFile(path, []byte(mustJSON(t, doc)), 0o600))
	return path
}

func iamClient(base, key, secret string) *awsiam.Client {
	return awsiam.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
	}, func(o *awsiam.Options) { o.BaseEndpoint = aws.String(base) })
}

// serve -data: the real Go SDK IAM client creates a provider and a role; the STS client
// assumes it; UpdateAssumeRolePolicy and DeleteOpenIDConnectProvider are enforced by the next
// AssumeRoleWithWebIdentity; the state survives a restart; IAM refuses other credentials and
// STS stays unsigned, all on one address.
func TestServeStoreIAMAndSTS(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/STORE", Algorithms: []string{"ES256"}})
	dir := t.TempDir()
	ca := writeCA(t, dir, iss)
	admins := writeAdmins(t, dir)
	data := filepath.Join(dir, "data")
	args := []string{"-data", data, "-admin", admins, "-allow-private-addresses", "-ca-file", ca,
		"-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s"}
	ctx, cancel := context.WithCancel(context.Background())
	base, done, logs := runServeAt(t, ctx, args...)
	admin := iamClient(base, adminKey, adminSecret)
	sts := newSTSClient(base)
	token := func(sub string) string {
		return iss.MustMint(t, iss.Claims(sub, testAudience), testissuer.MintOptions{})
	}

	p, err := admin.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{
		Url: aws.String(iss.URL()), ClientIDList: []string{testAudience},
	})
	require.NoError(t, err, "%s", logs)
	assert.Equal(t, iss.ProviderARN(testAccount), aws.ToString(p.OpenIDConnectProviderArn))
	role, err := admin.CreateRole(ctx, &awsiam.CreateRoleInput{
		RoleName: aws.String("app"), Path: aws.String("/eks/"),
		AssumeRolePolicyDocument: aws.String(mustJSON(t, irsaPolicy(iss, testSubject))),
	})
	require.NoError(t, err)
	roleARN, roleID := aws.ToString(role.Role.Arn), aws.ToString(role.Role.RoleId)
	assert.Equal(t, testRoleARN, roleARN)

	out, err := sts.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(testSubject)))
	require.NoError(t, err, "%s", logs)
	assert.Equal(t, roleID+":"+testSession, aws.ToString(out.AssumedRoleUser.AssumedRoleId))
	assert.Equal(t, iss.ProviderARN(testAccount), aws.ToString(out.Provider))

	// A trust policy for another service account: the next request is denied.
	const other = "system:serviceaccount:payments:other"
	_, err = admin.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{
		RoleName: aws.String("app"), PolicyDocument: aws.String(mustJSON(t, irsaPolicy(iss, other))),
	})
	require.NoError(t, err)
	_, err = sts.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(testSubject)))
	code, _ := apiError(t, err)
	assert.Equal(t, "AccessDenied", code)
	_, err = sts.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(other)))
	require.NoError(t, err)

	// IAM refuses other credentials; nothing changes.
	_, err = iamClient(base, adminKey, "wrong/secret/for/the/admin/key").DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, "SignatureDoesNotMatch", ae.ErrorCode())
	_, err = iamClient(base, "AKIAUNKNOWNKEY000001", adminSecret).DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, "InvalidClientTokenId", ae.ErrorCode())

	// Restart on the same data directory: everything is still there.
	cancel()
	awaitCleanExit(t, done, logs)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	base, done, logs = runServeAt(t, ctx, args...)
	admin, sts = iamClient(base, adminKey, adminSecret), newSTSClient(base)
	got, err := admin.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("app")})
	require.NoError(t, err, "%s", logs)
	assert.Equal(t, roleID, aws.ToString(got.Role.RoleId))
	doc, err := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	require.NoError(t, err)
	assert.Contains(t, doc, other, "the updated policy survived the restart")
	_, err = sts.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(other)))
	require.NoError(t, err, "%s", logs)

	// Deleting the provider: the account's tokens of the issuer are refused as STS does.
	_, err = admin.DeleteOpenIDConnectProvider(ctx, &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.OpenIDConnectProviderArn})
	require.NoError(t, err)
	_, err = sts.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(other)))
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, "InvalidIdentityToken", ae.ErrorCode())
	assert.Equal(t, "No OpenIDConnect provider found in your account for "+iss.URL(), ae.ErrorMessage())
	_, err = admin.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.OpenIDConnectProviderArn})
	var nse *iamtypes.NoSuchEntityException
	assert.True(t, errors.As(err, &nse), "%v", err)

	cancel()
	awaitCleanExit(t, done, logs)
	assert.NotContains(t, logs.String(), adminSecret, "the secret is never logged")
}

// serve -data -config imports the file into an empty store (first boot) and leaves a store
// with content alone; the import command refuses a store with content unless -replace.
func TestServeStoreImport(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/IMPORT", Algorithms: []string{"ES256"}})
	cfgPath := healthyConfig(t, iss)
	dir := t.TempDir()
	admins := writeAdmins(t, dir)
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	base, done, logs := runServeAt(t, ctx, "-data", data, "-admin", admins, "-config", cfgPath,
		"-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s")
	assert.Contains(t, logs.String(), "configuration imported into the empty store")
	admin := iamClient(base, adminKey, adminSecret)
	list, err := admin.ListRoles(ctx, &awsiam.ListRolesInput{})
	require.NoError(t, err, "%s", logs)
	require.Len(t, list.Roles, 2)
	_, err = newSTSClient(base).AssumeRoleWithWebIdentity(ctx, assumeInput(testRoleARN,
		iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})))
	require.NoError(t, err, "%s", logs)
	_, err = admin.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
	require.NoError(t, err)
	cancel()
	awaitCleanExit(t, done, logs)

	// Second boot with the same file: the store has content and wins.
	ctx2, cancel2 := context.WithCancel(context.Background())
	base, done, logs = runServeAt(t, ctx2, "-data", data, "-admin", admins, "-config", cfgPath,
		"-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s")
	assert.Contains(t, logs.String(), "the store has content")
	list, err = iamClient(base, adminKey, adminSecret).ListRoles(ctx2, &awsiam.ListRolesInput{})
	require.NoError(t, err)
	assert.Len(t, list.Roles, 1, "the deleted role did not come back")
	cancel2()
	awaitCleanExit(t, done, logs)

	// The import command.
	var stdout, stderr strings.Builder
	e := &env{stdout: &stdout, stderr: &stderr, now: time.Now}
	assert.Equal(t, exitFail, run(context.Background(), []string{"import", "-config", cfgPath, "-data", data}, e), stderr.String())
	assert.Contains(t, stderr.String(), "-replace")
	assert.Equal(t, exitOK, run(context.Background(), []string{"import", "-config", cfgPath, "-data", data, "-replace"}, e), stderr.String())
	assert.Contains(t, stdout.String(), "imported 1 providers and 2 roles")
}

// Usage errors of the store flags.
func TestServeStoreUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-data", dir}, // no -admin
		{"-admin", "x.json", "-config", "c.json"}, // -admin without -data
		{"-config", "c.json", "-allow-private-addresses"},
		{"-data", dir, "-admin", "x.json", "-config", "c.json", "-ca-file", "ca.pem"},
	} {
		var stderr strings.Builder
		code := run(context.Background(), append([]string{"serve"}, args...), &env{stdout: io.Discard, stderr: &stderr, now: time.Now})
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr.String())
	}
	bad := filepath.Join(dir, "admins.json")
	for name, doc := range map[string]string{
		"empty":         `{"Admins": []}`,
		"short secret":  `{"Admins": [{"AccessKeyId": "AKIAEXAMPLEADMIN0001", "SecretAccessKey": "short", "Account": "111122223333"}]}`,
		"bad account":   `{"Admins": [{"AccessKeyId": "AKIAEXAMPLEADMIN0001", "SecretAccessKey": "0123456789abcdef", "Account": "1111"}]}`,
		"unknown field": `{"Admins": [{"AccessKeyId": "AKIAEXAMPLEADMIN0001", "Secret": "0123456789abcdef", "Account": "111122223333"}]}`,
	} {
		require.NoError(t, os.WriteFile(bad, []byte(doc), 0o600))
		_, err := LoadAdmins(bad)
		var ce *ConfigError
		assert.True(t, errors.As(err, &ce), "%s: %v", name, err)
		if ce != nil {
			assert.NotContains(t, ce.Error(), "0123456789abcdef", "%s: a secret is never quoted", name)
		}
	}
}
