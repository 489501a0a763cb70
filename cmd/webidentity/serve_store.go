package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/iamapi"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/pgstore"
	"github.com/webidentity/webidentity/store"
	"github.com/webidentity/webidentity/stsapi"
	"github.com/webidentity/webidentity/verifier"
)

// maxAdminsBytes bounds the admin credentials file.
const maxAdminsBytes = 1 << 20

// adminsJSON is the admin credentials file:
//
//	{"Admins": [{"AccessKeyId": "AKIA...", "SecretAccessKey": "...", "Account": "111122223333"}]}
//
// Partition is optional ("aws"). Each key administers one account; several keys may
// administer one account.
type adminsJSON struct {
	Admins []struct {
		AccessKeyId     string
		SecretAccessKey string
		Account         string
		Partition       string
	}
}

// liveAdmins are the -admin file's credentials, read again on SIGHUP (reloadAdmins), so
// that a key is added, rotated or revoked without a restart.
type liveAdmins struct {
	path string
	p    atomic.Pointer[iamapi.StaticAdmins]
}

// SecretAccessKey implements iamapi.Credentials.
func (l *liveAdmins) SecretAccessKey(accessKeyID string) (string, bool) {
	return (*l.p.Load()).SecretAccessKey(accessKeyID)
}

// Admin implements iamapi.AdminCredentials.
func (l *liveAdmins) Admin(accessKeyID string) (iamapi.Admin, bool) {
	return (*l.p.Load()).Admin(accessKeyID)
}

// reloadAdmins reads the -admin file again; a file that does not load keeps the current
// credentials. The next request is checked against what it returns with.
func (s *service) reloadAdmins() error {
	l := s.admins
	admins, err := LoadAdmins(l.path)
	if err != nil {
		s.log.Error("admin credentials reload failed; keeping the previous ones", "file", l.path, "err", err.Error())
	} else {
		l.p.Store(&admins)
		s.log.Info("admin credentials reloaded", "file", l.path, "keys", len(admins))
	}
	s.metrics.reloaded(err == nil)
	return err
}

// LoadAdmins reads an admin credentials file. Errors are *ConfigError naming the entry; they
// never quote a secret.
func LoadAdmins(path string) (iamapi.StaticAdmins, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAdminsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxAdminsBytes {
		return nil, configErr("", "file larger than %d bytes", maxAdminsBytes)
	}
	var doc adminsJSON
	if err := decodeStrict(data, "", &doc); err != nil {
		return nil, err
	}
	if len(doc.Admins) == 0 {
		return nil, configErr("Admins", "at least one admin credential is required")
	}
	admins := iamapi.StaticAdmins{}
	for i, a := range doc.Admins {
		path := fmt.Sprintf("Admins[%d]", i)
		switch {
		case a.AccessKeyId == "" || !accessKeyRE.MatchString(a.AccessKeyId):
			return nil, configErr(path+".AccessKeyId", "must be 16 to 128 upper-case letters and digits (AKIA...)")
		case len(a.SecretAccessKey) < 16:
			return nil, configErr(path+".SecretAccessKey", "must be at least 16 characters")
		case !iam.ValidAccount(a.Account):
			return nil, configErr(path+".Account", "must be a 12-digit account ID")
		case a.Partition != "" && !iam.ValidPartition(a.Partition):
			return nil, configErr(path+".Partition", "is not an AWS partition")
		}
		if _, dup := admins[a.AccessKeyId]; dup {
			return nil, configErr(path+".AccessKeyId", "given twice")
		}
		admins[a.AccessKeyId] = iamapi.Admin{SecretAccessKey: a.SecretAccessKey, Account: a.Account, Partition: a.Partition}
	}
	return admins, nil
}

// configEntities converts a configuration's providers and roles into IAM entities, for an
// import into a store. Well-known issuers given without an ARN are not IAM providers (STS has
// them built in) and cannot be imported.
func configEntities(cfg *Config) ([]*iam.OIDCProvider, []*iam.Role, error) {
	var providers []*iam.OIDCProvider
	for i, p := range cfg.Providers {
		if p.ARN == "" {
			return nil, nil, configErr(fmt.Sprintf("Providers[%d].Arn", i), "an IAM provider needs its ARN to be imported into a store")
		}
		if cfg.DiscoveryURLs[p.URL] != "" {
			return nil, nil, configErr(fmt.Sprintf("Providers[%d].DiscoveryUrl", i), "IAM providers have no discovery URL: a store cannot keep it")
		}
		providers = append(providers, &iam.OIDCProvider{ARN: p.ARN, URL: p.URL, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints})
	}
	var roles []*iam.Role
	for _, rc := range cfg.Roles {
		r := rc.Role
		roles = append(roles, &iam.Role{
			ARN: r.ARN, RoleID: rc.ID, TrustPolicyDocument: r.TrustPolicyDocument,
			MaxSessionDuration: r.MaxSessionDuration,
		})
	}
	return providers, roles, nil
}

