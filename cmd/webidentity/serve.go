package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/stsapi"
	"github.com/webidentity/webidentity/verifier"
)

// Server manners.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second // above stsapi.DefaultDecisionTimeout
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10 // a GET carries a token of up to 20,000 characters in its URL
	shutdownTimeout   = 10 * time.Second
	maxPrefetchDelay  = 30 * time.Second
)

// serviceOptions are a service's dependencies that are not configuration.
type serviceOptions struct {
	// Now is the clock of the verifier, the key cache and the local credential issuer.
	// If nil, time.Now.
	Now func() time.Time
	// Logger receives structured logs. If nil, logs are discarded.
	Logger *slog.Logger
	// Issuer mints credentials. If nil, a stsapi.LocalIssuer.
	Issuer stsapi.CredentialIssuer
	// MaxBodyBytes bounds request bodies. If zero, stsapi.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// PrefetchRetry is the first delay between failed key prefetches; it doubles up to 30
	// seconds. If zero, 1 second.
	PrefetchRetry time.Duration
}

// service is what serve runs: the verifier, the key cache it shares across configuration
// reloads, the STS handler and the operational endpoints.
type service struct {
	live     liveVerifier // the current configuration's verifier; replaced whole by reload
	cache    *jwks.Cache  // the service's: a reload keeps the keys of issuers it keeps
	now      func() time.Time
	metrics  *metrics
	log      *slog.Logger
	nprov    atomic.Int64 // providers, for logs
	retry    time.Duration
	ready    atomic.Bool
	cfgMu    sync.Mutex        // serialises reloads
	issuers  map[string]string // the current configuration's issuers and discovery URLs
	keys     KeysConfig        // the key settings the cache was built with
	registry *iam.Registry     // set for a store: the verifier's source, changed by the IAM API
	admins   *liveAdmins       // set for a store: the IAM API's credentials, read again on SIGHUP
	// writesReady, set for a store that can lose its database (PostgreSQL), reports whether
	// IAM writes can be made now (GET /readyz/iam).
	writesReady func() error
	draining    atomic.Bool
	handler     http.Handler // the STS listener's
	ops         http.Handler // the metrics listener's
}

