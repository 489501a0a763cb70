package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/stsapi"
	"github.com/webidentity/webidentity/verifier"
)

// maxConfigBytes bounds the configuration file.
const maxConfigBytes = 8 << 20

// ConfigError is an invalid configuration. Path locates the problem in the document, such as
// Roles[1].Role.AssumeRolePolicyDocument.Statement[0].Effect; it is empty for the document as
// a whole.
type ConfigError struct {
	Path string
	Msg  string
	// Line and Column (1-based, Column in characters) locate a JSON syntax error in the file;
	// zero for other errors.
	Line, Column int
	// Hint names a likely mistake behind the error, such as a role pasted without its
	// {"Role": ...} wrapper; HintNone if none is known.
	Hint Hint
	Err  error
}

// Error returns "config: [line L, column C: ]<path>: <msg>[ (hint)]".
func (e *ConfigError) Error() string {
	s := "config: "
	if e.Line > 0 {
		s += "line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": "
	}
	if e.Path != "" {
		s += e.Path + ": "
	}
	s += e.Msg
	if e.Hint != HintNone {
		s += " (" + e.Hint.String() + ")"
	}
	return s
}

// Hint is a likely mistake behind a configuration error, for a person to read.
type Hint int

const (
	// HintNone: no hint.
	HintNone Hint = iota
	// HintRoleWrapper: a role object (Arn, AssumeRolePolicyDocument, ...) was given where aws
	// iam get-role output, {"Role": {...}}, is expected.
	HintRoleWrapper
	// HintBarePolicy: a trust policy (Version, Statement) was given where aws iam get-role
	// output is expected.
	HintBarePolicy
	// HintAllowPrivateAddresses: an issuer was refused because it resolves to a loopback,
	// private or otherwise non-public address, which Keys.AllowPrivateAddresses permits.
	HintAllowPrivateAddresses
)

// String returns the hint's advice.
func (h Hint) String() string {
	switch h {
	case HintRoleWrapper:
		return `hint: this looks like a role without its wrapper; give aws iam get-role output, {"Role": {"Arn": ..., "AssumeRolePolicyDocument": ...}}`
	case HintBarePolicy:
		return `hint: this looks like a trust policy, not aws iam get-role output; wrap it as {"Role": {"Arn": ..., "AssumeRolePolicyDocument": POLICY}} (verify takes a bare policy with -policy)`
	case HintAllowPrivateAddresses:
		return "hint: the issuer resolves to a loopback or private address; set Keys.AllowPrivateAddresses in the configuration if that is intended (tests, in-cluster issuers)"
	}
	return ""
}

