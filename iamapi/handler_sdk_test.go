package iamapi_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/iamapi"
	"github.com/webidentity/webidentity/policy"
)

const (
	githubURL = "https://token.actions.githubusercontent.com"
	githubARN = "arn:aws:iam::" + acctA + ":oidc-provider/token.actions.githubusercontent.com"
	thumb1    = "6938fd4d98bab03faadb97b34396831e3780aea1"
	thumb2    = "1c58a3a8518e8759bf075b76b750d4f2df264fcd"
)

func tags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func tagMap(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func tagKeysOf(ts []types.Tag) []string {
	var out []string
	for _, t := range ts {
		out = append(out, aws.ToString(t.Key))
	}
	return out
}

// TestHandlerProvidersSDK runs every OpenID Connect provider action through the Go SDK v2
// IAM client and checks each change in the registry, which sees it as soon as the answer
// arrives.
func TestHandlerProvidersSDK(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	c := srv.client(akid, secret)

	created, err := c.CreateOpenIDConnectProvider(ctx(), &awsiam.CreateOpenIDConnectProviderInput{
		Url:            aws.String(githubURL),
		ClientIDList:   []string{"sts.amazonaws.com"},
		ThumbprintList: []string{thumb1},
		Tags:           tags("team", "platform", "env", "prod"),
	})
	require.NoError(t, err)
	assert.Equal(t, githubARN, aws.ToString(created.OpenIDConnectProviderArn))
	assert.Equal(t, []string{"env", "team"}, tagKeysOf(created.Tags), "tags sorted by key")
	p, err := srv.reg.OIDCProvider("aws", acctA, githubURL)
	require.NoError(t, err, "the registry sees the provider at once")
	assert.Equal(t, []string{"sts.amazonaws.com"}, p.ClientIDs)

	got, err := c.GetOpenIDConnectProvider(ctx(), &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: created.OpenIDConnectProviderArn})
	require.NoError(t, err)
	assert.Equal(t, "token.actions.githubusercontent.com", aws.ToString(got.Url), "IAM answers the URL without https://")
	assert.Equal(t, []string{"sts.amazonaws.com"}, got.ClientIDList)
	assert.Equal(t, []string{thumb1}, got.ThumbprintList)
	assert.Equal(t, t0, aws.ToTime(got.CreateDate))
	assert.Equal(t, map[string]string{"team": "platform", "env": "prod"}, tagMap(got.Tags))

	_, err = c.AddClientIDToOpenIDConnectProvider(ctx(), &awsiam.AddClientIDToOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: created.OpenIDConnectProviderArn, ClientID: aws.String("my-app")})
	require.NoError(t, err)
	p, _ = srv.reg.OIDCProvider("aws", acctA, githubURL)
	assert.Equal(t, []string{"sts.amazonaws.com", "my-app"}, p.ClientIDs)
	assert.True(t, p.AcceptsClientID("my-app"))

	_, err = c.RemoveClientIDFromOpenIDConnectProvider(ctx(), &awsiam.RemoveClientIDFromOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: created.OpenIDConnectProviderArn, ClientID: aws.String("sts.amazonaws.com")})
	require.NoError(t, err)
	p, _ = srv.reg.OIDCProvider("aws", acctA, githubURL)
	assert.Equal(t, []string{"my-app"}, p.ClientIDs)

	_, err = c.UpdateOpenIDConnectProviderThumbprint(ctx(), &awsiam.UpdateOpenIDConnectProviderThumbprintInput{
		OpenIDConnectProviderArn: created.OpenIDConnectProviderArn, ThumbprintList: []string{thumb2, thumb1}})
	require.NoError(t, err)
	p, _ = srv.reg.OIDCProvider("aws", acctA, githubURL)
	assert.Equal(t, []string{thumb2, thumb1}, p.Thumbprints)

	_, err = c.TagOpenIDConnectProvider(ctx(), &awsiam.TagOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: created.OpenIDConnectProviderArn, Tags: tags("cost-center", "42", "env", "staging")})
	require.NoError(t, err)
	_, err = c.UntagOpenIDConnectProvider(ctx(), &awsiam.UntagOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: created.OpenIDConnectProviderArn, TagKeys: []string{"TEAM"}})
	require.NoError(t, err, "keys compare ignoring case")
	p, _ = srv.reg.OIDCProvider("aws", acctA, githubURL)
	assert.ElementsMatch(t, []iam.Tag{{Key: "env", Value: "staging"}, {Key: "cost-center", Value: "42"}}, p.Tags)

	// ListOpenIDConnectProviderTags, one tag per page.
	var pages [][]string
	pager := awsiam.NewListOpenIDConnectProviderTagsPaginator(c, &awsiam.ListOpenIDConnectProviderTagsInput{
		OpenIDConnectProviderArn: created.OpenIDConnectProviderArn, MaxItems: aws.Int32(1)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx())
		require.NoError(t, err)
		pages = append(pages, tagKeysOf(page.Tags))
	}
	assert.Equal(t, [][]string{{"cost-center"}, {"env"}}, pages)

	// A second provider, then the list.
	_, err = c.CreateOpenIDConnectProvider(ctx(), &awsiam.CreateOpenIDConnectProviderInput{
		Url: aws.String("https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"), ClientIDList: []string{"sts.amazonaws.com"}})
	require.NoError(t, err, "thumbprints are optional")
	list, err := c.ListOpenIDConnectProviders(ctx(), &awsiam.ListOpenIDConnectProvidersInput{})
	require.NoError(t, err)
	var arns []string
	for _, e := range list.OpenIDConnectProviderList {
		arns = append(arns, aws.ToString(e.Arn))
	}
	assert.Equal(t, []string{
		"arn:aws:iam::" + acctA + ":oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789",
		githubARN,
	}, arns)

	_, err = c.DeleteOpenIDConnectProvider(ctx(), &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: created.OpenIDConnectProviderArn})
	require.NoError(t, err)
	_, err = srv.reg.OIDCProvider("aws", acctA, githubURL)
	assert.ErrorIs(t, err, iam.ErrNoSuchEntity, "the registry misses the provider at once")
	_, err = c.DeleteOpenIDConnectProvider(ctx(), &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: created.OpenIDConnectProviderArn})
	assert.NoError(t, err, "DeleteOpenIDConnectProvider is idempotent, as documented")
	_, err = c.GetOpenIDConnectProvider(ctx(), &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: created.OpenIDConnectProviderArn})
	var nse *types.NoSuchEntityException
	assert.True(t, errors.As(err, &nse), "%v", err)
}

