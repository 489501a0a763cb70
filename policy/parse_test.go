package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// base is the start of a valid statement; tests append elements to it.
const base = `"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"`

// stmt wraps statement members into a 2012-10-17 policy with one statement
// in a list.
func stmt(members string) string {
	return `{"Version":"2012-10-17","Statement":[{` + members + `}]}`
}

// cond wraps a Condition element body into a valid statement.
func cond(body string) string {
	return stmt(base + `,"Condition":{` + body + `}`)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		path   string
		reason ParseErrorReason
	}{
		// JSON syntax and document shape.
		{"empty document", ``, "", ReasonSyntax},
		{"invalid JSON", `{"Version":}`, "Version", ReasonSyntax},
		{"truncated", `{"Statement":[`, "Statement", ReasonSyntax},
		{"trailing data", stmt(base) + `{}`, "", ReasonSyntax},
		{"trailing garbage", stmt(base) + `x`, "", ReasonSyntax},
		{"invalid UTF-8", "{\"Id\":\"\xff\"," + strings.TrimPrefix(stmt(base), "{"), "", ReasonSyntax},
		{"not an object", `[]`, "", ReasonType},
		{"too deep", `{"Id":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`, "Id" + strings.Repeat("[0]", 15), ReasonType},

		// Top-level elements.
		{"duplicate top-level member", `{"Version":"2012-10-17","Version":"2012-10-17","Statement":[]}`, "Version", ReasonDuplicate},
		{"unknown top-level element", `{"Statement":[{` + base + `}],"Foo":1}`, "Foo", ReasonUnknown},
		{"element names are case-sensitive", `{"version":"2012-10-17","Statement":[{` + base + `}]}`, "version", ReasonUnknown},
		{"missing Statement", `{"Version":"2012-10-17"}`, "Statement", ReasonMissing},
		{"empty Statement list", `{"Statement":[]}`, "Statement", ReasonValue},
		{"Statement wrong type", `{"Statement":"x"}`, "Statement", ReasonType},
		{"statement not an object", `{"Statement":["x"]}`, "Statement[0]", ReasonType},
		{"bad Version", `{"Version":"2012-10-18","Statement":{` + base + `}}`, "Version", ReasonValue},
		{"Version not a string", `{"Version":2012,"Statement":{` + base + `}}`, "Version", ReasonType},
		{"Id not a string", `{"Id":1,"Statement":{` + base + `}}`, "Id", ReasonType},

		// Statement elements.
		{"duplicate member in statement", stmt(base + `,"Effect":"Deny"`), "Statement[0].Effect", ReasonDuplicate},
		{"unknown statement element", stmt(base + `,"Resources":"*"`), "Statement[0].Resources", ReasonUnknown},
		{"single-object statement path", `{"Statement":{` + base + `,"X":1}}`, "Statement.X", ReasonUnknown},
		{"missing Effect", stmt(`"Principal":"*","Action":"sts:*"`), "Statement[0].Effect", ReasonMissing},
		{"bad Effect", stmt(`"Effect":"allow","Principal":"*","Action":"sts:*"`), "Statement[0].Effect", ReasonValue},
		{"Effect not a string", stmt(`"Effect":true,"Principal":"*","Action":"sts:*"`), "Statement[0].Effect", ReasonType},
		{"missing Principal", stmt(`"Effect":"Allow","Action":"sts:*"`), "Statement[0].Principal", ReasonMissing},
		{"missing Action", stmt(`"Effect":"Allow","Principal":"*"`), "Statement[0].Action", ReasonMissing},
		{"Principal and NotPrincipal", stmt(base + `,"NotPrincipal":"*"`), "Statement[0].NotPrincipal", ReasonConflict},
		{"NotPrincipal in an Allow", stmt(`"Effect":"Allow","NotPrincipal":{"Federated":"arn:aws:iam::1:oidc-provider/a.example"},"Action":"sts:AssumeRoleWithWebIdentity"`), "Statement[0].NotPrincipal", ReasonNotAllowed},
		{"NotPrincipal in a Deny", stmt(`"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:*"`), "Statement[0].NotPrincipal", ReasonNotAllowed},
		{"NotPrincipal in a later statement", `{"Statement":[{` + base + `},{"Effect":"Allow","NotPrincipal":"*","Action":"sts:*"}]}`, "Statement[1].NotPrincipal", ReasonNotAllowed},
		{"NotPrincipal in a single-object statement", `{"Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"sts:*"}}`, "Statement.NotPrincipal", ReasonNotAllowed},
		{"Action and NotAction", stmt(base + `,"NotAction":"sts:*"`), "Statement[0].NotAction", ReasonConflict},
		{"Resource and NotResource", stmt(base + `,"Resource":"*","NotResource":"*"`), "Statement[0].Resource", ReasonNotAllowed},
		{"Sid with punctuation", stmt(base + `,"Sid":"my-sid"`), "Statement[0].Sid", ReasonValue},
		{"Sid not a string", stmt(base + `,"Sid":1`), "Statement[0].Sid", ReasonType},
		{"duplicate Sid", `{"Statement":[{"Sid":"A",` + base + `},{"Sid":"A",` + base + `}]}`, "Statement[1].Sid", ReasonDuplicate},

		// Principal.
		{"principal string other than star", stmt(`"Effect":"Allow","Principal":"accounts.google.com","Action":"sts:*"`), "Statement[0].Principal", ReasonValue},
		{"principal wrong type", stmt(`"Effect":"Allow","Principal":1,"Action":"sts:*"`), "Statement[0].Principal", ReasonType},
		{"empty principal object", stmt(`"Effect":"Allow","Principal":{},"Action":"sts:*"`), "Statement[0].Principal", ReasonValue},
		{"unknown principal type", stmt(`"Effect":"Allow","Principal":{"OIDC":"x"},"Action":"sts:*"`), "Statement[0].Principal.OIDC", ReasonUnknown},
		{"empty principal list", stmt(`"Effect":"Allow","Principal":{"Federated":[]},"Action":"sts:*"`), "Statement[0].Principal.Federated", ReasonValue},
		{"principal list element not a string", stmt(`"Effect":"Allow","Principal":{"Federated":["a",1]},"Action":"sts:*"`), "Statement[0].Principal.Federated[1]", ReasonType},
		{"partial wildcard principal", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"sts:*"`), "Statement[0].Principal.AWS", ReasonValue},
		{"empty principal string", stmt(`"Effect":"Allow","Principal":{"Federated":""},"Action":"sts:*"`), "Statement[0].Principal.Federated", ReasonValue},

		// Action and Resource.
		{"empty action list", stmt(`"Effect":"Allow","Principal":"*","Action":[]`), "Statement[0].Action", ReasonValue},
		{"action without service", stmt(`"Effect":"Allow","Principal":"*","Action":"AssumeRole"`), "Statement[0].Action", ReasonValue},
		{"action list element wrong type", stmt(`"Effect":"Allow","Principal":"*","Action":["sts:AssumeRole",null]`), "Statement[0].Action[1]", ReasonType},
		{"action wrong type", stmt(`"Effect":"Allow","Principal":"*","Action":{}`), "Statement[0].Action", ReasonType},
		{"Resource not an ARN is still not allowed", stmt(base + `,"Resource":"role/x"`), "Statement[0].Resource", ReasonNotAllowed},
		{"Resource list", stmt(base + `,"Resource":["*","arn:aws:iam"]`), "Statement[0].Resource", ReasonNotAllowed},
		{"NotResource in a Deny", stmt(`"Effect":"Deny","Principal":"*","Action":"*","NotResource":"*"`), "Statement[0].NotResource", ReasonNotAllowed},

		// Condition structure.
		{"Condition wrong type", stmt(base + `,"Condition":[]`), "Statement[0].Condition", ReasonType},
		{"unknown operator", cond(`"StringMatches":{"a:b":"x"}`), "Statement[0].Condition.StringMatches", ReasonUnknown},
		{"operator names are case-sensitive", cond(`"stringequals":{"a:b":"x"}`), "Statement[0].Condition.stringequals", ReasonUnknown},
		{"bad set prefix", cond(`"ForSomeValues:StringEquals":{"a:b":"x"}`), `Statement[0].Condition["ForSomeValues:StringEquals"]`, ReasonOperator},
		{"set prefix case", cond(`"forAnyValue:StringEquals":{"a:b":"x"}`), `Statement[0].Condition["forAnyValue:StringEquals"]`, ReasonOperator},
		{"IfExists on Null", cond(`"NullIfExists":{"a:b":"true"}`), "Statement[0].Condition.NullIfExists", ReasonOperator},
		{"set operator on Null", cond(`"ForAnyValue:Null":{"a:b":"true"}`), `Statement[0].Condition["ForAnyValue:Null"]`, ReasonOperator},
		{"double IfExists", cond(`"StringEqualsIfExistsIfExists":{"a:b":"x"}`), "Statement[0].Condition.StringEqualsIfExistsIfExists", ReasonUnknown},
		{"duplicate operator", cond(`"StringEquals":{"a:b":"x"},"StringEquals":{"a:c":"x"}`), "Statement[0].Condition.StringEquals", ReasonDuplicate},
		{"operator block wrong type", cond(`"StringEquals":"x"`), "Statement[0].Condition.StringEquals", ReasonType},
		{"empty operator block", cond(`"StringEquals":{}`), "Statement[0].Condition.StringEquals", ReasonValue},
		{"duplicate key differing in case", cond(`"StringEquals":{"a:B":"x","A:b":"y"}`), `Statement[0].Condition.StringEquals["A:b"]`, ReasonDuplicate},
		{"duplicate key exact", cond(`"StringEquals":{"a:b":"x","a:b":"y"}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonDuplicate},
		{"invalid key", cond(`"StringEquals":{"a b":"x"}`), `Statement[0].Condition.StringEquals["a b"]`, ReasonValue},
		{"value null", cond(`"StringEquals":{"a:b":null}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonType},
		{"value object", cond(`"StringEquals":{"a:b":{}}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonType},
		{"empty value list", cond(`"StringEquals":{"a:b":[]}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonValue},
		{"nested list", cond(`"StringEquals":{"a:b":["x",["y"]]}`), `Statement[0].Condition.StringEquals["a:b"][1]`, ReasonType},

		// Operand values.
		{"invalid number", cond(`"NumericLessThan":{"a:b":"ten"}`), `Statement[0].Condition.NumericLessThan["a:b"]`, ReasonValue},
		{"hex number", cond(`"NumericEquals":{"a:b":"0x10"}`), `Statement[0].Condition.NumericEquals["a:b"]`, ReasonValue},
		{"number with leading plus", cond(`"NumericEquals":{"a:b":["1","+1"]}`), `Statement[0].Condition.NumericEquals["a:b"][1]`, ReasonValue},
		{"number overflow", cond(`"NumericEquals":{"a:b":"1e400"}`), `Statement[0].Condition.NumericEquals["a:b"]`, ReasonValue},
		{"invalid date", cond(`"DateLessThan":{"aws:CurrentTime":"2024-02-30T00:00:00Z"}`), `Statement[0].Condition.DateLessThan["aws:CurrentTime"]`, ReasonValue},
		{"date with bad zone", cond(`"DateLessThan":{"aws:CurrentTime":"2024-02-01T00:00:00+2"}`), `Statement[0].Condition.DateLessThan["aws:CurrentTime"]`, ReasonValue},
		{"date words", cond(`"DateGreaterThan":{"aws:CurrentTime":"yesterday"}`), `Statement[0].Condition.DateGreaterThan["aws:CurrentTime"]`, ReasonValue},
		{"invalid bool", cond(`"Bool":{"aws:SecureTransport":"yes"}`), `Statement[0].Condition.Bool["aws:SecureTransport"]`, ReasonValue},
		{"invalid Null value", cond(`"Null":{"a:b":"maybe"}`), `Statement[0].Condition.Null["a:b"]`, ReasonValue},
		{"invalid base64", cond(`"BinaryEquals":{"a:b":"not base64!"}`), `Statement[0].Condition.BinaryEquals["a:b"]`, ReasonValue},
		{"unpadded base64", cond(`"BinaryEquals":{"a:b":"QQ"}`), `Statement[0].Condition.BinaryEquals["a:b"]`, ReasonValue},
		{"invalid CIDR", cond(`"IpAddress":{"aws:SourceIp":"203.0.113.0/33"}`), `Statement[0].Condition.IpAddress["aws:SourceIp"]`, ReasonValue},
		{"invalid IP", cond(`"NotIpAddress":{"aws:SourceIp":["10.0.0.1","10.0.0"]}`), `Statement[0].Condition.NotIpAddress["aws:SourceIp"][1]`, ReasonValue},
		{"IP with zone", cond(`"IpAddress":{"aws:SourceIp":"fe80::1%eth0"}`), `Statement[0].Condition.IpAddress["aws:SourceIp"]`, ReasonValue},
		{"ARN with too few parts", cond(`"ArnLike":{"aws:SourceArn":"arn:aws:iam::role/x"}`), `Statement[0].Condition.ArnLike["aws:SourceArn"]`, ReasonValue},
		{"ARN not starting with arn", cond(`"ArnEquals":{"aws:SourceArn":"*:aws:iam::1:role/x"}`), `Statement[0].Condition.ArnEquals["aws:SourceArn"]`, ReasonValue},
		{"bare star in ArnLike", cond(`"ArnNotLike":{"aws:SourceArn":"*"}`), `Statement[0].Condition.ArnNotLike["aws:SourceArn"]`, ReasonValue},

		// Policy variables (2012-10-17).
		{"unterminated variable", cond(`"StringEquals":{"a:b":"${a:c"}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonValue},
		{"empty variable", cond(`"StringLike":{"a:b":"x${}"}`), `Statement[0].Condition.StringLike["a:b"]`, ReasonValue},
		{"bad variable default", cond(`"StringEquals":{"a:b":"${a:c, nobody}"}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonValue},
		{"variable default with quote", cond(`"StringEquals":{"a:b":"${a:c, 'it's'}"}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonValue},
		{"too many variables", cond(`"StringEquals":{"a:b":"${k:1}${k:2}${k:3}${k:4}${k:5}${k:6}${k:7}${k:8}${k:9}"}`), `Statement[0].Condition.StringEquals["a:b"]`, ReasonValue},
		{"variable in ARN breaks it", cond(`"ArnLike":{"aws:SourceArn":"arn:aws:${x"}`), `Statement[0].Condition.ArnLike["aws:SourceArn"]`, ReasonValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.Error(t, err)
			assert.Nil(t, p)
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "error %T is not a *ParseError", err)
			assert.Equal(t, tt.path, pe.Path, "message: %s", pe.Msg)
			assert.Equal(t, tt.reason, pe.Reason, "message: %s", pe.Msg)
			assert.NotEmpty(t, pe.Msg)
			assert.True(t, strings.HasPrefix(pe.Error(), "policy: "))
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	doc := cond(`"StringEquals":{"a:b":"` + strings.Repeat("x", 200) + `"}`)
	n := nonSpaceLen([]byte(doc))

	tests := []struct {
		name    string
		doc     string
		opts    ParseOptions
		wantErr bool
	}{
		{"at the limit", doc, ParseOptions{MaxSize: n}, false},
		{"one over", doc, ParseOptions{MaxSize: n - 1}, true},
		{"whitespace does not count", strings.ReplaceAll(doc, ",", " ,\n\t "), ParseOptions{MaxSize: n}, false},
		{"default limit", cond(`"StringEquals":{"a:b":"` + strings.Repeat("x", DefaultMaxSize) + `"}`), ParseOptions{}, true},
		{"default limit fits", doc, ParseOptions{}, false},
		{"negative means default", doc, ParseOptions{MaxSize: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWithOptions([]byte(tt.doc), tt.opts)
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, ReasonTooLarge, pe.Reason)
			assert.Equal(t, "", pe.Path)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		version string
		keys    []string
	}{
		{"statement as object, no version", `{"Statement":{` + base + `}}`, Version20081017, nil},
		{"version 2008", `{"Version":"2008-10-17","Statement":{` + base + `}}`, Version20081017, nil},
		{"empty Condition is no condition", cond(``), Version20121017, nil},
		{"id", `{"Version":"2012-10-17","Id":"any text: é","Statement":[{` + base + `}]}`, Version20121017, nil},
		{"empty sid", stmt(base + `,"Sid":""`), Version20121017, nil},
		{"two statements with empty sid", `{"Statement":[{"Sid":"",` + base + `},{"Sid":"",` + base + `}]}`, Version20081017, nil},
		{"everything as lists", stmt(`"Effect":"Deny","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/x"],"Service":"sts.amazonaws.com","CanonicalUser":"79a5"},"NotAction":["sts:Tag*","iam:?et*"]`), Version20121017, nil},
		{"numbers and bools become text", cond(`"StringEquals":{"k:n":[1.50,true,"x"]},"NumericEquals":{"k:m":1e3},"Bool":{"aws:SecureTransport":false},"Null":{"k:z":true}`), Version20121017,
			[]string{"aws:securetransport", "k:m", "k:n", "k:z"}},
		{"keys lower-cased, variables included", cond(`"StringLike":{"Token.Example.COM:Sub":"repo:${Token.Example.com:Repository_Owner}/*"},"StringEquals":{"token.example.com:aud":"${aws:x, 'd'}"}`), Version20121017,
			[]string{"aws:x", "token.example.com:aud", "token.example.com:repository_owner", "token.example.com:sub"}},
		{"variables are literal in 2008", `{"Version":"2008-10-17","Statement":{` + base + `,"Condition":{"StringEquals":{"k:a":"${k:b"}}}}`, Version20081017,
			[]string{"k:a"}},
		{"all operators", cond(`"StringEquals":{"k:1":"a"},"StringNotEquals":{"k:2":"a"},"StringEqualsIgnoreCase":{"k:3":"a"},"StringNotEqualsIgnoreCase":{"k:4":"a"},
			"StringLike":{"k:5":"a*"},"StringNotLike":{"k:6":"a*"},"NumericEquals":{"k:7":"1"},"NumericNotEquals":{"k:8":"1"},"NumericLessThan":{"k:9":"1"},
			"NumericLessThanEquals":{"k:10":"1"},"NumericGreaterThan":{"k:11":"1"},"NumericGreaterThanEquals":{"k:12":"1"},"DateEquals":{"k:13":"2024-01-01"},
			"DateNotEquals":{"k:14":"1700000000"},"DateLessThan":{"k:15":"2024-01-01T00:00Z"},"DateLessThanEquals":{"k:16":"2024-01-01T00:00:00.5+01:00"},
			"DateGreaterThan":{"k:17":"2024-01-01T00:00:00"},"DateGreaterThanEquals":{"k:18":"-1.5"},"Bool":{"k:19":"true"},"BinaryEquals":{"k:20":"QUJD"},
			"IpAddress":{"k:21":["10.0.0.0/8","2001:db8::/32","192.0.2.1"]},"NotIpAddress":{"k:22":"10.0.0.1/8"},"ArnEquals":{"k:23":"arn:aws:iam::1:role/x"},
			"ArnLike":{"k:24":"arn:aws:iam::*:role/*"},"ArnNotEquals":{"k:25":"arn:aws:s3:::b/k:with:colons"},"ArnNotLike":{"k:26":"arn:*:*:*:*:*"},"Null":{"k:27":"false"},
			"ForAnyValue:StringLike":{"k:28":"a"},"ForAllValues:StringEqualsIfExists":{"k:29":"a"},"NumericLessThanIfExists":{"k:30":"1"}`), Version20121017, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			assert.Equal(t, tt.version, p.Version())
			if tt.keys != nil {
				assert.Equal(t, tt.keys, p.Keys())
			}
		})
	}
}

func TestStatementElements(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		notAction bool
	}{
		{"Action", stmt(base), false},
		{"NotAction", stmt(`"Effect":"Deny","Principal":"*","NotAction":"*"`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			require.Len(t, p.stmts, 1)
			s := p.stmts[0]
			assert.Equal(t, tt.notAction, s.notAction)
		})
	}
}

func TestKeysIsACopy(t *testing.T) {
	p, err := Parse([]byte(cond(`"StringEquals":{"k:a":"x"}`)))
	require.NoError(t, err)
	keys := p.Keys()
	require.Equal(t, []string{"k:a"}, keys)
	keys[0] = "changed"
	assert.Equal(t, []string{"k:a"}, p.Keys())
	assert.Equal(t, "", p.ID())
}

func TestParseErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *ParseError
		want string
	}{
		{"with path", &ParseError{Path: "Statement[0].Effect", Msg: "missing Effect", Reason: ReasonMissing}, "policy: Statement[0].Effect: missing Effect"},
		{"without path", &ParseError{Msg: "document is not valid UTF-8", Reason: ReasonSyntax}, "policy: document is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error())
		})
	}
	for r := ReasonSyntax; r <= ReasonNotAllowed; r++ {
		assert.NotContains(t, r.String(), "ParseErrorReason(")
	}
	assert.Equal(t, "ParseErrorReason(99)", ParseErrorReason(99).String())
}
