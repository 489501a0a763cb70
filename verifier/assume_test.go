package verifier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/policy"
)

// trustPolicy builds a one-statement trust policy for principal with actions and a condition
// block (JSON text, "" for none).
func trustPolicy(t testing.TB, principal string, actions []string, condition string) *policy.Policy {
	t.Helper()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":` +
		mustJSON(t, principal) + `},"Action":` + mustJSON(t, actions)
	if condition != "" {
		doc += `,"Condition":` + condition
	}
	doc += `}]}`
	p, err := policy.Parse([]byte(doc))
	require.NoError(t, err, doc)
	return p
}

// assumeEnv is a verifier with one role over the unit tests' keys.
type assumeEnv struct {
	ks *keySet
	v  *Verifier
}

func newAssumeEnv(t testing.TB, role *Role, edit func(*Options)) *assumeEnv {
	t.Helper()
	ks := newKeySet(t)
	if role.ARN == "" {
		role.ARN = testRoleARN
	}
	roles, err := NewStaticRoles(role)
	require.NoError(t, err)
	v := newTestVerifier(t, ks.source(), func(o *Options) {
		o.Roles = roles
		if edit != nil {
			edit(o)
		}
	})
	return &assumeEnv{ks: ks, v: v}
}

func (e *assumeEnv) request(t testing.TB, claims map[string]any) *Request {
	return &Request{RoleARN: testRoleARN, RoleSessionName: "session", WebIdentityToken: mint(t, e.ks.es, claims, nil)}
}

const irsaCondition = `{"StringEquals":{"oidc.example.com/id/TEST:sub":"system:serviceaccount:default:app","oidc.example.com/id/TEST:aud":"sts.amazonaws.com"}}`

func TestAssumeRoleAllowed(t *testing.T) {
	env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity}, irsaCondition)}, nil)
	req := env.request(t, baseClaims())
	res, err := env.v.AssumeRoleWithWebIdentity(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, policy.Allow, res.Decision.Effect)
	assert.Equal(t, testIssuer, res.Provider)
	assert.Equal(t, testARN, res.ProviderPrincipal)
	assert.Equal(t, testRoleARN, res.RoleARN)
	assert.Equal(t, "session", res.RoleSessionName)
	assert.Equal(t, "system:serviceaccount:default:app", res.Subject)
	assert.Equal(t, testClientID, res.Audience)
	assert.Equal(t, time.Hour, res.Duration)
	assert.Equal(t, res.Subject, res.Token.Subject)
	assert.Empty(t, res.SessionTags)
	assert.Empty(t, res.SourceIdentity)
}

func TestAssumeRoleRequestValidation(t *testing.T) {
	env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity}, "")}, nil)
	good := env.request(t, baseClaims())
	cases := []struct {
		name   string
		edit   func(r *Request)
		reason Reason
	}{
		{"RoleArn too short", func(r *Request) { r.RoleARN = "arn:aws:iam::1:r/x" }, ReasonRoleARN},
		{"RoleArn too long", func(r *Request) { r.RoleARN = testRoleARN + strings.Repeat("x", 2049-len(testRoleARN)) }, ReasonRoleARN},
		{"RoleArn not an ARN", func(r *Request) { r.RoleARN = "role/app-with-a-long-name" }, ReasonRoleARN},
		{"RoleArn missing parts", func(r *Request) { r.RoleARN = "arn:aws:iam::111122223333" }, ReasonRoleARN},
		{"RoleArn control character", func(r *Request) { r.RoleARN = testRoleARN + "\x00" }, ReasonRoleARN},
		{"RoleSessionName too short", func(r *Request) { r.RoleSessionName = "a" }, ReasonSessionName},
		{"RoleSessionName too long", func(r *Request) { r.RoleSessionName = strings.Repeat("a", 65) }, ReasonSessionName},
		{"RoleSessionName with a space", func(r *Request) { r.RoleSessionName = "a b" }, ReasonSessionName},
		{"RoleSessionName with a slash", func(r *Request) { r.RoleSessionName = "a/b" }, ReasonSessionName},
		{"DurationSeconds 899", func(r *Request) { r.DurationSeconds = 899 }, ReasonDuration},
		{"DurationSeconds 43201", func(r *Request) { r.DurationSeconds = 43201 }, ReasonDuration},
		{"DurationSeconds negative", func(r *Request) { r.DurationSeconds = -1 }, ReasonDuration},
		{"DurationSeconds above the role maximum", func(r *Request) { r.DurationSeconds = 3601 }, ReasonDuration},
		{"ProviderId set", func(r *Request) { r.ProviderID = "graph.facebook.com" }, ReasonProviderID},
		{"SourceIp not an address", func(r *Request) { r.SourceIP = "10.0.0.300" }, ReasonSourceIP},
		{"token of 3 characters", func(r *Request) { r.WebIdentityToken = "a.b" }, ReasonTokenSize},
		{"token of 20001 characters", func(r *Request) { r.WebIdentityToken = strings.Repeat("a", 20001) }, ReasonTokenSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := *good
			tc.edit(&req)
			_, err := env.v.AssumeRoleWithWebIdentity(context.Background(), &req)
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
			assert.Equal(t, CodeValidationError, code)
		})
	}
	t.Run("accepted edges", func(t *testing.T) {
		for _, edit := range []func(r *Request){
			func(r *Request) { r.RoleSessionName = "ab" },
			func(r *Request) { r.RoleSessionName = strings.Repeat("a", 64) },
			func(r *Request) { r.RoleSessionName = "a_b+c=d,e.f@g-h" },
			func(r *Request) { r.DurationSeconds = 900 },
			func(r *Request) { r.DurationSeconds = 3600 },
			func(r *Request) { r.SourceIP = "2001:db8::1" },
		} {
			req := *good
			edit(&req)
			_, err := env.v.AssumeRoleWithWebIdentity(context.Background(), &req)
			assert.NoError(t, err)
		}
	})
}

