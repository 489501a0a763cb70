package iam

import (
	"hash/maphash"
	"sync/atomic"
)

// epochBuckets is the number of change counters accounts hash into: a write
// moves its account's bucket, so a reader that remembers what it derived for
// one account is disturbed only by writes to the accounts sharing its bucket.
const epochBuckets = 1 << 14

// epochs are the registry's change counters; see ChangeEpoch.
type epochs struct {
	all     atomic.Uint64 // moved by Load and by changes whose account is unknown
	buckets [epochBuckets]atomic.Uint64
}

// ChangeEpoch returns a number that moves whenever a change to one of the
// account's providers or roles is published (and on every Load). Two equal
// even returns for the same (partition, account) mean that no such change was
// published between the two calls, nor was one being published; a change to
// another account may move it too. An odd return means that a change that
// concerns the account is being published at that moment: derive nothing
// from lookups made around it for keeping.
//
// A write moves the epoch to odd, publishes its new state, and moves the epoch
// to even again, all before it returns. So a reader that reads an even epoch,
// then looks up providers and roles, may keep using what it derived from them
// for as long as a later ChangeEpoch returns the same number: the lookups saw
// every change published before the first read, and any change after it
// moves the number before the change is visible to any lookup (so a reader
// that sees the new state cannot then find the old number). Lock-free, no
// allocation.
func (r *Registry) ChangeEpoch(partition, account string) uint64 {
	e := &r.epochs
	// Both counters only grow, so their sum moves when either does; either
	// is odd while a change it counts is being published.
	a, b := e.all.Load(), e.buckets[r.epochBucket(partition, account)].Load()
	return (a + b) | (a|b)&1
}

// epochBucket is the bucket of the account's counter. An account of a known
// partition (every stored entity's) hashes as the index does, from its
// number, without a pass over the strings: ChangeEpoch runs on every answer
// of the decision memo. Anything else takes maphash; the two may share a
// bucket, which costs only a memo that another account's write retires.
func (r *Registry) epochBucket(partition, account string) uint64 {
	if pid, ok := partitionID(partition); ok {
		if acct, ok := parseAccount(account); ok {
			return mix(acctPart(pid, acct)^r.hseed) % epochBuckets
		}
	}
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(partition)
	h.WriteByte(0)
	h.WriteString(account)
	return h.Sum64() % epochBuckets
}

// setCur publishes ns, the state after c, between two moves of the epoch of
// the account c changed (every account's for a Load, or when c names none):
// the first makes it odd, the second even again. A memo whose epoch was read
// before the write no longer matches from the first move on, before any
// lookup can see ns (see ChangeEpoch).
func (r *Registry) setCur(ns *state, c *Change) {
	ctr := &r.epochs.all
	if c.Kind != Loaded {
		if part, acct, _, err := splitIAMARN(c.ARN); err == nil {
			ctr = &r.epochs.buckets[r.epochBucket(part, acct)]
		}
	}
	ctr.Add(1) // odd: being published
	r.cur.Store(ns)
	ctr.Add(1) // even: published
}
