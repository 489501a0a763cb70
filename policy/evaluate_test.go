package policy

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var googleRequest = Request{
	Action:    "sts:AssumeRoleWithWebIdentity",
	Principal: Principal{Type: "Federated", ID: "accounts.google.com"},
	Resource:  "arn:aws:iam::111122223333:role/r",
}

// condHolds parses a one-statement Allow policy with the given Condition body
// and reports whether it allows a request with ctx.
func condHolds(t *testing.T, body string, ctx Context) bool {
	t.Helper()
	p, err := Parse([]byte(cond(body)))
	require.NoError(t, err)
	req := googleRequest
	req.Context = ctx
	d := p.Evaluate(&req)
	require.NotEqual(t, ExplicitDeny, d.Effect)
	return d.Effect == Allow
}

type condCase struct {
	name string
	body string
	ctx  Values
	want bool
}

func runCondCases(t *testing.T, tests []condCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, condHolds(t, tt.body, tt.ctx))
		})
	}
}

func v(vals ...string) Values { return Values{"k:x": vals} }

var missing = Values{"k:other": {"x"}}

func TestStringOperators(t *testing.T) {
	runCondCases(t, []condCase{
		{"StringEquals match", `"StringEquals":{"k:x":"abc"}`, v("abc"), true},
		{"StringEquals no match", `"StringEquals":{"k:x":"abc"}`, v("abd"), false},
		{"StringEquals is case-sensitive", `"StringEquals":{"k:x":"abc"}`, v("ABC"), false},
		{"StringEquals values are ORed", `"StringEquals":{"k:x":["a","b","c"]}`, v("b"), true},
		{"StringEquals missing", `"StringEquals":{"k:x":"abc"}`, missing, false},
		{"StringEquals empty values is missing", `"StringEquals":{"k:x":"abc"}`, Values{"k:x": {}}, false},
		{"StringEquals multi-valued: any value", `"StringEquals":{"k:x":"abc"}`, v("zzz", "abc"), true},
		{"StringEquals multi-valued: none", `"StringEquals":{"k:x":"abc"}`, v("zzz", "yyy"), false},
		{"StringEquals wildcard is literal", `"StringEquals":{"k:x":"a*"}`, v("abc"), false},
		{"StringEquals wildcard literal match", `"StringEquals":{"k:x":"a*"}`, v("a*"), true},
		{"StringEquals number as text", `"StringEquals":{"k:x":1.50}`, v("1.50"), true},
		{"StringEquals number text is not numeric", `"StringEquals":{"k:x":1.50}`, v("1.5"), false},
		{"StringEquals bool as text", `"StringEquals":{"k:x":true}`, v("true"), true},
		{"StringEquals key case-insensitive", `"StringEquals":{"K:X":"abc"}`, Values{"k:x": {"abc"}}, true},
		{"StringEquals context key in upper case", `"StringEquals":{"k:x":"abc"}`, Values{"K:X": {"abc"}}, true},

		{"StringNotEquals match", `"StringNotEquals":{"k:x":"abc"}`, v("abc"), false},
		{"StringNotEquals no match", `"StringNotEquals":{"k:x":"abc"}`, v("abd"), true},
		{"StringNotEquals missing", `"StringNotEquals":{"k:x":"abc"}`, missing, true},
		{"StringNotEquals none of the values", `"StringNotEquals":{"k:x":["a","b"]}`, v("b"), false},
		{"StringNotEquals multi-valued: one matches", `"StringNotEquals":{"k:x":"abc"}`, v("zzz", "abc"), false},
		{"StringNotEquals multi-valued: none matches", `"StringNotEquals":{"k:x":"abc"}`, v("zzz", "yyy"), true},

		{"StringEqualsIgnoreCase match", `"StringEqualsIgnoreCase":{"k:x":"AbC"}`, v("aBc"), true},
		{"StringEqualsIgnoreCase unicode", `"StringEqualsIgnoreCase":{"k:x":"STRASSE Σ"}`, v("strasse σ"), true},
		{"StringEqualsIgnoreCase no match", `"StringEqualsIgnoreCase":{"k:x":"abc"}`, v("abd"), false},
		{"StringEqualsIgnoreCase missing", `"StringEqualsIgnoreCase":{"k:x":"abc"}`, missing, false},
		{"StringNotEqualsIgnoreCase match", `"StringNotEqualsIgnoreCase":{"k:x":"abc"}`, v("ABC"), false},
		{"StringNotEqualsIgnoreCase no match", `"StringNotEqualsIgnoreCase":{"k:x":"abc"}`, v("abd"), true},
		{"StringNotEqualsIgnoreCase missing", `"StringNotEqualsIgnoreCase":{"k:x":"abc"}`, missing, true},

		{"StringLike star", `"StringLike":{"k:x":"repo:org/*"}`, v("repo:org/app:ref:refs/heads/main"), true},
		{"StringLike star matches empty", `"StringLike":{"k:x":"repo:org/*"}`, v("repo:org/"), true},
		{"StringLike no match", `"StringLike":{"k:x":"repo:org/*"}`, v("repo:other/app"), false},
		{"StringLike question mark is one code point", `"StringLike":{"k:x":"a?c"}`, v("aéc"), true},
		{"StringLike question mark needs a character", `"StringLike":{"k:x":"a?c"}`, v("ac"), false},
		{"StringLike is case-sensitive", `"StringLike":{"k:x":"Repo:*"}`, v("repo:x"), false},
		{"StringLike request star is literal", `"StringLike":{"k:x":"a?"}`, v("a*"), true},
		{"StringLike request star does not widen", `"StringLike":{"k:x":"abc"}`, v("*"), false},
		{"StringLike middle segments", `"StringLike":{"k:x":"*:ref:*:env:*"}`, v("repo:o/r:ref:refs/heads/main:env:prod"), true},
		{"StringLike missing", `"StringLike":{"k:x":"*"}`, missing, false},
		{"StringLike multi-valued", `"StringLike":{"k:x":"a*"}`, v("b", "ab"), true},
		{"StringNotLike match", `"StringNotLike":{"k:x":"a*"}`, v("abc"), false},
		{"StringNotLike no match", `"StringNotLike":{"k:x":"a*"}`, v("bc"), true},
		{"StringNotLike missing", `"StringNotLike":{"k:x":"a*"}`, missing, true},
		{"StringNotLike multi-valued: one matches", `"StringNotLike":{"k:x":"a*"}`, v("b", "ab"), false},
	})
}

