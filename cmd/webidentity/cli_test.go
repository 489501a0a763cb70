package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flags and positional arguments mix in any order; "--" ends the flags; -h, -help and --help
// print the usage on stdout; a bad flag says what is wrong, then the usage, on stderr.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		positional []string
		json       bool
		out        string
	}{
		{"flags first", []string{"-json", "a.json"}, -1, []string{"a.json"}, true, ""},
		{"flag after the file", []string{"a.json", "-json"}, -1, []string{"a.json"}, true, ""},
		{"flags between files", []string{"a.json", "-o", "x", "b.json", "--json", "c.json"}, -1, []string{"a.json", "b.json", "c.json"}, true, "x"},
		{"flag value that looks like a file", []string{"-o", "a.json", "b.json"}, -1, []string{"b.json"}, false, "a.json"},
		{"stdin dash is positional", []string{"-", "-json"}, -1, []string{"-"}, true, ""},
		{"double dash ends the flags", []string{"a.json", "--", "-json", "b"}, -1, []string{"a.json", "-json", "b"}, false, ""},
		{"no arguments", nil, -1, []string{}, false, ""},
		{"-h", []string{"a.json", "-h"}, exitOK, nil, false, ""},
		{"-help", []string{"-help"}, exitOK, nil, false, ""},
		{"--help", []string{"--help", "a.json"}, exitOK, nil, false, ""},
		{"unknown flag after a file", []string{"a.json", "-yaml"}, exitUsage, nil, false, ""},
		{"missing flag value", []string{"a.json", "-o"}, exitUsage, nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			fs := newFlagSet("test", &env{stdout: &stdout, stderr: &stderr})
			asJSON := fs.Bool("json", false, "json")
			out := fs.String("o", "", "output")
			fs.Usage = func() { _, _ = fs.Output().Write([]byte("usage: webidentity test\n")) }

			code := parseFlags(fs, tc.args)
			require.Equal(t, tc.code, code)
			switch code {
			case -1:
				assert.Equal(t, tc.positional, append([]string{}, fs.Args()...))
				assert.Equal(t, tc.json, *asJSON)
				assert.Equal(t, tc.out, *out)
				assert.Empty(t, stdout.String())
				assert.Empty(t, stderr.String())
			case exitOK:
				assert.Equal(t, "usage: webidentity test\n", stdout.String(), "help goes to stdout")
				assert.Empty(t, stderr.String())
			case exitUsage:
				assert.Empty(t, stdout.String())
				assert.Greater(t, strings.Index(stderr.String(), "usage: webidentity test"), 0, "what is wrong comes first: %s", stderr.String())
			}

			// Whatever happened, the flag set's output is stderr again afterwards.
			_, _ = fs.Output().Write([]byte("after"))
			assert.True(t, strings.HasSuffix(stderr.String(), "after"))
		})
	}

	t.Run("a flag set without Usage", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		fs := newFlagSet("bare", &env{stdout: &stdout, stderr: &stderr})
		fs.Bool("json", false, "print JSON")
		assert.Equal(t, exitOK, parseFlags(fs, []string{"-h"}))
		assert.Contains(t, stdout.String(), "-json")
		assert.Empty(t, stderr.String())
	})
}

// Every usage error of the commands says what is wrong on its first line, then prints the
// usage, on stderr; nothing goes to stdout.
func TestUsageErrorsSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		usage string // the usage line that must follow
	}{
		{"no command", nil, "usage: webidentity <command>"},
		{"unknown command", []string{"frobnicate"}, "usage: webidentity <command>"},
		{"lint without files", []string{"lint"}, "usage: webidentity lint"},
		{"lint with only flags", []string{"lint", "-json"}, "usage: webidentity lint"},
		{"lint unknown flag after a file", []string{"lint", "a.json", "-yaml"}, "usage: webidentity lint"},
		{"demo stray argument", []string{"demo", "x"}, "usage: webidentity demo"},
		{"demo stray argument after a flag", []string{"demo", "-json", "x"}, "usage: webidentity demo"},
		{"verify stray argument", []string{"verify", "-issuer", "https://oidc.example.com", "token.jwt"}, "usage: webidentity verify"},
		{"verify without issuer", []string{"verify", "-jwks", "jwks.json"}, "usage: webidentity verify"},
		{"verify http issuer", []string{"verify", "-issuer", "http://oidc.example.com"}, "usage: webidentity verify"},
		{"verify role and policy", []string{"verify", "-issuer", "https://oidc.example.com", "-role", "r", "-policy", "p"}, "usage: webidentity verify"},
		{"serve unknown flag", []string{"serve", "-confg", "x.json"}, "usage: webidentity serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, "", tc.args...)
			assert.Equal(t, exitUsage, exit)
			assert.Empty(t, stdout)
			first, _, _ := strings.Cut(stderr, "\n")
			assert.NotEmpty(t, first)
			assert.False(t, strings.HasPrefix(first, "usage:"), "the first line says what is wrong: %q", first)
			assert.Contains(t, stderr, tc.usage)
		})
	}
}

// -h, -help and --help print the usage on stdout and exit 0, for every command.
func TestHelpGoesToStdout(t *testing.T) {
	for _, cmd := range []string{"demo", "verify", "lint", "serve"} {
		for _, h := range []string{"-h", "-help", "--help"} {
			t.Run(cmd+" "+h, func(t *testing.T) {
				exit, stdout, stderr := runCmd(t, "", cmd, h)
				assert.Equal(t, exitOK, exit)
				assert.Contains(t, stdout, "usage: webidentity "+cmd)
				assert.Empty(t, stderr)
			})
		}
	}
	for _, h := range []string{"help", "-h", "-help", "--help"} {
		t.Run(h, func(t *testing.T) {
			exit, stdout, stderr := runCmd(t, "", h)
			assert.Equal(t, exitOK, exit)
			assert.Contains(t, stdout, "usage: webidentity <command>")
			assert.Empty(t, stderr)
		})
	}
}
