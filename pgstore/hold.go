package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Holding the revision row across a catch-up.
//
// A write that found the database ahead (ErrConflict) is run again by the
// registry after catchUpForWrite. Were the catch-up a plain Sync, a replica
// whose writers commit back to back would win every race: by the time the
// loser has caught up, the winner's next transaction holds the revision row
// again, and the loser's retry finds the database ahead once more, for as
// long as the winner keeps writing. So the catch-up first takes the row
// (SELECT ... FOR UPDATE, queueing behind the transaction that holds it),
// then catches up to the revision it holds, and keeps the transaction open:
// the replica's next commit, at that revision + 1, is made in it, and cannot
// lose. The registry releases the hold once the attempt after the catch-up
// is over; if that attempt needed no commit (the retry found the role
// created by the other replica: EntityAlreadyExists), the transaction is
// rolled back then. Other replicas' writers wait on the row meanwhile, as
// they wait for any transaction of the fleet: the time of one catch-up and
// one commit.
//
// While the replica holds the row or is waiting for it, a commit of the
// replica at any other revision fails at once as ErrConflict, writing
// nothing: waiting for the row there, under the registry's write lock,
// would deadlock with the catch-up, which applies changes under that lock.

// rowHold is the revision row held by this replica.
type rowHold struct {
	tx    pgx.Tx
	rev   uint64 // the database's revision, which no one else can change
	ready bool   // tx and rev are set
}

// catchUpForWrite is the registry's Options.CatchUp: after a write found the
// database ahead (ErrConflict), it takes the revision row, installs what the
// fleet committed up to it (read in the transaction that holds the row, or
// by Sync) and keeps the row for the registry's next commit until release.
// If the row cannot be taken or the catch-up fails, the error is the
// write's.
func (s *Store) catchUpForWrite() (release func(), err error) {
	s.races.Add(1)
	h := &rowHold{}
	s.holdMu.Lock()
	if s.closed.Load() {
		s.holdMu.Unlock()
		return nil, ErrClosed
	}
	s.dropHoldLocked() // an unused hold of an earlier catch-up
	s.hold = h         // from now on, commits of other revisions fail fast
	s.holdMu.Unlock()

	// Until the hold is handed out ready, any way out (an error, the replay's
	// Sync, a panic of a watcher during the replay) gives the row up: a row
	// left locked would stop the fleet's writers until the server ends the
	// idle session, and its connection would never return to the pool.
	var tx pgx.Tx
	handed := false
	defer func() {
		if !handed {
			s.releaseHold(h)
			if tx != nil {
				rollback(tx)
			}
		}
	}()
	var rev uint64
	if tx, rev, err = s.takeRow(); err != nil {
		return nil, err
	}
	if !s.holding(h) { // dropped by Close
		return nil, ErrClosed
	}
	if !s.replayHolding(tx, rev) {
		// The log cannot be replayed here, the replica is stuck, or tx
		// failed: catch up as the follower does, without the row.
		s.releaseHold(h)
		rollback(tx)
		tx = nil
		return nil, s.Sync(s.ctx)
	}
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if s.hold != h { // dropped by Close
		return nil, nil
	}
	h.tx, h.rev, h.ready = tx, rev, true
	handed = true
	return func() { s.releaseHold(h) }, nil
}

// holding reports whether h is still the replica's hold.
func (s *Store) holding(h *rowHold) bool {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	return s.hold == h
}

// replayHolding brings the registry to revision rev, which tx holds, from
// the change log read in tx itself (with the row held, no change can commit
// meanwhile, so what tx reads is the whole story up to rev), and reports
// whether it did: not when the replica is stuck, the log cannot be replayed
// (compacted, a Load, too far behind), a change does not apply, or the read
// failed (tx is then of no use).
func (s *Store) replayHolding(tx pgx.Tx, rev uint64) bool {
	reg := s.registry()
	s.syncMu.Lock() // one catch-up at a time, the follower's included
	defer s.syncMu.Unlock()
	s.hmu.Lock()
	stuck := s.stuck
	s.hmu.Unlock()
	local := reg.Revision()
	switch {
	case stuck != nil || local > rev || rev-local > replayBatch:
		return false
	case local < rev:
		ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
		defer cancel()
		changes, err := s.readChanges(ctx, tx, local)
		if err != nil || changes == nil || replay(reg, changes) != nil || reg.Revision() != rev {
			return false
		}
	}
	s.catchups.Add(1)
	s.noteSynced(rev)
	return true
}

// takeRow begins a transaction that locks the revision row, waiting (at
// most Options.Timeout) for the transaction that holds it.
func (s *Store) takeRow() (pgx.Tx, uint64, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, 0, s.dbError("taking the revision row", err)
	}
	var rev int64
	if err := tx.QueryRow(ctx, s.sql.readRevision+" FOR UPDATE").Scan(&rev); err != nil {
		rollback(tx)
		return nil, 0, s.dbError("taking the revision row", err)
	}
	return tx, uint64(rev), nil
}

// useHold decides how the commit of revision rev goes while the replica
// holds the row or waits for it: in the hold's transaction (h, which the
// caller then owns), or not at all (err: ErrConflict). Both nil: there is
// no hold, commit as usual. The registry's write lock is held.
func (s *Store) useHold(rev uint64) (h *rowHold, err error) {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	h = s.hold
	switch {
	case h == nil:
		return nil, nil
	case !h.ready:
		return nil, fmt.Errorf("%w: this replica is catching up (revision %d)", ErrConflict, rev-1)
	case rev != h.rev+1:
		return nil, fmt.Errorf("%w: the database is at revision %d, this replica at %d", ErrConflict, h.rev, rev-1)
	}
	s.hold = nil
	return h, nil
}

// releaseHold gives h up, unless a commit has taken it.
func (s *Store) releaseHold(h *rowHold) {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if s.hold == h {
		s.dropHoldLocked()
	}
}

// dropHoldLocked rolls the held transaction back, if any; s.holdMu is held.
func (s *Store) dropHoldLocked() {
	if h := s.hold; h != nil {
		s.hold = nil
		if h.ready {
			rollback(h.tx)
		}
	}
}

// rollback ends tx, ignoring the error (a broken connection is dropped).
func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	_ = tx.Rollback(ctx)
}
