package iam

import (
	"crypto/rand"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default quotas, as IAM's defaults.
const (
	DefaultMaxOIDCProvidersPerAccount = 100
	DefaultMaxRolesPerAccount         = 1000
	DefaultMaxTrustPolicyLength       = 2048
)

// Options configures a Registry. The zero value is IAM's default quotas, the
// system clock and crypto/rand.
type Options struct {
	// Now is the clock that fills CreateDate when a caller leaves it zero.
	// If nil, time.Now is used.
	Now func() time.Time
	// Rand is the source of generated role IDs. If nil, crypto/rand.
	Rand io.Reader
	// MaxOIDCProvidersPerAccount is IAM's "OpenId connect providers per
	// account" quota. If zero, 100; if negative, no limit.
	MaxOIDCProvidersPerAccount int
	// MaxRolesPerAccount is IAM's "Roles per account" quota. If zero,
	// 1,000; if negative, no limit.
	MaxRolesPerAccount int
	// MaxTrustPolicyLength is IAM's "Role trust policy length" quota, in
	// characters that are not white space. If zero, 2,048 (IAM's default,
	// adjustable in AWS up to 8,192); if negative, no limit beyond the
	// API's 131,072 characters.
	MaxTrustPolicyLength int
	// Revision is the revision of the empty registry New returns (0 by
	// default): a store passes the last revision it recorded, so that
	// revisions keep increasing across restarts.
	Revision uint64
	// Commit, if set, makes every change durable before it is published.
	// Every write method and Load call it with the Change (its Revision
	// assigned) after validation and before the new state is visible,
	// under the registry's write lock: calls come one at a time, in
	// revision order. If it returns an error, nothing is published, the
	// revision does not advance, no watcher is called, and the write
	// returns an *Error with Code CodeServiceFailure wrapping it
	// (errors.Is(err, ErrServiceFailure); errors.As reaches the cause),
	// unless the error wraps ErrStale and CatchUp is set: then the write
	// catches up and runs again (see CatchUp).
	//
	// So a write that returns success is both durable and visible. Commit
	// must not call the registry's write methods, RoleByName or the List
	// methods (they take the write lock: that deadlocks); lock-free reads
	// see the state before the change. Unused when CommitBatch is set.
	Commit func(Change) error

	// AllowURLPort lets provider URLs carry a port ("https://127.0.0.1:8443"),
	// which IAM refuses ("The URL should not contain a port number"): for
	// local deployments and tests whose issuer does not listen on 443.
	// The port is part of the URL, so of the ARN and of the condition keys,
	// exactly as the tokens' iss carries it.
	AllowURLPort bool
	// CommitBatch, if set, replaces Commit with group commit: writers that
	// run at the same time share one call, so that a store pays one
	// durable commit (one fsync) for many writes, and writes per second
	// grow with the number of concurrent writers instead of being bounded
	// by the disk's sync rate.
	//
	// A write validates against the registry's write side, which includes
	// the changes queued before it (their quotas, names, issuers and role
	// IDs), takes the next revision, queues its Change and releases the
	// write lock. One call at a time then receives every change queued
	// since the previous call (up to 1,024), in revision order with
	// consecutive revisions, outside the write lock; if it returns nil, the
	// changes are published one after the other in revision order, each
	// followed by the watchers' calls, and then their writes return
	// success. A write that finds no call running makes it at once with its
	// own change alone, so a lone writer waits no longer than under Commit.
	// Load and Apply wait until no change is queued and then run alone
	// (Load with a batch of one Change of kind Loaded).
	//
	// If CommitBatch returns an error, none of the batch is published, the
	// revision does not advance, no watcher is called, and every write of
	// the batch returns an *Error with Code CodeServiceFailure wrapping it
	// (if it wraps ErrStale and CatchUp is set, they catch up and run
	// again instead); writes queued behind the batch, which were validated against its
	// changes, start again against the state before it. So, as with
	// Commit, a write that returns success is durable and visible, and one
	// that fails left nothing behind. RoleByName and the List methods
	// answer from published changes only.
	//
	// CommitBatch may be slow (it is where the fsync is) but must not call
	// the registry's write methods: they would wait for the batch that is
	// waiting for them.
	CommitBatch func([]Change) error

	// CatchUp, if set, makes a write that lost a race with another replica
	// start again instead of failing. When the Commit or CommitBatch hook
	// returns an error that wraps ErrStale (it made nothing durable: its
	// store holds changes that this registry has not installed yet), the
	// registry calls CatchUp, which must install those changes (with
	// Apply) before it returns, and then runs the write again against the
	// caught-up state, checking it anew (names, quotas, role IDs, the
	// entity it updates or deletes): so the write succeeds, or fails as
	// IAM would fail it against the fleet's current state
	// (EntityAlreadyExists if the other replica created the same role,
	// NoSuchEntity if it deleted it), rather than with a ServiceFailure.
	// A write's validation always sees the state it is committed on top
	// of, and nothing is published that the hook did not commit. A hook
	// that wraps ErrStale must have made nothing durable.
	//
	// So that the write run again does not lose the race once more,
	// CatchUp may hold the store for this registry (pgstore locks the
	// fleet's revision row, so that the next revision is this replica's)
	// and return a release function: the registry calls it once the
	// attempt after the catch-up is over, whether that committed, failed
	// or needed no commit; meanwhile the hook's next call may use the hold.
	// release may be nil.
	//
	// CatchUp is called without the write lock held, so it may call Apply
	// (not the write methods: the write waits for it). While it runs, the
	// registry's writes wait: no Commit or CommitBatch call of a write is
	// running or starts (a Load's may), so a store may lock for the
	// catch-up what its hook would wait for. The writers of one failed
	// CommitBatch call, and the writes queued behind it, share one CatchUp
	// call, as do writers that failed before a running CatchUp started;
	// after it, they go before writes that have not tried yet. A write
	// (Load included) makes at most MaxStaleAttempts attempts: if the last
	// one is stale as well, it fails with CodeServiceFailure wrapping the
	// hook's error, as without CatchUp; if CatchUp fails, the write fails
	// at once with CodeServiceFailure wrapping both the hook's error and
	// CatchUp's. If CatchUp is nil, a stale hook error fails the write as
	// any other.
	CatchUp func() (release func(), err error)
}

// MaxStaleAttempts bounds the attempts of a write whose durability hook
// says that its store is ahead (ErrStale, Options.CatchUp): the first and
// up to four more, each after a catch-up.
const MaxStaleAttempts = 5

// shards is the number of copy-on-write shards per entity kind. A write
// copies one shard's table (about 200 providers or 400 roles at 100,000 and
// 200,000), the chunk of 16 shards' table headers that holds it (384 bytes)
// and the state header (about 600 bytes); a read is one atomic load and one
// probe of a flat table (index.go).
const shards = 1 << shardBits

type acctKey struct{ partition, account string }

// state is one immutable version of the registry. Readers load it with one
// atomic load; a write publishes a new state that shares every shard but
// the one it changed.
type state struct {
	rev   uint64
	prov  tables[provSlot]
	roles tables[roleSlot]
	iss   *issuerTable // the issuers' numbers, nil for none
	// provX holds the providers whose issuer number is too big for the
	// key word (nil while there is none).
	provX   *[shards]map[provXKey]*OIDCProvider
	issuers []string // sorted issuer URLs with at least one provider
	nProv   int
	nRoles  int
}

// accountIndex is the write side's per-account view: the quotas, the
// case-insensitive role-name uniqueness and the listings.
type accountIndex struct {
	providers map[string]*OIDCProvider // by URL
	roles     map[string]*Role         // by lower-cased name
}

// Registry holds OIDC providers and roles in memory, for many accounts,
// validated as IAM validates them, and changing at runtime.
//
// Reads (OIDCProvider, Role) are lock-free: one atomic load of an immutable
// state and one probe of a flat table (see index.go), no allocation, never
// blocked by writers. Writes are serialised by a mutex, build the next state copy-on-write and publish
// it with one atomic store before they return: a lookup that starts after a
// write returns sees it. The entities returned are immutable snapshots: a
// write replaces the pointer, never mutates a published value.
//
// A Registry is safe for concurrent use. Create one with New.
type Registry struct {
	seed   maphash.Seed
	hseed  uint64 // the index's hash seed, from seed
	cur    atomic.Pointer[state]
	epochs epochs // see ChangeEpoch

	// inlineIssuers bounds the issuer numbers kept in the index's key
	// words (maxInlineIssr); hashHook, if set, replaces every hash of the
	// index (tests: forced collisions). Both are fixed by New.
	inlineIssuers uint32
	hashHook      func(uint64) uint64

	now                 func() time.Time
	rand                io.Reader
	maxProv, maxRoles   int
	maxTrustPolicyChars int
	commitFn            func(Change) error
	allowPort           bool
	commitBatchFn       func([]Change) error
	catchUpFn           func() (func(), error)

	// catching guards the catch-ups that serve the hook's stale failures
	// (ErrStale; see catchUp).
	catching struct {
		sync.Mutex
		done   uint64 // the failures up to done are served by a catch-up that succeeded
		failed uint64 // the failures up to failed, by one that failed with err
		err    error
	}

	// mu serialises writes and guards the write side below: head, the
	// state that includes every change queued for CommitBatch (cur itself
	// without CommitBatch), the indexes of head, and the queue.
	mu         sync.Mutex
	head       *state
	accounts   map[acctKey]*accountIndex
	issuerRefs map[string]int
	roleIDs    map[string]string // role ID -> ARN
	freeIDs    []uint32          // issuer numbers free below nextID
	nextID     uint32            // the issuer numbers in use are below
	strs       map[string]string // interned client IDs, at most maxInterned
	queue      []*pending        // changes queued for the next CommitBatch call
	inflight   []*pending        // the changes of the CommitBatch call running
	committing bool              // a writer is making (or about to make) the call
	exclusive  int               // Load, Apply or a catch-up waiting for the queue to drain, or running
	retrying   int               // writes that start again after a catch-up, and go first
	staleGen   uint64            // numbers the hook's stale failures
	served     uint64            // the stale failures up to served are caught up with
	stalled    int               // writers of stale failures that will catch up
	idle       *sync.Cond        // on mu: committing became false, or exclusive fell

	watchMu  sync.Mutex
	watchers atomic.Pointer[[]*watcher]
}

// New returns an empty Registry.
func New(opts Options) *Registry {
	r := &Registry{
		seed:                maphash.MakeSeed(),
		now:                 opts.Now,
		rand:                opts.Rand,
		maxProv:             quota(opts.MaxOIDCProvidersPerAccount, DefaultMaxOIDCProvidersPerAccount),
		maxRoles:            quota(opts.MaxRolesPerAccount, DefaultMaxRolesPerAccount),
		maxTrustPolicyChars: quota(opts.MaxTrustPolicyLength, DefaultMaxTrustPolicyLength),
		accounts:            map[acctKey]*accountIndex{},
		issuerRefs:          map[string]int{},
		roleIDs:             map[string]string{},
		strs:                map[string]string{},
		commitFn:            opts.Commit,
		allowPort:           opts.AllowURLPort,
		commitBatchFn:       opts.CommitBatch,
		catchUpFn:           opts.CatchUp,
	}
	r.idle = sync.NewCond(&r.mu)
	r.hseed = maphash.String(r.seed, "iam index")
	r.inlineIssuers = maxInlineIssr
	if r.now == nil {
		r.now = time.Now
	}
	if r.rand == nil {
		r.rand = rand.Reader
	}
	r.head = &state{rev: opts.Revision}
	r.cur.Store(r.head)
	return r
}

// maxInterned bounds the client-ID intern table: the common audiences
// (sts.amazonaws.com, ...) are shared by every provider that lists them, so
// that the audience check finds their bytes in cache; rare ones beyond the
// bound are simply not shared.
const maxInterned = 4096

// internClientIDs makes p's client IDs, thumbprints and key prefix share
// bytes with equal ones of other providers (the verifier reads them all per
// request); r.mu is held and p is not published yet.
func (r *Registry) internClientIDs(p *OIDCProvider) {
	for i, c := range p.ClientIDs {
		p.ClientIDs[i] = r.intern(c)
	}
	for i, t := range p.Thumbprints {
		p.Thumbprints[i] = r.intern(t)
	}
	p.finish()
	p.keyPrefix = r.intern(p.keyPrefix)
}

// intern returns the table's copy of s, adding s while the table has room;
// r.mu is held.
func (r *Registry) intern(s string) string {
	if c, ok := r.strs[s]; ok {
		return c
	}
	if len(r.strs) < maxInterned {
		r.strs[s] = s
	}
	return s
}

// compactRole gives ro's ARN (the role map's key, read by every lookup) a
// fresh allocation, so that keys allocated together lie together in memory
// rather than among the compiled policies parsed with them; r.mu is held and
// ro is not published yet.
func compactRole(ro *Role) {
	ro.ARN = strings.Clone(ro.ARN)
	ro.Account = accountOf(ro.ARN, ro.Partition)
}

func quota(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return -1
	}
	return v
}