// Unwrap returns the underlying error, such as a *policy.ParseError.
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(path, format string, args ...any) *ConfigError {
	return &ConfigError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Config is a loaded and validated serve configuration.
type Config struct {
	// Providers are the registered OIDC providers, in file order.
	Providers []verifier.Provider
	// DiscoveryURLs maps a provider URL to its discovery document URL, when not the default.
	DiscoveryURLs map[string]string
	// Roles are the roles, in file order.
	Roles []*RoleConfig
	// Warnings are problems that do not stop the configuration from loading, such as
	// high-severity policy.Lint findings; serve logs them.
	Warnings []ConfigWarning
	// Keys configures how the providers' keys are fetched.
	Keys KeysConfig
	// Leeway, MaxTokenLifetime and TokenCacheSize are passed to verifier.Options. An explicit
	// zero in the file is honoured: Leeway and TokenCacheSize become negative (none), and
	// MaxTokenLifetime zero means not bounded.
	Leeway           time.Duration
	MaxTokenLifetime time.Duration
	TokenCacheSize   int
}

// RoleConfig is a role and the IAM identifiers an STS response names it by.
type RoleConfig struct {
	Role *verifier.Role
	// Name is the last component of the ARN's resource (the role name without path).
	Name string
	// ID is the role's RoleId (AROA...), or one derived from the ARN when the file has none.
	ID string
	// Partition and Account come from the ARN.
	Partition, Account string

	// The Federated principals of the trust policy's Allow statements, and whether one of
	// them admits principals it does not list, for checkRoles.
	federated     []principalRef
	openPrincipal bool
}

// KeysConfig configures the JWKS cache.
type KeysConfig struct {
	// AllowPrivateAddresses lets the cache connect to loopback, private and link-local
	// addresses. Off by default: only for tests and in-cluster issuers.
	AllowPrivateAddresses bool
	// CAFile is a PEM file of root certificates; when set, only these roots are trusted for
	// discovery and JWKS fetches. RootCAs holds them once loaded.
	CAFile  string
	RootCAs *x509.CertPool
	// FetchTimeout and MinRefreshInterval are passed to jwks.Options (zero: default); the
	// file may not set them to zero.
	FetchTimeout       time.Duration
	MinRefreshInterval time.Duration
	// MaxStale is passed to jwks.Options (zero: default). Negative, from an explicit "0s" in
	// the file, means expired keys are never served.
	MaxStale time.Duration
}

// The JSON shapes of the configuration file.
type (
	// Every level is decoded on its own, so that errors carry the full path.
	fileJSON struct {
		Providers []json.RawMessage
		Roles     []json.RawMessage
		Keys      json.RawMessage
		Verifier  json.RawMessage
	}

	// providerJSON is an IAM OpenID Connect provider as `aws iam get-open-id-connect-provider`
	// prints it, plus its Arn and two optional extensions.
	providerJSON struct {
		Arn            string
		Url            string
		ClientIDList   []string
		ThumbprintList []string
		// Printed by the AWS CLI, accepted and ignored.
		CreateDate json.RawMessage
		Tags       json.RawMessage
		// Extensions.
		DiscoveryUrl string
		Algorithms   []string
	}

	// getRoleJSON is the output of `aws iam get-role`.
	getRoleJSON struct {
		Role json.RawMessage
	}

	roleJSON struct {
		Arn                      string
		RoleName                 string
		RoleId                   string
		AssumeRolePolicyDocument json.RawMessage
		MaxSessionDuration       *int
		// Printed by the AWS CLI, accepted and ignored.
		Path                string
		CreateDate          json.RawMessage
		Description         json.RawMessage
		Tags                json.RawMessage
		RoleLastUsed        json.RawMessage
		PermissionsBoundary json.RawMessage
	}

	// Durations are Go duration strings such as "90s" or "5m".
	keysJSON struct {
		AllowPrivateAddresses bool
		CAFile                string
		FetchTimeout          *string
		MinRefreshInterval    *string
		MaxStale              *string
	}

	verifierJSON struct {
		Leeway           *string
		MaxTokenLifetime *string
		TokenCacheSize   *int
	}
)

// parseDuration parses an optional duration member; negative values are refused unless
// allowNegative.
func parseDuration(s *string, path string, allowNegative bool) (time.Duration, bool, error) {
	if s == nil {
		return 0, false, nil
	}
	d, err := time.ParseDuration(*s)
	if err != nil {
		return 0, false, configErr(path, `want a duration such as "90s" or "5m"`)
	}
	if d < 0 && !allowNegative {
		return 0, false, configErr(path, "must not be negative")
	}
	return d, true, nil
}

// positiveDuration parses an optional duration member that must be positive when given; why
// says what zero would break.
func positiveDuration(s *string, path, why string) (time.Duration, error) {
	d, set, err := parseDuration(s, path, false)
	if err != nil {
		return 0, err
	}
	if set && d == 0 {
		return 0, configErr(path, "must be positive: %s", why)
	}
	return d, nil
}

// LoadConfig reads and validates the configuration file at path. Errors are *ConfigError, or
// an I/O error for an unreadable file. A relative Keys.CAFile is taken relative to the file.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigBytes {
		return nil, configErr("", "file larger than %d bytes", maxConfigBytes)
	}
	return ParseConfig(data, filepath.Dir(path))
}