// TestHandlerRolesSDK runs every role action through the Go SDK v2 IAM client.
func TestHandlerRolesSDK(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	c := srv.client(akid, secret)
	doc := trustPolicy("repo:org/repo:*")

	out, err := c.CreateRole(ctx(), &awsiam.CreateRoleInput{
		RoleName:                 aws.String("ci-deploy"),
		Path:                     aws.String("/ci/"),
		AssumeRolePolicyDocument: aws.String(doc),
		Description:              aws.String("Déploiement CI"),
		MaxSessionDuration:       aws.Int32(7200),
		Tags:                     tags("team", "platform"),
	})
	require.NoError(t, err)
	arn := "arn:aws:iam::" + acctA + ":role/ci/ci-deploy"
	r := out.Role
	assert.Equal(t, arn, aws.ToString(r.Arn))
	assert.Equal(t, "ci-deploy", aws.ToString(r.RoleName))
	assert.Equal(t, "/ci/", aws.ToString(r.Path))
	assert.Regexp(t, `^AROA[A-Z2-7]{17}$`, aws.ToString(r.RoleId))
	assert.Equal(t, t0, aws.ToTime(r.CreateDate))
	assert.Equal(t, int32(7200), aws.ToInt32(r.MaxSessionDuration))
	assert.Equal(t, "Déploiement CI", aws.ToString(r.Description))
	assert.Equal(t, map[string]string{"team": "platform"}, tagMap(r.Tags))
	decoded, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	require.NoError(t, err)
	assert.Equal(t, doc, decoded)

	ro, err := srv.reg.Role(arn)
	require.NoError(t, err, "the registry sees the role at once")
	assert.Equal(t, aws.ToString(r.RoleId), ro.RoleID)
	assert.Equal(t, 2*time.Hour, ro.MaxSessionDuration)

	got, err := c.GetRole(ctx(), &awsiam.GetRoleInput{RoleName: aws.String("CI-DEPLOY")})
	require.NoError(t, err, "role names resolve ignoring case, as in IAM")
	assert.Equal(t, arn, aws.ToString(got.Role.Arn))
	assert.Equal(t, map[string]string{"team": "platform"}, tagMap(got.Role.Tags))

	doc2 := trustPolicy("repo:org/repo:ref:refs/heads/main")
	_, err = c.UpdateAssumeRolePolicy(ctx(), &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("ci-deploy"), PolicyDocument: aws.String(doc2)})
	require.NoError(t, err)
	ro, _ = srv.reg.Role(arn)
	assert.Equal(t, doc2, ro.TrustPolicyDocument)

	_, err = c.UpdateRole(ctx(), &awsiam.UpdateRoleInput{RoleName: aws.String("ci-deploy"), MaxSessionDuration: aws.Int32(43200)})
	require.NoError(t, err)
	ro, _ = srv.reg.Role(arn)
	assert.Equal(t, 12*time.Hour, ro.MaxSessionDuration)
	assert.Equal(t, "Déploiement CI", ro.Description, "an absent Description is left as it is")

	_, err = c.UpdateRole(ctx(), &awsiam.UpdateRoleInput{RoleName: aws.String("ci-deploy"), Description: aws.String("")})
	require.NoError(t, err)
	ro, _ = srv.reg.Role(arn)
	assert.Equal(t, "", ro.Description, "an empty Description clears it")
	assert.Equal(t, 12*time.Hour, ro.MaxSessionDuration)

	desc, err := c.UpdateRoleDescription(ctx(), &awsiam.UpdateRoleDescriptionInput{RoleName: aws.String("ci-deploy"), Description: aws.String("deploys")})
	require.NoError(t, err)
	assert.Equal(t, "deploys", aws.ToString(desc.Role.Description))
	assert.Equal(t, int32(43200), aws.ToInt32(desc.Role.MaxSessionDuration))

	_, err = c.TagRole(ctx(), &awsiam.TagRoleInput{RoleName: aws.String("ci-deploy"), Tags: tags("a", "1", "b", "2", "TEAM", "infra")})
	require.NoError(t, err)
	ro, _ = srv.reg.Role(arn)
	assert.ElementsMatch(t, []iam.Tag{{Key: "TEAM", Value: "infra"}, {Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, ro.Tags,
		"TagRole replaces a key's value, ignoring case")
	_, err = c.UntagRole(ctx(), &awsiam.UntagRoleInput{RoleName: aws.String("ci-deploy"), TagKeys: []string{"b", "missing"}})
	require.NoError(t, err)

	var pages [][]string
	pager := awsiam.NewListRoleTagsPaginator(c, &awsiam.ListRoleTagsInput{RoleName: aws.String("ci-deploy"), MaxItems: aws.Int32(1)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx())
		require.NoError(t, err)
		pages = append(pages, tagKeysOf(page.Tags))
	}
	assert.Equal(t, [][]string{{"TEAM"}, {"a"}}, pages, "sorted by key, one page each")

	_, err = c.DeleteRole(ctx(), &awsiam.DeleteRoleInput{RoleName: aws.String("ci-deploy")})
	require.NoError(t, err)
	_, err = srv.reg.Role(arn)
	assert.ErrorIs(t, err, iam.ErrNoSuchEntity, "the registry misses the role at once")
}

// TestHandlerListRolesPagingSDK pages through ListRoles one role at a time with the SDK's
// paginator (Marker, IsTruncated), with and without a PathPrefix, and across a deletion
// between pages.
func TestHandlerListRolesPagingSDK(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	c := srv.client(akid, secret)
	for _, r := range []struct{ name, path string }{
		{"delta", "/"}, {"Alpha", "/teams/a/"}, {"charlie", "/teams/b/"}, {"bravo", "/"}, {"echo", "/teams/a/"},
	} {
		_, err := c.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String(r.name), Path: aws.String(r.path),
			AssumeRolePolicyDocument: aws.String(trustPolicy("repo:org/" + r.name + ":*"))})
		require.NoError(t, err)
	}
	list := func(prefix *string) (names []string, truncated []bool) {
		pager := awsiam.NewListRolesPaginator(c, &awsiam.ListRolesInput{PathPrefix: prefix, MaxItems: aws.Int32(1)})
		for pager.HasMorePages() {
			page, err := pager.NextPage(ctx())
			require.NoError(t, err)
			require.Len(t, page.Roles, 1)
			names = append(names, aws.ToString(page.Roles[0].RoleName))
			truncated = append(truncated, page.IsTruncated)
			assert.Empty(t, page.Roles[0].Tags, "ListRoles does not return tags, as IAM")
		}
		return names, truncated
	}
	names, truncated := list(nil)
	assert.Equal(t, []string{"Alpha", "bravo", "charlie", "delta", "echo"}, names, "sorted by name ignoring case")
	assert.Equal(t, []bool{true, true, true, true, false}, truncated)
	names, _ = list(aws.String("/teams/"))
	assert.Equal(t, []string{"Alpha", "charlie", "echo"}, names)
	names, _ = list(aws.String("/teams/a/"))
	assert.Equal(t, []string{"Alpha", "echo"}, names)

	all, err := c.ListRoles(ctx(), &awsiam.ListRolesInput{})
	require.NoError(t, err)
	assert.Len(t, all.Roles, 5)
	assert.False(t, all.IsTruncated)
	assert.Nil(t, all.Marker)

	// A deletion between pages: the next page resumes at the marker's name or after it.
	first, err := c.ListRoles(ctx(), &awsiam.ListRolesInput{MaxItems: aws.Int32(2)})
	require.NoError(t, err)
	require.True(t, first.IsTruncated)
	_, err = c.DeleteRole(ctx(), &awsiam.DeleteRoleInput{RoleName: aws.String("charlie")})
	require.NoError(t, err)
	next, err := c.ListRoles(ctx(), &awsiam.ListRolesInput{Marker: first.Marker})
	require.NoError(t, err)
	names = nil
	for _, r := range next.Roles {
		names = append(names, aws.ToString(r.RoleName))
	}
	assert.Equal(t, []string{"delta", "echo"}, names)
}

