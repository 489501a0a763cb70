package pgstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

func TestOpenCreatesTheSchemaOnce(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	ctx := context.Background()

	// A fleet's first start: every replica at once. One creates the
	// tables; none fails.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(ctx, dsn, Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, SchemaVersion, queryInt(t, dsn, `SELECT schema_version FROM webidentity.meta`))
	assert.EqualValues(t, 0, queryInt(t, dsn, `SELECT revision FROM webidentity.meta`))

	// A schema of its own per fleet: the two do not see each other.
	_, regA := replica(t, dsn, Options{})
	_, regB := replica(t, dsn, Options{Schema: "Other Fleet"})
	_, err := regA.CreateRole(newRole(acctA, "a"))
	require.NoError(t, err)
	assert.EqualValues(t, 1, queryInt(t, dsn, `SELECT revision FROM webidentity.meta`))
	assert.EqualValues(t, 0, queryInt(t, dsn, `SELECT revision FROM "Other Fleet".meta`))
	assert.False(t, hasRole(regB, roleARN(acctA, "a")))
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		mangle string
		want   error
	}{
		{"another schema version", `UPDATE webidentity.meta SET schema_version = 99`, ErrUnsupportedVersion},
		{"a missing table", `DROP TABLE webidentity.changes`, ErrCorrupt},
		{"no meta row", `DELETE FROM webidentity.meta`, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn, _ := testDB(t)
			s, err := Open(ctx, dsn, Options{})
			require.NoError(t, err)
			require.NoError(t, s.Close())
			admin(t, dsn, tc.mangle)
			_, err = Open(ctx, dsn, Options{})
			assert.ErrorIs(t, err, tc.want)
		})
	}
	t.Run("no server", func(t *testing.T) {
		_, err := Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5", Options{})
		assert.ErrorIs(t, err, ErrUnavailable)
	})
	t.Run("options", func(t *testing.T) {
		for _, o := range []Options{
			{Schema: strings.Repeat("s", 64)},
			{Schema: strings.Repeat("s", 60)}, // the default channel would be too long
			{ResyncInterval: -1},
			{Timeout: -1},
		} {
			_, err := Open(ctx, "postgres://127.0.0.1:1/x", o)
			assert.Error(t, err, "%+v", o)
			assert.NotErrorIs(t, err, ErrUnavailable, "refused before any connection: %+v", o)
		}
	})
}

func TestCorruptRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mangle string
		want   error
	}{
		{"not JSON", `UPDATE webidentity.roles SET entity = '[1]'`, ErrCorrupt},
		{"another record version", `UPDATE webidentity.providers SET entity = '{"v":2}'`, ErrUnsupportedVersion},
		{"ARN differs from its row", `UPDATE webidentity.roles SET arn = 'arn:aws:iam::111122223333:role/other' WHERE arn LIKE '%/app'`, ErrCorrupt},
		{"revision later than the store's", `UPDATE webidentity.roles SET revision = 99`, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn, _ := testDB(t)
			s, reg := replica(t, dsn, Options{})
			fill(t, reg)
			require.NoError(t, s.Close())
			admin(t, dsn, tc.mangle)
			s2, err := Open(context.Background(), dsn, Options{})
			require.NoError(t, err)
			defer s2.Close()
			_, err = s2.Registry(testOptions())
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// TestRestartKeepsEverything: a replica started later holds exactly what
// the writer holds, at its revision: every field, the trust policy text as
// written, creation dates to the nanosecond.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	s, reg := replica(t, dsn, Options{})
	fill(t, reg)
	want := dump(reg)
	require.NoError(t, s.Close())

	_, again := replica(t, dsn, Options{})
	assert.Equal(t, want, dump(again))
	ro, err := again.Role(iam.RoleARN("aws", acctA, "/ci/", "Deploy"))
	require.NoError(t, err)
	assert.NotNil(t, ro.TrustPolicy, "compiled at load")
	assert.EqualValues(t, reg.Revision(), queryInt(t, dsn, `SELECT revision FROM webidentity.meta`))
	assert.EqualValues(t, reg.Revision(), queryInt(t, dsn, `SELECT count(*) FROM webidentity.changes`), "one log row per revision")
	assert.EqualValues(t, 2, queryInt(t, dsn, `SELECT count(*) FROM webidentity.providers`))
	assert.EqualValues(t, 2, queryInt(t, dsn, `SELECT count(*) FROM webidentity.roles`))
}

// TestReplicasFollowEachOther: two replicas on one database; what one
// writes the other enforces within a second, deletes included.
func TestReplicasFollowEachOther(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	_, b := replica(t, dsn, Options{})
	var watched []iam.Change
	var mu sync.Mutex
	b.Watch(func(c iam.Change) {
		mu.Lock()
		watched = append(watched, c)
		mu.Unlock()
	})

	p, err := a.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: eksURL, ClientIDs: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	ro, err := a.CreateRole(newRole(acctA, "app"))
	require.NoError(t, err)
	took := eventually(t, within, "B has A's role", func() bool { return hasRole(b, ro.ARN) })
	t.Logf("A's create seen by B after %v", took)
	got, err := b.OIDCProvider("aws", acctA, eksURL)
	require.NoError(t, err)
	assert.Equal(t, p.ClientIDs, got.ClientIDs)
	gotRole, err := b.Role(ro.ARN)
	require.NoError(t, err)
	assert.Equal(t, ro.RoleID, gotRole.RoleID)

	// B updates, A sees the new trust policy.
	doc := trustDoc(acctA, eksURL, "system:serviceaccount:ns:other")
	_, err = b.UpdateAssumeRolePolicy(ro.ARN, doc)
	require.NoError(t, err)
	eventually(t, within, "A has B's trust policy", func() bool {
		r, err := a.Role(ro.ARN)
		return err == nil && r.TrustPolicyDocument == doc
	})

	// B deletes, A stops accepting the role.
	require.NoError(t, b.DeleteRole(ro.ARN))
	took = eventually(t, within, "A dropped the role B deleted", func() bool {
		_, err := a.Role(ro.ARN)
		return errors.Is(err, iam.ErrNoSuchEntity)
	})
	t.Logf("B's delete seen by A after %v", took)
	require.NoError(t, a.DeleteOIDCProvider(p.ARN))
	eventually(t, within, "B dropped the provider", func() bool {
		_, err := b.OIDCProvider("aws", acctA, eksURL)
		return errors.Is(err, iam.ErrNoSuchEntity)
	})
	sameAs(t, a, b)

	// B's watchers saw every change, at the fleet's revisions, in order,
	// with the issuer feed a key cache needs.
	mu.Lock()
	defer mu.Unlock()
	var revs []uint64
	var kinds []iam.ChangeKind
	for _, c := range watched {
		revs = append(revs, c.Revision)
		kinds = append(kinds, c.Kind)
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5}, revs)
	assert.Equal(t, []iam.ChangeKind{iam.ProviderCreated, iam.RoleCreated, iam.RoleUpdated, iam.RoleDeleted, iam.ProviderDeleted}, kinds)
	assert.Equal(t, []string{eksURL}, watched[0].IssuersAdded)
	assert.Equal(t, []string{eksURL}, watched[4].IssuersRemoved)
}

