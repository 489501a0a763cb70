package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// Adversary tests of the IAM control plane that serve exposes (adv2). An admin key of the
// attacker's account (advAcctA) tries to reach the victim account (advAcctB) through the IAM
// API and through trust policies the registry accepts, on one serve address.

const (
	advAcctA   = "111122223333" // the attacker's account (testAccount)
	advAcctB   = "444455556666" // the victim's account
	advKeyB    = "AKIAEXAMPLEADMIN0002"
	advSecretB = "example/admin/secret/key/0002"
)

// advServe starts serve -data with two admin keys: adminKey for advAcctA, advKeyB for advAcctB.
func advServe(t *testing.T, iss *testissuer.Issuer) (base string, a, b *awsiam.Client, logs *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	ca := writeCA(t, dir, iss)
	path := filepath.Join(dir, "admins.json")
	doc := map[string]any{"Admins": []any{
		map[string]any{"AccessKeyId": adminKey, "SecretAccessKey": adminSecret, "Account": advAcctA},
		map[string]any{"AccessKeyId": advKeyB, "SecretAccessKey": advSecretB, "Account": advAcctB},
	}}
	require.NoError(t, os.WriteFile(path, []byte(mustJSON(t, doc)), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	base, _, logs = runServeAt(t, ctx, "-data", filepath.Join(dir, "data"), "-admin", path, "-allow-private-addresses",
		"-ca-file", ca, "-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s")
	return base, iamClient(base, adminKey, adminSecret), iamClient(base, advKeyB, advSecretB), logs
}

// trustDoc is a one-statement trust policy of the Federated principal fed with cond.
func trustDoc(fed string, cond map[string]any) map[string]any {
	st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"Federated": fed}, "Action": "sts:AssumeRoleWithWebIdentity"}
	if cond != nil {
		st["Condition"] = cond
	}
	return map[string]any{"Version": "2012-10-17", "Statement": []any{st}}
}

func advCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "%v", err)
	return ae.ErrorCode()
}

// HOLDS: account A's admin key cannot read or change account B's provider or role by ARN, by
// RoleName (any case), or by listing; B's state is unchanged afterwards.
func TestAdversaryIAMCrossAccountAPI(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/ADV", Algorithms: []string{"ES256"}})
	_, a, b, logs := advServe(t, iss)
	ctx := context.Background()
	pB, err := b.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(iss.URL()), ClientIDList: []string{testAudience}})
	require.NoError(t, err, "%s", logs)
	_, err = b.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("Victim"),
		AssumeRolePolicyDocument: aws.String(mustJSON(t, irsaPolicyFor(iss, advAcctB, testSubject)))})
	require.NoError(t, err)

	arnB := pB.OpenIDConnectProviderArn
	_, err = a.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnB})
	assert.Equal(t, "AccessDenied", advCode(t, err))
	_, err = a.DeleteOpenIDConnectProvider(ctx, &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnB})
	assert.Equal(t, "AccessDenied", advCode(t, err))
	_, err = a.AddClientIDToOpenIDConnectProvider(ctx, &awsiam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnB, ClientID: aws.String("evil")})
	assert.Equal(t, "AccessDenied", advCode(t, err))
	for _, name := range []string{"Victim", "victim", "VICTIM"} {
		_, err = a.DeleteRole(ctx, &awsiam.DeleteRoleInput{RoleName: aws.String(name)})
		assert.Equal(t, "NoSuchEntity", advCode(t, err), name)
		_, err = a.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name),
			PolicyDocument: aws.String(mustJSON(t, irsaPolicyFor(iss, advAcctB, "*")))})
		assert.Equal(t, "NoSuchEntity", advCode(t, err), name)
	}
	lp, err := a.ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	require.NoError(t, err)
	assert.Empty(t, lp.OpenIDConnectProviderList)
	lr, err := a.ListRoles(ctx, &awsiam.ListRolesInput{})
	require.NoError(t, err)
	assert.Empty(t, lr.Roles)

	got, err := b.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnB})
	require.NoError(t, err)
	assert.Equal(t, []string{testAudience}, got.ClientIDList)
	_, err = b.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("Victim")})
	require.NoError(t, err)
}

// irsaPolicyFor is irsaPolicy with the provider of account acct.
func irsaPolicyFor(iss *testissuer.Issuer, acct, sub string) map[string]any {
	p := irsaPolicy(iss, sub)
	p["Statement"].([]any)[0].(map[string]any)["Principal"] = map[string]any{"Federated": iss.ProviderARN(acct)}
	return p
}