// trickyDocument is a trust policy with every character class a percent-encoding can get
// wrong: spaces, quotes, "&", "+", "/", "=", "%", "*", "~", "${...}" policy variables,
// white space of each kind, and non-ASCII Latin-1.
const trickyDocument = "{\n\t\"Version\": \"2012-10-17\",\r\n  \"Statement\": [{\n" +
	"    \"Sid\": \"AllowGitHub\",\n" +
	"    \"Effect\": \"Allow\",\n" +
	"    \"Principal\": {\"Federated\": \"arn:aws:iam::" + acctA + ":oidc-provider/token.actions.githubusercontent.com\"},\n" +
	"    \"Action\": \"sts:AssumeRoleWithWebIdentity\",\n" +
	"    \"Condition\": {\n" +
	"      \"StringEquals\": {\"token.actions.githubusercontent.com:aud\": \"sts.amazonaws.com\"},\n" +
	"      \"StringLike\": {\"token.actions.githubusercontent.com:sub\": [\n" +
	"        \"repo:org/a+b & c=d:ref:refs/heads/feature 100%*~\",\n" +
	"        \"repo:org/${token.actions.githubusercontent.com:aud}:*\",\n" +
	"        \"repo:señor/café-ÿ:environment:prod ©\",\n" +
	"        \"repo:org/quote\\\"d:*\"\n" +
	"      ]}\n" +
	"    }\n" +
	"  }]\n}"

