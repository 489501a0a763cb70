package iam

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/policy"
)

func TestCreateOIDCProviderValidation(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tags := func(n int) []Tag {
		out := make([]Tag, n)
		for i := range out {
			out[i] = Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
		}
		return out
	}
	tests := []struct {
		name  string
		edit  func(p *OIDCProvider)
		code  ErrorCode
		field string
	}{
		{"url missing", func(p *OIDCProvider) { p.URL = "" }, CodeValidationError, "Url"},
		{"url too long", func(p *OIDCProvider) { p.URL = "https://example.com/" + strings.Repeat("a", 236) }, CodeValidationError, "Url"},
		{"url http", func(p *OIDCProvider) { p.URL = "http://example.com" }, CodeInvalidInput, "Url"},
		{"url upper-case scheme", func(p *OIDCProvider) { p.URL = "HTTPS://example.com" }, CodeInvalidInput, "Url"},
		{"url no host", func(p *OIDCProvider) { p.URL = "https:///path" }, CodeInvalidInput, "Url"},
		{"url query", func(p *OIDCProvider) { p.URL = "https://example.com/?a=b" }, CodeInvalidInput, "Url"},
		{"url fragment", func(p *OIDCProvider) { p.URL = "https://example.com/#x" }, CodeInvalidInput, "Url"},
		{"url port", func(p *OIDCProvider) { p.URL = "https://example.com:8443" }, CodeInvalidInput, "Url"},
		{"url user info", func(p *OIDCProvider) { p.URL = "https://user@example.com" }, CodeInvalidInput, "Url"},
		{"url space", func(p *OIDCProvider) { p.URL = "https://example.com/a b" }, CodeInvalidInput, "Url"},
		{"url non-ascii host", func(p *OIDCProvider) { p.URL = "https://exämple.com" }, CodeInvalidInput, "Url"},
		{"bad partition", func(p *OIDCProvider) { p.Partition = "aws-mars" }, CodeInvalidInput, "Partition"},
		{"bad account", func(p *OIDCProvider) { p.Account = "1234" }, CodeInvalidInput, "Account"},
		{"arn disagrees with url", func(p *OIDCProvider) {
			p.ARN = "arn:aws:iam::" + acctA + ":oidc-provider/other.example.com"
		}, CodeInvalidInput, "Url"},
		{"arn not a provider", func(p *OIDCProvider) {
			p.ARN, p.URL = "arn:aws:iam::"+acctA+":role/x", ""
		}, CodeInvalidInput, "Arn"},
		{"empty client id", func(p *OIDCProvider) { p.ClientIDs = []string{"a", ""} }, CodeValidationError, "ClientIDList[1]"},
		{"client id too long", func(p *OIDCProvider) { p.ClientIDs = []string{strings.Repeat("c", 256)} }, CodeValidationError, "ClientIDList[0]"},
		{"101 client ids", func(p *OIDCProvider) {
			p.ClientIDs = many(101, func(i int) string { return fmt.Sprint("c", i) })
		}, CodeLimitExceeded, "ClientIDList"},
		{"thumbprint short", func(p *OIDCProvider) { p.Thumbprints = []string{"abc"} }, CodeValidationError, "ThumbprintList[0]"},
		{"thumbprint not hex", func(p *OIDCProvider) { p.Thumbprints = []string{strings.Repeat("g", 40)} }, CodeValidationError, "ThumbprintList[0]"},
		{"6 thumbprints", func(p *OIDCProvider) {
			p.Thumbprints = many(6, func(i int) string { return fmt.Sprintf("%040x", i) })
		}, CodeLimitExceeded, "ThumbprintList"},
		{"51 tags", func(p *OIDCProvider) { p.Tags = tags(51) }, CodeLimitExceeded, "Tags"},
		{"empty tag key", func(p *OIDCProvider) { p.Tags = []Tag{{Key: "", Value: "v"}} }, CodeValidationError, "Tags[0].Key"},
		{"tag key too long", func(p *OIDCProvider) { p.Tags = []Tag{{Key: strings.Repeat("k", 129)}} }, CodeValidationError, "Tags[0].Key"},
		{"tag key bad char", func(p *OIDCProvider) { p.Tags = []Tag{{Key: "a*b"}} }, CodeValidationError, "Tags[0].Key"},
		{"tag value too long", func(p *OIDCProvider) { p.Tags = []Tag{{Key: "k", Value: strings.Repeat("v", 257)}} }, CodeValidationError, "Tags[0].Value"},
		{"tag value bad char", func(p *OIDCProvider) { p.Tags = []Tag{{Key: "k", Value: "a;b"}} }, CodeValidationError, "Tags[0].Value"},
		{"tag key aws: reserved", func(p *OIDCProvider) { p.Tags = []Tag{{Key: "AWS:cloudformation"}} }, CodeInvalidInput, "Tags[0].Key"},
		{"duplicate tag keys ignoring case", func(p *OIDCProvider) {
			p.Tags = []Tag{{Key: "Team", Value: "a"}, {Key: "team", Value: "b"}}
		}, CodeInvalidInput, "Tags[1].Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, Options{})
			p := testProvider(acctA, eksURL, "sts.amazonaws.com")
			tt.edit(p)
			_, err := r.CreateOIDCProvider(p)
			assertCode(t, err, tt.code, tt.field)
			n, _ := r.Len()
			assert.Zero(t, n, "nothing stored")
		})
	}
}

func TestCreateOIDCProviderAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *OIDCProvider)
		want func(t *testing.T, p *OIDCProvider)
	}{
		{"no client ids (IAM allows it; no audience is accepted)", func(p *OIDCProvider) { p.ClientIDs = nil },
			func(t *testing.T, p *OIDCProvider) { assert.False(t, p.AcceptsClientID("sts.amazonaws.com")) }},
		{"no thumbprints (optional in IAM)", func(p *OIDCProvider) { p.Thumbprints = nil },
			func(t *testing.T, p *OIDCProvider) { assert.Empty(t, p.Thumbprints) }},
		{"100 client ids, deduplicated", func(p *OIDCProvider) {
			p.ClientIDs = nil
			for i := range 100 {
				p.ClientIDs = append(p.ClientIDs, fmt.Sprint("c", i), fmt.Sprint("c", i))
			}
		}, func(t *testing.T, p *OIDCProvider) {
			assert.Len(t, p.ClientIDs, 100)
			assert.True(t, p.AcceptsClientID("c99"))
			assert.False(t, p.AcceptsClientID("c100"))
		}},
		{"5 thumbprints, case ignored", func(p *OIDCProvider) {
			p.Thumbprints = []string{thumb, strings.ToUpper(thumb), strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40), strings.Repeat("d", 40)}
		}, func(t *testing.T, p *OIDCProvider) {
			assert.Len(t, p.Thumbprints, 5)
			assert.True(t, p.HasThumbprint(strings.ToUpper(thumb)))
		}},
		{"path and trailing slash kept verbatim", func(p *OIDCProvider) { p.URL = "https://tenant.example.com/" },
			func(t *testing.T, p *OIDCProvider) {
				assert.Equal(t, "arn:aws:iam::"+acctA+":oidc-provider/tenant.example.com/", p.ARN)
			}},
		{"from the ARN alone", func(p *OIDCProvider) {
			p.ARN, p.Account, p.URL = "arn:aws-cn:iam::"+acctA+":oidc-provider/"+strings.TrimPrefix(eksURL, "https://"), "", ""
		}, func(t *testing.T, p *OIDCProvider) {
			assert.Equal(t, "aws-cn", p.Partition)
			assert.Equal(t, acctA, p.Account)
			assert.Equal(t, eksURL, p.URL)
		}},
		{"50 tags with unicode letters and spaces", func(p *OIDCProvider) {
			for i := range 50 {
				p.Tags = append(p.Tags, Tag{Key: fmt.Sprintf("Équipe %d", i), Value: "plateforme / sécurité"})
			}
		}, func(t *testing.T, p *OIDCProvider) { assert.Len(t, p.Tags, 50) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, Options{})
			p := testProvider(acctA, eksURL, "sts.amazonaws.com")
			tt.edit(p)
			got, err := r.CreateOIDCProvider(p)
			require.NoError(t, err)
			tt.want(t, got)
			assert.Equal(t, testTime, got.CreateDate)
		})
	}
}

