package stsapi

// The hand-written fast paths against the code they replaced (reference_test.go): the form
// parser and parameter checks against url.ParseQuery and url.Values, the XML writer against
// encoding/xml, the assumed-role names, derived RoleIds and LocalIssuer's credentials against
// their former construction.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/verifier"
)

// formOutcome is what the handler made of a request's parameters: the refusal (code,
// reason, parameter, message), or the request the verifier got and the session policies
// the issuer got; and the role ARN the log line names.
type formOutcome struct {
	Code, Reason, Param, Message string
	Request                      *verifier.Request
	Policy                       string
	PolicyARNs                   []string
	LoggedRole                   *string
}

// refOutcome is the outcome by the reference code.
func refOutcome(method, query, contentType, body string) formOutcome {
	params, e := refReadParams(method, query, contentType, []byte(body))
	var out formOutcome
	if arn := params["RoleArn"]; len(arn) > 0 {
		s := viaJSONLog(clip(arn[0]))
		out.LoggedRole = &s
	}
	if e == nil {
		var req *verifier.Request
		req, out.Policy, out.PolicyARNs, e = refDecode(params)
		if e == nil {
			out.Request = req
			return out
		}
	}
	out.Code, out.Reason, out.Param, out.Message = e.code, e.reason, e.param, e.message
	return out
}

// viaJSONLog is s as a JSON log line carries it (invalid UTF-8 replaced).
func viaJSONLog(s string) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("", "v", s)
	var line struct{ V string }
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		panic(err)
	}
	return line.V
}

// outcomeHandler serves requests through a Handler whose Decider and CredentialIssuer record
// what they are given.
type outcomeHandler struct {
	h      *Handler
	req    *verifier.Request
	issued *IssueRequest
	event  ResponseEvent
	logs   bytes.Buffer
}

func newOutcomeHandler(t testing.TB) *outcomeHandler {
	o := &outcomeHandler{}
	var err error
	o.h, err = NewHandler(Options{
		Verifier: deciderFunc(func(_ context.Context, req *verifier.Request) (*verifier.Result, error) {
			o.req = req
			return &verifier.Result{RoleARN: testRoleARN, RoleSessionName: testSession, Subject: "s", Duration: time.Hour}, nil
		}),
		Issuer: issuerFunc(func(ctx context.Context, req *IssueRequest) (*Credentials, error) {
			o.issued = req
			return (&LocalIssuer{Now: fixedClock}).Issue(ctx, req)
		}),
		Observer: ObserverFunc(func(_ context.Context, e ResponseEvent) { o.event = e }),
		Logger:   slog.New(slog.NewJSONHandler(&o.logs, nil)),
	})
	require.NoError(t, err)
	return o
}

// outcome serves one request and returns the handler's outcome.
func (o *outcomeHandler) outcome(t testing.TB, method, query, contentType, body string) formOutcome {
	o.req, o.issued, o.event = nil, nil, ResponseEvent{}
	o.logs.Reset()
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.URL.RawQuery = query
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	o.h.ServeHTTP(rec, r)

	var out formOutcome
	var line map[string]any
	require.NoError(t, json.Unmarshal(o.logs.Bytes(), &line), "%s", o.logs.Bytes())
	if arn, ok := line["role_arn"].(string); ok {
		out.LoggedRole = &arn
	}
	if rec.Code == http.StatusOK {
		require.NotNil(t, o.req)
		require.NotNil(t, o.issued)
		out.Request = o.req
		out.Request.SourceIP = ""
		out.Policy, out.PolicyARNs = o.issued.Policy, o.issued.PolicyARNs
		return out
	}
	var e errorResponse
	require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &e), "%s", rec.Body.Bytes())
	out.Code, out.Message = e.Error.Code, e.Error.Message
	out.Reason, out.Param = o.event.Reason, o.event.Parameter
	return out
}

// formCase is one request: method, query string, Content-Type, body.
type formCase struct {
	name                             string
	method, query, contentType, body string
}