// TestHandlerTrustPolicyRoundTripSDK checks that the trust policy the Go SDK client sends
// comes back (after the URL-decoding IAM's documentation asks of callers) byte for byte, from
// CreateRole, GetRole and ListRoles, and after UpdateAssumeRolePolicy.
func TestHandlerTrustPolicyRoundTripSDK(t *testing.T) {
	_, err := policy.Parse([]byte(trickyDocument))
	require.NoError(t, err, "the document is a valid trust policy")
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{MaxTrustPolicyLength: -1})
	c := srv.client(akid, secret)
	decode := func(s *string) string {
		t.Helper()
		raw := aws.ToString(s)
		assert.NotContains(t, raw, " ", "spaces are %20")
		assert.NotContains(t, raw, "+", "plus is %2B")
		out, err := url.QueryUnescape(raw)
		require.NoError(t, err)
		path, err := url.PathUnescape(raw)
		require.NoError(t, err)
		assert.Equal(t, out, path, "query and path unescaping agree: no '+' to tell apart")
		return out
	}

	created, err := c.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("tricky"), AssumeRolePolicyDocument: aws.String(trickyDocument)})
	require.NoError(t, err)
	assert.Equal(t, trickyDocument, decode(created.Role.AssumeRolePolicyDocument))
	ro, err := srv.reg.Role(aws.ToString(created.Role.Arn))
	require.NoError(t, err)
	assert.Equal(t, trickyDocument, ro.TrustPolicyDocument, "the registry holds the document as sent")

	got, err := c.GetRole(ctx(), &awsiam.GetRoleInput{RoleName: aws.String("tricky")})
	require.NoError(t, err)
	assert.Equal(t, trickyDocument, decode(got.Role.AssumeRolePolicyDocument))
	list, err := c.ListRoles(ctx(), &awsiam.ListRolesInput{})
	require.NoError(t, err)
	require.Len(t, list.Roles, 1)
	assert.Equal(t, trickyDocument, decode(list.Roles[0].AssumeRolePolicyDocument))

	updated := strings.ReplaceAll(trickyDocument, "prod ©", "staging ®±")
	_, err = c.UpdateAssumeRolePolicy(ctx(), &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("tricky"), PolicyDocument: aws.String(updated)})
	require.NoError(t, err)
	got, err = c.GetRole(ctx(), &awsiam.GetRoleInput{RoleName: aws.String("tricky")})
	require.NoError(t, err)
	assert.Equal(t, updated, decode(got.Role.AssumeRolePolicyDocument))
}