// ParseConfig validates a configuration document. dir resolves a relative Keys.CAFile. Besides
// malformed members it refuses configurations that can never allow a request: no roles, or a
// role whose trust policy's Allow statements name no configured provider as Federated
// principal. Lesser problems (an unconfigured provider beside a configured one, High
// policy.Lint findings) are returned in Config.Warnings.
func ParseConfig(data []byte, dir string) (*Config, error) {
	var doc fileJSON
	if err := decodeStrict(data, "", &doc); err != nil {
		return nil, err
	}
	cfg := &Config{DiscoveryURLs: map[string]string{}}
	if len(doc.Providers) == 0 {
		return nil, configErr("Providers", "at least one provider is required")
	}
	// A provider is its ARN: any number of accounts may register one Url (every tenant
	// registers GitHub Actions; EKS cross-account IRSA registers a cluster's issuer in another
	// account), each with client IDs of its own. A discovery URL belongs to the issuer, so
	// the providers of one Url must agree on it.
	seenProvider := map[string]string{}
	seenDiscovery := map[string]string{} // Url -> path of the first provider that set it
	for i, raw := range doc.Providers {
		path := fmt.Sprintf("Providers[%d]", i)
		p, discovery, err := parseProvider(raw, path)
		if err != nil {
			return nil, err
		}
		id := providerPrincipal(p)
		if prev, dup := seenProvider[id]; dup {
			return nil, configErr(path+".Arn", "same provider as %s", prev)
		}
		seenProvider[id] = path
		if first, seen := seenDiscovery[p.URL]; seen {
			if cfg.DiscoveryURLs[p.URL] != discovery {
				return nil, configErr(path+".DiscoveryUrl", "differs from the one %s gives for the same Url: the discovery document is the issuer's, one per Url", first)
			}
		} else {
			seenDiscovery[p.URL] = path
			if discovery != "" {
				cfg.DiscoveryURLs[p.URL] = discovery
			}
		}
		cfg.Providers = append(cfg.Providers, p)
	}
	seenRole := map[string]string{}
	for i, raw := range doc.Roles {
		path := fmt.Sprintf("Roles[%d]", i)
		rc, err := parseGetRole(raw, path)
		if err != nil {
			return nil, err
		}
		if prev, dup := seenRole[rc.Role.ARN]; dup {
			return nil, configErr(path+".Role.Arn", "same role as %s", prev)
		}
		seenRole[rc.Role.ARN] = path
		cfg.Roles = append(cfg.Roles, rc)
	}
	if err := checkRoles(cfg); err != nil {
		return nil, err
	}
	if len(doc.Keys) > 0 && string(doc.Keys) != "null" {
		var k keysJSON
		if err := decodeStrict(doc.Keys, "Keys", &k); err != nil {
			return nil, err
		}
		cfg.Keys.AllowPrivateAddresses = k.AllowPrivateAddresses
		// Missing means the default. An explicit zero is honoured where it means something
		// (MaxStale: never serve expired keys) and refused where it cannot (the key cache
		// would silently read it as its default).
		var err error
		if cfg.Keys.FetchTimeout, err = positiveDuration(k.FetchTimeout, "Keys.FetchTimeout",
			"a fetch needs time (omit it for the default, 5s)"); err != nil {
			return nil, err
		}
		if cfg.Keys.MinRefreshInterval, err = positiveDuration(k.MinRefreshInterval, "Keys.MinRefreshInterval",
			"it bounds the fetches a flood of unknown kids causes (omit it for the default, 30s)"); err != nil {
			return nil, err
		}
		maxStale, set, err := parseDuration(k.MaxStale, "Keys.MaxStale", false)
		if err != nil {
			return nil, err
		}
		if set && maxStale == 0 {
			maxStale = -1 // an explicit "0s" means never serve expired keys, not the default
		}
		cfg.Keys.MaxStale = maxStale
		if k.CAFile != "" {
			file := k.CAFile
			if !filepath.IsAbs(file) {
				file = filepath.Join(dir, file)
			}
			pool, err := loadCAFile(file)
			if err != nil {
				return nil, &ConfigError{Path: "Keys.CAFile", Msg: err.Error(), Err: err}
			}
			cfg.Keys.CAFile, cfg.Keys.RootCAs = file, pool
		}
	}
	if len(doc.Verifier) > 0 && string(doc.Verifier) != "null" {
		var v verifierJSON
		if err := decodeStrict(doc.Verifier, "Verifier", &v); err != nil {
			return nil, err
		}
		leeway, set, err := parseDuration(v.Leeway, "Verifier.Leeway", false)
		if err != nil {
			return nil, err
		}
		if set && leeway == 0 {
			leeway = -1 // an explicit "0s" means no leeway, not the default
		}
		cfg.Leeway = leeway
		if cfg.MaxTokenLifetime, _, err = parseDuration(v.MaxTokenLifetime, "Verifier.MaxTokenLifetime", false); err != nil {
			return nil, err
		}
		if v.TokenCacheSize != nil {
			cfg.TokenCacheSize = *v.TokenCacheSize
			if cfg.TokenCacheSize == 0 {
				cfg.TokenCacheSize = -1 // an explicit 0 means no cache, not the default
			}
		}
	}
	return cfg, nil
}

