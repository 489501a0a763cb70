package iam

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatedHook is a CommitBatch hook under the test's control: while gated,
// each call is announced on calls and waits for its verdict; otherwise it
// succeeds at once. Either way it records the batches it committed.
type gatedHook struct {
	calls    chan []Change
	verdicts chan error

	mu      sync.Mutex
	gated   bool
	batches [][]Change
}

func newGatedHook() *gatedHook {
	return &gatedHook{calls: make(chan []Change), verdicts: make(chan error)}
}

func (h *gatedHook) commit(cs []Change) error {
	h.mu.Lock()
	gated := h.gated
	h.mu.Unlock()
	var err error
	if gated {
		h.calls <- slices.Clone(cs)
		err = <-h.verdicts
	}
	if err == nil {
		h.mu.Lock()
		h.batches = append(h.batches, slices.Clone(cs))
		h.mu.Unlock()
	}
	return err
}

func (h *gatedHook) gate(v bool) {
	h.mu.Lock()
	h.gated = v
	h.mu.Unlock()
}

func (h *gatedHook) committed() [][]Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.batches)
}

// queued is the number of changes waiting for the next CommitBatch call.
func queued(r *Registry) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// tailAwaited reports whether n writes wait for the last unpublished change
// without owning it (see Registry.write).
func tailAwaited(r *Registry, n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.lastUnpublished()
	return p != nil && p.observers == n
}

// eventually waits until cond holds: a goroutine has reached a point that
// the test cannot observe otherwise. No clock is involved in the outcome.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, what)
}

// async runs fn on its own goroutine; the returned channel yields its error.
func async(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

func createRole(r *Registry, account, name string) func() error {
	return func() error {
		_, err := r.CreateRole(testRole(account, name))
		return err
	}
}

// TestCommitBatchSharesOneCall: writers that arrive while a batch is being
// committed are committed together by the next call, in revision order, and
// nothing of a batch is visible, to lookups or to the write side's reads,
// before its call returns.
func TestCommitBatchSharesOneCall(t *testing.T) {
	h := newGatedHook()
	r := newTestRegistry(t, Options{CommitBatch: h.commit})
	var watched []uint64
	r.Watch(func(c Change) { watched = append(watched, c.Revision) })

	h.gate(true)
	first := async(createRole(r, acctA, "first"))
	b1 := <-h.calls // the first writer commits its change alone, at once
	require.Len(t, b1, 1)
	assert.Equal(t, uint64(1), b1[0].Revision)

	const n = 8
	var done []<-chan error
	for i := range n {
		done = append(done, async(createRole(r, acctA, "w"+strconv.Itoa(i))))
	}
	eventually(t, func() bool { return queued(r) == n }, "the writers queue behind the running call")

	// Nothing is published while the call runs.
	_, err := r.Role(RoleARN("aws", acctA, "/", "first"))
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	_, err = r.RoleByName("aws", acctA, "FIRST")
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	assert.Empty(t, r.ListRoles("aws", acctA, "/"))
	assert.Equal(t, uint64(0), r.Revision())

	h.verdicts <- nil
	require.NoError(t, <-first)
	b2 := <-h.calls
	require.Len(t, b2, n, "one call for every writer queued")
	for i, c := range b2 {
		assert.Equal(t, uint64(2+i), c.Revision, "revision order")
		assert.Equal(t, RoleCreated, c.Kind)
	}
	h.gate(false)
	h.verdicts <- nil
	for _, ch := range done {
		require.NoError(t, <-ch)
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9}, watched)
	assert.Len(t, r.ListRoles("aws", acctA, "/"), n+1)
	assert.Equal(t, uint64(n+1), r.Revision())
}

