package iam

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStaleLoadIsRetried: a Load through a replica that is behind its
// store (another replica committed first) catches up and runs again: it
// succeeds, its change is the store's next revision, and the replica and a
// fresh one built from the store's log agree; the hold of the catch-up is
// released.
func TestStaleLoadIsRetried(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Commit", true: "CommitBatch"}[batch], func(t *testing.T) {
			f := newFleet()
			a, b := f.replica(t, batch), f.replica(t, batch)
			old, err := a.r.CreateRole(testRole(acctA, "old"))
			require.NoError(t, err)
			require.Zero(t, b.r.Revision(), "b has not seen a's write")

			prov := testProvider(acctB, "https://issuer.example.com", "sts.amazonaws.com")
			require.NoError(t, b.r.Load([]*OIDCProvider{prov}, []*Role{testRole(acctA, "new"), testRole(acctA, "old")}))
			assert.EqualValues(t, 1, b.catchUps.Load(), "one catch-up")
			assert.Equal(t, b.catchUps.Load(), b.releases.Load(), "its hold released")
			assert.EqualValues(t, 2, b.r.Revision(), "the Load is the revision after a's write")
			require.Len(t, f.log, 2)
			assert.Equal(t, Loaded, f.log[1].Kind)

			// The retried Load ran against the caught-up state: the role a created keeps
			// its RoleID and CreateDate (a Load against b's old state would have made it anew).
			ro, err := b.r.Role(RoleARN("aws", acctA, "/", "old"))
			require.NoError(t, err)
			assert.Equal(t, old.RoleID, ro.RoleID)
			assert.Equal(t, old.CreateDate, ro.CreateDate)

			require.NoError(t, a.sync())
			fresh := f.replica(t, batch)
			require.NoError(t, fresh.sync())
			for _, m := range []*member{a, fresh} {
				assert.EqualValues(t, 2, m.r.Revision())
				assert.Equal(t, roleNames(b.r), roleNames(m.r))
				for _, name := range []string{"new", "old"} {
					got, err := m.r.Role(RoleARN("aws", acctA, "/", name))
					require.NoError(t, err)
					want, err := b.r.Role(RoleARN("aws", acctA, "/", name))
					require.NoError(t, err)
					assert.Equal(t, want.RoleID, got.RoleID)
				}
				_, err = m.r.OIDCProvider("aws", acctB, prov.URL)
				assert.NoError(t, err)
			}
		})
	}
}

