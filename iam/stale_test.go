package iam

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleet is a store shared by replicas, as a database is by pgstore's: a log
// of changes whose length is its revision. A commit that does not continue
// the log is stale (ErrStale) and writes nothing; a replica catches up by
// applying the log. As pgstore's does, a catch-up holds the store for the
// replica's next commit (other replicas' commits wait) until it is released.
type fleet struct {
	mu     sync.Mutex
	cond   *sync.Cond
	log    []Change
	holder *Registry // the replica the store is held for, if any

	overlaps atomic.Int64 // hook calls of a replica during its own catch-up
}

func newFleet() *fleet {
	f := &fleet{}
	f.cond = sync.NewCond(&f.mu)
	return f
}

// member is one replica of the fleet.
type member struct {
	f        *fleet
	r        *Registry
	catchUps atomic.Int64
	releases atomic.Int64
	catching atomic.Bool // in CatchUp
}

func (f *fleet) replica(t *testing.T, batch bool) *member {
	m := &member{f: f}
	opts := Options{MaxRolesPerAccount: -1, CatchUp: m.catchUp}
	if batch {
		opts.CommitBatch = func(cs []Change) error { return m.commit(cs) }
	} else {
		opts.Commit = func(c Change) error { return m.commit([]Change{c}) }
	}
	m.r = newTestRegistry(t, opts)
	return m
}

func (m *member) commit(cs []Change) error {
	if m.catching.Load() {
		m.f.overlaps.Add(1)
	}
	runtime.Gosched() // let the other replica's writers in: races are the point
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.holder != nil && f.holder != m.r {
		f.cond.Wait()
	}
	if f.holder == m.r {
		f.holder = nil
		f.cond.Broadcast()
	}
	if cs[0].Revision != uint64(len(f.log))+1 {
		return fmt.Errorf("fleet: at revision %d, the change at %d: %w", len(f.log), cs[0].Revision, ErrStale)
	}
	f.log = append(f.log, cs...)
	return nil
}

func (m *member) catchUp() (func(), error) {
	m.catching.Store(true)
	defer m.catching.Store(false)
	m.catchUps.Add(1)
	f := m.f
	f.mu.Lock()
	for f.holder != nil && f.holder != m.r {
		f.cond.Wait()
	}
	f.holder = m.r
	log := slices.Clone(f.log)
	f.mu.Unlock()
	if err := m.install(log); err != nil {
		return nil, err
	}
	return func() {
		m.releases.Add(1)
		f.mu.Lock()
		if f.holder == m.r {
			f.holder = nil
			f.cond.Broadcast()
		}
		f.mu.Unlock()
	}, nil
}

func (m *member) install(log []Change) error {
	for _, c := range log[min(m.r.Revision(), uint64(len(log))):] {
		if err := m.r.Apply(c); err != nil {
			return err
		}
	}
	return nil
}

// sync catches the replica up without holding the store.
func (m *member) sync() error {
	m.f.mu.Lock()
	log := slices.Clone(m.f.log)
	m.f.mu.Unlock()
	return m.install(log)
}

