package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion is the version of the table layout this package writes and
// reads, recorded in the meta table. A database of another version fails Open
// with ErrUnsupportedVersion.
const SchemaVersion = 1

// sqlText holds the statements, with the schema's tables quoted and
// qualified once at Open.
type sqlText struct {
	meta, providers, roles, changes string // qualified table names

	create       []string
	tablesExist  string
	readMeta     string
	bumpRevision string
	readRevision string
	putProvider  string
	delProvider  string
	putRole      string
	delRole      string
	delProviders string
	delRoles     string
	logChange    string
	compact      string
	notify       string
	originOf     string
	readChanges  string
	readProvs    string
	readRoles    string
}

func newSQL(schema string) sqlText {
	q := func(table string) string { return pgx.Identifier{schema, table}.Sanitize() }
	t := sqlText{meta: q("meta"), providers: q("providers"), roles: q("roles"), changes: q("changes")}
	t.create = []string{
		"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize(),
		// One row: the layout's version and the revision of the last change.
		// Every write locks and advances it: that serialises the fleet.
		`CREATE TABLE ` + t.meta + ` (
			singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
			schema_version integer NOT NULL,
			revision bigint NOT NULL CHECK (revision >= 0))`,
		// The current state: one row per entity, its JSON record and the
		// revision of the change that wrote it.
		`CREATE TABLE ` + t.providers + ` (
			arn text PRIMARY KEY,
			revision bigint NOT NULL,
			entity json NOT NULL)`,
		`CREATE TABLE ` + t.roles + ` (
			arn text PRIMARY KEY,
			partition text NOT NULL,
			account text NOT NULL,
			name text NOT NULL,
			role_id text NOT NULL UNIQUE,
			revision bigint NOT NULL,
			entity json NOT NULL)`,
		// IAM's role names are unique per account ignoring case; the registry
		// checks it, the database holds it too.
		`CREATE UNIQUE INDEX roles_account_name ON ` + t.roles + ` (partition, account, lower(name))`,
		// The change log: one row per revision, no gaps, oldest compacted.
		// entity is the new provider or role (NULL for a delete and for
		// Loaded, whose state is the current-state tables).
		`CREATE TABLE ` + t.changes + ` (
			revision bigint PRIMARY KEY,
			kind text NOT NULL,
			arn text NOT NULL,
			entity json,
			origin text NOT NULL,
			committed_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO ` + t.meta + ` (schema_version, revision) VALUES (` + fmt.Sprint(SchemaVersion) + `, 0)`,
	}
	// pg_tables, not to_regclass: a query of the catalog sees the tables
	// that another replica committed while this one waited for the lock;
	// the catalog cache behind to_regclass may not.
	t.tablesExist = `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename IN ('meta', 'providers', 'roles', 'changes')`
	t.readMeta = `SELECT schema_version, revision FROM ` + t.meta
	t.bumpRevision = `UPDATE ` + t.meta + ` SET revision = $1 WHERE revision = $1 - 1`
	t.readRevision = `SELECT revision FROM ` + t.meta
	t.putProvider = `INSERT INTO ` + t.providers + ` (arn, revision, entity) VALUES ($1, $2, $3)
		ON CONFLICT (arn) DO UPDATE SET revision = EXCLUDED.revision, entity = EXCLUDED.entity`
	t.delProvider = `DELETE FROM ` + t.providers + ` WHERE arn = $1`
	t.putRole = `INSERT INTO ` + t.roles + ` (arn, partition, account, name, role_id, revision, entity) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (arn) DO UPDATE SET partition = EXCLUDED.partition, account = EXCLUDED.account, name = EXCLUDED.name,
		role_id = EXCLUDED.role_id, revision = EXCLUDED.revision, entity = EXCLUDED.entity`
	t.delRole = `DELETE FROM ` + t.roles + ` WHERE arn = $1`
	t.delProviders = `DELETE FROM ` + t.providers
	t.delRoles = `DELETE FROM ` + t.roles
	t.logChange = `INSERT INTO ` + t.changes + ` (revision, kind, arn, entity, origin) VALUES ($1, $2, $3, $4, $5)`
	t.compact = `DELETE FROM ` + t.changes + ` WHERE revision <= $1`
	t.notify = `SELECT pg_notify($1, $2)`
	t.originOf = `SELECT origin FROM ` + t.changes + ` WHERE revision = $1`
	t.readChanges = `SELECT revision, kind, arn, entity FROM ` + t.changes + ` WHERE revision > $1 ORDER BY revision LIMIT $2`
	t.readProvs = `SELECT arn, revision, entity FROM ` + t.providers
	t.readRoles = `SELECT arn, revision, entity FROM ` + t.roles
	return t
}

// initSchema checks the layout, or creates it in a database that has none.
// Concurrent first starts of a fleet serialise on an advisory lock, so that
// exactly one creates the tables.
func (s *Store) initSchema(ctx context.Context) error {
	exists, err := s.layoutExists(ctx, s.pool)
	if err != nil {
		return err
	}
	if !exists {
		if err := s.createLayout(ctx); err != nil {
			return err
		}
	}
	var version int
	var rev int64
	err = s.pool.QueryRow(ctx, s.sql.readMeta).Scan(&version, &rev)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: %s has no row", ErrCorrupt, s.sql.meta)
	case err != nil:
		return s.dbError("reading the schema version", err)
	case version != SchemaVersion:
		return fmt.Errorf("%w: schema %q has version %d, this release reads %d", ErrUnsupportedVersion, s.schema, version, SchemaVersion)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// layoutExists reports whether the schema's tables exist: all (true), none
// (false), or some (ErrCorrupt).
func (s *Store) layoutExists(ctx context.Context, q querier) (bool, error) {
	var n int
	if err := q.QueryRow(ctx, s.sql.tablesExist, s.schema).Scan(&n); err != nil {
		return false, s.dbError("looking for the schema", err)
	}
	switch n {
	case 4:
		return true, nil
	case 0:
		return false, nil
	}
	return false, fmt.Errorf("%w: schema %q lacks some of its tables", ErrCorrupt, s.schema)
}

func (s *Store) createLayout(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.dbError("creating the schema", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "webidentity/pgstore schema "+s.schema); err != nil {
		return s.dbError("creating the schema", err)
	}
	exists, err := s.layoutExists(ctx, tx) // another replica may have won the lock
	if err != nil || exists {
		return err
	}
	for _, stmt := range s.sql.create {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return s.dbError("creating the schema", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return s.dbError("creating the schema", err)
	}
	return nil
}