// OIDCProvider returns the provider that account registers in partition for
// the issuer, issuerURL exactly as the token's iss (no normalisation). If
// there is none, the error matches ErrNoSuchEntity and is preallocated: a
// miss costs no allocation either. Safe for concurrent use; lock-free.
func (r *Registry) OIDCProvider(partition, account, issuerURL string) (*OIDCProvider, error) {
	if p := r.provider(r.cur.Load(), partition, account, issuerURL); p != nil {
		return p, nil
	}
	return nil, errNoProvider
}

// OIDCProviderByARN returns the provider with the ARN. The error is an
// *Error: InvalidInput for an ARN that is not a provider's, NoSuchEntity for
// none.
func (r *Registry) OIDCProviderByARN(arn string) (*OIDCProvider, error) {
	part, acct, url, err := ParseOIDCProviderARN(arn)
	if err != nil {
		return nil, err
	}
	if p, err := r.OIDCProvider(part, acct, url); err == nil {
		return p, nil
	}
	return nil, noSuchProvider(arn)
}

// Role returns the role with exactly this ARN (path included; IAM's role
// names are case-insensitive for uniqueness, but this lookup is exact: use
// RoleByName for IAM's case-insensitive resolution). If there is none, the
// error matches ErrNoSuchEntity and is preallocated. Safe for concurrent use;
// lock-free.
func (r *Registry) Role(roleARN string) (*Role, error) {
	if ro := r.role(r.cur.Load(), roleARN); ro != nil {
		return ro, nil
	}
	return nil, errNoRole
}