func TestAssumeRoleDurations(t *testing.T) {
	cases := []struct {
		name      string
		max       time.Duration
		requested int
		want      time.Duration
		reason    Reason
	}{
		{"default", 0, 0, time.Hour, 0},
		{"default under a short maximum", 30 * time.Minute, 0, 30 * time.Minute, 0},
		{"up to a 12 h maximum", 12 * time.Hour, 43200, 12 * time.Hour, 0},
		{"above a 2 h maximum", 2 * time.Hour, 7201, 0, ReasonDuration},
		{"zero maximum means 1 h", 0, 3601, 0, ReasonDuration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity}, ""), MaxSessionDuration: tc.max}, nil)
			req := env.request(t, baseClaims())
			req.DurationSeconds = tc.requested
			res, err := env.v.AssumeRoleWithWebIdentity(context.Background(), req)
			if tc.reason != 0 {
				assert.ErrorIs(t, err, tc.reason)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Duration)
		})
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	allowIRSA := trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity}, irsaCondition)
	denyDoc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"Federated":"` + testARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"},
		{"Sid":"NoDefault","Effect":"Deny","Principal":{"Federated":"` + testARN + `"},"Action":"sts:AssumeRoleWithWebIdentity",
		 "Condition":{"StringLike":{"oidc.example.com/id/TEST:sub":"system:serviceaccount:default:*"}}}]}`
	explicitDeny, err := policy.Parse([]byte(denyDoc))
	require.NoError(t, err)
	cases := []struct {
		name   string
		role   *Role
		claims map[string]any
		roleID string
		reason Reason
		effect policy.Effect
	}{
		{"wrong subject", &Role{TrustPolicy: allowIRSA}, with(baseClaims(), map[string]any{"sub": "system:serviceaccount:kube-system:admin"}), testRoleARN, ReasonDenied, policy.ImplicitDeny},
		{"other audience accepted by the provider, not by the policy", &Role{TrustPolicy: allowIRSA}, with(baseClaims(), map[string]any{"aud": []string{"other", testClientID}}), testRoleARN, 0, policy.Allow},
		{"explicit deny", &Role{TrustPolicy: explicitDeny}, baseClaims(), testRoleARN, ReasonDenied, policy.ExplicitDeny},
		{"policy for another provider", &Role{TrustPolicy: trustPolicy(t, "arn:aws:iam::111122223333:oidc-provider/other.example.com", []string{ActionAssumeRoleWithWebIdentity}, "")}, baseClaims(), testRoleARN, ReasonDenied, policy.ImplicitDeny},
		{"policy for another action", &Role{TrustPolicy: trustPolicy(t, testARN, []string{"sts:AssumeRole"}, "")}, baseClaims(), testRoleARN, ReasonDenied, policy.ImplicitDeny},
		{"no trust policy", &Role{}, baseClaims(), testRoleARN, ReasonDenied, policy.ImplicitDeny},
		{"unknown role", &Role{TrustPolicy: allowIRSA}, baseClaims(), "arn:aws:iam::111122223333:role/other", ReasonUnknownRole, policy.ImplicitDeny},
	}
	var messages []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newAssumeEnv(t, tc.role, nil)
			req := env.request(t, tc.claims)
			req.RoleARN = tc.roleID
			res, err := env.v.AssumeRoleWithWebIdentity(context.Background(), req)
			if tc.reason == 0 {
				require.NoError(t, err)
				assert.Equal(t, tc.effect, res.Decision.Effect)
				return
			}
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
			assert.Equal(t, CodeAccessDenied, code)
			var e *Error
			require.ErrorAs(t, err, &e)
			messages = append(messages, e.Message)
			var denial *PolicyDenial
			if errors.As(err, &denial) {
				require.NotNil(t, res, "a policy denial returns the Result with its Decision")
				assert.Equal(t, tc.effect, res.Decision.Effect)
				assert.Equal(t, tc.effect, denial.Decision.Effect)
				assert.NotEmpty(t, denial.Decision.Reason)
			}
		})
	}
	t.Run("unknown role and denial read the same", func(t *testing.T) {
		require.NotEmpty(t, messages)
		for _, m := range messages {
			assert.Equal(t, messages[0], m)
		}
	})
}

// contextCase is one condition key the verifier builds from a token and request: a policy
// with StringEquals on key and value allows (when present), and with another value denies.
type contextCase struct {
	name      string
	provider  Provider
	principal string
	claims    map[string]any
	req       func(*Request)
	key       string
	value     string
	present   bool
}

// TestConditionKeys checks each condition key through a real policy: the right value allows,
// a wrong one denies.
func TestConditionKeys(t *testing.T) {
	const gh = "https://token.actions.githubusercontent.com"
	const ghARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
	const google = "https://accounts.google.com"
	ghClaims := map[string]any{
		"iss": gh, "aud": "sts.amazonaws.com", "exp": testNow.Add(time.Hour).Unix(), "iat": testNow.Unix(),
		"sub": "repo:octo-org/octo-repo:environment:prod", "actor": "octocat", "actor_id": "583231",
		"job_workflow_ref": "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
		"repository":       "octo-org/octo-repo", "repository_id": "74", "repository_owner_id": "65",
		"workflow": "deploy", "ref": "refs/heads/main", "environment": "prod", "enterprise_id": 42,
		"runner_environment":    "github-hosted",
		"repository_owner":      "octo-org",
		"repository_visibility": "private",
	}
	googleClaims := map[string]any{
		"iss": google, "aud": "1234.apps.googleusercontent.com", "azp": "5678.apps.googleusercontent.com",
		"sub": "110169484474386276334", "exp": testNow.Add(time.Hour).Unix(), "amr": []string{"pwd", "mfa"},
	}
	eks := with(baseClaims(), map[string]any{"azp": "party", "amr": "authenticated"})
	cases := []contextCase{
		{"sub", testProvider(), testARN, eks, nil, "oidc.example.com/id/TEST:sub", "system:serviceaccount:default:app", true},
		{"sub key in mixed case", testProvider(), testARN, eks, nil, "OIDC.example.com/id/test:SUB", "system:serviceaccount:default:app", true},
		{"aud", testProvider(), testARN, eks, nil, "oidc.example.com/id/TEST:aud", "sts.amazonaws.com", true},
		{"azp", testProvider(), testARN, eks, nil, "oidc.example.com/id/TEST:azp", "party", true},
		{"amr string", testProvider(), testARN, eks, nil, "oidc.example.com/id/TEST:amr", "authenticated", true},
		{"oaud only for Google", testProvider(), testARN, eks, nil, "oidc.example.com/id/TEST:oaud", "sts.amazonaws.com", false},
		{"GitHub claims only for GitHub", testProvider(), testARN, with(eks, map[string]any{"repository": "r"}), nil, "oidc.example.com/id/TEST:repository", "r", false},
		{"RoleSessionName", testProvider(), testARN, eks, nil, "sts:RoleSessionName", "session", true},
		{"CurrentTime", testProvider(), testARN, eks, nil, "aws:CurrentTime", "2023-11-14T22:13:20Z", true},
		{"EpochTime", testProvider(), testARN, eks, nil, "aws:EpochTime", "1700000000", true},
		{"SourceIp", testProvider(), testARN, eks, func(r *Request) { r.SourceIP = "192.0.2.7" }, "aws:SourceIp", "192.0.2.7", true},
		{"SourceIp absent", testProvider(), testARN, eks, nil, "aws:SourceIp", "192.0.2.7", false},
		{"FederatedProvider", testProvider(), testARN, eks, nil, "aws:FederatedProvider", testARN, true},
		{"Google aud is azp", Provider{URL: google, ClientIDs: []string{"5678.apps.googleusercontent.com"}}, "accounts.google.com", googleClaims, nil, "accounts.google.com:aud", "5678.apps.googleusercontent.com", true},
		{"Google oaud is aud", Provider{URL: google, ClientIDs: []string{"5678.apps.googleusercontent.com"}}, "accounts.google.com", googleClaims, nil, "accounts.google.com:oaud", "1234.apps.googleusercontent.com", true},
		{"Google amr array", Provider{URL: google, ClientIDs: []string{"1234.apps.googleusercontent.com"}}, "accounts.google.com", googleClaims, nil, "accounts.google.com:amr", "mfa", true},
		{"Google FederatedProvider", Provider{URL: google, ClientIDs: []string{"1234.apps.googleusercontent.com"}}, "accounts.google.com", googleClaims, nil, "aws:FederatedProvider", "accounts.google.com", true},
	}
	for _, c := range []struct{ claim, value string }{
		{"sub", "repo:octo-org/octo-repo:environment:prod"}, {"aud", "sts.amazonaws.com"},
		{"actor", "octocat"}, {"actor_id", "583231"},
		{"job_workflow_ref", "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main"},
		{"repository", "octo-org/octo-repo"}, {"repository_id", "74"}, {"repository_owner_id", "65"},
		{"workflow", "deploy"}, {"ref", "refs/heads/main"}, {"environment", "prod"},
		{"enterprise_id", "42"}, {"runner_environment", "github-hosted"},
	} {
		cases = append(cases, contextCase{"GitHub " + c.claim, Provider{URL: gh, ARN: ghARN, ClientIDs: []string{"sts.amazonaws.com"}}, ghARN, ghClaims, nil,
			"token.actions.githubusercontent.com:" + c.claim, c.value, true})
	}
	cases = append(cases, contextCase{"GitHub claims AWS does not accept", Provider{URL: gh, ARN: ghARN, ClientIDs: []string{"sts.amazonaws.com"}}, ghARN, ghClaims, nil,
		"token.actions.githubusercontent.com:repository_owner", "octo-org", false})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, value := range []string{tc.value, "wrong"} {
				cond := fmt.Sprintf(`{"StringEquals":{%s:%s}}`, mustJSON(t, tc.key), mustJSON(t, value))
				if tc.key == "aws:SourceIp" {
					cond = fmt.Sprintf(`{"IpAddress":{"aws:SourceIp":%s}}`, mustJSON(t, map[bool]string{true: value + "/32", false: "198.51.100.0/24"}[value == tc.value]))
				}
				if strings.HasSuffix(tc.key, ":amr") {
					cond = fmt.Sprintf(`{"ForAnyValue:StringEquals":{%s:%s}}`, mustJSON(t, tc.key), mustJSON(t, value))
				}
				env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, tc.principal, []string{ActionAssumeRoleWithWebIdentity}, cond)}, func(o *Options) {
					o.Providers = []Provider{tc.provider}
				})
				req := env.request(t, tc.claims)
				if tc.req != nil {
					tc.req(req)
				}
				res, err := env.v.AssumeRoleWithWebIdentity(context.Background(), req)
				if tc.present && value == tc.value {
					require.NoError(t, err, "value %q", value)
					assert.Equal(t, policy.Allow, res.Decision.Effect)
				} else {
					assert.ErrorIs(t, err, ReasonDenied, "value %q", value)
				}
			}
		})
	}
}