// TestStaleLoadRacesWrites: replicas writing while one of them loads: every
// write and the Load succeed, and every replica ends equal to a fresh one
// built from the store's log.
func TestStaleLoadRacesWrites(t *testing.T) {
	f := newFleet()
	a, b := f.replica(t, false), f.replica(t, true)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, m := range []*member{a, b} {
		wg.Go(func() {
			for i := range 20 {
				if _, err := m.r.CreateRole(testRole(acctA, fmt.Sprintf("w%p-%d", m, i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if err := b.r.Load(nil, []*Role{testRole(acctB, "loaded")}); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	fresh := f.replica(t, false)
	for _, m := range []*member{a, b, fresh} {
		require.NoError(t, m.sync())
		assert.EqualValues(t, len(f.log), m.r.Revision())
	}
	want := roleNames(b.r)
	assert.Equal(t, want, roleNames(a.r))
	assert.Equal(t, want, roleNames(fresh.r))
}

func roleNames(r *Registry) map[string]string {
	names := map[string]string{}
	for _, acct := range []string{acctA, acctB} {
		for _, ro := range r.ListRoles("aws", acct, "/") {
			names[ro.ARN] = ro.RoleID
		}
	}
	return names
}

// TestStaleLoadRetryBound: a hook that always says stale: the Load makes
// MaxStaleAttempts attempts, then fails with the ServiceFailure wrapping
// the hook's error, changing nothing; the registry is not left waiting for
// a catch-up: the next write runs. A failing catch-up ends the retries at
// once, with both errors.
func TestStaleLoadRetryBound(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		h := &staleHook{stale: 1 << 30, catchUpHold: true}
		r := newStaleRegistry(t, h, batch)
		err := r.Load(nil, []*Role{testRole(acctA, "app")})
		assertCode(t, err, CodeServiceFailure, "")
		assert.ErrorIs(t, err, ErrStale)
		assert.EqualValues(t, MaxStaleAttempts, h.calls.Load(), "attempts")
		assert.EqualValues(t, MaxStaleAttempts-1, h.catchUps.Load())
		assert.Equal(t, h.catchUps.Load(), h.releases.Load(), "every hold released")
		assert.Zero(t, r.Revision())

		h.mu.Lock()
		h.stale = 0
		h.mu.Unlock()
		_, err = r.CreateRole(testRole(acctA, "app"))
		require.NoError(t, err)
	})
	eachHook(t, func(t *testing.T, batch bool) {
		down := assert.AnError
		h := &staleHook{stale: 1, catchUpErr: down}
		r := newStaleRegistry(t, h, batch)
		err := r.Load(nil, []*Role{testRole(acctA, "app")})
		assertCode(t, err, CodeServiceFailure, "")
		assert.ErrorIs(t, err, ErrStale)
		assert.ErrorIs(t, err, down)
		assert.EqualValues(t, 1, h.calls.Load())
		_, err = r.CreateRole(testRole(acctA, "app"))
		require.NoError(t, err)
	})
}

// TestStaleLoadRetryFailsOtherwise: the attempt after the catch-up fails with another error
// than stale (the store went down): the Load fails with that ServiceFailure, changes nothing,
// and the catch-up's hold is released; the next write runs.
func TestStaleLoadRetryFailsOtherwise(t *testing.T) {
	eachHook(t, func(t *testing.T, batch bool) {
		down := errors.New("store down")
		var calls atomic.Int64
		h := &staleHook{catchUpHold: true}
		commit := func(cs []Change) error {
			switch calls.Add(1) {
			case 1:
				return fmt.Errorf("hook: %w", ErrStale)
			case 2:
				return down
			}
			return nil
		}
		opts := Options{CatchUp: h.catchUp}
		if batch {
			opts.CommitBatch = commit
		} else {
			opts.Commit = func(c Change) error { return commit([]Change{c}) }
		}
		h.r = newTestRegistry(t, opts)
		err := h.r.Load(nil, []*Role{testRole(acctA, "app")})
		assertCode(t, err, CodeServiceFailure, "")
		assert.ErrorIs(t, err, down)
		assert.NotErrorIs(t, err, ErrStale, "the last attempt's error")
		assert.EqualValues(t, 2, calls.Load())
		assert.EqualValues(t, 1, h.catchUps.Load())
		assert.EqualValues(t, 1, h.releases.Load(), "the hold is released")
		assert.Zero(t, h.r.Revision())
		_, err = h.r.Role(RoleARN("aws", acctA, "/", "app"))
		assert.ErrorIs(t, err, ErrNoSuchEntity, "nothing published")

		_, err = h.r.CreateRole(testRole(acctA, "other"))
		require.NoError(t, err)
	})
}

// TestStaleLoadCatchUpFailsPartway: the catch-up installs part of the store's log and then
// fails: the Load fails with both errors, the registry keeps the changes it installed (each
// is whole) and nothing of the Load; a later Load catches up with the rest and succeeds.
func TestStaleLoadCatchUpFailsPartway(t *testing.T) {
	f := newFleet()
	a, b := f.replica(t, false), f.replica(t, false)
	for _, name := range []string{"one", "two", "three"} {
		_, err := a.r.CreateRole(testRole(acctA, name))
		require.NoError(t, err)
	}
	cut := errors.New("connection lost")
	failing := true
	b.r.catchUpFn = func() (func(), error) {
		if !failing {
			return b.catchUp()
		}
		f.mu.Lock()
		log := slices.Clone(f.log[:1]) // one change of three, then the connection drops
		f.mu.Unlock()
		if err := b.install(log); err != nil {
			return nil, err
		}
		return nil, cut
	}
	err := b.r.Load(nil, []*Role{testRole(acctB, "mine")})
	assertCode(t, err, CodeServiceFailure, "")
	assert.ErrorIs(t, err, ErrStale)
	assert.ErrorIs(t, err, cut)
	assert.EqualValues(t, 1, b.r.Revision(), "the one change installed, whole")
	_, err = b.r.Role(RoleARN("aws", acctA, "/", "one"))
	assert.NoError(t, err)
	_, err = b.r.Role(RoleARN("aws", acctB, "/", "mine"))
	assert.ErrorIs(t, err, ErrNoSuchEntity, "nothing of the Load")

	failing = false
	require.NoError(t, b.r.Load(nil, []*Role{testRole(acctB, "mine")}))
	assert.EqualValues(t, 4, b.r.Revision())
	require.NoError(t, a.sync())
	assert.Equal(t, roleNames(b.r), roleNames(a.r))
}
