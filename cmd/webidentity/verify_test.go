package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// runCmd runs a subcommand in-process with stdin and returns its exit status and output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, now: fixedClock}
	code := run(context.Background(), args, e)
	return code, stdout.String(), stderr.String()
}

func TestVerify(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"RS256"}, Now: fixedClock})
	other := testissuer.Start(t, testissuer.Options{Path: "/other", Now: fixedClock})
	dir := t.TempDir()
	ca := writeCA(t, dir, iss)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	jwksFile := write("jwks.json", string(iss.JWKS()))
	roleFile := write("role.json", mustJSON(t, map[string]any{"Role": map[string]any{
		"Arn": testRoleARN, "RoleName": "app", "AssumeRolePolicyDocument": irsaPolicy(iss, testSubject),
	}}))
	policyFile := write("policy.json", mustJSON(t, irsaPolicy(iss, testSubject)))
	good := iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	tokenFile := write("token", good+"\n")
	stranger := iss.MustMint(t, iss.Claims("system:serviceaccount:other:demo", testAudience), testissuer.MintOptions{})
	expiredClaims := iss.Claims(testSubject, testAudience)
	expiredClaims["exp"] = testNow.Add(-time.Hour).Unix()
	expired := iss.MustMint(t, expiredClaims, testissuer.MintOptions{})
	foreign := other.MustMint(t, other.Claims(testSubject, testAudience), testissuer.MintOptions{})

	online := []string{"verify", "-issuer", iss.URL(), "-allow-private-addresses", "-ca-file", ca}
	offline := []string{"verify", "-issuer", iss.URL(), "-jwks", jwksFile}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }

	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		exit    int
		code    string // error code in the output, "" for none
		valid   bool
		allowed *bool // nil: no role given
		effect  string
	}{
		{"online, token on stdin", online, good, exitOK, "", true, nil, ""},
		{"online, token file", with(online, "-token", tokenFile), "", exitOK, "", true, nil, ""},
		{"online without consent to reach loopback", []string{"verify", "-issuer", iss.URL(), "-ca-file", ca}, good, exitFail, "IDPCommunicationError", false, nil, ""},
		{"online without trusting the issuer's CA", []string{"verify", "-issuer", iss.URL(), "-allow-private-addresses"}, good, exitFail, "IDPCommunicationError", false, nil, ""},
		{"offline", offline, good, exitOK, "", true, nil, ""},
		{"offline, expired", offline, expired, exitFail, "ExpiredTokenException", false, nil, ""},
		{"offline, another issuer's token", offline, foreign, exitFail, "InvalidIdentityToken", false, nil, ""},
		{"offline, audience not accepted", with(offline, "-client-id", "other-client"), good, exitFail, "InvalidIdentityToken", false, nil, ""},
		{"offline, algorithm not allowed", with(offline, "-algorithm", "ES256"), good, exitFail, "InvalidIdentityToken", false, nil, ""},
		{"offline, garbage", offline, "garbage", exitFail, "InvalidIdentityToken", false, nil, ""},
		{"role allows", with(offline, "-role", roleFile), good, exitOK, "", true, ptr(true), "Allow"},
		{"role denies another namespace", with(offline, "-role", roleFile), stranger, exitFail, "AccessDenied", true, ptr(false), "ImplicitDeny"},
		{"role, expired token", with(online, "-role", roleFile), expired, exitFail, "ExpiredTokenException", false, ptr(false), ""},
		{"role, duration above its maximum", with(offline, "-role", roleFile, "-duration", "3601"), good, exitFail, "ValidationError", true, ptr(false), ""},
		{"policy with role ARN", with(offline, "-policy", policyFile, "-role-arn", testRoleARN), good, exitOK, "", true, ptr(true), "Allow"},
		{"policy with provider ARN", with(offline, "-policy", policyFile, "-provider-arn", iss.ProviderARN(testAccount)), good, exitOK, "", true, ptr(true), "Allow"},
		{"policy naming another provider", with(offline, "-policy", policyFile, "-role-arn", "arn:aws:iam::999999999999:role/x"), good, exitFail, "AccessDenied", true, ptr(false), "ImplicitDeny"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, tc.stdin, tc.args...)
			require.Equal(t, tc.exit, exit, "stderr: %s\nstdout: %s", stderr, stdout)
			var out verifyOutput
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&out))
			assert.Equal(t, tc.valid, out.Valid)
			assert.Equal(t, tc.allowed, out.Allowed)
			if tc.code == "" {
				assert.Nil(t, out.Error)
			} else if assert.NotNil(t, out.Error) {
				assert.Equal(t, tc.code, out.Error.Code)
				assert.NotEmpty(t, out.Error.Reason)
			}
			if tc.valid {
				var claims map[string]any
				require.NoError(t, json.Unmarshal(out.Claims, &claims))
				assert.Equal(t, iss.URL(), claims["iss"])
			} else {
				assert.Empty(t, out.Claims, "claims of a token that did not verify")
			}
			if tc.effect == "" {
				return
			}
			require.NotNil(t, out.Decision)
			assert.Equal(t, tc.effect, out.Decision.Effect)
			assert.NotEmpty(t, out.Decision.Reason)
		})
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no issuer", []string{"verify", "-jwks", jwksFile}},
		{"http issuer", []string{"verify", "-issuer", "http://" + iss.Host(), "-jwks", jwksFile}},
		{"role and policy", with(offline, "-role", roleFile, "-policy", policyFile)},
		{"policy without ARN", with(offline, "-policy", policyFile)},
		{"unreadable token file", with(offline, "-token", filepath.Join(dir, "nope"))},
		{"jwks file not a JWK Set", []string{"verify", "-issuer", iss.URL(), "-jwks", tokenFile}},
		{"role file not get-role output", with(offline, "-role", policyFile)},
		{"policy file invalid", with(offline, "-policy", roleFile, "-role-arn", testRoleARN)},
		{"missing CA file", with(online, "-ca-file", filepath.Join(dir, "nope.pem"))},
		{"stray argument", with(offline, "token")},
		{"unknown flag", with(offline, "-tokn", tokenFile)},
	} {
		t.Run("usage: "+tc.name, func(t *testing.T) {
			exit, stdout, _ := runCmd(t, good, tc.args...)
			assert.Equal(t, exitUsage, exit)
			assert.Empty(t, stdout)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestMainDispatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no command", nil, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"help", []string{"help"}, exitOK},
		{"verify help", []string{"verify", "-h"}, exitOK},
		{"lint help", []string{"lint", "-help"}, exitOK},
		{"demo help", []string{"demo", "-h"}, exitOK},
		{"demo stray argument", []string{"demo", "x"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, now: fixedClock}
			assert.Equal(t, tc.want, run(context.Background(), tc.args, e))
		})
	}
}

