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
		"jwks":     {module + "/store", module + "/pgstore", module + "/policy", module + "/verifier", module + "/iam", "github.com/aws/"},
		"iam":      {module + "/store", module + "/pgstore", module + "/jwks", module + "/verifier", "github.com/aws/", "github.com/lestrrat-go/", "net/http"},
		"verifier": {module + "/store", module + "/pgstore", module + "/stsapi", module + "/iamapi", module + "/cmd", "github.com/aws/", "github.com/prometheus/"},
		"stsapi":   {module + "/store", module + "/pgstore", module + "/iamapi", module + "/cmd", "github.com/prometheus/"},
		"iamapi":   {module + "/stsapi", module + "/store", module + "/pgstore", module + "/cmd", "github.com/prometheus/"},
		// The store is imported by cmd only, and sits on iam alone.
		"store": {module + "/pgstore", module + "/jwks", module + "/verifier", module + "/stsapi", module + "/iamapi", module + "/cmd", "github.com/aws/", "net/http"},
		// So is the PostgreSQL store, on iam and pgx.
		"pgstore": {module + "/store", module + "/jwks", module + "/verifier", module + "/stsapi", module + "/iamapi", module + "/cmd", "github.com/aws/", "net/http"},
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

// TestJWXOnlyInJWKS: lestrrat-go/jwx is package jwks's implementation detail (DESIGN.md: "the
// only home of jwx"), so that moving to another version touches only jwks. No other package of
// the module imports it directly outside its tests (the fuzz differential and bench/peers use it
// as a peer, from test files), and no exported declaration of jwks names a jwx type.
func TestJWXOnlyInJWKS(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := map[string]bool{}
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		seen[p.ImportPath] = true
		if p.ImportPath == module+"/jwks" {
			continue
		}
		for _, imp := range p.Imports {
			assert.False(t, strings.HasPrefix(imp, "github.com/lestrrat-go/"), "%s imports %s: only jwks may", p.ImportPath, imp)
		}
	}
	for _, pkg := range []string{"verifier", "stsapi", "iamapi", "cmd/webidentity"} {
		assert.True(t, seen[module+"/"+pkg], "package %s not listed", pkg)
	}

	// The exported API of jwks, as go doc prints it: no jwx package name in a declaration.
	doc, err := exec.Command("go", "doc", "-all", module+"/jwks").Output()
	require.NoError(t, err)
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "    ") || strings.TrimSpace(line) == "" {
			continue // doc comment text (indented), not a declaration
		}
		for _, name := range []string{"jwk.", "jwa.", "jws.", "jwt.", "jwe."} {
			assert.NotContains(t, line, name, "an exported declaration of jwks names a jwx type")
		}
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