func formCases() []formCase {
	good := assumeForm(testRoleARN, "header.payload.signature").Encode()
	const ct = "application/x-www-form-urlencoded"
	var many strings.Builder
	for i := range maxFormParams {
		if i > 0 {
			many.WriteByte('&')
		}
		many.WriteString("A")
	}
	cases := []formCase{
		{"good POST", "POST", "", ct, good},
		{"good POST with charset", "POST", "", ct + "; charset=utf-8", good},
		{"good POST with upper-case media type", "POST", "", "Application/X-WWW-Form-URLEncoded; Charset=UTF-8", good},
		{"good GET", "GET", good, "", ""},
		{"GET ignores the body", "GET", good, ct, "Action=Other"},
		{"split between query and body", "POST", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15", ct,
			"RoleArn=" + url.QueryEscape(testRoleARN) + "&RoleSessionName=s&WebIdentityToken=a.b.c"},
		{"repeated across query and body", "POST", "RoleArn=first", ct, good},
		{"repeated in the body", "POST", "", ct, good + "&RoleSessionName=again"},
		{"repeated unknown and known: the smaller name", "POST", "", ct, good + "&Zz=1&Zz=2&Action=" + Action},
		{"repeated unknown", "POST", "", ct, good + "&Aa=1&Aa=2"},
		{"empty name ignored", "POST", "", ct, good + "&=x&=y"},
		{"empty name beside a repeated one", "POST", "", ct, good + "&=1&=2&RoleSessionName=again"},
		{"empty name beside an unknown one", "POST", "", ct, good + "&Zzz=1&=2"},
		{"empty pairs", "POST", "", ct, "&&" + good + "&&"},
		{"pair without =", "POST", "", ct, good + "&Policy"},
		{"escaped names", "POST", "", ct, strings.ReplaceAll(good, "RoleArn=", "Role%41rn=")},
		{"plus is a space", "POST", "", ct, good + "&DurationSeconds=+900"},
		{"escaped plus", "POST", "", ct, good + "&DurationSeconds=%2B900"},
		{"plus and escapes in values", "POST", "", ct,
			strings.Replace(good, "RoleSessionName="+testSession, "RoleSessionName=a+b%2Bc%41%7e", 1) + "&ProviderId=x+y"},
		{"DurationSeconds", "POST", "", ct, good + "&DurationSeconds=3600"},
		{"DurationSeconds minus zero", "POST", "", ct, good + "&DurationSeconds=-0"},
		{"DurationSeconds empty", "POST", "", ct, good + "&DurationSeconds="},
		{"bad escape in a value", "POST", "", ct, good + "&Policy=%zz"},
		{"bad escape at the end", "POST", "", ct, good + "&Policy=%4"},
		{"bad escape in a name", "POST", "", ct, good + "&%G0=1"},
		{"bad escape in the query", "POST", "Action=%", ct, good},
		{"semicolon", "POST", "", ct, good + ";x=1"},
		{"escaped semicolon", "POST", "", ct, good + "&Policy=%3B"},
		{"semicolon in the query", "GET", good + ";", "", ""},
		{"whitespace body", "POST", good, "text/plain", " \r\n\t"},
		{"body not a form", "POST", "", "application/json", `{"Action":"x"}`},
		{"no Content-Type", "POST", "", "", good},
		{"bad media parameters", "POST", "", ct + "; charset", good},
		{"no Action", "POST", "", ct, "Version=" + Version},
		{"empty Action", "POST", "", ct, "Action=&Version=" + Version},
		{"other Action", "POST", "", ct, "Action=GetCallerIdentity&Version=" + Version},
		{"Action not plain", "POST", "", ct, "Action=Get%0ACaller&Version=" + Version},
		{"no Version", "POST", "", ct, "Action=" + Action},
		{"unknown parameter", "POST", "", ct, good + "&DurationSecond=900"},
		{"two unknown parameters", "POST", "", ct, good + "&Zeta=1&Alpha=1"},
		{"unknown parameter not plain", "POST", "", ct, good + "&Evil%0D%0A=1"},
		{"PolicyArns empty", "POST", "", ct, good + "&PolicyArns="},
		{"PolicyArns set, and an unknown one", "POST", "", ct, good + "&PolicyArns=x&Zzz=1"},
		{"PolicyArns members", "POST", "", ct, good + "&PolicyArns.member.1.arn=arn:aws:iam::aws:policy/ReadOnlyAccess&PolicyArns.member.2.arn=arn:aws:iam::111122223333:policy/narrow"},
		{"PolicyArns gap", "POST", "", ct, good + "&PolicyArns.member.2.arn=arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{"PolicyArns leading zero", "POST", "", ct, good + "&PolicyArns.member.01.arn=arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{"PolicyArns member 0", "POST", "", ct, good + "&PolicyArns.member.0.arn=arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{"PolicyArns member 100", "POST", "", ct, good + "&PolicyArns.member.100.arn=arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{"PolicyArns member 99 alone", "POST", "", ct, good + "&PolicyArns.member.99.arn=arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{"PolicyArns member not an ARN", "POST", "", ct, good + "&PolicyArns.member.1.arn=ReadOnly"},
		{"PolicyArns member with a suffix", "POST", "", ct, good + "&PolicyArns.member.1.arnx=arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{"Policy", "POST", "", ct, good + "&Policy=" + url.QueryEscape(`{"Version":"2012-10-17"}`)},
		{"Policy not JSON", "POST", "", ct, good + "&Policy=%7B"},
		{"Policy empty", "POST", "", ct, good + "&Policy="},
		{"ProviderId", "POST", "", ct, good + "&ProviderId=www.amazon.com"},
		{"missing RoleArn", "POST", "", ct, "Action=" + Action + "&Version=" + Version + "&RoleSessionName=s&WebIdentityToken=t"},
		{"missing everything required", "POST", "", ct, "Action=" + Action + "&Version=" + Version},
		{"empty RoleArn", "POST", "", ct, strings.Replace(good, "RoleArn="+url.QueryEscape(testRoleARN), "RoleArn=", 1)},
		{"long RoleArn, repeated", "POST", "RoleArn=" + strings.Repeat("r", 300), ct, good},
		{"invalid UTF-8 in a value", "POST", "", ct, good + "&ProviderId=%FF%FE"},
		{"PUT", "PUT", "", ct, good},
		{"pairs at the limit", "POST", "", ct, many.String()},
		{"one pair over the limit", "POST", "", ct, many.String() + "&A"},
		{"over the limit in the query", "GET", many.String() + "&A", "", ""},
	}
	return cases
}

// The handler's parameters and refusals are the reference code's, request by request.
func TestFormMatchesReference(t *testing.T) {
	o := newOutcomeHandler(t)
	for _, tc := range formCases() {
		t.Run(tc.name, func(t *testing.T) {
			want := refOutcome(tc.method, tc.query, tc.contentType, tc.body)
			assert.Equal(t, want, o.outcome(t, tc.method, tc.query, tc.contentType, tc.body))
		})
	}
}

// FuzzForm holds the handler to the reference code on any query string, Content-Type and
// body.
func FuzzForm(f *testing.F) {
	for _, tc := range formCases() {
		if len(tc.query)+len(tc.body) < 4096 {
			f.Add(tc.method == "POST", tc.query, tc.contentType, tc.body)
		}
	}
	o := newOutcomeHandler(f)
	f.Fuzz(func(t *testing.T, post bool, query, contentType, body string) {
		if len(body) > DefaultMaxBodyBytes || strings.ContainsAny(contentType, "\r\n\x00") {
			t.Skip()
		}
		method := "GET"
		if post {
			method = "POST"
		}
		want := refOutcome(method, query, contentType, body)
		assert.Equal(t, want, o.outcome(t, method, query, contentType, body))
	})
}

// xmlCases are answer values that need escaping, or might.
var xmlCases = []string{
	"", "plain", `<&>"'`, "tab\tnewline\nreturn\r", "nul\x00bell\x07esc\x1bdel\x7f",
	"invalid\xffutf8\xc3", "surrogate \xed\xa0\x80", "U+FFFE \uFFFE U+FFFF \uFFFF", "U+FFFD \uFFFD",
	"astral \U0001F600 max \U0010FFFF", "é ü ß 日本", "]]>", "&amp; already",
}

// The hand-written answers are byte for byte what encoding/xml writes for the same values.
func TestXMLMatchesEncodingXML(t *testing.T) {
	for i, s := range xmlCases {
		other := xmlCases[(i+1)%len(xmlCases)]
		res := &verifier.Result{Subject: s, Audience: other, ProviderPrincipal: s + other}
		user := &AssumedRoleUser{ARN: other, ID: s}
		creds := &Credentials{AccessKeyID: s, SecretAccessKey: other, SessionToken: s,
			Expiration: time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))}
		for _, sourceIdentity := range []string{"", s + "x"} {
			res.SourceIdentity = sourceIdentity
			want, err := refXML(&assumeResponse{
				Result: assumeResult{
					SubjectFromWebIdentityToken: res.Subject,
					Audience:                    res.Audience,
					AssumedRoleUser:             assumedRoleUserXML{Arn: user.ARN, AssumedRoleID: user.ID},
					Credentials: credentialsXML{
						SessionToken: creds.SessionToken, SecretAccessKey: creds.SecretAccessKey,
						Expiration: creds.Expiration.UTC().Format(time.RFC3339), AccessKeyID: creds.AccessKeyID,
					},
					SourceIdentity: res.SourceIdentity,
					Provider:       answeredProvider(res),
				},
				RequestID: other,
			})
			require.NoError(t, err)
			assert.Equal(t, string(want), string(appendAssumeResponse(nil, other, res, user, creds)), "%q", s)
		}

		want, err := refXML(&errorResponse{Error: errorXML{Type: "Sender", Code: s, Message: other}, RequestID: s})
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendErrorResponse(nil, "Sender", s, other, s)), "%q", s)
	}
}