// newService builds a service from a validated configuration. It makes no network request;
// call prefetch (or run prefetchLoop) to load the providers' keys. Close it when done.
func newService(cfg *Config, opts serviceOptions) (*service, error) {
	s, log, issuer := baseService(opts)
	now := s.now
	// The service owns the key cache and hands it to each configuration's verifier, so that a
	// reload keeps the keys (and the refresh state) of the issuers it keeps. Its key settings
	// (Keys) are fixed at start: a reload that changes them is refused.
	cache, err := jwks.New(keyOptions(cfg, now, observers{s.metrics, jwks.NewSlogObserver(log)}, "webidentity-serve"))
	if err != nil {
		return nil, &ConfigError{Path: "Keys", Msg: err.Error(), Err: err}
	}
	s.cache, s.keys = cache, cfg.Keys
	v, err := s.build(cfg)
	if err != nil {
		_ = cache.Close()
		return nil, err
	}
	s.live.p.Store(v)
	s.nprov.Store(int64(len(cfg.Providers)))

	// The roles carry their RoleId (verifier.Role is iam.Role), which the handler answers
	// in AssumedRoleUser: no separate RoleIDs to keep in step with reloads.
	sts, err := stsapi.NewHandler(stsapi.Options{
		Verifier:     &s.live,
		Issuer:       issuer,
		Observer:     s.metrics,
		Logger:       log,
		MaxBodyBytes: opts.MaxBodyBytes,
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.mount(sts)
	return s, nil
}

// mount builds the listeners' handlers around api, the handler of the public API.
func (s *service) mount(api http.Handler) {
	// The public listener serves the API and the probes a load balancer sends to the port it
	// balances; the metrics, which tell which issuers and roles are in use and how often each
	// one fails, are only on the operational listener.
	public := http.NewServeMux()
	public.Handle("/{$}", api)
	public.HandleFunc("GET /healthz", s.healthz)
	public.HandleFunc("GET /readyz", s.readyz)
	public.HandleFunc("GET /readyz/iam", s.readyzIAM)
	s.handler = s.closeWhenDraining(public)
	ops := http.NewServeMux()
	ops.HandleFunc("GET /healthz", s.healthz)
	ops.HandleFunc("GET /readyz", s.readyz)
	ops.HandleFunc("GET /readyz/iam", s.readyzIAM)
	ops.Handle("GET /metrics", s.metrics.handler())
	s.ops = ops
}

// Defaults of serviceOptions.
var (
	defaultNow           = time.Now
	defaultPrefetchRetry = time.Second
)

// accessKeyRE is the shape of an AWS access key id.
var accessKeyRE = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)

// liveVerifier is the stsapi.Decider of the handler: the current verifier, swapped whole by a
// reload (one atomic load per request).
type liveVerifier struct {
	p atomic.Pointer[verifier.Verifier]
}

func (l *liveVerifier) AssumeRoleWithWebIdentity(ctx context.Context, req *verifier.Request) (*verifier.Result, error) {
	return l.p.Load().AssumeRoleWithWebIdentity(ctx, req)
}

// build makes the verifier of a configuration on the service's key cache: it registers (or
// re-registers, when its discovery URL changed) every configured issuer, and drops those the
// configuration no longer names. s.cfgMu is held, or the service is not running yet.
func (s *service) build(cfg *Config) (*verifier.Verifier, error) {
	var roles []*verifier.Role
	for _, rc := range cfg.Roles {
		r := *rc.Role
		r.RoleID = rc.ID
		roles = append(roles, &r)
	}
	rs, err := verifier.NewStaticRoles(roles...)
	if err != nil {
		return nil, &ConfigError{Path: "Roles", Msg: err.Error(), Err: err}
	}
	issuers := map[string]string{} // URL -> discovery URL ("" for the default)
	for _, p := range cfg.Providers {
		issuers[p.URL] = cfg.DiscoveryURLs[p.URL]
	}
	for url, disc := range issuers {
		if prev, ok := s.issuers[url]; ok && prev == disc {
			continue // unchanged: keep its keys
		}
		if err := s.cache.Register(jwks.IssuerConfig{Issuer: url, DiscoveryURL: disc}); err != nil {
			return nil, &ConfigError{Path: "Providers", Msg: err.Error(), Err: err}
		}
	}
	// The verifier finds every issuer registered with its discovery URL, so the providers it
	// gets carry none (a provider's DiscoveryURL is for issuers its key source does not serve).
	v, err := verifier.New(verifier.Options{
		Providers:        cfg.Providers,
		Roles:            rs,
		Keys:             s.cache,
		Leeway:           cfg.Leeway,
		MaxTokenLifetime: cfg.MaxTokenLifetime,
		TokenCacheSize:   cfg.TokenCacheSize,
		Now:              s.now,
		Observer:         s.metrics,
	})
	if err != nil {
		return nil, &ConfigError{Msg: err.Error(), Err: err}
	}
	for url := range s.issuers {
		if _, kept := issuers[url]; !kept {
			s.cache.Unregister(url)
		}
	}
	s.issuers = issuers
	return v, nil
}

// reload reads the configuration file again and, if it is valid, replaces the verifier in one
// atomic swap: a request is decided wholly by the old configuration or wholly by the new one.
// A bad file (or one whose Keys settings differ: the key cache is fixed at start) keeps the old
// state; the error says why and the reload metric counts it.
func (s *service) reload(path string) error {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	err := func() error {
		cfg, err := LoadConfig(path)
		if err != nil {
			return err
		}
		if !sameKeys(cfg.Keys, s.keys) {
			return &ConfigError{Path: "Keys", Msg: "the key settings cannot change on reload; restart to apply them"}
		}
		for _, w := range cfg.Warnings {
			s.log.Warn("configuration warning", "file", path, "role", w.Role, "path", w.Path, "rule", w.Rule, "detail", w.Msg)
		}
		v, err := s.build(cfg)
		if err != nil {
			return err
		}
		old := s.live.p.Swap(v)
		_ = old.Close() // the shared key cache stays open
		s.nprov.Store(int64(len(cfg.Providers)))
		s.log.Info("configuration reloaded", "file", path, "providers", len(cfg.Providers), "roles", len(cfg.Roles))
		// New issuers' keys load ahead of their first token; a failure is only logged (the
		// service stays ready: the issuers it had keep serving).
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), maxPrefetchDelay)
			defer cancel()
			if err := v.Prefetch(ctx); err != nil {
				s.log.Warn("loading keys after a reload failed; they load on first use", "err", err.Error())
			}
		}()
		return nil
	}()
	s.metrics.reloaded(err == nil)
	if err != nil {
		s.log.Error("configuration reload failed; keeping the previous configuration", "file", path, "err", err.Error())
	}
	return err
}