// loadCAFile reads a PEM bundle of root certificates.
func loadCAFile(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}

var (
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	partitionRE = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	roleNameRE  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathRE  = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)
	roleIDRE    = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
)

func parseProvider(raw json.RawMessage, path string) (verifier.Provider, string, error) {
	var pj providerJSON
	if err := decodeStrict(raw, path, &pj); err != nil {
		return verifier.Provider{}, "", err
	}
	// get-open-id-connect-provider prints Url without its scheme; accept both forms.
	issuer := pj.Url
	switch {
	case issuer == "":
		return verifier.Provider{}, "", configErr(path+".Url", "required")
	case strings.HasPrefix(issuer, "https://"):
	case strings.Contains(issuer, "://"):
		return verifier.Provider{}, "", configErr(path+".Url", "must be an https URL")
	default:
		issuer = "https://" + issuer
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.HasSuffix(issuer, "/") {
		return verifier.Provider{}, "", configErr(path+".Url",
			"must be https://host[/path] without query, fragment, userinfo or trailing slash")
	}
	parts := strings.SplitN(pj.Arn, ":", 6)
	want := "oidc-provider/" + strings.TrimPrefix(issuer, "https://")
	// Trust policies name the well-known issuers by domain; they need no ARN.
	wellKnown := pj.Arn == "" && (issuer == "https://accounts.google.com" || issuer == "https://cognito-identity.amazonaws.com")
	if !wellKnown && (len(parts) != 6 || parts[0] != "arn" || !partitionRE.MatchString(parts[1]) || parts[2] != "iam" ||
		parts[3] != "" || !accountRE.MatchString(parts[4]) || parts[5] != want) {
		return verifier.Provider{}, "", configErr(path+".Arn",
			"must be arn:PARTITION:iam::ACCOUNT:%s", want)
	}
	if len(pj.ClientIDList) == 0 {
		return verifier.Provider{}, "", configErr(path+".ClientIDList", "at least one client ID is required")
	}
	for j, id := range pj.ClientIDList {
		if id == "" || len(id) > 255 {
			return verifier.Provider{}, "", configErr(fmt.Sprintf("%s.ClientIDList[%d]", path, j), "must be 1 to 255 characters")
		}
	}
	var thumbprints []string // colons dropped: IAM's form, 40 hex digits
	for j, tp := range pj.ThumbprintList {
		tp = strings.ReplaceAll(tp, ":", "")
		if !thumbprintRE.MatchString(tp) {
			return verifier.Provider{}, "", configErr(fmt.Sprintf("%s.ThumbprintList[%d]", path, j), "must be 40 hex digits (SHA-1)")
		}
		thumbprints = append(thumbprints, tp)
	}
	for j, alg := range pj.Algorithms {
		if !supportedAlgorithms[alg] {
			return verifier.Provider{}, "", configErr(fmt.Sprintf("%s.Algorithms[%d]", path, j),
				"must be one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA")
		}
	}
	if pj.DiscoveryUrl != "" {
		if d, err := url.Parse(pj.DiscoveryUrl); err != nil || d.Scheme != "https" || d.Host == "" || d.User != nil {
			return verifier.Provider{}, "", configErr(path+".DiscoveryUrl", "must be an https URL")
		}
	}
	return verifier.Provider{
		URL:         issuer,
		ARN:         pj.Arn,
		ClientIDs:   pj.ClientIDList,
		Algorithms:  pj.Algorithms,
		Thumbprints: thumbprints,
	}, pj.DiscoveryUrl, nil
}

var thumbprintRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// supportedAlgorithms are the JOSE algorithms the verifier accepts (case-sensitive).
var supportedAlgorithms = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "EdDSA": true,
}

