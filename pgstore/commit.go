package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/webidentity/webidentity/iam"
)

// commit is the registry's Commit hook, called under the registry's write
// lock with the change at the registry's revision + 1: one transaction that
// advances the revision row from c.Revision-1 to c.Revision (or finds that
// another replica did first: ErrConflict, which makes the registry catch up
// and try again), writes the current-state tables
// and the change log, and notifies the fleet. The write returns once the
// transaction has committed.
func (s *Store) commit(c iam.Change) error {
	if s.closed.Load() {
		return ErrClosed
	}
	timeout := s.timeout
	if c.Kind == iam.Loaded {
		timeout *= 60
	}
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	entity, err := changeEntity(c)
	if err != nil {
		return fmt.Errorf("pgstore: encoding revision %d: %w", c.Revision, err)
	}
	h, err := s.useHold(c.Revision)
	if err != nil {
		return err // nothing written: the catch-up of a conflict is running
	}
	for attempt := 1; ; attempt++ {
		var held pgx.Tx
		if h != nil && attempt == 1 {
			held = h.tx
		}
		err := s.commitOnce(ctx, c, entity, held)
		var ce *commitError
		switch {
		case err == nil:
			s.noteDB(nil, c.Revision)
			return nil
		case errors.As(err, &ce):
			return s.resolve(c, ce.err)
		case errors.Is(err, ErrConflict), errors.Is(err, ErrDiverged):
			s.noteDB(nil, 0) // the database answered
			return err
		case held != nil && ctx.Err() == nil && !s.closed.Load():
			// The held transaction failed before COMMIT was sent (the
			// server ended its idle session, say: it waited through a slow
			// watcher or a paused process), so it did not happen and the
			// row is no longer held: try once more in a new transaction,
			// which commits at the revision or finds another replica's
			// change there (ErrConflict, retried by the registry).
			if unavailable(err) {
				s.pool.Reset()
			}
			continue
		case unavailable(err) && attempt == 1 && ctx.Err() == nil && !s.closed.Load():
			// The connection failed before COMMIT was sent, so the
			// transaction did not happen. A restart of the server or a
			// broken network breaks every pooled connection at once:
			// drop them all and try once more on a new one.
			s.pool.Reset()
			continue
		}
		err = s.dbError("writing revision "+strconv.FormatUint(c.Revision, 10), err)
		if errors.Is(err, ErrUnavailable) {
			s.noteDB(err, 0)
		}
		return err
	}
}

// commitError is a failure of the COMMIT statement itself.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }

// changeEntity is the change log's entity column for c: the new provider or
// role's record, nil (NULL) for a delete and Loaded.
func changeEntity(c iam.Change) ([]byte, error) {
	switch c.Kind {
	case iam.ProviderCreated, iam.ProviderUpdated:
		return encodeProvider(c.NewProvider)
	case iam.RoleCreated, iam.RoleUpdated:
		return encodeRole(c.NewRole)
	case iam.ProviderDeleted, iam.RoleDeleted, iam.Loaded:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown change kind %v", c.Kind)
}

// commitOnce makes c durable in one transaction: held, which holds the
// revision row since a catch-up (hold.go), or a new one.
func (s *Store) commitOnce(ctx context.Context, c iam.Change, entity []byte, held pgx.Tx) error {
	tx := held
	if tx == nil {
		var err error
		if tx, err = s.pool.Begin(ctx); err != nil {
			return err
		}
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// The fleet's serialisation point: the update waits for any other
	// writer's transaction on the row, then matches only if the database is
	// still at the revision this replica's change follows.
	tag, err := tx.Exec(ctx, s.sql.bumpRevision, int64(c.Revision))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		var dbRev int64
		if err := tx.QueryRow(ctx, s.sql.readRevision).Scan(&dbRev); err != nil {
			return err
		}
		if uint64(dbRev) < c.Revision-1 {
			s.poke() // the follower records that the replica cannot follow
			return fmt.Errorf("%w: the database is at revision %d, this replica at %d", ErrDiverged, dbRev, c.Revision-1)
		}
		// The registry catches up (catchUpForWrite) once this write has
		// released its write lock, and runs the write again.
		return fmt.Errorf("%w: the database is at revision %d, this replica at %d", ErrConflict, dbRev, c.Revision-1)
	}

	rev := int64(c.Revision)
	b := &pgx.Batch{}
	switch c.Kind {
	case iam.ProviderCreated, iam.ProviderUpdated:
		b.Queue(s.sql.putProvider, c.NewProvider.ARN, rev, entity)
	case iam.ProviderDeleted:
		b.Queue(s.sql.delProvider, c.ARN)
	case iam.RoleCreated, iam.RoleUpdated:
		ro := c.NewRole
		b.Queue(s.sql.putRole, ro.ARN, ro.Partition, ro.Account, ro.Name, ro.RoleID, rev, entity)
	case iam.RoleDeleted:
		b.Queue(s.sql.delRole, c.ARN)
	case iam.Loaded:
		if err := s.replaceAll(ctx, tx, c); err != nil {
			return err
		}
	}
	b.Queue(s.sql.logChange, rev, kindNames[c.Kind], c.ARN, entity, s.origin)
	if s.retention > 0 && c.Revision%compactEvery == 0 && c.Revision > uint64(s.retention) {
		b.Queue(s.sql.compact, rev-int64(s.retention))
	}
	// Delivered to the listeners when, and only if, the transaction commits.
	b.Queue(s.sql.notify, s.channel, strconv.FormatInt(rev, 10))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) || errors.Is(err, pgx.ErrTxCommitRollback) {
			return err // the server refused the commit: nothing happened
		}
		return &commitError{err}
	}
	return nil
}

