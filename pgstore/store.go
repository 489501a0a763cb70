package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/webidentity/webidentity/iam"
)

// Defaults of Options.
const (
	DefaultSchema         = "webidentity"
	DefaultResyncInterval = 500 * time.Millisecond
	DefaultTimeout        = 5 * time.Second
	DefaultLogRetention   = 10000
)

// compactEvery is how often (in revisions) a write also deletes the change
// log's rows older than Options.LogRetention.
const compactEvery = 100

// maxNameLength is PostgreSQL's identifier length (NAMEDATALEN - 1).
const maxNameLength = 63

// Errors, for errors.Is. A write that fails wraps one of them (or a
// database error) in an *iam.Error with iam.CodeServiceFailure.
var (
	// ErrConflict: another replica committed a change first; this replica
	// was behind the database and the write changed nothing. It wraps
	// iam.ErrStale: the registry catches up and runs the write again, so
	// a caller sees ErrConflict only when iam.MaxStaleAttempts attempts in
	// a row lost the race (or the catch-up failed, and then the error
	// wraps the catch-up's failure too).
	ErrConflict error = &wrapping{"pgstore: another replica changed the registry first", iam.ErrStale}
	// ErrUnavailable: the database could not be reached, or a transaction
	// could not be completed. A write that fails so changed nothing, with
	// one exception that the message names: if the connection broke while
	// the transaction was committing and the outcome could not be learned,
	// the change may be in the database, and then every replica, this one
	// included, installs it when it next catches up.
	ErrUnavailable = errors.New("pgstore: database unavailable")
	// ErrCorrupt: the database holds data this package did not write.
	ErrCorrupt = errors.New("pgstore: corrupt or foreign data in the database")
	// ErrUnsupportedVersion: the schema or a record is of another version
	// (written by a newer or older release).
	ErrUnsupportedVersion = errors.New("pgstore: unsupported schema version")
	// ErrDiverged: the database is at an earlier revision than this
	// replica (restored from a backup, or another database behind the same
	// address). The replica cannot go back: restart it. Unlike
	// ErrConflict, it does not wrap iam.ErrStale: catching up cannot
	// help, so a write that finds it fails at once.
	ErrDiverged = errors.New("pgstore: the database is behind this replica")
	// ErrCannotFollow: this replica's registry refuses a change that
	// another replica committed (their iam.Options differ, such as quotas,
	// or a newer release wrote it). The replica keeps its last state.
	ErrCannotFollow = errors.New("pgstore: cannot apply the fleet's changes")
	// ErrRegistryOpen: Registry was called a second time; a store serves
	// one registry.
	ErrRegistryOpen = errors.New("pgstore: the store already serves a registry")
	// ErrNoRegistry: Sync or Ready before Registry.
	ErrNoRegistry = errors.New("pgstore: no registry yet")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("pgstore: closed")
)

// wrapping is a sentinel error with a message of its own that wraps another
// sentinel.
type wrapping struct {
	msg string
	err error
}

func (e *wrapping) Error() string { return e.msg }
func (e *wrapping) Unwrap() error { return e.err }

// Options configures a Store. The zero value is fine.
type Options struct {
	// Schema is the PostgreSQL schema holding the store's tables, created
	// with them if absent. If empty, DefaultSchema. Fleets that share a
	// database use one schema each.
	Schema string
	// Channel is the LISTEN/NOTIFY channel on which writers announce
	// changes. If empty, the schema's name followed by "_changes". Every
	// replica of a fleet must use the same one.
	Channel string
	// ResyncInterval is how often a replica asks the database for its
	// revision, catching up on changes whose notification it missed. If
	// zero, DefaultResyncInterval (500 ms: a lost notification delays a
	// change by at most that; each round is one indexed one-row read).
	ResyncInterval time.Duration
	// Timeout bounds each database round: a write's transaction, a
	// catch-up, a connection attempt. A Load's transaction, Open's check
	// or creation of the schema, the start-up read of the whole state and
	// full reloads get 60 times as long. If
	// zero, DefaultTimeout (5 s). While a write waits for the database, the
	// registry's write lock is held: other writes wait, lookups do not.
	Timeout time.Duration
	// LogRetention is how many of the latest changes the change log keeps
	// for replicas that catch up; a replica further behind loads the whole
	// state instead. If zero, DefaultLogRetention; if negative, the log is
	// never compacted.
	LogRetention int
	// Logger receives the follower's failures (database down, listener
	// lost, changes that cannot be applied). If nil, nothing is logged.
	Logger *slog.Logger
}