// parseGetRole parses one `aws iam get-role` document.
func parseGetRole(raw json.RawMessage, path string) (*RoleConfig, error) {
	var gr getRoleJSON
	if err := decodeStrict(raw, path, &gr); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) && ce.Line == 0 {
			ce.Hint = roleShapeHint(raw)
		}
		return nil, err
	}
	path = joinPath(path, "Role")
	if len(gr.Role) == 0 || string(gr.Role) == "null" {
		return nil, configErr(path, "required (the output of aws iam get-role)")
	}
	var rj roleJSON
	if err := decodeStrict(gr.Role, path, &rj); err != nil {
		return nil, err
	}
	return parseRole(&rj, path)
}

// roleShapeHint recognises a document given where aws iam get-role output belongs: a role
// without its {"Role": ...} wrapper, or a bare trust policy.
func roleShapeHint(raw json.RawMessage) Hint {
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return HintNone
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := members[n]; ok {
				return true
			}
		}
		return false
	}
	switch {
	case has("Role"):
		return HintNone
	case has("Statement", "Version"):
		return HintBarePolicy
	case has("Arn", "RoleName", "RoleId", "AssumeRolePolicyDocument"):
		return HintRoleWrapper
	}
	return HintNone
}

func parseRole(rj *roleJSON, path string) (*RoleConfig, error) {
	partition, account, rolePath, name, ok := splitRoleARN(rj.Arn)
	if !ok {
		return nil, configErr(path+".Arn", "must be arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME")
	}
	if rj.RoleName != "" && rj.RoleName != name {
		return nil, configErr(path+".RoleName", "does not match the name in Arn")
	}
	if rj.Path != "" && rj.Path != rolePath {
		return nil, configErr(path+".Path", "does not match the path in Arn")
	}
	id := rj.RoleId
	if id == "" {
		id = derivedRoleID(rj.Arn)
	} else if !roleIDRE.MatchString(id) {
		return nil, configErr(path+".RoleId", "must be 16 to 128 upper-case letters and digits")
	}
	maxDur := time.Hour
	if rj.MaxSessionDuration != nil {
		s := *rj.MaxSessionDuration
		if s < 3600 || s > 43200 {
			return nil, configErr(path+".MaxSessionDuration", "must be 3600 to 43200 seconds")
		}
		maxDur = time.Duration(s) * time.Second
	}
	docPath := path + ".AssumeRolePolicyDocument"
	doc, err := policyDocument(rj.AssumeRolePolicyDocument)
	if err != nil {
		return nil, &ConfigError{Path: docPath, Msg: err.Error(), Err: err}
	}
	trust, err := policy.Parse(doc)
	if err != nil {
		var pe *policy.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{Path: policyPath(docPath, pe.Path), Msg: pe.Msg, Err: err}
		}
		return nil, &ConfigError{Path: docPath, Msg: err.Error(), Err: err}
	}
	federated, open := trustPrincipals(doc)
	return &RoleConfig{
		Role: &verifier.Role{
			ARN: rj.Arn, TrustPolicy: trust, MaxSessionDuration: maxDur,
			// What an iam.Registry needs when the configuration is imported into a store.
			RoleID: id, Name: name, Path: rolePath, Account: account, Partition: partition,
			TrustPolicyDocument: string(doc),
		},
		Name:      name,
		ID:        id,
		Partition: partition,
		Account:   account,

		federated:     federated,
		openPrincipal: open,
	}, nil
}