// verify prints the provider ARN only when it knows it: from -provider-arn, or in the
// account of the role it decides against; never a made-up one.
func TestVerifyProvider(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"RS256"}, Now: fixedClock})
	dir := t.TempDir()
	jwksFile := filepath.Join(dir, "jwks.json")
	require.NoError(t, os.WriteFile(jwksFile, iss.JWKS(), 0o600))
	policyFile := filepath.Join(dir, "policy.json")
	require.NoError(t, os.WriteFile(policyFile, []byte(mustJSON(t, irsaPolicy(iss, testSubject))), 0o600))
	good := iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	offline := []string{"verify", "-issuer", iss.URL(), "-jwks", jwksFile}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no role, no provider ARN", nil, ""},
		{"-provider-arn", []string{"-provider-arn", iss.ProviderARN("444455556666")}, iss.ProviderARN("444455556666")},
		{"the role's account", []string{"-policy", policyFile, "-role-arn", testRoleARN}, iss.ProviderARN(testAccount)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, good, append(append([]string{}, offline...), tc.args...)...)
			require.Equal(t, exitOK, exit, "stderr: %s", stderr)
			var out map[string]any
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			if tc.want == "" {
				assert.NotContains(t, out, "provider")
				assert.NotContains(t, stdout, "000000000000")
				return
			}
			assert.Equal(t, tc.want, out["provider"])
		})
	}
}

