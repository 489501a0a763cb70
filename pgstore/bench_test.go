package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/cputime"
)

// unlimited are registry options without quotas, for benchmarks that write
// many roles into one account.
var unlimited = iam.Options{MaxRolesPerAccount: -1, MaxOIDCProvidersPerAccount: -1}

var benchSchemas atomic.Int64

// benchReplica opens a store in a schema of its own (each run of a
// sub-benchmark starts at revision 0) and its registry.
func benchReplica(b *testing.B, dsn, schema string, opts Options) (*Store, *iam.Registry) {
	b.Helper()
	opts.Schema = schema
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	reg, err := s.Registry(unlimited)
	if err != nil {
		b.Fatal(err)
	}
	return s, reg
}

func newSchema() string { return "bench_" + strconv.FormatInt(benchSchemas.Add(1), 10) }

// BenchmarkWrite measures IAM writes through a store-backed registry, each
// one a PostgreSQL transaction committed (WAL flushed) before the write
// returns; it reports writes/s.
//
// commit-floor is the server's own rate in the same run: one single-row
// INSERT committed per op, the least a durable write can cost. The registry
// holds its write lock during the commit, so one replica's writers are
// serialised: writers=8 shows what concurrency does not buy on one replica.
// replicas=2 has two replicas on one database, 4 writers each; it reports
// conflicts/write, the writes refused as ErrConflict that the caller saw
// (and retried after a Sync), and races/write, the writes that found the
// database ahead and that the registry caught up and ran again itself.
func BenchmarkWrite(b *testing.B) {
	requireServer(b)
	dsn, _ := testDB(b)
	b.Run("commit-floor", func(b *testing.B) {
		b.ReportAllocs()
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		table := newSchema()
		if _, err := pool.Exec(context.Background(), "CREATE TABLE "+table+" (n bigint PRIMARY KEY, v text)"); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			if _, err := pool.Exec(context.Background(), "INSERT INTO "+table+" VALUES ($1, $2)", i, "x"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	})
	b.Run("CreateRole", func(b *testing.B) {
		b.ReportAllocs()
		_, reg := benchReplica(b, dsn, newSchema(), Options{})
		i := 0
		for b.Loop() {
			i++
			if _, err := reg.CreateRole(newRole(acctA, "r"+strconv.Itoa(i))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	})
	b.Run("UpdateAssumeRolePolicy", func(b *testing.B) {
		b.ReportAllocs()
		_, reg := benchReplica(b, dsn, newSchema(), Options{})
		ro, err := reg.CreateRole(newRole(acctA, "app"))
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			if _, err := reg.UpdateAssumeRolePolicy(ro.ARN, trustDoc(acctA, eksURL, "sub-"+strconv.Itoa(i))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	})
	b.Run("CreateRole/writers=8", func(b *testing.B) {
		b.ReportAllocs()
		s, reg := benchReplica(b, dsn, newSchema(), Options{})
		parallelWrites(b, []*Store{s}, []*iam.Registry{reg}, 8)
	})
	b.Run("CreateRole/replicas=2/writers=8", func(b *testing.B) {
		b.ReportAllocs()
		schema := newSchema()
		s1, r1 := benchReplica(b, dsn, schema, Options{})
		s2, r2 := benchReplica(b, dsn, schema, Options{})
		parallelWrites(b, []*Store{s1, s2}, []*iam.Registry{r1, r2}, 8)
	})
}

// parallelWrites creates b.N roles with writers goroutines spread over the
// replicas; a write refused as a conflict (the registry retries races
// itself, so this counts the races it gave up on) is retried after a Sync.
func parallelWrites(b *testing.B, stores []*Store, regs []*iam.Registry, writers int) {
	var next, conflicts atomic.Int64
	var wg sync.WaitGroup
	races0 := races(stores)
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		s, reg := stores[w%len(regs)], regs[w%len(regs)]
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				for {
					_, err := reg.CreateRole(newRole(acctA, "r"+strconv.FormatInt(i, 10)))
					if errors.Is(err, ErrConflict) {
						conflicts.Add(1)
						_ = s.Sync(context.Background())
						continue
					}
					if err != nil {
						b.Error(err)
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/write")
	b.ReportMetric(float64(races(stores)-races0)/float64(b.N), "races/write")
}

// races is the stores' Status().Races, summed.
func races(stores []*Store) uint64 {
	var n uint64
	for _, s := range stores {
		n += s.Status().Races
	}
	return n
}

// BenchmarkFollow measures how long a change takes from one replica's
// write returning to another replica enforcing it (LISTEN/NOTIFY, then a
// read of the change log and Apply).
func BenchmarkFollow(b *testing.B) {
	b.ReportAllocs()
	requireServer(b)
	dsn, _ := testDB(b)
	schema := newSchema()
	_, a := benchReplica(b, dsn, schema, Options{})
	_, f := benchReplica(b, dsn, schema, Options{ResyncInterval: time.Hour})
	seen := make(chan uint64, 1)
	f.Watch(func(c iam.Change) { seen <- c.Revision })
	var lag time.Duration
	i := 0
	for b.Loop() {
		i++
		if _, err := a.CreateRole(newRole(acctA, "r"+strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		want := a.Revision()
		for rev := range seen {
			if rev == want {
				break
			}
		}
		lag += time.Since(t0)
	}
	b.ReportMetric(float64(lag.Microseconds())/1000/float64(b.N), "ms-lag/change")
}

// loadScaleEnv sets the number of accounts of BenchmarkStart (10 providers
// and 20 roles each). The default, 1,000, is 10,000 providers and 20,000
// roles; issue 11's large figure is 10,000 accounts (100,000 providers,
// 200,000 roles).
const loadScaleEnv = "WEBIDENTITY_BENCH_PG_ACCOUNTS"

func loadScale(b *testing.B) int {
	if v := os.Getenv(loadScaleEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number of accounts", loadScaleEnv, v)
		}
		return n
	}
	return 1000
}

func benchAccount(a int) string { return fmt.Sprintf("%012d", 100000000000+a) }

func benchIssuer(i int) string {
	return fmt.Sprintf("https://oidc.eks.us-west-2.amazonaws.com/id/%032X", i)
}

// BenchmarkStart measures a replica's start on a large registry: Open, read
// the whole state from one snapshot, and install it (which compiles every
// trust policy). read is the database's part alone: the snapshot read and
// the records decoded.
func BenchmarkStart(b *testing.B) {
	requireServer(b)
	accounts := loadScale(b)
	dsn, _ := testDB(b)
	schema := newSchema()
	provs := make([]*iam.OIDCProvider, 0, accounts*10)
	roles := make([]*iam.Role, 0, accounts*20)
	for a := range accounts {
		acct := benchAccount(a)
		for k := range 10 {
			provs = append(provs, &iam.OIDCProvider{
				Account: acct, URL: benchIssuer((a + k*100) % 1000),
				ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{thumb},
			})
		}
		iss := benchIssuer(a % 1000)
		for k := range 20 {
			name := "app-" + strconv.Itoa(k)
			roles = append(roles, &iam.Role{Account: acct, Name: name,
				TrustPolicyDocument: trustDoc(acct, iss, "system:serviceaccount:team"+strconv.Itoa(k)+":"+name)})
		}
	}
	{
		s, reg := benchReplica(b, dsn, schema, Options{})
		t0 := time.Now()
		if err := reg.Load(provs, roles); err != nil {
			b.Fatal(err)
		}
		b.Logf("imported %d providers and %d roles in one transaction in %v", len(provs), len(roles), time.Since(t0))
		_ = s.Close()
	}
	entities := float64(len(provs) + len(roles))
	report := func(b *testing.B, cpu0 time.Duration) {
		b.ReportMetric((cputime.Process()-cpu0).Seconds()/float64(b.N), "cpu-s/start")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/entities, "ns/entity")
	}
	b.Run(fmt.Sprintf("read/entities=%d", int(entities)), func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cputime.Process()
		for b.Loop() {
			s, err := Open(context.Background(), dsn, Options{Schema: schema})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.readFull(context.Background()); err != nil {
				b.Fatal(err)
			}
			_ = s.Close()
		}
		report(b, cpu0)
	})
	b.Run(fmt.Sprintf("registry/entities=%d", int(entities)), func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cputime.Process()
		for b.Loop() {
			s, err := Open(context.Background(), dsn, Options{Schema: schema})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Registry(unlimited); err != nil {
				b.Fatal(err)
			}
			_ = s.Close()
		}
		report(b, cpu0)
	})
}
