package iam

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// prefetchInputs are role ARNs and provider keys for the hints: stored ones, near misses
// and shapes no entity can have.
var (
	prefetchRoleARNs = []string{
		"arn:aws:iam::" + acctA + ":role/app-1",
		"arn:aws:iam::" + acctA + ":role/a/much/longer/path/than/sixteen/bytes/app-2", // a long tail
		"arn:aws:iam::" + acctA + ":role/app-404",
		"arn:aws:iam::" + acctB + ":role/app-1",
		"arn:aws-cn:iam::" + acctA + ":role/app-1",
		"arn:aws:iam::" + acctA + ":role/", "arn:aws:iam::1111:role/x", "arn:nope", "", "arn:aws:iam::11112222333x:role/app-1",
	}
	prefetchProviders = []idxProvKey{
		{"aws", acctA, eksURL}, {"aws", acctA, ghURL}, {"aws", acctB, eksURL}, {"aws", acctA, eksURL + "x"},
		{"aws-cn", acctA, eksURL}, {"aws", "1234", eksURL}, {"nope", acctA, eksURL}, {"", "", ""},
	}
)

func prefetchRegistry(t testing.TB, hook func(uint64) uint64) *Registry {
	r := newIndexRegistry(t, Options{}, hook, 0)
	mustCreateProvider(t, r, testProvider(acctA, eksURL, "sts.amazonaws.com"))
	mustCreateProvider(t, r, &OIDCProvider{Account: acctA, URL: ghURL, ClientIDs: []string{"sts.amazonaws.com"}})
	mustCreateRole(t, r, testRole(acctA, "app-1"))
	ro := testRole(acctA, "app-2")
	ro.Path = "/a/much/longer/path/than/sixteen/bytes/"
	mustCreateRole(t, r, ro)
	return r
}

// TestPrefetchHintsChangeNothing: at every depth, on stored entities, misses and malformed
// input, with the index's hashes forced to collide or not, the hints neither allocate nor
// change a lookup's answer.
func TestPrefetchHintsChangeNothing(t *testing.T) {
	for hi, hook := range idxHooks {
		t.Run(strconv.Itoa(hi), func(t *testing.T) {
			r := prefetchRegistry(t, hook)
			want := map[string]*Role{}
			for _, arn := range prefetchRoleARNs {
				want[arn], _ = r.Role(arn)
			}
			wantP := map[idxProvKey]*OIDCProvider{}
			for _, k := range prefetchProviders {
				wantP[k], _ = r.OIDCProvider(k.partition, k.account, k.url)
			}
			require.NotNil(t, want[prefetchRoleARNs[0]])
			require.NotNil(t, want[prefetchRoleARNs[1]])
			require.NotNil(t, wantP[prefetchProviders[0]])
			for depth := -1; depth <= 4; depth++ {
				allocs := testing.AllocsPerRun(10, func() {
					for _, arn := range prefetchRoleARNs {
						r.PrefetchRole(arn, depth)
					}
					for _, k := range prefetchProviders {
						r.PrefetchOIDCProvider(k.partition, k.account, k.url, depth)
					}
				})
				assert.Zero(t, allocs, "depth %d", depth)
				for _, arn := range prefetchRoleARNs {
					got, err := r.Role(arn)
					assert.Same(t, want[arn], got, "depth %d %q", depth, arn)
					if want[arn] == nil {
						assert.ErrorIs(t, err, ErrNoSuchEntity)
					}
				}
				for _, k := range prefetchProviders {
					got, err := r.OIDCProvider(k.partition, k.account, k.url)
					assert.Same(t, wantP[k], got, "depth %d %v", depth, k)
					if wantP[k] == nil {
						assert.ErrorIs(t, err, ErrNoSuchEntity)
					}
				}
			}
		})
	}
}

// TestPrefetchHintsEmpty: hints on a registry without entities are no-ops.
func TestPrefetchHintsEmpty(t *testing.T) {
	r := newTestRegistry(t, Options{})
	for depth := range 4 {
		r.PrefetchRole(prefetchRoleARNs[0], depth)
		r.PrefetchOIDCProvider("aws", acctA, eksURL, depth)
	}
	_, err := r.Role(prefetchRoleARNs[0])
	assert.ErrorIs(t, err, ErrNoSuchEntity)
}

// TestPrefetchHintsConcurrentWrites runs the hints while a writer creates and deletes the
// very roles and providers they walk to (-race: they read only published state).
func TestPrefetchHintsConcurrentWrites(t *testing.T) {
	r := prefetchRegistry(t, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ro := mustCreateRole(t, r, testRole(acctB, "app-1"))
			p := mustCreateProvider(t, r, testProvider(acctB, eksURL, "sts.amazonaws.com"))
			require.NoError(t, r.DeleteRole(ro.ARN))
			require.NoError(t, r.DeleteOIDCProvider(p.ARN))
		}
	})
	for range 2000 {
		for depth := range 4 {
			r.PrefetchRole("arn:aws:iam::"+acctB+":role/app-1", depth)
			r.PrefetchOIDCProvider("aws", acctB, eksURL, depth)
		}
	}
	close(stop)
	wg.Wait()
	got, err := r.Role(prefetchRoleARNs[0])
	require.NoError(t, err)
	assert.Equal(t, prefetchRoleARNs[0], got.ARN)
}
