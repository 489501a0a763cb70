package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// ConfigWarning is a problem that does not stop a configuration from loading but that a
// person should fix: a trust policy that names an unconfigured provider beside a configured
// one, or a high-severity policy.Lint finding. serve logs each one at load.
type ConfigWarning struct {
	// Path locates the element, as ConfigError.Path does.
	Path string
	// Role is the ARN of the role whose trust policy it is about.
	Role string
	// Rule is a policy.Lint rule, or RuleUnconfiguredProvider.
	Rule string
	// Msg explains the problem.
	Msg string
}

// RuleUnconfiguredProvider is the ConfigWarning.Rule of a Federated principal that names no
// configured provider.
const RuleUnconfiguredProvider = "unconfigured-provider"

// principalRef is one Federated principal of an Allow statement, with its path in the trust
// policy (as policy.ParseError paths read).
type principalRef struct {
	path, id string
}

// trustPrincipals lists the Federated principals of doc's Allow statements. open is true when
// an Allow statement admits principals that are not listed: "*", {"AWS": "*"},
// {"Federated": "*"}, or a NotPrincipal. doc has been accepted by policy.Parse, so anything
// of an unexpected shape is skipped (counted as open, so that it never causes a refusal).
func trustPrincipals(doc []byte) (refs []principalRef, open bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(doc, &top) != nil {
		return nil, true
	}
	raw := top["Statement"]
	var stmts []json.RawMessage
	paths := []string{"Statement"}
	if json.Unmarshal(raw, &stmts) == nil {
		paths = paths[:0]
		for i := range stmts {
			paths = append(paths, fmt.Sprintf("Statement[%d]", i))
		}
	} else {
		stmts = []json.RawMessage{raw}
	}
	for i, s := range stmts {
		var st map[string]json.RawMessage
		if json.Unmarshal(s, &st) != nil {
			return nil, true
		}
		var effect string
		if json.Unmarshal(st["Effect"], &effect) != nil || effect != "Allow" {
			continue
		}
		if _, ok := st["NotPrincipal"]; ok {
			open = true
			continue
		}
		var star string
		if json.Unmarshal(st["Principal"], &star) == nil {
			open = true // "*"
			continue
		}
		var byType map[string]json.RawMessage
		if json.Unmarshal(st["Principal"], &byType) != nil {
			open = true
			continue
		}
		if aws, ok := byType[policy.PrincipalAWS]; ok && containsStar(aws) {
			open = true
		}
		fed, ok := byType[policy.PrincipalFederated]
		if !ok {
			continue
		}
		base := paths[i] + ".Principal.Federated"
		var one string
		var many []string
		switch {
		case json.Unmarshal(fed, &one) == nil:
			if one == "*" {
				open = true
			} else {
				refs = append(refs, principalRef{path: base, id: one})
			}
		case json.Unmarshal(fed, &many) == nil:
			for j, id := range many {
				if id == "*" {
					open = true
				} else {
					refs = append(refs, principalRef{path: fmt.Sprintf("%s[%d]", base, j), id: id})
				}
			}
		default:
			open = true
		}
	}
	return refs, open
}

func containsStar(raw json.RawMessage) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == "*"
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, s := range many {
			if s == "*" {
				return true
			}
		}
	}
	return false
}

// providerPrincipal is how trust policies name p as their Federated principal: its ARN, or
// for the well-known issuers registered without one, their domain (as the verifier does).
func providerPrincipal(p verifier.Provider) string {
	if p.ARN != "" {
		return p.ARN
	}
	return strings.TrimPrefix(p.URL, "https://")
}

// checkRoles refuses roles that can never be assumed with the configured providers, and
// collects the warnings for the rest: Federated principals that name no configured provider
// beside one that does, and high-severity policy.Lint findings.
func checkRoles(cfg *Config) error {
	if len(cfg.Roles) == 0 {
		return configErr("Roles", "at least one role is required: without roles every request is denied")
	}
	// known: each provider's principal and its account ("" for a well-known issuer, which
	// every account may use). STS picks the provider from the role's account, so a trust
	// policy naming another account's provider never matches.
	known := map[string]string{}
	var names []string
	for _, p := range cfg.Providers {
		known[providerPrincipal(p)] = accountOfARN(p.ARN)
		names = append(names, providerPrincipal(p))
	}
	for i, rc := range cfg.Roles {
		docPath := fmt.Sprintf("Roles[%d].Role.AssumeRolePolicyDocument", i)
		roleAcct := accountOfARN(rc.Role.ARN)
		reachable := rc.openPrincipal
		var unknown, foreign []principalRef
		for _, r := range rc.federated {
			acct, ok := known[r.id]
			switch {
			case ok && (acct == "" || acct == roleAcct):
				reachable = true
			case ok:
				foreign = append(foreign, r)
			default:
				unknown = append(unknown, r)
			}
		}
		switch {
		case !reachable && len(foreign) > 0:
			return configErr(policyPath(docPath, foreign[0].path),
				"Federated principal %q is a provider of account %s; STS uses the role's own account's provider (account %s), so this role can never be assumed: register the issuer in account %s too and name that provider",
				foreign[0].id, known[foreign[0].id], roleAcct, roleAcct)
		case !reachable && len(unknown) > 0:
			return configErr(policyPath(docPath, unknown[0].path),
				"Federated principal %q names no configured provider (configured: %s), so this role can never be assumed",
				unknown[0].id, strings.Join(names, ", "))
		case !reachable:
			return configErr(docPath,
				"no Allow statement names a configured provider as its Federated principal, so this role can never be assumed")
		}
		for _, r := range foreign {
			cfg.Warnings = append(cfg.Warnings, ConfigWarning{
				Path: policyPath(docPath, r.path), Role: rc.Role.ARN, Rule: RuleUnconfiguredProvider,
				Msg: fmt.Sprintf("Federated principal %q is a provider of account %s, not of the role's account %s; the statement never matches it", r.id, known[r.id], roleAcct),
			})
		}
		for _, r := range unknown {
			cfg.Warnings = append(cfg.Warnings, ConfigWarning{
				Path: policyPath(docPath, r.path), Role: rc.Role.ARN, Rule: RuleUnconfiguredProvider,
				Msg: fmt.Sprintf("Federated principal %q names no configured provider; the statement never matches it", r.id),
			})
		}
		for _, f := range policy.Lint(rc.Role.TrustPolicy) {
			if f.Severity < policy.High {
				continue
			}
			cfg.Warnings = append(cfg.Warnings, ConfigWarning{
				Path: policyPath(docPath, f.Path), Role: rc.Role.ARN, Rule: f.Rule, Msg: f.Message,
			})
		}
	}
	return nil
}

// accountOfARN returns the account field of an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:...),
// or "" for anything else.
func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// policyPath joins a path inside a trust policy (as policy.ParseError and policy.Finding
// write it) to the path of the document.
func policyPath(docPath, p string) string {
	switch {
	case p == "":
		return docPath
	case strings.HasPrefix(p, "["):
		return docPath + p
	}
	return docPath + "." + p
}