// sameKeys reports whether two Keys settings configure the key cache alike.
func sameKeys(a, b KeysConfig) bool {
	return a.AllowPrivateAddresses == b.AllowPrivateAddresses && a.FetchTimeout == b.FetchTimeout &&
		a.MinRefreshInterval == b.MinRefreshInterval && a.MaxStale == b.MaxStale && a.CAFile == b.CAFile
}

// keyOptions are the settings of the key cache the verifier builds: the explicit
// AllowPrivateAddresses and, with a CAFile, only its roots trusted. The verifier registers
// the providers' issuers (with their thumbprints and discovery URLs) itself.
func keyOptions(cfg *Config, now func() time.Time, obs jwks.Observer, userAgent string) jwks.Options {
	var client *http.Client
	if cfg.Keys.RootCAs != nil {
		client = &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: cfg.Keys.RootCAs, MinVersion: tls.VersionTLS12},
		}}
	}
	return jwks.Options{
		HTTPClient:            client,
		AllowPrivateAddresses: cfg.Keys.AllowPrivateAddresses,
		FetchTimeout:          cfg.Keys.FetchTimeout,
		MinRefreshInterval:    cfg.Keys.MinRefreshInterval,
		MaxStale:              cfg.Keys.MaxStale, // negative (an explicit "0s"): never serve expired keys
		Observer:              obs,
		Now:                   now,
		UserAgent:             userAgent,
	}
}

// Handler returns the handler of the public (STS) listener: the STS Query API at "/", and
// GET /healthz and /readyz. While the service drains, every answer carries Connection: close.
func (s *service) Handler() http.Handler { return s.handler }

// OpsHandler returns the handler of the operational listener: GET /metrics, /healthz and
// /readyz.
func (s *service) OpsHandler() http.Handler { return s.ops }

// healthz answers 200 while the process runs, draining or not: it is a liveness probe.
func (s *service) healthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok\n")
}

// readyz answers 200 once the keys are loaded, and 503 before and while draining.
func (s *service) readyz(w http.ResponseWriter, _ *http.Request) {
	switch {
	case s.draining.Load():
		writeText(w, http.StatusServiceUnavailable, "draining\n")
	case s.ready.Load():
		writeText(w, http.StatusOK, "ready\n")
	default:
		writeText(w, http.StatusServiceUnavailable, "keys not loaded yet\n")
	}
}

