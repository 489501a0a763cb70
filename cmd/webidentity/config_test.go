package main

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/policy"
)

const (
	cfgIssuer   = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	cfgHostPath = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	cfgProvARN  = "arn:aws:iam::111122223333:oidc-provider/" + cfgHostPath
)

var cfgTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + cfgProvARN +
	`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + cfgHostPath + `:aud":"sts.amazonaws.com"}}}]}`

// otherProvARN is a provider ARN the test configurations do not register.
const otherProvARN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/OTHERD539D4633E53DE1B71EXAMPLE"

// trustFor is a one-statement web identity trust policy for the Federated principal fed (a
// string or a list).
func trustFor(fed any) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Federated": fed}, "Action": "sts:AssumeRoleWithWebIdentity",
		"Condition": map[string]any{"StringEquals": map[string]any{cfgHostPath + ":aud": "sts.amazonaws.com"}},
	}}}
}

// validConfig returns a minimal valid configuration document as a tree to edit.
func validConfig() map[string]any {
	return map[string]any{
		"Providers": []any{map[string]any{
			"Url": cfgHostPath, "Arn": cfgProvARN, "ClientIDList": []any{"sts.amazonaws.com"},
		}},
		"Roles": []any{map[string]any{"Role": map[string]any{
			"Arn": "arn:aws:iam::111122223333:role/app", "AssumeRolePolicyDocument": cfgTrust,
		}}},
	}
}

func provider0(c map[string]any) map[string]any {
	return c["Providers"].([]any)[0].(map[string]any)
}

func role0(c map[string]any) map[string]any {
	return c["Roles"].([]any)[0].(map[string]any)["Role"].(map[string]any)
}