// A -role file that is a bare trust policy is refused with a hint to use -policy; get-role
// output still parses.
func TestVerifyRoleFileBarePolicy(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"RS256"}, Now: fixedClock})
	bare := mustJSON(t, irsaPolicy(iss, testSubject))
	getRole := mustJSON(t, map[string]any{"Role": map[string]any{"Arn": testRoleARN, "AssumeRolePolicyDocument": irsaPolicy(iss, testSubject)}})
	for _, tc := range []struct {
		name     string
		doc      string
		wantHint Hint // HintNone: parses
	}{
		{"get-role output", getRole, HintNone},
		{"bare trust policy", bare, HintBarePolicy},
		{"bare trust policy with whitespace", "\n  " + bare + "\n", HintBarePolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role, err := parseRoleFile([]byte(tc.doc))
			if tc.wantHint == HintNone {
				require.NoError(t, err)
				assert.Equal(t, testRoleARN, role.ARN)
				return
			}
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.wantHint, ce.Hint)

			file := filepath.Join(t.TempDir(), "role.json")
			require.NoError(t, os.WriteFile(file, []byte(tc.doc), 0o600))
			exit, stdout, stderr := runCmd(t, "", "verify", "-issuer", iss.URL(), "-jwks", file, "-role", file)
			assert.Equal(t, exitUsage, exit)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.wantHint.String(), "the hint reaches the user")
		})
	}
}

// Discovery refused for a loopback issuer says which flag allows it; other failures do not.
func TestVerifyLoopbackHint(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/EXAMPLE", Algorithms: []string{"RS256"}, Now: fixedClock})
	ca := writeCA(t, t.TempDir(), iss)
	good := iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	for _, tc := range []struct {
		name string
		args []string
		hint string
	}{
		{"loopback refused", []string{"-ca-file", ca}, hintAllowPrivate},
		{"allowed, but the CA is not trusted", []string{"-allow-private-addresses"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, good, append([]string{"verify", "-issuer", iss.URL()}, tc.args...)...)
			require.Equal(t, exitFail, exit)
			var out verifyOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			require.NotNil(t, out.Error)
			assert.Equal(t, "IDPCommunicationError", out.Error.Code)
			assert.Equal(t, tc.hint, out.Error.Hint)
			if tc.hint != "" {
				assert.Contains(t, stderr, tc.hint)
			}
		})
	}
}

// -jwks takes PEM as well as a JWK Set: public keys (and certificates) get the kid that
// kube-apiserver gives them, so a self-managed cluster's service-account public key verifies
// its tokens offline; a kid of another scheme does not match.
func TestVerifyPEMKeys(t *testing.T) {
	kube := testissuer.Start(t, testissuer.Options{KubeAPIServer: true, Algorithms: []string{"RS256"}, Now: fixedClock})
	plain := testissuer.Start(t, testissuer.Options{Algorithms: []string{"ES256"}, Now: fixedClock})
	dir := t.TempDir()
	pemFile := func(iss *testissuer.Issuer) string {
		der, err := x509.MarshalPKIXPublicKey(iss.PublicKey(iss.Kids()[0]))
		require.NoError(t, err)
		p := filepath.Join(dir, strings.ReplaceAll(iss.Host(), ":", "_")+".pem")
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
		return p
	}
	privFile := filepath.Join(dir, "private.pem")
	require.NoError(t, os.WriteFile(privFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), 0o600))
	token := func(iss *testissuer.Issuer) string {
		return iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	}

	tests := []struct {
		name string
		iss  *testissuer.Issuer
		file string
		exit int
		code string
	}{
		{"kube-apiserver key in PEM", kube, pemFile(kube), exitOK, ""},
		{"PEM key under another kid scheme", plain, pemFile(plain), exitFail, "InvalidIdentityToken"},
		{"private key PEM", kube, privFile, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, token(tt.iss), "verify", "-issuer", tt.iss.URL(), "-jwks", tt.file)
			require.Equal(t, tt.exit, exit, "stderr: %s\nstdout: %s", stderr, stdout)
			if tt.exit == exitUsage {
				assert.Empty(t, stdout)
				return
			}
			var out verifyOutput
			require.NoError(t, json.Unmarshal([]byte(stdout), &out))
			assert.Equal(t, tt.code == "", out.Valid)
			if tt.code != "" && assert.NotNil(t, out.Error) {
				assert.Equal(t, tt.code, out.Error.Code)
			}
		})
	}
}
