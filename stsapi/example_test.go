package stsapi_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/stsapi"
	"github.com/webidentity/webidentity/verifier"
)

// storeIssuer is a service's own CredentialIssuer: here it hands out numbered keys; a real
// one would call its credential store with req.Result.RoleARN, req.Policy and req.PolicyARNs.
type storeIssuer struct{ next int }

func (s *storeIssuer) Issue(_ context.Context, req *stsapi.IssueRequest) (*stsapi.Credentials, error) {
	s.next++ // a real issuer is safe for concurrent use; this one serves one request at a time
	return &stsapi.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIASTOREEXAMPLE%04d", s.next),
		SecretAccessKey: "secret-from-the-store",
		SessionToken:    "token-from-the-store",
		Expiration:      time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(req.Result.Duration),
	}, nil
}

// Example mounts the STS Query API with the service's own CredentialIssuer, over a verifier
// whose provider keys are pinned (offline), and answers one allowed and one denied request.
func Example() {
	iss, err := testissuer.New(testissuer.Options{Path: "/id/EXAMPLE"})
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	parsed, _, err := jwks.ParseJWKS(iss.JWKS())
	if err != nil {
		panic(err)
	}
	keys, err := jwks.NewStatic(iss.URL(), parsed...)
	if err != nil {
		panic(err)
	}
	host := strings.TrimPrefix(iss.URL(), "https://")
	providerARN := "arn:aws:iam::111122223333:oidc-provider/" + host
	const roleARN = "arn:aws:iam::111122223333:role/app"
	trust, err := policy.Parse([]byte(`{"Version": "2012-10-17", "Statement": [{
	  "Effect": "Allow", "Principal": {"Federated": "` + providerARN + `"},
	  "Action": "sts:AssumeRoleWithWebIdentity",
	  "Condition": {"StringEquals": {"` + host + `:sub": "system:serviceaccount:default:demo",
	                                 "` + host + `:aud": "sts.amazonaws.com"}}}]}`))
	if err != nil {
		panic(err)
	}
	roles, err := verifier.NewStaticRoles(&verifier.Role{ARN: roleARN, TrustPolicy: trust})
	if err != nil {
		panic(err)
	}
	v, err := verifier.New(verifier.Options{
		Providers: []verifier.Provider{{URL: iss.URL(), ARN: providerARN, ClientIDs: []string{"sts.amazonaws.com"}}},
		Roles:     roles,
		Keys:      keys,
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	h, err := stsapi.NewHandler(stsapi.Options{
		Verifier: v,
		Issuer:   &storeIssuer{},
		RoleIDs:  stsapi.StaticRoleIDs{roleARN: "AROAEXAMPLEAPPROLE01"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/{$}", h) // the STS endpoint; the service's other routes go beside it

	for _, sub := range []string{"system:serviceaccount:default:demo", "system:serviceaccount:other:demo"} {
		token, err := iss.Mint(iss.Claims(sub, "sts.amazonaws.com"), testissuer.MintOptions{})
		if err != nil {
			panic(err)
		}
		form := url.Values{
			"Action": {stsapi.Action}, "Version": {stsapi.Version}, "RoleArn": {roleARN},
			"RoleSessionName": {"session-1"}, "WebIdentityToken": {token},
		}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)

		var out struct {
			AccessKeyID  string `xml:"AssumeRoleWithWebIdentityResult>Credentials>AccessKeyId"`
			AssumedRole  string `xml:"AssumeRoleWithWebIdentityResult>AssumedRoleUser>Arn"`
			Expiration   string `xml:"AssumeRoleWithWebIdentityResult>Credentials>Expiration"`
			ErrorCode    string `xml:"Error>Code"`
			ErrorMessage string `xml:"Error>Message"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			panic(err)
		}
		if rec.Code == http.StatusOK {
			fmt.Println(rec.Code, out.AccessKeyID, out.AssumedRole, out.Expiration)
		} else {
			fmt.Println(rec.Code, out.ErrorCode+":", out.ErrorMessage)
		}
	}
	// Output:
	// 200 ASIASTOREEXAMPLE0001 arn:aws:sts::111122223333:assumed-role/app/session-1 2030-01-01T01:00:00Z
	// 403 AccessDenied: not authorized to perform sts:AssumeRoleWithWebIdentity
}
