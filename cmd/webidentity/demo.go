package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/stsapi"
	"github.com/webidentity/webidentity/verifier"
)

// The demo's fixed names.
const (
	demoAccount  = "111122223333"
	demoPath     = "/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	demoRoleARN  = "arn:aws:iam::" + demoAccount + ":role/demo-app"
	demoAudience = "sts.amazonaws.com"
	demoSubject  = "system:serviceaccount:default:demo"
	demoOther    = "system:serviceaccount:other:demo"
	demoSession  = "demo-session"
)

// demoStep is one AssumeRoleWithWebIdentity of the demo, as printed with -json.
type demoStep struct {
	Step     string        `json:"step"`
	Subject  string        `json:"subject"`
	Allowed  bool          `json:"allowed"`
	Code     string        `json:"code,omitempty"`
	Status   int           `json:"status,omitempty"` // the HTTP status serve would answer with
	Reason   string        `json:"reason,omitempty"`
	Decision *decisionJSON `json:"decision,omitempty"`
	// AccessKeyID is set on the last step, which goes through the STS Query API.
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

// runDemo is the demo subcommand.
func runDemo(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("demo", e)
	asJSON := fs.Bool("json", false, "print each step as a JSON line instead of prose")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webidentity demo [-json]")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if code := noArgs(fs); code >= 0 {
		return code
	}
	if err := demo(ctx, e, *asJSON); err != nil {
		fmt.Fprintf(e.stderr, "webidentity demo: %v\n", err)
		return exitFail
	}
	return exitOK
}

// demoTrustPolicy is an IRSA trust policy, as eksctl writes it, for the demo's issuer.
func demoTrustPolicy(providerARN, hostPath string) string {
	return `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "` + providerARN + `"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
      "StringEquals": {
        "` + hostPath + `:aud": "` + demoAudience + `",
        "` + hostPath + `:sub": "` + demoSubject + `"
      }
    }
  }]
}`
}