func TestModifiers(t *testing.T) {
	runCondCases(t, []condCase{
		{"IfExists missing", `"StringEqualsIfExists":{"k:x":"a"}`, missing, true},
		{"IfExists match", `"StringEqualsIfExists":{"k:x":"a"}`, v("a"), true},
		{"IfExists no match", `"StringEqualsIfExists":{"k:x":"a"}`, v("b"), false},
		{"IfExists empty values", `"StringLikeIfExists":{"k:x":"a"}`, Values{"k:x": nil}, true},
		{"negated IfExists missing", `"StringNotEqualsIfExists":{"k:x":"a"}`, missing, true},
		{"negated IfExists match", `"StringNotEqualsIfExists":{"k:x":"a"}`, v("a"), false},

		{"ForAnyValue missing", `"ForAnyValue:StringEquals":{"k:x":"a"}`, missing, false},
		{"ForAnyValue empty", `"ForAnyValue:StringEquals":{"k:x":"a"}`, Values{"k:x": {}}, false},
		{"ForAnyValue one of many", `"ForAnyValue:StringEquals":{"k:x":["a","b"]}`, v("z", "b"), true},
		{"ForAnyValue none", `"ForAnyValue:StringEquals":{"k:x":["a","b"]}`, v("z", "y"), false},
		{"ForAnyValue negated: one outside", `"ForAnyValue:StringNotEquals":{"k:x":["a","b"]}`, v("a", "z"), true},
		{"ForAnyValue negated: all inside", `"ForAnyValue:StringNotEquals":{"k:x":["a","b"]}`, v("a", "b"), false},
		{"ForAnyValue negated missing", `"ForAnyValue:StringNotEquals":{"k:x":"a"}`, missing, false},
		{"ForAnyValue IfExists missing", `"ForAnyValue:StringEqualsIfExists":{"k:x":"a"}`, missing, false},

		{"ForAllValues missing", `"ForAllValues:StringEquals":{"k:x":"a"}`, missing, true},
		{"ForAllValues empty", `"ForAllValues:StringEquals":{"k:x":"a"}`, Values{"k:x": {}}, true},
		{"ForAllValues all inside", `"ForAllValues:StringEquals":{"k:x":["a","b"]}`, v("b", "a", "a"), true},
		{"ForAllValues one outside", `"ForAllValues:StringEquals":{"k:x":["a","b"]}`, v("a", "z"), false},
		{"ForAllValues negated: none inside", `"ForAllValues:StringNotLike":{"k:x":["a*"]}`, v("b", "c"), true},
		{"ForAllValues negated: one inside", `"ForAllValues:StringNotLike":{"k:x":["a*"]}`, v("b", "ab"), false},
		{"ForAllValues negated missing", `"ForAllValues:StringNotLike":{"k:x":["a*"]}`, missing, true},
		{"ForAllValues with Null false guards missing", `"ForAllValues:StringEquals":{"k:x":"a"},"Null":{"k:x":"false"}`, missing, false},

		{"Null true missing", `"Null":{"k:x":"true"}`, missing, true},
		{"Null true present", `"Null":{"k:x":"true"}`, v("a"), false},
		{"Null true empty values", `"Null":{"k:x":true}`, Values{"k:x": {}}, true},
		{"Null false missing", `"Null":{"k:x":"false"}`, missing, false},
		{"Null false present", `"Null":{"k:x":false}`, v("a"), true},
		{"Null both", `"Null":{"k:x":["true","false"]}`, missing, true},

		{"operators are ANDed", `"StringEquals":{"k:x":"a"},"StringLike":{"k:y":"b*"}`, Values{"k:x": {"a"}, "k:y": {"c"}}, false},
		{"operators are ANDed, both hold", `"StringEquals":{"k:x":"a"},"StringLike":{"k:y":"b*"}`, Values{"k:x": {"a"}, "k:y": {"bc"}}, true},
		{"keys are ANDed", `"StringEquals":{"k:x":"a","k:y":"b"}`, Values{"k:x": {"a"}}, false},
		{"nil context: positive fails", `"StringEquals":{"k:x":"a"}`, nil, false},
		{"nil context: negated holds", `"StringNotEquals":{"k:x":"a"}`, nil, true},
	})
}