// RoleByName returns the account's role with the name, ignoring case, as
// IAM's GetRole resolves RoleName. It takes the write lock briefly (it is
// for a control plane, not the hot path).
func (r *Registry) RoleByName(partition, account, name string) (*Role, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, lower := acctKey{partition, account}, strings.ToLower(name)
	var ro *Role
	if idx := r.accounts[k]; idx != nil {
		ro = idx.roles[lower]
	}
	if ro = r.publishedRole(k, lower, ro); ro != nil {
		return ro, nil
	}
	return nil, noSuchRole(name)
}

// ListOIDCProviders returns the account's providers sorted by ARN. It takes
// the write lock briefly.
func (r *Registry) ListOIDCProviders(partition, account string) []*OIDCProvider {
	r.mu.Lock()
	k := acctKey{partition, account}
	out := r.publishedProviders(k, r.accounts[k])
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b *OIDCProvider) int { return strings.Compare(a.ARN, b.ARN) })
	return out
}

// ListRoles returns the account's roles whose path starts with pathPrefix
// ("" or "/" for all), sorted by name ignoring case. It takes the write lock
// briefly.
func (r *Registry) ListRoles(partition, account, pathPrefix string) []*Role {
	r.mu.Lock()
	k := acctKey{partition, account}
	all := r.publishedRoles(k, r.accounts[k])
	r.mu.Unlock()
	var out []*Role
	for _, ro := range all {
		if strings.HasPrefix(ro.Path, pathPrefix) {
			out = append(out, ro)
		}
	}
	slices.SortFunc(out, func(a, b *Role) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ARN, b.ARN)
	})
	return out
}

// Issuers returns the issuer URLs that at least one provider in any account
// registers, sorted. The slice is the caller's. Lock-free.
func (r *Registry) Issuers() []string { return slices.Clone(r.cur.Load().issuers) }

// Revision returns the revision of the current state: 0 for a new Registry,
// increased by one by every change (see Change). Lock-free.
func (r *Registry) Revision() uint64 { return r.cur.Load().rev }

// Len returns the number of providers and roles. Lock-free.
func (r *Registry) Len() (providers, roles int) {
	s := r.cur.Load()
	return s.nProv, s.nRoles
}

func noSuchProvider(arn string) *Error {
	return newError(CodeNoSuchEntity, arn, "", "OpenIDConnect Provider not found for arn "+arn)
}

// noSuchRole is the NoSuchEntity error for a role named by its name or ARN;
// the message names the role as IAM's does.
func noSuchRole(nameOrARN string) *Error {
	name := nameOrARN
	if _, _, _, n, err := ParseRoleARN(nameOrARN); err == nil {
		name = n
	}
	return newError(CodeNoSuchEntity, nameOrARN, "", "The role with name "+name+" cannot be found.")
}