func TestCreateRoleValidation(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		edit  func(ro *Role)
		code  ErrorCode
		field string
	}{
		{"empty name", Options{}, func(ro *Role) { ro.Name = "" }, CodeValidationError, "RoleName"},
		{"name too long", Options{}, func(ro *Role) { ro.Name = strings.Repeat("n", 65) }, CodeValidationError, "RoleName"},
		{"name bad char", Options{}, func(ro *Role) { ro.Name = "a/b" }, CodeValidationError, "RoleName"},
		{"name space", Options{}, func(ro *Role) { ro.Name = "a b" }, CodeValidationError, "RoleName"},
		{"path without slashes", Options{}, func(ro *Role) { ro.Path = "team" }, CodeValidationError, "Path"},
		{"path no trailing slash", Options{}, func(ro *Role) { ro.Path = "/team" }, CodeValidationError, "Path"},
		{"path with space", Options{}, func(ro *Role) { ro.Path = "/a b/" }, CodeValidationError, "Path"},
		{"path with DEL", Options{}, func(ro *Role) { ro.Path = "/a\x7f/" }, CodeValidationError, "Path"},
		{"path too long", Options{}, func(ro *Role) { ro.Path = "/" + strings.Repeat("p", 511) + "/" }, CodeValidationError, "Path"},
		{"bad account", Options{}, func(ro *Role) { ro.Account = "12345678901x" }, CodeInvalidInput, "Account"},
		{"bad partition", Options{}, func(ro *Role) { ro.Partition = "azure" }, CodeInvalidInput, "Partition"},
		{"arn disagrees with name", Options{}, func(ro *Role) { ro.ARN = "arn:aws:iam::" + acctA + ":role/other" }, CodeInvalidInput, "RoleName"},
		{"arn with region", Options{}, func(ro *Role) {
			ro.ARN, ro.Name, ro.Account = "arn:aws:iam:us-east-1:"+acctA+":role/x", "", ""
		}, CodeInvalidInput, "Arn"},
		{"arn of a user", Options{}, func(ro *Role) {
			ro.ARN, ro.Name, ro.Account = "arn:aws:iam::"+acctA+":user/x", "", ""
		}, CodeInvalidInput, "Arn"},
		{"role id short", Options{}, func(ro *Role) { ro.RoleID = "AROASHORT" }, CodeValidationError, "RoleId"},
		{"role id bad char", Options{}, func(ro *Role) { ro.RoleID = "AROA-AAAAAAAAAAAAAAAA" }, CodeValidationError, "RoleId"},
		{"session below 1h", Options{}, func(ro *Role) { ro.MaxSessionDuration = 3599 * time.Second }, CodeValidationError, "MaxSessionDuration"},
		{"session above 12h", Options{}, func(ro *Role) { ro.MaxSessionDuration = 43201 * time.Second }, CodeValidationError, "MaxSessionDuration"},
		{"session not whole seconds", Options{}, func(ro *Role) { ro.MaxSessionDuration = time.Hour + time.Millisecond }, CodeValidationError, "MaxSessionDuration"},
		{"description too long", Options{}, func(ro *Role) { ro.Description = strings.Repeat("d", 1001) }, CodeValidationError, "Description"},
		{"description control char", Options{}, func(ro *Role) { ro.Description = "a\x00b" }, CodeValidationError, "Description"},
		{"description outside latin-1", Options{}, func(ro *Role) { ro.Description = "fleet ☃" }, CodeValidationError, "Description"},
		{"document missing", Options{}, func(ro *Role) { ro.TrustPolicyDocument = "" }, CodeValidationError, "AssumeRolePolicyDocument"},
		{"document outside latin-1", Options{}, func(ro *Role) {
			ro.TrustPolicyDocument = strings.Replace(ro.TrustPolicyDocument, "default", "☃", 1)
		}, CodeValidationError, "AssumeRolePolicyDocument"},
		{"document over the quota", Options{MaxTrustPolicyLength: 100}, func(ro *Role) {}, CodeLimitExceeded, "AssumeRolePolicyDocument"},
		{"document over 131072 characters", Options{MaxTrustPolicyLength: -1}, func(ro *Role) {
			ro.TrustPolicyDocument += strings.Repeat(" ", 131072)
		}, CodeValidationError, "AssumeRolePolicyDocument"},
		{"document not JSON", Options{}, func(ro *Role) { ro.TrustPolicyDocument = "{" }, CodeMalformedPolicyDocument, "AssumeRolePolicyDocument"},
		{"document without principal", Options{}, func(ro *Role) {
			ro.TrustPolicyDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity"}]}`
		}, CodeMalformedPolicyDocument, "AssumeRolePolicyDocument"},
		{"51 tags", Options{}, func(ro *Role) {
			for i := range 51 {
				ro.Tags = append(ro.Tags, Tag{Key: fmt.Sprint("k", i)})
			}
		}, CodeLimitExceeded, "Tags"},
		{"tag aws: prefix", Options{}, func(ro *Role) { ro.Tags = []Tag{{Key: "aws:x"}} }, CodeInvalidInput, "Tags[0].Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, tt.opts)
			ro := testRole(acctA, "app")
			tt.edit(ro)
			_, err := r.CreateRole(ro)
			assertCode(t, err, tt.code, tt.field)
			_, n := r.Len()
			assert.Zero(t, n, "nothing stored")
		})
	}
}