// TestStaleWritesAreRetried: replicas of one store writing at once, many
// writers each, each writer its own roles: every write succeeds (the hook's
// stale failures are caught up with and tried again, never returned), the
// store's log has one change per revision, and every replica ends with the
// same state, every write in it.
func TestStaleWritesAreRetried(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Commit", true: "CommitBatch"}[batch], func(t *testing.T) {
			f := newFleet()
			reps := []*member{f.replica(t, batch), f.replica(t, batch)}
			const writers, each = 4, 25
			var wg sync.WaitGroup
			errs := make(chan error, 2*2*writers*each)
			for i, m := range reps {
				for w := range writers {
					wg.Go(func() {
						for k := range each {
							ro, err := m.r.CreateRole(testRole(acctA, fmt.Sprintf("r%d-%d-%d", i, w, k)))
							if err == nil {
								_, err = m.r.TagRole(ro.ARN, []Tag{{Key: "k", Value: strconv.Itoa(k)}})
							}
							if err != nil {
								errs <- err
							}
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				var e *Error
				if errors.As(err, &e) {
					err = fmt.Errorf("%w: %w", err, e.Err)
				}
				require.NoError(t, err)
			}
			const total = 2 * writers * each
			f.mu.Lock()
			log := slices.Clone(f.log)
			f.mu.Unlock()
			require.Len(t, log, 2*total, "one change per write")
			for i, c := range log {
				require.EqualValues(t, i+1, c.Revision)
			}
			for _, m := range reps {
				require.NoError(t, m.sync())
				assert.EqualValues(t, 2*total, m.r.Revision())
				_, roles := m.r.Len()
				assert.Equal(t, total, roles)
				for _, ro := range m.r.ListRoles("aws", acctA, "/") {
					assert.Len(t, ro.Tags, 1, ro.Name)
				}
			}
			assert.Equal(t, names(reps[0].r), names(reps[1].r))
			assert.Zero(t, f.overlaps.Load(), "no hook call of a replica overlaps its catch-up")
			for _, m := range reps {
				assert.Equal(t, m.catchUps.Load(), m.releases.Load(), "every hold released")
			}
			t.Logf("catch-ups: %d and %d for %d writes", reps[0].catchUps.Load(), reps[1].catchUps.Load(), 2*total)
		})
	}
}

func names(r *Registry) []string {
	var out []string
	for _, ro := range r.ListRoles("aws", acctA, "/") {
		out = append(out, ro.ARN+" "+ro.RoleID)
	}
	return out
}

// staleHook is a hook that says stale for its first calls, then succeeds,
// and a CatchUp that installs the changes of another replica; both count.
type staleHook struct {
	r           *Registry
	stale       int      // calls left that fail as stale
	other       []Change // installed by the next CatchUp
	catchUpErr  error
	calls       atomic.Int64
	catchUps    atomic.Int64
	releases    atomic.Int64
	events      []string
	mu          sync.Mutex
	catchUpHold bool // CatchUp returns a release function
}

func (h *staleHook) event(e string) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *staleHook) commit(cs []Change) error {
	h.calls.Add(1)
	h.mu.Lock()
	stale := h.stale > 0
	if stale {
		h.stale--
	}
	h.mu.Unlock()
	if stale {
		h.event("stale")
		return fmt.Errorf("hook: %w", ErrStale)
	}
	h.event("commit " + strconv.FormatUint(cs[0].Revision, 10))
	return nil
}

func (h *staleHook) catchUp() (func(), error) {
	h.catchUps.Add(1)
	h.event("catch-up")
	if h.catchUpErr != nil {
		return nil, h.catchUpErr
	}
	h.mu.Lock()
	other := h.other
	h.other = nil
	h.mu.Unlock()
	for _, c := range other {
		if err := h.r.Apply(c); err != nil {
			return nil, err
		}
	}
	if !h.catchUpHold {
		return nil, nil
	}
	return func() { h.releases.Add(1); h.event("release") }, nil
}

func newStaleRegistry(t *testing.T, h *staleHook, batch bool) *Registry {
	opts := Options{CatchUp: h.catchUp}
	if batch {
		opts.CommitBatch = h.commit
	} else {
		opts.Commit = func(c Change) error { return h.commit([]Change{c}) }
	}
	h.r = newTestRegistry(t, opts)
	return h.r
}

func eachHook(t *testing.T, fn func(t *testing.T, batch bool)) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Commit", true: "CommitBatch"}[batch], func(t *testing.T) { fn(t, batch) })
	}
}

// TestStaleRetryBound: a hook that always says stale: the write makes
// MaxStaleAttempts attempts, catches up between them, then fails with the
// ServiceFailure wrapping the hook's error; nothing is published, and the
// registry is not left waiting for a catch-up: the next write runs.
func TestStaleRetryBound(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		h := &staleHook{stale: 1 << 30}
		r := newStaleRegistry(t, h, batch)
		var watched int
		r.Watch(func(Change) { watched++ })
		_, err := r.CreateRole(testRole(acctA, "app"))
		assertCode(t, err, CodeServiceFailure, "")
		assert.ErrorIs(t, err, ErrStale)
		assert.EqualValues(t, MaxStaleAttempts, h.calls.Load(), "attempts")
		assert.EqualValues(t, MaxStaleAttempts-1, h.catchUps.Load(), "a catch-up between two attempts")
		assert.Zero(t, r.Revision())
		assert.Zero(t, watched)
		_, err = r.Role(RoleARN("aws", acctA, "/", "app"))
		assert.ErrorIs(t, err, ErrNoSuchEntity, "nothing published")

		h.mu.Lock()
		h.stale = 0
		h.mu.Unlock()
		_, err = r.CreateRole(testRole(acctA, "app"))
		require.NoError(t, err)
		assert.EqualValues(t, 1, r.Revision())
	})
}