// Store is the PostgreSQL store of a fleet of replicas: each replica opens
// one on the shared database, gets its registry with Registry, and Closes
// it at shutdown.
//
// A Store is safe for concurrent use. Its writes are the registry's, which
// are serialised by the registry's write lock in a replica and by the
// database's revision row in the fleet.
type Store struct {
	pool      *pgxpool.Pool
	listenCfg *pgx.ConnConfig
	schema    string
	channel   string
	sql       sqlText
	origin    string // this replica in the change log

	resync    time.Duration
	timeout   time.Duration
	retention int
	log       *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // asks the follower to catch up now
	closed atomic.Bool

	mu  sync.Mutex // serialises Registry calls with each other and with Close
	reg atomic.Pointer[iam.Registry]

	syncMu   sync.Mutex // one catch-up at a time
	catchups atomic.Uint64
	races    atomic.Uint64 // catch-ups of writes (catchUpForWrite)

	holdMu sync.Mutex // guards hold
	hold   *rowHold   // the revision row held or being taken (hold.go)

	hmu       sync.Mutex // guards the health fields
	listening bool
	dbErr     error     // the last database round's failure, nil after a success
	stuck     error     // ErrDiverged or ErrCannotFollow
	stuckRev  uint64    // the database revision the replica is stuck at
	dbRev     uint64    // the database's revision at the last success
	lastSync  time.Time // when the replica last knew itself caught up
}

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string, as pgx parses it) and opens the store in it, creating the schema
// and its tables if absent. See OpenConfig.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return OpenConfig(ctx, cfg, opts)
}