// readyzIAM answers 200 when IAM writes can be made (a store is attached and, for PostgreSQL,
// reachable), 503 otherwise: a replica that lost its database keeps deciding (/readyz) but
// cannot take writes.
func (s *service) readyzIAM(w http.ResponseWriter, _ *http.Request) {
	switch {
	case s.registry == nil:
		writeText(w, http.StatusNotFound, "no IAM API: serve -config is read-only\n")
	case s.draining.Load():
		writeText(w, http.StatusServiceUnavailable, "draining\n")
	case s.writesReady != nil:
		if err := s.writesReady(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "writes unavailable\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	default:
		writeText(w, http.StatusOK, "ready\n")
	}
}

// closeWhenDraining makes every answer given while draining close its connection after it
// is written, so that keep-alive clients move to another replica between requests instead
// of sending one on a connection that Shutdown then closes under it.
func (s *service) closeWhenDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// startDraining makes /readyz answer 503 and every later answer close its connection.
func (s *service) startDraining() {
	s.draining.Store(true)
	s.metrics.setDraining(true)
}

// prefetch loads every provider's keys once and marks the service ready if all succeeded.
func (s *service) prefetch(ctx context.Context) error {
	err := s.live.p.Load().Prefetch(ctx)
	if err == nil {
		s.ready.Store(true)
		s.metrics.setReady(true)
	}
	return err
}

// prefetchLoop retries prefetch, backing off up to 30 seconds, until it succeeds or ctx ends.
// Once ready, the service stays ready: the cache keeps serving stale keys through outages.
func (s *service) prefetchLoop(ctx context.Context) {
	delay := s.retry
	for {
		err := s.prefetch(ctx)
		if err == nil {
			s.log.Info("keys loaded; ready", "providers", s.nprov.Load())
			return
		}
		if ctx.Err() != nil {
			return // shutting down
		}
		attrs := []any{"err", err.Error(), "retry_in", delay.String()}
		if errors.Is(err, jwks.ErrRefusedDestination) {
			attrs = append(attrs, "hint", HintAllowPrivateAddresses.String(), "setting", "Keys.AllowPrivateAddresses")
		}
		s.log.Warn("loading keys failed; not ready", attrs...)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, maxPrefetchDelay)
	}
}