// TestStaleWithoutCatchUp: without Options.CatchUp, a stale hook fails the
// write at once, as any hook error.
func TestStaleWithoutCatchUp(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		h := &staleHook{stale: 1 << 30}
		opts := Options{}
		if batch {
			opts.CommitBatch = h.commit
		} else {
			opts.Commit = func(c Change) error { return h.commit([]Change{c}) }
		}
		r := newTestRegistry(t, opts)
		_, err := r.CreateRole(testRole(acctA, "app"))
		assertCode(t, err, CodeServiceFailure, "")
		assert.ErrorIs(t, err, ErrStale)
		assert.EqualValues(t, 1, h.calls.Load())
	})
}

// TestStaleCatchUpFails: a catch-up that fails ends the retries: the write
// fails with a ServiceFailure wrapping both the hook's error and the
// catch-up's, and the next write runs.
func TestStaleCatchUpFails(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		down := errors.New("store unreachable")
		h := &staleHook{stale: 1, catchUpErr: down}
		r := newStaleRegistry(t, h, batch)
		_, err := r.CreateRole(testRole(acctA, "app"))
		assertCode(t, err, CodeServiceFailure, "")
		assert.ErrorIs(t, err, ErrStale)
		assert.ErrorIs(t, err, down)
		assert.EqualValues(t, 1, h.calls.Load())
		assert.EqualValues(t, 1, h.catchUps.Load())
		assert.Zero(t, r.Revision())

		_, err = r.CreateRole(testRole(acctA, "app"))
		require.NoError(t, err)
	})
}

// TestStaleRetrySeesTheCaughtUpState: the attempt after the catch-up is
// validated against what the other replica committed: the answer is the
// one IAM gives against the fleet's state, and the hold the catch-up
// returned is released once that attempt is over, whether it committed or
// not.
func TestStaleRetrySeesTheCaughtUpState(t *testing.T) {
	role := testRole(acctA, "app")
	arn := RoleARN("aws", acctA, "/", "app")
	theirs := &Role{ARN: arn, Name: "app", Account: acctA, Partition: "aws", Path: "/", RoleID: "AROATHEIRS0000000001",
		TrustPolicyDocument: role.TrustPolicyDocument, CreateDate: testTime}
	for _, tc := range []struct {
		name   string
		before func(r *Registry) // this replica's state first
		other  []Change          // committed by another replica meanwhile
		write  func(r *Registry) error
		code   ErrorCode // "" for success
		events []string
		check  func(t *testing.T, r *Registry) // after the write, if set
	}{
		{
			name:  "created by both",
			other: []Change{{Revision: 1, Kind: RoleCreated, ARN: arn, NewRole: theirs}},
			write: func(r *Registry) error {
				_, err := r.CreateRole(testRole(acctA, "APP"))
				return err
			},
			code:   CodeEntityAlreadyExists,
			events: []string{"stale", "catch-up", "release"},
		},
		{
			name:   "updated after a delete",
			before: func(r *Registry) { _ = r.Apply(Change{Revision: 1, Kind: RoleCreated, ARN: arn, NewRole: theirs}) },
			other:  []Change{{Revision: 2, Kind: RoleDeleted, ARN: arn}},
			write: func(r *Registry) error {
				_, err := r.TagRole(arn, []Tag{{Key: "k", Value: "v"}})
				return err
			},
			code:   CodeNoSuchEntity,
			events: []string{"stale", "catch-up", "release"},
		},
		{
			name:   "deleted after an update",
			before: func(r *Registry) { _ = r.Apply(Change{Revision: 1, Kind: RoleCreated, ARN: arn, NewRole: theirs}) },
			other: []Change{{Revision: 2, Kind: RoleUpdated, ARN: arn, OldRole: theirs,
				NewRole: &Role{ARN: arn, Name: "app", Account: acctA, Partition: "aws", Path: "/", RoleID: theirs.RoleID,
					TrustPolicyDocument: role.TrustPolicyDocument, CreateDate: testTime, Description: "theirs"}}},
			write:  func(r *Registry) error { return r.DeleteRole(arn) },
			events: []string{"stale", "catch-up", "commit 3", "release"},
		},
		{
			name:  "another role meanwhile",
			other: []Change{{Revision: 1, Kind: RoleCreated, ARN: RoleARN("aws", acctA, "/", "other"), NewRole: testRole(acctA, "other")}},
			write: func(r *Registry) error {
				_, err := r.PutRole(testRole(acctA, "app"))
				return err
			},
			events: []string{"stale", "catch-up", "commit 2", "release"},
		},
		{
			// PutRole keeps an existing role's RoleID and CreateDate: the retry must not
			// keep what the first attempt, which saw no role, generated.
			name:  "put over their create",
			other: []Change{{Revision: 1, Kind: RoleCreated, ARN: arn, NewRole: theirs}},
			write: func(r *Registry) error {
				_, err := r.PutRole(testRole(acctA, "app"))
				return err
			},
			events: []string{"stale", "catch-up", "commit 2", "release"},
			check: func(t *testing.T, r *Registry) {
				got, err := r.Role(arn)
				require.NoError(t, err)
				assert.Equal(t, theirs.RoleID, got.RoleID)
				assert.True(t, got.CreateDate.Equal(theirs.CreateDate), "CreateDate %v", got.CreateDate)
			},
		},
	} {
		eachHook(t, func(t *testing.T, batch bool) {
			t.Run(tc.name, func(t *testing.T) {
				h := &staleHook{stale: 1, other: tc.other, catchUpHold: true}
				r := newStaleRegistry(t, h, batch)
				if tc.before != nil {
					tc.before(r)
				}
				err := tc.write(r)
				if tc.code == "" {
					require.NoError(t, err)
				} else {
					assertCode(t, err, tc.code, errField(err))
					assert.NotErrorIs(t, err, ErrServiceFailure)
				}
				assert.Equal(t, tc.events, h.events)
				assert.EqualValues(t, 1, h.releases.Load())
				if tc.check != nil {
					tc.check(t, r)
				}
			})
		})
	}
}

