package stsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/verifier"
)

// events records the observer's events.
type events struct {
	mu  sync.Mutex
	all []ResponseEvent
}

func (e *events) Responded(_ context.Context, ev ResponseEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) last(t *testing.T) ResponseEvent {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.NotEmpty(t, e.all)
	return e.all[len(e.all)-1]
}

// logLines decodes the JSON log lines written so far.
func logLines(t *testing.T, b *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// Every protocol refusal names the parameter it is about, in the caller's message, in the
// observer's event and in the log line, with the reason, the role ARN and the source IP.
func TestSTSErrorsNameTheParameter(t *testing.T) {
	ev := &events{}
	f := newFixture(t, func(o *Options) { o.Observer = ev })
	good := f.token(t, testSubject, nil)
	for _, tc := range []struct {
		name   string
		edit   func(url.Values)
		code   string
		reason string
		param  string
	}{
		{"misspelled DurationSeconds", func(v url.Values) { v.Set("DurationSecond", "7200") },
			"ValidationError", ReasonUnknownParameter, "DurationSecond"},
		{"two unknown parameters: the first by name", func(v url.Values) { v.Set("Zeta", "1"); v.Set("Alpha", "1") },
			"ValidationError", ReasonUnknownParameter, "Alpha"},
		{"repeated parameter", func(v url.Values) { v.Add("RoleSessionName", "other") },
			"ValidationError", ReasonRepeatedParameter, "RoleSessionName"},
		{"missing RoleArn", func(v url.Values) { v.Del("RoleArn") },
			"ValidationError", ReasonMissingParameter, "RoleArn"},
		{"missing RoleSessionName", func(v url.Values) { v.Del("RoleSessionName") },
			"ValidationError", ReasonMissingParameter, "RoleSessionName"},
		{"missing WebIdentityToken", func(v url.Values) { v.Del("WebIdentityToken") },
			"ValidationError", ReasonMissingParameter, "WebIdentityToken"},
		{"DurationSeconds not a number", func(v url.Values) { v.Set("DurationSeconds", "2h") },
			"ValidationError", ReasonInvalidParameter, "DurationSeconds"},
		{"DurationSeconds above the role maximum (the verifier's check)", func(v url.Values) { v.Set("DurationSeconds", "7201") },
			"ValidationError", verifier.ReasonDuration.String(), "DurationSeconds"},
		{"session name too short (the verifier's check)", func(v url.Values) { v.Set("RoleSessionName", "x") },
			"ValidationError", verifier.ReasonSessionName.String(), "RoleSessionName"},
		{"session policy not JSON", func(v url.Values) { v.Set("Policy", "{") },
			"MalformedPolicyDocument", ReasonInvalidParameter, "Policy"},
		{"PolicyArns gap", func(v url.Values) { v.Set("PolicyArns.member.2.arn", "arn:aws:iam::aws:policy/ReadOnlyAccess") },
			"ValidationError", ReasonInvalidParameter, "PolicyArns.member.1.arn"},
		{"PolicyArns member not an ARN", func(v url.Values) { v.Set("PolicyArns.member.1.arn", "ReadOnlyAccess") },
			"ValidationError", ReasonInvalidParameter, "PolicyArns.member.1.arn"},
		{"no Version", func(v url.Values) { v.Del("Version") },
			"InvalidAction", ReasonUnknownAction, "Version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := assumeForm(testRoleARN, good)
			tc.edit(form)
			r := do(t, postForm(t, f.srv.URL, form))
			require.NotNil(t, r.err)
			assert.Equal(t, tc.code, r.err.Error.Code)
			if tc.code == "ValidationError" {
				assert.Contains(t, r.err.Error.Message, messageName(tc.reason, tc.param), "the message names the parameter")
			}

			e := ev.last(t)
			assert.Equal(t, r.requestID, e.RequestID)
			assert.Equal(t, tc.reason, e.Reason)
			assert.Equal(t, tc.param, e.Parameter)

			var line map[string]any
			for _, l := range logLines(t, f.logs) {
				if l["request_id"] == r.requestID && l["msg"] == "sts decision" {
					line = l
				}
			}
			require.NotNil(t, line, "no decision log line")
			assert.Equal(t, tc.code, line["code"])
			assert.Equal(t, tc.reason, line["reason"])
			assert.Equal(t, tc.param, line["parameter"])
			assert.Equal(t, "127.0.0.1", line["source_ip"])
			if form.Has("RoleArn") {
				assert.Equal(t, testRoleARN, line["role_arn"])
			}
			d, err := time.ParseDuration(line["duration"].(string))
			require.NoError(t, err, "duration is a readable Go duration")
			assert.Positive(t, d)
			assert.NotContains(t, line, "duration_ms")
		})
	}
}