func TestNumericOperators(t *testing.T) {
	runCondCases(t, []condCase{
		{"NumericEquals", `"NumericEquals":{"k:x":"10"}`, v("10.0"), true},
		{"NumericEquals exponent", `"NumericEquals":{"k:x":1e3}`, v("1000"), true},
		{"NumericEquals no match", `"NumericEquals":{"k:x":"10"}`, v("11"), false},
		{"NumericEquals request not a number", `"NumericEquals":{"k:x":"10"}`, v("ten"), false},
		{"NumericEquals request hex", `"NumericEquals":{"k:x":"16"}`, v("0x10"), false},
		{"NumericEquals missing", `"NumericEquals":{"k:x":"10"}`, missing, false},
		{"NumericEquals multi-valued", `"NumericEquals":{"k:x":"10"}`, v("1", "10"), true},
		{"NumericNotEquals", `"NumericNotEquals":{"k:x":"10"}`, v("11"), true},
		{"NumericNotEquals equal", `"NumericNotEquals":{"k:x":"10"}`, v("10"), false},
		{"NumericNotEquals missing", `"NumericNotEquals":{"k:x":"10"}`, missing, true},
		{"NumericNotEquals request not a number", `"NumericNotEquals":{"k:x":"10"}`, v("x"), true},
		{"NumericLessThan", `"NumericLessThan":{"k:x":"10"}`, v("9.99"), true},
		{"NumericLessThan equal", `"NumericLessThan":{"k:x":"10"}`, v("10"), false},
		{"NumericLessThan negative", `"NumericLessThan":{"k:x":"-1"}`, v("-2"), true},
		{"NumericLessThanEquals", `"NumericLessThanEquals":{"k:x":"10"}`, v("10"), true},
		{"NumericLessThanEquals greater", `"NumericLessThanEquals":{"k:x":"10"}`, v("10.5"), false},
		{"NumericGreaterThan", `"NumericGreaterThan":{"k:x":"10"}`, v("11"), true},
		{"NumericGreaterThan equal", `"NumericGreaterThan":{"k:x":"10"}`, v("10"), false},
		{"NumericGreaterThanEquals", `"NumericGreaterThanEquals":{"k:x":"10"}`, v("10"), true},
		{"NumericGreaterThanEquals less", `"NumericGreaterThanEquals":{"k:x":"10"}`, v("9"), false},
		{"NumericLessThanIfExists missing", `"NumericLessThanIfExists":{"k:x":"10"}`, missing, true},
		{"ForAllValues:NumericLessThan", `"ForAllValues:NumericLessThan":{"k:x":"10"}`, v("1", "2", "30"), false},
		{"ForAnyValue:NumericGreaterThan", `"ForAnyValue:NumericGreaterThan":{"k:x":"10"}`, v("1", "2", "30"), true},
	})
}

func TestDateOperators(t *testing.T) {
	runCondCases(t, []condCase{
		{"DateEquals ISO and epoch", `"DateEquals":{"k:x":"2024-01-31T12:00:00Z"}`, v("1706702400"), true},
		{"DateEquals offsets", `"DateEquals":{"k:x":"2024-01-31T12:00:00Z"}`, v("2024-01-31T14:00:00+02:00"), true},
		{"DateEquals date only is midnight UTC", `"DateEquals":{"k:x":"2024-01-31"}`, v("2024-01-31T00:00:00Z"), true},
		{"DateEquals fraction", `"DateEquals":{"k:x":"2024-01-31T12:00:00.5Z"}`, v("1706702400.5"), true},
		{"DateEquals no match", `"DateEquals":{"k:x":"2024-01-31"}`, v("2024-02-01"), false},
		{"DateEquals request not a date", `"DateEquals":{"k:x":"2024-01-31"}`, v("tomorrow"), false},
		{"DateEquals missing", `"DateEquals":{"k:x":"2024-01-31"}`, missing, false},
		{"DateNotEquals", `"DateNotEquals":{"k:x":"2024-01-31"}`, v("2024-02-01"), true},
		{"DateNotEquals missing", `"DateNotEquals":{"k:x":"2024-01-31"}`, missing, true},
		{"DateLessThan", `"DateLessThan":{"k:x":"2024-01-31T00:00:00Z"}`, v("2024-01-30T23:59:59Z"), true},
		{"DateLessThan nanoseconds", `"DateLessThan":{"k:x":"2024-01-31T00:00:00.000000002Z"}`, v("2024-01-31T00:00:00.000000001Z"), true},
		{"DateLessThan equal", `"DateLessThan":{"k:x":"2024-01-31T00:00:00Z"}`, v("2024-01-31T00:00:00Z"), false},
		{"DateLessThanEquals", `"DateLessThanEquals":{"k:x":"2024-01-31T00:00:00Z"}`, v("2024-01-31T00:00:00Z"), true},
		{"DateGreaterThan", `"DateGreaterThan":{"k:x":"2024-01-31T00:00:00Z"}`, v("2024-01-31T00:00:01Z"), true},
		{"DateGreaterThan negative offset", `"DateGreaterThan":{"k:x":"2024-01-31T00:00:00Z"}`, v("2024-01-30T23:00:00-02:00"), true},
		{"DateGreaterThan pre-epoch", `"DateGreaterThan":{"k:x":"-1.5"}`, v("1969-12-31T23:59:58.6Z"), true},
		{"DateGreaterThanEquals", `"DateGreaterThanEquals":{"k:x":"1706659200"}`, v("2024-01-31"), true},
		{"DateGreaterThanEquals before", `"DateGreaterThanEquals":{"k:x":"1706659200"}`, v("2024-01-30"), false},
		{"DateLessThanIfExists missing", `"DateLessThanIfExists":{"k:x":"2024-01-31"}`, missing, true},
	})
}

