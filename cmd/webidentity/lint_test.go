package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/policy"
)

const (
	ghProvider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
	ghPrefix   = "token.actions.githubusercontent.com"
)

// ghPolicy is a GitHub Actions trust policy with the given conditions.
func ghPolicy(cond map[string]any) map[string]any {
	st := map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Federated": ghProvider},
		"Action": "sts:AssumeRoleWithWebIdentity",
	}
	if cond != nil {
		st["Condition"] = cond
	}
	return map[string]any{"Version": "2012-10-17", "Statement": []any{st}}
}

func TestLint(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		s, ok := v.(string)
		if !ok {
			s = mustJSON(t, v)
		}
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		return p
	}
	safe := ghPolicy(map[string]any{"StringEquals": map[string]any{
		ghPrefix + ":aud": "sts.amazonaws.com", ghPrefix + ":sub": "repo:octo-org/app:ref:refs/heads/main",
	}})
	noSub := ghPolicy(map[string]any{"StringEquals": map[string]any{ghPrefix + ":aud": "sts.amazonaws.com"}})
	files := map[string]string{
		"safe":          write("safe.json", safe),
		"no-sub":        write("nosub.json", noSub),
		"get-role":      write("getrole.json", map[string]any{"Role": map[string]any{"Arn": "arn:aws:iam::111122223333:role/ci", "AssumeRolePolicyDocument": url.QueryEscape(mustJSON(t, noSub))}}),
		"get-role safe": write("getrole-safe.json", map[string]any{"Role": map[string]any{"Arn": "arn:aws:iam::111122223333:role/ci", "AssumeRolePolicyDocument": safe}}),
		"unparseable":   write("bad.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}`),
		"bad get-role":  write("badrole.json", map[string]any{"Role": map[string]any{"Arn": "nope"}}),
		"not json":      write("notjson.json", "Version: 2012-10-17"),
		// A second policy under a U+017F LONG S spelling of the member, which encoding/json
		// would decode in place of the visible first one.
		"hidden policy": write("hidden.json", `{"Role":{"Arn":"arn:aws:iam::111122223333:role/ci","AssumeRolePolicyDocument":`+
			mustJSON(t, safe)+`,"A\u017f\u017fumeRolePolicyDocument":`+mustJSON(t, noSub)+`}}`),
	}

	for _, tc := range []struct {
		name   string
		files  []string
		exit   int
		rules  []string // rules of high findings expected across the files
		errors int      // files that did not parse
	}{
		{"safe policy", []string{files["safe"]}, exitOK, nil, 0},
		{"GitHub Actions without sub", []string{files["no-sub"]}, exitFail, []string{policy.RuleMissingSub}, 0},
		{"get-role output, URL-encoded", []string{files["get-role"]}, exitFail, []string{policy.RuleMissingSub}, 0},
		{"get-role output, safe", []string{files["get-role safe"]}, exitOK, nil, 0},
		{"one bad among several", []string{files["safe"], files["no-sub"]}, exitFail, []string{policy.RuleMissingSub}, 0},
		{"policy that does not parse", []string{files["unparseable"]}, exitFail, nil, 1},
		{"get-role that does not parse", []string{files["bad get-role"]}, exitFail, nil, 1},
		{"not JSON", []string{files["not json"]}, exitFail, nil, 1},
		{"get-role with a second policy spelled with long s", []string{files["hidden policy"]}, exitFail, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, "", append([]string{"lint", "--json"}, tc.files...)...)
			require.Equal(t, tc.exit, exit, "stderr: %s", stderr)
			var results []lintResult
			require.NoError(t, json.Unmarshal([]byte(stdout), &results))
			require.Len(t, results, len(tc.files))
			var high []string
			errs := 0
			for i, r := range results {
				assert.Equal(t, tc.files[i], r.File)
				if r.Error != nil {
					errs++
				}
				for _, f := range r.Findings {
					if f.Severity == policy.High.String() {
						high = append(high, f.Rule)
					}
				}
			}
			assert.Equal(t, tc.rules, high)
			assert.Equal(t, tc.errors, errs)

			// The text form agrees on the exit status and names every file.
			exitText, text, _ := runCmd(t, "", append([]string{"lint"}, tc.files...)...)
			assert.Equal(t, tc.exit, exitText)
			for _, f := range tc.files {
				assert.True(t, strings.Contains(text, f+": "))
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no files", []string{"lint"}},
		{"missing file", []string{"lint", filepath.Join(dir, "nope.json")}},
		{"unknown flag", []string{"lint", "-yaml", files["safe"]}},
	} {
		t.Run("usage: "+tc.name, func(t *testing.T) {
			exit, _, _ := runCmd(t, "", tc.args...)
			assert.Equal(t, exitUsage, exit)
		})
	}
}

// Flags may follow the files: "lint a.json -json" prints JSON for a.json.
func TestLintFlagsAfterFiles(t *testing.T) {
	dir := t.TempDir()
	safe := filepath.Join(dir, "safe.json")
	require.NoError(t, os.WriteFile(safe, []byte(mustJSON(t, ghPolicy(map[string]any{"StringEquals": map[string]any{
		ghPrefix + ":aud": "sts.amazonaws.com", ghPrefix + ":sub": "repo:octo-org/app:ref:refs/heads/main",
	}}))), 0o600))
	for _, tc := range []struct {
		name  string
		args  []string
		files []string
	}{
		{"flag after the file", []string{"lint", safe, "-json"}, []string{safe}},
		{"flag between files", []string{"lint", safe, "--json", safe}, []string{safe, safe}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, "", tc.args...)
			require.Equal(t, exitOK, exit, "stderr: %s", stderr)
			var results []lintResult
			require.NoError(t, json.Unmarshal([]byte(stdout), &results), stdout)
			require.Len(t, results, len(tc.files))
			for i, r := range results {
				assert.Equal(t, tc.files[i], r.File)
			}
		})
	}
}
