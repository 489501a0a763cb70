//go:build linux

package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/cputime"
)

// BenchmarkWrite measures IAM writes through a store-backed registry, each
// durable (in a fsynced bbolt transaction) before it returns, from 1, 8 and
// 32 writers at once. It reports writes/s (issue 11 asks for at least 500)
// and writes/commit, the changes that shared a transaction on average (the
// registry's group commit).
//
// The fdatasync sub-benchmark is the disk's floor in the same run: one 4 KiB
// write and one fdatasync(2) in the same kind of directory. A bbolt commit
// syncs twice (the data pages, then the meta page), so a lone writer makes
// about half of fdatasync's rate; parallel writers multiply that by
// writes/commit.
func BenchmarkWrite(b *testing.B) {
	b.Run("fdatasync", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		page := make([]byte, 4096)
		i := 0
		start := time.Now()
		for b.Loop() {
			if _, err := f.WriteAt(page, int64(i%16)*4096); err != nil {
				b.Fatal(err)
			}
			i++
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	})
	create := func(reg *iam.Registry, w, i int) error {
		n := "role-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
		_, err := reg.CreateRole(&iam.Role{Account: acctA, Name: n, TrustPolicyDocument: trustDoc(acctA, eksURL, n)})
		return err
	}
	setupUpdate := func(reg *iam.Registry, w int) error { // each writer updates a role of its own
		_, err := reg.CreateRole(&iam.Role{Account: acctA, Name: "app-" + strconv.Itoa(w), TrustPolicyDocument: trustDoc(acctA, eksURL, "app")})
		return err
	}
	update := func(reg *iam.Registry, w, i int) error {
		_, err := reg.UpdateAssumeRolePolicy(roleARN(acctA, "app-"+strconv.Itoa(w)), trustDoc(acctA, eksURL, "sub-"+strconv.Itoa(i)))
		return err
	}
	for _, hook := range []string{"CommitBatch", "Commit"} {
		for _, writers := range []int{1, 8, 32} {
			name := "/hook=" + hook + "/writers=" + strconv.Itoa(writers)
			b.Run("CreateRole"+name, func(b *testing.B) { benchWrites(b, hook, writers, nil, create) })
			b.Run("UpdateAssumeRolePolicy"+name, func(b *testing.B) { benchWrites(b, hook, writers, setupUpdate, update) })
		}
	}
}

// benchWrites runs b.N calls of write, shared among writers goroutines, on a
// fresh store, after setup (if not nil) for each writer. hook "CommitBatch"
// is the store's registry; "Commit" is the design before group commit, for
// comparison: the same transactions, one per change, made under the
// registry's write lock.
func benchWrites(b *testing.B, hook string, writers int, setup func(reg *iam.Registry, w int) error, write func(reg *iam.Registry, w, i int) error) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var reg *iam.Registry
	if hook == "Commit" {
		reg = iam.New(iam.Options{MaxRolesPerAccount: -1, Commit: func(c iam.Change) error { return s.commitBatch([]iam.Change{c}) }})
	} else if reg, err = s.Registry(iam.Options{MaxRolesPerAccount: -1}); err != nil {
		b.Fatal(err)
	}
	for w := range writers {
		if setup == nil {
			break
		}
		if err := setup(reg, w); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		fail atomic.Pointer[error]
	)
	commits0 := s.commits.Load()
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := write(reg, w, i); err != nil {
					fail.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if p := fail.Load(); p != nil {
		b.Fatal(*p)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	if c := s.commits.Load() - commits0; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "writes/commit")
	}
}

// loadScaleEnv sets the number of accounts of BenchmarkOpen (10 providers
// and 20 roles each). Issue 11's figure is 10,000 accounts (100,000
// providers, 200,000 roles); the default is 1,000 so that a -benchtime 1x
// run of the suite stays short.
const loadScaleEnv = "WEBIDENTITY_BENCH_STORE_ACCOUNTS"

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

// fillForLoad imports accounts×(10 providers, 20 roles) into a store in dir
// with one Load (one transaction), as issue 10's benchmark registry.
func fillForLoad(b testing.TB, dir string, accounts int) {
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	reg, err := s.Registry(iam.Options{})
	if err != nil {
		b.Fatal(err)
	}
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
	if err := reg.Load(provs, roles); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpen measures a start: Open, read every record, and Load the
// registry (which compiles every trust policy). Sub-benchmarks split the
// time: read is Open plus decoding the records, without the registry.
// Set WEBIDENTITY_BENCH_STORE_ACCOUNTS=10000 for issue 11's 300,000
// entities (goal: at most 10 s).
func BenchmarkOpen(b *testing.B) {
	accounts := loadScale(b)
	dir := b.TempDir()
	fillForLoad(b, dir, accounts)
	entities := float64(accounts * 30)
	b.Run(fmt.Sprintf("read/entities=%d", accounts*30), func(b *testing.B) {
		cpu0 := cputime.Process()
		for b.Loop() {
			s, err := Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, _, err := s.readAll(); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
		b.ReportMetric((cputime.Process()-cpu0).Seconds()/float64(b.N), "cpu-s/start")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/entities, "ns/entity")
	})
	b.Run(fmt.Sprintf("registry/entities=%d", accounts*30), func(b *testing.B) {
		cpu0 := cputime.Process()
		for b.Loop() {
			s, err := Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Registry(iam.Options{MaxRolesPerAccount: -1, MaxOIDCProvidersPerAccount: -1}); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
		b.ReportMetric((cputime.Process()-cpu0).Seconds()/float64(b.N), "cpu-s/start")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/entities, "ns/entity")
	})
}
