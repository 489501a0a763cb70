package iam

import (
	"errors"
	"strings"
)

// Group commit (Options.CommitBatch).
//
// With CommitBatch, a write does under the write lock only what decides its
// outcome: it validates against the write side (r.head and the indexes,
// which include the changes queued before it), builds its next state, updates
// the indexes, queues a pending and releases the lock. One committer at a
// time takes the whole queue, persists it with one CommitBatch call outside
// the lock, publishes the states in revision order (each followed by its
// watchers), and then wakes the batch's writers. The committer is not a
// goroutine of its own: the writer that finds no commit running becomes it,
// and when it is done it hands the role to the first writer queued meanwhile
// (whose change heads the next batch). So a lone writer commits its own
// change at once, as with Commit, and writers that arrive during a commit
// share the next one. A failed batch publishes nothing; its writers get
// CodeServiceFailure, the writers queued behind it (validated against its
// changes) start again, and the write side is rebuilt from the last
// published state.
//
// Stale failures (Options.CatchUp). A hook error wrapping ErrStale is
// numbered under r.mu (staleGen) and, until a catch-up has served it
// (served), writes wait in lockWrites: the registry is known to be behind.
// The writers of the failure that will try again are counted (stalled);
// the first of them to call catchUp runs Options.CatchUp, with writes kept
// out and no commit running, and the others share its outcome. Then the
// stalled writers go before first attempts (retrying), and under
// CommitBatch the committer waits for all of them so that they share one
// batch: the one commit that a store's hold is for.

// maxBatch bounds the changes of one CommitBatch call; a longer queue is
// committed in several batches, one after the other.
const maxBatch = 1024

// pending is a change queued for the committer. Its fields are guarded by
// r.mu; once resolved they no longer change.
type pending struct {
	c Change
	s *state // the state c leads to
	// wake is the writer's: one value when it becomes the committer (true)
	// or when its change is resolved (false). Nil for a writer that was the
	// committer from the start.
	wake chan bool
	// resolved is set when the batch has been committed or has failed;
	// err is then the batch's failure (nil: durable and published) and
	// aborted that nothing was tried: the change was queued behind a failed
	// batch, against state that never existed, and the write starts again.
	resolved bool
	err      error
	aborted  bool
	// stale, if not 0, numbers the batch's failure when its hook said
	// that the store is ahead (ErrStale) and Options.CatchUp is set: the
	// batch's writers and those queued behind it catch up (once for all
	// of them, see catchUp) before they start again.
	stale uint64
	// final is set for a writer's last allowed attempt (MaxStaleAttempts):
	// if it fails as stale, the writer gives up rather than catch up.
	final bool
	// settled, if made by a waiter that depends on this change without
	// owning it (see write), is closed when it is resolved; observers
	// counts such waiters.
	settled   chan struct{}
	observers int
}

// errRedo is returned by a write's locked part, and then by write, to make
// the caller start again: a compare-and-swap found that the entity changed
// since the caller read it.
var errRedo = errors.New("iam: redo")

// batched reports whether writes are group-committed.
func (r *Registry) batched() bool { return r.commitBatchFn != nil }

// run runs a write's locked part: as a local write (write) if applied is 0,
// else alone, as Apply does.
func (r *Registry) run(applied uint64, locked func() (*pending, error)) error {
	if applied == 0 {
		return r.write(locked)
	}
	r.lockExclusive()
	defer r.unlockExclusive()
	_, err := locked()
	return err
}

// publish makes ns, which the change c leads to, the registry's state; r.mu
// is held and the write side's indexes include c already. A local write
// under CommitBatch is queued instead: the pending returned, published by
// the committer once durable.
func (r *Registry) publish(ns *state, c Change, applied uint64) *pending {
	r.head = ns
	if applied == 0 && r.batched() {
		return &pending{c: c, s: ns}
	}
	r.setCur(ns, &c)
	r.emit(c)
	return nil
}

// commitSync runs the Commit hook for a local write that is not
// group-committed; r.mu is held and nothing of c is published yet.
func (r *Registry) commitSync(c Change, applied uint64) error {
	if applied != 0 || r.batched() {
		return nil
	}
	return r.commitNow(c)
}

