package iamapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/iamapi"
)

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// TestHandlerXMLShapes checks the exact bytes of a few answers against IAM's shapes:
// namespace, <XxxResponse><XxxResult>, ResponseMetadata, the element names, the
// percent-encoded trust policy, the URL without https://, no Result for an action without
// output, an empty UpdateRoleResult, and the ErrorResponse.
func TestHandlerXMLShapes(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"example.com:sub":"a b+c*"}}}]}`
	const encoded = `%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Federated%22%3A%22arn%3Aaws%3Aiam%3A%3A111122223333%3Aoidc-provider%2Fexample.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithWebIdentity%22%2C%22Condition%22%3A%7B%22StringLike%22%3A%7B%22example.com%3Asub%22%3A%22a%20b%2Bc%2A%22%7D%7D%7D%5D%7D`
	const ns = `xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`

	r := srv.post(t, akid, secret, form("Action", "CreateRole", "Version", "2010-05-08", "RoleName", "app", "Path", "/teams/",
		"AssumeRolePolicyDocument", doc, "Description", "Rôle <app> & co", "MaxSessionDuration", "7200",
		"Tags.member.1.Key", "team", "Tags.member.1.Value", "platform", "Tags.member.2.Key", "env", "Tags.member.2.Value", "prod"))
	require.Equal(t, http.StatusOK, r.status, r.body)
	ro, err := srv.reg.Role("arn:aws:iam::" + acctA + ":role/teams/app")
	require.NoError(t, err)

	r = srv.post(t, akid, secret, form("Action", "GetRole", "Version", "2010-05-08", "RoleName", "app"))
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "text/xml", r.header.Get("Content-Type"))
	id := r.header.Get("x-amzn-RequestId")
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
	assert.Equal(t, `<GetRoleResponse `+ns+`><GetRoleResult><Role>`+
		`<Path>/teams/</Path><RoleName>app</RoleName><RoleId>`+ro.RoleID+`</RoleId>`+
		`<Arn>arn:aws:iam::111122223333:role/teams/app</Arn><CreateDate>2026-12-01T09:30:00Z</CreateDate>`+
		`<AssumeRolePolicyDocument>`+encoded+`</AssumeRolePolicyDocument>`+
		`<Description>Rôle &lt;app&gt; &amp; co</Description><MaxSessionDuration>7200</MaxSessionDuration>`+
		`<Tags><member><Key>env</Key><Value>prod</Value></member><member><Key>team</Key><Value>platform</Value></member></Tags>`+
		`</Role></GetRoleResult><ResponseMetadata><RequestId>`+id+`</RequestId></ResponseMetadata></GetRoleResponse>`, r.body)

	r = srv.post(t, akid, secret, form("Action", "ListRoles", "Version", "2010-05-08"))
	assert.Equal(t, `<ListRolesResponse `+ns+`><ListRolesResult><Roles><member>`+
		`<Path>/teams/</Path><RoleName>app</RoleName><RoleId>`+ro.RoleID+`</RoleId>`+
		`<Arn>arn:aws:iam::111122223333:role/teams/app</Arn><CreateDate>2026-12-01T09:30:00Z</CreateDate>`+
		`<AssumeRolePolicyDocument>`+encoded+`</AssumeRolePolicyDocument>`+
		`<Description>Rôle &lt;app&gt; &amp; co</Description><MaxSessionDuration>7200</MaxSessionDuration>`+
		`</member></Roles><IsTruncated>false</IsTruncated></ListRolesResult>`+
		`<ResponseMetadata><RequestId>`+r.header.Get("x-amzn-RequestId")+`</RequestId></ResponseMetadata></ListRolesResponse>`, r.body,
		"ListRoles omits Tags, as IAM")

	r = srv.post(t, akid, secret, form("Action", "UpdateRole", "Version", "2010-05-08", "RoleName", "app", "MaxSessionDuration", "3600"))
	assert.Equal(t, `<UpdateRoleResponse `+ns+`><UpdateRoleResult></UpdateRoleResult>`+
		`<ResponseMetadata><RequestId>`+r.header.Get("x-amzn-RequestId")+`</RequestId></ResponseMetadata></UpdateRoleResponse>`, r.body)

	r = srv.post(t, akid, secret, form("Action", "CreateOpenIDConnectProvider", "Version", "2010-05-08", "Url", "https://example.com/id/X1",
		"ClientIDList.member.1", "sts.amazonaws.com", "ClientIDList.member.2", "app", "ThumbprintList.member.1", thumb1))
	require.Equal(t, http.StatusOK, r.status, r.body)
	arn := "arn:aws:iam::111122223333:oidc-provider/example.com/id/X1"
	assert.Equal(t, `<CreateOpenIDConnectProviderResponse `+ns+`><CreateOpenIDConnectProviderResult>`+
		`<OpenIDConnectProviderArn>`+arn+`</OpenIDConnectProviderArn></CreateOpenIDConnectProviderResult>`+
		`<ResponseMetadata><RequestId>`+r.header.Get("x-amzn-RequestId")+`</RequestId></ResponseMetadata></CreateOpenIDConnectProviderResponse>`, r.body)

	r = srv.post(t, akid, secret, form("Action", "GetOpenIDConnectProvider", "Version", "2010-05-08", "OpenIDConnectProviderArn", arn))
	assert.Equal(t, `<GetOpenIDConnectProviderResponse `+ns+`><GetOpenIDConnectProviderResult>`+
		`<Url>example.com/id/X1</Url><ClientIDList><member>sts.amazonaws.com</member><member>app</member></ClientIDList>`+
		`<ThumbprintList><member>`+thumb1+`</member></ThumbprintList><CreateDate>2026-12-01T09:30:00Z</CreateDate>`+
		`</GetOpenIDConnectProviderResult><ResponseMetadata><RequestId>`+r.header.Get("x-amzn-RequestId")+
		`</RequestId></ResponseMetadata></GetOpenIDConnectProviderResponse>`, r.body)

	r = srv.post(t, akid, secret, form("Action", "ListOpenIDConnectProviders", "Version", "2010-05-08"))
	assert.Equal(t, `<ListOpenIDConnectProvidersResponse `+ns+`><ListOpenIDConnectProvidersResult>`+
		`<OpenIDConnectProviderList><member><Arn>`+arn+`</Arn></member></OpenIDConnectProviderList></ListOpenIDConnectProvidersResult>`+
		`<ResponseMetadata><RequestId>`+r.header.Get("x-amzn-RequestId")+`</RequestId></ResponseMetadata></ListOpenIDConnectProvidersResponse>`, r.body)

	r = srv.post(t, akid, secret, form("Action", "DeleteRole", "Version", "2010-05-08", "RoleName", "app"))
	assert.Equal(t, `<DeleteRoleResponse `+ns+`><ResponseMetadata><RequestId>`+r.header.Get("x-amzn-RequestId")+
		`</RequestId></ResponseMetadata></DeleteRoleResponse>`, r.body, "no Result for an action without output")

	r = srv.post(t, akid, secret, form("Action", "GetRole", "Version", "2010-05-08", "RoleName", "app"))
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, `<ErrorResponse `+ns+`><Error><Type>Sender</Type><Code>NoSuchEntity</Code>`+
		`<Message>The role with name app cannot be found.</Message></Error>`+
		`<RequestId>`+r.header.Get("x-amzn-RequestId")+`</RequestId></ErrorResponse>`, r.body)
}

// TestHandlerQueryParameters checks how raw Query API parameters are read: empty lists,
// refusals of unknown, repeated, unsupported, missing and malformed parameters, each naming
// the parameter (in the log's "parameter"), each changing nothing.
func TestHandlerQueryParameters(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	base := []string{"Version", "2010-05-08"}
	create := append([]string{"Action", "CreateRole", "RoleName", "app", "AssumeRolePolicyDocument", trustPolicy("x")}, base...)
	r := srv.post(t, akid, secret, form(create...))
	require.Equal(t, http.StatusOK, r.status, r.body)

	tests := []struct {
		name   string
		body   string
		code   string
		status int
		param  string
		reason iamapi.Reason
	}{
		{name: "unknown parameter", body: form(append([]string{"Action", "GetRole", "RoleName", "app", "Foo", "1"}, base...)...),
			code: "InvalidInput", status: 400, param: "Foo", reason: iamapi.ReasonUnknownParameter},
		{name: "unknown parameters: the smallest is named", body: form(append([]string{"Action", "GetRole", "RoleName", "app", "Zed", "1", "Bar", "2"}, base...)...),
			code: "InvalidInput", status: 400, param: "Bar", reason: iamapi.ReasonUnknownParameter},
		{name: "a parameter of another action", body: form(append([]string{"Action", "GetRole", "RoleName", "app", "PathPrefix", "/"}, base...)...),
			code: "InvalidInput", status: 400, param: "PathPrefix", reason: iamapi.ReasonUnknownParameter},
		{name: "unknown name quoted in the log", body: "Action=GetRole&Version=2010-05-08&RoleName=app&B%0Ad=1",
			code: "InvalidInput", status: 400, param: `"B\nd"`, reason: iamapi.ReasonUnknownParameter},
		{name: "repeated parameter", body: "Action=GetRole&Version=2010-05-08&RoleName=app&RoleName=other",
			code: "InvalidInput", status: 400, param: "RoleName", reason: iamapi.ReasonRepeatedParameter},
		{name: "repeated Action", body: "Action=GetRole&Action=DeleteRole&Version=2010-05-08&RoleName=app",
			code: "InvalidInput", status: 400, param: "Action", reason: iamapi.ReasonRepeatedParameter},
		{name: "unsupported PermissionsBoundary", body: form(append(create, "PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnly")...),
			code: "InvalidInput", status: 400, param: "PermissionsBoundary", reason: iamapi.ReasonUnsupportedParameter},
		{name: "missing RoleName", body: form(append([]string{"Action", "GetRole"}, base...)...),
			code: "ValidationError", status: 400, param: "RoleName", reason: iamapi.ReasonMissingParameter},
		{name: "missing Tags", body: form(append([]string{"Action", "TagRole", "RoleName", "app"}, base...)...),
			code: "ValidationError", status: 400, param: "Tags", reason: iamapi.ReasonMissingParameter},
		{name: "tag without a value", body: form(append([]string{"Action", "TagRole", "RoleName", "app", "Tags.member.1.Key", "k"}, base...)...),
			code: "ValidationError", status: 400, param: "Tags.member.1.Value", reason: iamapi.ReasonMissingParameter},
		{name: "tag without a key", body: form(append([]string{"Action", "TagRole", "RoleName", "app", "Tags.member.1.Value", "v"}, base...)...),
			code: "ValidationError", status: 400, param: "Tags.member.1.Key", reason: iamapi.ReasonMissingParameter},
		{name: "list with a gap", body: form(append([]string{"Action", "UntagRole", "RoleName", "app", "TagKeys.member.2", "k"}, base...)...),
			code: "InvalidInput", status: 400, param: "TagKeys.member.1", reason: iamapi.ReasonInvalidParameter},
		{name: "list index with a leading zero", body: form(append([]string{"Action", "UntagRole", "RoleName", "app", "TagKeys.member.01", "k"}, base...)...),
			code: "InvalidInput", status: 400, param: "TagKeys.member.01", reason: iamapi.ReasonUnknownParameter},
		{name: "list index beyond the bound", body: form(append([]string{"Action", "UntagRole", "RoleName", "app", "TagKeys.member.1001", "k"}, base...)...),
			code: "InvalidInput", status: 400, param: "TagKeys.member.1001", reason: iamapi.ReasonUnknownParameter},
		{name: "list given a value", body: form(append([]string{"Action", "UntagRole", "RoleName", "app", "TagKeys", "k"}, base...)...),
			code: "InvalidInput", status: 400, param: "TagKeys", reason: iamapi.ReasonInvalidParameter},
		{name: "non-integer MaxItems", body: form(append([]string{"Action", "ListRoles", "MaxItems", "ten"}, base...)...),
			code: "ValidationError", status: 400, param: "MaxItems", reason: iamapi.ReasonInvalidParameter},
		{name: "signed MaxItems", body: form(append([]string{"Action", "ListRoles", "MaxItems", "+5"}, base...)...),
			code: "ValidationError", status: 400, param: "MaxItems", reason: iamapi.ReasonInvalidParameter},
		{name: "MaxItems zero", body: form(append([]string{"Action", "ListRoles", "MaxItems", "0"}, base...)...),
			code: "ValidationError", status: 400, param: "MaxItems", reason: iamapi.ReasonInvalidParameter},
		{name: "empty Marker", body: form(append([]string{"Action", "ListRoles", "Marker", ""}, base...)...),
			code: "ValidationError", status: 400, param: "Marker", reason: iamapi.ReasonInvalidParameter},
		{name: "foreign Marker", body: form(append([]string{"Action", "ListRoles", "Marker", "not base64!"}, base...)...),
			code: "InvalidInput", status: 400, param: "Marker", reason: iamapi.ReasonInvalidParameter},
		{name: "bad PathPrefix", body: form(append([]string{"Action", "ListRoles", "PathPrefix", "teams/"}, base...)...),
			code: "ValidationError", status: 400, param: "PathPrefix", reason: iamapi.ReasonInvalidParameter},
		{name: "empty Path", body: form(append(append([]string{}, create...), "Path", "")...),
			code: "ValidationError", status: 400, param: "Path", reason: iamapi.ReasonInvalidParameter},
		{name: "explicit MaxSessionDuration 0", body: form(append([]string{"Action", "UpdateRole", "RoleName", "app", "MaxSessionDuration", "0"}, base...)...),
			code: "ValidationError", status: 400, param: "MaxSessionDuration", reason: iamapi.ReasonInvalidParameter},
		{name: "short provider ARN", body: form(append([]string{"Action", "GetOpenIDConnectProvider", "OpenIDConnectProviderArn", "arn:x"}, base...)...),
			code: "ValidationError", status: 400, param: "OpenIDConnectProviderArn", reason: iamapi.ReasonInvalidParameter},
		{name: "empty ClientID", body: form(append([]string{"Action", "AddClientIDToOpenIDConnectProvider", "ClientID", "",
			"OpenIDConnectProviderArn", "arn:aws:iam::" + acctA + ":oidc-provider/example.com"}, base...)...),
			code: "ValidationError", status: 400, param: "ClientID", reason: iamapi.ReasonInvalidParameter},
		{name: "51 TagKeys", body: "Action=UntagRole&Version=2010-05-08&RoleName=app" + manyKeys(51),
			code: "ValidationError", status: 400, param: "TagKeys", reason: iamapi.ReasonInvalidParameter},
		{name: "registry field named", body: form(append([]string{"Action", "UpdateAssumeRolePolicy", "RoleName", "app", "PolicyDocument", "{"}, base...)...),
			code: "MalformedPolicyDocument", status: 400, param: "PolicyDocument", reason: iamapi.ReasonRegistry},
		{name: "other version", body: "Action=GetRole&Version=2011-06-15&RoleName=app",
			code: "InvalidAction", status: 400, param: "Version", reason: iamapi.ReasonUnknownAction},
		{name: "no version", body: "Action=GetRole&RoleName=app",
			code: "InvalidAction", status: 400, param: "Version", reason: iamapi.ReasonUnknownAction},
		{name: "AssumeRoleWithWebIdentity is STS's", body: "Action=AssumeRoleWithWebIdentity&Version=2010-05-08",
			code: "InvalidAction", status: 400, param: "Action", reason: iamapi.ReasonUnknownAction},
		{name: "an IAM action not implemented", body: "Action=CreateUser&Version=2010-05-08&UserName=u",
			code: "InvalidAction", status: 400, param: "Action", reason: iamapi.ReasonUnknownAction},
		{name: "no action", body: "Version=2010-05-08",
			code: "MissingAction", status: 400, param: "Action", reason: iamapi.ReasonMissingAction},
		{name: "body does not parse", body: "Action=GetRole&Version=2010-05-08&RoleName=%zz",
			code: "MalformedQueryString", status: 404, reason: iamapi.ReasonMalformedBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.reg.Revision()
			r := srv.post(t, akid, secret, tc.body)
			assert.Equal(t, tc.status, r.status, r.body)
			typ, code := errorCode(t, r.body)
			assert.Equal(t, "Sender", typ)
			assert.Equal(t, tc.code, code)
			line := srv.lastLog(t)
			assert.Equal(t, tc.code, line["code"])
			assert.Equal(t, string(tc.reason), line["reason"])
			if tc.param != "" {
				assert.Equal(t, tc.param, line["parameter"])
			}
			assert.Equal(t, before, srv.reg.Revision(), "a refusal changes nothing")
		})
	}

	t.Run("empty list", func(t *testing.T) {
		r := srv.post(t, akid, secret, "Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https%3A%2F%2Fexample.org&ClientIDList=&ThumbprintList=&Tags=")
		require.Equal(t, http.StatusOK, r.status, r.body)
		p, err := srv.reg.OIDCProvider("aws", acctA, "https://example.org")
		require.NoError(t, err)
		assert.Empty(t, p.ClientIDs)
		assert.Empty(t, p.Thumbprints)
	})
	t.Run("repeated across query string and body", func(t *testing.T) {
		body := "Action=GetRole&Version=2010-05-08&RoleName=app"
		req := newPost(t, srv.URL+"/?RoleName=other", body)
		sign(t, req, body, signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: time.Now()})
		r := srv.do(t, req)
		_, code := errorCode(t, r.body)
		assert.Equal(t, "InvalidInput", code)
		assert.Equal(t, "RoleName", srv.lastLog(t)["parameter"])
	})
	t.Run("GET with a query string", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/?Action=GetRole&Version=2010-05-08&RoleName=app", nil)
		require.NoError(t, err)
		sign(t, req, "", signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: time.Now()})
		r := srv.do(t, req)
		assert.Equal(t, http.StatusOK, r.status, r.body)
		assert.Contains(t, r.body, "<RoleName>app</RoleName>")
	})
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString("&TagKeys.member." + strconv.Itoa(i) + "=k" + strconv.Itoa(i))
	}
	return b.String()
}

// TestHandlerRefusedBeforeAction checks the refusals that come before any action: the body
// limit (before authentication), authentication itself with the AuthError's code and status,
// the method, the body's content type. None changes anything.
func TestHandlerRefusedBeforeAction(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{MaxBodyBytes: 1024}, iam.Options{})
	create := form("Action", "CreateRole", "Version", "2010-05-08", "RoleName", "app", "AssumeRolePolicyDocument", trustPolicy("x"))
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		code   string
		status int
		reason iamapi.Reason
	}{
		{name: "unsigned", req: func(t *testing.T) *http.Request { return newPost(t, srv.URL+"/", create) },
			code: iamapi.CodeMissingAuthenticationToken, status: 403, reason: iamapi.ReasonUnsigned},
		{name: "wrong secret", req: func(t *testing.T) *http.Request {
			req := newPost(t, srv.URL+"/", create)
			sign(t, req, create, signing{akid: akid, secret: "wrong", service: "iam", region: "us-east-1", at: time.Now()})
			return req
		}, code: iamapi.CodeSignatureDoesNotMatch, status: 403, reason: iamapi.ReasonSignatureMismatch},
		{name: "signed 20 minutes ago", req: func(t *testing.T) *http.Request {
			req := newPost(t, srv.URL+"/", create)
			sign(t, req, create, signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: time.Now().Add(-20 * time.Minute)})
			return req
		}, code: iamapi.CodeRequestExpired, status: 400, reason: iamapi.ReasonExpired},
		{name: "signed for sts", req: func(t *testing.T) *http.Request {
			req := newPost(t, srv.URL+"/", create)
			sign(t, req, create, signing{akid: akid, secret: secret, service: "sts", region: "us-east-1", at: time.Now()})
			return req
		}, code: iamapi.CodeSignatureDoesNotMatch, status: 403, reason: iamapi.ReasonScopeService},
		{name: "body over the limit", req: func(t *testing.T) *http.Request {
			body := create + "&Description=" + strings.Repeat("x", 1024)
			req := newPost(t, srv.URL+"/", body)
			sign(t, req, body, signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: time.Now()})
			return req
		}, code: iamapi.CodeRequestEntityTooLarge, status: 413, reason: iamapi.ReasonBodyTooLarge},
		{name: "PUT", req: func(t *testing.T) *http.Request {
			req := newPost(t, srv.URL+"/", create)
			req.Method = http.MethodPut
			sign(t, req, create, signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: time.Now()})
			return req
		}, code: iamapi.CodeMethodNotAllowed, status: 405, reason: iamapi.ReasonMethod},
		{name: "not a form", req: func(t *testing.T) *http.Request {
			req := newPost(t, srv.URL+"/", create)
			req.Header.Set("Content-Type", "application/json")
			sign(t, req, create, signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: time.Now()})
			return req
		}, code: iamapi.CodeMalformedQueryString, status: 404, reason: iamapi.ReasonMalformedBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.do(t, tc.req(t))
			assert.Equal(t, tc.status, r.status, r.body)
			assert.Equal(t, tc.status, iamapi.HTTPStatus(tc.code))
			typ, code := errorCode(t, r.body)
			assert.Equal(t, "Sender", typ)
			assert.Equal(t, tc.code, code)
			line := srv.lastLog(t)
			assert.Equal(t, string(tc.reason), line["reason"])
			assert.Equal(t, uint64(0), srv.reg.Revision(), "nothing changed")
			_, roles := srv.reg.Len()
			assert.Zero(t, roles)
		})
	}
	r := srv.post(t, akid, secret, create)
	assert.Equal(t, http.StatusOK, r.status, "the same request, signed, is accepted: %s", r.body)
}

// TestHandlerLogging checks one line per request with action, code, access key id, account
// and request id, and never the secret or policy content (a canary in the trust policy).
func TestHandlerLogging(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	const canary = "CANARY-7f3a9"
	doc := trustPolicy("repo:org/" + canary + ":*")
	bad := strings.Replace(doc, `"Allow"`, `"Perhaps-`+canary+`"`, 1)
	bodies := []string{
		form("Action", "CreateRole", "Version", "2010-05-08", "RoleName", "app", "AssumeRolePolicyDocument", doc),
		form("Action", "GetRole", "Version", "2010-05-08", "RoleName", "app"),
		form("Action", "UpdateAssumeRolePolicy", "Version", "2010-05-08", "RoleName", "app", "PolicyDocument", bad),
		form("Action", "ListRoles", "Version", "2010-05-08"),
	}
	var ids []string
	for _, b := range bodies {
		r := srv.post(t, akid, secret, b)
		ids = append(ids, r.header.Get("x-amzn-RequestId"))
	}
	r := srv.post(t, akid, "wrong", bodies[1])
	ids = append(ids, r.header.Get("x-amzn-RequestId"))

	lines := srv.logLines(t)
	require.Len(t, lines, len(ids), "one line per request")
	wantCode := []string{"OK", "OK", "MalformedPolicyDocument", "OK", iamapi.CodeSignatureDoesNotMatch}
	wantAction := []string{"CreateRole", "GetRole", "UpdateAssumeRolePolicy", "ListRoles", ""}
	for i, l := range lines {
		assert.Equal(t, "iam request", l["msg"])
		assert.Equal(t, ids[i], l["request_id"])
		assert.Equal(t, wantCode[i], l["code"])
		assert.Equal(t, akid, l["access_key_id"])
		if wantAction[i] != "" {
			assert.Equal(t, wantAction[i], l["action"])
			assert.Equal(t, acctA, l["account"])
		}
	}
	assert.Equal(t, "arn:aws:iam::"+acctA+":role/app", lines[0]["entity"])
	logs := srv.logs.String()
	assert.NotContains(t, logs, canary, "no policy content in the log")
	assert.NotContains(t, logs, secret)
	assert.NotContains(t, logs, "Signature=")
}

// adminFunc is an AdminCredentials from a function.
type adminFunc func(string) (iamapi.Admin, bool)

func (f adminFunc) SecretAccessKey(id string) (string, bool) {
	a, ok := f(id)
	return a.SecretAccessKey, ok
}
func (f adminFunc) Admin(id string) (iamapi.Admin, bool) { return f(id) }

var _ iamapi.AdminCredentials = adminFunc(nil)

// TestHandlerAdminCredentials checks the account mapping: a custom AdminCredentials, its
// partition default, and a credential that names no valid account.
func TestHandlerAdminCredentials(t *testing.T) {
	creds := adminFunc(func(id string) (iamapi.Admin, bool) {
		switch id {
		case akid:
			return iamapi.Admin{SecretAccessKey: secret, Account: acctB, Partition: "aws-cn"}, true
		case akid2:
			return iamapi.Admin{SecretAccessKey: secret2, Account: "12345"}, true
		}
		return iamapi.Admin{}, false
	})
	srv := newIAMServer(t, iamapi.Options{Credentials: creds}, iam.Options{})
	r := srv.post(t, akid, secret, form("Action", "CreateRole", "Version", "2010-05-08", "RoleName", "app",
		"AssumeRolePolicyDocument", trustPolicy("x")))
	require.Equal(t, http.StatusOK, r.status, r.body)
	_, err := srv.reg.Role("arn:aws-cn:iam::" + acctB + ":role/app")
	assert.NoError(t, err, "the key's account and partition")
	assert.Equal(t, "aws-cn", srv.lastLog(t)["partition"])

	r = srv.post(t, akid2, secret2, form("Action", "ListRoles", "Version", "2010-05-08"))
	assert.Equal(t, http.StatusForbidden, r.status)
	_, code := errorCode(t, r.body)
	assert.Equal(t, iamapi.CodeInvalidClientTokenId, code)
	assert.Equal(t, string(iamapi.ReasonInvalidAdmin), srv.lastLog(t)["reason"])
}

func TestNewHandlerOptions(t *testing.T) {
	reg := iam.New(iam.Options{})
	tests := []struct {
		name string
		opts iamapi.Options
	}{
		{"no registry", iamapi.Options{Credentials: adminsAB}},
		{"no credentials", iamapi.Options{Registry: reg}},
		{"credentials without accounts", iamapi.Options{Registry: reg, Credentials: admins}},
		{"account not 12 digits", iamapi.Options{Registry: reg, Credentials: iamapi.StaticAdmins{akid: {SecretAccessKey: secret, Account: "1234"}}}},
		{"unknown partition", iamapi.Options{Registry: reg, Credentials: iamapi.StaticAdmins{akid: {SecretAccessKey: secret, Account: acctA, Partition: "mars"}}}},
		{"no secret", iamapi.Options{Registry: reg, Credentials: iamapi.StaticAdmins{akid: {Account: acctA}}}},
		{"negative body limit", iamapi.Options{Registry: reg, Credentials: adminsAB, MaxBodyBytes: -1}},
		{"negative skew", iamapi.Options{Registry: reg, Credentials: adminsAB, MaxSkew: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := iamapi.NewHandler(tc.opts)
			assert.Error(t, err)
			assert.Nil(t, h)
		})
	}
	h, err := iamapi.NewHandler(iamapi.Options{Registry: reg, Credentials: adminsAB})
	assert.NoError(t, err)
	assert.NotNil(t, h)
}

// TestEncodePolicyDocument pins the encoding IAM uses for AssumeRolePolicyDocument.
func TestEncodePolicyDocument(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"AZaz09-._~", "AZaz09-._~"},
		{" ", "%20"},
		{"+", "%2B"},
		{"*", "%2A"},
		{"/", "%2F"},
		{"%", "%25"},
		{"&=?#", "%26%3D%3F%23"},
		{`"${aws:username}"`, "%22%24%7Baws%3Ausername%7D%22"},
		{"\t\n\r", "%09%0A%0D"},
		{"é", "%C3%A9"},
		{"ÿ", "%C3%BF"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, iamapi.EncodePolicyDocument(tc.in), "%q", tc.in)
	}
}

// FuzzEncodePolicyDocument checks that decoding restores any document and that the output
// holds only unreserved characters and %XX.
func FuzzEncodePolicyDocument(f *testing.F) {
	f.Add(trickyDocument)
	f.Add("a b+c")
	f.Add("\xff\x00")
	f.Fuzz(func(t *testing.T, doc string) {
		enc := iamapi.EncodePolicyDocument(doc)
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~%", c) >= 0
			if !ok {
				t.Fatalf("byte %q in %q", c, enc)
			}
		}
		for _, unescape := range []func(string) (string, error){url.QueryUnescape, url.PathUnescape} {
			got, err := unescape(enc)
			if err != nil || got != doc {
				t.Fatalf("decoded %q (%v), want %q", got, err, doc)
			}
		}
	})
}

// countingReader counts what the server read of a request body.
type countingReader struct {
	n   atomic.Int64
	max int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	left := c.max - c.n.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), left)]
	clear(p)
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// A request that fails the checks needing no body (unsigned, unknown key, stale date) is
// refused without its body being read: 64 MiB announced (and offered) behind a bad
// Authorization header cost the server at most what Go's server drains after the answer.
func TestHandlerRefusesBeforeReadingTheBody(t *testing.T) {
	srv := newIAMServer(t, iamapi.Options{}, iam.Options{})
	const size = 64 << 20
	create := form("Action", "CreateRole", "Version", "2010-05-08", "RoleName", "app", "AssumeRolePolicyDocument", trustPolicy("x"))
	tests := []struct {
		name   string
		edit   func(req *http.Request)
		code   string
		reason iamapi.Reason
	}{
		{"unsigned", func(*http.Request) {}, iamapi.CodeMissingAuthenticationToken, iamapi.ReasonUnsigned},
		{"unknown key", func(req *http.Request) {
			sign(t, req, create, signing{akid: "AKIAUNKNOWNKEY000009", secret: secret, service: "iam", region: "us-east-1", at: time.Now()})
		}, iamapi.CodeInvalidClientTokenId, iamapi.ReasonUnknownKey},
		{"signed an hour ago", func(req *http.Request) {
			sign(t, req, create, signing{akid: akid, secret: secret, service: "iam", region: "us-east-1", at: time.Now().Add(-time.Hour)})
		}, iamapi.CodeRequestExpired, iamapi.ReasonExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingReader{max: size}
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/", body)
			require.NoError(t, err)
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			tc.edit(req)
			r := srv.do(t, req)
			_, code := errorCode(t, r.body)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, string(tc.reason), srv.lastLog(t)["reason"])
			assert.Less(t, body.n.Load(), int64(4<<20), "the server read the body of a request it refused")
		})
	}
}
