package iam

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adversarial tests of the retried writes (ErrStale, Options.CatchUp).
// Each test names what it shows.

// within runs fn and fails the test if it does not return in time: a hang
// detector (the registry left locked), not a timing assertion.
func within(t *testing.T, what string, fn func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
		return true
	case <-time.After(10 * time.Second):
		t.Errorf("hangs: %s", what)
		return false
	}
}

// TestAdversaryMixedFleetContends: three replicas of one store, one with
// CommitBatch and two with Commit, many writers each, on shared roles
// (tags with keys of their own) and roles of their own: no write fails,
// the store's log has one change per write, every replica ends with the
// same state and every tag written, and every hold is released.
func TestAdversaryMixedFleetContends(t *testing.T) {
	f := newFleet()
	reps := []*member{f.replica(t, true), f.replica(t, false), f.replica(t, false)}
	const shared = 3
	for i := range shared {
		_, err := reps[0].r.CreateRole(testRole(acctA, "shared"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	for _, m := range reps {
		require.NoError(t, m.sync())
	}
	const writers, each = 4, 10
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		wrote = map[string][]string{}
	)
	for ri, m := range reps {
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					n := strconv.Itoa(ri) + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
					arn := RoleARN("aws", acctA, "/", "shared"+strconv.Itoa((w+i)%shared))
					_, err := m.r.TagRole(arn, []Tag{{Key: "t" + n, Value: n}})
					if err == nil {
						_, err = m.r.CreateRole(testRole(acctB, "own"+n))
					}
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						wrote[arn] = append(wrote[arn], "t"+n)
					}
					mu.Unlock()
				}
			})
		}
	}
	if !within(t, "the fleet's writers", wg.Wait) {
		return
	}
	require.Empty(t, errs)
	f.mu.Lock()
	log := slices.Clone(f.log)
	f.mu.Unlock()
	require.Len(t, log, shared+2*len(reps)*writers*each)
	for i, c := range log {
		require.EqualValues(t, i+1, c.Revision)
	}
	for _, m := range reps {
		require.NoError(t, m.sync())
	}
	for _, m := range reps[1:] {
		assert.Equal(t, names(reps[0].r), names(m.r))
	}
	for arn, keys := range wrote {
		ro, err := reps[2].r.Role(arn)
		require.NoError(t, err)
		have := map[string]bool{}
		for _, tg := range ro.Tags {
			have[tg.Key] = true
		}
		for _, k := range keys {
			assert.True(t, have[k], "tag %s of %s lost", k, arn)
		}
	}
	for i, m := range reps {
		assert.Equal(t, m.catchUps.Load(), m.releases.Load(), "replica %d: every hold released", i)
	}
}

// TestAdversaryHookPanicsOnRetry: a hook that says stale, then panics on
// the retried attempt: the panic reaches the writer, the catch-up's hold is
// released, and the registry is not left locked: the next write commits.
func TestAdversaryHookPanicsOnRetry(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		var calls, releases atomic.Int64
		hook := func(cs []Change) error {
			switch calls.Add(1) {
			case 1:
				return fmt.Errorf("hook: %w", ErrStale)
			case 2:
				panic("hook")
			}
			return nil
		}
		opts := Options{CatchUp: func() (func(), error) { return func() { releases.Add(1) }, nil }}
		if batch {
			opts.CommitBatch = hook
		} else {
			opts.Commit = func(c Change) error { return hook([]Change{c}) }
		}
		r := newTestRegistry(t, opts)
		within(t, "the write whose retry panics", func() {
			defer func() { assert.NotNil(t, recover(), "the hook's panic reaches the writer") }()
			_, _ = r.CreateRole(testRole(acctA, "app"))
		})
		assert.EqualValues(t, 1, releases.Load(), "the hold is released")
		within(t, "the next write", func() {
			_, err := r.CreateRole(testRole(acctA, "next"))
			assert.NoError(t, err)
		})
	})
}