// Close stops the verifier and the key cache.
func (s *service) Close() {
	s.cfgMu.Lock() // a reload in progress finishes first
	defer s.cfgMu.Unlock()
	if v := s.live.p.Load(); v != nil {
		_ = v.Close()
	}
	_ = s.cache.Close()
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Defaults of the serve flags.
const (
	// defaultMetricsAddr is loopback, so that metrics are never reachable from elsewhere
	// unless asked for; the port is the one after the STS default, and not 9090, where a
	// Prometheus server on the same host listens.
	defaultMetricsAddr = "127.0.0.1:8081"
	// defaultDrain covers a load balancer's readiness interval or the few seconds Kubernetes
	// takes to remove an endpoint, well inside its 30-second termination grace period.
	defaultDrain = 5 * time.Second
)

// runServe is the serve subcommand.
func runServe(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("serve", e)
	configPath := fs.String("config", "", "configuration `file` (JSON; see go doc ./cmd/webidentity)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` of the STS API (also /healthz and /readyz)")
	metricsAddr := fs.String("metrics-addr", defaultMetricsAddr,
		"listen `address` of /metrics, /healthz and /readyz; \"\" or \"off\" for none")
	drain := fs.Duration("drain", defaultDrain,
		"on SIGTERM or SIGINT, keep serving this `long` with /readyz answering 503 before shutting down (0: no drain)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate chain (PEM `file`)")
	tlsKey := fs.String("tls-key", "", "the private key (PEM `file`) for -tls-cert")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	pgDSN := fs.String("postgres", "", "keep providers and roles in PostgreSQL (`DSN`, e.g. postgres://user@host/db; or PGPASSWORD etc. from the environment), shared by a fleet of replicas; like -data otherwise")
	dataDir := fs.String("data", "", "keep providers and roles in this `directory` (embedded store) and serve the IAM API for them; -config is then imported into an empty store")
	adminsPath := fs.String("admin", "", "admin credentials `file` of the IAM API (JSON; required with -data)")
	allowPrivate := fs.Bool("allow-private-addresses", false,
		"with -data and no -config: let discovery connect to loopback and private addresses, and IAM provider URLs carry a port (local issuers)")
	caFile := fs.String("ca-file", "", "with -data and no -config: trust only these root certificates (PEM `file`) for discovery")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webidentity serve -config FILE [-addr ADDR] [-metrics-addr ADDR|off] [-drain DURATION] [-tls-cert FILE -tls-key FILE]")
		fmt.Fprintln(fs.Output(), "       webidentity serve -data DIR -admin FILE [-config FILE] [flags]")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	usageErr := func(format string, args ...any) int { return usageError(fs, format, args...) }
	if *metricsAddr == "off" {
		*metricsAddr = ""
	}
	if code := noArgs(fs); code >= 0 {
		return code
	}
	if *pgDSN != "" && *dataDir != "" {
		return usageErr("-postgres and -data exclude each other")
	}
	stored := *dataDir
	if *pgDSN != "" {
		stored = "postgres"
		*dataDir = stored // the store flags below apply alike
	}
	switch {
	case *configPath == "" && *dataDir == "":
		return usageErr("-config, -data or -postgres is required")
	case *dataDir != "" && *adminsPath == "":
		return usageErr("-data and -postgres need -admin: the IAM API changes the store and accepts only admin credentials")
	case *adminsPath != "" && *dataDir == "":
		return usageErr("-admin needs -data or -postgres: the IAM API changes a store")
	case (*allowPrivate || *caFile != "") && *configPath != "":
		return usageErr("-allow-private-addresses and -ca-file are for -data without -config (the file's Keys settings apply)")
	case (*allowPrivate || *caFile != "") && *dataDir == "":
		return usageErr("-allow-private-addresses and -ca-file are for -data (with -config, set Keys in the file)")
	case *tlsCert != "" && *tlsKey == "":
		return usageErr("-tls-cert needs -tls-key")
	case *tlsKey != "" && *tlsCert == "":
		return usageErr("-tls-key needs -tls-cert")
	case *drain < 0:
		return usageErr("-drain must not be negative")
	}
	if err := checkListenAddr(*addr); err != nil {
		return usageErr("-addr %q: %v", *addr, err)
	}
	if *metricsAddr != "" {
		if err := checkListenAddr(*metricsAddr); err != nil {
			return usageErr("-metrics-addr %q: %v", *metricsAddr, err)
		}
		if _, port, _ := net.SplitHostPort(*addr); *metricsAddr == *addr && port != "0" {
			return usageErr("-metrics-addr must differ from -addr (or be \"off\")")
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr("-log-level: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	var cfg *Config
	if *configPath != "" {
		var err error
		if cfg, err = LoadConfig(*configPath); err != nil {
			fmt.Fprintf(e.stderr, "webidentity serve: %s: %v\n", *configPath, err)
			return exitUsage
		}
		for _, w := range cfg.Warnings {
			log.Warn("configuration warning", "file", *configPath, "role", w.Role, "path", w.Path, "rule", w.Rule, "detail", w.Msg)
		}
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			fmt.Fprintf(e.stderr, "webidentity serve: -tls-cert/-tls-key: %v\n", err)
			return exitUsage
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var svc *service
	if *dataDir != "" {
		settings := cfg
		if settings == nil {
			settings = &Config{Keys: KeysConfig{AllowPrivateAddresses: *allowPrivate}}
			if *caFile != "" {
				pool, err := loadCAFile(*caFile)
				if err != nil {
					return usageErr("-ca-file: %v", err)
				}
				settings.Keys.CAFile, settings.Keys.RootCAs = *caFile, pool
			}
		}
		dir := *dataDir
		if *pgDSN != "" {
			dir = ""
		}
		closeStore, s, code := openStoreService(ctx, dir, *pgDSN, *adminsPath, cfg, settings, *configPath, e, log)
		if code >= 0 {
			return code
		}
		defer closeStore()
		svc = s
	} else {
		s, err := newService(cfg, serviceOptions{Now: e.now, Logger: log})
		if err != nil {
			fmt.Fprintf(e.stderr, "webidentity serve: %s: %v\n", *configPath, err)
			return exitUsage
		}
		svc = s
	}
	defer svc.Close()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the configuration file, or with a store the admin credentials file; a bad
	// one keeps what is in use.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				if svc.registry != nil {
					// Providers and roles change through the IAM API; the admin keys here.
					if svc.admins != nil {
						_ = svc.reloadAdmins()
					}
					continue
				}
				_ = svc.reload(*configPath)
			case <-ctx.Done():
				return
			}
		}
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen failed", "addr", *addr, "err", err.Error())
		return exitFail
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	var opsLn net.Listener
	if *metricsAddr != "" {
		if opsLn, err = net.Listen("tcp", *metricsAddr); err != nil {
			_ = ln.Close()
			log.Error("listen failed", "addr", *metricsAddr, "err", err.Error())
			return exitFail
		}
	}
	attrs := []any{"addr", ln.Addr().String(), "tls", tlsConfig != nil}
	if svc.registry != nil {
		np, nr := svc.registry.Len()
		attrs = append(attrs, "store", stored, "providers", np, "roles", nr, "iam", true)
	} else {
		attrs = append(attrs, "providers", len(cfg.Providers), "roles", len(cfg.Roles))
	}
	if opsLn != nil {
		attrs = append(attrs, "metrics_addr", opsLn.Addr().String())
	}
	log.Info("listening", attrs...)
	log.Warn("credentials come from the built-in local issuer: random keys that grant nothing in AWS")
	if e.listening != nil {
		e.listening(ln.Addr().String())
	}
	if err := svc.run(ctx, ln, opsLn, *drain); err != nil {
		log.Error("server failed", "err", err.Error())
		return exitFail
	}
	log.Info("stopped")
	return exitOK
}

// checkListenAddr checks that addr is host:port (host may be empty) with a port number or
// service name, so that a typo is a usage error rather than a failure to listen.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if port == "" {
		return errors.New("missing port")
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return err
	}
	return nil
}

