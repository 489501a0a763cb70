package iam

import (
	"fmt"
	"github.com/webidentity/webidentity/internal/cputime"
	mrand "math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The registry of issue 10's performance goals: 100,000 providers over
// 10,000 accounts sharing 1,000 issuers, and 200,000 roles with typical IRSA
// trust policies (each role its own document, naming its account's provider
// and its own service account).
const (
	benchAccounts  = 10000
	benchIssuers   = 1000
	benchProvPerAc = 10 // 100,000 providers
	benchRolePerAc = 20 // 200,000 roles
)

func benchAccount(a int) string { return fmt.Sprintf("%012d", 100000000000+a) }

func benchIssuer(i int) string {
	return fmt.Sprintf("https://oidc.eks.us-west-2.amazonaws.com/id/%032X", i)
}

// benchInput builds the providers and roles; account a registers issuers
// (a+k*100)%1000 for k < 10, and its roles trust the first of them.
func benchInput() ([]*OIDCProvider, []*Role) { return benchInputN(benchAccounts) }

// benchInputN builds the input for the first n accounts (a tenth of the
// registry for n = 1,000: per-entity memory and Load time per entity do not
// depend on the scale, and parsing 200,000 trust policies several times would
// make a -benchtime 1x run of the suite slow).
func benchInputN(n int) ([]*OIDCProvider, []*Role) {
	provs := make([]*OIDCProvider, 0, n*benchProvPerAc)
	roles := make([]*Role, 0, n*benchRolePerAc)
	for a := range n {
		acct := benchAccount(a)
		for k := range benchProvPerAc {
			provs = append(provs, &OIDCProvider{
				Account: acct, URL: benchIssuer((a + k*100) % benchIssuers),
				ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{thumb},
			})
		}
		iss := benchIssuer(a % benchIssuers)
		for k := range benchRolePerAc {
			name := fmt.Sprintf("app-%d", k)
			roles = append(roles, &Role{
				Account: acct, Name: name,
				TrustPolicyDocument: trustDoc(acct, iss, "system:serviceaccount:team"+fmt.Sprint(k)+":"+name),
			})
		}
	}
	return provs, roles
}

var (
	benchOnce sync.Once
	benchReg  *Registry
	benchLoad time.Duration
)

// benchRegistry builds the big registry once per process (Load parses the
// 200,000 trust policies in parallel).
func benchRegistry(b *testing.B) *Registry {
	benchOnce.Do(func() {
		provs, roles := benchInput()
		r := New(Options{})
		start := time.Now()
		if err := r.Load(provs, roles); err != nil {
			panic(err)
		}
		benchLoad = time.Since(start)
		benchReg = r
		// Finish the collection the build started, so that no GC mark
		// phase over the big heap runs during the timed loops.
		runtime.GC()
	})
	b.Logf("Load of 100,000 providers and 200,000 roles: %v", benchLoad)
	return benchReg
}

type benchKey struct{ acct, iss, role string }

func benchKeys() []benchKey {
	keys := make([]benchKey, 4096)
	for i := range keys {
		a := (i * 7919) % benchAccounts
		acct := benchAccount(a)
		keys[i] = benchKey{acct, benchIssuer((a + (i%benchProvPerAc)*100) % benchIssuers),
			"arn:aws:iam::" + acct + ":role/app-" + fmt.Sprint(i%benchRolePerAc)}
	}
	return keys
}

// randomBenchKeys returns n lookups of random tenants (account, one of its
// issuers, one of its roles), as bench's BenchmarkAccounts makes them: at
// 65,536 they stand for random multi-tenant traffic, whose entries are not in
// cache.
func randomBenchKeys(n int) []benchKey {
	rng := mrand.New(mrand.NewPCG(10, 10))
	keys := make([]benchKey, n)
	for i := range keys {
		a := rng.IntN(benchAccounts)
		acct := benchAccount(a)
		keys[i] = benchKey{acct, benchIssuer((a + rng.IntN(benchProvPerAc)*100) % benchIssuers),
			"arn:aws:iam::" + acct + ":role/app-" + fmt.Sprint(rng.IntN(benchRolePerAc))}
	}
	return keys
}

// lookup is what the verifier does per request: the provider for the role's
// account and the token's issuer, then the role.
func lookup(b *testing.B, r *Registry, k *benchKey) {
	p, err := r.OIDCProvider("aws", k.acct, k.iss)
	if err != nil || !p.AcceptsClientID("sts.amazonaws.com") {
		b.Fatal("provider", err)
	}
	if _, err := r.Role(k.role); err != nil {
		b.Fatal("role", err)
	}
}

// lookupOnly is the two lookups alone, as bench's lookup rows make them: what
// the index costs, without the entities' own memory.
func lookupOnly(b *testing.B, r *Registry, k *benchKey) {
	if p, err := r.OIDCProvider("aws", k.acct, k.iss); err != nil || p == nil {
		b.Fatal("provider", err)
	}
	if _, err := r.Role(k.role); err != nil {
		b.Fatal("role", err)
	}
}

// BenchmarkLookup: provider + role lookup, serial and parallel, quiet and
// under 1,000 writes per second (a writer replacing roles' trust policies and
// providers' client IDs); compare each "writes" figure with its "quiet" one.
// "hot" cycles over 64 tenants (their entries stay in cache); "random" over
// 65,536 random tenants, the lookups alone (lookupOnly); "spread" over
// 4,096 tenants across the whole registry (mostly cache and TLB misses on a
// busy machine, as random multi-tenant traffic is). cpu-ns/op is the
// process's CPU time per lookup (all threads, the writer included): on a
// shared machine where the benchmark gets a fraction of a core, ns/op is
// wall time and overstates the cost.
func BenchmarkLookup(b *testing.B) {
	r := benchRegistry(b)
	keys := benchKeys()
	for _, set := range []struct {
		name string
		keys []benchKey
		mask int
	}{{"hot", keys, 63}, {"spread", keys, 4095}, {"random", randomBenchKeys(1 << 16), 1<<16 - 1}} {
		keys, look := set.keys, lookup
		if set.name == "random" {
			look = lookupOnly
		}
		for _, mode := range []string{"quiet", "writes"} {
			b.Run(set.name+"/serial/"+mode, func(b *testing.B) {
				defer startWriter(b, r, mode)()
				b.ReportAllocs()
				i := 0
				cpu := cputime.Process()
				for b.Loop() {
					look(b, r, &keys[i&set.mask])
					i++
				}
				reportCPU(b, cpu)
			})
			b.Run(set.name+"/parallel/"+mode, func(b *testing.B) {
				defer startWriter(b, r, mode)()
				b.ReportAllocs()
				var seq atomic.Int64
				cpu := cputime.Process()
				b.RunParallel(func(pb *testing.PB) {
					i := int(seq.Add(1) * 1000)
					for pb.Next() {
						look(b, r, &keys[i&set.mask])
						i++
					}
				})
				reportCPU(b, cpu)
			})
		}
	}
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.OIDCProvider("aws", "999999999999", keys[0].iss); err == nil {
				b.Fatal("hit")
			}
		}
	})
}

