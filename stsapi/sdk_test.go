package stsapi

// The official AWS SDK for Go v2 against the handler over real HTTP: what an IRSA pod sees.
// The SDK is a test dependency only.

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSDKAnswer(t *testing.T) {
	f := newFixture(t, nil)
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(f.srv.URL),
		Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{},
	})
	in := func(duration int32) *sts.AssumeRoleWithWebIdentityInput {
		i := &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(testRoleARN), RoleSessionName: aws.String(testSession),
			WebIdentityToken: aws.String(f.token(t, testSubject, nil)),
		}
		if duration != 0 {
			i.DurationSeconds = aws.Int32(duration)
		}
		return i
	}

	out, err := client.AssumeRoleWithWebIdentity(context.Background(), in(0))
	require.NoError(t, err)
	assert.Equal(t, f.iss.ProviderARN(testAccount), aws.ToString(out.Provider), "Provider is the provider ARN, as real STS answers")
	assert.Equal(t, testSubject, aws.ToString(out.SubjectFromWebIdentityToken))

	_, err = client.AssumeRoleWithWebIdentity(context.Background(), in(7201))
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, "ValidationError", ae.ErrorCode())
	assert.Contains(t, ae.ErrorMessage(), "DurationSeconds", "the message names the parameter")
}
