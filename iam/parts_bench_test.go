package iam

import (
	"testing"

	"github.com/webidentity/webidentity/internal/cputime"
)

// BenchmarkLookupParts splits lookup/random: each lookup alone over random
// tenants, then the pair, to tell whether the two lookups' misses overlap
// (pair < provider + role) or add up.
func BenchmarkLookupParts(b *testing.B) {
	r := benchRegistry(b)
	keys := randomBenchKeys(1 << 16)
	const mask = 1<<16 - 1
	run := func(name string, op func(k *benchKey) bool) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cputime.Process()
			i := 0
			for b.Loop() {
				if !op(&keys[i&mask]) {
					b.Fatal("miss")
				}
				i++
			}
			reportCPU(b, cpu)
		})
	}
	run("keys", func(k *benchKey) bool { return len(k.acct)+len(k.iss)+len(k.role) > 0 })
	run("provider", func(k *benchKey) bool {
		p, _ := r.OIDCProvider("aws", k.acct, k.iss)
		return p != nil
	})
	run("role", func(k *benchKey) bool {
		ro, _ := r.Role(k.role)
		return ro != nil
	})
	run("role-miss", func(k *benchKey) bool {
		ro, _ := r.Role(k.role + "x") // app-Nx: in the account, never stored
		return ro == nil
	})
	run("pair", func(k *benchKey) bool {
		p, _ := r.OIDCProvider("aws", k.acct, k.iss)
		ro, _ := r.Role(k.role)
		return p != nil && ro != nil
	})
}