// reportCPU reports the process CPU time used since start per iteration.
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
	}
}

// startWriter starts a goroutine making 1,000 writes per second (in bursts of
// 10 every 10 ms) when mode is "writes", and returns its stop function.
func startWriter(b *testing.B, r *Registry, mode string) func() {
	if mode != "writes" {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	start := time.Now()
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		n := 0
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			for range 10 {
				n++
				a := (n * 31) % benchAccounts
				acct := benchAccount(a)
				if n%2 == 0 {
					arn := "arn:aws:iam::" + acct + ":oidc-provider/" + benchIssuer(a % benchIssuers)[len("https://"):]
					if _, err := r.AddClientIDToOIDCProvider(arn, fmt.Sprint("c", n%90)); err != nil {
						panic(err)
					}
				} else {
					arn := "arn:aws:iam::" + acct + ":role/app-" + fmt.Sprint(n%benchRolePerAc)
					doc := trustDoc(acct, benchIssuer(a%benchIssuers), fmt.Sprint("system:serviceaccount:x:", n))
					if _, err := r.UpdateAssumeRolePolicy(arn, doc); err != nil {
						panic(err)
					}
				}
				writes.Add(1)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		if d := time.Since(start).Seconds(); d > 0 {
			b.ReportMetric(float64(writes.Load())/d, "writes/s")
		}
	}
}

// BenchmarkMemory reports heap bytes per provider and per role, measured
// with runtime.MemStats before and after loading each kind alone.
func BenchmarkMemory(b *testing.B) {
	provs, roles := benchInputN(benchAccounts / 10)
	measure := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.GC()
		runtime.ReadMemStats(&after)
		return after.HeapAlloc - before.HeapAlloc
	}
	b.Run("provider", func(b *testing.B) {
		for b.Loop() {
			var r *Registry
			used := measure(func() {
				r = New(Options{})
				if err := r.Load(provs, nil); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(float64(used)/float64(len(provs)), "B/provider")
			runtime.KeepAlive(r)
		}
	})
	b.Run("role", func(b *testing.B) {
		docs := 0
		for _, ro := range roles {
			docs += len(ro.TrustPolicyDocument)
		}
		for b.Loop() {
			var r *Registry
			used := measure(func() {
				r = New(Options{})
				if err := r.Load(nil, roles); err != nil {
					b.Fatal(err)
				}
			})
			// The input documents stay alive in roles and are shared with
			// the registry's roles; count them as the registry's.
			b.ReportMetric(float64(used+uint64(docs))/float64(len(roles)), "B/role")
			runtime.KeepAlive(r)
		}
	})
}

// BenchmarkLoad measures Load from scratch and a reload of the same input
// (unchanged documents are not parsed again) at a tenth of the scale
// (10,000 providers, 20,000 roles), and reports the one Load of the full
// registry that BenchmarkLookup shares (s/load).
func BenchmarkLoad(b *testing.B) {
	b.Run("full-once", func(b *testing.B) {
		benchRegistry(b)
		for b.Loop() {
		}
		b.ReportMetric(benchLoad.Seconds(), "s/load")
	})
	provs, roles := benchInputN(benchAccounts / 10)
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			if err := New(Options{}).Load(provs, roles); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reload", func(b *testing.B) {
		r := New(Options{})
		if err := r.Load(provs, roles); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := r.Load(provs, roles); err != nil {
				b.Fatal(err)
			}
		}
	})
}