func TestTrustPolicyLengthCountsAsIAM(t *testing.T) {
	doc := trustDoc(acctA, eksURL, "system:serviceaccount:default:app")
	nonSpace := len(doc) // the document has no white space and is ASCII
	tests := []struct {
		name  string
		doc   string
		quota int
		ok    bool
	}{
		{"at the quota", doc, nonSpace, true},
		{"one over", doc, nonSpace - 1, false},
		{"white space is not counted", strings.ReplaceAll(doc, ",", ",\n\t  "), nonSpace, true},
		{"latin-1 counts one per character", strings.Replace(doc, "default", "défault", 1), nonSpace, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, Options{MaxTrustPolicyLength: tt.quota})
			ro := testRole(acctA, "app")
			ro.TrustPolicyDocument = tt.doc
			_, err := r.CreateRole(ro)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assertCode(t, err, CodeLimitExceeded, "AssumeRolePolicyDocument")
			}
		})
	}
}

func TestMalformedPolicyDocumentWrapsParseError(t *testing.T) {
	r := newTestRegistry(t, Options{})
	ro := testRole(acctA, "app")
	ro.TrustPolicyDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEqualz":{"a":"b"}}}]}`
	_, err := r.CreateRole(ro)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrMalformedPolicyDocument)
	var pe *policy.ParseError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "Statement[0].Condition.StringEqualz", pe.Path)
}

func TestCreateRoleDefaults(t *testing.T) {
	r := newTestRegistry(t, Options{})
	ro := mustCreateRole(t, r, testRole(acctA, "app"))
	assert.Equal(t, "arn:aws:iam::"+acctA+":role/app", ro.ARN)
	assert.Equal(t, "/", ro.Path)
	assert.Equal(t, "aws", ro.Partition)
	assert.Equal(t, time.Hour, ro.MaxSessionDuration)
	assert.Equal(t, testTime, ro.CreateDate)
	assert.Regexp(t, `^AROA[A-Z2-7]{17}$`, ro.RoleID)
	require.NotNil(t, ro.TrustPolicy)

	withPath := testRole(acctA, "deploy")
	withPath.Path = "/ci/github/"
	withPath.MaxSessionDuration = 12 * time.Hour
	got := mustCreateRole(t, r, withPath)
	assert.Equal(t, "arn:aws:iam::"+acctA+":role/ci/github/deploy", got.ARN)

	fromARN := mustCreateRole(t, r, &Role{ARN: "arn:aws-us-gov:iam::" + acctB + ":role/a/b/x", TrustPolicyDocument: trustDoc(acctB, eksURL, "s")})
	assert.Equal(t, "aws-us-gov", fromARN.Partition)
	assert.Equal(t, acctB, fromARN.Account)
	assert.Equal(t, "/a/b/", fromARN.Path)
	assert.Equal(t, "x", fromARN.Name)
}