func TestParseConfigAccepts(t *testing.T) {
	encoded := url.QueryEscape(cfgTrust)
	for _, tc := range []struct {
		name  string
		edit  func(map[string]any)
		check func(t *testing.T, c *Config)
	}{
		// Thumbprints as openssl prints them (colons, upper case) reach the verifier in IAM's
		// form; a serve over this configuration starts (the registry validates them).
		{"thumbprint with colons", func(c map[string]any) {
			provider0(c)["ThumbprintList"] = []any{"9E:99:A4:8A:99:60:B1:49:26:BB:7F:3B:02:E2:2D:A2:B0:AB:72:80"}
		}, func(t *testing.T, c *Config) {
			assert.Equal(t, []string{"9E99A48A9960B14926BB7F3B02E22DA2B0AB7280"}, c.Providers[0].Thumbprints)
			svc, err := newService(c, serviceOptions{})
			require.NoError(t, err)
			svc.Close()
		}},
		// Issue 10, item 12: one Url in several accounts, each with its client IDs and a role
		// trusting its own provider (the EKS cross-account case).
		{"one Url in two accounts", func(c map[string]any) {
			armB := strings.Replace(cfgProvARN, "111122223333", "444455556666", 1)
			c["Providers"] = append(c["Providers"].([]any), map[string]any{"Url": cfgHostPath, "Arn": armB, "ClientIDList": []any{"client-b"}})
			c["Roles"] = append(c["Roles"].([]any), map[string]any{"Role": map[string]any{
				"Arn": "arn:aws:iam::444455556666:role/app", "AssumeRolePolicyDocument": mustJSONString(t, trustFor(armB)),
			}})
		}, func(t *testing.T, c *Config) {
			require.Len(t, c.Providers, 2)
			assert.Equal(t, c.Providers[0].URL, c.Providers[1].URL)
			assert.Equal(t, []string{"client-b"}, c.Providers[1].ClientIDs)
			require.Len(t, c.Roles, 2)
			assert.Empty(t, c.Warnings)
		}},
		{"minimal", func(map[string]any) {}, func(t *testing.T, c *Config) {
			require.Len(t, c.Providers, 1)
			assert.Equal(t, cfgIssuer, c.Providers[0].URL)
			assert.Equal(t, cfgProvARN, c.Providers[0].ARN)
			require.Len(t, c.Roles, 1)
			assert.Equal(t, time.Hour, c.Roles[0].Role.MaxSessionDuration)
			assert.Equal(t, "app", c.Roles[0].Name)
			assert.Equal(t, "111122223333", c.Roles[0].Account)
			assert.Equal(t, "aws", c.Roles[0].Partition)
			assert.Regexp(t, `^AROA[A-Z2-7]{17}$`, c.Roles[0].ID)
			assert.False(t, c.Keys.AllowPrivateAddresses)
		}},
		{"Url with https scheme", func(c map[string]any) { provider0(c)["Url"] = cfgIssuer }, func(t *testing.T, c *Config) {
			assert.Equal(t, cfgIssuer, c.Providers[0].URL)
		}},
		{"policy as a JSON object", func(c map[string]any) {
			role0(c)["AssumeRolePolicyDocument"] = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Federated": cfgProvARN}, "Action": "sts:AssumeRoleWithWebIdentity",
			}}}
		}, func(t *testing.T, c *Config) { assert.NotNil(t, c.Roles[0].Role.TrustPolicy) }},
		{"policy URL-encoded as the IAM API returns it", func(c map[string]any) {
			role0(c)["AssumeRolePolicyDocument"] = encoded
		}, func(t *testing.T, c *Config) { assert.NotNil(t, c.Roles[0].Role.TrustPolicy) }},
		{"full get-role output", func(c map[string]any) {
			r := role0(c)
			r["Path"], r["RoleName"], r["RoleId"] = "/", "app", "AROAEXAMPLEEXAMPLE01"
			r["CreateDate"], r["MaxSessionDuration"], r["Description"] = "2024-01-01T00:00:00Z", 43200, "d"
			r["Tags"], r["RoleLastUsed"] = []any{map[string]any{"Key": "k", "Value": "v"}}, map[string]any{}
		}, func(t *testing.T, c *Config) {
			assert.Equal(t, "AROAEXAMPLEEXAMPLE01", c.Roles[0].ID)
			assert.Equal(t, 12*time.Hour, c.Roles[0].Role.MaxSessionDuration)
		}},
		{"role with a path", func(c map[string]any) {
			role0(c)["Arn"], role0(c)["Path"] = "arn:aws-cn:iam::111122223333:role/team/a/app", "/team/a/"
		}, func(t *testing.T, c *Config) {
			assert.Equal(t, "app", c.Roles[0].Name)
			assert.Equal(t, "aws-cn", c.Roles[0].Partition)
		}},
		{"keys and verifier settings", func(c map[string]any) {
			c["Keys"] = map[string]any{"AllowPrivateAddresses": true, "FetchTimeout": "2s", "MinRefreshInterval": "1m", "MaxStale": "1h"}
			c["Verifier"] = map[string]any{"Leeway": "0s", "MaxTokenLifetime": "24h", "TokenCacheSize": -1}
		}, func(t *testing.T, c *Config) {
			assert.True(t, c.Keys.AllowPrivateAddresses)
			assert.Equal(t, 2*time.Second, c.Keys.FetchTimeout)
			assert.Equal(t, time.Minute, c.Keys.MinRefreshInterval)
			assert.Equal(t, time.Hour, c.Keys.MaxStale)
			assert.Negative(t, c.Leeway, "an explicit 0s means no leeway")
			assert.Equal(t, 24*time.Hour, c.MaxTokenLifetime)
			assert.Equal(t, -1, c.TokenCacheSize)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := validConfig()
			tc.edit(doc)
			c, err := ParseConfig([]byte(mustJSON(t, doc)), t.TempDir())
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

func TestParseConfigRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  func() string // the document; nil edit means use raw
		path string
	}{
		{"truncated JSON", func() string { return `{"Providers": [` }, "Providers"},
		{"trailing data", func() string { return mustJSON(t, validConfig()) + `{}` }, ""},
		{"unknown top-level member", edited(t, func(c map[string]any) { c["Provider"] = []any{} }), "Provider"},
		{"duplicate member", func() string { return `{"Providers": [], "Providers": []}` }, "Providers"},
		{"no providers", edited(t, func(c map[string]any) { c["Providers"] = []any{} }), "Providers"},
		{"Providers not a list", edited(t, func(c map[string]any) { c["Providers"] = map[string]any{} }), "Providers"},
		{"unknown provider member", edited(t, func(c map[string]any) { provider0(c)["ClientIdList"] = []any{"x"} }), "Providers[0].ClientIdList"},
		{"provider without Url", edited(t, func(c map[string]any) { delete(provider0(c), "Url") }), "Providers[0].Url"},
		{"provider Url over http", edited(t, func(c map[string]any) { provider0(c)["Url"] = "http://" + cfgHostPath }), "Providers[0].Url"},
		{"provider Url with trailing slash", edited(t, func(c map[string]any) { provider0(c)["Url"] = cfgIssuer + "/" }), "Providers[0].Url"},
		{"provider Url with a query", edited(t, func(c map[string]any) { provider0(c)["Url"] = cfgIssuer + "?a=b" }), "Providers[0].Url"},
		{"provider without Arn", edited(t, func(c map[string]any) { delete(provider0(c), "Arn") }), "Providers[0].Arn"},
		{"provider Arn for another issuer", edited(t, func(c map[string]any) {
			provider0(c)["Arn"] = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
		}), "Providers[0].Arn"},
		{"provider Arn without account", edited(t, func(c map[string]any) {
			provider0(c)["Arn"] = "arn:aws:iam:::oidc-provider/" + cfgHostPath
		}), "Providers[0].Arn"},
		{"no client IDs", edited(t, func(c map[string]any) { provider0(c)["ClientIDList"] = []any{} }), "Providers[0].ClientIDList"},
		{"empty client ID", edited(t, func(c map[string]any) { provider0(c)["ClientIDList"] = []any{"a", ""} }), "Providers[0].ClientIDList[1]"},
		{"client IDs not strings", edited(t, func(c map[string]any) { provider0(c)["ClientIDList"] = []any{1} }), "Providers[0].ClientIDList"},
		{"bad thumbprint", edited(t, func(c map[string]any) { provider0(c)["ThumbprintList"] = []any{"abc"} }), "Providers[0].ThumbprintList[0]"},
		{"HMAC algorithm", edited(t, func(c map[string]any) { provider0(c)["Algorithms"] = []any{"RS256", "HS256"} }), "Providers[0].Algorithms[1]"},
		{"algorithm in the wrong case", edited(t, func(c map[string]any) { provider0(c)["Algorithms"] = []any{"rs256"} }), "Providers[0].Algorithms[0]"},
		{"http discovery URL", edited(t, func(c map[string]any) { provider0(c)["DiscoveryUrl"] = "http://x/.well-known/openid-configuration" }), "Providers[0].DiscoveryUrl"},
		{"duplicate provider", edited(t, func(c map[string]any) {
			c["Providers"] = append(c["Providers"].([]any), map[string]any{"Url": cfgIssuer, "Arn": cfgProvARN, "ClientIDList": []any{"x"}})
		}), "Providers[1].Arn"},
		{"one Url, two discovery URLs", edited(t, func(c map[string]any) {
			provider0(c)["DiscoveryUrl"] = "https://a.example.com/.well-known/openid-configuration"
			c["Providers"] = append(c["Providers"].([]any), map[string]any{"Url": cfgIssuer, "Arn": strings.Replace(cfgProvARN, "111122223333", "444455556666", 1), "ClientIDList": []any{"x"}})
		}), "Providers[1].DiscoveryUrl"},
		// STS uses the role's account's provider: a role of 444455556666 whose policy names
		// 111122223333's (configured) provider can never be assumed.
		{"trust policy names another account's provider", edited(t, func(c map[string]any) {
			role0(c)["Arn"] = "arn:aws:iam::444455556666:role/app"
		}), "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Principal.Federated"},
		{"no roles", edited(t, func(c map[string]any) { delete(c, "Roles") }), "Roles"},
		{"empty roles", edited(t, func(c map[string]any) { c["Roles"] = []any{} }), "Roles"},
		{"Federated principal of no configured provider", edited(t, func(c map[string]any) {
			role0(c)["AssumeRolePolicyDocument"] = trustFor(otherProvARN)
		}), "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Principal.Federated"},
		{"Federated principals, none configured", edited(t, func(c map[string]any) {
			role0(c)["AssumeRolePolicyDocument"] = trustFor([]any{otherProvARN, otherProvARN + "2"})
		}), "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Principal.Federated[0]"},
		{"configured provider only in a Deny", edited(t, func(c map[string]any) {
			doc := trustFor(cfgProvARN)
			doc["Statement"].([]any)[0].(map[string]any)["Effect"] = "Deny"
			role0(c)["AssumeRolePolicyDocument"] = doc
		}), "Roles[0].Role.AssumeRolePolicyDocument"},
		{"only an AWS principal", edited(t, func(c map[string]any) {
			doc := trustFor(cfgProvARN)
			doc["Statement"].([]any)[0].(map[string]any)["Principal"] = map[string]any{"AWS": "arn:aws:iam::111122223333:root"}
			role0(c)["AssumeRolePolicyDocument"] = doc
		}), "Roles[0].Role.AssumeRolePolicyDocument"},
		{"second role names no configured provider", edited(t, func(c map[string]any) {
			c["Roles"] = append(c["Roles"].([]any), map[string]any{"Role": map[string]any{
				"Arn": "arn:aws:iam::111122223333:role/two", "AssumeRolePolicyDocument": trustFor(otherProvARN),
			}})
		}), "Roles[1].Role.AssumeRolePolicyDocument.Statement[0].Principal.Federated"},
		{"role entry without Role", edited(t, func(c map[string]any) { c["Roles"] = []any{map[string]any{}} }), "Roles[0].Role"},
		{"role as bare object", edited(t, func(c map[string]any) { c["Roles"] = []any{role0(c)} }), "Roles[0].Arn"},
		{"unknown role member", edited(t, func(c map[string]any) { role0(c)["AssumeRolePolicy"] = "{}" }), "Roles[0].Role.AssumeRolePolicy"},
		{"role Arn not a role", edited(t, func(c map[string]any) { role0(c)["Arn"] = "arn:aws:iam::111122223333:user/app" }), "Roles[0].Role.Arn"},
		{"role Arn without account", edited(t, func(c map[string]any) { role0(c)["Arn"] = "arn:aws:iam::*:role/app" }), "Roles[0].Role.Arn"},
		{"RoleName not the Arn's", edited(t, func(c map[string]any) { role0(c)["RoleName"] = "other" }), "Roles[0].Role.RoleName"},
		{"Path not the Arn's", edited(t, func(c map[string]any) { role0(c)["Path"] = "/x/" }), "Roles[0].Role.Path"},
		{"bad RoleId", edited(t, func(c map[string]any) { role0(c)["RoleId"] = "aroa-lower" }), "Roles[0].Role.RoleId"},
		{"MaxSessionDuration too long", edited(t, func(c map[string]any) { role0(c)["MaxSessionDuration"] = 43201 }), "Roles[0].Role.MaxSessionDuration"},
		{"MaxSessionDuration as text", edited(t, func(c map[string]any) { role0(c)["MaxSessionDuration"] = "3600" }), "Roles[0].Role.MaxSessionDuration"},
		{"no trust policy", edited(t, func(c map[string]any) { delete(role0(c), "AssumeRolePolicyDocument") }), "Roles[0].Role.AssumeRolePolicyDocument"},
		{"trust policy a number", edited(t, func(c map[string]any) { role0(c)["AssumeRolePolicyDocument"] = 3 }), "Roles[0].Role.AssumeRolePolicyDocument"},
		{"trust policy bad URL encoding", edited(t, func(c map[string]any) { role0(c)["AssumeRolePolicyDocument"] = "%7B%zz" }), "Roles[0].Role.AssumeRolePolicyDocument"},
		{"trust policy without Effect", edited(t, func(c map[string]any) {
			role0(c)["AssumeRolePolicyDocument"] = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Principal": map[string]any{"Federated": cfgProvARN}, "Action": "sts:AssumeRoleWithWebIdentity",
			}}}
		}), "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Effect"},
		{"trust policy with an unknown operator, URL-encoded", edited(t, func(c map[string]any) {
			role0(c)["AssumeRolePolicyDocument"] = url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` +
				cfgProvARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEqual":{"a":"b"}}}]}`)
		}), "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Condition.StringEqual"},
		{"duplicate role", edited(t, func(c map[string]any) {
			c["Roles"] = append(c["Roles"].([]any), map[string]any{"Role": map[string]any{
				"Arn": "arn:aws:iam::111122223333:role/app", "AssumeRolePolicyDocument": cfgTrust,
			}})
		}), "Roles[1].Role.Arn"},
		{"unknown Keys member", edited(t, func(c map[string]any) { c["Keys"] = map[string]any{"AllowPrivateAddress": true} }), "Keys.AllowPrivateAddress"},
		{"bad duration", edited(t, func(c map[string]any) { c["Keys"] = map[string]any{"MaxStale": "1 day"} }), "Keys.MaxStale"},
		{"negative duration", edited(t, func(c map[string]any) { c["Keys"] = map[string]any{"FetchTimeout": "-1s"} }), "Keys.FetchTimeout"},
		{"missing CA file", edited(t, func(c map[string]any) { c["Keys"] = map[string]any{"CAFile": "nope.pem"} }), "Keys.CAFile"},
		{"unknown Verifier member", edited(t, func(c map[string]any) { c["Verifier"] = map[string]any{"LeewaySeconds": 5} }), "Verifier.LeewaySeconds"},
		{"negative leeway", edited(t, func(c map[string]any) { c["Verifier"] = map[string]any{"Leeway": "-5m"} }), "Verifier.Leeway"},

		// encoding/json matches member names to fields with Unicode case folding, in which
		// U+017F LONG S is 's' and U+212A KELVIN SIGN is 'k': such a spelling is the same
		// member, so a second one is a duplicate, never a silent replacement.
		{"duplicate trust policy spelled with long s, first", rawEdited(t, func(s string) string {
			return strings.Replace(s, `"AssumeRolePolicyDocument":`, `"A\u017f\u017fumeRolePolicyDocument":{},"AssumeRolePolicyDocument":`, 1)
		}), "Roles[0].Role.AssumeRolePolicyDocument"},
		{"duplicate trust policy spelled with long s, second", rawEdited(t, func(s string) string {
			i := strings.LastIndex(s, `}}]`) // the end of the role, after its AssumeRolePolicyDocument
			return s[:i] + `,"A\u017f\u017fumeRolePolicyDocument":{}` + s[i:]
		}), "Roles[0].Role.A\u017f\u017fumeRolePolicyDocument"},
		{"duplicate Keys spelled with Kelvin sign", rawEdited(t, func(s string) string {
			return strings.TrimSuffix(s, "}") + `,"\u212aeys":{"AllowPrivateAddresses":true}}`
		}), "\u212aeys"},
		{"duplicate Providers spelled with long s", rawEdited(t, func(s string) string {
			return strings.TrimSuffix(s, "}") + `,"Provider\u017f":[]}`
		}), "Provider\u017f"},
		{"duplicate ClientIDList spelled with long s", rawEdited(t, func(s string) string {
			return strings.Replace(s, `"ClientIDList":`, `"ClientIDLi\u017ft":["evil"],"ClientIDList":`, 1)
		}), "Providers[0].ClientIDList"},
		{"duplicate MaxSessionDuration spelled with long s", rawEdited(t, func(s string) string {
			return strings.Replace(s, `"Arn":"arn:aws:iam::111122223333:role/app"`,
				`"Arn":"arn:aws:iam::111122223333:role/app","MaxSessionDuration":3600,"MaxSe\u017f\u017fionDuration":43200`, 1)
		}), "Roles[0].Role.MaxSe\u017f\u017fionDuration"},
		// Alone, a non-ASCII spelling of a member is refused too, whatever encoding/json's fold.
		{"Roles spelled with long s", rawEdited(t, func(s string) string {
			return strings.Replace(s, `"Roles":`, `"Role\u017f":`, 1)
		}), "Role\u017f"},
		// Nesting is bounded: past maxConfigDepth levels the walk stops, naming where.
		{"nested too deeply", func() string {
			return `{"Providers":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
		}, "Providers" + strings.Repeat("[0]", maxConfigDepth-1)},
		{"nested too deeply in objects", func() string {
			return `{"Keys":` + strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000) + `}`
		}, "Keys" + strings.Repeat(".a", maxConfigDepth-1)},
		{"nested too deeply and unterminated", func() string {
			return `{"Roles":[{"Role":` + strings.Repeat("[", 5000)
		}, "Roles[0].Role" + strings.Repeat("[0]", maxConfigDepth-3)},
		{"trust policy spelled with long s", rawEdited(t, func(s string) string {
			return strings.Replace(s, `"AssumeRolePolicyDocument":`, `"A\u017f\u017fumeRolePolicyDocument":`, 1)
		}), "Roles[0].Role.A\u017f\u017fumeRolePolicyDocument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc()), t.TempDir())
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "want *ConfigError, got %v", err)
			assert.Equal(t, tc.path, ce.Path)
		})
	}
}

// A policy error keeps its *policy.ParseError, with its reason, reachable.
func TestParseConfigPolicyErrorUnwraps(t *testing.T) {
	doc := validConfig()
	role0(doc)["AssumeRolePolicyDocument"] = `{"Version":"2012-10-17","Statement":[]}`
	_, err := ParseConfig([]byte(mustJSON(t, doc)), t.TempDir())
	var pe *policy.ParseError
	require.True(t, errors.As(err, &pe))
	assert.NotZero(t, pe.Reason)
}

func TestLoadConfigCAFileRelativeToConfig(t *testing.T) {
	f := newFixture(t)
	assert.Equal(t, filepath.Join(f.dir, "ca.pem"), f.cfg.Keys.CAFile)
	assert.NotNil(t, f.cfg.Keys.RootCAs)

	_, err := LoadConfig(filepath.Join(t.TempDir(), "missing.json"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

// LoadConfig reads at most maxConfigBytes; a deeply nested file is refused quickly, before
// anything is decoded.
func TestLoadConfigRefusesLargeAndDeepFiles(t *testing.T) {
	valid := mustJSON(t, validConfig())
	for _, tc := range []struct {
		name string
		doc  string
		path string
	}{
		{"larger than maxConfigBytes", valid + strings.Repeat(" ", maxConfigBytes), ""},
		{"thousands of '['", `{"Providers":` + strings.Repeat("[", 8000), "Providers" + strings.Repeat("[0]", maxConfigDepth-1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "config.json")
			require.NoError(t, os.WriteFile(file, []byte(tc.doc), 0o600))
			_, err := LoadConfig(file)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "want *ConfigError, got %v", err)
			assert.Equal(t, tc.path, ce.Path)
		})
	}
}

// rawEdited is edited for the document's text, to place members in a chosen order.
func rawEdited(t *testing.T, edit func(string) string) func() string {
	return func() string { return edit(mustJSON(t, validConfig())) }
}

func edited(t *testing.T, edit func(map[string]any)) func() string {
	return func() string {
		doc := validConfig()
		edit(doc)
		return mustJSON(t, doc)
	}
}

// Every duration of the configuration: missing means the default (zero in Config), an
// explicit zero is honoured where it means something and refused where it cannot.
func TestParseConfigDurations(t *testing.T) {
	type got struct {
		keys     KeysConfig
		leeway   time.Duration
		lifetime time.Duration
		cache    int
	}
	read := func(c *Config) got {
		return got{KeysConfig{
			FetchTimeout: c.Keys.FetchTimeout, MinRefreshInterval: c.Keys.MinRefreshInterval, MaxStale: c.Keys.MaxStale,
		}, c.Leeway, c.MaxTokenLifetime, c.TokenCacheSize}
	}
	for _, tc := range []struct {
		name    string
		section string // Keys or Verifier
		member  string
		value   any
		want    got    // when accepted
		refuse  string // the ConfigError path when refused
	}{
		{"FetchTimeout missing", "Keys", "", nil, got{}, ""},
		{"FetchTimeout set", "Keys", "FetchTimeout", "2s", got{keys: KeysConfig{FetchTimeout: 2 * time.Second}}, ""},
		{"FetchTimeout zero", "Keys", "FetchTimeout", "0s", got{}, "Keys.FetchTimeout"},
		{"MinRefreshInterval set", "Keys", "MinRefreshInterval", "1m", got{keys: KeysConfig{MinRefreshInterval: time.Minute}}, ""},
		{"MinRefreshInterval zero", "Keys", "MinRefreshInterval", "0s", got{}, "Keys.MinRefreshInterval"},
		{"MinRefreshInterval zero without unit", "Keys", "MinRefreshInterval", "0", got{}, "Keys.MinRefreshInterval"},
		{"MaxStale set", "Keys", "MaxStale", "1h", got{keys: KeysConfig{MaxStale: time.Hour}}, ""},
		{"MaxStale zero: never serve expired keys", "Keys", "MaxStale", "0s", got{keys: KeysConfig{MaxStale: -1}}, ""},
		{"Leeway set", "Verifier", "Leeway", "1m", got{leeway: time.Minute}, ""},
		{"Leeway zero: none", "Verifier", "Leeway", "0s", got{leeway: -1}, ""},
		{"MaxTokenLifetime set", "Verifier", "MaxTokenLifetime", "2h", got{lifetime: 2 * time.Hour}, ""},
		{"MaxTokenLifetime zero: not bounded", "Verifier", "MaxTokenLifetime", "0s", got{}, ""},
		{"MaxTokenLifetime negative", "Verifier", "MaxTokenLifetime", "-1h", got{}, "Verifier.MaxTokenLifetime"},
		{"TokenCacheSize set", "Verifier", "TokenCacheSize", 5, got{cache: 5}, ""},
		{"TokenCacheSize zero: no cache", "Verifier", "TokenCacheSize", 0, got{cache: -1}, ""},
		{"Verifier missing", "Verifier", "", nil, got{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := validConfig()
			section := map[string]any{}
			if tc.member != "" {
				section[tc.member] = tc.value
			}
			doc[tc.section] = section
			c, err := ParseConfig([]byte(mustJSON(t, doc)), t.TempDir())
			if tc.refuse != "" {
				var ce *ConfigError
				require.True(t, errors.As(err, &ce), "want *ConfigError, got %v", err)
				assert.Equal(t, tc.refuse, ce.Path)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, read(c))
		})
	}
}

// An explicit MaxStale of zero reaches the key cache as the least staleness it accepts, not
// as its 24-hour default.
func TestKeyOptionsMaxStaleZero(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"default", 0, 0},
		{"set", time.Hour, time.Hour},
		{"never stale", -1, -1}, // jwks: negative MaxStale never serves expired keys
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Keys: KeysConfig{MaxStale: tc.in}}
			assert.Equal(t, tc.want, keyOptions(cfg, fixedClock, nil, "test").MaxStale)
		})
	}
}

// A trust policy that names a configured provider and an unconfigured one loads with a
// warning for the latter; high-severity lint findings become warnings with their path.
func TestParseConfigWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want []ConfigWarning // Msg not compared
	}{
		{"clean", func(map[string]any) {}, nil},
		{"one configured, one not", func(c map[string]any) {
			role0(c)["AssumeRolePolicyDocument"] = trustFor([]any{cfgProvARN, otherProvARN})
		}, []ConfigWarning{{
			Path: "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Principal.Federated[1]",
			Role: "arn:aws:iam::111122223333:role/app", Rule: RuleUnconfiguredProvider,
		}}},
		{"principal anyone", func(c map[string]any) {
			doc := trustFor(cfgProvARN)
			doc["Statement"].([]any)[0].(map[string]any)["Principal"] = "*"
			role0(c)["AssumeRolePolicyDocument"] = doc
		}, []ConfigWarning{{
			Path: "Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Principal",
			Role: "arn:aws:iam::111122223333:role/app", Rule: policy.RulePrincipalAnyone,
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := validConfig()
			tc.edit(doc)
			c, err := ParseConfig([]byte(mustJSON(t, doc)), t.TempDir())
			require.NoError(t, err)
			var got []ConfigWarning
			for _, w := range c.Warnings {
				assert.NotEmpty(t, w.Msg)
				w.Msg = ""
				got = append(got, w)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// A JSON syntax error is located by line and column in the file.
func TestParseConfigSyntaxErrorLocation(t *testing.T) {
	for _, tc := range []struct {
		name         string
		doc          string
		line, column int
	}{
		{"double comma", "{\n  \"Providers\": [\n    {\"Url\": \"x\",, \"Arn\": \"y\"}\n  ]\n}", 3, 17},
		{"missing colon", "{\"Providers\" []}", 1, 14},
		{"bad literal on line 2", "{\"Keys\":\n {\"AllowPrivateAddresses\": tru}}", 2, 31},
		{"column counts characters", "{\"Roles\": [{\"Role\": {\"Description\": \"é\" x}}]}", 1, 41},
		{"truncated", "{\"Providers\": [\n", 2, 1},
		{"trailing garbage", "{}\n}", 2, 1},
		{"trailing value", "{} {}", 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc), t.TempDir())
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "want *ConfigError, got %v", err)
			assert.Equal(t, tc.line, ce.Line, "line")
			assert.Equal(t, tc.column, ce.Column, "column")
		})
	}
}

// Documents given where aws iam get-role output belongs get a hint.
func TestParseGetRoleHints(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want Hint
	}{
		{"role without wrapper", `{"Arn": "arn:aws:iam::111122223333:role/app", "AssumeRolePolicyDocument": ` + cfgTrust + `}`, HintRoleWrapper},
		{"bare trust policy", cfgTrust, HintBarePolicy},
		{"unknown member of get-role output", `{"Role": {"Arn": "arn:aws:iam::111122223333:role/app"}, "Rolle": 1}`, HintNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseGetRole([]byte(tc.doc), "")
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "want *ConfigError, got %v", err)
			assert.Equal(t, tc.want, ce.Hint)
		})
	}
	// In a configuration too.
	doc := validConfig()
	doc["Roles"] = []any{role0(doc)}
	_, err := ParseConfig([]byte(mustJSON(t, doc)), t.TempDir())
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, HintRoleWrapper, ce.Hint)
}

// Error() renders the location and the hint.
func TestConfigErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *ConfigError
		want string
	}{
		{"path", &ConfigError{Path: "Roles", Msg: "m"}, "config: Roles: m"},
		{"document", &ConfigError{Msg: "m"}, "config: m"},
		{"line and column", &ConfigError{Path: "Providers", Msg: "invalid JSON", Line: 3, Column: 7}, "config: line 3, column 7: Providers: invalid JSON"},
		{"hint", &ConfigError{Path: "Roles[0].Arn", Msg: "unknown member", Hint: HintRoleWrapper}, "config: Roles[0].Arn: unknown member (" + HintRoleWrapper.String() + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