// commitNow makes c durable at once with whichever hook is set (CommitBatch
// with a batch of one); r.mu is held and nothing of c is published yet.
func (r *Registry) commitNow(c Change) error {
	var err error
	switch {
	case r.commitBatchFn != nil:
		err = r.commitBatchFn([]Change{c})
	case r.commitFn != nil:
		err = r.commitFn(c)
	}
	if err != nil {
		return serviceFailure(c.ARN, err)
	}
	return nil
}

// serviceFailure is the CodeServiceFailure *Error of a change, entity arn,
// that the hook could not make durable.
func serviceFailure(arn string, err error) *Error {
	return &Error{Code: CodeServiceFailure, Entity: arn, Message: "The request processing has failed because of an unknown error, exception or failure.", Err: err}
}

// lockWrites takes r.mu for a write or a read of the write side, waiting
// while an exclusive operation (Load, Apply, a catch-up) drains the queue or
// runs, and while the registry is known to be behind its store (a stale
// failure that no catch-up has served yet: the write would fail as well). A
// write's first attempt (prio false) also waits for the writes that start
// again after a catch-up, which go first (see catchUp).
func (r *Registry) lockWrites(prio bool) {
	r.mu.Lock()
	for r.exclusive > 0 || r.staleGen > r.served || !prio && r.retrying > 0 {
		r.idle.Wait()
	}
	if prio && r.retrying > 0 {
		// (A writer whose own catch-up failed but that a later one served
		// was not counted: the count never goes below zero.)
		if r.retrying--; r.retrying == 0 {
			r.idle.Broadcast()
		}
	}
}

// lockExclusive takes r.mu once no change is queued or being committed, and
// keeps new writers out while it waits; unlockExclusive releases it. Load
// and Apply replace or install state at a revision of their own and run
// alone.
func (r *Registry) lockExclusive() {
	r.mu.Lock()
	r.exclusive++
	r.idle.Broadcast() // a committer waiting for retried writes stops waiting (lead)
	for r.committing {
		r.idle.Wait()
	}
}

func (r *Registry) unlockExclusive() {
	r.exclusive--
	r.idle.Broadcast()
	r.mu.Unlock()
}

// write runs a local write: locked is its part under the write lock, which
// either fails, changes nothing, or stages a change and returns its pending
// (nil when published already). Then write waits for the outcome.
//
// An answer that locked computed from queued, unpublished changes (an
// EntityAlreadyExists because of a queued create, say, or a no-op) holds
// only if those changes become durable: write waits for the last of them,
// and if it failed, starts again against the restored state.
//
// A write whose hook said that the store is ahead (ErrStale, with
// Options.CatchUp set) catches up and starts again, up to MaxStaleAttempts
// attempts; so does, without counting an attempt, one that was queued behind
// such a batch or whose answer depended on it. What the catch-up holds for
// the next attempt is released once that attempt is over.
func (r *Registry) write(locked func() (*pending, error)) error {
	attempts := 0
	prio := false      // the attempt follows a catch-up, and goes first
	var release func() // the hold of the catch-up before this attempt
	defer func() {
		if release != nil {
			release() // the hook panicked
		}
	}()
	for {
		final := attempts+1 >= MaxStaleAttempts // no catch-up after this one
		w, tail, lead, gen, err := r.runLocked(locked, prio, final)
		prio = false
		if w != nil {
			if lead {
				r.lead(w)
			} else if <-w.wake {
				r.lead(w)
			}
			err = w.err
		}
		if release != nil {
			release()
			release = nil
		}
		switch {
		case err == errRedo:
			return err
		case gen != 0: // Commit's hook said stale
		case w != nil && w.stale != 0:
			gen = w.stale
		case w != nil && w.aborted:
			continue
		case w == nil && tail != nil:
			ok, stale := r.awaitStale(tail)
			if ok {
				return err
			}
			if stale != 0 {
				// Not counted among the stale writers: no priority.
				release, _, _ = r.catchUp(stale, false)
			}
			continue
		default:
			return err
		}
		if w != nil && w.aborted {
			// Queued behind a stale batch: nothing was tried, and if the
			// catch-up fails, the write's own attempt tells.
			release, prio, _ = r.catchUp(gen, true)
			continue
		}
		if attempts++; final {
			r.serve(gen) // no catch-up for it: let the others try
			return err
		}
		rel, p, cerr := r.catchUp(gen, true)
		if cerr != nil {
			return catchUpFailed(err, cerr)
		}
		release, prio = rel, p
	}
}