// replaceAll writes a Loaded change's state: the current-state tables
// emptied and filled again with COPY.
func (s *Store) replaceAll(ctx context.Context, tx pgx.Tx, c iam.Change) error {
	if _, err := tx.Exec(ctx, s.sql.delProviders); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, s.sql.delRoles); err != nil {
		return err
	}
	rev := int64(c.Revision)
	var encErr error
	provs := pgx.CopyFromSlice(len(c.Providers), func(i int) ([]any, error) {
		p := c.Providers[i]
		v, err := encodeProvider(p)
		if err != nil {
			encErr = err
			return nil, err
		}
		return []any{p.ARN, rev, v}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "providers"}, []string{"arn", "revision", "entity"}, provs); err != nil {
		return errors.Join(encErr, err)
	}
	roles := pgx.CopyFromSlice(len(c.Roles), func(i int) ([]any, error) {
		ro := c.Roles[i]
		v, err := encodeRole(ro)
		if err != nil {
			encErr = err
			return nil, err
		}
		return []any{ro.ARN, ro.Partition, ro.Account, ro.Name, ro.RoleID, rev, v}, nil
	})
	cols := []string{"arn", "partition", "account", "name", "role_id", "revision", "entity"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "roles"}, cols, roles); err != nil {
		return errors.Join(encErr, err)
	}
	return nil
}

// resolve learns the outcome of a transaction whose COMMIT got no answer:
// on a new connection, it waits for the revision row (so for that
// transaction to end, either way) and reads who wrote revision c.Revision.
func (s *Store) resolve(c iam.Change, cause error) error {
	s.pool.Reset()
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	committed, err := func() (bool, error) {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return false, err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		var dbRev int64
		if err := tx.QueryRow(ctx, s.sql.readRevision+" FOR UPDATE").Scan(&dbRev); err != nil {
			return false, err
		}
		if uint64(dbRev) < c.Revision {
			return false, nil
		}
		var origin string
		err = tx.QueryRow(ctx, s.sql.originOf, int64(c.Revision)).Scan(&origin)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return origin == s.origin, err
	}()
	switch {
	case err != nil:
		err = fmt.Errorf("%w: revision %d: the connection broke while committing and the outcome is unknown "+
			"(if it committed, every replica installs it when it catches up): %w", ErrUnavailable, c.Revision, cause)
		s.noteDB(err, 0)
		return err
	case committed:
		s.noteDB(nil, c.Revision)
		return nil
	}
	s.noteDB(nil, 0)
	return fmt.Errorf("%w: revision %d: the commit failed: %w", ErrUnavailable, c.Revision, cause)
}
