package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/stsapi"
	"github.com/webidentity/webidentity/verifier"
)

// maxInputBytes bounds token, JWKS and policy files read by verify and lint.
const maxInputBytes = 1 << 20

// verifyOutput is what verify prints.
type verifyOutput struct {
	// Valid reports whether the token's signature and claims hold.
	Valid bool `json:"valid"`
	// Allowed reports whether the role may be assumed; absent without -role or -policy.
	Allowed *bool  `json:"allowed,omitempty"`
	Issuer  string `json:"issuer"`
	// Provider is the provider's IAM ARN: from -provider-arn, or in the role's account.
	// Absent when neither is known (no role and no -provider-arn): no ARN is made up.
	Provider string `json:"provider,omitempty"`
	Role     string `json:"role,omitempty"`
	// Claims is the verified payload; absent when the token did not verify.
	Claims   json.RawMessage `json:"claims,omitempty"`
	Decision *decisionJSON   `json:"decision,omitempty"`
	Error    *errorJSON      `json:"error,omitempty"`
}

// decisionJSON is a trust policy decision and its explanation.
type decisionJSON struct {
	Effect    string `json:"effect"`
	Statement int    `json:"statement"`
	Sid       string `json:"sid,omitempty"`
	Reason    string `json:"reason"`
}

// errorJSON is a refusal: the STS code, the verifier's reason, the caller-facing message and
// the detail an operator needs.
type errorJSON struct {
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
	// Hint says how to fix a refusal that is the command's own setting, not the token's.
	Hint string `json:"hint,omitempty"`
}

// Hints of verify.
const (
	hintAllowPrivate = "the issuer resolves to a loopback or private address, which discovery refuses " +
		"(SSRF protection); pass -allow-private-addresses (serve: Keys.AllowPrivateAddresses) if that is intended"
)

func newDecisionJSON(d policy.Decision) *decisionJSON {
	return &decisionJSON{Effect: d.Effect.String(), Statement: d.Statement, Sid: d.Sid, Reason: d.Reason}
}

func newErrorJSON(err error) *errorJSON {
	var verr *verifier.Error
	if errors.As(err, &verr) {
		return &errorJSON{Code: string(verr.Code), Reason: verr.Reason.String(), Message: verr.Message, Detail: err.Error()}
	}
	return &errorJSON{Code: stsapi.CodeInternalFailure, Message: err.Error()}
}