// TestAdversaryCatchUpPanics: a CatchUp that panics: the panic reaches the
// writer, and the registry is not left waiting for a catch-up: the next
// write runs (and, the store still ahead, catches up and commits).
func TestAdversaryCatchUpPanics(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		h := &staleHook{stale: 2}
		var catchUps atomic.Int64
		opts := Options{CatchUp: func() (func(), error) {
			if catchUps.Add(1) == 1 {
				panic("catch-up")
			}
			return nil, nil
		}}
		if batch {
			opts.CommitBatch = h.commit
		} else {
			opts.Commit = func(c Change) error { return h.commit([]Change{c}) }
		}
		r := newTestRegistry(t, opts)
		within(t, "the write whose catch-up panics", func() {
			defer func() { assert.NotNil(t, recover(), "the catch-up's panic reaches the writer") }()
			_, _ = r.CreateRole(testRole(acctA, "app"))
		})
		within(t, "the next write", func() {
			_, err := r.CreateRole(testRole(acctA, "next"))
			assert.NoError(t, err)
		})
		assert.EqualValues(t, 1, r.Revision())
	})
}

// TestAdversaryCatchUpFailsWithAHold: a CatchUp that fails but returned a
// release: the hold is released, and the write fails with a ServiceFailure
// wrapping both errors.
func TestAdversaryCatchUpFailsWithAHold(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		h := &staleHook{stale: 1}
		down := errors.New("store unreachable")
		var releases atomic.Int64
		opts := Options{CatchUp: func() (func(), error) { return func() { releases.Add(1) }, down }}
		if batch {
			opts.CommitBatch = h.commit
		} else {
			opts.Commit = func(c Change) error { return h.commit([]Change{c}) }
		}
		r := newTestRegistry(t, opts)
		_, err := r.CreateRole(testRole(acctA, "app"))
		assertCode(t, err, CodeServiceFailure, "")
		assert.ErrorIs(t, err, ErrStale)
		assert.ErrorIs(t, err, down)
		assert.EqualValues(t, 1, releases.Load())
	})
}