// TestCommitBatchFailureRestoresWriteSide fails a batch while writers are
// queued behind it: none of the batch is published, its writers get
// ServiceFailure, and every check of the write side (quota, name uniqueness,
// issuers, role IDs, the entity a queued update read) is against the state
// before the batch again.
func TestCommitBatchFailureRestoresWriteSide(t *testing.T) {
	h := newGatedHook()
	r := newTestRegistry(t, Options{CommitBatch: h.commit, MaxRolesPerAccount: 3})
	var watched []Change
	r.Watch(func(c Change) { watched = append(watched, c) })
	mustCreateProvider(t, r, testProvider(acctA, eksURL, "sts.amazonaws.com"))
	keep := mustCreateRole(t, r, testRole(acctA, "keep"))

	// Batch 1 (will succeed): a tag on keep.
	h.gate(true)
	tagKeep := async(func() error {
		_, err := r.TagRole(keep.ARN, []Tag{{Key: "batch", Value: "1"}})
		return err
	})
	require.Len(t, <-h.calls, 1)

	// Batch 2 (will fail): queued while batch 1 runs. It fills acctA's quota
	// of 3 roles, registers a new issuer, takes a role ID and rewrites
	// keep's policy over batch 1's tag.
	const newIssuer = "https://new.example.com"
	doomed := []<-chan error{
		async(createRole(r, acctA, "doomed")),
		async(func() error {
			_, err := r.PutRole(&Role{Account: acctA, Name: "doomed2", RoleID: "AROADOOMEDID000000001", TrustPolicyDocument: trustDoc(acctA, eksURL, "d")})
			return err
		}),
		async(func() error {
			_, err := r.CreateOIDCProvider(testProvider(acctB, newIssuer, "x"))
			return err
		}),
		async(func() error {
			_, err := r.UpdateAssumeRolePolicy(keep.ARN, trustDoc(acctA, eksURL, "doomed"))
			return err
		}),
	}
	eventually(t, func() bool { return queued(r) == len(doomed) }, "batch 2 queued")
	h.verdicts <- nil
	require.NoError(t, <-tagKeep)
	b2 := <-h.calls
	require.Len(t, b2, len(doomed))
	revAfter1 := r.Revision()

	// Queued behind batch 2, validated against it: a tag on a role that
	// only batch 2 creates (queued), a name batch 2 takes and a create
	// beyond the quota batch 2 fills (both refused against the write side,
	// answers that wait for batch 2).
	tagDoomed := async(func() error {
		_, err := r.TagRole(RoleARN("aws", acctA, "/", "doomed"), []Tag{{Key: "k", Value: "v"}})
		return err
	})
	eventually(t, func() bool { return queued(r) == 1 }, "the tag queued behind batch 2")
	sameName := async(createRole(r, acctA, "DOOMED"))
	overQuota := async(createRole(r, acctA, "independent"))
	eventually(t, func() bool { return tailAwaited(r, 2) }, "the refused creates wait for batch 2")

	// While batch 2 runs, the read side shows batch 1 and nothing of batch 2.
	got, err := r.RoleByName("aws", acctA, "keep")
	require.NoError(t, err)
	assert.Equal(t, keep.TrustPolicyDocument, got.TrustPolicyDocument)
	assert.Equal(t, []Tag{{Key: "batch", Value: "1"}}, got.Tags)
	assert.Len(t, r.ListRoles("aws", acctA, "/"), 1)
	assert.Empty(t, r.ListOIDCProviders("aws", acctB))

	h.gate(false) // what follows commits at once
	h.verdicts <- errDisk
	for i, ch := range doomed {
		err := <-ch
		assert.ErrorIs(t, err, ErrServiceFailure, "batch 2 writer %d", i)
		assert.ErrorIs(t, err, errDisk, "batch 2 writer %d", i)
	}
	assert.ErrorIs(t, <-tagDoomed, ErrNoSuchEntity, "started again against the state without batch 2")
	assert.NoError(t, <-sameName, "the name is free again")
	assert.NoError(t, <-overQuota, "the quota has room again")

	// Nothing of batch 2 was published or watched.
	for _, c := range watched {
		assert.NotContains(t, []string{"doomed", "doomed2"}, roleName(c), "watched %v", c.Kind)
		assert.NotEqual(t, acctB, providerAccount(c))
	}
	got, err = r.Role(keep.ARN)
	require.NoError(t, err)
	assert.Equal(t, keep.TrustPolicyDocument, got.TrustPolicyDocument, "batch 2's update is not kept")
	assert.Equal(t, []Tag{{Key: "batch", Value: "1"}}, got.Tags, "batch 1 is kept")
	assert.Equal(t, []string{eksURL}, r.Issuers())
	revs := make([]uint64, len(watched))
	for i, c := range watched {
		revs[i] = c.Revision
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5}, revs, "revisions consecutive: batch 2's are used again")
	assert.Equal(t, revAfter1+2, r.Revision())

	// The rest of the write side is batch 2's predecessor's too.
	p, err := r.CreateOIDCProvider(testProvider(acctB, newIssuer, "x"))
	require.NoError(t, err)
	assert.Equal(t, []string{newIssuer}, watched[len(watched)-1].IssuersAdded, "the issuer is new again")
	_, err = r.PutRole(&Role{Account: acctB, Name: "other", RoleID: "AROADOOMEDID000000001", TrustPolicyDocument: trustDoc(acctB, eksURL, "o")})
	assert.NoError(t, err, "the role ID is free again")
	_, err = r.CreateRole(testRole(acctA, "fourth"))
	assertCode(t, err, CodeLimitExceeded, "")
	require.NoError(t, r.DeleteOIDCProvider(p.ARN))
	assert.Equal(t, []string{newIssuer}, watched[len(watched)-1].IssuersRemoved)
}

