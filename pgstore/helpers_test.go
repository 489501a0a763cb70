package pgstore

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/webidentity/webidentity/iam"
)

const (
	acctA  = "111122223333"
	acctB  = "444455556666"
	eksURL = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	ghURL  = "https://token.actions.githubusercontent.com"
	thumb  = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

// dsnEnv names the server the tests use: a DSN whose user may CREATE
// DATABASE. .ci/run sets it; without it, TestMain starts a server with
// scripts/postgres.sh.
const dsnEnv = "WEBIDENTITY_TEST_POSTGRES"

// within is the fleet's promise: a change made through one replica is
// enforced by every replica within a second.
const within = time.Second

var testTime = time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)

// server is the PostgreSQL server of the test run.
var server struct {
	dsn string
	err error // why there is none
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if dsn := os.Getenv(dsnEnv); dsn != "" {
		server.dsn = dsn
		return checkLeaks(m.Run())
	}
	c, err := startCluster("")
	if err != nil {
		server.err = fmt.Errorf("no PostgreSQL server for the tests: set %s to the DSN of a server whose user may "+
			"CREATE DATABASE (scripts/postgres.sh start prints one), or install PostgreSQL so that the tests "+
			"start one with scripts/postgres.sh (Debian: apt-get install postgresql): %w", dsnEnv, err)
		return m.Run()
	}
	server.dsn = c.dsn
	defer c.stop()
	return checkLeaks(m.Run())
}

// checkLeaks fails a passing run if goroutines outlive it: a closed Store
// stops its listener and follower.
func checkLeaks(code int) int {
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left running:", err)
			return 1
		}
	}
	return code
}

// cluster is a server started by scripts/postgres.sh.
type cluster struct {
	dsn, dir string
}

func script() string { return filepath.Join("..", "scripts", "postgres.sh") }

// startCluster runs "postgres.sh start [dir]": a new cluster, or the one in
// dir again on its port.
func startCluster(dir string) (*cluster, error) {
	args := []string{"start"}
	if dir != "" {
		args = append(args, dir)
	}
	out, err := exec.Command(script(), args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil, fmt.Errorf("%s start: %w: %s", script(), err, strings.TrimSpace(string(ee.Stderr)))
	}
	if err != nil {
		return nil, err
	}
	c := &cluster{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, "'")
		switch k {
		case "WEBIDENTITY_TEST_POSTGRES":
			c.dsn = v
		case "WEBIDENTITY_PG_DIR":
			c.dir = v
		}
	}
	if c.dsn == "" || c.dir == "" {
		return nil, fmt.Errorf("%s start printed no DSN: %q", script(), out)
	}
	return c, nil
}

// halt stops the server and keeps its data (pg_ctl stop -m fast).
func (c *cluster) halt() error { return runScript("halt", c.dir) }

// stop stops the server and deletes its directory.
func (c *cluster) stop() { _ = runScript("stop", c.dir) }

func runScript(args ...string) error {
	out, err := exec.Command(script(), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", script(), strings.Join(args, " "), err, out)
	}
	return nil
}

// requireServer fails the test when the run has no server.
func requireServer(t testing.TB) {
	t.Helper()
	if server.err != nil {
		t.Fatal(server.err)
	}
}

// testDB creates a database of its own for the test on the run's server
// (dropped at the end) and returns its DSN and name.
func testDB(t testing.TB) (dsn, name string) {
	t.Helper()
	requireServer(t)
	return createDB(t, server.dsn)
}

// createDB creates a database on the server of adminDSN, dropped at the end
// of the test.
func createDB(t testing.TB, adminDSN string) (dsn, name string) {
	t.Helper()
	var id [6]byte
	_, _ = rand.Read(id[:])
	name = "wi_" + hex.EncodeToString(id[:])
	admin(t, adminDSN, "CREATE DATABASE "+name)
	t.Cleanup(func() { dropDB(t, adminDSN, name) })
	return withDatabase(t, adminDSN, name), name
}

func dropDB(t testing.TB, adminDSN, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Logf("dropping %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Logf("dropping %s: %v", name, err)
	}
}

// admin runs statements on the server of dsn, in the database dsn names.
func admin(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, s := range stmts {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err, "%s", s)
	}
}

// queryInt runs a query that answers one integer.
func queryInt(t testing.TB, dsn, query string, args ...any) int64 {
	t.Helper()
	return queryOne[int64](t, dsn, query, args...)
}

// queryOne runs a query that answers one value, on a connection of its own.
func queryOne[T any](t testing.TB, dsn, query string, args ...any) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v T
	require.NoError(t, conn.QueryRow(ctx, query, args...).Scan(&v), "%s", query)
	return v
}

// withDatabase returns dsn naming another database.
func withDatabase(t testing.TB, dsn, db string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		u.Path = "/" + db
		return u.String()
	}
	return dsn + " dbname=" + db
}

func testOptions() iam.Options {
	return iam.Options{Now: func() time.Time { return testTime }}
}

// replica opens a store on dsn and its registry, closed at the end of the
// test (a second Close is harmless).
func replica(t testing.TB, dsn string, opts Options) (*Store, *iam.Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	reg, err := s.Registry(testOptions())
	require.NoError(t, err)
	return s, reg
}

