package pgstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

// Adversarial tests of the retried writes: a write that lost the race to
// another replica (ErrConflict) is caught up with the revision row held
// (catchUpForWrite) and run again. Each test names what it shows.

// behind opens a replica that hears no notification and resyncs once an
// hour: it learns of the other replicas' changes only when a write of its
// own loses the race, or when Sync is called.
func behind(t *testing.T, dsn string, opts iam.Options) (*Store, *iam.Registry) {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{Channel: "adversary_deaf", ResyncInterval: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	if opts.Now == nil {
		opts.Now = testOptions().Now
	}
	reg, err := s.Registry(opts)
	require.NoError(t, err)
	quiet(t, s)
	return s, reg
}

// replicaWith is replica with registry options of its own.
func replicaWith(t *testing.T, dsn string, sopts Options, opts iam.Options) (*Store, *iam.Registry) {
	t.Helper()
	s, err := Open(context.Background(), dsn, sopts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	if opts.Now == nil {
		opts.Now = testOptions().Now
	}
	reg, err := s.Registry(opts)
	require.NoError(t, err)
	return s, reg
}

// fresh is the database's state as a replica that starts now loads it.
func fresh(t *testing.T, dsn string) string {
	t.Helper()
	s, reg := replica(t, dsn, Options{})
	defer func() { _ = s.Close() }()
	return dump(reg)
}

// requireLikeDatabase syncs every replica and checks that each holds what a
// replica loaded from the database holds.
func requireLikeDatabase(t *testing.T, dsn string, stores []*Store, regs []*iam.Registry) {
	t.Helper()
	want := fresh(t, dsn)
	for i, s := range stores {
		require.NoError(t, s.Sync(context.Background()))
		require.Equal(t, want, dump(regs[i]), "replica %d against the database", i)
	}
}

// TestAdversaryRetryValidatesAgainstTheFleet: a replica that is behind
// writes over what another replica committed: the retried attempt is
// validated against, and built on, the fleet's state (quotas, names
// ignoring case, the old value of an update, a role deleted and created
// again), and the answer is IAM's, never the race.
func TestAdversaryRetryValidatesAgainstTheFleet(t *testing.T) {
	t.Parallel()
	arn := roleARN(acctA, "app")
	provARN, err := iam.OIDCProviderARN("aws", acctA, eksURL)
	require.NoError(t, err)
	tags := func(ro *iam.Role) []string {
		var out []string
		for _, tg := range ro.Tags {
			out = append(out, tg.Key+"="+tg.Value)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name      string
		quota     int
		provQuota int
		setup     func(t *testing.T, a *iam.Registry)                 // before b catches up
		ahead     func(t *testing.T, a *iam.Registry)                 // a's writes that b has not seen
		write     func(b *iam.Registry) error                         // b's write, which loses the race
		code      iam.ErrorCode                                       // "" for success
		check     func(t *testing.T, b *iam.Registry, theirs *string) // after the write
	}{
		{
			name: "roles per account quota", quota: 2,
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "one"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "two"))
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error { _, err := b.CreateRole(newRole(acctA, "three")); return err },
			code:  iam.CodeLimitExceeded,
			check: func(t *testing.T, b *iam.Registry, _ *string) {
				_, roles := b.Len()
				assert.Equal(t, 2, roles)
			},
		},
		{
			name: "name taken ignoring case",
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "App"))
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error { _, err := b.CreateRole(newRole(acctA, "APP")); return err },
			code:  iam.CodeEntityAlreadyExists,
		},
		{
			name: "tag over their policy update",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.UpdateAssumeRolePolicy(arn, trustDoc(acctA, eksURL, "theirs"))
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				_, err := b.TagRole(arn, []iam.Tag{{Key: "mine", Value: "1"}})
				return err
			},
			check: func(t *testing.T, b *iam.Registry, _ *string) {
				ro, err := b.Role(arn)
				require.NoError(t, err)
				assert.Equal(t, trustDoc(acctA, eksURL, "theirs"), ro.TrustPolicyDocument, "their update kept")
				assert.Equal(t, []string{"mine=1"}, tags(ro))
			},
		},
		{
			name: "policy update over their tags",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.TagRole(arn, []iam.Tag{{Key: "theirs", Value: "1"}})
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				_, err := b.UpdateAssumeRolePolicy(arn, trustDoc(acctA, eksURL, "mine"))
				return err
			},
			check: func(t *testing.T, b *iam.Registry, _ *string) {
				ro, err := b.Role(arn)
				require.NoError(t, err)
				assert.Equal(t, trustDoc(acctA, eksURL, "mine"), ro.TrustPolicyDocument)
				assert.Equal(t, []string{"theirs=1"}, tags(ro), "their tag kept")
			},
		},
		{
			name: "tags added by both",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.TagRole(arn, []iam.Tag{{Key: "k", Value: "theirs"}, {Key: "a", Value: "1"}})
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				_, err := b.TagRole(arn, []iam.Tag{{Key: "K", Value: "mine"}, {Key: "b", Value: "2"}})
				return err
			},
			check: func(t *testing.T, b *iam.Registry, _ *string) {
				ro, err := b.Role(arn)
				require.NoError(t, err)
				// Tag keys are case-insensitive in IAM: "K" replaces "k".
				assert.Len(t, ro.Tags, 3, "%v", tags(ro))
			},
		},
		{
			name: "client IDs added by both",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: eksURL, ClientIDs: []string{"sts.amazonaws.com"}})
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.AddClientIDToOIDCProvider(provARN, "theirs")
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				_, err := b.AddClientIDToOIDCProvider(provARN, "mine")
				return err
			},
			check: func(t *testing.T, b *iam.Registry, _ *string) {
				p, err := b.OIDCProvider("aws", acctA, eksURL)
				require.NoError(t, err)
				got := slices.Clone(p.ClientIDs)
				slices.Sort(got)
				assert.Equal(t, []string{"mine", "sts.amazonaws.com", "theirs"}, got, "the union")
			},
		},
		{
			name: "tag of a role deleted and created again",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				require.NoError(t, a.DeleteRole(arn))
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				_, err := b.TagRole(arn, []iam.Tag{{Key: "mine", Value: "1"}})
				return err
			},
			check: func(t *testing.T, b *iam.Registry, theirs *string) {
				ro, err := b.Role(arn)
				require.NoError(t, err)
				assert.Equal(t, *theirs, ro.RoleID, "the role created again, its RoleID")
				assert.Equal(t, []string{"mine=1"}, tags(ro))
			},
		},
		{
			name: "put over a role deleted and created again",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				require.NoError(t, a.DeleteRole(arn))
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				ro := newRole(acctA, "app")
				ro.Description = "mine"
				_, err := b.PutRole(ro)
				return err
			},
			check: func(t *testing.T, b *iam.Registry, theirs *string) {
				ro, err := b.Role(arn)
				require.NoError(t, err)
				assert.Equal(t, *theirs, ro.RoleID, "PutRole keeps the current role's RoleID")
				assert.Equal(t, "mine", ro.Description)
			},
		},
		{
			name: "update of a role they deleted",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) { require.NoError(t, a.DeleteRole(arn)) },
			write: func(b *iam.Registry) error {
				d := "mine"
				_, err := b.UpdateRole(arn, iam.RoleUpdate{Description: &d})
				return err
			},
			code: iam.CodeNoSuchEntity,
		},
		{
			// The log holds a Loaded change: the catch-up cannot replay it
			// in the held transaction, and loads the whole state instead.
			name: "create after their Load",
			setup: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "old"))
				require.NoError(t, err)
			},
			ahead: func(t *testing.T, a *iam.Registry) {
				require.NoError(t, a.Load(nil, []*iam.Role{newRole(acctA, "loaded")}))
			},
			write: func(b *iam.Registry) error { _, err := b.CreateRole(newRole(acctA, "mine")); return err },
			check: func(t *testing.T, b *iam.Registry, _ *string) {
				assert.False(t, hasRole(b, roleARN(acctA, "old")), "replaced by the Load")
				assert.True(t, hasRole(b, roleARN(acctA, "loaded")))
				assert.True(t, hasRole(b, roleARN(acctA, "mine")))
			},
		},
		{
			// A stale Load is caught up and run again: it replaces the state
			// with their write in it, and keeps what an entity of its input
			// that exists there keeps (the RoleID of their role).
			name: "their write before my Load",
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateRole(newRole(acctA, "app"))
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				return b.Load(nil, []*iam.Role{newRole(acctA, "mine"), newRole(acctA, "app")})
			},
			check: func(t *testing.T, b *iam.Registry, theirs *string) {
				assert.True(t, hasRole(b, roleARN(acctA, "mine")))
				require.NotEmpty(t, *theirs)
				ro, err := b.Role(arn)
				require.NoError(t, err)
				assert.Equal(t, *theirs, ro.RoleID, "their role's RoleID, kept by the retried Load")
			},
		},
		{
			name: "provider of their URL in another account",
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: eksURL, ClientIDs: []string{"a"}})
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				_, err := b.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: eksURL, ClientIDs: []string{"b"}})
				return err
			},
			check: func(t *testing.T, b *iam.Registry, _ *string) {
				assert.Equal(t, []string{eksURL}, b.Issuers())
				require.NoError(t, b.DeleteOIDCProvider(provARN))
				assert.Equal(t, []string{eksURL}, b.Issuers(), "still acctB's issuer")
			},
		},
		{
			name: "providers per account quota", provQuota: 1,
			ahead: func(t *testing.T, a *iam.Registry) {
				_, err := a.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: eksURL, ClientIDs: []string{"a"}})
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				_, err := b.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: ghURL, ClientIDs: []string{"b"}})
				return err
			},
			code: iam.CodeLimitExceeded,
		},
		{
			name: "create with the RoleID of their role",
			ahead: func(t *testing.T, a *iam.Registry) {
				ro := newRole(acctA, "theirs")
				ro.RoleID = "AROAADVERSARY0000001"
				_, err := a.CreateRole(ro)
				require.NoError(t, err)
			},
			write: func(b *iam.Registry) error {
				ro := newRole(acctA, "mine")
				ro.RoleID = "AROAADVERSARY0000001"
				_, err := b.CreateRole(ro)
				return err
			},
			code: iam.CodeEntityAlreadyExists,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn, _ := testDB(t)
			opts := testOptions()
			opts.MaxRolesPerAccount = tc.quota
			opts.MaxOIDCProvidersPerAccount = tc.provQuota
			sa, a := replicaWith(t, dsn, Options{}, opts)
			sb, b := behind(t, dsn, opts)
			if tc.setup != nil {
				tc.setup(t, a)
				require.NoError(t, sb.Sync(context.Background()))
			}
			tc.ahead(t, a)
			var theirs string
			if ro, err := a.Role(arn); err == nil {
				theirs = ro.RoleID
			}
			require.Less(t, b.Revision(), a.Revision(), "b is behind")
			races := sb.Status().Races

			err := tc.write(b)
			if tc.code == "" {
				require.NoError(t, err)
			} else {
				var ie *iam.Error
				require.ErrorAs(t, err, &ie)
				assert.Equal(t, tc.code, ie.Code, "%v", err)
			}
			if tc.code == iam.CodeServiceFailure {
				assert.ErrorIs(t, err, ErrConflict)
			} else {
				assert.NotErrorIs(t, err, ErrConflict)
				assert.Equal(t, races+1, sb.Status().Races, "one lost race, one catch-up")
			}
			if tc.check != nil {
				tc.check(t, b, &theirs)
			}
			requireLikeDatabase(t, dsn, []*Store{sa, sb}, []*iam.Registry{a, b})
		})
	}
}