// errField is the Field of err, for assertCode where the field is not the
// point.
func errField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// TestStaleBatchRetriesEveryWriter: a CommitBatch call of several writers
// that says stale: one catch-up for the whole batch (and for the writers
// queued behind it), then every writer's change is tried again against the
// caught-up state and committed, after the other replica's change.
func TestStaleBatchRetriesEveryWriter(t *testing.T) {
	g := newGatedHook()
	var catchUps, releases atomic.Int64
	var r *Registry
	other := testRole(acctB, "theirs")
	r = newTestRegistry(t, Options{CommitBatch: g.commit, CatchUp: func() (func(), error) {
		catchUps.Add(1)
		err := r.Apply(Change{Revision: r.Revision() + 1, Kind: RoleCreated, ARN: RoleARN("aws", acctB, "/", "theirs"), NewRole: other})
		return func() { releases.Add(1) }, err
	}})

	g.gate(true)
	first := async(createRole(r, acctA, "first"))
	require.Len(t, <-g.calls, 1)
	const n = 6
	var batch []<-chan error
	for i := range n {
		batch = append(batch, async(createRole(r, acctA, "w"+strconv.Itoa(i))))
	}
	eventually(t, func() bool { return queued(r) == n }, "the writers queue behind the running call")
	g.verdicts <- nil // first committed, at revision 1
	require.NoError(t, <-first)

	cs := <-g.calls // the batch of the n writers
	require.Len(t, cs, n)
	assert.EqualValues(t, 2, cs[0].Revision)
	behind := async(createRole(r, acctA, "behind"))
	eventually(t, func() bool { return queued(r) == 1 }, "a writer queues behind the batch")
	g.gate(false)
	g.verdicts <- fmt.Errorf("store: %w", ErrStale)

	for _, ch := range append(batch, behind) {
		require.NoError(t, <-ch)
	}
	assert.EqualValues(t, 1, catchUps.Load(), "one catch-up for the batch and the writer behind it")
	assert.EqualValues(t, 1, releases.Load())
	assert.EqualValues(t, 1+1+n+1, r.Revision(), "first, theirs, the batch, behind")
	_, err := r.Role(RoleARN("aws", acctB, "/", "theirs"))
	require.NoError(t, err)
	var revs []uint64
	for _, b := range g.committed() {
		for _, c := range b {
			revs = append(revs, c.Revision)
		}
	}
	want := []uint64{1}
	for rev := uint64(3); rev <= r.Revision(); rev++ {
		want = append(want, rev)
	}
	assert.Equal(t, want, revs, "the retried changes follow the other replica's (revision 2)")
}