func TestOtherOperators(t *testing.T) {
	runCondCases(t, []condCase{
		{"Bool true", `"Bool":{"k:x":"true"}`, v("true"), true},
		{"Bool request case-insensitive", `"Bool":{"k:x":true}`, v("TRUE"), true},
		{"Bool false", `"Bool":{"k:x":"false"}`, v("false"), true},
		{"Bool mismatch", `"Bool":{"k:x":"true"}`, v("false"), false},
		{"Bool request not a bool", `"Bool":{"k:x":"true"}`, v("1"), false},
		{"Bool missing", `"Bool":{"k:x":"false"}`, missing, false},
		{"BoolIfExists missing", `"BoolIfExists":{"k:x":"false"}`, missing, true},
		{"ForAllValues:Bool", `"ForAllValues:Bool":{"k:x":"true"}`, v("true", "false"), false},

		{"BinaryEquals bytes", `"BinaryEquals":{"k:x":"QUJD"}`, v("ABC"), true},
		{"BinaryEquals no match", `"BinaryEquals":{"k:x":"QUJD"}`, v("QUJD"), false},
		{"BinaryEquals missing", `"BinaryEquals":{"k:x":"QUJD"}`, missing, false},
		{"BinaryEqualsIfExists missing", `"BinaryEqualsIfExists":{"k:x":"QUJD"}`, missing, true},

		{"IpAddress in CIDR", `"IpAddress":{"k:x":"203.0.113.0/24"}`, v("203.0.113.77"), true},
		{"IpAddress outside CIDR", `"IpAddress":{"k:x":"203.0.113.0/24"}`, v("203.0.114.1"), false},
		{"IpAddress host bits ignored", `"IpAddress":{"k:x":"203.0.113.9/24"}`, v("203.0.113.200"), true},
		{"IpAddress bare IP is one host", `"IpAddress":{"k:x":"203.0.113.9"}`, v("203.0.113.9"), true},
		{"IpAddress bare IP other host", `"IpAddress":{"k:x":"203.0.113.9"}`, v("203.0.113.10"), false},
		{"IpAddress IPv6", `"IpAddress":{"k:x":"2001:db8::/32"}`, v("2001:db8:1::5"), true},
		{"IpAddress IPv6 outside", `"IpAddress":{"k:x":"2001:db8::/32"}`, v("2001:db9::5"), false},
		{"IpAddress IPv4-mapped request", `"IpAddress":{"k:x":"203.0.113.0/24"}`, v("::ffff:203.0.113.5"), true},
		{"IpAddress family mismatch", `"IpAddress":{"k:x":"::/0"}`, v("203.0.113.5"), false},
		{"IpAddress request not an IP", `"IpAddress":{"k:x":"0.0.0.0/0"}`, v("example.com"), false},
		{"IpAddress request with zone", `"IpAddress":{"k:x":"fe80::/10"}`, v("fe80::1%eth0"), false},
		{"IpAddress request CIDR is not an IP", `"IpAddress":{"k:x":"0.0.0.0/0"}`, v("10.0.0.0/8"), false},
		{"IpAddress missing", `"IpAddress":{"k:x":"0.0.0.0/0"}`, missing, false},
		{"IpAddress values ORed", `"IpAddress":{"k:x":["10.0.0.0/8","192.168.0.0/16"]}`, v("192.168.1.1"), true},
		{"NotIpAddress outside", `"NotIpAddress":{"k:x":"10.0.0.0/8"}`, v("11.0.0.1"), true},
		{"NotIpAddress inside", `"NotIpAddress":{"k:x":"10.0.0.0/8"}`, v("10.1.2.3"), false},
		{"NotIpAddress missing", `"NotIpAddress":{"k:x":"10.0.0.0/8"}`, missing, true},
		{"NotIpAddress request not an IP", `"NotIpAddress":{"k:x":"10.0.0.0/8"}`, v("nope"), true},

		{"ArnLike account wildcard", `"ArnLike":{"k:x":"arn:aws:iam::*:role/deploy"}`, v("arn:aws:iam::111122223333:role/deploy"), true},
		{"ArnLike resource wildcard", `"ArnLike":{"k:x":"arn:aws:iam::111122223333:role/*"}`, v("arn:aws:iam::111122223333:role/a/b"), true},
		{"ArnLike star does not cross a colon", `"ArnLike":{"k:x":"arn:aws:iam::*:role/deploy"}`, v("arn:aws:iam::1:2:role/deploy"), false},
		{"ArnLike resource part may hold colons", `"ArnLike":{"k:x":"arn:aws:logs:*:*:log-group:*"}`, v("arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"), true},
		{"ArnLike question mark", `"ArnLike":{"k:x":"arn:aws:ec2:*:*:instance/i-?????"}`, v("arn:aws:ec2:us-east-1:1:instance/i-12345"), true},
		{"ArnLike question mark count", `"ArnLike":{"k:x":"arn:aws:ec2:*:*:instance/i-?????"}`, v("arn:aws:ec2:us-east-1:1:instance/i-123456"), false},
		{"ArnLike is case-sensitive", `"ArnLike":{"k:x":"arn:aws:iam::*:role/Deploy"}`, v("arn:aws:iam::1:role/deploy"), false},
		{"ArnLike request not an ARN", `"ArnLike":{"k:x":"arn:*:*:*:*:*"}`, v("role/deploy"), false},
		{"ArnLike empty components", `"ArnLike":{"k:x":"arn:aws:s3:::bucket/*"}`, v("arn:aws:s3:::bucket/key"), true},
		{"ArnLike missing", `"ArnLike":{"k:x":"arn:*:*:*:*:*"}`, missing, false},
		{"ArnEquals takes wildcards like ArnLike", `"ArnEquals":{"k:x":"arn:aws:iam::*:role/deploy"}`, v("arn:aws:iam::111122223333:role/deploy"), true},
		{"ArnEquals exact", `"ArnEquals":{"k:x":"arn:aws:iam::1:role/deploy"}`, v("arn:aws:iam::1:role/deploy"), true},
		{"ArnNotLike match", `"ArnNotLike":{"k:x":"arn:aws:iam::*:role/*"}`, v("arn:aws:iam::1:role/x"), false},
		{"ArnNotLike no match", `"ArnNotLike":{"k:x":"arn:aws:iam::*:role/*"}`, v("arn:aws:iam::1:user/x"), true},
		{"ArnNotLike missing", `"ArnNotLike":{"k:x":"arn:aws:iam::*:role/*"}`, missing, true},
		{"ArnNotEquals request not an ARN", `"ArnNotEquals":{"k:x":"arn:aws:iam::1:role/x"}`, v("x"), true},
		{"ForAnyValue:ArnLike", `"ForAnyValue:ArnLike":{"k:x":"arn:aws:iam::1:role/*"}`, v("arn:aws:iam::2:role/x", "arn:aws:iam::1:role/y"), true},
	})
}