// FuzzXMLEscape holds appendEscaped to encoding/xml.EscapeText.
func FuzzXMLEscape(f *testing.F) {
	for _, s := range xmlCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		require.NoError(t, xml.EscapeText(&want, []byte(s)))
		assert.Equal(t, want.String(), string(appendEscaped([]byte("prefix"), s))[len("prefix"):])
	})
}

// refAssumedRoleUser is the former assumedRoleUser (strings.SplitN).
func refAssumedRoleUser(roleARN, roleID, session string) (AssumedRoleUser, bool) {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" ||
		parts[4] == "" || !strings.HasPrefix(parts[5], "role/") {
		return AssumedRoleUser{}, false
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	if name == "" || roleID == "" {
		return AssumedRoleUser{}, false
	}
	return AssumedRoleUser{
		ARN: "arn:" + parts[1] + ":sts::" + parts[4] + ":assumed-role/" + name + "/" + session,
		ID:  roleID + ":" + session,
	}, true
}

func TestAssumedRoleUserMatchesReference(t *testing.T) {
	for _, arn := range []string{
		testRoleARN, "arn:aws-cn:iam::444455556666:role/team/path/builder", "arn:aws:iam::1:role/a:b",
		"arn:aws:iam::111122223333:role/", "arn:aws:iam::111122223333:role", "arn:aws:iam::111122223333:user/x",
		"arn:aws:iam:us-east-1:111122223333:role/x", "arn::iam::111122223333:role/x", "arn:aws:iam:::role/x",
		"arn:aws:sts::111122223333:role/x", "arx:aws:iam::111122223333:role/x", "arn:aws:iam::111122223333",
		"arn:aws:iam:", "", "arn:", "arn:aws:iam::",
	} {
		for _, id := range []string{"AROAEXAMPLE", ""} {
			want, wantOK := refAssumedRoleUser(arn, id, testSession)
			got, ok := assumedRoleUser(arn, id, testSession)
			assert.Equal(t, wantOK, ok, "%s %q", arn, id)
			assert.Equal(t, want, got, "%s %q", arn, id)
		}
	}
}

func TestDerivedRoleIDMatchesReference(t *testing.T) {
	for _, arn := range []string{testRoleARN, "", "arn:aws-cn:iam::444455556666:role/team/path/builder", strings.Repeat("x", 5000)} {
		sum := sha256.Sum256([]byte(arn))
		assert.Equal(t, "AROA"+base32.StdEncoding.EncodeToString(sum[:])[:17], DerivedRoleID(arn))
	}
}

// LocalIssuer's credentials from a given randomness stream are what the former three reads
// made of it.
func TestLocalIssuerFromStream(t *testing.T) {
	stream := make([]byte, 88)
	for i := range stream {
		stream[i] = byte(i*37 + 11)
	}
	c, err := (&LocalIssuer{Now: fixedClock, Rand: bytes.NewReader(stream)}).Issue(context.Background(),
		&IssueRequest{Result: &verifier.Result{Duration: time.Hour}})
	require.NoError(t, err)
	assert.Equal(t, &Credentials{
		AccessKeyID:     "ASIA" + base32.StdEncoding.EncodeToString(stream[:10]),
		SecretAccessKey: base64.StdEncoding.EncodeToString(stream[10:40]),
		SessionToken:    LocalSessionTokenPrefix + base64.RawURLEncoding.EncodeToString(stream[40:]),
		Expiration:      testNow.Add(time.Hour),
	}, c)

	_, err = (&LocalIssuer{Rand: bytes.NewReader(stream[:87])}).Issue(context.Background(),
		&IssueRequest{Result: &verifier.Result{Duration: time.Hour}})
	assert.Error(t, err, "a short randomness stream fails the issue")
}

// Each answer logs one "sts decision" line with the same attributes as before the log was
// built lazily: the request's (id, source IP, role ARN, session name), the verified result's,
// and the outcome's.
func TestHandlerLogLineAttributes(t *testing.T) {
	f := newFixture(t, nil)
	request := []string{"request_id", "source_ip", "role_arn", "session_name"}
	decision := []string{"provider", "subject", "audience", "effect", "statement", "sid", "decision"}
	keys := func(groups ...[]string) []string {
		out := []string{"time", "level", "msg"}
		for _, g := range groups {
			out = append(out, g...)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		form  url.Values
		level string
		want  []string
	}{
		{"allowed", assumeForm(testRoleARN, f.token(t, testSubject, nil)), "INFO",
			keys(request, decision, []string{"code", "access_key_id", "expiration", "duration"})},
		{"denied by the policy", assumeForm(testRoleARN, f.token(t, "system:serviceaccount:other:demo", nil)), "INFO",
			keys(request, []string{"err"}, decision, []string{"code", "reason", "status", "duration"})},
		{"refused by the verifier before a decision", assumeForm(testRoleARN, "not.a.jwt"), "INFO",
			keys(request, []string{"err", "code", "reason", "status", "duration"})},
		{"refused by the verifier for a parameter", assumeForm(testRoleARN, "abc"), "INFO",
			keys(request, []string{"err", "code", "reason", "parameter", "status", "duration"})},
		{"refused before the verifier", func() url.Values {
			v := assumeForm(testRoleARN, "a.b.c")
			v.Set("Zzz", "1")
			return v
		}(), "INFO", keys(request[:3], []string{"code", "reason", "parameter", "status", "duration"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, postForm(t, f.srv.URL, tc.form))
			var line map[string]any
			for _, l := range logLines(t, f.logs) {
				if l["request_id"] == r.requestID {
					require.Nil(t, line, "one line per request")
					line = l
				}
			}
			require.NotNil(t, line)
			got := make([]string, 0, len(line))
			for k := range line {
				got = append(got, k)
			}
			assert.ElementsMatch(t, tc.want, got)
			assert.Equal(t, tc.level, line["level"])
			assert.Equal(t, "sts decision", line["msg"])
			assert.Equal(t, testRoleARN, line["role_arn"])
			assert.Equal(t, "127.0.0.1", line["source_ip"])
			if _, ok := line["session_name"]; ok {
				assert.Equal(t, testSession, line["session_name"])
			}
			if r.ok != nil {
				assert.Equal(t, "OK", line["code"])
				assert.Equal(t, r.ok.Result.Credentials.AccessKeyID, line["access_key_id"])
				assert.Equal(t, r.ok.Result.Credentials.Expiration, line["expiration"])
				assert.Equal(t, testSubject, line["subject"])
				assert.Equal(t, "Allow", line["effect"])
			} else {
				assert.Equal(t, r.err.Error.Code, line["code"])
			}
		})
	}
}
