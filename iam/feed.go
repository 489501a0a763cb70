package iam

import (
	"slices"
	"sync"
	"sync/atomic"
)

// ChangeKind says what a Change did.
type ChangeKind uint8

// The kinds of change.
const (
	ProviderCreated ChangeKind = iota + 1
	ProviderUpdated
	ProviderDeleted
	RoleCreated
	RoleUpdated
	RoleDeleted
	// Loaded: Load replaced the whole state. The Change names no entity;
	// IssuersAdded and IssuersRemoved are the difference in Issuers().
	Loaded
)

var changeKindNames = [...]string{
	ProviderCreated: "ProviderCreated",
	ProviderUpdated: "ProviderUpdated",
	ProviderDeleted: "ProviderDeleted",
	RoleCreated:     "RoleCreated",
	RoleUpdated:     "RoleUpdated",
	RoleDeleted:     "RoleDeleted",
	Loaded:          "Loaded",
}

// String returns the kind's name, such as "RoleUpdated".
func (k ChangeKind) String() string {
	if int(k) < len(changeKindNames) && changeKindNames[k] != "" {
		return changeKindNames[k]
	}
	return "ChangeKind(?)"
}

// Change is one committed change of a Registry, as its watchers see it.
type Change struct {
	// Revision is the registry's revision after the change: every change
	// has its own, one more than the previous change's.
	Revision uint64
	Kind     ChangeKind
	// ARN is the entity changed (empty for Loaded).
	ARN string
	// OldProvider and NewProvider are the provider before and after (nil
	// for a creation and a deletion respectively); likewise OldRole and
	// NewRole. Both are immutable snapshots.
	OldProvider, NewProvider *OIDCProvider
	OldRole, NewRole         *Role
	// IssuersAdded are issuer URLs that had no provider in any account
	// before this change and have one now; IssuersRemoved the reverse. A key
	// cache registers and drops issuers from these.
	IssuersAdded, IssuersRemoved []string
	// Providers and Roles are, for Loaded only, every provider and role of
	// the new state (immutable snapshots, in the order given to Load), so
	// that a store can persist a Load whole. Nil for the other kinds.
	Providers []*OIDCProvider
	Roles     []*Role
}

type watcher struct {
	fn      func(Change)
	stopped atomic.Bool
}

// Watch calls fn with every change committed after Watch returns, and returns
// a function that stops the calls.
//
// Ordering: fn is called after the change is visible to lookups and before
// the write method returns, one call at a time, in commit order, with
// consecutive revisions; so a watcher that persists changes has done so when
// the write returns. It runs on the writing goroutine while the write lock
// is held; under Options.CommitBatch, on the goroutine of the writer that
// committed the batch, which publishes the batch's changes one after the
// other and calls the watchers after each, before any write of the batch
// returns. Either way fn must not call the registry's write methods (or
// RoleByName and the List methods, which take the lock): that deadlocks.
// Lock-free reads are fine. Keep fn quick (it delays every write); hand slow
// work to another goroutine.
//
// stop may be called from fn and more than once; after it returns, fn is not
// called again by any write that starts afterwards.
func (r *Registry) Watch(fn func(Change)) (stop func()) {
	w := &watcher{fn: fn}
	r.watchMu.Lock()
	var cur []*watcher
	if p := r.watchers.Load(); p != nil {
		cur = *p
	}
	next := append(slices.Clip(cur), w)
	r.watchers.Store(&next)
	r.watchMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			w.stopped.Store(true)
			r.watchMu.Lock()
			next := slices.DeleteFunc(slices.Clone(*r.watchers.Load()), func(x *watcher) bool { return x == w })
			r.watchers.Store(&next)
			r.watchMu.Unlock()
		})
	}
}

// emit calls the watchers; r.mu is held, or the caller is the committer of
// a batch (see lead).
func (r *Registry) emit(c Change) {
	p := r.watchers.Load()
	if p == nil {
		return
	}
	for _, w := range *p {
		if !w.stopped.Load() {
			w.fn(c)
		}
	}
}
