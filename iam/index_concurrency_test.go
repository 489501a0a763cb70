package iam

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIndexConcurrentChurn runs lookups of entities that exist throughout
// while writers create and delete others around them: in the same tables
// (the hooks make every entity share a shard and a few home slots, so that
// deletes move the stable entries back along their probe sequences), with
// issuers gaining their first provider and losing their last (the issuer
// table is rebuilt and numbers reused), and through the overflow maps. A
// lookup never misses a stable entity nor sees another one in its place;
// a writer sees its own write at once.
func TestIndexConcurrentChurn(t *testing.T) {
	for _, c := range []struct {
		name   string
		hook   func(uint64) uint64
		inline uint32
		opts   Options
	}{
		{"plain", nil, 0, Options{}},
		{"collide", func(h uint64) uint64 { return h & 3 }, 0, Options{}},
		{"overflow", func(h uint64) uint64 { return h & 0xF }, 3, Options{}},
		{"CommitBatch", func(h uint64) uint64 { return h & 7 }, 0, Options{CommitBatch: func([]Change) error { return nil }}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testIndexChurn(t, newIndexRegistry(t, c.opts, c.hook, c.inline))
		})
	}
}

func testIndexChurn(t *testing.T, r *Registry) {
	doc := trustDoc(acctA, eksURL, "system:serviceaccount:default:app")
	type stableProv struct {
		part, acct, url string
		p               *OIDCProvider
	}
	var provs []stableProv
	var roles []*Role
	for i, url := range []string{ghURL, eksURL, "https://127.0.0.1:8443"} {
		for _, acct := range []string{acctA, acctB} {
			p, err := r.PutOIDCProvider(&OIDCProvider{Account: acct, URL: url, ClientIDs: []string{"stable" + strconv.Itoa(i)}})
			require.NoError(t, err)
			provs = append(provs, stableProv{"aws", acct, url, p})
		}
	}
	for _, name := range []string{"a", "app-7", "abcdefghijklmnopqrstuvwxyz", "ci-deploy"} {
		ro, err := r.PutRole(&Role{Account: acctA, Path: "/stable/", Name: name, TrustPolicyDocument: doc})
		require.NoError(t, err)
		roles = append(roles, ro)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				for _, s := range provs {
					got, err := r.OIDCProvider(s.part, s.acct, s.url)
					if !assert.NoError(t, err, s.url) || !assert.Same(t, s.p, got, s.url) {
						return
					}
				}
				for _, ro := range roles {
					got, err := r.Role(ro.ARN)
					if !assert.NoError(t, err, ro.ARN) || !assert.Same(t, ro, got, ro.ARN) {
						return
					}
				}
			}
		})
	}
	// The writers assert (not require): they run outside the test goroutine.
	churn := func(w int) {
		acct := []string{acctA, acctB, "000000000000"}[w]
		for n := range 150 {
			url := "https://churn" + strconv.Itoa(n%7) + ".example.com/w" + strconv.Itoa(w)
			p, err := r.PutOIDCProvider(&OIDCProvider{Account: acct, URL: url})
			assert.NoError(t, err)
			got, err := r.OIDCProvider("aws", acct, url)
			assert.NoError(t, err)
			assert.Same(t, p, got)
			ro, err := r.PutRole(&Role{Account: acct, Name: "churn-" + strconv.Itoa(n%5) + "-" + strconv.Itoa(w) + "-with-a-long-name", TrustPolicyDocument: doc})
			assert.NoError(t, err)
			gotRole, err := r.Role(ro.ARN)
			assert.NoError(t, err)
			assert.Same(t, ro, gotRole)
			if n%3 != 0 {
				arn, _ := OIDCProviderARN("aws", acct, url)
				assert.NoError(t, r.DeleteOIDCProvider(arn))
				_, err = r.OIDCProvider("aws", acct, url)
				assert.ErrorIs(t, err, ErrNoSuchEntity)
				assert.NoError(t, r.DeleteRole(ro.ARN))
				_, err = r.Role(ro.ARN)
				assert.ErrorIs(t, err, ErrNoSuchEntity)
			}
		}
	}
	var writers sync.WaitGroup
	for w := range 3 {
		writers.Go(func() { churn(w) })
	}
	writers.Wait()
	stop.Store(true)
	wg.Wait()
}