// newHTTPServer is an http.Server with serve's timeouts and limits.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// run serves the STS API on public and the operational endpoints on ops (if not nil), and
// loads the keys, until ctx ends (serve cancels it on SIGTERM and SIGINT). Then it drains:
// for the drain period /readyz answers 503 and every answer closes its connection, while
// requests keep being served, so that load balancers and keep-alive clients move away
// without a request cut off. Then the public server shuts down gracefully (it stops
// accepting, and in-flight requests finish, for up to shutdownTimeout), then the operational
// one. It returns an error if a server failed or the shutdown did not complete.
func (s *service) run(ctx context.Context, public, ops net.Listener, drain time.Duration) error {
	// In-flight requests keep their own contexts through the shutdown; only the prefetch
	// loop follows ctx.
	loopCtx, cancelLoop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.prefetchLoop(loopCtx) })
	defer func() {
		cancelLoop()
		wg.Wait()
	}()

	type server struct {
		srv  *http.Server
		done chan error
	}
	failed := make(chan error, 2) // a server that stopped by itself
	start := func(h http.Handler, ln net.Listener) *server {
		sv := &server{srv: newHTTPServer(h, s.log), done: make(chan error, 1)}
		go func() {
			err := sv.srv.Serve(ln)
			if !errors.Is(err, http.ErrServerClosed) {
				failed <- err
			}
			sv.done <- err
		}()
		return sv
	}
	servers := []*server{start(s.handler, public)}
	if ops != nil {
		servers = append(servers, start(s.ops, ops))
	}

	var errs []error
	select {
	case err := <-failed:
		errs = append(errs, err)
	case <-ctx.Done():
		s.startDraining()
		s.log.Info("draining: /readyz answers 503 and connections close after their answer", "drain", drain.String())
		if drain > 0 {
			t := time.NewTimer(drain)
			select {
			case <-t.C:
			case err := <-failed:
				t.Stop()
				errs = append(errs, err)
			}
		}
		s.log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	for _, sv := range servers {
		if err := sv.srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown incomplete: %w", err))
		}
		<-sv.done // a failure was reported on failed
	}
	for len(failed) > 0 {
		errs = append(errs, <-failed)
	}
	return errors.Join(errs...)
}