// TestConcurrentCreatesOneWins: the same role created through two replicas
// at once: exactly one succeeds; the other gets EntityAlreadyExists, never a
// ServiceFailure (a loser that had not caught up yet is caught up and tried
// again by its registry); both then hold the winner's role.
func TestConcurrentCreatesOneWins(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	_, b := replica(t, dsn, Options{})
	for i := range 30 {
		name := "race-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		var (
			wg         sync.WaitGroup
			start      = make(chan struct{})
			roA, roB   *iam.Role
			errA, errB error
		)
		wg.Go(func() { <-start; roA, errA = a.CreateRole(newRole(acctA, name)) })
		// Names differ in case only: IAM's role names are unique ignoring case.
		wg.Go(func() { <-start; roB, errB = b.CreateRole(newRole(acctA, strings.ToUpper(name))) })
		close(start)
		wg.Wait()
		require.True(t, (errA == nil) != (errB == nil), "exactly one wins: A %v, B %v", errA, errB)
		winner, loserErr := roA, errB
		if errA != nil {
			winner, loserErr = roB, errA
		}
		require.ErrorIs(t, loserErr, iam.ErrEntityAlreadyExists)
		assert.NotErrorIs(t, loserErr, iam.ErrServiceFailure)
		assert.NotErrorIs(t, loserErr, ErrConflict)
		eventually(t, within, "both replicas hold the winner", func() bool {
			ra, errA := a.RoleByName("aws", acctA, name)
			rb, errB := b.RoleByName("aws", acctA, name)
			return errA == nil && errB == nil && ra.RoleID == winner.RoleID && rb.RoleID == winner.RoleID
		})
	}
	assert.EqualValues(t, 30, queryInt(t, dsn, `SELECT count(*) FROM webidentity.roles`))
	assert.EqualValues(t, 30, queryInt(t, dsn, `SELECT revision FROM webidentity.meta`), "one revision per winner, none for a loser")
	assert.EqualValues(t, 30, queryInt(t, dsn, `SELECT count(*) FROM webidentity.changes`))
	sameAs(t, a, b)
}

// TestBehindReplicaWriteIsRetried: a replica that has not yet heard of
// another's change cannot write over it, and its caller does not see the
// race either: the write finds the database ahead, the registry catches up
// and runs it again, and the answer is the one IAM gives against the fleet's
// current state.
func TestBehindReplicaWriteIsRetried(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	// B hears no notification (another channel) and resyncs only when
	// asked: it is behind after every write of A.
	sb, b := replica(t, dsn, Options{Channel: "elsewhere", ResyncInterval: time.Hour})
	quiet(t, sb)
	behind := func(t *testing.T) {
		t.Helper()
		require.Less(t, b.Revision(), a.Revision(), "B is behind")
	}
	dbRev := func() int64 { return queryInt(t, dsn, `SELECT revision FROM webidentity.meta`) }

	first, err := a.CreateRole(newRole(acctA, "first"))
	require.NoError(t, err)
	behind(t)
	second, err := b.CreateRole(newRole(acctA, "second"))
	require.NoError(t, err, "a different role: committed on top of A's")
	assert.Equal(t, testTime, second.CreateDate)
	assert.EqualValues(t, 2, b.Revision())
	assert.True(t, hasRole(b, first.ARN), "B caught up before its write")
	assert.EqualValues(t, 1, sb.Status().Races, "B's write lost the race once, and B caught up for it")
	assert.EqualValues(t, 2, dbRev())
	assert.NoError(t, sb.WritesReady(), "a lost race is no outage")

	t.Run("same name", func(t *testing.T) {
		dup, err := a.CreateRole(newRole(acctA, "dup"))
		require.NoError(t, err)
		behind(t)
		rev := dbRev()
		_, err = b.CreateRole(newRole(acctA, "DUP"))
		require.ErrorIs(t, err, iam.ErrEntityAlreadyExists, "decided on the fleet's state")
		assert.NotErrorIs(t, err, iam.ErrServiceFailure)
		assert.Equal(t, rev, dbRev(), "nothing written")
		got, err := b.RoleByName("aws", acctA, "dup")
		require.NoError(t, err)
		assert.Equal(t, dup.RoleID, got.RoleID)
		// The revision row B took for its retry, which needed no commit,
		// is given up: no transaction of B's is left open.
		assert.Zero(t, queryInt(t, dsn, `SELECT count(*) FROM pg_stat_activity
			WHERE state LIKE 'idle in transaction%' AND application_name = $1`, "webidentity-pgstore "+sb.Origin()))
	})
	t.Run("update over an update", func(t *testing.T) {
		_, err := a.TagRole(second.ARN, []iam.Tag{{Key: "by", Value: "a"}})
		require.NoError(t, err)
		behind(t)
		ro, err := b.TagRole(second.ARN, []iam.Tag{{Key: "also", Value: "b"}})
		require.NoError(t, err)
		assert.Equal(t, []iam.Tag{{Key: "by", Value: "a"}, {Key: "also", Value: "b"}}, ro.Tags, "A's update is not lost")
	})
	t.Run("delete after an update", func(t *testing.T) {
		d := "updated by A"
		_, err := a.UpdateRole(first.ARN, iam.RoleUpdate{Description: &d})
		require.NoError(t, err)
		behind(t)
		require.NoError(t, b.DeleteRole(first.ARN))
		assert.False(t, hasRole(b, first.ARN))
		assert.Zero(t, queryInt(t, dsn, `SELECT count(*) FROM webidentity.roles WHERE arn = $1`, first.ARN))
	})
	t.Run("update after a delete", func(t *testing.T) {
		gone, err := b.CreateRole(newRole(acctA, "gone"))
		require.NoError(t, err)
		eventually(t, within, "A has B's role", func() bool { return hasRole(a, gone.ARN) })
		require.NoError(t, a.DeleteRole(gone.ARN))
		behind(t)
		_, err = b.TagRole(gone.ARN, []iam.Tag{{Key: "k", Value: "v"}})
		require.ErrorIs(t, err, iam.ErrNoSuchEntity)
		assert.NotErrorIs(t, err, iam.ErrServiceFailure)
		assert.ErrorIs(t, b.DeleteRole(gone.ARN), iam.ErrNoSuchEntity)
	})
	eventually(t, within, "A has B's writes", func() bool { return a.Revision() == b.Revision() })
	sameAs(t, a, b)
}

