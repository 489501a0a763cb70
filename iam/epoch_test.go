package iam

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every kind of write moves the epoch of its own account; reads and failed
// writes do not; Load moves every account's.
func TestChangeEpochMovesOnEveryChange(t *testing.T) {
	r := newTestRegistry(t, Options{})
	epA := func() uint64 { return r.ChangeEpoch("aws", acctA) }
	moves := func(name string, write func() error) {
		t.Helper()
		before := epA()
		require.NoError(t, write(), name)
		assert.NotEqual(t, before, epA(), "%s must move the account's epoch", name)
	}
	stays := func(name string, op func()) {
		t.Helper()
		before := epA()
		op()
		assert.Equal(t, before, epA(), "%s must not move the epoch", name)
	}
	var arn string
	moves("CreateOIDCProvider", func() error {
		p, err := r.CreateOIDCProvider(testProvider(acctA, eksURL, "sts.amazonaws.com"))
		if err == nil {
			arn = p.ARN
		}
		return err
	})
	moves("AddClientID", func() error { _, err := r.AddClientIDToOIDCProvider(arn, "other"); return err })
	moves("RemoveClientID", func() error { _, err := r.RemoveClientIDFromOIDCProvider(arn, "other"); return err })
	moves("UpdateThumbprint", func() error {
		_, err := r.UpdateOIDCProviderThumbprint(arn, []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
		return err
	})
	ro := testRole(acctA, "app")
	moves("CreateRole", func() error { _, err := r.CreateRole(ro); return err })
	roleARN := "arn:aws:iam::" + acctA + ":role/app"
	moves("UpdateAssumeRolePolicy", func() error {
		_, err := r.UpdateAssumeRolePolicy(roleARN, trustDoc(acctA, eksURL, "system:serviceaccount:x:y"))
		return err
	})
	moves("TagRole", func() error { _, err := r.TagRole(roleARN, []Tag{{Key: "k", Value: "v"}}); return err })

	stays("lookups", func() {
		_, _ = r.Role(roleARN)
		_, _ = r.OIDCProvider("aws", acctA, eksURL)
		_ = r.ListRoles("aws", acctA, "/")
	})
	stays("a refused write", func() {
		_, err := r.CreateRole(testRole(acctA, "APP")) // the name exists, ignoring case
		require.Error(t, err)
	})
	// Another account's write leaves A's epoch alone unless they share a
	// bucket (they do not here: the test would be meaningless otherwise).
	require.NotEqual(t, r.epochBucket("aws", acctA), r.epochBucket("aws", acctB))
	stays("another account's write", func() {
		_, err := r.CreateRole(testRole(acctB, "app"))
		require.NoError(t, err)
	})

	moves("DeleteRole", func() error { return r.DeleteRole(roleARN) })
	moves("DeleteOIDCProvider", func() error { return r.DeleteOIDCProvider(arn) })
	moves("Load", func() error { return r.Load(nil, nil) })
	assert.NotEqual(t, uint64(0), r.ChangeEpoch("aws", "999999999999"), "Load moves every account")
}

// The contract readers rely on: read the epoch, look up, and while the epoch
// reads the same, the lookup is still what the registry holds. A writer keeps
// replacing one role's policy; readers check that an unchanged epoch never
// hides a role replaced by a write that returned. With and without group
// commit.
func TestChangeEpochNeverHidesAChange(t *testing.T) {
	for _, batched := range []bool{false, true} {
		name := "commit"
		opts := Options{}
		if batched {
			name = "group-commit"
			opts.CommitBatch = func([]Change) error { return nil }
		}
		t.Run(name, func(t *testing.T) {
			r := newTestRegistry(t, opts)
			mustCreateProvider(t, r, testProvider(acctA, eksURL, "sts.amazonaws.com"))
			ro := testRole(acctA, "app")
			ro.TrustPolicyDocument = trustDoc(acctA, eksURL, "system:serviceaccount:ns:sa-0")
			_, err := r.CreateRole(ro)
			require.NoError(t, err)
			roleARN := "arn:aws:iam::" + acctA + ":role/app"

			const writes = 300
			version := func(ro *Role) int { // the i of the write that made ro
				_, v, _ := strings.Cut(ro.TrustPolicyDocument, ":sa-")
				n, err := strconv.Atoi(v[:strings.IndexByte(v, '"')])
				require.NoError(t, err)
				return n
			}
			var returned atomic.Int64 // the last write that returned
			returned.Store(-1)
			var done atomic.Bool
			var wg sync.WaitGroup
			var stale, checks atomic.Int64
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !done.Load() {
						e := r.ChangeEpoch("aws", acctA)
						ro, err := r.Role(roleARN)
						if err != nil {
							stale.Add(1)
							return
						}
						v := version(ro)
						for range 3 {
							w := returned.Load()
							if r.ChangeEpoch("aws", acctA) != e {
								break
							}
							// The epoch still reads e after write w returned: the role
							// read after e must be w's or a later one.
							checks.Add(1)
							if int64(v) < w {
								stale.Add(1)
							}
						}
					}
				}()
			}
			for i := range writes {
				_, err := r.UpdateAssumeRolePolicy(roleARN, trustDoc(acctA, eksURL, "system:serviceaccount:ns:sa-"+strconv.Itoa(i)))
				require.NoError(t, err)
				returned.Store(int64(i))
			}
			done.Store(true)
			wg.Wait()
			require.NotZero(t, checks.Load())
			assert.Zero(t, stale.Load(), "a replaced role behind an unchanged epoch")
		})
	}
}