// TestAdversaryBatchRetryRespectsTheQuota: a batch of creates that was
// stale, where the other replica's changes used up most of the account's
// roles quota: the retried writers are validated against the caught-up
// state, so exactly as many succeed as the quota has room for and the
// others get LimitExceeded; the registry never holds more than the quota.
func TestAdversaryBatchRetryRespectsTheQuota(t *testing.T) {
	g := newGatedHook()
	var r *Registry
	r = newTestRegistry(t, Options{MaxRolesPerAccount: 3, CommitBatch: g.commit, CatchUp: func() (func(), error) {
		for i := range 2 {
			name := "theirs" + strconv.Itoa(i)
			if err := r.Apply(Change{Revision: r.Revision() + 1, Kind: RoleCreated, ARN: RoleARN("aws", acctA, "/", name),
				NewRole: testRole(acctA, name)}); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}})
	g.gate(true)
	first := async(createRole(r, acctB, "first")) // another account: holds the committer's role
	require.Len(t, <-g.calls, 1)
	const n = 3
	var batch []<-chan error
	for i := range n {
		batch = append(batch, async(createRole(r, acctA, "w"+strconv.Itoa(i))))
	}
	eventually(t, func() bool { return queued(r) == n }, "the writers queue")
	g.verdicts <- nil
	require.NoError(t, <-first)
	require.Len(t, <-g.calls, n)
	g.gate(false)
	g.verdicts <- fmt.Errorf("store: %w", ErrStale)
	ok, limited := 0, 0
	for _, ch := range batch {
		err := <-ch
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrLimitExceeded):
			limited++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	assert.Equal(t, 1, ok, "room for one")
	assert.Equal(t, n-1, limited)
	_, roles := r.Len()
	assert.Equal(t, 1+3, roles, "first, theirs0, theirs1, one of the batch")
}

// TestAdversaryDependentAnswerAfterStaleBatch: a writer whose answer
// (EntityAlreadyExists) came from a queued create that then failed as
// stale: it runs again against the caught-up state, in which the other
// replica deleted nothing and created nothing of that name, so the queued
// create, retried, succeeds and the dependent writer's answer is again
// EntityAlreadyExists; no answer rests on a change that was never
// committed.
func TestAdversaryDependentAnswerAfterStaleBatch(t *testing.T) {
	g := newGatedHook()
	var catchUps atomic.Int64
	var r *Registry
	r = newTestRegistry(t, Options{CommitBatch: g.commit, CatchUp: func() (func(), error) {
		catchUps.Add(1)
		return nil, r.Apply(Change{Revision: r.Revision() + 1, Kind: RoleCreated, ARN: RoleARN("aws", acctB, "/", "theirs"),
			NewRole: testRole(acctB, "theirs")})
	}})
	g.gate(true)
	first := async(createRole(r, acctB, "first"))
	require.Len(t, <-g.calls, 1)
	queuedCreate := async(createRole(r, acctA, "app"))
	eventually(t, func() bool { return queued(r) == 1 }, "the create queues")
	dependent := async(createRole(r, acctA, "APP"))
	eventually(t, func() bool { return tailAwaited(r, 1) }, "the dependent writer waits for the queued create")
	g.verdicts <- nil
	require.NoError(t, <-first)
	require.Len(t, <-g.calls, 1)
	g.gate(false)
	g.verdicts <- fmt.Errorf("store: %w", ErrStale)
	require.NoError(t, <-queuedCreate)
	assert.ErrorIs(t, <-dependent, ErrEntityAlreadyExists)
	assert.EqualValues(t, 1, catchUps.Load(), "one catch-up")
	assert.EqualValues(t, 3, r.Revision(), "first, theirs, app")
}

// TestAdversaryDependentAnswerFlipsAfterStaleBatch: as above, but the
// other replica's change makes the queued create fail (the quota is full):
// the dependent writer, whose EntityAlreadyExists rested on that create,
// must not keep it: it runs again and succeeds or gets the quota's answer,
// consistent with the state.
func TestAdversaryDependentAnswerFlipsAfterStaleBatch(t *testing.T) {
	g := newGatedHook()
	var r *Registry
	r = newTestRegistry(t, Options{MaxRolesPerAccount: 1, CommitBatch: g.commit, CatchUp: func() (func(), error) {
		return nil, r.Apply(Change{Revision: r.Revision() + 1, Kind: RoleCreated, ARN: RoleARN("aws", acctA, "/", "theirs"),
			NewRole: testRole(acctA, "theirs")})
	}})
	g.gate(true)
	first := async(createRole(r, acctB, "first"))
	require.Len(t, <-g.calls, 1)
	queuedCreate := async(createRole(r, acctA, "app"))
	eventually(t, func() bool { return queued(r) == 1 }, "the create queues")
	dependent := async(createRole(r, acctA, "APP"))
	eventually(t, func() bool { return tailAwaited(r, 1) }, "the dependent writer waits for the queued create")
	g.verdicts <- nil
	require.NoError(t, <-first)
	require.Len(t, <-g.calls, 1)
	g.gate(false)
	g.verdicts <- fmt.Errorf("store: %w", ErrStale)
	assert.ErrorIs(t, <-queuedCreate, ErrLimitExceeded)
	err := <-dependent
	assert.ErrorIs(t, err, ErrLimitExceeded, "no role named app exists: the answer is the quota's, not EntityAlreadyExists")
	_, err = r.Role(RoleARN("aws", acctA, "/", "app"))
	assert.ErrorIs(t, err, ErrNoSuchEntity)
}

// TestAdversaryFinalAttemptServesOthers: a writer that spends its attempts
// under CommitBatch while others queue behind it: the writers behind are
// not left waiting for a catch-up that no one runs.
func TestAdversaryFinalAttemptServesOthers(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		h := &staleHook{stale: MaxStaleAttempts}
		r := newStaleRegistry(t, h, batch)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() { errs[i] = createRole(r, acctA, "w"+strconv.Itoa(i))() })
		}
		if !within(t, "writers after a writer spent its attempts", wg.Wait) {
			return
		}
		failed := 0
		for _, err := range errs {
			if err != nil {
				assert.ErrorIs(t, err, ErrStale)
				failed++
			}
		}
		_, roles := r.Len()
		assert.Equal(t, len(errs)-failed, roles, "every success is there")
	})
}