func roleName(c Change) string {
	if ro := changedRole(&c); ro != nil {
		return ro.Name
	}
	return ""
}

func providerAccount(c Change) string {
	if c.NewProvider == nil {
		return ""
	}
	return c.NewProvider.Account
}

// TestCommitBatchNoOpWaitsForWhatItSaw: an answer drawn from a queued change
// (here: the client ID is there already, so nothing to do) is given only
// once that change is durable; if it fails, the write runs again and makes
// the change itself.
func TestCommitBatchNoOpWaitsForWhatItSaw(t *testing.T) {
	h := newGatedHook()
	r := newTestRegistry(t, Options{CommitBatch: h.commit})
	p := mustCreateProvider(t, r, testProvider(acctA, eksURL, "a"))
	h.gate(true)
	add := func() error {
		_, err := r.AddClientIDToOIDCProvider(p.ARN, "b")
		return err
	}
	first := async(add)
	require.Len(t, <-h.calls, 1)
	second := async(add)
	eventually(t, func() bool { return tailAwaited(r, 1) }, "the no-op waits for the queued change")
	h.verdicts <- errDisk
	assert.ErrorIs(t, <-first, ErrServiceFailure)
	b := <-h.calls // the second writer makes the change itself
	require.Len(t, b, 1)
	assert.Equal(t, []string{"a", "b"}, b[0].NewProvider.ClientIDs)
	h.gate(false)
	h.verdicts <- nil
	require.NoError(t, <-second)
	got, err := r.OIDCProviderByARN(p.ARN)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, got.ClientIDs)
}

// TestCommitBatchLoneWriter: a writer alone commits each change in its own
// call, at once (so a sequential writer waits no longer than with Commit).
func TestCommitBatchLoneWriter(t *testing.T) {
	h := newGatedHook()
	r := newTestRegistry(t, Options{CommitBatch: h.commit})
	ro := mustCreateRole(t, r, testRole(acctA, "app"))
	for i := range 5 {
		_, err := r.TagRole(ro.ARN, []Tag{{Key: "i", Value: strconv.Itoa(i)}})
		require.NoError(t, err)
	}
	require.NoError(t, r.DeleteRole(ro.ARN))
	batches := h.committed()
	require.Len(t, batches, 7)
	for i, b := range batches {
		require.Len(t, b, 1)
		assert.Equal(t, uint64(i+1), b[0].Revision)
	}
}