// TestResyncHealsMissedNotifications: a replica that hears no notification
// at all still enforces every change within a second: the periodic resync
// (500 ms by default).
func TestResyncHealsMissedNotifications(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	_, b := replica(t, dsn, Options{Channel: "elsewhere"})
	for i := range 3 {
		ro, err := a.CreateRole(newRole(acctA, "r"+string(rune('0'+i))))
		require.NoError(t, err)
		took := eventually(t, within, "B has the role without a notification", func() bool { return hasRole(b, ro.ARN) })
		t.Logf("seen after %v", took)
	}
	sameAs(t, a, b)
}

// TestListenerReconnects: the LISTEN connection killed by the server; the
// replica reconnects, catches up on what it missed, and hears the next
// notifications. Its periodic resync is off, so only the listener can
// deliver.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	sb, b := replica(t, dsn, Options{ResyncInterval: time.Hour})
	eventually(t, within, "B listens", func() bool { return sb.Status().Listening })

	terminated := queryInt(t, dsn, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"webidentity-pgstore-listen "+sb.Origin())
	require.EqualValues(t, 1, terminated)
	missed, err := a.CreateRole(newRole(acctA, "while-reconnecting"))
	require.NoError(t, err)
	eventually(t, 5*time.Second, "B reconnected and caught up", func() bool { return hasRole(b, missed.ARN) })
	eventually(t, within, "B listens again", func() bool { return sb.Status().Listening })
	next, err := a.CreateRole(newRole(acctA, "after"))
	require.NoError(t, err)
	eventually(t, within, "B hears the next change", func() bool { return hasRole(b, next.ARN) })
}

