//go:build linux

package store

import (
	"fmt"
	"github.com/webidentity/webidentity/internal/cputime"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/webidentity/webidentity/iam"
)

// BenchmarkWrite measures IAM writes through a store-backed registry: each
// one is a bbolt transaction fsynced before the write returns. It reports
// writes/s; issue 11 asks for at least 500.
//
// The fdatasync sub-benchmark is the disk's floor in the same run: one 4 KiB
// write and one fdatasync(2) in the same kind of directory. A bbolt commit
// syncs twice (the data pages, then the meta page), so writes/s is bounded
// by about half of fdatasync's rate.
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
	b.Run("CreateRole", func(b *testing.B) {
		_, reg := open(b, b.TempDir())
		i := 0
		start := time.Now()
		for b.Loop() {
			n := "role-" + strconv.Itoa(i)
			i++
			if _, err := reg.CreateRole(&iam.Role{Account: acctA, Name: n, TrustPolicyDocument: trustDoc(acctA, eksURL, n)}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	})
	b.Run("UpdateAssumeRolePolicy", func(b *testing.B) {
		_, reg := open(b, b.TempDir())
		ro, err := reg.CreateRole(&iam.Role{Account: acctA, Name: "app", TrustPolicyDocument: trustDoc(acctA, eksURL, "app")})
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		start := time.Now()
		for b.Loop() {
			i++
			if _, err := reg.UpdateAssumeRolePolicy(ro.ARN, trustDoc(acctA, eksURL, "sub-"+strconv.Itoa(i))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	})
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
func fillForLoad(b *testing.B, dir string, accounts int) {
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