// policyDocument returns the JSON text of an AssumeRolePolicyDocument, which the AWS CLI prints
// as a JSON object and the IAM API returns as a URL-encoded string.
func policyDocument(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, errors.New("required")
	case raw[0] == '{':
		return raw, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errors.New("invalid JSON string")
		}
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
			return []byte(t), nil // JSON text inside a string
		}
		// URL-encoded, as the IAM API returns it (decoded as IAM documents it, '+' is a space).
		dec, err := url.QueryUnescape(s)
		if err != nil {
			return nil, errors.New("neither JSON nor URL-encoded JSON")
		}
		return []byte(dec), nil
	default:
		return nil, errors.New("must be a JSON object or a (URL-encoded) JSON string")
	}
}

// splitRoleARN splits arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME.
func splitRoleARN(arn string) (partition, account, path, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !partitionRE.MatchString(parts[1]) || parts[2] != "iam" ||
		parts[3] != "" || !accountRE.MatchString(parts[4]) || !strings.HasPrefix(parts[5], "role/") {
		return "", "", "", "", false
	}
	res := strings.TrimPrefix(parts[5], "role")
	i := strings.LastIndexByte(res, '/')
	path, name = res[:i+1], res[i+1:]
	if !roleNameRE.MatchString(name) || !rolePathRE.MatchString(path) || len(path) > 512 {
		return "", "", "", "", false
	}
	return parts[1], parts[4], path, name, true
}

// derivedRoleID makes a stable AROA-style id from a role ARN, for configurations pasted
// without RoleId. It is not IAM's id.
func derivedRoleID(arn string) string { return stsapi.DerivedRoleID(arn) }

// decodeStrict decodes one JSON value into v, refusing unknown members, duplicate members and
// trailing data. Errors are *ConfigError with paths under path.
func decodeStrict(data []byte, path string, v any) error {
	if err := checkDuplicates(data, path); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return configErr(joinPath(path, te.Field), "want %s, got JSON %s", te.Type, te.Value)
		}
		if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name, _ := strconv.Unquote(msg)
			return configErr(joinPath(path, name), "unknown member")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return syntaxErr(data, path, err)
		}
		return &ConfigError{Path: path, Msg: err.Error(), Err: err}
	}
	// dec.More is false before a stray '}' or ']', so look for the end of the input instead.
	end := int(dec.InputOffset())
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		ce := configErr(path, "data after the JSON value")
		rest := bytes.TrimLeft(data[end:], " \t\r\n")
		ce.Line, ce.Column = lineColumn(data, len(data)-len(rest))
		return ce
	}
	return nil
}

func joinPath(base, field string) string {
	switch {
	case field == "":
		return base
	case base == "":
		return field
	}
	return base + "." + field
}

// maxConfigDepth bounds how deeply a configuration document (or get-role document) nests. A
// valid one nests about ten levels
// (Roles[0].Role.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals.KEY[0]); package
// policy bounds the trust policies inside on its own.
const maxConfigDepth = 64

// pathSeg is one step of a document path: a member name, or an array index when isIndex.
type pathSeg struct {
	name    string
	index   int
	isIndex bool
}

