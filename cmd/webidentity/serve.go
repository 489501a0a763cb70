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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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

// service is what serve runs: the verifier (with its own key cache), the STS handler and
// the operational endpoints.
type service struct {
	verifier *verifier.Verifier
	metrics  *metrics
	log      *slog.Logger
	nprov    int // providers, for logs
	retry    time.Duration
	ready    atomic.Bool
	handler  http.Handler
}

// newService builds a service from a validated configuration. It makes no network request;
// call prefetch (or run prefetchLoop) to load the providers' keys. Close it when done.
func newService(cfg *Config, opts serviceOptions) (*service, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	issuer := opts.Issuer
	if issuer == nil {
		issuer = &stsapi.LocalIssuer{Now: now}
	}
	s := &service{metrics: newMetrics(), log: log, retry: opts.PrefetchRetry}
	if s.retry <= 0 {
		s.retry = time.Second
	}

	var roles []*verifier.Role
	roleIDs := stsapi.StaticRoleIDs{}
	for _, rc := range cfg.Roles {
		roles = append(roles, rc.Role)
		roleIDs[rc.Role.ARN] = rc.ID
	}
	rs, err := verifier.NewStaticRoles(roles...)
	if err != nil {
		return nil, &ConfigError{Path: "Roles", Msg: err.Error(), Err: err}
	}
	// The verifier builds and owns the key cache (Keys nil): its Prefetch is readiness.
	v, err := verifier.New(verifier.Options{
		Providers:        withDiscoveryURLs(cfg),
		Roles:            rs,
		JWKS:             keyOptions(cfg, now, observers{s.metrics, jwks.NewSlogObserver(log)}, "webidentity-serve"),
		Leeway:           cfg.Leeway,
		MaxTokenLifetime: cfg.MaxTokenLifetime,
		TokenCacheSize:   cfg.TokenCacheSize,
		Now:              now,
		Observer:         s.metrics,
	})
	if err != nil {
		return nil, &ConfigError{Msg: err.Error(), Err: err}
	}
	s.verifier, s.nprov = v, len(cfg.Providers)

	sts, err := stsapi.NewHandler(stsapi.Options{
		Verifier:     v,
		Issuer:       issuer,
		RoleIDs:      roleIDs,
		Observer:     s.metrics,
		Logger:       log,
		MaxBodyBytes: opts.MaxBodyBytes,
	})
	if err != nil {
		_ = v.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/{$}", sts)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.ready.Load() {
			writeText(w, http.StatusOK, "ready\n")
			return
		}
		writeText(w, http.StatusServiceUnavailable, "keys not loaded yet\n")
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	s.handler = mux
	return s, nil
}

// withDiscoveryURLs returns the configured providers with their discovery URLs filled in.
func withDiscoveryURLs(cfg *Config) []verifier.Provider {
	ps := make([]verifier.Provider, len(cfg.Providers))
	for i, p := range cfg.Providers {
		if u := cfg.DiscoveryURLs[p.URL]; u != "" {
			p.DiscoveryURL = u
		}
		ps[i] = p
	}
	return ps
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
	maxStale := cfg.Keys.MaxStale
	if maxStale < 0 {
		// Never serve expired keys. jwks reads zero as its default, so this is the least
		// staleness it accepts: one nanosecond past expiry.
		maxStale = time.Nanosecond
	}
	return jwks.Options{
		HTTPClient:            client,
		AllowPrivateAddresses: cfg.Keys.AllowPrivateAddresses,
		FetchTimeout:          cfg.Keys.FetchTimeout,
		MinRefreshInterval:    cfg.Keys.MinRefreshInterval,
		MaxStale:              maxStale,
		Observer:              obs,
		Now:                   now,
		UserAgent:             userAgent,
	}
}

// Handler returns the HTTP handler: the STS Query API at "/", and GET /healthz, /readyz and
// /metrics.
func (s *service) Handler() http.Handler { return s.handler }

// prefetch loads every provider's keys once and marks the service ready if all succeeded.
func (s *service) prefetch(ctx context.Context) error {
	err := s.verifier.Prefetch(ctx)
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
			s.log.Info("keys loaded; ready", "providers", s.nprov)
			return
		}
		s.log.Warn("loading keys failed; not ready", "err", err.Error(), "retry_in", delay.String())
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

// Close stops the verifier and its key cache.
func (s *service) Close() {
	_ = s.verifier.Close()
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// runServe is the serve subcommand.
func runServe(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("serve", e)
	configPath := fs.String("config", "", "configuration `file` (JSON; see go doc ./cmd/webidentity)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate chain (PEM `file`)")
	tlsKey := fs.String("tls-key", "", "the private key (PEM `file`) for -tls-cert")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webidentity serve -config FILE [-addr ADDR] [-tls-cert FILE -tls-key FILE]")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 || *configPath == "" || (*tlsCert == "") != (*tlsKey == "") {
		fs.Usage()
		return exitUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(e.stderr, "webidentity serve: -log-level: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "webidentity serve: %s: %v\n", *configPath, err)
		return exitUsage
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
	svc, err := newService(cfg, serviceOptions{Now: e.now, Logger: log})
	if err != nil {
		fmt.Fprintf(e.stderr, "webidentity serve: %s: %v\n", *configPath, err)
		return exitUsage
	}
	defer svc.Close()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen failed", "addr", *addr, "err", err.Error())
		return exitFail
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{
		Handler:           svc.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// In-flight requests keep their own contexts through a graceful shutdown; only the
	// prefetch loop follows ctx.
	loopCtx, cancelLoop := context.WithCancel(ctx)
	defer cancelLoop()
	var wg sync.WaitGroup
	wg.Go(func() { svc.prefetchLoop(loopCtx) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil,
		"providers", len(cfg.Providers), "roles", len(cfg.Roles))
	log.Warn("credentials come from the built-in local issuer: random keys that grant nothing in AWS")
	if e.listening != nil {
		e.listening(ln.Addr().String())
	}

	status := exitOK
	select {
	case err := <-serveErr:
		log.Error("server failed", "err", err.Error())
		status = exitFail
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			log.Error("shutdown incomplete", "err", err.Error())
			status = exitFail
		}
		cancel()
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			log.Error("server failed", "err", err.Error())
			status = exitFail
		}
	}
	stop()
	cancelLoop()
	wg.Wait()
	log.Info("stopped")
	return status
}
