// Package pgstore keeps an iam.Registry in PostgreSQL for a fleet of serve
// replicas sharing one database: every replica holds the whole registry in
// memory and decides from it without touching the database; a write through
// any replica is a database transaction, committed before the write returns,
// and reaches the other replicas within milliseconds (LISTEN/NOTIFY), or
// within Options.ResyncInterval (500 ms) if a notification is lost.
//
// # Use
//
//	s, err := pgstore.Open(ctx, "postgres://webidentity@db.internal/webidentity", pgstore.Options{})
//	if err != nil { ... }            // ErrUnavailable, ErrUnsupportedVersion, ErrCorrupt
//	defer s.Close()
//	reg, err := s.Registry(iam.Options{})
//	// reg holds what the database holds and follows the fleet; serve it, change it:
//	role, err := reg.CreateRole(&iam.Role{Account: "111122223333", Name: "deploy", TrustPolicyDocument: doc})
//
// Open creates the schema (Options.Schema, "webidentity" by default) and its
// tables if absent; concurrent first starts create them once (an advisory
// lock). Registry reads the whole state from one snapshot, installs it at the
// database's revision (iam.Registry.Apply of a Loaded change: every trust
// policy compiled again from its stored text), makes the store the registry's
// iam.Options.Commit hook and starts following the fleet. Ready and
// WritesReady are for readiness probes, Status for metrics.
//
// # Schema (SchemaVersion 1)
//
//	meta      (schema_version, revision)        one row; revision of the last change
//	providers (arn, revision, entity json)      the current state, one row per entity
//	roles     (arn, partition, account, name, role_id, revision, entity json)
//	changes   (revision, kind, arn, entity json, origin, committed_at)   the change log
//
// entity is a versioned JSON record of every field (for a role: role ID, the
// trust policy as written, maximum session duration, description, tags,
// creation date to the nanosecond); json rather than jsonb keeps the text as
// written and accepts every string the registry accepts. roles also carries
// IAM's uniqueness rules as constraints (role IDs; names per account ignoring
// case), a second guard behind the registry's own checks.
//
// Why both a change log and current-state tables: the log gives a follower
// exactly the changes after its revision, in order, so catching up costs
// what changed, not the size of the registry; the current-state tables give a
// start-up (and a replica too far behind) the whole state in one read,
// without replaying history, and let the log be compacted: a write every 100
// revisions deletes what is older than Options.LogRetention (10,000) changes.
// A Load through any replica (an import) replaces the current-state tables in
// one transaction (COPY) and logs a single Loaded row without the state.
//
// # Ordering: one revision, one writer
//
// The registry calls its Commit hook under its write lock with the change at
// its revision + 1. The hook's transaction begins with
//
//	UPDATE meta SET revision = $1 WHERE revision = $1 - 1
//
// which takes the row lock, so writers of the whole fleet queue there; it
// matches only if the database is still at the revision the change was
// validated against. Then the current-state row, the change log row (whose
// primary key is the revision) and pg_notify('webidentity_changes',
// revision) go in the same transaction, and the write returns only once
// COMMIT has returned. Revisions are therefore the fleet's: every replica
// publishes change N at revision N, with no gaps and no two changes at one
// revision.
//
// A replica behind the database (another replica committed since its last
// catch-up) matches no row: nothing is written and the hook fails with
// ErrConflict, which wraps iam.ErrStale. The change cannot be applied to
// the newer state from inside the hook: it was validated against the old
// state (uniqueness, quotas, the old value of an update), and Apply needs
// the write lock the hook runs under. So the registry does it (the store is
// its iam.Options.CatchUp): once the failed write has released the write
// lock, and while the replica's other writes wait, the catch-up takes the
// revision row (SELECT ... FOR UPDATE, queueing behind the transaction that
// holds it), installs the changes up to the revision it holds, and keeps
// the row; the registry runs the write again against the caught-up state,
// ahead of the replica's other writes, and its commit, at the next
// revision, is made in the transaction that holds the row, so it cannot
// lose the race a second time (when several writes lost the same race, the
// first of them to commit has the row, and the others follow). If the write
// needs no commit any more (the other replica created the same role:
// EntityAlreadyExists; it deleted the role being updated: NoSuchEntity),
// the row is given up at once. Other replicas' writers wait on the row
// meanwhile, as they wait for any write of the fleet. So a caller never sees
// the race: of two replicas creating the same role at once exactly one
// succeeds and the other gets EntityAlreadyExists. A write fails with
// iam.CodeServiceFailure wrapping ErrConflict only after
// iam.MaxStaleAttempts attempts in a row lost, and wrapping ErrConflict and
// the catch-up's error when the catch-up fails (the database went away:
// ErrUnavailable). ErrDiverged (the database behind the replica) is not a
// race, and does not wrap iam.ErrStale: catching up cannot help.
//
// # Following: notifications and resynchronisation
//
// Each replica keeps one connection, outside the pool, LISTENing on the
// channel. A notification of a revision the registry does not have wakes the
// follower, which reads, from one repeatable-read snapshot, the database's
// revision and the changes after its own, and applies them in order with
// iam.Registry.Apply (its own changes coming back are ignored). Every
// Options.ResyncInterval the follower does the same regardless: one indexed
// one-row read when nothing changed, and the bound on the delay of a change
// whose notification was lost. After every (re)connection of the listener it
// catches up at once. When the log no longer continues the replica's
// revision (compacted), holds a Load, or is more than 20,000 changes ahead,
// the follower reads the whole state and applies it as one Loaded change
// instead; the same happens if applying a change fails.
//
// # Failures
//
// Lookups never touch the database. When it is down the replica keeps
// deciding from its last state; writes fail with iam.CodeServiceFailure
// wrapping ErrUnavailable and change nothing; WritesReady reports the
// failure (the follower's failed resync or the lost listener shows it within
// ResyncInterval even without writes); Ready stays nil. When the database
// returns, the pool reconnects, the listener reconnects (backoff 50 ms to
// 2 s) and the follower catches up. A write that found a broken pooled
// connection before COMMIT drops the pool's connections and retries once on
// a new one. If the connection breaks during COMMIT, the hook asks the
// database, on a new connection, whether revision N is its own (the origin
// column); if that cannot be learned the write fails with ErrUnavailable and
// a message that says so, and if it did commit, the replica installs it on
// its next catch-up like any other change: the registry never publishes a
// change the database does not hold, and never misses one it holds.
//
// A replica cannot follow when the database is at an earlier revision than
// its own (ErrDiverged: restored from a backup; restart the replica) or when
// its registry refuses a change that another replica committed
// (ErrCannotFollow: different quotas in iam.Options); Ready reports both.
//
// Connection poolers in transaction mode (PgBouncer) do not carry LISTEN:
// point the store at the server or a session-mode pool, or rely on the
// resynchronisation alone.
//
// # Testing
//
// The tests and benchmarks run against a real server: WEBIDENTITY_TEST_POSTGRES
// names one (a DSN whose user may CREATE DATABASE; each test gets its own
// database), else they start one with scripts/postgres.sh when initdb is
// installed, else they fail saying so. The package's Example needs a server,
// so it is compiled but not run (it has no Output comment).
package pgstore
