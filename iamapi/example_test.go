package iamapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/iamapi"
)

// Example serves the IAM Query API over a registry and drives it with the AWS SDK for Go v2
// IAM client, signed with an admin key of account 111122223333. Everything runs in-process.
func Example() {
	reg := iam.New(iam.Options{Now: func() time.Time { return time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC) }})
	h, err := iamapi.NewHandler(iamapi.Options{
		Credentials: iamapi.StaticAdmins{
			"AKIAEXAMPLEADMIN": {SecretAccessKey: "example/secret/key", Account: "111122223333"},
		},
		Registry: reg,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	client := awsiam.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLEADMIN", "example/secret/key", ""),
	}, func(o *awsiam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()

	p, err := client.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{
		Url:          aws.String("https://token.actions.githubusercontent.com"),
		ClientIDList: []string{"sts.amazonaws.com"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(p.OpenIDConnectProviderArn))

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"` + aws.ToString(p.OpenIDConnectProviderArn) + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com",` +
		`"token.actions.githubusercontent.com:sub":"repo:example-org/app:ref:refs/heads/main"}}}]}`
	created, err := client.CreateRole(ctx, &awsiam.CreateRoleInput{
		RoleName:                 aws.String("deploy"),
		AssumeRolePolicyDocument: aws.String(trust),
		MaxSessionDuration:       aws.Int32(7200),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(created.Role.Arn), aws.ToTime(created.Role.CreateDate).Format(time.RFC3339))

	// IAM returns the trust policy URL-encoded; the Go SDK hands it over as it is.
	got, err := client.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("deploy")})
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, _ := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	fmt.Println("trust policy round-trips:", doc == trust)

	// The registry, which the verifier reads, has the role already.
	ro, err := reg.Role(aws.ToString(created.Role.Arn))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("registry:", ro.Name, ro.MaxSessionDuration)

	_, err = client.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("missing")})
	var nse *types.NoSuchEntityException
	fmt.Println("NoSuchEntity:", errors.As(err, &nse))
	// Output:
	// arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com
	// arn:aws:iam::111122223333:role/deploy 2026-12-01T09:30:00Z
	// trust policy round-trips: true
	// registry: deploy 2h0m0s
	// NoSuchEntity: true
}