// TestCompactedLogLoadsWholeState: a replica further behind than the change
// log reaches loads the whole state as one Loaded change; one within reach
// replays the changes one by one.
func TestCompactedLogLoadsWholeState(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{LogRetention: 5})
	sb, b := replica(t, dsn, Options{Channel: "elsewhere", ResyncInterval: time.Hour})
	quiet(t, sb)
	var kinds []iam.ChangeKind
	b.Watch(func(c iam.Change) { kinds = append(kinds, c.Kind) })

	ro, err := a.CreateRole(newRole(acctA, "app"))
	require.NoError(t, err)
	for i := range 249 {
		_, err := a.TagRole(ro.ARN, []iam.Tag{{Key: "n", Value: string(rune('a' + i%26))}})
		require.NoError(t, err)
	}
	require.EqualValues(t, 250, a.Revision())
	assert.EqualValues(t, 196, queryInt(t, dsn, `SELECT min(revision) FROM webidentity.changes`), "compacted at revision 200")

	ctx := context.Background()
	require.NoError(t, sb.Sync(ctx))
	assert.Equal(t, []iam.ChangeKind{iam.Loaded}, kinds, "the whole state, in one change")
	assert.Equal(t, dump(a), dump(b))

	// Within the log's reach: change by change.
	kinds = nil
	_, err = a.UntagRole(ro.ARN, []string{"n"})
	require.NoError(t, err)
	require.NoError(t, a.DeleteRole(ro.ARN))
	require.NoError(t, sb.Sync(ctx))
	assert.Equal(t, []iam.ChangeKind{iam.RoleUpdated, iam.RoleDeleted}, kinds)
	assert.Equal(t, dump(a), dump(b))
}

// TestLoadReachesTheFleet: a Load (an import) through one replica replaces
// the database's state in one transaction, and the others load it whole.
func TestLoadReachesTheFleet(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	_, b := replica(t, dsn, Options{})
	fill(t, a)
	sameAs(t, a, b)
	loaded := make(chan iam.Change, 1)
	b.Watch(func(c iam.Change) {
		if c.Kind == iam.Loaded {
			loaded <- c
		}
	})
	require.NoError(t, a.Load(
		[]*iam.OIDCProvider{{Account: acctB, URL: ghURL, ClientIDs: []string{"sts.amazonaws.com"}}},
		[]*iam.Role{newRole(acctB, "imported"), newRole(acctB, "two")},
	))
	select {
	case c := <-loaded:
		assert.Equal(t, a.Revision(), c.Revision)
		assert.Len(t, c.Roles, 2)
	case <-time.After(within):
		t.Fatal("B did not load A's import within a second")
	}
	sameAs(t, a, b)
	assert.EqualValues(t, 2, queryInt(t, dsn, `SELECT count(*) FROM webidentity.roles`))
	assert.EqualValues(t, 1, queryInt(t, dsn, `SELECT count(*) FROM webidentity.providers`))
	assert.EqualValues(t, 1, queryInt(t, dsn, `SELECT count(*) FROM webidentity.changes WHERE kind = 'Loaded' AND entity IS NULL`))
}

// TestCannotFollow: a replica whose quotas refuse the fleet's changes
// keeps its last state and says so.
func TestCannotFollow(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	ctx := context.Background()
	sb, err := Open(ctx, dsn, Options{Channel: "elsewhere", ResyncInterval: time.Hour})
	require.NoError(t, err)
	defer sb.Close()
	b, err := sb.Registry(iam.Options{MaxRolesPerAccount: 1})
	require.NoError(t, err)
	quiet(t, sb)

	one, err := a.CreateRole(newRole(acctA, "one"))
	require.NoError(t, err)
	_, err = a.CreateRole(newRole(acctA, "two"))
	require.NoError(t, err)
	err = sb.Sync(ctx)
	require.ErrorIs(t, err, ErrCannotFollow)
	assert.ErrorIs(t, err, iam.ErrLimitExceeded, "the registry's reason")
	assert.ErrorIs(t, sb.Ready(), ErrCannotFollow)
	assert.ErrorIs(t, sb.WritesReady(), ErrCannotFollow)
	assert.True(t, hasRole(b, one.ARN), "the replica applied what it could")
	assert.ErrorIs(t, sb.Sync(ctx), ErrCannotFollow, "still stuck, without reloading")

	// The fleet moves on (the second role deleted): the replica follows again.
	require.NoError(t, a.DeleteRole(roleARN(acctA, "two")))
	require.NoError(t, sb.Sync(ctx))
	assert.NoError(t, sb.Ready())
	assert.Equal(t, dump(a), dump(b))
}

