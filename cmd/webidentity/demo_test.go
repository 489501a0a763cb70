package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's first command: each step decides as the issue says, with the STS code.
func TestDemo(t *testing.T) {
	exit, stdout, stderr := runCmd(t, "", "demo", "-json")
	require.Equal(t, exitOK, exit, "stderr: %s", stderr)

	var steps []demoStep
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var s demoStep
		require.NoError(t, dec.Decode(&s))
		steps = append(steps, s)
	}
	require.Len(t, steps, 4)
	for i, want := range []struct {
		step, code, effect string
		allowed            bool
		status             int
	}{
		{"allowed", "", "Allow", true, 0},
		{"other-namespace", "AccessDenied", "ImplicitDeny", false, http.StatusForbidden},
		{"expired", "ExpiredTokenException", "", false, http.StatusBadRequest},
		{"sts-query-api", "", "", true, http.StatusOK},
	} {
		t.Run(want.step, func(t *testing.T) {
			s := steps[i]
			assert.Equal(t, want.step, s.Step)
			assert.Equal(t, want.allowed, s.Allowed)
			assert.Equal(t, want.code, s.Code)
			assert.Equal(t, want.status, s.Status)
			if want.effect != "" {
				require.NotNil(t, s.Decision)
				assert.Equal(t, want.effect, s.Decision.Effect)
				assert.NotEmpty(t, s.Decision.Reason)
			}
		})
	}
	assert.Regexp(t, `^ASIA[A-Z2-7]{16}$`, steps[3].AccessKeyID)

	// The prose form runs the same walk.
	exit, prose, stderr := runCmd(t, "", "demo")
	require.Equal(t, exitOK, exit, "stderr: %s", stderr)
	for _, code := range []string{"AccessDenied", "ExpiredTokenException"} {
		assert.Contains(t, prose, code)
	}
}
