package layers

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/webidentity/webidentity"

// deps returns the non-test dependencies of pkg (transitively), as go list reports them.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath", module+"/"+pkg).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list %s: %v\n%s", pkg, err, ee.Stderr)
	}
	require.NoError(t, err)
	var paths []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		paths = append(paths, p.ImportPath)
	}
	return paths
}

// TestFloors: each package imports only what its floor allows (DESIGN.md, "Packages").
func TestFloors(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to read the import graph")
	}
	forbidden := map[string][]string{
		// package: prefixes its dependency closure must not contain
		"policy":   {module + "/store", module + "/", "github.com/aws/", "github.com/lestrrat-go/", "github.com/hashicorp/", "net/http"},
		"jwks":     {module + "/store", module + "/policy", module + "/verifier", module + "/iam", "github.com/aws/"},
		"iam":      {module + "/store", module + "/jwks", module + "/verifier", "github.com/aws/", "github.com/lestrrat-go/", "net/http"},
		"verifier": {module + "/store", module + "/stsapi", module + "/iamapi", module + "/cmd", "github.com/aws/", "github.com/prometheus/"},
		"stsapi":   {module + "/store", module + "/iamapi", module + "/cmd", "github.com/prometheus/"},
		"iamapi":   {module + "/stsapi", module + "/store", module + "/cmd", "github.com/prometheus/"},
		// The store is imported by cmd only, and sits on iam alone.
		"store": {module + "/jwks", module + "/verifier", module + "/stsapi", module + "/iamapi", module + "/cmd", "github.com/aws/", "net/http"},
	}
	allowedOwn := map[string][]string{
		"policy": {module + "/policy"},
	}
	for pkg, bad := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			for _, d := range deps(t, pkg) {
				if contains(allowedOwn[pkg], d) {
					continue
				}
				for _, b := range bad {
					assert.False(t, strings.HasPrefix(d, b), "%s imports %s (forbidden: %s)", pkg, d, b)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
