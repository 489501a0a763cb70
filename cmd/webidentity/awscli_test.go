package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// awsCLI finds the AWS CLI (v1 or v2). CI installs Debian's awscli (.ci/run), so there a
// missing CLI fails the test; elsewhere it is skipped, with the reason.
func awsCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the AWS CLI (aws) is not on PATH; .ci/run installs Debian's awscli")
		}
		t.Skip("the AWS CLI (aws) is not on PATH: install it (Debian: apt-get install awscli) to run the README's local STS + IAM flow")
	}
	return path
}

// The README's "a local STS + IAM" flow with the real AWS CLI: create a provider and a role
// with aws iam, assume the role with aws sts and a token of the issuer, then see
// update-assume-role-policy and delete-open-id-connect-provider enforced, and a wrong secret
// refused.
func TestAWSCLILocalSTSAndIAM(t *testing.T) {
	cli := awsCLI(t)
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/DEMO", Algorithms: []string{"RS256"}})
	dir := t.TempDir()
	ca := writeCA(t, dir, iss)
	admins := writeAdmins(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done, logs := runServeAt(t, ctx, "-data", filepath.Join(dir, "data"), "-admin", admins,
		"-allow-private-addresses", "-ca-file", ca, "-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s")

	aws := func(secret string, args ...string) (map[string]any, string, error) {
		cmd := exec.Command(cli, append([]string{"--endpoint-url", base, "--output", "json"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+adminKey, "AWS_SECRET_ACCESS_KEY="+secret,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_PAGER=", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var out map[string]any
		if err == nil && strings.TrimSpace(stdout.String()) != "" {
			require.NoError(t, json.Unmarshal([]byte(stdout.String()), &out), stdout.String())
		}
		return out, stderr.String(), err
	}
	host := iss.KeyPrefix()
	trust := func(sub string) string {
		return mustJSON(t, map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Federated": iss.ProviderARN(testAccount)},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{host + ":sub": sub, host + ":aud": "sts.amazonaws.com"}},
		}}})
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trust.json"), []byte(trust("system:serviceaccount:default:demo")), 0o600))
	tok := iss.MustMint(t, iss.Claims("system:serviceaccount:default:demo", "sts.amazonaws.com"), testissuer.MintOptions{})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(tok), 0o600))

	// Older CLIs (Debian's 2.9) require --thumbprint-list: the issuer's certificate, which the
	// verifier then pins (it is in the verified chain of every fetch).
	sum := sha1.Sum(iss.Certificate().Raw)
	out, stderr, err := aws(adminSecret, "iam", "create-open-id-connect-provider", "--url", iss.URL(),
		"--client-id-list", "sts.amazonaws.com", "--thumbprint-list", hex.EncodeToString(sum[:]))
	require.NoError(t, err, "%s\n%s", stderr, logs)
	assert.Equal(t, iss.ProviderARN(testAccount), out["OpenIDConnectProviderArn"])
	out, stderr, err = aws(adminSecret, "iam", "create-role", "--role-name", "demo", "--assume-role-policy-document", "file://trust.json")
	require.NoError(t, err, "%s", stderr)
	role := out["Role"].(map[string]any)
	roleARN := role["Arn"].(string)
	// The CLI decodes the URL-encoded document and prints it as JSON.
	assert.IsType(t, map[string]any{}, role["AssumeRolePolicyDocument"])

	assume := func() (map[string]any, string, error) {
		return aws(adminSecret, "sts", "assume-role-with-web-identity", "--role-arn", roleARN,
			"--role-session-name", "demo", "--web-identity-token", "file://token")
	}
	out, stderr, err = assume()
	require.NoError(t, err, "%s\n%s", stderr, logs)
	assert.Equal(t, role["RoleId"].(string)+":demo", out["AssumedRoleUser"].(map[string]any)["AssumedRoleId"])

	_, stderr, err = aws(adminSecret, "iam", "update-assume-role-policy", "--role-name", "demo", "--policy-document", trust("system:serviceaccount:default:other"))
	require.NoError(t, err, "%s", stderr)
	_, stderr, err = assume()
	require.Error(t, err)
	assert.Contains(t, stderr, "(AccessDenied)")

	_, stderr, err = aws(adminSecret, "iam", "delete-open-id-connect-provider", "--open-id-connect-provider-arn", iss.ProviderARN(testAccount))
	require.NoError(t, err, "%s", stderr)
	_, stderr, err = assume()
	require.Error(t, err)
	assert.Contains(t, stderr, "(InvalidIdentityToken)")
	assert.Contains(t, stderr, "No OpenIDConnect provider found in your account for "+iss.URL())

	_, stderr, err = aws("a-wrong-secret-for-the-admin-key", "iam", "list-roles")
	require.Error(t, err)
	assert.Contains(t, stderr, "(SignatureDoesNotMatch)")

	cancel()
	awaitCleanExit(t, done, logs)
}
