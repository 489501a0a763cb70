package iam

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handleDepthRuns are the hint sequences a handle may see before its lookup: none, the
// verifier's, out of order, repeated, and beyond the last depth.
var handleDepthRuns = [][]int{nil, {0}, {0, 1}, {0, 1, 2, 3}, {2}, {3, 1}, {1, 1, 4}, {-1, 5}}

// twinNames are two roles' names whose long tails (path /twin/ and the name) have the same
// length and last 16 bytes: under a hash hook they share a slot's tag, so a hint's probe
// (which skips the tail's rest) can stop at the wrong one.
var twinNames = [2]string{"aaaa-role-name-of-sixteen-bytes", "bbbb-role-name-of-sixteen-bytes"}

func handleRegistry(t testing.TB, hook func(uint64) uint64, inlineIssuers uint32) (*Registry, []string) {
	r := prefetchRegistry(t, hook)
	if inlineIssuers > 0 {
		r.inlineIssuers = inlineIssuers
	}
	// With inlineIssuers 1, this provider's issuer goes to the overflow maps.
	mustCreateProvider(t, r, testProvider(acctB, "https://oidc.example.com/overflow", "sts.amazonaws.com"))
	arns := append([]string{}, prefetchRoleARNs...)
	for _, name := range twinNames {
		ro := testRole(acctA, name)
		ro.Path = "/twin/"
		arns = append(arns, mustCreateRole(t, r, ro).ARN)
	}
	return r, arns
}

// TestLookupHandlesAnswerAsLookups: for every hash hook, with the overflow maps in use or
// not, for stored roles and providers, misses, malformed input and long tails that collide,
// after any sequence of hints, a RoleLookup and a ProviderLookup give the same answer and
// error as Role and OIDCProvider, and allocate nothing.
func TestLookupHandlesAnswerAsLookups(t *testing.T) {
	provKeys := append([]idxProvKey{{"aws", acctB, "https://oidc.example.com/overflow"}}, prefetchProviders...)
	for hi, hook := range idxHooks {
		for _, inline := range []uint32{0, 1} {
			t.Run(fmt.Sprintf("hook%d/inline%d", hi, inline), func(t *testing.T) {
				r, arns := handleRegistry(t, hook, inline)
				for _, arn := range arns {
					want, werr := r.Role(arn)
					for _, run := range handleDepthRuns {
						l := r.PrepareRole(arn)
						var got *Role
						var gerr error
						allocs := testing.AllocsPerRun(5, func() {
							for _, d := range run {
								l.Prefetch(d)
							}
							got, gerr = l.Role()
						})
						assert.Zero(t, allocs)
						assert.Same(t, want, got, "%q after %v", arn, run)
						assert.Equal(t, werr, gerr, "%q after %v", arn, run)
					}
				}
				for _, k := range provKeys {
					want, werr := r.OIDCProvider(k.partition, k.account, k.url)
					for _, run := range handleDepthRuns {
						l := r.PrepareOIDCProvider(k.partition, k.account, k.url)
						var got *OIDCProvider
						var gerr error
						allocs := testing.AllocsPerRun(5, func() {
							for _, d := range run {
								l.Prefetch(d)
							}
							got, gerr = l.OIDCProvider()
							l.Prefetch(2) // the found provider's lines
						})
						assert.Zero(t, allocs)
						assert.Same(t, want, got, "%v after %v", k, run)
						assert.Equal(t, werr, gerr, "%v after %v", k, run)
					}
				}
				// Both twins are found, each through a handle whose hint may have stopped
				// at the other.
				for _, arn := range arns[len(arns)-2:] {
					l := r.PrepareRole(arn)
					l.Prefetch(1)
					got, err := l.Role()
					require.NoError(t, err)
					assert.Equal(t, arn, got.ARN)
				}
			})
		}
	}
}

// TestLookupHandlesZero: the zero handles find nothing and hint nothing.
func TestLookupHandlesZero(t *testing.T) {
	var rl RoleLookup
	var pl ProviderLookup
	for d := range 4 {
		rl.Prefetch(d)
		pl.Prefetch(d)
	}
	_, err := rl.Role()
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	_, err = pl.OIDCProvider()
	assert.ErrorIs(t, err, ErrNoSuchEntity)
}