// Trust policies of account A's roles that try to let in tokens they should not: one naming
// account B's provider (B registered the issuer, A did not), and one whose conditions are on
// the keys of another issuer (absent from the request, so they must not match, as in IAM's
// evaluation: StringEquals on a missing key is false). Each role is either refused by
// CreateRole or refused by AssumeRoleWithWebIdentity; a token must never get credentials.
func TestAdversaryIAMTrustPolicies(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/ADVTRUST", Algorithms: []string{"ES256"}})
	base, a, b, logs := advServe(t, iss)
	ctx := context.Background()
	sts := newSTSClient(base)
	token := iss.MustMint(t, iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	_, err := b.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(iss.URL()), ClientIDList: []string{testAudience}})
	require.NoError(t, err, "%s", logs)

	cases := []struct {
		name   string
		setup  func(t *testing.T)
		policy map[string]any
	}{
		{name: "OtherAccountProvider", policy: irsaPolicyFor(iss, advAcctB, testSubject)},
		{name: "FederatedListWithOtherAccount", policy: trustDoc("", nil)},
		{name: "PrincipalStar", policy: trustDoc("", nil)},
		{name: "FederatedAccountWildcard", policy: trustDoc("arn:aws:iam::*:oidc-provider/"+iss.KeyPrefix(), nil)},
		{name: "ConditionOnOtherIssuerKeys", setup: func(t *testing.T) {
			_, err := a.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(iss.URL()), ClientIDList: []string{testAudience}})
			require.NoError(t, err)
		}, policy: trustDoc(iss.ProviderARN(advAcctA), map[string]any{"StringEquals": map[string]any{
			"other.example.com:sub": "nobody", "other.example.com:aud": "nobody"}})},
	}
	st := func(p map[string]any) map[string]any { return p["Statement"].([]any)[0].(map[string]any) }
	st(cases[1].policy)["Principal"] = map[string]any{"Federated": []any{iss.ProviderARN(advAcctB), iss.ProviderARN(advAcctA)}}
	st(cases[2].policy)["Principal"] = "*"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			r, err := a.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(tc.name),
				AssumeRolePolicyDocument: aws.String(mustJSON(t, tc.policy))})
			if err != nil {
				assert.Equal(t, "MalformedPolicyDocument", advCode(t, err))
				return
			}
			_, err = sts.AssumeRoleWithWebIdentity(ctx, assumeInput(aws.ToString(r.Role.Arn), token))
			require.Error(t, err, "the token got credentials for %s", aws.ToString(r.Role.Arn))
		})
	}
}

// HOLDS: routing tricks on serve's one address (byService picks IAM by the scope's service):
// a valid IAM signature behind a first Authorization header naming sts, a scope spelled "IAM",
// and an unsigned DeleteRole all reach a handler that changes nothing.
func TestAdversaryIAMRouting(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/ADVROUTE", Algorithms: []string{"ES256"}})
	base, a, _, logs := advServe(t, iss)
	ctx := context.Background()
	_, err := a.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("keep"),
		AssumeRolePolicyDocument: aws.String(mustJSON(t, irsaPolicyFor(iss, advAcctA, testSubject)))})
	require.NoError(t, err, "%s", logs)
	const body = "Action=DeleteRole&Version=2010-05-08&RoleName=keep"
	signed := func(service string) *http.Request {
		req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(body))
		require.NoError(t, v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: adminKey, SecretAccessKey: adminSecret},
			req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()))
		return req
	}
	reqs := map[string]*http.Request{}
	r := signed("iam")
	r.Header["Authorization"] = append([]string{strings.Replace(r.Header.Get("Authorization"), "/iam/", "/sts/", 1)}, r.Header["Authorization"]...)
	reqs["StsHeaderFirst"] = r
	r = signed("iam")
	r.Header["Authorization"] = append(r.Header["Authorization"], strings.Replace(r.Header.Get("Authorization"), "/iam/", "/sts/", 1))
	reqs["StsHeaderSecond"] = r
	r = signed("iam")
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/iam/", "/IAM/", 1))
	reqs["UpperCaseScope"] = r
	r = signed("sts")
	reqs["StsScope"] = r
	r, err = http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	reqs["Unsigned"] = r
	// IAM's answers: an unsigned IAM call is MissingAuthenticationToken (the STS handler, which
	// gets unsigned requests, forwards IAM actions to IAM), one signed for sts is refused for
	// its scope, as IAM refuses it.
	wantCode := map[string]string{"Unsigned": "MissingAuthenticationToken", "StsScope": "SignatureDoesNotMatch"}
	for name, req := range reqs {
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, name)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, name)
		if code, ok := wantCode[name]; ok {
			var e struct {
				Code string `xml:"Error>Code"`
			}
			require.NoError(t, xml.Unmarshal(raw, &e), "%s: %s", name, raw)
			assert.Equal(t, code, e.Code, name)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, name)
		}
		_, err = a.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("keep")})
		require.NoError(t, err, "%s deleted the role", name)
	}
	// The control: the same request, signed and routed normally, does delete it.
	resp, err := http.DefaultClient.Do(signed("iam"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = a.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("keep")})
	assert.Equal(t, "NoSuchEntity", advCode(t, err))
}