// messageName is how a message names a parameter: AWS's lower-camel member name for a
// missing one ("roleArn"), else the parameter's own name.
func messageName(reason, param string) string {
	if reason == ReasonMissingParameter {
		return strings.ToLower(param[:1]) + param[1:]
	}
	return param
}

// A caller-chosen parameter name is echoed only when it is a plain name; anything else is
// clipped and quoted in the log and the event, and left out of the message.
func TestSTSUnknownParameterNameIsBounded(t *testing.T) {
	ev := &events{}
	f := newFixture(t, func(o *Options) { o.Observer = ev })
	for _, tc := range []struct {
		name, param string
		echoed      bool
	}{
		{"plain", "Duration.Seconds_2-x", true},
		{"control characters", "Evil\r\nlevel=ERROR msg=forged", false},
		{"invalid UTF-8", "Bad\xff\xfe", false},
		{"over-long", strings.Repeat("A", 10000), false},
		{"65 plain characters", strings.Repeat("B", 65), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := assumeForm(testRoleARN, f.token(t, testSubject, nil))
			form.Set(tc.param, "1")
			r := do(t, postForm(t, f.srv.URL, form))
			require.NotNil(t, r.err)
			assert.Equal(t, "ValidationError", r.err.Error.Code)
			e := ev.last(t)
			assert.Equal(t, ReasonUnknownParameter, e.Reason)
			if tc.echoed {
				assert.Equal(t, tc.param, e.Parameter)
				assert.Contains(t, r.err.Error.Message, tc.param)
				return
			}
			assert.NotContains(t, r.err.Error.Message, tc.param[:3], "a name that is not plain is not echoed")
			assert.LessOrEqual(t, len(e.Parameter), 4*maxParamName+2, "bounded")
			for _, c := range e.Parameter {
				assert.True(t, c >= 0x20 && c < 0x7f, "printable ASCII only: %q", e.Parameter)
			}
			assert.NotContains(t, f.logs.String(), "\r\nlevel=ERROR")
		})
	}
}

// A verified answer's Provider is the trust policy's Federated principal: the provider ARN
// for a registered provider; a Decider's Result without one answers the issuer URL.
func TestSTSAnswerProvider(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  verifier.Result
		want string
	}{
		{"registered provider", verifier.Result{Provider: "https://oidc.example.com/id/X",
			ProviderPrincipal: "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/X"},
			"arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/X"},
		{"well-known issuer", verifier.Result{Provider: "https://accounts.google.com", ProviderPrincipal: "accounts.google.com"},
			"accounts.google.com"},
		{"no principal", verifier.Result{Provider: "https://oidc.example.com"}, "https://oidc.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := deciderFunc(func(_ context.Context, req *verifier.Request) (*verifier.Result, error) {
				res := tc.res
				res.RoleARN, res.RoleSessionName, res.Duration = req.RoleARN, req.RoleSessionName, time.Hour
				return &res, nil
			})
			r := serveOnce(t, Options{Verifier: dec, Issuer: &LocalIssuer{}}, testRoleARN)
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, tc.want, r.ok.Result.Provider)
		})
	}
}