// isStale reports whether err is the hook's saying that its store is ahead
// of the registry, which the registry catches up with.
func (r *Registry) isStale(err error) bool {
	return err != nil && r.catchUpFn != nil && errors.Is(err, ErrStale)
}

// catchUpFailed is the error of a write whose hook failed with err (a
// ServiceFailure) as stale and whose catch-up then failed with cerr: a
// ServiceFailure wrapping both.
func catchUpFailed(err, cerr error) error {
	var e *Error
	if errors.As(err, &e) && e.Code == CodeServiceFailure {
		return serviceFailure(e.Entity, errors.Join(e.Err, cerr))
	}
	return serviceFailure("", errors.Join(err, cerr))
}

// newStale numbers a stale failure of the hook; r.mu is held. Until a
// catch-up serves it, writes wait (lockWrites). The caller counts the
// writers that will catch up (not on their last attempt, or not tried)
// among the stalled, who go first after the catch-up.
func (r *Registry) newStale() uint64 {
	r.staleGen++
	return r.staleGen
}

// serve records that the stale failures up to gen are served: by a
// catch-up, or by the writer that gave up on it.
func (r *Registry) serve(gen uint64) {
	r.mu.Lock()
	r.served = max(r.served, gen)
	r.idle.Broadcast()
	r.mu.Unlock()
}

// catchUp runs Options.CatchUp for the stale failure numbered gen, unless a
// catch-up that started after that failure has run already (or is running:
// catchUp waits for it), in which case its outcome is gen's too. So the
// writers of one failed batch, and every writer that failed before a
// catch-up started, share it. release is the hold CatchUp returned, for
// the writer that ran it (nil for the others); prio, whether the write
// goes first (if counted: the writer is among the stalled). Called without
// r.mu held.
//
// From the failure until the catch-up that serves it has run, writes wait
// (no hook call is running or starts: a store may take a lock for the
// catch-up without a writer of its own waiting for it under the write
// lock, which the catch-up's Apply needs; and a write would fail the same
// way meanwhile). After it, the stalled writers go first, and under
// CommitBatch in one batch: they were validated against a state known to
// be old, and their turn is the one the catch-up prepared (a store's hold
// is for its next commit).
func (r *Registry) catchUp(gen uint64, counted bool) (release func(), prio bool, err error) {
	c := &r.catching
	c.Lock()
	defer c.Unlock()
	switch {
	case c.done >= gen:
		return nil, counted, nil
	case c.failed >= gen:
		return nil, false, c.err
	}
	r.mu.Lock()
	r.exclusive++ // writers wait in lockWrites
	r.idle.Broadcast()
	for r.committing {
		r.idle.Wait()
	}
	// Every failure numbered up to now (they are numbered under r.mu)
	// happened before this call starts, and no other can happen before it
	// ends: writes wait.
	upTo := r.staleGen
	r.mu.Unlock()
	ok := false
	defer func() {
		r.mu.Lock()
		r.exclusive--
		r.served = max(r.served, upTo)
		if ok {
			r.retrying += r.stalled
		}
		r.stalled = 0
		r.idle.Broadcast()
		r.mu.Unlock()
	}()
	release, err = r.catchUpFn()
	if err != nil {
		if release != nil {
			release()
		}
		c.failed, c.err = upTo, err
		return nil, false, err
	}
	c.done, ok = upTo, true
	return release, counted, nil
}

// runLocked runs locked under the write lock (first if prio: see
// lockWrites) and returns its pending, the number of its stale failure if
// the Commit hook said stale, the
// last change not yet published when it ran (its own, if any), and whether
// the writer must commit the queue itself.
func (r *Registry) runLocked(locked func() (*pending, error), prio, final bool) (w, tail *pending, lead bool, stale uint64, err error) {
	r.lockWrites(prio)
	defer r.mu.Unlock()
	w, err = locked()
	if w == nil && r.isStale(err) {
		stale = r.newStale()
		if !final {
			r.stalled++
		}
	}
	if w != nil {
		w.final = final
	}
	tail = r.lastUnpublished()
	if w != nil {
		r.queue = append(r.queue, w)
		if !r.committing {
			r.committing, lead = true, true
		} else {
			w.wake = make(chan bool, 1)
		}
	}
	return w, tail, lead, stale, err
}

