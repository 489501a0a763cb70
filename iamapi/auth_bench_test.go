package iamapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iamapi"
)

// createRoleBody is a typical CreateRole form body (about 600 bytes), as botocore sends it.
const createRoleBody = "Action=CreateRole&Version=2010-05-08&RoleName=ci-deploy&Path=%2Fci%2F" +
	"&AssumeRolePolicyDocument=%7B%22Version%22%3A+%222012-10-17%22%2C+%22Statement%22%3A+%5B%7B%22Effect%22%3A+%22Allow%22%2C+" +
	"%22Principal%22%3A+%7B%22Federated%22%3A+%22arn%3Aaws%3Aiam%3A%3A111122223333%3Aoidc-provider%2Ftoken.actions.githubusercontent.com%22%7D%2C+" +
	"%22Action%22%3A+%22sts%3AAssumeRoleWithWebIdentity%22%2C+%22Condition%22%3A+%7B%22StringLike%22%3A+%7B%22" +
	"token.actions.githubusercontent.com%3Asub%22%3A+%22repo%3Aorg%2Frepo%3A%2A%22%7D%7D%7D%5D%7D" +
	"&Tags.member.1.Key=team&Tags.member.1.Value=platform"

// signedServerRequest returns a server-side request as net/http hands it to a handler,
// signed by the SDK as a Go SDK client signs (content-length, content-type, host,
// x-amz-date, amz-sdk-*).
func signedServerRequest(b *testing.B, body string) *http.Request {
	b.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://iam.example.internal/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Amz-Sdk-Invocation-Id", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux api/iam#1.0")
	require.NoError(b, v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, payloadHash(body), "iam", "us-east-1", t0))
	return req
}

// BenchmarkAuthenticate measures Authenticate on a typical signed CreateRole; "sdk-sign" is
// the SDK signer alone signing the same request with the same signed headers and hashing
// the body (the floor: Authenticate is one such signing plus parsing and the rebuild).
func BenchmarkAuthenticate(b *testing.B) {
	a, err := iamapi.NewAuthenticator(iamapi.Options{Credentials: admins, Now: func() time.Time { return t0 }})
	require.NoError(b, err)
	req := signedServerRequest(b, createRoleBody)
	body := []byte(createRoleBody)
	_, err = a.Authenticate(req, body)
	require.NoError(b, err)

	b.Run("authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Authenticate(req, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk-sign", func(b *testing.B) {
		signer := v4.NewSigner()
		creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
		b.ReportAllocs()
		for b.Loop() {
			c := &http.Request{Method: http.MethodPost, URL: req.URL, Host: req.Host, ContentLength: req.ContentLength,
				Header: http.Header{"content-type": req.Header["Content-Type"],
					"amz-sdk-invocation-id": req.Header["Amz-Sdk-Invocation-Id"], "amz-sdk-request": req.Header["Amz-Sdk-Request"]}}
			if err := signer.SignHTTP(context.Background(), creds, c, payloadHash(createRoleBody), "iam", "us-east-1", t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refused-wrong-signature", func(b *testing.B) {
		bad := req.Clone(context.Background())
		auth := bad.Header.Get("Authorization")
		bad.Header.Set("Authorization", auth[:len(auth)-4]+"0000")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Authenticate(bad, body); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
