package iam

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentReadersAndWriters runs lookups against writers that replace
// a provider's client IDs and a role's trust policy. Each published version is
// internally consistent (a reader never sees a torn entity: the client IDs
// and the tag that names the version agree), and once a write has returned,
// no lookup that starts afterwards sees an older version.
func TestConcurrentReadersAndWriters(t *testing.T) {
	for _, mode := range writeModes {
		t.Run(mode.name, func(t *testing.T) { testConcurrentReadersAndWriters(t, newTestRegistry(t, mode.opts())) })
	}
}

// writeModes are the registries the concurrency tests run on: without a
// hook, and group-committed (the hook does nothing, so that batches form
// only from the writers' own timing).
var writeModes = []struct {
	name string
	opts func() Options
}{
	{"memory", func() Options { return Options{} }},
	{"CommitBatch", func() Options { return Options{CommitBatch: func([]Change) error { return nil }} }},
}

func testConcurrentReadersAndWriters(t *testing.T, r *Registry) {
	p := mustCreateProvider(t, r, &OIDCProvider{Account: acctA, URL: ghURL, ClientIDs: []string{"v0"}, Tags: []Tag{{Key: "v", Value: "0"}}})
	ro := mustCreateRole(t, r, testRole(acctA, "app"))
	var published atomic.Int64 // highest version whose write returned
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				floor := published.Load()
				got, err := r.OIDCProvider("aws", acctA, ghURL)
				if !assert.NoError(t, err) {
					return
				}
				v, _ := strconv.Atoi(got.Tags[0].Value)
				assert.Equal(t, "v"+got.Tags[0].Value, got.ClientIDs[0], "torn provider")
				assert.GreaterOrEqual(t, int64(v), floor, "stale provider after its write returned")
				role, err := r.Role(ro.ARN)
				if assert.NoError(t, err) {
					assert.NotNil(t, role.TrustPolicy)
				}
			}
		})
	}
	for v := 1; v <= 300; v++ {
		s := strconv.Itoa(v)
		_, err := r.PutOIDCProvider(&OIDCProvider{ARN: p.ARN, ClientIDs: []string{"v" + s}, Tags: []Tag{{Key: "v", Value: s}}})
		require.NoError(t, err)
		published.Store(int64(v))
		if v%30 == 0 {
			_, err := r.UpdateAssumeRolePolicy(ro.ARN, trustDoc(acctA, eksURL, "sub-"+s))
			require.NoError(t, err)
		}
	}
	stop.Store(true)
	wg.Wait()
}

// TestConcurrentModifiesLoseNoUpdate: concurrent read-modify-write helpers on
// one entity are atomic with respect to each other.
func TestConcurrentModifiesLoseNoUpdate(t *testing.T) {
	for _, mode := range writeModes {
		t.Run(mode.name, func(t *testing.T) { testConcurrentModifiesLoseNoUpdate(t, newTestRegistry(t, mode.opts())) })
	}
}

func testConcurrentModifiesLoseNoUpdate(t *testing.T, r *Registry) {
	p := mustCreateProvider(t, r, testProvider(acctA, ghURL))
	ro := mustCreateRole(t, r, testRole(acctA, "app"))
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Go(func() {
			for i := range 10 {
				k := "k" + strconv.Itoa(w*10+i)
				_, err := r.AddClientIDToOIDCProvider(p.ARN, k)
				assert.NoError(t, err)
				_, err = r.TagRole(ro.ARN, []Tag{{Key: k}})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	got, err := r.OIDCProvider("aws", acctA, ghURL)
	require.NoError(t, err)
	assert.Len(t, got.ClientIDs, 50)
	gotRole, err := r.Role(ro.ARN)
	require.NoError(t, err)
	assert.Len(t, gotRole.Tags, 50)
}