// await waits until p is resolved and reports whether it was committed.
func (r *Registry) await(p *pending) bool {
	ok, _ := r.awaitStale(p)
	return ok
}

// awaitStale is await that also returns p.stale.
func (r *Registry) awaitStale(p *pending) (ok bool, stale uint64) {
	r.mu.Lock()
	if !p.resolved {
		if p.settled == nil {
			p.settled = make(chan struct{})
		}
		p.observers++
		ch := p.settled
		r.mu.Unlock()
		<-ch
		r.mu.Lock()
	}
	ok, stale = p.err == nil && !p.aborted, p.stale
	r.mu.Unlock()
	return ok, stale
}

// lastUnpublished returns the last change queued or being committed, or
// nil; r.mu is held.
func (r *Registry) lastUnpublished() *pending {
	if n := len(r.queue); n > 0 {
		return r.queue[n-1]
	}
	if n := len(r.inflight); n > 0 {
		return r.inflight[n-1]
	}
	return nil
}

// unpublished calls fn with every change queued or being committed, in
// revision order, until fn returns false; r.mu is held.
func (r *Registry) unpublished(fn func(c *Change) bool) {
	for _, list := range [2][]*pending{r.inflight, r.queue} {
		for _, p := range list {
			if !fn(&p.c) {
				return
			}
		}
	}
}

// lead is the committer's work for one batch, which holds self's change
// (self is the writer running it): take the queue, commit it with one
// CommitBatch call, publish it, resolve every writer in it and hand the
// committer's role to the first writer queued since.
func (r *Registry) lead(self *pending) {
	r.mu.Lock()
	// The writes that start again after a catch-up share one batch, the
	// commit the catch-up prepared (a store's hold is for one call), unless
	// an exclusive operation comes first.
	for r.retrying > 0 && r.exclusive == 0 {
		r.idle.Wait()
	}
	n := min(len(r.queue), maxBatch)
	batch := r.queue[:n:n]
	if n == len(r.queue) {
		r.queue = nil
	} else {
		r.queue = r.queue[n:]
	}
	r.inflight = batch
	r.mu.Unlock()

	changes := make([]Change, n)
	for i, p := range batch {
		changes[i] = p.c
	}
	committed, published := false, 0
	defer func() {
		// A panic of the hook fails the batch; one of a watcher leaves it
		// committed, and the rest of it is published without watchers.
		if v := recover(); v != nil {
			var err error
			if !committed {
				err = errors.New("iam: CommitBatch panicked")
			} else {
				for _, p := range batch[published:] {
					r.setCur(p.s, &p.c)
				}
			}
			r.settle(self, batch, err)
			panic(v)
		}
	}()
	err := r.commitBatchFn(changes)
	committed = true
	if err == nil {
		for _, p := range batch {
			r.setCur(p.s, &p.c)
			published++
			r.emit(p.c)
		}
	}
	r.settle(self, batch, err)
}

// settle resolves the batch after its commit (err: its failure) and passes
// the committer's role on.
func (r *Registry) settle(self *pending, batch []*pending, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight = nil
	if err != nil {
		var stale uint64
		if r.isStale(err) {
			stale = r.newStale() // one catch-up for the whole batch
		}
		for _, p := range batch {
			p.err, p.stale = serviceFailure(p.c.ARN, err), stale
			if stale != 0 && !p.final {
				r.stalled++
			}
			r.resolve(p, self)
		}
		for _, p := range r.queue {
			p.aborted, p.stale = true, stale
			if stale != 0 {
				r.stalled++
			}
			r.resolve(p, self)
		}
		r.queue = nil
		r.head = r.cur.Load()
		r.rebuildWriteSide()
	} else {
		for _, p := range batch {
			r.resolve(p, self)
		}
	}
	if len(r.queue) > 0 {
		r.queue[0].wake <- true
		return
	}
	r.committing = false
	r.idle.Broadcast()
}

