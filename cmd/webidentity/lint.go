package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/webidentity/webidentity/policy"
)

// lintResult is what lint reports for one file.
type lintResult struct {
	File     string        `json:"file"`
	Findings []lintFinding `json:"findings"`
	// Error is set when the file is not a valid trust policy (or get-role document).
	Error *lintError `json:"error,omitempty"`
}

type lintFinding struct {
	Severity string `json:"severity"`
	Path     string `json:"path"`
	Rule     string `json:"rule"`
	Message  string `json:"message"`
}

type lintError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// runLint is the lint subcommand.
func runLint(_ context.Context, args []string, e *env) int {
	fs := newFlagSet("lint", e)
	asJSON := fs.Bool("json", false, "print findings as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webidentity lint [-json] POLICY.json... (flags may follow the files)")
		fmt.Fprintln(fs.Output(), "Each file is a trust policy or the output of aws iam get-role.")
		fmt.Fprintln(fs.Output(), "Exit status 1 when a file has a high-severity finding or does not parse.")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(fs, "no policy files given")
	}
	var results []lintResult
	status := exitOK
	for _, name := range fs.Args() {
		data, err := readInput(name, e)
		if err != nil {
			fmt.Fprintf(e.stderr, "webidentity lint: %v\n", err)
			return exitUsage
		}
		res := lintResult{File: name, Findings: []lintFinding{}}
		p, perr := parseLintInput(data)
		if perr != nil {
			res.Error = perr
			status = exitFail
		} else {
			for _, f := range policy.Lint(p) {
				res.Findings = append(res.Findings, lintFinding{
					Severity: f.Severity.String(), Path: f.Path, Rule: f.Rule, Message: f.Message,
				})
				if f.Severity >= policy.High {
					status = exitFail
				}
			}
		}
		results = append(results, res)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return exitFail
		}
		return status
	}
	for _, r := range results {
		if r.Error != nil {
			fmt.Fprintf(e.stdout, "%s: error %s: %s\n", r.File, r.Error.Path, r.Error.Message)
			continue
		}
		for _, f := range r.Findings {
			fmt.Fprintf(e.stdout, "%s: %s %s: %s [%s]\n", r.File, f.Severity, f.Path, f.Message, f.Rule)
		}
		if len(r.Findings) == 0 {
			fmt.Fprintf(e.stdout, "%s: no findings\n", r.File)
		}
	}
	return status
}

// parseLintInput parses a trust policy, or takes the AssumeRolePolicyDocument out of an
// `aws iam get-role` document (an object with a Role member).
func parseLintInput(data []byte) (*policy.Policy, *lintError) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) == nil {
		if _, ok := probe["Role"]; ok {
			rc, err := parseGetRole(bytes.TrimSpace(data), "")
			if err != nil {
				var ce *ConfigError
				if errors.As(err, &ce) {
					return nil, &lintError{Path: ce.Path, Message: ce.Msg}
				}
				return nil, &lintError{Message: err.Error()}
			}
			return rc.Role.TrustPolicy, nil
		}
	}
	p, err := policy.Parse(data)
	if err != nil {
		var pe *policy.ParseError
		if errors.As(err, &pe) {
			return nil, &lintError{Path: pe.Path, Message: pe.Msg}
		}
		return nil, &lintError{Message: err.Error()}
	}
	return p, nil
}