// feedRecord is one change as a watcher saw it.
type feedRecord struct {
	rev  uint64
	kind string
	arn  string
}

// watchFeed records every change the registry publishes.
func watchFeed(reg *iam.Registry) (get func() []feedRecord) {
	var mu sync.Mutex
	var got []feedRecord
	reg.Watch(func(c iam.Change) {
		mu.Lock()
		got = append(got, feedRecord{c.Revision, kindNames[c.Kind], c.ARN})
		mu.Unlock()
	})
	return func() []feedRecord {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// changeLog is the database's change log after rev.
func changeLog(t *testing.T, dsn string, after uint64) []feedRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT revision, kind, arn FROM webidentity.changes WHERE revision > $1 ORDER BY revision`, int64(after))
	require.NoError(t, err)
	var out []feedRecord
	var (
		rev  int64
		kind string
		arn  string
	)
	_, err = pgx.ForEachRow(rows, []any{&rev, &kind, &arn}, func() error {
		out = append(out, feedRecord{uint64(rev), kind, arn})
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestAdversaryThreeReplicasContend: three replicas (one whose follower
// catches up every millisecond, racing the writes' own catch-ups) with many
// writers on the same entities: tags with keys of their own on shared
// roles, client IDs on a shared provider, roles created and deleted. No
// write fails, none is lost (every success is in the database), every
// replica ends with the database's state, and every replica's feed is the
// change log exactly: nothing published that was not committed, nothing
// twice, nothing at another revision.
func TestAdversaryThreeReplicasContend(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	opts := testOptions()
	sa, a := replicaWith(t, dsn, Options{}, opts)
	sb, b := replicaWith(t, dsn, Options{ResyncInterval: time.Millisecond}, opts)
	sc, c := replicaWith(t, dsn, Options{}, opts)
	regs := []*iam.Registry{a, b, c}
	stores := []*Store{sa, sb, sc}
	prov, err := a.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: eksURL, ClientIDs: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	const shared = 4
	for i := range shared {
		_, err := a.CreateRole(newRole(acctA, "shared"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	start := a.Revision()
	for _, s := range stores {
		require.NoError(t, s.Sync(context.Background()))
	}
	feeds := make([]func() []feedRecord, len(regs))
	for i, r := range regs {
		feeds[i] = watchFeed(r)
	}

	const writers, rounds = 4, 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		tags = map[string][]string{} // role ARN -> tag keys written
		cids []string
		mine = map[string]bool{} // role ARN -> should exist
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for ri, reg := range regs {
		for w := range writers {
			wg.Go(func() {
				id := strconv.Itoa(ri) + "-" + strconv.Itoa(w)
				for i := range rounds {
					n := id + "-" + strconv.Itoa(i)
					target := roleARN(acctA, "shared"+strconv.Itoa((ri+w+i)%shared))
					if _, err := reg.TagRole(target, []iam.Tag{{Key: "t" + n, Value: n}}); err != nil {
						fail(err)
					} else {
						mu.Lock()
						tags[target] = append(tags[target], "t"+n)
						mu.Unlock()
					}
					if i%2 == 0 {
						if _, err := reg.AddClientIDToOIDCProvider(prov.ARN, "c"+n); err != nil {
							fail(err)
						} else {
							mu.Lock()
							cids = append(cids, "c"+n)
							mu.Unlock()
						}
					}
					own := roleARN(acctA, "own"+n)
					if _, err := reg.CreateRole(newRole(acctA, "own"+n)); err != nil {
						fail(err)
						continue
					}
					keep := i%3 != 0
					if !keep {
						if err := reg.DeleteRole(own); err != nil {
							fail(err)
							keep = true
						}
					}
					mu.Lock()
					mine[own] = keep
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	for i, err := range errs {
		if i < 5 {
			t.Logf("failed write: %v", err)
		}
	}
	require.Empty(t, errs, "%d writes failed", len(errs))

	requireLikeDatabase(t, dsn, stores, regs)
	for target, keys := range tags {
		ro, err := a.Role(target)
		require.NoError(t, err)
		have := map[string]bool{}
		for _, tg := range ro.Tags {
			have[tg.Key] = true
		}
		for _, k := range keys {
			assert.True(t, have[k], "tag %s of %s lost", k, target)
		}
	}
	p, err := a.OIDCProvider("aws", acctA, eksURL)
	require.NoError(t, err)
	for _, id := range cids {
		assert.Contains(t, p.ClientIDs, id, "client ID lost")
	}
	for arn, keep := range mine {
		assert.Equal(t, keep, hasRole(a, arn), "%s", arn)
	}
	log := changeLog(t, dsn, start)
	for i := 1; i < len(log); i++ {
		require.Equal(t, log[i-1].rev+1, log[i].rev, "the change log has no gap")
	}
	for i, feed := range feeds {
		assert.Equal(t, log, feed(), "replica %d's feed is the change log", i)
	}
	for i, s := range stores {
		t.Logf("replica %d: %d races", i, s.Status().Races)
	}
}

// TestAdversaryUnreleasedHoldEndsWithTheSession: a replica that took the
// revision row for a write's catch-up and never gave it back (a hang): the
// server ends its session after its idle_in_transaction_session_timeout
// (twice its Options.Timeout), and another replica's write, whose own
// timeout is longer, then commits. The replica that hung writes again
// afterwards.
func TestAdversaryUnreleasedHoldEndsWithTheSession(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sh, h := replicaWith(t, dsn, Options{Timeout: 300 * time.Millisecond}, testOptions())
	_, b := replicaWith(t, dsn, Options{Timeout: 5 * time.Second}, testOptions())
	release, err := sh.catchUpForWrite()
	require.NoError(t, err)
	require.NotNil(t, release, "the row is held")

	_, err = b.CreateRole(newRole(acctA, "other"))
	require.NoError(t, err, "the other replica's write waits for the server to end the hung session, not beyond its timeout")

	// The hung replica's hold is dead: its next write must not be failed
	// by the dead transaction.
	require.NoError(t, sh.Sync(context.Background()))
	_, err = h.CreateRole(newRole(acctA, "after"))
	assert.NoError(t, err, "the write after a hold that the server ended")
	release()
	_, err = h.CreateRole(newRole(acctA, "after-release"))
	assert.NoError(t, err)
}

// TestAdversaryHoldDiesBeforeItsCommit: the hold that a write's catch-up
// took dies (the server ended the session) before the retried attempt
// commits in it: the retried write must still succeed, on a new
// connection, or fail as the race it is, not as a broken database.
func TestAdversaryHoldDiesBeforeItsCommit(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sa, a := replicaWith(t, dsn, Options{}, testOptions())
	sb, b := behind(t, dsn, testOptions())
	_, err := a.CreateRole(newRole(acctA, "theirs"))
	require.NoError(t, err)
	// Kill b's hold the moment it is taken: a watcher of b sees the
	// catch-up's Apply of a's change, which runs while the row is held.
	killed := make(chan error, 1)
	stop := b.Watch(func(c iam.Change) {
		if c.ARN != roleARN(acctA, "theirs") {
			return
		}
		killed <- terminateOrigin(dsn, sb.Origin())
	})
	defer stop()
	_, err = b.CreateRole(newRole(acctA, "mine"))
	require.NoError(t, <-killed)
	assert.NoError(t, err, "the retried write after its hold died")
	assert.NotErrorIs(t, err, ErrUnavailable)
	requireLikeDatabase(t, dsn, []*Store{sa, sb}, []*iam.Registry{a, b})
}

// terminateOrigin ends, on the server, every session of the replica whose
// application_name names origin, but its LISTEN one.
func terminateOrigin(dsn, origin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
		"webidentity-pgstore "+origin)
	return err
}

// TestAdversaryCloseReleasesTheHold: Close of a replica holding the row
// gives it up at once: another replica's write, whose timeout is shorter
// than the server's idle timeout of the closed replica, commits.
func TestAdversaryCloseReleasesTheHold(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sh, h := replicaWith(t, dsn, Options{Timeout: 10 * time.Second}, testOptions())
	_, b := replicaWith(t, dsn, Options{Timeout: time.Second}, testOptions())
	_, err := sh.catchUpForWrite()
	require.NoError(t, err)
	require.NoError(t, sh.Close())
	_, err = b.CreateRole(newRole(acctA, "other"))
	require.NoError(t, err)
	_, err = h.CreateRole(newRole(acctA, "closed"))
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, err, iam.ErrServiceFailure)
}

// TestAdversaryDivergedDoesNotLoop: a database behind the replica (restored
// from a backup) is not a race: the write fails once, with ErrDiverged, no
// catch-up, and not as ErrConflict.
func TestAdversaryDivergedDoesNotLoop(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sa, a := behind(t, dsn, testOptions())
	for i := range 3 {
		_, err := a.CreateRole(newRole(acctA, "r"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	admin(t, dsn, `UPDATE webidentity.meta SET revision = 1`, `DELETE FROM webidentity.changes WHERE revision > 1`)
	races := sa.Status().Races
	_, err := a.CreateRole(newRole(acctA, "after"))
	require.ErrorIs(t, err, iam.ErrServiceFailure)
	assert.ErrorIs(t, err, ErrDiverged)
	assert.NotErrorIs(t, err, ErrConflict)
	assert.NotErrorIs(t, err, iam.ErrStale)
	assert.Equal(t, races, sa.Status().Races, "no catch-up")
	assert.EqualValues(t, 1, queryInt(t, dsn, `SELECT revision FROM webidentity.meta`))
}

// TestAdversaryCatchUpFailureIsAServiceFailure: a write whose catch-up
// cannot install the fleet's changes (this replica's quota refuses them:
// ErrCannotFollow) fails with CodeServiceFailure wrapping both the race
// and the catch-up's error, gives the row up (the other replica's next
// write, with a short timeout, commits), and does not loop.
func TestAdversaryCatchUpFailureIsAServiceFailure(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replicaWith(t, dsn, Options{Timeout: time.Second}, testOptions())
	strict := testOptions()
	strict.MaxRolesPerAccount = 1
	sb, b := behind(t, dsn, strict)
	for i := range 2 {
		_, err := a.CreateRole(newRole(acctA, "r"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	races := sb.Status().Races
	_, err := b.CreateRole(newRole(acctB, "mine"))
	var ie *iam.Error
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, iam.CodeServiceFailure, ie.Code)
	assert.ErrorIs(t, err, ErrConflict)
	assert.ErrorIs(t, err, ErrCannotFollow)
	assert.Equal(t, races+1, sb.Status().Races, "one catch-up, no loop")
	_, err = a.CreateRole(newRole(acctA, "after"))
	require.NoError(t, err, "the row is not held")
	assert.False(t, hasRole(b, roleARN(acctB, "mine")))
}

// TestAdversaryWatcherPanicAfterRetriedCommit: a watcher that panics when
// the retried attempt publishes (Commit publishes under the write lock)
// leaves neither the row held nor the registry locked: the other
// replica's write, with a timeout shorter than the server's idle timeout,
// commits, and this replica writes again.
func TestAdversaryWatcherPanicAfterRetriedCommit(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replicaWith(t, dsn, Options{Timeout: time.Second}, testOptions())
	sb, b := behind(t, dsn, testOptions())
	_, err := a.CreateRole(newRole(acctA, "theirs"))
	require.NoError(t, err)
	armed := true
	stop := b.Watch(func(c iam.Change) {
		if armed && c.ARN == roleARN(acctA, "boom") {
			armed = false
			panic("watcher")
		}
	})
	defer stop()
	func() {
		defer func() { assert.NotNil(t, recover(), "the watcher's panic") }()
		_, _ = b.CreateRole(newRole(acctA, "boom"))
	}()
	assert.Equal(t, uint64(1), sb.Status().Races)
	_, err = a.CreateRole(newRole(acctA, "after"))
	require.NoError(t, err, "the row was released")
	_, err = b.CreateRole(newRole(acctA, "again"))
	require.NoError(t, err, "the registry is not locked")
}

// Holder processes: TestAdversaryHolderProcess, run as a child with
// holderEnv set, opens a replica, takes the revision row as a write's
// catch-up does, says "held" and waits, holding it, until killed.
const (
	holderEnv        = "WEBIDENTITY_PGSTORE_ADV_HOLDER"         // the database
	holderTimeoutEnv = "WEBIDENTITY_PGSTORE_ADV_HOLDER_TIMEOUT" // Options.Timeout
)

func TestAdversaryHolderProcess(t *testing.T) {
	dsn := os.Getenv(holderEnv)
	if dsn == "" {
		t.Skip("run by the process tests as a child")
	}
	timeout, err := time.ParseDuration(os.Getenv(holderTimeoutEnv))
	require.NoError(t, err)
	s, err := Open(context.Background(), dsn, Options{Timeout: timeout})
	require.NoError(t, err)
	_, err = s.Registry(testOptions())
	require.NoError(t, err)
	release, err := s.catchUpForWrite()
	require.NoError(t, err)
	require.NotNil(t, release)
	fmt.Println("held")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// startHolder starts a holder process on dsn and waits until it holds the
// row.
func startHolder(t *testing.T, dsn string, timeout time.Duration) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAdversaryHolderProcess$")
	cmd.Env = append(os.Environ(), holderEnv+"="+dsn, holderTimeoutEnv+"="+timeout.String(), dsnEnv+"="+server.dsn)
	cmd.Stderr = os.Stderr
	_, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	held := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "held" {
				ok = true
				break
			}
		}
		held <- ok
	}()
	select {
	case ok := <-held:
		require.True(t, ok, "the holder exited before holding the row")
	case <-time.After(30 * time.Second):
		t.Fatal("the holder did not take the row")
	}
	return cmd
}

// TestAdversaryHolderKilled: a replica process SIGKILLed while it holds the
// revision row: the server ends its transaction, and another replica's
// write, whose timeout is shorter than the killed replica's idle timeout,
// commits.
func TestAdversaryHolderKilled(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, b := replicaWith(t, dsn, Options{Timeout: time.Second}, testOptions())
	cmd := startHolder(t, dsn, 10*time.Second)
	require.NoError(t, cmd.Process.Kill())
	_, err := b.CreateRole(newRole(acctA, "after-kill"))
	require.NoError(t, err)
}

// TestAdversaryHolderFrozen: a replica process stopped (SIGSTOP: a pause,
// a partition) while it holds the row: its connection stays open, and the
// server ends the session after its idle_in_transaction_session_timeout;
// another replica's write, with a longer timeout, then commits.
func TestAdversaryHolderFrozen(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, b := replicaWith(t, dsn, Options{Timeout: 5 * time.Second}, testOptions())
	cmd := startHolder(t, dsn, 300*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
	_, err := b.CreateRole(newRole(acctA, "after-freeze"))
	require.NoError(t, err)
	var ie *iam.Error
	assert.False(t, errors.As(err, &ie))
}

// TestAdversaryWatcherPanicDuringCatchUpReleasesTheRow: a watcher that
// panics while the write's catch-up applies the other replica's change
// (the revision row held, in catchUpForWrite): the panic reaches the
// writer, and the row must be given up with it. Otherwise the other
// replica's writes wait for the server's idle timeout of this replica
// (twice its Options.Timeout), and fail meanwhile if their timeout is
// shorter; and the pooled connection of the held transaction is never
// returned.
func TestAdversaryWatcherPanicDuringCatchUpReleasesTheRow(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replicaWith(t, dsn, Options{Timeout: 500 * time.Millisecond}, testOptions())
	// b's Close is bounded below: with the connection of a leaked
	// transaction, pgxpool's Close waits for it forever.
	sb, err := Open(context.Background(), dsn, Options{Channel: "adversary_deaf", ResyncInterval: time.Hour, Timeout: 2 * time.Second}) // idle timeout 4 s
	require.NoError(t, err)
	b, err := sb.Registry(testOptions())
	require.NoError(t, err)
	quiet(t, sb)
	defer func() {
		closed := make(chan struct{})
		go func() { _ = sb.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Error("Close hangs: the held transaction's connection was never returned to the pool")
		}
	}()
	_, err = a.CreateRole(newRole(acctA, "theirs"))
	require.NoError(t, err)
	var armed sync.Once
	stop := b.Watch(func(c iam.Change) {
		if c.ARN == roleARN(acctA, "theirs") {
			armed.Do(func() { panic("watcher") })
		}
	})
	defer stop()
	func() {
		defer func() { assert.NotNil(t, recover(), "the watcher's panic reaches the writer") }()
		_, _ = b.CreateRole(newRole(acctA, "mine"))
	}()
	assert.EqualValues(t, 1, sb.Status().Races)
	assert.Zero(t, queryInt(t, dsn, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
		"webidentity-pgstore "+sb.Origin()), "no transaction of this replica left open")
	_, err = a.CreateRole(newRole(acctA, "after"))
	assert.NoError(t, err, "the other replica writes within its timeout: the row was given up: %v", cause(err))
	_, err = b.CreateRole(newRole(acctA, "again"))
	assert.NoError(t, err, "this replica writes again: %v", cause(err))
}

// TestAdversarySlowWatcherDuringCatchUp: a watcher slower than twice the
// store's Options.Timeout while the write's catch-up applies the other
// replica's change: the server ends the held transaction's session for
// idling (idle_in_transaction_session_timeout) before the retried attempt
// commits in it. The write must still succeed (on a new connection, or
// caught up again), not fail as a database error.
func TestAdversarySlowWatcherDuringCatchUp(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replicaWith(t, dsn, Options{}, testOptions())
	sb, err := Open(context.Background(), dsn, Options{Channel: "adversary_deaf", ResyncInterval: time.Hour, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	b, err := sb.Registry(testOptions())
	require.NoError(t, err)
	quiet(t, sb)
	_, err = a.CreateRole(newRole(acctA, "theirs"))
	require.NoError(t, err)
	stop := b.Watch(func(c iam.Change) {
		if c.ARN != roleARN(acctA, "theirs") {
			return
		}
		// Wait until the server has ended the idle held session.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && queryInt(t, dsn,
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
			"webidentity-pgstore "+sb.Origin()) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer stop()
	_, err = b.CreateRole(newRole(acctA, "mine"))
	assert.NoError(t, err, "the retried write after the server ended its held session: %v", cause(err))
	assert.True(t, hasRole(b, roleARN(acctA, "theirs")))
	requireLikeDatabase(t, dsn, []*Store{sb}, []*iam.Registry{b})
}

// TestAdversaryIdleHoldThenOwnWrite: the replica's hold sits unused until
// the server ends its session (a pause of the process, say), and the
// replica's next commit is at the held revision + 1, so it is made in the
// dead transaction: it must succeed on a new connection.
func TestAdversaryIdleHoldThenOwnWrite(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sh, h := replicaWith(t, dsn, Options{Timeout: 200 * time.Millisecond}, testOptions())
	_, err := sh.catchUpForWrite()
	require.NoError(t, err)
	eventually(t, 10*time.Second, "the server ends the idle held session", func() bool {
		return queryInt(t, dsn, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
			"webidentity-pgstore "+sh.Origin()) == 0
	})
	_, err = h.CreateRole(newRole(acctA, "after-pause"))
	assert.NoError(t, err, "%v", cause(err))
}

// TestAdversaryWriteBehindAFrozenHolderFailsInItsTimeout: a replica frozen
// while holding the row, whose idle timeout is far longer than another
// replica's write timeout: that write does not wait beyond its timeout,
// and fails as unavailable (a ServiceFailure), not as a race, changing
// nothing.
func TestAdversaryWriteBehindAFrozenHolderFailsInItsTimeout(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sb, b := replicaWith(t, dsn, Options{Timeout: 500 * time.Millisecond}, testOptions())
	cmd := startHolder(t, dsn, 10*time.Second)
	require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
	_, err := b.CreateRole(newRole(acctA, "blocked"))
	require.ErrorIs(t, err, iam.ErrServiceFailure)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.False(t, hasRole(b, roleARN(acctA, "blocked")))
	require.NoError(t, cmd.Process.Kill())
	eventually(t, 10*time.Second, "writes again once the holder is gone", func() bool {
		_, err := b.CreateRole(newRole(acctA, "after"))
		return err == nil
	})
	assert.Zero(t, sb.Status().Races)
}

// cause is the cause an *iam.Error wraps, for failure messages.
func cause(err error) error {
	var ie *iam.Error
	if errors.As(err, &ie) {
		return ie.Err
	}
	return err
}

// TestAdversaryCloseWhileWaitingForTheRow: Close of a replica whose write
// waits for the revision row that a frozen replica holds: the write
// returns (ErrClosed, a ServiceFailure) and Close returns, without waiting
// for the write's timeout or the holder's idle timeout.
func TestAdversaryCloseWhileWaitingForTheRow(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sb, b := replicaWith(t, dsn, Options{Timeout: time.Minute}, testOptions())
	cmd := startHolder(t, dsn, time.Minute)
	require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
	write := make(chan error, 1)
	go func() { _, err := b.CreateRole(newRole(acctA, "waiting")); write <- err }()
	eventually(t, 10*time.Second, "the write waits for the row", func() bool {
		return queryInt(t, dsn, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
			"webidentity-pgstore "+sb.Origin()) > 0
	})
	closed := make(chan error, 1)
	go func() { closed <- sb.Close() }()
	select {
	case err := <-write:
		assert.ErrorIs(t, err, iam.ErrServiceFailure)
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(20 * time.Second):
		t.Fatal("the write waits on after Close")
	}
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Close hangs")
	}
}

// TestAdversaryThreeReplicasSameNames: three replicas whose writers
// create, tag, update and delete roles of the same few names (spelled in
// different cases): every write succeeds or gets IAM's answer against the
// fleet's state (EntityAlreadyExists, NoSuchEntity), never a
// ServiceFailure; afterwards every replica holds the database's state,
// every replica's feed is the change log, and each role's RoleID is that
// of its last create.
func TestAdversaryThreeReplicasSameNames(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	var stores []*Store
	var regs []*iam.Registry
	for i := range 3 {
		s, r := replicaWith(t, dsn, Options{ResyncInterval: time.Duration(1+i*200) * time.Millisecond}, testOptions())
		stores, regs = append(stores, s), append(regs, r)
	}
	feeds := make([]func() []feedRecord, len(regs))
	for i, r := range regs {
		feeds[i] = watchFeed(r)
	}
	spellings := []string{"app", "APP", "App"}
	const writers, rounds, names = 3, 12, 2
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for ri, reg := range regs {
		for w := range writers {
			wg.Go(func() {
				for i := range rounds {
					n := strconv.Itoa((w + i) % names)
					name := spellings[(ri+i)%len(spellings)] + n
					arn := roleARN(acctA, "app"+n) // ARNs keep the name's case: look it up
					var err error
					switch (ri + w + i) % 4 {
					case 0:
						_, err = reg.CreateRole(newRole(acctA, name))
					case 1:
						if ro, e := reg.RoleByName("aws", acctA, name); e == nil {
							arn = ro.ARN
						}
						_, err = reg.TagRole(arn, []iam.Tag{{Key: "w" + strconv.Itoa(ri) + strconv.Itoa(w), Value: strconv.Itoa(i)}})
					case 2:
						if ro, e := reg.RoleByName("aws", acctA, name); e == nil {
							arn = ro.ARN
						}
						_, err = reg.UpdateAssumeRolePolicy(arn, trustDoc(acctA, eksURL, "sub-"+strconv.Itoa(ri)+"-"+strconv.Itoa(i)))
					case 3:
						if ro, e := reg.RoleByName("aws", acctA, name); e == nil {
							arn = ro.ARN
						}
						err = reg.DeleteRole(arn)
					}
					if err != nil && !errors.Is(err, iam.ErrEntityAlreadyExists) && !errors.Is(err, iam.ErrNoSuchEntity) {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	for i, err := range errs {
		if i < 5 {
			t.Logf("failed write: %v: %v", err, cause(err))
		}
	}
	require.Empty(t, errs)
	requireLikeDatabase(t, dsn, stores, regs)
	log := changeLog(t, dsn, 0)
	for i, feed := range feeds {
		assert.Equal(t, log, feed(), "replica %d's feed is the change log", i)
	}
	// The RoleID of each role is that of the create that made it.
	lastCreate := map[string]string{}
	for _, l := range log {
		if l.kind == kindNames[iam.RoleCreated] {
			lastCreate[strings.ToLower(l.arn)] = l.arn
		}
	}
	for _, ro := range regs[0].ListRoles("aws", acctA, "/") {
		assert.Equal(t, lastCreate[strings.ToLower(ro.ARN)], ro.ARN)
		assert.Equal(t, ro.RoleID, queryString(t, dsn, `SELECT role_id FROM webidentity.roles WHERE arn = $1`, ro.ARN))
	}
	for i, s := range stores {
		t.Logf("replica %d: %d races", i, s.Status().Races)
	}
}

// queryString runs a query that answers one string.
func queryString(t testing.TB, dsn, query string, args ...any) string {
	t.Helper()
	return queryOne[string](t, dsn, query, args...)
}

// TestAdversaryRacingReplicaKilled: two replica processes and this one
// create roles as fast as they can, racing (so their writes catch up and
// hold the revision row often); one process is SIGKILLed mid-burst. The
// other process's writes and this one's go on succeeding (a burst child
// exits at its first failed write), and every acknowledged write of the
// three is in the database.
func TestAdversaryRacingReplicaKilled(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	s, reg := replicaWith(t, dsn, Options{}, testOptions())
	victim := startChild(t, "burst", dsn, childRoundEnv+"=v")
	survivor := startChild(t, "burst", dsn, childRoundEnv+"=s")
	var acked []childLine
	collect := func(c *child, n int) {
		for done := 0; done < n; {
			l := c.next(t)
			if l.Op == "done" {
				acked = append(acked, l)
				done++
			}
		}
	}
	var mine []string
	for i := range 30 {
		ro, err := reg.CreateRole(newRole(acctA, "parent-"+strconv.Itoa(i)))
		require.NoError(t, err)
		mine = append(mine, ro.ARN)
		if i == 10 {
			collect(victim, 5)
			require.NoError(t, victim.cmd.Process.Kill())
		}
	}
	for l := range victim.lines {
		if l.Op == "done" {
			acked = append(acked, l)
		}
	}
	// What the survivor wrote so far, then 20 writes made after the kill
	// and after this replica's writes: it still writes.
	for drained := false; !drained; {
		select {
		case l, ok := <-survivor.lines:
			require.True(t, ok, "the survivor exited: a write of it failed")
			if l.Op == "done" {
				acked = append(acked, l)
			}
		default:
			drained = true
		}
	}
	collect(survivor, 20)
	require.NoError(t, survivor.cmd.Process.Kill())
	for l := range survivor.lines {
		if l.Op == "done" {
			acked = append(acked, l)
		}
	}
	_ = survivor.cmd.Wait()
	require.NoError(t, s.Sync(context.Background()))
	_, check := replica(t, dsn, Options{})
	for _, l := range acked {
		ro, err := check.Role(l.ARN)
		require.NoError(t, err, "acknowledged write %s lost", l.ARN)
		assert.Equal(t, l.RoleID, ro.RoleID)
	}
	for _, arn := range mine {
		assert.True(t, hasRole(check, arn), "%s lost", arn)
	}
	t.Logf("%d acknowledged child writes; this replica's races: %d", len(acked), s.Status().Races)
}

// TestAdversaryWritesDuringAnotherReplicasLoad: a replica's writes while
// another replica's Load (an import of hundreds of roles, one long
// transaction holding the revision row) commits: they wait for it, then
// catch up with the whole state (the log holds a Loaded change) and
// commit, on top of the Load. A write that commits before the Load's
// transaction takes the revision row makes the Load stale; the Load then
// catches up and runs again, replacing it, as a Load replaces the fleet's
// state (seen once in CI: the test expected every write to survive).
func TestAdversaryWritesDuringAnotherReplicasLoad(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	sa, a := behind(t, dsn, testOptions()) // no catch-up of its own in the way
	sb, b := replicaWith(t, dsn, Options{}, testOptions())
	var roles []*iam.Role
	for i := range 5000 {
		roles = append(roles, newRole(fmt.Sprintf("1000000000%02d", i%6), "imported-"+strconv.Itoa(i)))
	}
	// The revisions of a's Load and of b's writes, as each registry published them.
	var revMu sync.Mutex
	var loadRev uint64
	wrote := map[string]uint64{}
	defer a.Watch(func(c iam.Change) {
		if c.Kind == iam.Loaded {
			revMu.Lock()
			loadRev = c.Revision
			revMu.Unlock()
		}
	})()
	defer b.Watch(func(c iam.Change) {
		if c.Kind == iam.RoleCreated {
			revMu.Lock()
			wrote[c.ARN] = c.Revision
			revMu.Unlock()
		}
	})()
	var wg sync.WaitGroup
	var loadErr error
	wg.Go(func() { loadErr = a.Load(nil, roles) })
	// b's writes start once the Load's transaction is open (or over).
	eventually(t, 30*time.Second, "the Load's transaction", func() bool {
		return a.Revision() > 0 || queryInt(t, dsn, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND xact_start IS NOT NULL`,
			"webidentity-pgstore "+sa.Origin()) > 0
	})
	inTx := a.Revision() == 0
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { _, errs[i] = b.CreateRole(newRole(acctB, "during-"+strconv.Itoa(i))) })
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err, "%v", cause(err))
	}
	if loadErr != nil {
		// The Load lost the race to b's writes: it is not retried.
		assert.ErrorIs(t, loadErr, ErrConflict)
	}
	requireLikeDatabase(t, dsn, []*Store{sa, sb}, []*iam.Registry{a, b})
	revMu.Lock()
	defer revMu.Unlock()
	for i := range errs {
		// A Load replaces the fleet's state. One that commits before b's
		// writes comes before them, and they survive; one that found
		// itself stale (b committed first) caught up and ran again
		// (iam.Registry.Load with Options.CatchUp), replacing what came
		// before it. No write is lost otherwise.
		arn := roleARN(acctB, "during-"+strconv.Itoa(i))
		rev, ok := wrote[arn]
		if !assert.True(t, ok, "b published its write %d", i) {
			continue
		}
		if loadErr == nil && rev < loadRev {
			assert.False(t, hasRole(a, arn), "b's write %d (revision %d) came before the Load (%d), which replaced it", i, rev, loadRev)
			continue
		}
		assert.True(t, hasRole(a, arn), "b's write %d (revision %d) survives the Load (%d)", i, rev, loadRev)
	}
	t.Logf("b's writes started during the Load's transaction: %v; load: %v (revision %d); b's writes: %v; b's races: %d",
		inTx, loadErr, loadRev, wrote, sb.Status().Races)
}