// newRegistryService is the service of a store: the verifier reads the registry per request,
// and the IAM Query API (signed by the admin credentials) changes it; both on one handler.
// settings gives the key and verifier settings (its providers and roles are not used).
func newRegistryService(reg *iam.Registry, settings *Config, admins iamapi.AdminCredentials, opts serviceOptions) (*service, error) {
	s, log, issuer := baseService(opts)
	cache, err := jwks.New(keyOptions(settings, s.now, observers{s.metrics, jwks.NewSlogObserver(log)}, "webidentity-serve"))
	if err != nil {
		return nil, &ConfigError{Path: "Keys", Msg: err.Error(), Err: err}
	}
	s.cache, s.keys = cache, settings.Keys
	v, err := verifier.New(verifier.Options{
		ProviderSource:   reg,
		Roles:            reg,
		Keys:             cache,
		Leeway:           settings.Leeway,
		MaxTokenLifetime: settings.MaxTokenLifetime,
		TokenCacheSize:   settings.TokenCacheSize,
		Now:              s.now,
		Observer:         s.metrics,
	})
	if err != nil {
		_ = cache.Close()
		return nil, &ConfigError{Msg: err.Error(), Err: err}
	}
	s.live.p.Store(v)
	s.registry = reg
	s.admins, _ = admins.(*liveAdmins)
	providers, _ := reg.Len()
	s.nprov.Store(int64(providers))
	iamH, err := iamapi.NewHandler(iamapi.Options{Credentials: admins, Registry: reg, Now: s.now, Logger: log})
	if err != nil {
		s.Close()
		return nil, &ConfigError{Path: "Admins", Msg: err.Error(), Err: err}
	}
	sts, err := stsapi.NewHandler(stsapi.Options{
		Verifier: &s.live, Issuer: issuer, Observer: s.metrics, Logger: log, MaxBodyBytes: opts.MaxBodyBytes,
		// An IAM action without an iam-scoped signature (unsigned, or signed for sts) goes to
		// the IAM handler, which refuses it as IAM does, not as an unknown STS action.
		Forward: func(action string) http.Handler {
			if iamapi.IsAction(action) {
				return iamH
			}
			return nil
		},
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.mount(byService(sts, iamH))
	return s, nil
}

// baseService builds the parts every service has: clock, logger, metrics, credential issuer.
func baseService(opts serviceOptions) (*service, *slog.Logger, stsapi.CredentialIssuer) {
	now := opts.Now
	if now == nil {
		now = defaultNow
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	issuer := opts.Issuer
	if issuer == nil {
		issuer = &stsapi.LocalIssuer{Now: now}
	}
	s := &service{metrics: newMetrics(), log: log, retry: opts.PrefetchRetry, now: now}
	if s.retry <= 0 {
		s.retry = defaultPrefetchRetry
	}
	return s, log, issuer
}

// byService sends a request to IAM when its SigV4 credential scope names the iam service,
// and to STS otherwise. AWS serves the two at different hosts; here one address serves both,
// so that AWS_ENDPOINT_URL (or --endpoint-url) can name it for every client. IAM calls are
// always signed (the IAM handler refuses unsigned ones, which the STS handler forwards to
// it by their Action); AssumeRoleWithWebIdentity is unsigned, and a signed STS call names
// sts in its scope.
func byService(sts, iamH http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scopeService(r) == "iam" {
			iamH.ServeHTTP(w, r)
			return
		}
		sts.ServeHTTP(w, r)
	})
}

// scopeService returns the service of the SigV4 credential scope in the Authorization header
// (Credential=AKID/DATE/REGION/SERVICE/aws4_request), or "".
func scopeService(r *http.Request) string {
	h := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(h, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return ""
	}
	return parts[3]
}

// errStoreNotEmpty: an import into a store that has content, without -replace.
var errStoreNotEmpty = errors.New("the store is not empty")

// backing is a store that keeps a registry: the embedded store (store.Store) or the
// PostgreSQL fleet store (pgstore.Store).
type backing interface {
	Registry(iam.Options) (*iam.Registry, error)
	Close() error
}

// writesReadier is a backing that can lose its database (pgstore): decisions go on from the
// last state, writes fail until it returns.
type writesReadier interface{ WritesReady() error }

// openStoreService opens the store (the embedded one in dir, or PostgreSQL at dsn), imports
// cfg into it when the store is empty (first boot), and builds the registry service. It
// returns the store's close function, or an exit code >= 0 when it failed (having said why).
func openStoreService(ctx context.Context, dir, dsn, adminsPath string, cfg, settings *Config, cfgPath string, e *env, log *slog.Logger) (func(), *service, int) {
	fail := func(code int, format string, a ...any) (func(), *service, int) {
		fmt.Fprintf(e.stderr, "webidentity serve: "+format+"\n", a...)
		return nil, nil, code
	}
	admins, err := LoadAdmins(adminsPath)
	if err != nil {
		return fail(exitUsage, "-admin %s: %v", adminsPath, err)
	}
	if fi, err := os.Stat(adminsPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the admin credentials file is readable by other users; chmod 600 it", "file", adminsPath, "mode", fi.Mode().Perm().String())
	}
	var st backing
	where := dir
	if dsn != "" {
		where = "-postgres"
		ps, err := pgstore.Open(ctx, dsn, pgstore.Options{Logger: log})
		if err != nil {
			return fail(exitFail, "-postgres: %v", err) // the DSN may hold a password: not echoed
		}
		st = ps
	} else {
		bs, err := store.Open(dir, store.Options{})
		if err != nil {
			return fail(exitFail, "-data %s: %v", dir, err)
		}
		st = bs
	}
	reg, err := st.Registry(iam.Options{AllowURLPort: settings.Keys.AllowPrivateAddresses})
	if err != nil {
		_ = st.Close()
		return fail(exitFail, "%s: %v", where, err)
	}
	if cfg != nil {
		switch np, nr := reg.Len(); {
		case np+nr == 0:
			if err := importConfig(reg, cfg); err != nil {
				_ = st.Close()
				return fail(exitUsage, "importing %s into %s: %v", cfgPath, where, err)
			}
			np, nr = reg.Len()
			log.Info("configuration imported into the empty store", "file", cfgPath, "store", where, "providers", np, "roles", nr)
		default:
			log.Info("the store has content: the configuration's providers and roles are not imported (its other settings apply)",
				"file", cfgPath, "store", where, "providers", np, "roles", nr)
		}
	}
	live := &liveAdmins{path: adminsPath}
	live.p.Store(&admins)
	svc, err := newRegistryService(reg, settings, live, serviceOptions{Now: e.now, Logger: log})
	if err != nil {
		_ = st.Close()
		return fail(exitUsage, "%v", err)
	}
	if wr, ok := st.(writesReadier); ok {
		svc.writesReady = wr.WritesReady
	}
	return func() { _ = st.Close() }, svc, -1
}

// importConfig replaces the registry's content with the configuration's providers and roles,
// all or nothing.
func importConfig(reg *iam.Registry, cfg *Config) error {
	providers, roles, err := configEntities(cfg)
	if err != nil {
		return err
	}
	return reg.Load(providers, roles)
}

// runImport is the import subcommand: a JSON configuration's providers and roles into the
// embedded store, all or nothing.
func runImport(_ context.Context, args []string, e *env) int {
	fs := newFlagSet("import", e)
	configPath := fs.String("config", "", "configuration `file` to import (the serve format)")
	dataDir := fs.String("data", "", "the store's data `directory`")
	replace := fs.Bool("replace", false, "replace a store that has content (default: refuse)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webidentity import -config FILE -data DIR [-replace]")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if code := noArgs(fs); code >= 0 {
		return code
	}
	switch {
	case *configPath == "":
		return usageError(fs, "-config is required")
	case *dataDir == "":
		return usageError(fs, "-data is required")
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "webidentity import: %s: %v\n", *configPath, err)
		return exitUsage
	}
	st, err := store.Open(*dataDir, store.Options{})
	if err != nil {
		fmt.Fprintf(e.stderr, "webidentity import: -data %s: %v\n", *dataDir, err)
		return exitFail
	}
	defer st.Close()
	reg, err := st.Registry(iam.Options{AllowURLPort: cfg.Keys.AllowPrivateAddresses})
	if err != nil {
		fmt.Fprintf(e.stderr, "webidentity import: -data %s: %v\n", *dataDir, err)
		return exitFail
	}
	if np, nr := reg.Len(); np+nr > 0 && !*replace {
		fmt.Fprintf(e.stderr, "webidentity import: %v (%d providers, %d roles): pass -replace to replace it\n", errStoreNotEmpty, np, nr)
		return exitFail
	}
	if err := importConfig(reg, cfg); err != nil {
		fmt.Fprintf(e.stderr, "webidentity import: %v\n", err)
		return exitUsage
	}
	np, nr := reg.Len()
	fmt.Fprintf(e.stdout, "imported %d providers and %d roles into %s\n", np, nr, *dataDir)
	return exitOK
}
