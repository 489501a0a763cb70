package pgstore

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

// recoverWithin bounds how long replicas take to notice that the database
// is back: the listener's backoff (at most 2 s) plus a resync.
const recoverWithin = 10 * time.Second

// fleetOf2 is two replicas on one database, both holding one role.
type fleetOf2 struct {
	sa, sb *Store
	a, b   *iam.Registry
	role   *iam.Role
}

func newFleetOf2(t *testing.T, dsn string) *fleetOf2 {
	t.Helper()
	f := &fleetOf2{}
	f.sa, f.a = replica(t, dsn, Options{})
	f.sb, f.b = replica(t, dsn, Options{})
	var err error
	f.role, err = f.a.CreateRole(newRole(acctA, "app"))
	require.NoError(t, err)
	eventually(t, within, "B has the role", func() bool { return hasRole(f.b, f.role.ARN) })
	for _, s := range []*Store{f.sa, f.sb} {
		eventually(t, within, "writes ready", func() bool { return s.WritesReady() == nil })
	}
	return f
}

// down checks the replicas while the database is unreachable: lookups
// answer from the last state, writes fail with ServiceFailure and change
// nothing, WritesReady says so, Ready does not.
func (f *fleetOf2) down(t *testing.T) {
	t.Helper()
	rev := f.a.Revision()
	_, err := f.a.CreateRole(newRole(acctA, "during"))
	require.ErrorIs(t, err, iam.ErrServiceFailure)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, rev, f.a.Revision(), "nothing published")
	assert.False(t, hasRole(f.a, roleARN(acctA, "during")))
	_, err = f.b.UpdateAssumeRolePolicy(f.role.ARN, trustDoc(acctA, eksURL, "changed"))
	require.ErrorIs(t, err, iam.ErrServiceFailure)
	assert.ErrorIs(t, err, ErrUnavailable)

	for _, reg := range []*iam.Registry{f.a, f.b} {
		got, err := reg.Role(f.role.ARN)
		require.NoError(t, err, "lookups never touch the database")
		assert.Equal(t, f.role.TrustPolicyDocument, got.TrustPolicyDocument)
		_, err = reg.Role(roleARN(acctA, "missing"))
		assert.ErrorIs(t, err, iam.ErrNoSuchEntity)
	}
	assert.ErrorIs(t, f.sa.WritesReady(), ErrUnavailable, "the failed write says so")
	eventually(t, 3*DefaultResyncInterval, "B notices without writing", func() bool { return f.sb.WritesReady() != nil })
	assert.ErrorIs(t, f.sb.WritesReady(), ErrUnavailable)
	assert.NoError(t, f.sa.Ready(), "still deciding")
	assert.NoError(t, f.sb.Ready())
}

// up checks that the replicas come back by themselves, and follow each
// other again.
func (f *fleetOf2) up(t *testing.T) {
	t.Helper()
	for _, s := range []*Store{f.sa, f.sb} {
		took := eventually(t, recoverWithin, "writes ready again", func() bool { return s.WritesReady() == nil })
		t.Logf("writes ready %v after the database returned", took)
	}
	ro, err := f.a.CreateRole(newRole(acctA, "after"))
	require.NoError(t, err)
	eventually(t, within, "B has A's new role", func() bool { return hasRole(f.b, ro.ARN) })
	require.NoError(t, f.b.DeleteRole(f.role.ARN))
	eventually(t, within, "A dropped the role", func() bool { return !hasRole(f.a, f.role.ARN) })
	sameAs(t, f.a, f.b)
}

// TestDatabaseUnreachable: the server terminates every connection to the
// database and refuses new ones (ALLOW_CONNECTIONS false), then accepts
// them again.
func TestDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	dsn, name := testDB(t)
	f := newFleetOf2(t, dsn)
	admin(t, server.dsn,
		"ALTER DATABASE "+name+" ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"'")
	f.down(t)
	admin(t, server.dsn, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
	f.up(t)
}

// TestServerStopStart: the server itself stopped (pg_ctl stop -m fast) and
// started again on the same port, on a cluster of the test's own.
func TestServerStopStart(t *testing.T) {
	t.Parallel()
	c, err := startCluster("")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a cluster of the test's own (needs initdb): %v", err)
		}
		t.Skipf("needs a cluster of its own, started with %s (needs initdb); TestDatabaseUnreachable covers the outage otherwise: %v", script(), err)
	}
	t.Cleanup(c.stop)
	f := newFleetOf2(t, c.dsn)
	require.NoError(t, c.halt())
	f.down(t)
	_, err = startCluster(c.dir)
	require.NoError(t, err)
	f.up(t)
}