// OpenConfig opens the store in the database that cfg's pool reaches,
// creating the schema and its tables if absent (concurrent first starts of
// a fleet create them once). It fails with ErrUnsupportedVersion for a
// schema of another SchemaVersion, ErrCorrupt for one that is not a store's
// and ErrUnavailable when the database cannot be reached.
//
// cfg is copied: the store sets, where cfg has none, a connect timeout
// (Options.Timeout), an application_name and an
// idle_in_transaction_session_timeout (twice Options.Timeout: the server ends
// the session of a replica that vanished mid-transaction, which would hold
// every writer of the fleet); and it makes one more connection, for LISTEN,
// outside the pool.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts Options) (*Store, error) {
	schema := opts.Schema
	if schema == "" {
		schema = DefaultSchema
	}
	channel := opts.Channel
	if channel == "" {
		channel = schema + "_changes"
	}
	switch {
	case len(schema) > maxNameLength:
		return nil, fmt.Errorf("pgstore: Options.Schema %q is longer than %d bytes", schema, maxNameLength)
	case len(channel) > maxNameLength:
		return nil, fmt.Errorf("pgstore: the channel %q is longer than %d bytes: set Options.Channel", channel, maxNameLength)
	case opts.ResyncInterval < 0 || opts.Timeout < 0:
		return nil, errors.New("pgstore: Options.ResyncInterval and Options.Timeout must not be negative")
	}
	s := &Store{
		schema: schema, channel: channel, sql: newSQL(schema),
		resync: opts.ResyncInterval, timeout: opts.Timeout, retention: opts.LogRetention,
		log: opts.Logger, wake: make(chan struct{}, 1),
	}
	if s.resync == 0 {
		s.resync = DefaultResyncInterval
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.retention == 0 {
		s.retention = DefaultLogRetention
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	s.origin = hex.EncodeToString(id[:])

	cfg = cfg.Copy()
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = s.timeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		// A replica that vanished mid-transaction (a partition, a pause)
		// must not hold the revision row, and so every writer of the fleet,
		// until TCP gives up on it: the server ends such a session.
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(2*s.timeout.Milliseconds(), 10)
	}
	s.listenCfg = cfg.ConnConfig.Copy()
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "webidentity-pgstore " + s.origin
		s.listenCfg.RuntimeParams["application_name"] = "webidentity-pgstore-listen " + s.origin
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s.pool = pool
	s.ctx, s.cancel = context.WithCancel(context.Background())
	openCtx, cancel := context.WithTimeout(ctx, 60*s.timeout) // DDL, once: a start-up step
	defer cancel()
	if err := s.initSchema(openCtx); err != nil {
		s.cancel()
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Origin is the replica's name in the change log's origin column: random
// per Store.
func (s *Store) Origin() string { return s.origin }

// Registry reads the whole state (every provider and role, at the
// database's revision, from one snapshot) and returns a registry holding it,
// at that revision, with the store as its Options.Commit hook and its
// catch-up as Options.CatchUp; then it starts
// following the fleet: a LISTEN connection and a resynchronisation every
// Options.ResyncInterval install other replicas' changes with Apply.
//
// From then on, every write of the registry is one database transaction,
// committed before the write returns. A write that another replica's write
// beat (the replica was behind: ErrConflict, which wraps iam.ErrStale) is
// not failed: the registry catches up (as Sync) and runs it again against
// the fleet's current state, so the caller gets success or the answer IAM
// gives against that state (EntityAlreadyExists, NoSuchEntity, ...). A
// write fails with iam.CodeServiceFailure, changing nothing, when the
// database cannot be reached (ErrUnavailable), when the catch-up fails, or
// when iam.MaxStaleAttempts attempts in a row lost the race (ErrConflict).
// Lookups never touch the database: when it is down, the replica keeps
// deciding from its last state and catches up when it returns.
//
// opts are the registry's options; their Commit, CommitBatch, CatchUp and
// Revision must be zero (the store sets Commit, CatchUp and Revision). Every replica of a fleet should use the same quotas:
// a replica whose quotas refuse another's change cannot follow
// (ErrCannotFollow). A store serves one registry: a second call fails with
// ErrRegistryOpen.
func (s *Store) Registry(opts iam.Options) (*iam.Registry, error) {
	if opts.Commit != nil || opts.CommitBatch != nil || opts.CatchUp != nil || opts.Revision != 0 {
		return nil, errors.New("pgstore: Options.Commit, CommitBatch, CatchUp and Revision are set by the store")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed.Load():
		return nil, ErrClosed
	case s.reg.Load() != nil:
		return nil, ErrRegistryOpen
	}
	ctx, cancel := context.WithTimeout(s.ctx, 60*s.timeout)
	defer cancel()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, s.dbError("loading the registry", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var rev int64
	if err := tx.QueryRow(ctx, s.sql.readRevision).Scan(&rev); err != nil {
		return nil, s.dbError("loading the registry", err)
	}
	provs, roles, err := s.readState(ctx, tx, rev)
	if err != nil {
		return nil, err
	}
	_ = tx.Rollback(ctx)

	opts.Commit, opts.CatchUp = s.commit, s.catchUpForWrite
	reg := iam.New(opts)
	if rev > 0 {
		if err := reg.Apply(iam.Change{Revision: uint64(rev), Kind: iam.Loaded, Providers: provs, Roles: roles}); err != nil {
			return nil, fmt.Errorf("pgstore: loading the registry at revision %d: %w", rev, err)
		}
	}
	if s.closed.Load() {
		return nil, ErrClosed // Close ran while the state loaded
	}
	s.reg.Store(reg)
	s.noteSynced(uint64(rev))
	s.wg.Add(2)
	go s.listen()
	go s.follow()
	return reg, nil
}

// registry returns the store's registry, or nil before Registry.
func (s *Store) registry() *iam.Registry { return s.reg.Load() }

// Close stops following the fleet and closes the connections. Writes of
// the store's registry fail afterwards (iam.CodeServiceFailure wrapping
// ErrClosed) and change nothing; lookups keep answering from the last state.
// A second Close does nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	// A Registry call in progress either started the follower before
	// this or sees closed and starts nothing.
	s.mu.Lock()
	//lint:ignore SA2001 the critical section waits for a Registry call in progress
	s.mu.Unlock()
	s.wg.Wait()
	s.holdMu.Lock()
	s.dropHoldLocked()
	s.holdMu.Unlock()
	s.pool.Close()
	return nil
}

// Ready reports whether the replica's registry is loaded and follows the
// fleet: nil, even while the database is down (lookups answer from the last
// state, and the replica catches up when the database returns). It is an
// error before Registry (ErrNoRegistry), after Close (ErrClosed), and when the
// replica cannot follow: the database went back in time (ErrDiverged) or the
// registry refuses another replica's change (ErrCannotFollow).
func (s *Store) Ready() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.registry() == nil {
		return ErrNoRegistry
	}
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.stuck
}

// WritesReady reports whether writes can be expected to succeed: Ready, the
// last round trip to the database succeeded and the LISTEN connection is up.
// Otherwise the error wraps ErrUnavailable and the cause (or is Ready's).
// It does no I/O: it reports what the follower and the last write saw, at
// most Options.ResyncInterval ago.
func (s *Store) WritesReady() error {
	if err := s.Ready(); err != nil {
		return err
	}
	s.hmu.Lock()
	defer s.hmu.Unlock()
	switch {
	case s.dbErr != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, s.dbErr)
	case !s.listening:
		return fmt.Errorf("%w: not listening for the fleet's changes", ErrUnavailable)
	}
	return nil
}

