package iamapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iamapi"
)

// TestAuthenticateGoSDKClient checks requests as a Go SDK v2 Query API client shapes and
// signs them (its own headers, amz-sdk-invocation-id and amz-sdk-request among the signed
// ones, and its own clock). The STS client stands in here (same Query protocol and signer),
// with the Authenticator's Service set to "sts", to show that the Authenticator serves any
// Query API; the Handler's tests (TestHandler*SDK) sign with the IAM client itself.
func TestAuthenticateGoSDKClient(t *testing.T) {
	tests := []struct {
		name   string
		akid   string
		secret string
		code   string
		reason iamapi.Reason
	}{
		{name: "valid", akid: akid, secret: secret},
		{name: "wrong secret", akid: akid, secret: "wrong", code: iamapi.CodeSignatureDoesNotMatch, reason: iamapi.ReasonSignatureMismatch},
		{name: "unknown key id", akid: "AKIAUNKNOWN", secret: secret, code: iamapi.CodeInvalidClientTokenId, reason: iamapi.ReasonUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAuthServer(t, iamapi.Options{Service: "sts", Now: time.Now})
			client := sts.NewFromConfig(aws.Config{
				Region:      "eu-west-1",
				Credentials: credentials.NewStaticCredentialsProvider(tc.akid, tc.secret, ""),
				HTTPClient:  srv.Client(),
			}, func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
			out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			got := <-srv.results
			if tc.code == "" {
				require.NoError(t, err)
				require.NoError(t, got.err)
				assert.Equal(t, "111122223333", aws.ToString(out.Account))
				assert.Equal(t, tc.akid, got.p.AccessKeyID)
				assert.Equal(t, "eu-west-1", got.p.Region)
				assert.Contains(t, got.auth, "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date,")
				return
			}
			var ae *iamapi.AuthError
			require.True(t, errors.As(got.err, &ae), "error %v", got.err)
			assert.Equal(t, tc.code, ae.Code)
			assert.Equal(t, tc.reason, ae.Reason)
			var api smithy.APIError
			require.True(t, errors.As(err, &api), "client error %v", err)
			assert.Equal(t, tc.code, api.ErrorCode(), "the SDK parses the code")
			assert.False(t, strings.Contains(srv.logs.String(), tc.secret))
		})
	}
}