// TestCommitBatchLoadAndApplyRunAlone: Load waits for the batch being
// committed, and writers that come after it wait for Load; Apply likewise.
func TestCommitBatchLoadAndApplyRunAlone(t *testing.T) {
	h := newGatedHook()
	r := newTestRegistry(t, Options{CommitBatch: h.commit})
	h.gate(true)
	before := async(createRole(r, acctA, "before"))
	require.Len(t, <-h.calls, 1)
	load := async(func() error { return r.Load(nil, []*Role{testRole(acctA, "loaded")}) })
	eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.exclusive == 1
	}, "Load waits for the running call")
	after := async(createRole(r, acctA, "after"))
	h.verdicts <- nil
	require.NoError(t, <-before)
	loaded := <-h.calls
	require.Len(t, loaded, 1)
	assert.Equal(t, Loaded, loaded[0].Kind)
	assert.Equal(t, uint64(2), loaded[0].Revision)
	h.gate(false)
	h.verdicts <- nil
	require.NoError(t, <-load)
	require.NoError(t, <-after)
	batches := h.committed()
	require.Len(t, batches, 3)
	assert.Equal(t, RoleCreated, batches[2][0].Kind)
	assert.Equal(t, uint64(3), batches[2][0].Revision)
	names := []string{}
	for _, ro := range r.ListRoles("aws", acctA, "/") {
		names = append(names, ro.Name)
	}
	assert.Equal(t, []string{"after", "loaded"}, names)

	// Apply installs another replica's change at its revision, after the
	// local batch that runs, without a call of its own.
	h.gate(true)
	local := async(createRole(r, acctA, "local"))
	require.Len(t, <-h.calls, 1)
	applied := async(func() error {
		return r.Apply(Change{Revision: 10, Kind: RoleCreated, NewRole: testRole(acctB, "remote")})
	})
	eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.exclusive == 1
	}, "Apply waits for the running call")
	h.gate(false)
	h.verdicts <- nil
	require.NoError(t, <-local)
	require.NoError(t, <-applied)
	assert.Equal(t, uint64(10), r.Revision())
	_, err := r.RoleByName("aws", acctB, "remote")
	assert.NoError(t, err)
	assert.Len(t, h.committed(), 4, "Apply does not commit")
}

// TestCommitBatchHookPanic: a panic of the hook reaches the writer that made
// the call; the batch is failed, and the registry goes on.
func TestCommitBatchHookPanic(t *testing.T) {
	panicking := true
	r := newTestRegistry(t, Options{CommitBatch: func([]Change) error {
		if panicking {
			panic("boom")
		}
		return nil
	}})
	assert.PanicsWithValue(t, "boom", func() { _, _ = r.CreateRole(testRole(acctA, "a")) })
	_, err := r.Role(RoleARN("aws", acctA, "/", "a"))
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	panicking = false
	ro := mustCreateRole(t, r, testRole(acctA, "a"))
	assert.Equal(t, uint64(1), r.Revision())
	got, err := r.Role(ro.ARN)
	require.NoError(t, err)
	assert.Same(t, ro, got)
}