// resolve marks p resolved and wakes its writer (unless it is the
// committer, self) and its other waiters; r.mu is held.
func (r *Registry) resolve(p, self *pending) {
	p.resolved = true
	if p.settled != nil {
		close(p.settled)
	}
	if p != self {
		p.wake <- false
	}
}

// rebuildWriteSide makes the write side's indexes those of r.head again,
// after a failed batch; r.mu is held. It costs a pass over every entity,
// on a path that a failing disk takes.
func (r *Registry) rebuildWriteSide() {
	s := r.head
	r.accounts = map[acctKey]*accountIndex{}
	r.issuerRefs = map[string]int{}
	r.roleIDs = make(map[string]string, s.nRoles)
	s.eachProvider(func(p *OIDCProvider) {
		r.account(acctKey{p.Partition, p.Account}).providers[p.URL] = p
		r.issuerRefs[p.URL]++
	})
	s.eachRole(func(ro *Role) {
		r.account(acctKey{ro.Partition, ro.Account}).roles[strings.ToLower(ro.Name)] = ro
		r.roleIDs[ro.RoleID] = ro.ARN
	})
	r.resetIssuerIDs(s.iss)
}

// account returns the write side's index of the account, creating it;
// r.mu is held.
func (r *Registry) account(k acctKey) *accountIndex {
	idx := r.accounts[k]
	if idx == nil {
		idx = &accountIndex{providers: map[string]*OIDCProvider{}, roles: map[string]*Role{}}
		r.accounts[k] = idx
	}
	return idx
}

// publishedRole is the read side's answer to RoleByName from the write
// side's: the write side's role for the account's lower-cased name, unless
// an unpublished change touched a role of that name, in which case the
// first such change's old role is what is published; r.mu is held.
func (r *Registry) publishedRole(k acctKey, lower string, ro *Role) *Role {
	r.unpublished(func(c *Change) bool {
		if x := changedRole(c); x != nil && x.Partition == k.partition && x.Account == k.account && strings.ToLower(x.Name) == lower {
			ro = c.OldRole
			return false
		}
		return true
	})
	return ro
}

// publishedRoles is publishedRole for every role of the account: the write
// side's roles (idx, nil for none) with the unpublished changes undone; r.mu
// is held.
func (r *Registry) publishedRoles(k acctKey, idx *accountIndex) []*Role {
	var undone map[string]*Role // lower-cased name -> published role (nil: none)
	r.unpublished(func(c *Change) bool {
		if x := changedRole(c); x != nil && x.Partition == k.partition && x.Account == k.account {
			lower := strings.ToLower(x.Name)
			if undone == nil {
				undone = map[string]*Role{}
			}
			if _, ok := undone[lower]; !ok {
				undone[lower] = c.OldRole
			}
		}
		return true
	})
	var out []*Role
	if idx != nil {
		out = make([]*Role, 0, len(idx.roles)+len(undone))
		for lower, ro := range idx.roles {
			if _, ok := undone[lower]; !ok {
				out = append(out, ro)
			}
		}
	}
	for _, ro := range undone {
		if ro != nil {
			out = append(out, ro)
		}
	}
	return out
}

// publishedProviders is publishedRoles for the account's providers.
func (r *Registry) publishedProviders(k acctKey, idx *accountIndex) []*OIDCProvider {
	var undone map[string]*OIDCProvider // URL -> published provider (nil: none)
	r.unpublished(func(c *Change) bool {
		x := c.NewProvider
		if x == nil {
			x = c.OldProvider
		}
		if x != nil && x.Partition == k.partition && x.Account == k.account {
			if undone == nil {
				undone = map[string]*OIDCProvider{}
			}
			if _, ok := undone[x.URL]; !ok {
				undone[x.URL] = c.OldProvider
			}
		}
		return true
	})
	var out []*OIDCProvider
	if idx != nil {
		out = make([]*OIDCProvider, 0, len(idx.providers)+len(undone))
		for url, p := range idx.providers {
			if _, ok := undone[url]; !ok {
				out = append(out, p)
			}
		}
	}
	for _, p := range undone {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// changedRole is the role a change concerns, or nil for a provider's.
func changedRole(c *Change) *Role {
	if c.NewRole != nil {
		return c.NewRole
	}
	return c.OldRole
}