func TestPolicyVariables(t *testing.T) {
	runCondCases(t, []condCase{
		{"variable resolves", `"StringEquals":{"k:x":"${k:y}"}`, Values{"k:x": {"a"}, "k:y": {"a"}}, true},
		{"variable mismatch", `"StringEquals":{"k:x":"${k:y}"}`, Values{"k:x": {"a"}, "k:y": {"b"}}, false},
		{"variable key is case-insensitive", `"StringEquals":{"k:x":"${K:Y}"}`, Values{"k:x": {"a"}, "K:y": {"a"}}, true},
		{"variable inside text", `"StringLike":{"k:x":"repo:${k:owner}/*"}`, Values{"k:x": {"repo:octo/app"}, "k:owner": {"octo"}}, true},
		{"variable text is literal in StringLike", `"StringLike":{"k:x":"repo:${k:owner}/app"}`, Values{"k:x": {"repo:octo/app"}, "k:owner": {"*"}}, false},
		{"variable text star matches a star", `"StringLike":{"k:x":"repo:${k:owner}/app"}`, Values{"k:x": {"repo:*/app"}, "k:owner": {"*"}}, true},
		{"missing variable matches nothing", `"StringEquals":{"k:x":["${k:y}","b"]}`, Values{"k:x": {""}}, false},
		{"missing variable fails the whole condition in an Allow", `"StringEquals":{"k:x":["${k:y}","b"]}`, Values{"k:x": {"b"}}, false},
		{"missing variable with negated operator fails closed", `"StringNotEquals":{"k:x":"${k:y}"}`, Values{"k:x": {"a"}}, false},
		{"missing variable with StringNotLike fails closed", `"StringNotLike":{"k:x":"repo:${k:y}/*"}`, Values{"k:x": {"repo:evil/x"}}, false},
		{"missing variable with ForAllValues fails closed", `"ForAllValues:StringNotEquals":{"k:x":"${k:y}"}`, Values{"k:x": {"a"}}, false},
		{"missing variable with default resolves", `"StringNotEquals":{"k:x":"${k:y, 'b'}"}`, Values{"k:x": {"a"}}, true},
		{"multi-valued variable matches nothing", `"StringEquals":{"k:x":"${k:y}"}`, Values{"k:x": {"a"}, "k:y": {"a", "b"}}, false},
		{"multi-valued variable ignores default", `"StringEquals":{"k:x":"${k:y, 'a'}"}`, Values{"k:x": {"a"}, "k:y": {"a", "b"}}, false},
		{"default when missing", `"StringEquals":{"k:x":"team-${k:y, 'none'}"}`, Values{"k:x": {"team-none"}}, true},
		{"default not used when present", `"StringEquals":{"k:x":"team-${k:y,'none'}"}`, Values{"k:x": {"team-none"}, "k:y": {"a"}}, false},
		{"empty default", `"StringEquals":{"k:x":"a${k:y, ''}"}`, Values{"k:x": {"a"}}, true},
		{"special star", `"StringLike":{"k:x":"a${*}"}`, v("a*"), true},
		{"special star is not a wildcard", `"StringLike":{"k:x":"a${*}"}`, v("ab"), false},
		{"special question mark", `"StringLike":{"k:x":"a${?}"}`, v("a?"), true},
		{"special question mark is not a wildcard", `"StringLike":{"k:x":"a${?}"}`, v("ab"), false},
		{"special dollar", `"StringEquals":{"k:x":"${$}{k:y}"}`, v("${k:y}"), true},
		{"dollar without brace is literal", `"StringEquals":{"k:x":"a$b"}`, v("a$b"), true},
		{"IgnoreCase with variable", `"StringEqualsIgnoreCase":{"k:x":"${k:y}-X"}`, Values{"k:x": {"abc-x"}, "k:y": {"ABC"}}, true},
		{"ArnLike with variable", `"ArnLike":{"k:x":"arn:aws:iam::${k:acct}:role/*"}`, Values{"k:x": {"arn:aws:iam::1:role/r"}, "k:acct": {"1"}}, true},
		{"ArnLike variable with colon cannot span components", `"ArnLike":{"k:x":"arn:aws:iam::${k:acct}:role/*"}`, Values{"k:x": {"arn:aws:iam::1:2:role/r"}, "k:acct": {"1:2"}}, false},
		{"same variable twice", `"StringEquals":{"k:x":"${k:y}/${k:y}"}`, Values{"k:x": {"a/a"}, "k:y": {"a"}}, true},
		{"one unresolved variable among the values fails the condition", `"StringEquals":{"k:x":["${k:y}","${k:z}"]}`, Values{"k:x": {"b"}, "k:z": {"b"}}, false},
		{"several variables all resolved", `"StringEquals":{"k:x":["${k:y}","${k:z}"]}`, Values{"k:x": {"b"}, "k:y": {"a"}, "k:z": {"b"}}, true},
	})

	// In a Deny, a condition whose variable does not resolve holds: leaving a
	// claim out must not lift a Deny.
	t.Run("unresolved variable in a Deny applies the Deny", func(t *testing.T) {
		doc := `{"Version":"2012-10-17","Statement":[{` + base + `},` +
			`{"Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"k:x":"${k:y}"}}}]}`
		p, err := Parse([]byte(doc))
		require.NoError(t, err)
		for _, tt := range []struct {
			name string
			ctx  Values
			want Effect
		}{
			{"variable resolves and differs", Values{"k:x": {"a"}, "k:y": {"b"}}, Allow},
			{"variable resolves and equals", Values{"k:x": {"a"}, "k:y": {"a"}}, ExplicitDeny},
			{"variable missing", Values{"k:x": {"a"}}, ExplicitDeny},
			{"variable multi-valued", Values{"k:x": {"a"}, "k:y": {"b", "c"}}, ExplicitDeny},
		} {
			req := googleRequest
			req.Context = tt.ctx
			d := p.Evaluate(&req)
			assert.Equal(t, tt.want, d.Effect, tt.name)
			if tt.want == ExplicitDeny {
				assert.Equal(t, 1, d.Statement, tt.name)
			}
		}
	})

	t.Run("literal under 2008-10-17", func(t *testing.T) {
		p, err := Parse([]byte(`{"Version":"2008-10-17","Statement":{` + base + `,"Condition":{"StringEquals":{"k:x":"${k:y}"}}}}`))
		require.NoError(t, err)
		for _, tt := range []struct {
			name string
			ctx  Values
			want Effect
		}{
			{"literal text matches", Values{"k:x": {"${k:y}"}, "k:y": {"a"}}, Allow},
			{"no substitution", Values{"k:x": {"a"}, "k:y": {"a"}}, ImplicitDeny},
		} {
			req := googleRequest
			req.Context = tt.ctx
			assert.Equal(t, tt.want, p.Evaluate(&req).Effect, tt.name)
		}
	})
}