// TestCommitBatchConcurrentWritersLog runs writers of every kind on a few
// entities while the hook fails now and then, and checks that the batches
// the hook committed are exactly what was published: replayed on another
// registry with Apply they give the same state; the watchers saw the same
// changes in the same order; every write that returned success is in them
// and none that failed.
func TestCommitBatchConcurrentWritersLog(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var (
		hookMu  sync.Mutex
		rng     = rand.New(rand.NewPCG(seed, 1))
		batches [][]Change
		calls   int
	)
	r := newTestRegistry(t, Options{MaxRolesPerAccount: -1, CommitBatch: func(cs []Change) error {
		hookMu.Lock()
		defer hookMu.Unlock()
		calls++
		if calls > 1 && rng.IntN(8) == 0 {
			return errDisk
		}
		batches = append(batches, slices.Clone(cs))
		return nil
	}})
	var watched []Change
	r.Watch(func(c Change) { watched = append(watched, c) })
	mustCreateProvider(t, r, testProvider(acctA, eksURL, "a"))

	const writers, perWriter = 12, 40
	type outcome struct {
		ro  *Role
		p   *OIDCProvider
		err error
	}
	results := make([][]outcome, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			wr := rand.New(rand.NewPCG(seed, uint64(w)+2))
			for i := range perWriter {
				name := "r" + strconv.Itoa(wr.IntN(6)) // shared among writers
				arn := RoleARN("aws", acctA, "/", name)
				var o outcome
				switch wr.IntN(6) {
				case 0:
					o.ro, o.err = r.CreateRole(testRole(acctA, name))
				case 1:
					o.ro, o.err = r.PutRole(testRole(acctA, name))
				case 2:
					o.ro, o.err = r.TagRole(arn, []Tag{{Key: "w" + strconv.Itoa(w), Value: strconv.Itoa(i)}})
				case 3:
					o.err = r.DeleteRole(arn)
				case 4:
					o.p, o.err = r.AddClientIDToOIDCProvider(providerARN(acctA, eksURL), "c"+strconv.Itoa(wr.IntN(20)))
				case 5:
					o.ro, o.err = r.UpdateAssumeRolePolicy(arn, trustDoc(acctA, eksURL, "w"+strconv.Itoa(w)))
				}
				results[w] = append(results[w], o)
			}
		})
	}
	wg.Wait()

	var log []Change
	sizes := map[int]int{}
	for _, b := range batches {
		log = append(log, b...)
		sizes[len(b)]++
	}
	t.Logf("%d calls, %d committed batches by size: %v", calls, len(batches), sizes)
	require.Equal(t, len(log), len(watched))
	for i := range log {
		assert.Equal(t, log[i].Revision, uint64(i+1), "consecutive revisions")
		assert.Equal(t, log[i].Revision, watched[i].Revision)
		assert.Equal(t, log[i].Kind, watched[i].Kind)
		assert.Same(t, log[i].NewRole, watched[i].NewRole)
		assert.Same(t, log[i].NewProvider, watched[i].NewProvider)
	}
	committedRoles := map[*Role]bool{}
	committedProvs := map[*OIDCProvider]bool{}
	for _, c := range log {
		committedRoles[c.NewRole] = true
		committedProvs[c.NewProvider] = true
	}
	failures := 0
	for _, rs := range results {
		for _, o := range rs {
			var e *Error
			switch {
			case o.err == nil && o.ro != nil:
				// A no-op answer returns a role committed earlier.
				assert.True(t, committedRoles[o.ro], "a role returned by a successful write is committed")
			case o.err == nil && o.p != nil:
				assert.True(t, committedProvs[o.p], "a provider returned by a successful write is committed")
			case errors.As(o.err, &e) && e.Code == CodeServiceFailure:
				failures++
				assert.ErrorIs(t, o.err, errDisk)
			}
		}
	}
	t.Logf("%d writes failed with ServiceFailure", failures)

	replica := New(Options{MaxRolesPerAccount: -1})
	for _, c := range log {
		require.NoError(t, replica.Apply(c), "revision %d", c.Revision)
	}
	assert.Equal(t, fullDump(r), fullDump(replica), "published state = committed log")
}

// providerARN is OIDCProviderARN for inputs known to be valid.
func providerARN(account, url string) string {
	arn, err := OIDCProviderARN("aws", account, url)
	if err != nil {
		panic(err)
	}
	return arn
}
