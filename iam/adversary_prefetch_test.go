package iam

// Adversary tests of the registry's prefetch hints. A test FAILS when the attack succeeds;
// "// HOLDS:" marks what the code withstands (kept as regression tests).

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// HOLDS: the hints while the tables they probe grow and shrink under them (thousands of roles
// and hundreds of providers created, then deleted, so the shards are copied at new sizes and
// the issuer table is rebuilt), for ARNs and keys of every shape the hints take (stored,
// deleted, long tails, escapes of the ARN grammar, an issuer URL of 4 KiB), under -race: no
// hint faults, races or loops, and afterwards every lookup answers as it did.
func TestAdvPrefetchHintsWhileTablesResize(t *testing.T) {
	r := newTestRegistry(t, Options{MaxOIDCProvidersPerAccount: -1, MaxRolesPerAccount: -1})
	keep := mustCreateRole(t, r, testRole(acctA, "keep"))
	keepP := mustCreateProvider(t, r, testProvider(acctA, eksURL, "sts.amazonaws.com"))
	const roles, provs = 3000, 200
	arns := []string{keep.ARN, "arn:aws:iam::" + acctB + ":role/" + strings.Repeat("x", 64), "arn:aws:iam::" + acctB + ":role/\u00e9\x00",
		"arn:aws:iam::" + acctB + ":role", "arn:aws:iam::" + acctB + ":", "arn:", "arn:aws:iam::" + acctB + ":role/r-17/../r-18"}
	for i := range 20 {
		arns = append(arns, fmt.Sprintf("arn:aws:iam::%s:role/r-%d", acctB, i*150))
	}
	urls := []string{eksURL, "https://oidc.example.com/p-3", "https://oidc.example.com/" + strings.Repeat("u", 4096), "", "https://"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for i := range roles {
			if _, err := r.CreateRole(testRole(acctB, fmt.Sprintf("r-%d", i))); !assert.NoError(t, err) {
				return
			}
			if i < provs {
				_, err := r.CreateOIDCProvider(testProvider(acctB, fmt.Sprintf("https://oidc.example.com/p-%d", i), "sts.amazonaws.com"))
				if !assert.NoError(t, err) {
					return
				}
			}
		}
		for i := range roles {
			if !assert.NoError(t, r.DeleteRole(fmt.Sprintf("arn:aws:iam::%s:role/r-%d", acctB, i))) {
				return
			}
			if i < provs {
				if !assert.NoError(t, r.DeleteOIDCProvider(fmt.Sprintf("arn:aws:iam::%s:oidc-provider/oidc.example.com/p-%d", acctB, i))) {
					return
				}
			}
		}
	})
	for hinting := true; hinting; {
		select {
		case <-stop:
			hinting = false
		default:
		}
		for depth := -1; depth <= 3; depth++ {
			for _, arn := range arns {
				r.PrefetchRole(arn, depth)
			}
			for _, u := range urls {
				r.PrefetchOIDCProvider("aws", acctB, u, depth)
				r.PrefetchOIDCProvider("aws", acctA, u, depth)
			}
		}
	}
	wg.Wait()
	got, err := r.Role(keep.ARN)
	require.NoError(t, err)
	assert.Same(t, keep, got)
	gp, err := r.OIDCProvider("aws", acctA, eksURL)
	require.NoError(t, err)
	assert.Equal(t, keepP.ARN, gp.ARN)
	p, roleN := r.Len()
	assert.Equal(t, 1, p)
	assert.Equal(t, 1, roleN)
}