func TestEvaluateStatements(t *testing.T) {
	const prov = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/X"
	fed := Principal{Type: "Federated", ID: prov}
	allowIRSA := `{"Sid":"Irsa","Effect":"Allow","Principal":{"Federated":"` + prov + `"},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"oidc.example.com/id/X:aud":"sts.amazonaws.com"},"StringLike":{"oidc.example.com/id/X:sub":"system:serviceaccount:ns:*"}}}`
	ok := Values{"oidc.example.com/id/x:aud": {"sts.amazonaws.com"}, "oidc.example.com/id/x:sub": {"system:serviceaccount:ns:app"}}
	req := func(mod func(*Request)) *Request {
		r := &Request{Action: "sts:AssumeRoleWithWebIdentity", Principal: fed, Resource: "arn:aws:iam::111122223333:role/app", Context: ok}
		if mod != nil {
			mod(r)
		}
		return r
	}
	tests := []struct {
		name       string
		statements string
		req        *Request
		effect     Effect
		statement  int
		sid        string
		reason     string
	}{
		{"allow", allowIRSA, req(nil), Allow, 0, "Irsa", "Statement[0] (Sid Irsa): allowed"},
		{"action is case-insensitive", allowIRSA, req(func(r *Request) { r.Action = "STS:assumerolewithwebidentity" }), Allow, 0, "Irsa", ""},
		{"wrong action", allowIRSA, req(func(r *Request) { r.Action = "sts:AssumeRole" }), ImplicitDeny, 0, "Irsa", "Statement[0] (Sid Irsa): action did not match"},
		{"wrong principal", allowIRSA, req(func(r *Request) { r.Principal.ID += "Y" }), ImplicitDeny, 0, "Irsa", "Statement[0] (Sid Irsa): principal did not match"},
		{"wrong principal type", allowIRSA, req(func(r *Request) { r.Principal.Type = "AWS" }), ImplicitDeny, 0, "Irsa", "Statement[0] (Sid Irsa): principal did not match"},
		{"condition fails", allowIRSA, req(func(r *Request) {
			r.Context = Values{"oidc.example.com/id/x:aud": {"sts.amazonaws.com"}, "oidc.example.com/id/x:sub": {"system:serviceaccount:other:app"}}
		}), ImplicitDeny, 0, "Irsa", `Statement[0] (Sid Irsa): condition StringLike on "oidc.example.com/id/X:sub" did not match`},
		{"condition key missing", allowIRSA, req(func(r *Request) { r.Context = Values{"oidc.example.com/id/x:sub": {"system:serviceaccount:ns:app"}} }),
			ImplicitDeny, 0, "Irsa", `Statement[0] (Sid Irsa): condition StringEquals on "oidc.example.com/id/X:aud" did not match: key is missing`},
		{"nil context", allowIRSA, req(func(r *Request) { r.Context = nil }), ImplicitDeny, 0, "Irsa",
			`Statement[0] (Sid Irsa): condition StringEquals on "oidc.example.com/id/X:aud" did not match: key is missing`},
		{"Request.Resource is not consulted", allowIRSA, req(func(r *Request) { r.Resource = "arn:aws:iam::444455556666:role/other" }), Allow, 0, "Irsa", ""},
		{"explicit deny wins", allowIRSA + `,{"Sid":"NoNs","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"oidc.example.com/id/X:sub":"*:ns:*"}}}`,
			req(nil), ExplicitDeny, 1, "NoNs", "Statement[1] (Sid NoNs): explicitly denied"},
		{"deny that does not match", allowIRSA + `,{"Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"oidc.example.com/id/X:sub":"*:kube-system:*"}}}`,
			req(nil), Allow, 0, "Irsa", ""},
		{"closest statement explains", `{"Effect":"Allow","Principal":{"Federated":"other"},"Action":"sts:*"},` + allowIRSA,
			req(func(r *Request) { r.Context = Values{"oidc.example.com/id/x:aud": {"x"}} }), ImplicitDeny, 1, "Irsa",
			`Statement[1] (Sid Irsa): condition StringEquals on "oidc.example.com/id/X:aud" did not match`},
		{"first of equally close statements", `{"Effect":"Allow","Principal":{"Federated":"a"},"Action":"sts:*"},{"Effect":"Allow","Principal":{"Federated":"b"},"Action":"sts:*"}`,
			req(nil), ImplicitDeny, 0, "", "Statement[0]: principal did not match"},
		{"second allow matches", `{"Effect":"Allow","Principal":{"Federated":"a"},"Action":"sts:*"},{"Effect":"Allow","Principal":{"Federated":["b","` + prov + `"]},"Action":"sts:*"}`,
			req(nil), Allow, 1, "", "Statement[1]: allowed"},
		{"no allow statement", `{"Effect":"Deny","Principal":"*","Action":"iam:*"}`, req(nil), ImplicitDeny, -1, "", reasonNoAllow},
		{"principal star", `{"Effect":"Allow","Principal":"*","Action":"sts:*"}`, req(nil), Allow, 0, "", ""},
		{"AWS star is everyone", `{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:*"}`, req(nil), Allow, 0, "", ""},
		{"Federated star is every federated principal", `{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"sts:*"}`, req(nil), Allow, 0, "", ""},
		{"Federated star is not an AWS principal", `{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"sts:*"}`,
			req(func(r *Request) { r.Principal = Principal{Type: "AWS", ID: "arn:aws:iam::1:root"} }), ImplicitDeny, 0, "", "Statement[0]: principal did not match"},
		{"account ID is the account root", `{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`,
			req(func(r *Request) {
				r.Action = "sts:AssumeRole"
				r.Principal = Principal{Type: "AWS", ID: "arn:aws:iam::111122223333:root"}
			}), Allow, 0, "", ""},
		{"empty Condition is no condition", `{"Effect":"Allow","Principal":{"Federated":"` + prov + `"},"Action":"sts:*","Condition":{}}`, req(nil), Allow, 0, "", ""},
		{"NotAction excludes", `{"Effect":"Allow","Principal":"*","NotAction":"sts:AssumeRoleWith*"}`, req(nil), ImplicitDeny, 0, "", "Statement[0]: action is excluded by NotAction"},
		{"NotAction admits others", `{"Effect":"Allow","Principal":"*","NotAction":"sts:TagSession"}`, req(nil), Allow, 0, "", ""},
		{"action wildcards", `{"Effect":"Allow","Principal":"*","Action":["iam:*","sts:Assume?oleWith*"]}`, req(nil), Allow, 0, "", ""},
		{"action star", `{"Effect":"Allow","Principal":"*","Action":"*"}`, req(nil), Allow, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[` + tt.statements + `]}`))
			require.NoError(t, err)
			d := p.Evaluate(tt.req)
			assert.Equal(t, tt.effect, d.Effect)
			assert.Equal(t, tt.statement, d.Statement)
			assert.Equal(t, tt.sid, d.Sid)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, d.Reason)
			}
			assert.NotContains(t, d.Reason, "system:serviceaccount", "reasons never echo request values")
		})
	}
}

func TestEvaluateNil(t *testing.T) {
	p, err := Parse([]byte(stmt(base)))
	require.NoError(t, err)
	var nilPolicy *Policy
	tests := []struct {
		name string
		d    Decision
	}{
		{"nil request", p.Evaluate(nil)},
		{"nil policy", nilPolicy.Evaluate(&googleRequest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, ImplicitDeny, tt.d.Effect)
			assert.Equal(t, -1, tt.d.Statement)
			assert.NotEmpty(t, tt.d.Reason)
		})
	}
	assert.Nil(t, Lint(nil))
}

// TestRealWorld checks the trust policy shapes the issue names, as AWS
// documents them.
func TestRealWorld(t *testing.T) {
	const (
		eks    = "oidc.eks.eu-west-1.amazonaws.com/id/5C2A1B"
		gh     = "token.actions.githubusercontent.com"
		pathed = "discovery.example.com/cluster.example.com"
	)
	arn := func(p string) string { return "arn:aws:iam::111122223333:oidc-provider/" + p }
	allow := func(principal, conds string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + principal +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` + conds + `}}]}`
	}
	tests := []struct {
		name      string
		doc       string
		principal string
		ctx       Values
		want      Effect
	}{
		{"IRSA exact", allow(arn(eks), `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com","`+eks+`:sub":"system:serviceaccount:kube-system:aws-node"}`), arn(eks),
			Values{eks + ":aud": {"sts.amazonaws.com"}, eks + ":sub": {"system:serviceaccount:kube-system:aws-node"}}, Allow},
		{"IRSA exact, other account", allow(arn(eks), `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com","`+eks+`:sub":"system:serviceaccount:kube-system:aws-node"}`), arn(eks),
			Values{eks + ":aud": {"sts.amazonaws.com"}, eks + ":sub": {"system:serviceaccount:default:aws-node"}}, ImplicitDeny},
		{"IRSA efs-csi wildcard", allow(arn(eks), `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"},"StringLike":{"`+eks+`:sub":"system:serviceaccount:kube-system:efs-csi-*"}`), arn(eks),
			Values{eks + ":aud": {"sts.amazonaws.com"}, eks + ":sub": {"system:serviceaccount:kube-system:efs-csi-node-sa"}}, Allow},
		{"IRSA efs-csi wildcard, wrong namespace", allow(arn(eks), `"StringEquals":{"`+eks+`:aud":"sts.amazonaws.com"},"StringLike":{"`+eks+`:sub":"system:serviceaccount:kube-system:efs-csi-*"}`), arn(eks),
			Values{eks + ":aud": {"sts.amazonaws.com"}, eks + ":sub": {"system:serviceaccount:kube-public:efs-csi-node-sa"}}, ImplicitDeny},
		{"GitHub repo branch", allow(arn(gh), `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:octo-org/octo-repo:*"}`), arn(gh),
			Values{gh + ":aud": {"sts.amazonaws.com"}, gh + ":sub": {"repo:octo-org/octo-repo:ref:refs/heads/main"}}, Allow},
		{"GitHub other repo with shared prefix", allow(arn(gh), `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:octo-org/octo-repo:*"}`), arn(gh),
			Values{gh + ":aud": {"sts.amazonaws.com"}, gh + ":sub": {"repo:octo-org/octo-repo-evil:ref:refs/heads/main"}}, ImplicitDeny},
		{"GitHub org", allow(arn(gh), `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:octo-org/*"}`), arn(gh),
			Values{gh + ":aud": {"sts.amazonaws.com"}, gh + ":sub": {"repo:octo-org/anything:pull_request"}}, Allow},
		{"GitHub other org", allow(arn(gh), `"StringEquals":{"`+gh+`:aud":"sts.amazonaws.com"},"StringLike":{"`+gh+`:sub":"repo:octo-org/*"}`), arn(gh),
			Values{gh + ":aud": {"sts.amazonaws.com"}, gh + ":sub": {"repo:octo-org-evil/x:pull_request"}}, ImplicitDeny},
		{"Google aud oaud sub", allow("accounts.google.com", `"StringEquals":{"accounts.google.com:aud":"123.apps.googleusercontent.com","accounts.google.com:oaud":"https://sts.example","accounts.google.com:sub":"1100"}`), "accounts.google.com",
			Values{"accounts.google.com:aud": {"123.apps.googleusercontent.com"}, "accounts.google.com:oaud": {"https://sts.example"}, "accounts.google.com:sub": {"1100"}}, Allow},
		{"Google missing oaud", allow("accounts.google.com", `"StringEquals":{"accounts.google.com:aud":"123.apps.googleusercontent.com","accounts.google.com:oaud":"https://sts.example","accounts.google.com:sub":"1100"}`), "accounts.google.com",
			Values{"accounts.google.com:aud": {"123.apps.googleusercontent.com"}, "accounts.google.com:sub": {"1100"}}, ImplicitDeny},
		{"Cognito authenticated", allow("cognito-identity.amazonaws.com", `"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:1234"},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}`), "cognito-identity.amazonaws.com",
			Values{"cognito-identity.amazonaws.com:aud": {"us-east-1:1234"}, "cognito-identity.amazonaws.com:amr": {"authenticated", "cognito-identity.amazonaws.com:us-east-1:1234:CognitoSignIn:5678"}}, Allow},
		{"Cognito unauthenticated", allow("cognito-identity.amazonaws.com", `"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:1234"},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}`), "cognito-identity.amazonaws.com",
			Values{"cognito-identity.amazonaws.com:aud": {"us-east-1:1234"}, "cognito-identity.amazonaws.com:amr": {"unauthenticated"}}, ImplicitDeny},
		{"issuer with a path", allow(arn(pathed), `"StringEquals":{"`+pathed+`:aud":"sts.amazonaws.com","`+pathed+`:sub":"system:serviceaccount:ns:sa"}`), arn(pathed),
			Values{pathed + ":aud": {"sts.amazonaws.com"}, pathed + ":sub": {"system:serviceaccount:ns:sa"}}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.NoError(t, err)
			ctx := Values{}
			for k, v := range tt.ctx {
				ctx[strings.ToLower(k)] = v
			}
			for _, k := range p.Keys() {
				assert.Equal(t, strings.ToLower(k), k)
			}
			d := p.Evaluate(&Request{Action: "sts:AssumeRoleWithWebIdentity", Principal: Principal{Type: "Federated", ID: tt.principal}, Context: ctx})
			assert.Equal(t, tt.want, d.Effect, d.Reason)
		})
	}
}