// renderPath renders base followed by segs, as ConfigError.Path reads.
func renderPath(base string, segs []pathSeg) string {
	p := base
	for _, s := range segs {
		if s.isIndex {
			p += "[" + strconv.Itoa(s.index) + "]"
		} else {
			p = joinPath(p, s.name)
		}
	}
	return p
}

// checkDuplicates refuses a member name that appears twice in one object (encoding/json would
// silently keep the last one), and a document nested deeper than maxConfigDepth. Paths are
// built only for an error, so the walk needs memory linear in the depth.
//
// Member names are compared after foldMemberName, which folds as encoding/json does when it
// matches names to fields, beyond ASCII too: "Aſſume" (U+017F) and "Assume" are duplicates.
// Because that fold is encoding/json's private rule (it differs between Go releases, and again
// under GOEXPERIMENT=jsonv2), the object this call decodes into a struct (depth 0, the only
// level whose names are matched to fields: deeper levels are json.RawMessage decoded by their
// own decodeStrict call, or plain values and policy documents) must also have pure ASCII member
// names. Every member of the configuration and get-role format is ASCII, so this refuses no
// valid document, and for ASCII names every case-insensitive fold agrees with ours.
func checkDuplicates(data []byte, path string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var segs []pathSeg
	at := func() string { return renderPath(path, segs) }
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return syntaxErr(data, at(), err)
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		if len(segs) >= maxConfigDepth {
			return configErr(at(), "nested deeper than %d levels", maxConfigDepth)
		}
		switch d {
		case '{':
			structLevel := len(segs) == 0
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return syntaxErr(data, at(), err)
				}
				k, _ := kt.(string)
				segs = append(segs, pathSeg{name: k})
				if structLevel && !isASCII(k) {
					return configErr(at(), "member name is not ASCII")
				}
				key := foldMemberName(k)
				if seen[key] {
					return configErr(at(), "duplicate member")
				}
				seen[key] = true
				if err := walk(); err != nil {
					return err
				}
				segs = segs[:len(segs)-1]
			}
		case '[':
			segs = append(segs, pathSeg{isIndex: true})
			for ; dec.More(); segs[len(segs)-1].index++ {
				if err := walk(); err != nil {
					return err
				}
			}
			segs = segs[:len(segs)-1]
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return syntaxErr(data, at(), err)
		}
		return nil
	}
	return walk()
}

// syntaxErr is the error for data that is not valid JSON, located by line and column. The
// decoder's token stream reports offsets loosely, so data is scanned again by json.Unmarshal,
// whose SyntaxError.Offset counts the bytes up to and including the offending one (all of
// data when it ends early).
func syntaxErr(data []byte, path string, err error) *ConfigError {
	ce := &ConfigError{Path: path, Msg: "invalid JSON", Err: err}
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(data, new(json.RawMessage)), &se) {
		ce.Err = se
		ce.Msg = "invalid JSON: " + strings.TrimPrefix(se.Error(), "json: ")
		pos := int(se.Offset) - 1 // the offending byte
		if strings.Contains(se.Error(), "unexpected end") {
			ce.Msg, pos = "invalid JSON: unexpected end of file", len(data)
		}
		ce.Line, ce.Column = lineColumn(data, min(max(pos, 0), len(data)))
	}
	return ce
}

// lineColumn returns the 1-based line and column (in characters) of byte offset pos of data.
func lineColumn(data []byte, pos int) (line, column int) {
	before := data[:pos]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[start:]) + 1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldMemberName maps every member name encoding/json would match to the same field to one
// key: each rune becomes the smallest rune of its unicode.SimpleFold orbit (so 's', 'S' and
// U+017F LONG S, or 'k', 'K' and U+212A KELVIN SIGN, all fold alike), as Go's encoding/json
// folds; unicode.ToLower, used before, left U+017F alone.
func foldMemberName(name string) string {
	var b strings.Builder
	for _, r := range name {
		for {
			f := unicode.SimpleFold(r)
			if f <= r {
				r = f
				break
			}
			r = f
		}
		b.WriteRune(r)
	}
	return b.String()
}