// Changes applied from a store (Apply) move the epoch as local writes do.
func TestChangeEpochMovesOnApply(t *testing.T) {
	src := newTestRegistry(t, Options{})
	var changes []Change
	stop := src.Watch(func(c Change) { changes = append(changes, c) })
	defer stop()
	mustCreateProvider(t, src, testProvider(acctA, eksURL, "sts.amazonaws.com"))
	_, err := src.CreateRole(testRole(acctA, "app"))
	require.NoError(t, err)

	dst := newTestRegistry(t, Options{})
	for _, c := range changes {
		before := dst.ChangeEpoch("aws", acctA)
		require.NoError(t, dst.Apply(c))
		assert.NotEqual(t, before, dst.ChangeEpoch("aws", acctA), "Apply of %v", c.Kind)
	}
}

// TestEpochBucketsSpread: the accounts' counters spread over the buckets
// (a write retires the memos of the accounts sharing its bucket only), on
// the numeric path of stored accounts and on maphash's for anything else,
// and a bucket is a function of its (partition, account).
func TestEpochBucketsSpread(t *testing.T) {
	r := newTestRegistry(t, Options{})
	for _, part := range []string{"aws", "aws-cn", "not-a-partition"} {
		seen := map[uint64]bool{}
		const n = 10000
		for a := range n {
			acct := fmt.Sprintf("%012d", 100000000000+a*7919)
			b := r.epochBucket(part, acct)
			require.Less(t, b, uint64(epochBuckets))
			require.Equal(t, b, r.epochBucket(part, acct))
			seen[b] = true
		}
		// 10,000 accounts in 16,384 buckets fill about 7,500 of them when spread at random.
		assert.Greater(t, len(seen), 7000, part)
	}
	assert.NotEqual(t, r.epochBucket("aws", acctA), r.epochBucket("aws-cn", acctA), "the partition counts")
	other := newTestRegistry(t, Options{})
	same := 0
	for a := range 64 {
		acct := fmt.Sprintf("%012d", 200000000000+a)
		if r.epochBucket("aws", acct) == other.epochBucket("aws", acct) {
			same++
		}
	}
	assert.Less(t, same, 8, "each registry hashes with a seed of its own")
}

// BenchmarkChangeEpoch is the epoch read of every decision-memo answer.
func BenchmarkChangeEpoch(b *testing.B) {
	r := newTestRegistry(b, Options{})
	var sink uint64
	for b.Loop() {
		sink += r.ChangeEpoch("aws", acctA)
	}
	_ = sink
}

// A reader that sees a change's new state cannot then read the epoch from
// before it: an even epoch that holds around a Revision read belongs to one
// revision only. (When the epoch moved only after the new state was
// published, a reader could read the old epoch, the new revision and the old
// epoch again, and a decision memo of the old state answered while lookups
// already showed the new one.) Also checked directly: while setCur publishes,
// the epoch is odd, and it is even again after.
func TestChangeEpochOddWhilePublishing(t *testing.T) {
	r := newTestRegistry(t, Options{})
	_, err := r.CreateOIDCProvider(testProvider(acctA, eksURL, "sts.amazonaws.com"))
	require.NoError(t, err)
	_, err = r.CreateRole(testRole(acctA, "app"))
	require.NoError(t, err)
	roleARN := "arn:aws:iam::" + acctA + ":role/app"
	require.Zero(t, r.ChangeEpoch("aws", acctA)&1, "no write running: even")

	// Directly: the counter setCur moves is odd exactly while it publishes.
	bucket := &r.epochs.buckets[r.epochBucket("aws", acctA)]
	before := r.ChangeEpoch("aws", acctA)
	bucket.Add(1) // what setCur does before it publishes
	during := r.ChangeEpoch("aws", acctA)
	assert.Equal(t, uint64(1), during&1, "odd while a change of the account is published")
	assert.NotEqual(t, before, during)
	bucket.Add(1)
	after := r.ChangeEpoch("aws", acctA)
	assert.Zero(t, after&1)
	assert.NotEqual(t, before, after)
	r.epochs.all.Add(1) // a Load being published: odd for every account
	assert.Equal(t, uint64(1), r.ChangeEpoch("aws", acctA)&1)
	assert.Equal(t, uint64(1), r.ChangeEpoch("aws", acctB)&1)
	r.epochs.all.Add(1)

	// Under writes: every even epoch read stable around a Revision read maps
	// to one revision.
	const writes = 3000
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer done.Store(true)
		for i := range writes {
			if _, err := r.UpdateAssumeRolePolicy(roleARN, trustDoc(acctA, eksURL, "system:serviceaccount:x:"+strconv.Itoa(i))); !assert.NoError(t, err) {
				return
			}
		}
	})
	seen := map[uint64]uint64{} // even epoch -> the revision read inside it
	bad := 0
	for !done.Load() {
		e1 := r.ChangeEpoch("aws", acctA)
		rev := r.Revision()
		e2 := r.ChangeEpoch("aws", acctA)
		if e1 != e2 || e1&1 != 0 {
			continue
		}
		if prev, ok := seen[e1]; ok && prev != rev {
			bad++
		}
		seen[e1] = rev
	}
	wg.Wait()
	assert.Zero(t, bad, "an epoch held around revisions of two states")
	assert.NotEmpty(t, seen)
}