// recordingContext records the keys Evaluate asks for.
type recordingContext struct {
	mu    sync.Mutex
	asked []string
	vals  Values
}

func (c *recordingContext) Values(key string) ([]string, bool) {
	c.mu.Lock()
	c.asked = append(c.asked, key)
	c.mu.Unlock()
	return c.vals.Values(key)
}

var _ Context = (*recordingContext)(nil)
var _ Context = Values(nil)

func TestEvaluateAsksLowerCasedKeys(t *testing.T) {
	p, err := Parse([]byte(cond(`"StringEquals":{"Token.Example.com:AUD":"x"},"StringLike":{"Token.Example.com:Sub":"${Token.Example.com:Repo}/*"}`)))
	require.NoError(t, err)
	ctx := &recordingContext{vals: Values{"Token.Example.com:AUD": {"x"}, "TOKEN.example.com:sub": {"r/1"}, "token.example.com:repo": {"r"}}}
	req := googleRequest
	req.Context = ctx
	assert.Equal(t, Allow, p.Evaluate(&req).Effect)
	require.NotEmpty(t, ctx.asked)
	for _, k := range ctx.asked {
		assert.Contains(t, p.Keys(), k)
	}
}

func TestValuesLookup(t *testing.T) {
	ctx := Values{"a:b": {"1"}, "C:D": {"2"}, "e:f": nil}
	tests := []struct {
		name string
		key  string
		want []string
		ok   bool
	}{
		{"exact", "a:b", []string{"1"}, true},
		{"folded", "A:B", []string{"1"}, true},
		{"stored upper, asked lower", "c:d", []string{"2"}, true},
		{"present without values", "e:f", nil, true},
		{"absent", "x:y", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ctx.Values(tt.key)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	p := irsaPolicy(t, 5)
	allowReq := irsaRequest("system:serviceaccount:kube-system:efs-csi-node")
	denyReq := irsaRequest("system:serviceaccount:default:x")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if p.Evaluate(allowReq).Effect != Allow || p.Evaluate(denyReq).Effect != ImplicitDeny {
					t.Error("inconsistent decision")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestEffectString(t *testing.T) {
	tests := []struct {
		e    Effect
		want string
	}{
		{ImplicitDeny, "ImplicitDeny"}, {Allow, "Allow"}, {ExplicitDeny, "ExplicitDeny"}, {Effect(7), "Effect(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.e.String())
		})
	}
}