// TestLookupHandlesSeeLaterWrites: a handle prepared and hinted (its probe recorded) before a
// write, a table resize or a Load answers with the registry's state at the lookup: every
// change that returned before it is seen.
func TestLookupHandlesSeeLaterWrites(t *testing.T) {
	for hi, hook := range idxHooks {
		t.Run(strconv.Itoa(hi), func(t *testing.T) {
			r, _ := handleRegistry(t, hook, 0)
			arn := "arn:aws:iam::" + acctB + ":role/later"
			hinted := func() (RoleLookup, ProviderLookup) {
				rl := r.PrepareRole(arn)
				pl := r.PrepareOIDCProvider("aws", acctB, eksURL)
				for d := range 4 {
					rl.Prefetch(d)
					pl.Prefetch(d)
				}
				return rl, pl
			}

			// Created after the hints.
			rl, pl := hinted()
			ro := mustCreateRole(t, r, testRole(acctB, "later"))
			p := mustCreateProvider(t, r, testProvider(acctB, eksURL, "sts.amazonaws.com"))
			got, err := rl.Role()
			require.NoError(t, err)
			assert.Same(t, ro, got)
			gp, err := pl.OIDCProvider()
			require.NoError(t, err)
			assert.Same(t, p, gp)

			// Replaced after the hints (a new record), then the tables resized by many more.
			rl, pl = hinted()
			desc := "changed"
			_, err = r.UpdateRole(arn, RoleUpdate{Description: &desc})
			require.NoError(t, err)
			for i := range 300 {
				mustCreateRole(t, r, testRole(acctB, fmt.Sprintf("more-%d", i)))
			}
			want, _ := r.Role(arn)
			require.NotSame(t, ro, want)
			got, err = rl.Role()
			require.NoError(t, err)
			assert.Same(t, want, got)

			// Deleted after the hints, and the handle's state gone with them.
			rl, pl = hinted()
			require.NoError(t, r.DeleteRole(arn))
			require.NoError(t, r.DeleteOIDCProvider(p.ARN))
			_, err = rl.Role()
			assert.ErrorIs(t, err, ErrNoSuchEntity)
			_, err = pl.OIDCProvider()
			assert.ErrorIs(t, err, ErrNoSuchEntity)

			// A Load between the hints and the lookup.
			rl, pl = hinted()
			lp := testProvider(acctB, eksURL, "sts.amazonaws.com")
			lr := testRole(acctB, "later")
			require.NoError(t, r.Load([]*OIDCProvider{lp}, []*Role{lr}))
			got, err = rl.Role()
			require.NoError(t, err)
			assert.Equal(t, arn, got.ARN)
			gp, err = pl.OIDCProvider()
			require.NoError(t, err)
			assert.Equal(t, acctB, gp.Account)
			assert.Equal(t, eksURL, gp.URL)
		})
	}
}

// TestLookupHandlesRaceWrites hints and looks up through handles while a writer creates and
// deletes the very role and provider (-race); every answer is nil or the entity asked for.
func TestLookupHandlesRaceWrites(t *testing.T) {
	r, _ := handleRegistry(t, nil, 0)
	arn := "arn:aws:iam::" + acctB + ":role/app-1"
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
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
		rl := r.PrepareRole(arn)
		pl := r.PrepareOIDCProvider("aws", acctB, eksURL)
		for d := range 4 {
			rl.Prefetch(d)
			pl.Prefetch(d)
		}
		if ro, err := rl.Role(); err == nil {
			assert.Equal(t, arn, ro.ARN)
		} else {
			assert.ErrorIs(t, err, ErrNoSuchEntity)
		}
		if p, err := pl.OIDCProvider(); err == nil {
			assert.Equal(t, acctB, p.Account)
			assert.Equal(t, eksURL, p.URL)
		} else {
			assert.ErrorIs(t, err, ErrNoSuchEntity)
		}
	}
	close(stop)
	wg.Wait()
}