// TestHandlerErrorsSDK checks each error code the handler answers as the Go SDK client sees
// it: its typed error (errors.As), the smithy.APIError code, the HTTP status; and that a
// refused request changed nothing.
func TestHandlerErrorsSDK(t *testing.T) {
	badPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringNotAllowed":{"a":"b"}}}]}`
	_, parseErr := policy.Parse([]byte(badPolicy))
	var pe *policy.ParseError
	require.True(t, errors.As(parseErr, &pe), "the document does not parse: %v", parseErr)
	require.NotEmpty(t, pe.Path)

	var commitFails atomic.Bool
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{
		MaxRolesPerAccount: 2,
		Commit: func(iam.Change) error {
			if commitFails.Load() {
				return errors.New("disk full")
			}
			return nil
		},
	})
	a, b := srv.client(akid, secret), srv.client(akid2, secret2)
	_, err := a.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trustPolicy("repo:org/app:*"))})
	require.NoError(t, err)
	_, err = a.CreateOpenIDConnectProvider(ctx(), &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(githubURL), ClientIDList: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	otherARN := "arn:aws:iam::" + acctB + ":oidc-provider/token.actions.githubusercontent.com"

	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
		typed  func(error) bool
		msgHas string // a fragment the message must carry (computed, not worded here)
	}{
		{
			name: "EntityAlreadyExists role",
			call: func() error {
				_, err := a.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("APP"), AssumeRolePolicyDocument: aws.String(trustPolicy("x"))})
				return err
			},
			code: "EntityAlreadyExists", status: 409,
			typed: func(err error) bool { var e *types.EntityAlreadyExistsException; return errors.As(err, &e) },
		},
		{
			name: "EntityAlreadyExists provider",
			call: func() error {
				_, err := a.CreateOpenIDConnectProvider(ctx(), &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(githubURL)})
				return err
			},
			code: "EntityAlreadyExists", status: 409,
			typed: func(err error) bool { var e *types.EntityAlreadyExistsException; return errors.As(err, &e) },
		},
		{
			name: "NoSuchEntity role",
			call: func() error {
				_, err := a.GetRole(ctx(), &awsiam.GetRoleInput{RoleName: aws.String("missing")})
				return err
			},
			code: "NoSuchEntity", status: 404,
			typed: func(err error) bool { var e *types.NoSuchEntityException; return errors.As(err, &e) },
		},
		{
			name: "NoSuchEntity role of another account",
			call: func() error {
				_, err := b.DeleteRole(ctx(), &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
				return err
			},
			code: "NoSuchEntity", status: 404,
			typed: func(err error) bool { var e *types.NoSuchEntityException; return errors.As(err, &e) },
		},
		{
			name: "NoSuchEntity provider",
			call: func() error {
				_, err := a.AddClientIDToOpenIDConnectProvider(ctx(), &awsiam.AddClientIDToOpenIDConnectProviderInput{
					OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + acctA + ":oidc-provider/example.com"), ClientID: aws.String("x")})
				return err
			},
			code: "NoSuchEntity", status: 404,
			typed: func(err error) bool { var e *types.NoSuchEntityException; return errors.As(err, &e) },
		},
		{
			name: "MalformedPolicyDocument",
			call: func() error {
				_, err := a.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String(badPolicy)})
				return err
			},
			code: "MalformedPolicyDocument", status: 400, msgHas: pe.Path,
			typed: func(err error) bool { var e *types.MalformedPolicyDocumentException; return errors.As(err, &e) },
		},
		{
			name: "MalformedPolicyDocument on update",
			call: func() error {
				_, err := a.UpdateAssumeRolePolicy(ctx(), &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String("{")})
				return err
			},
			code: "MalformedPolicyDocument", status: 400,
			typed: func(err error) bool { var e *types.MalformedPolicyDocumentException; return errors.As(err, &e) },
		},
		{
			name: "ValidationError role name",
			call: func() error {
				_, err := a.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("no spaces"), AssumeRolePolicyDocument: aws.String(trustPolicy("x"))})
				return err
			},
			code: "ValidationError", status: 400, msgHas: "RoleName",
		},
		{
			name: "ValidationError session duration",
			call: func() error {
				_, err := a.UpdateRole(ctx(), &awsiam.UpdateRoleInput{RoleName: aws.String("app"), MaxSessionDuration: aws.Int32(60)})
				return err
			},
			code: "ValidationError", status: 400, msgHas: "MaxSessionDuration",
		},
		{
			name: "ValidationError thumbprint",
			call: func() error {
				_, err := a.UpdateOpenIDConnectProviderThumbprint(ctx(), &awsiam.UpdateOpenIDConnectProviderThumbprintInput{
					OpenIDConnectProviderArn: aws.String(githubARN), ThumbprintList: []string{"abc"}})
				return err
			},
			code: "ValidationError", status: 400, msgHas: "ThumbprintList[0]",
		},
		{
			name: "ValidationError MaxItems",
			call: func() error {
				_, err := a.ListRoles(ctx(), &awsiam.ListRolesInput{MaxItems: aws.Int32(1001)})
				return err
			},
			code: "ValidationError", status: 400, msgHas: "MaxItems",
		},
		{
			name: "LimitExceeded roles per account",
			call: func() error {
				_, err := a.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("second"), AssumeRolePolicyDocument: aws.String(trustPolicy("x"))})
				if err != nil {
					return fmt.Errorf("the second role should fit: %w", err)
				}
				_, err = a.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("third"), AssumeRolePolicyDocument: aws.String(trustPolicy("x"))})
				return err
			},
			code: "LimitExceeded", status: 409,
			typed: func(err error) bool { var e *types.LimitExceededException; return errors.As(err, &e) },
		},
		{
			name: "LimitExceeded tags",
			call: func() error {
				var many []types.Tag
				for i := 0; i < 51; i++ {
					many = append(many, tags(fmt.Sprintf("k%d", i), "v")...)
				}
				_, err := a.TagRole(ctx(), &awsiam.TagRoleInput{RoleName: aws.String("app"), Tags: many})
				return err
			},
			code: "LimitExceeded", status: 409, msgHas: "Tags",
			typed: func(err error) bool { var e *types.LimitExceededException; return errors.As(err, &e) },
		},
		{
			name: "InvalidInput provider URL",
			call: func() error {
				_, err := a.CreateOpenIDConnectProvider(ctx(), &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String("https://example.com:8443")})
				return err
			},
			code: "InvalidInput", status: 400, msgHas: "Url",
			typed: func(err error) bool { var e *types.InvalidInputException; return errors.As(err, &e) },
		},
		{
			name: "InvalidInput provider ARN",
			call: func() error {
				_, err := a.GetOpenIDConnectProvider(ctx(), &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String("arn:aws:iam::" + acctA + ":role/app")})
				return err
			},
			code: "InvalidInput", status: 400, msgHas: "OpenIDConnectProviderArn",
			typed: func(err error) bool { var e *types.InvalidInputException; return errors.As(err, &e) },
		},
		{
			name: "InvalidInput reserved tag key",
			call: func() error {
				_, err := a.TagRole(ctx(), &awsiam.TagRoleInput{RoleName: aws.String("app"), Tags: tags("aws:owner", "x")})
				return err
			},
			code: "InvalidInput", status: 400, msgHas: "Tags[0].Key",
			typed: func(err error) bool { var e *types.InvalidInputException; return errors.As(err, &e) },
		},
		{
			name: "AccessDenied provider of another account",
			call: func() error {
				_, err := a.GetOpenIDConnectProvider(ctx(), &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(otherARN)})
				return err
			},
			code: "AccessDenied", status: 403,
		},
		{
			name: "AccessDenied delete of another account's provider",
			call: func() error {
				_, err := b.DeleteOpenIDConnectProvider(ctx(), &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(githubARN)})
				return err
			},
			code: "AccessDenied", status: 403,
		},
		{
			name: "ServiceFailure when the store fails",
			call: func() error {
				commitFails.Store(true)
				defer commitFails.Store(false)
				_, err := a.TagRole(ctx(), &awsiam.TagRoleInput{RoleName: aws.String("app"), Tags: tags("k", "v")})
				return err
			},
			code: "ServiceFailure", status: 500,
			typed: func(err error) bool { var e *types.ServiceFailureException; return errors.As(err, &e) },
		},
		{
			name: "SignatureDoesNotMatch",
			call: func() error {
				_, err := srv.client(akid, "wrong").DeleteRole(ctx(), &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
				return err
			},
			code: iamapi.CodeSignatureDoesNotMatch, status: 403,
		},
		{
			name: "InvalidClientTokenId",
			call: func() error {
				_, err := srv.client("AKIAUNKNOWN", secret).DeleteRole(ctx(), &awsiam.DeleteRoleInput{RoleName: aws.String("app")})
				return err
			},
			code: iamapi.CodeInvalidClientTokenId, status: 403,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.reg.Revision()
			if strings.HasPrefix(tc.name, "LimitExceeded roles") {
				before++ // the call creates one role before the refused one
			}
			err := tc.call()
			require.Error(t, err)
			code, status := apiCode(t, err)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.status, status)
			if tc.typed != nil {
				assert.True(t, tc.typed(err), "typed error: %T %v", err, err)
			}
			if tc.msgHas != "" {
				assert.Contains(t, err.Error(), tc.msgHas)
			}
			assert.Equal(t, before, srv.reg.Revision(), "a refused request changes nothing")
			line := srv.lastLog(t)
			assert.Equal(t, tc.code, line["code"])
			assert.Equal(t, float64(tc.status), line["status"])
			if tc.status >= 500 {
				assert.Equal(t, "ERROR", line["level"])
				assert.Equal(t, "disk full", line["err"], "the store's error is logged, not shown")
				assert.NotContains(t, err.Error(), "disk full")
			}
		})
	}
	// Nothing of account A leaked into B, and B's own work is independent.
	lb, err := b.ListRoles(ctx(), &awsiam.ListRolesInput{})
	require.NoError(t, err)
	assert.Empty(t, lb.Roles)
	_, err = b.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trustPolicy("repo:b/app:*"))})
	require.NoError(t, err, "another account may use the same role name")
	_, err = srv.reg.Role("arn:aws:iam::" + acctB + ":role/app")
	assert.NoError(t, err)
	_, err = srv.reg.OIDCProvider("aws", acctA, githubURL)
	assert.NoError(t, err, "B's refused delete left A's provider")
}

// TestHandlerConcurrentSDK creates roles from many goroutines at once (run with -race).
func TestHandlerConcurrentSDK(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	c := srv.client(akid, secret)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.CreateRole(ctx(), &awsiam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("role-%02d", i)),
				AssumeRolePolicyDocument: aws.String(trustPolicy("repo:org/x:*"))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	_, roles := srv.reg.Len()
	assert.Equal(t, n, roles)
	assert.Len(t, srv.logLines(t), n, "one log line per request")
}
