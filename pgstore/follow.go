package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webidentity/webidentity/iam"
)

// Following the fleet. Two goroutines per store: listen holds a LISTEN
// connection and wakes follow on every notification of a revision the
// registry does not have; follow catches up when woken, after every
// (re)connection of the listener, and every ResyncInterval in any case. A
// write of this replica that found the database ahead (ErrConflict) catches
// up itself, through the registry's Options.CatchUp (catchUpForWrite, in
// hold.go).
const (
	// maxReplay is how far behind a replica replays the change log; further
	// behind, it loads the whole state, which is then cheaper.
	maxReplay = 20000
	// replayBatch is how many changes one query reads.
	replayBatch = 1000
	// The listener's reconnection backoff.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// poke asks the follower to catch up now.
func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// follow runs the catch-ups until Close.
func (s *Store) follow() {
	defer s.wg.Done()
	t := time.NewTicker(s.resync)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
		_ = s.Sync(s.ctx) // Sync records and logs the outcome
	}
}

// listen keeps a LISTEN connection up until Close, reconnecting with
// backoff when it breaks.
func (s *Store) listen() {
	defer s.wg.Done()
	backoff := minBackoff
	failing := false
	for {
		reached, err := s.listenOnce(&failing)
		s.hmu.Lock()
		s.listening = false
		s.hmu.Unlock()
		if s.ctx.Err() != nil {
			return
		}
		if reached || !failing {
			s.log.LogAttrs(s.ctx, slog.LevelWarn, "pgstore: LISTEN connection lost; reconnecting", slog.String("error", err.Error()))
		}
		failing = true
		if reached {
			backoff = minBackoff
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, listens, and waits for notifications until the
// connection fails; reached reports whether it got as far as listening.
// *failing says whether the previous attempts failed; listenOnce clears it.
func (s *Store) listenOnce(failing *bool) (reached bool, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	conn, err := pgx.ConnectConfig(ctx, s.listenCfg)
	if err != nil {
		cancel()
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize())
	cancel()
	if err != nil {
		return false, err
	}
	s.hmu.Lock()
	s.listening = true
	s.hmu.Unlock()
	if *failing {
		s.log.LogAttrs(s.ctx, slog.LevelInfo, "pgstore: listening again")
		*failing = false
	}
	s.poke() // what was committed while not listening
	reg := s.registry()
	// With no notification for a while, ping: a connection whose peer
	// vanished (a half-open TCP connection) never errors by itself.
	idle := max(4*s.resync, 2*time.Second)
	for {
		wctx, cancel := context.WithTimeout(s.ctx, idle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case s.ctx.Err() != nil:
			return true, s.ctx.Err()
		case err != nil && errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(s.ctx, s.timeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
			continue
		case err != nil:
			return true, err
		}
		if rev, err := strconv.ParseUint(n.Payload, 10, 64); err == nil && rev <= reg.Revision() {
			continue // this replica's own change, or one applied already
		}
		s.poke()
	}
}

// Sync catches up now: it reads the changes committed after the registry's
// revision and applies them in order, or, when the change log no longer has
// them all (compacted) or one is a Load, reads the whole state and applies
// it as one Loaded change. The follower calls it on every notification and
// every Options.ResyncInterval; call it to read another replica's write at
// once. One Sync runs at a time. The error is ErrUnavailable when the
// database cannot be reached, ErrDiverged or ErrCannotFollow when the
// replica cannot follow.
func (s *Store) Sync(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	reg := s.registry()
	if reg == nil {
		return ErrNoRegistry
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	defer s.catchups.Add(1)
	s.hmu.Lock()
	failing := s.dbErr != nil || s.stuck != nil
	s.hmu.Unlock()
	err := s.catchUp(ctx, reg)
	switch {
	case err == nil:
	case errors.Is(err, ErrDiverged), errors.Is(err, ErrCannotFollow):
		s.hmu.Lock()
		s.stuck = err
		s.dbErr = nil
		s.hmu.Unlock()
	default:
		s.noteDB(err, 0)
	}
	// Log the changes of state, not every failed round of an outage.
	switch {
	case err != nil && !failing && !errors.Is(err, ErrClosed):
		s.log.LogAttrs(ctx, slog.LevelWarn, "pgstore: cannot catch up with the fleet; deciding from the last state",
			slog.Uint64("revision", reg.Revision()), slog.String("error", err.Error()))
	case err == nil && failing:
		s.log.LogAttrs(ctx, slog.LevelInfo, "pgstore: caught up with the fleet again", slog.Uint64("revision", reg.Revision()))
	}
	return err
}

func (s *Store) catchUp(ctx context.Context, reg *iam.Registry) error {
	s.hmu.Lock()
	stuck := s.stuck
	s.hmu.Unlock()
	if errors.Is(stuck, ErrDiverged) {
		return stuck // for good: the replica's history is not the database's
	}
	for {
		local := reg.Revision()
		changes, full, dbRev, err := s.readAfter(ctx, local)
		if err != nil {
			return err
		}
		if stuck := s.stuckAt(dbRev); stuck != nil {
			return stuck // nothing new since it failed: do not load everything again
		}
		switch {
		case dbRev == local:
			s.noteSynced(dbRev)
			return nil
		case dbRev < local:
			return fmt.Errorf("%w: the database is at revision %d, this replica at %d", ErrDiverged, dbRev, local)
		}
		if full == nil {
			if err := replay(reg, changes); err != nil {
				// A change this registry refuses, or the sign that it
				// missed one: start again from the whole state.
				s.log.LogAttrs(ctx, slog.LevelWarn, "pgstore: applying a change failed; loading the whole state",
					slog.String("error", err.Error()))
				c, rev, err := s.readFull(ctx)
				if err != nil {
					return err
				}
				full, dbRev = &c, rev
			}
		}
		if full != nil {
			if err := reg.Apply(*full); err != nil {
				s.setStuck(dbRev)
				return fmt.Errorf("%w: loading the state of revision %d: %w", ErrCannotFollow, dbRev, err)
			}
		}
		if rev := reg.Revision(); rev >= dbRev {
			s.noteSynced(rev)
			return nil
		}
	}
}

// replay applies the changes in order.
func replay(reg *iam.Registry, changes []iam.Change) error {
	for _, c := range changes {
		if err := reg.Apply(c); err != nil {
			return fmt.Errorf("revision %d (%v %s): %w", c.Revision, c.Kind, c.ARN, err)
		}
	}
	return nil
}

// readAfter reads, from one snapshot, the database's revision and either
// the changes after local (up to replayBatch of them) or, when those cannot
// be replayed, the whole state as a Loaded change.
func (s *Store) readAfter(ctx context.Context, local uint64) (changes []iam.Change, full *iam.Change, dbRev uint64, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, 0, s.dbError("catching up", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var rev int64
	if err := tx.QueryRow(ctx, s.sql.readRevision).Scan(&rev); err != nil {
		return nil, nil, 0, s.dbError("catching up", err)
	}
	dbRev = uint64(rev)
	if dbRev <= local {
		return nil, nil, dbRev, nil
	}
	if dbRev-local <= maxReplay {
		changes, err = s.readChanges(ctx, tx, local)
		if err != nil {
			return nil, nil, 0, err
		}
		if changes != nil {
			return changes, nil, dbRev, nil
		}
	}
	// Too far behind, compacted away, or a Load: the whole state.
	_ = tx.Rollback(ctx) // readFull takes a snapshot of its own
	c, dbRev, err := s.readFull(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	return nil, &c, dbRev, nil
}

// readChanges reads the changes after local, in order; nil if the log does
// not continue local without a gap or holds a Load among them.
func (s *Store) readChanges(ctx context.Context, tx pgx.Tx, local uint64) ([]iam.Change, error) {
	rows, err := tx.Query(ctx, s.sql.readChanges, int64(local), replayBatch)
	if err != nil {
		return nil, s.dbError("reading the change log", err)
	}
	var (
		out    []iam.Change
		rev    int64
		kind   string
		arn    string
		entity []byte
	)
	next := local + 1
	_, err = pgx.ForEachRow(rows, []any{&rev, &kind, &arn, &entity}, func() error {
		if uint64(rev) != next || kind == kindNames[iam.Loaded] {
			out = nil
			return errStopReplay
		}
		c, err := decodeChange(rev, kind, arn, entity)
		if err != nil {
			return fmt.Errorf("pgstore: schema %q: %w", s.schema, err)
		}
		out = append(out, c)
		next++
		return nil
	})
	switch {
	case errors.Is(err, errStopReplay):
		return nil, nil
	case err != nil && (errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupportedVersion)):
		return nil, err
	case err != nil:
		return nil, s.dbError("reading the change log", err)
	}
	return out, nil
}

var errStopReplay = errors.New("the log cannot be replayed")

// readFull reads the whole state from one snapshot, as a Loaded change at
// the database's revision.
func (s *Store) readFull(ctx context.Context) (iam.Change, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*s.timeout)
	defer cancel()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return iam.Change{}, 0, s.dbError("reading the state", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var rev int64
	if err := tx.QueryRow(ctx, s.sql.readRevision).Scan(&rev); err != nil {
		return iam.Change{}, 0, s.dbError("reading the state", err)
	}
	provs, roles, err := s.readState(ctx, tx, rev)
	if err != nil {
		return iam.Change{}, 0, err
	}
	return iam.Change{Revision: uint64(rev), Kind: iam.Loaded, Providers: provs, Roles: roles}, uint64(rev), nil
}

// readState reads every provider and role in tx, whose snapshot is at
// revision rev, and decodes them.
func (s *Store) readState(ctx context.Context, tx pgx.Tx, rev int64) ([]*iam.OIDCProvider, []*iam.Role, error) {
	provRows, err := s.readRows(ctx, tx, s.sql.readProvs, rev)
	if err != nil {
		return nil, nil, err
	}
	roleRows, err := s.readRows(ctx, tx, s.sql.readRoles, rev)
	if err != nil {
		return nil, nil, err
	}
	provs, roles, err := decodeAll(provRows, roleRows)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: schema %q: %w", s.schema, err)
	}
	return provs, roles, nil
}

func (s *Store) readRows(ctx context.Context, tx pgx.Tx, sql string, rev int64) ([]rawRow, error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, s.dbError("reading the state", err)
	}
	var (
		out    []rawRow
		r      rawRow
		recRev int64
	)
	_, err = pgx.ForEachRow(rows, []any{&r.arn, &recRev, &r.entity}, func() error {
		if recRev <= 0 || recRev > rev {
			return fmt.Errorf("%w: schema %q: %s has revision %d, not in 1..%d", ErrCorrupt, s.schema, r.arn, recRev, rev)
		}
		out = append(out, r)
		r.entity = nil // a new buffer for the next row
		return nil
	})
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, s.dbError("reading the state", err)
	}
	return out, err
}

// stuckAt returns the error the replica is stuck with, if it is stuck at
// dbRev (nothing new to try).
func (s *Store) stuckAt(dbRev uint64) error {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.stuck != nil && s.stuckRev == dbRev {
		return s.stuck
	}
	return nil
}

// setStuck records that the replica cannot follow at dbRev; Sync records
// the error.
func (s *Store) setStuck(dbRev uint64) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.stuckRev = dbRev
}