// TestDiverged: a database that went back in time (restored from a
// backup) is one the replica cannot follow.
func TestDiverged(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	s, reg := replica(t, dsn, Options{Channel: "elsewhere", ResyncInterval: time.Hour})
	quiet(t, s)
	fill(t, reg)
	admin(t, dsn, `UPDATE webidentity.meta SET revision = 2`)
	ctx := context.Background()
	assert.ErrorIs(t, s.Sync(ctx), ErrDiverged)
	assert.ErrorIs(t, s.Ready(), ErrDiverged)
	_, err := reg.CreateRole(newRole(acctB, "new"))
	assert.ErrorIs(t, err, iam.ErrServiceFailure)
	assert.ErrorIs(t, err, ErrDiverged)
	admin(t, dsn, `UPDATE webidentity.meta SET revision = 99`)
	assert.ErrorIs(t, s.Sync(ctx), ErrDiverged, "for good")
}

func TestClosedStore(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	s, reg := replica(t, dsn, Options{})
	ro, err := reg.CreateRole(newRole(acctA, "app"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())

	_, err = reg.CreateRole(newRole(acctA, "late"))
	assert.ErrorIs(t, err, iam.ErrServiceFailure)
	assert.ErrorIs(t, err, ErrClosed)
	assert.True(t, hasRole(reg, ro.ARN), "lookups answer from the last state")
	assert.False(t, hasRole(reg, roleARN(acctA, "late")))
	assert.ErrorIs(t, s.Ready(), ErrClosed)
	assert.ErrorIs(t, s.WritesReady(), ErrClosed)
	assert.ErrorIs(t, s.Sync(context.Background()), ErrClosed)
	_, err = s.Registry(iam.Options{})
	assert.ErrorIs(t, err, ErrClosed)
}

func TestRegistryOnce(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	s, err := Open(context.Background(), dsn, Options{})
	require.NoError(t, err)
	defer s.Close()
	assert.ErrorIs(t, s.Ready(), ErrNoRegistry)
	assert.ErrorIs(t, s.Sync(context.Background()), ErrNoRegistry)
	_, err = s.Registry(iam.Options{Commit: func(iam.Change) error { return nil }})
	assert.Error(t, err, "Commit is the store's")
	_, err = s.Registry(iam.Options{CatchUp: func() (func(), error) { return nil, nil }})
	assert.Error(t, err, "CatchUp is the store's")
	_, err = s.Registry(iam.Options{CommitBatch: func([]iam.Change) error { return nil }})
	assert.Error(t, err, "CommitBatch would replace the store's Commit")
	_, err = s.Registry(iam.Options{Revision: 3})
	assert.Error(t, err, "Revision is the store's")
	_, err = s.Registry(iam.Options{})
	require.NoError(t, err)
	assert.NoError(t, s.Ready())
	eventually(t, within, "writes ready", func() bool { return s.WritesReady() == nil })
	_, err = s.Registry(iam.Options{})
	assert.ErrorIs(t, err, ErrRegistryOpen)
}

// TestResolveAmbiguousCommit: after a COMMIT that got no answer, the hook
// asks the database whether the revision is this replica's.
func TestResolveAmbiguousCommit(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	s, reg := replica(t, dsn, Options{})
	ro, err := reg.CreateRole(newRole(acctA, "app"))
	require.NoError(t, err)
	cause := errors.New("connection reset")
	assert.NoError(t, s.resolve(iam.Change{Revision: 1, Kind: iam.RoleCreated, NewRole: ro}, cause), "committed: it is ours")
	err = s.resolve(iam.Change{Revision: 2, Kind: iam.RoleDeleted, ARN: ro.ARN}, cause)
	assert.ErrorIs(t, err, ErrUnavailable, "not committed")
	assert.ErrorIs(t, err, cause)

	// Revision 2 written by another replica: not ours either.
	_, other := replica(t, dsn, Options{})
	eventually(t, within, "the other replica caught up", func() bool { return other.Revision() == 1 })
	_, err = other.CreateRole(newRole(acctA, "other"))
	require.NoError(t, err)
	assert.ErrorIs(t, s.resolve(iam.Change{Revision: 2, Kind: iam.RoleDeleted, ARN: ro.ARN}, cause), ErrUnavailable)
}