// eventually polls cond until it holds or the deadline passes; it returns
// how long it took. The deadline is the property under test, not a sleep.
func eventually(t testing.TB, deadline time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > deadline {
			t.Fatalf("not within %v: %s", deadline, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// trustDoc is an IRSA trust policy for the account's provider of url and a
// service account, laid out with white space as a person writes it (the
// store must keep the text as given).
func trustDoc(account, url, sub string) string {
	host := strings.TrimPrefix(url, "https://")
	return "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\",\n" +
		"\t\"Principal\": {\"Federated\": \"arn:aws:iam::" + account + ":oidc-provider/" + host + "\"},\n" +
		"\t\"Action\": \"sts:AssumeRoleWithWebIdentity\",\n  \"Condition\": {\"StringEquals\": {" +
		"\"" + host + ":aud\": \"sts.amazonaws.com\", \"" + host + ":sub\": \"" + sub + "\"}}}]}\n"
}

func roleARN(account, name string) string { return iam.RoleARN("aws", account, "/", name) }

func newRole(account, name string) *iam.Role {
	return &iam.Role{Account: account, Name: name, TrustPolicyDocument: trustDoc(account, eksURL, "system:serviceaccount:ns:"+name)}
}

// hasRole reports whether the registry holds the role.
func hasRole(reg *iam.Registry, arn string) bool {
	_, err := reg.Role(arn)
	return err == nil
}

// dump is everything the registry holds for the test accounts, with its
// revision, for comparisons.
func dump(reg *iam.Registry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revision %d\n", reg.Revision())
	for _, a := range []string{acctA, acctB} {
		for _, p := range reg.ListOIDCProviders("aws", a) {
			fmt.Fprintf(&b, "provider %s %s %q %q %v %s\n", p.ARN, p.URL, p.ClientIDs, p.Thumbprints, p.Tags,
				p.CreateDate.Format(time.RFC3339Nano))
		}
		for _, ro := range reg.ListRoles("aws", a, "/") {
			fmt.Fprintf(&b, "role %s %s %s %s %q %v %q %v %s\n", ro.ARN, ro.RoleID, ro.Name, ro.Path,
				ro.TrustPolicyDocument, ro.MaxSessionDuration, ro.Description, ro.Tags, ro.CreateDate.Format(time.RFC3339Nano))
		}
	}
	fmt.Fprintf(&b, "issuers %q\n", reg.Issuers())
	return b.String()
}

// sameAs waits until b holds what a holds.
func sameAs(t testing.TB, a, b *iam.Registry) {
	t.Helper()
	eventually(t, within, "the replicas hold the same state", func() bool { return a.Revision() == b.Revision() })
	require.Equal(t, dump(a), dump(b))
}

// fill makes every kind of write on reg.
func fill(t testing.TB, reg *iam.Registry) {
	t.Helper()
	p, err := reg.CreateOIDCProvider(&iam.OIDCProvider{
		Account: acctA, URL: eksURL, ClientIDs: []string{"sts.amazonaws.com", "other", "nul\x00byte"},
		Thumbprints: []string{thumb}, Tags: []iam.Tag{{Key: "team", Value: "a"}, {Key: "empty", Value: ""}},
	})
	require.NoError(t, err)
	_, err = reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: eksURL, ClientIDs: []string{"b"}})
	require.NoError(t, err)
	gone, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: ghURL})
	require.NoError(t, err)
	_, err = reg.AddClientIDToOIDCProvider(p.ARN, "third")
	require.NoError(t, err)
	_, err = reg.RemoveClientIDFromOIDCProvider(p.ARN, "other")
	require.NoError(t, err)
	_, err = reg.UntagOIDCProvider(p.ARN, []string{"TEAM"})
	require.NoError(t, err)
	require.NoError(t, reg.DeleteOIDCProvider(gone.ARN))

	_, err = reg.CreateRole(&iam.Role{
		Account: acctA, Name: "Deploy", Path: "/ci/", Description: "deploys ¡café!",
		MaxSessionDuration: 2 * time.Hour, Tags: []iam.Tag{{Key: "k", Value: "v"}},
		TrustPolicyDocument: trustDoc(acctA, eksURL, "system:serviceaccount:ci:deploy"),
		CreateDate:          time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC),
	})
	require.NoError(t, err)
	ro, err := reg.CreateRole(newRole(acctA, "app"))
	require.NoError(t, err)
	_, err = reg.UpdateAssumeRolePolicy(ro.ARN, trustDoc(acctA, eksURL, "b"))
	require.NoError(t, err)
	d := "now described"
	_, err = reg.UpdateRole(ro.ARN, iam.RoleUpdate{Description: &d, MaxSessionDuration: 3 * time.Hour})
	require.NoError(t, err)
	_, err = reg.TagRole(ro.ARN, []iam.Tag{{Key: "x", Value: "1"}, {Key: "y", Value: "2"}})
	require.NoError(t, err)
	_, err = reg.UntagRole(ro.ARN, []string{"x"})
	require.NoError(t, err)
	tmp, err := reg.CreateRole(newRole(acctB, "tmp"))
	require.NoError(t, err)
	require.NoError(t, reg.DeleteRole(tmp.ARN))
}

// quiet waits until a replica that hears no notification (another
// channel) and resyncs rarely has run the catch-up that follows its
// listener's connection: from then on it catches up only when woken.
func quiet(t testing.TB, s *Store) {
	t.Helper()
	eventually(t, within, "the first catch-up ran", func() bool {
		st := s.Status()
		return st.Listening && st.Catchups > 0 && st.Err == nil
	})
}