// Status is what a replica knows of its place in the fleet, for metrics and
// logs.
type Status struct {
	// Revision is the registry's revision.
	Revision uint64
	// DatabaseRevision is the database's revision at the last successful
	// round trip.
	DatabaseRevision uint64
	// Synced is when the replica last knew that it held the database's
	// latest revision.
	Synced time.Time
	// Listening reports whether the LISTEN connection is up.
	Listening bool
	// Catchups counts the catch-up rounds run (Sync calls, the follower's
	// and the writes' included), successful or not.
	Catchups uint64
	// Races counts the catch-ups of writes that found the database ahead
	// (another replica's write beat them: ErrConflict), each followed by
	// the registry running the write again.
	Races uint64
	// Err is WritesReady's answer.
	Err error
}

// Status returns the replica's status. It does no I/O.
func (s *Store) Status() Status {
	st := Status{Err: s.WritesReady(), Catchups: s.catchups.Load(), Races: s.races.Load()}
	if reg := s.registry(); reg != nil {
		st.Revision = reg.Revision()
	}
	s.hmu.Lock()
	defer s.hmu.Unlock()
	st.DatabaseRevision, st.Synced, st.Listening = s.dbRev, s.lastSync, s.listening
	return st
}

// noteDB records the outcome of a round trip to the database.
func (s *Store) noteDB(err error, dbRev uint64) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.dbErr = err
	if err == nil && dbRev > s.dbRev {
		s.dbRev = dbRev
	}
}

// noteSynced records that the replica holds the database's revision rev.
func (s *Store) noteSynced(rev uint64) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.dbErr, s.stuck, s.stuckRev = nil, nil, 0
	s.dbRev = max(s.dbRev, rev)
	s.lastSync = time.Now()
}

// dbError wraps a database error: ErrUnavailable for a connection that
// failed or broke, a timeout and a server shutting down; the error as it is
// for other errors of the server (a constraint, a permission).
func (s *Store) dbError(what string, err error) error {
	if errors.Is(err, ErrClosed) || s.closed.Load() && errors.Is(err, context.Canceled) {
		return ErrClosed
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("pgstore: %s: %w", what, err)
}

// unavailable reports whether err says that the database could not be
// reached or the connection broke (rather than that the server refused a
// statement).
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pe.Code == "53300": // too many connections
			return true
		case pe.Code == "25P03": // idle_in_transaction_session_timeout: the server ended the session
			return true
		}
		return false
	}
	// Not the server's answer: a network error, a timeout, a connection
	// that pgx had closed after an earlier failure on it.
	return !errors.Is(err, pgx.ErrNoRows)
}