func demo(ctx context.Context, e *env, asJSON bool) error {
	say := func(format string, a ...any) {
		if !asJSON {
			fmt.Fprintf(e.stdout, format, a...)
		}
	}
	emit := func(s demoStep) error {
		if asJSON {
			return json.NewEncoder(e.stdout).Encode(s)
		}
		return nil
	}

	iss, err := testissuer.New(testissuer.Options{Path: demoPath, Algorithms: []string{"RS256"}, Now: e.now})
	if err != nil {
		return err
	}
	defer iss.Close()
	hostPath := strings.TrimPrefix(iss.URL(), "https://")
	providerARN := "arn:aws:iam::" + demoAccount + ":oidc-provider/" + hostPath
	say("webidentity demo: AssumeRoleWithWebIdentity, as EKS IRSA uses it, against an embedded OIDC issuer.\n\n")
	say("1. An OIDC issuer runs at %s\n", iss.URL())
	say("   (discovery document, JWKS with one RS256 key; loopback TLS, for this demo only)\n")

	trust := demoTrustPolicy(providerARN, hostPath)
	p, err := policy.Parse([]byte(trust))
	if err != nil {
		return err
	}
	cfg := &Config{
		Providers: []verifier.Provider{{URL: iss.URL(), ARN: providerARN, ClientIDs: []string{demoAudience}}},
		Roles: []*RoleConfig{{
			Role:      &verifier.Role{ARN: demoRoleARN, TrustPolicy: p, MaxSessionDuration: time.Hour},
			Name:      "demo-app",
			ID:        derivedRoleID(demoRoleARN),
			Partition: "aws",
			Account:   demoAccount,
		}},
		// The issuer is on 127.0.0.1 with httptest's certificate: both need explicit consent.
		Keys: KeysConfig{AllowPrivateAddresses: true, RootCAs: iss.RootCAs()},
	}
	svc, err := newService(cfg, serviceOptions{Now: e.now})
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.prefetch(ctx); err != nil {
		return fmt.Errorf("fetching the issuer's keys: %w", err)
	}
	say("2. It is registered as provider %s\n", providerARN)
	say("   with client ID %s; its keys were fetched through discovery.\n", demoAudience)
	say("3. Role %s trusts it with this policy:\n%s\n", demoRoleARN, indent(trust, "   "))

	now := e.now()
	tokens := []struct {
		step, subject, what string
		claims              map[string]any
	}{
		{"allowed", demoSubject, "the service account default/demo", iss.Claims(demoSubject, demoAudience)},
		{"other-namespace", demoOther, "the service account other/demo (another namespace)", iss.Claims(demoOther, demoAudience)},
		{"expired", demoSubject, "default/demo, with a token that expired an hour ago", map[string]any{
			"iss": iss.URL(), "sub": demoSubject, "aud": demoAudience,
			"iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(),
		}},
	}
	say("4. AssumeRoleWithWebIdentity(RoleArn=%s, RoleSessionName=%s, WebIdentityToken=...)\n", demoRoleARN, demoSession)
	var allowedToken string
	for i, tc := range tokens {
		token, err := iss.Mint(tc.claims, testissuer.MintOptions{})
		if err != nil {
			return err
		}
		if i == 0 {
			allowedToken = token
		}
		res, err := svc.live.AssumeRoleWithWebIdentity(ctx, &verifier.Request{
			RoleARN: demoRoleARN, RoleSessionName: demoSession, WebIdentityToken: token,
		})
		step := demoStep{Step: tc.step, Subject: tc.subject, Allowed: err == nil}
		if res != nil {
			step.Decision = newDecisionJSON(res.Decision)
		}
		say("\n   as %s:\n", tc.what)
		if err == nil {
			say("   ALLOWED: a %s session for subject %s\n", res.Duration, res.Subject)
			say("   why: %s\n", res.Decision.Reason)
		} else {
			var verr *verifier.Error
			if !errors.As(err, &verr) {
				return err
			}
			step.Code, step.Reason, step.Status = string(verr.Code), verr.Reason.String(), stsapi.HTTPStatus(string(verr.Code))
			say("   DENIED with %s (HTTP %d): %s\n", verr.Code, step.Status, verr.Message)
			if res != nil {
				say("   why: %s\n", res.Decision.Reason)
			} else if verr.Err != nil {
				say("   why: %s (%v)\n", verr.Reason.String(), verr.Err)
			} else {
				say("   why: %s\n", verr.Reason.String())
			}
		}
		if err := emit(step); err != nil {
			return err
		}
	}

	// The allowed request once more, over HTTP through the STS Query API that serve runs.
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	form := url.Values{
		"Action": {stsapi.Action}, "Version": {stsapi.Version}, "RoleArn": {demoRoleARN},
		"RoleSessionName": {demoSession}, "WebIdentityToken": {allowedToken},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := srv.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var out struct { // the parts of AssumeRoleWithWebIdentityResponse the demo prints
		Result struct {
			SubjectFromWebIdentityToken string
			AssumedRoleUser             struct{ Arn string }
			Credentials                 struct {
				AccessKeyID string `xml:"AccessKeyId"`
				Expiration  string
			}
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("STS endpoint answered %s", resp.Status)
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		return err
	}
	c := out.Result.Credentials
	say("\n5. The same allowed request through the STS Query API (what `webidentity serve` answers):\n")
	say("   POST %s Action=%s&Version=%s&RoleArn=...&WebIdentityToken=...\n", srv.URL, stsapi.Action, stsapi.Version)
	say("   HTTP %d, x-amzn-RequestId %s\n", resp.StatusCode, resp.Header.Get("x-amzn-RequestId"))
	say("   AssumedRoleUser %s\n", out.Result.AssumedRoleUser.Arn)
	say("   AccessKeyId %s, Expiration %s\n", c.AccessKeyID, c.Expiration)
	say("   (local credentials: random, they grant nothing in AWS)\n")
	say("\nNext: go doc ./cmd/webidentity, and bash .ci/run for the tests.\n")
	return emit(demoStep{Step: "sts-query-api", Subject: out.Result.SubjectFromWebIdentityToken, Allowed: true,
		Status: resp.StatusCode, AccessKeyID: c.AccessKeyID})
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