// runVerify is the verify subcommand.
func runVerify(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("verify", e)
	issuer := fs.String("issuer", "", "the provider's issuer `URL` (https://...); tokens from other issuers are refused")
	var clientIDs, algorithms stringList
	fs.Var(&clientIDs, "client-id", "an accepted audience (repeatable; default sts.amazonaws.com)")
	fs.Var(&algorithms, "algorithm", "an accepted JOSE `alg` (repeatable; default all supported asymmetric ones)")
	tokenFile := fs.String("token", "-", "the token `file` (- for stdin)")
	jwksFile := fs.String("jwks", "", "verify offline with this JWK Set or PEM `file` (public keys, certificates) instead of discovery")
	roleFile := fs.String("role", "", "decide against this role (`file`: aws iam get-role output)")
	policyFile := fs.String("policy", "", "decide against this trust policy (`file`); needs -role-arn or -provider-arn")
	roleARN := fs.String("role-arn", "", "the role `ARN` for -policy")
	providerARN := fs.String("provider-arn", "", "the provider's IAM `ARN` (default: in the role's account)")
	sessionName := fs.String("session-name", "webidentity-verify", "RoleSessionName of the simulated request")
	duration := fs.Int("duration", 0, "DurationSeconds of the simulated request (0: default)")
	allowPrivate := fs.Bool("allow-private-addresses", false,
		"let discovery connect to loopback and private addresses (tests, in-cluster issuers; SSRF risk)")
	caFile := fs.String("ca-file", "", "trust only these root certificates (PEM `file`) for discovery")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webidentity verify -issuer URL [-token FILE] [-jwks FILE] [-role FILE | -policy FILE -role-arn ARN] [flags]")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "webidentity verify: "+format+"\n", a...)
		return exitUsage
	}
	if code := noArgs(fs); code >= 0 {
		return code
	}
	if *issuer == "" {
		return usageError(fs, "-issuer is required")
	}
	if !strings.HasPrefix(*issuer, "https://") {
		return usageError(fs, "-issuer must be an https URL")
	}
	if *roleFile != "" && *policyFile != "" {
		return usageError(fs, "-role and -policy exclude each other")
	}
	if len(clientIDs) == 0 {
		clientIDs = stringList{"sts.amazonaws.com"}
	}

	// The role, if any, and the provider ARN its trust policy names.
	var role *verifier.Role
	switch {
	case *roleFile != "":
		data, err := readInput(*roleFile, e)
		if err != nil {
			return usageErr("-role: %v", err)
		}
		r, err := parseRoleFile(data)
		if err != nil {
			return usageErr("-role %s: %v", *roleFile, err)
		}
		role = r
	case *policyFile != "":
		data, err := readInput(*policyFile, e)
		if err != nil {
			return usageErr("-policy: %v", err)
		}
		trust, err := policy.Parse(data)
		if err != nil {
			return usageErr("-policy %s: %v", *policyFile, err)
		}
		arn := *roleARN
		if arn == "" {
			account, partition, ok := accountOf(*providerARN)
			if !ok {
				return usageErr("-policy needs -role-arn, or -provider-arn to take the account from")
			}
			arn = "arn:" + partition + ":iam::" + account + ":role/webidentity-verify"
		}
		role = &verifier.Role{ARN: arn, TrustPolicy: trust, MaxSessionDuration: 12 * time.Hour}
	}
	hostPath := strings.TrimPrefix(*issuer, "https://")
	provARN := *providerARN
	if provARN == "" {
		account, partition := "000000000000", "aws" // only used when no role is given
		if role != nil {
			if p, a, _, _, ok := splitRoleARN(role.ARN); ok {
				partition, account = p, a
			} else if *roleARN != "" {
				return usageErr("-role-arn is not arn:PARTITION:iam::ACCOUNT:role/NAME")
			}
		}
		provARN = "arn:" + partition + ":iam::" + account + ":oidc-provider/" + hostPath
	}

	// Keys: a static set, or discovery through the verifier's own key cache.
	var keys verifier.KeySource
	var keyOpts jwks.Options
	if *jwksFile != "" {
		data, err := readInput(*jwksFile, e)
		if err != nil {
			return usageErr("-jwks: %v", err)
		}
		var list []*jwks.Key
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN ")) {
			list, err = jwks.ParsePEM(data)
			if err != nil {
				return usageErr("-jwks %s: %v", *jwksFile, err)
			}
		} else if list, _, err = jwks.ParseJWKS(data); err != nil {
			return usageErr("-jwks %s: not a JWK Set: %v", *jwksFile, err)
		}
		static, err := jwks.NewStatic(*issuer, list...)
		if err != nil {
			return usageErr("-jwks %s: %v", *jwksFile, err)
		}
		keys = static
	} else {
		cfg := &Config{
			Providers: []verifier.Provider{{URL: *issuer}},
			Keys:      KeysConfig{AllowPrivateAddresses: *allowPrivate},
		}
		if *caFile != "" {
			pool, err := loadCAFile(*caFile)
			if err != nil {
				return usageErr("-ca-file: %v", err)
			}
			cfg.Keys.RootCAs = pool
		}
		keyOpts = keyOptions(cfg, e.now, nil, "webidentity-verify")
	}

	opts := verifier.Options{
		Providers: []verifier.Provider{{URL: *issuer, ARN: provARN, ClientIDs: clientIDs, Algorithms: algorithms}},
		Keys:      keys, // nil: the verifier fetches through discovery with keyOpts
		JWKS:      keyOpts,
		Now:       e.now,
	}
	if role != nil {
		rs, err := verifier.NewStaticRoles(role)
		if err != nil {
			return usageErr("%v", err)
		}
		opts.Roles = rs
	}
	v, err := verifier.New(opts)
	if err != nil {
		return usageErr("%v", err)
	}
	defer v.Close()

	data, err := readInput(*tokenFile, e)
	if err != nil {
		return usageErr("-token: %v", err)
	}
	token := strings.TrimSpace(string(data))

	out := verifyOutput{Issuer: *issuer}
	if role != nil || *providerARN != "" {
		out.Provider = provARN // else it is a placeholder the verifier needs, not the provider's ARN
	}
	hint := func(err error) *errorJSON {
		ej := newErrorJSON(err)
		if !*allowPrivate && errors.Is(err, jwks.ErrRefusedDestination) {
			ej.Hint = hintAllowPrivate
			fmt.Fprintf(e.stderr, "webidentity verify: hint: %s\n", hintAllowPrivate)
		}
		return ej
	}
	tok, err := v.Verify(ctx, token)
	if err != nil {
		out.Error = hint(err)
	} else {
		out.Valid = true
		out.Claims = json.RawMessage(tok.Claims)
	}
	if role != nil {
		out.Role = role.ARN
		allowed := false
		if out.Valid {
			res, err := v.AssumeRoleWithWebIdentity(ctx, &verifier.Request{
				RoleARN:          role.ARN,
				RoleSessionName:  *sessionName,
				WebIdentityToken: token,
				DurationSeconds:  *duration,
			})
			if res != nil {
				out.Decision = newDecisionJSON(res.Decision)
			}
			if err != nil {
				out.Error = hint(err)
			} else {
				allowed = true
			}
		}
		out.Allowed = &allowed
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil {
		return exitFail
	}
	if out.Error != nil {
		return exitFail
	}
	return exitOK
}

// parseRoleFile parses a -role file: the output of aws iam get-role. A bare trust policy is
// refused (its *ConfigError carries HintBarePolicy) rather than guessed at: its role ARN (the
// resource, the account of the provider) would have to be made up.
func parseRoleFile(data []byte) (*verifier.Role, error) {
	rc, err := parseGetRole(data, "")
	if err != nil {
		return nil, err
	}
	return rc.Role, nil
}

// accountOf returns the account and partition of an IAM ARN.
func accountOf(arn string) (account, partition string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !partitionRE.MatchString(parts[1]) || !accountRE.MatchString(parts[4]) {
		return "", "", false
	}
	return parts[4], parts[1], true
}

// readInput reads a file, or stdin for "-", up to maxInputBytes.
func readInput(name string, e *env) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxInputBytes)
	}
	return data, nil
}
