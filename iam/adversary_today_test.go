package iam

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adversary of the flat index (index.go): role ARNs that share their last 16 bytes and
// their key word, tails of exactly 16 and 17 bytes, accounts and partitions one step away,
// provider lookups by strings that are not 12-digit accounts or not the registered URL, with
// every hash forced equal (one shard, one home slot, one tag) so that only the key
// comparisons tell entities apart; then deletes (backward shifts through the cluster) and a
// Load of the same entities.

const s16 = "ZYXWVUTSRQPONMLK" // 16 bytes every long name below ends with

func todayRoles() []*Role {
	mk := func(part, acct, path, name string) *Role {
		ro := testRole(acct, name)
		ro.Partition, ro.Path = part, path
		return ro
	}
	return []*Role{
		mk("aws", acctA, "/", "Q"+s16),                 // tail 18, last 16 = s16
		mk("aws", acctA, "/", "R"+s16),                 // same word, same last 16
		mk("aws", acctA, "/a/", s16),                   // tail 19, last 16 = s16
		mk("aws", acctA, "/b/", "T"+s16),               // same
		mk("aws", acctA, "/c/", "U"+s16),               // same word and last 16 bytes as /b/T...
		mk("aws", acctA, "/", s16[1:]),                 // tail exactly 16: "/" + 15
		mk("aws", acctA, "/", "x"+s16[1:]),             // tail 17
		mk("aws", acctB, "/", "Q"+s16),                 // another account
		mk("aws", "111122223334", "/", "Q"+s16),        // an account one step away
		mk("aws-cn", acctA, "/", "Q"+s16),              // another partition
		mk("aws-us-gov", acctA, "/a/", s16),            // another partition, a path
		mk("aws", acctA, "/"+s16+"/", "n"),             // s16 inside the path
		mk("aws", acctA, "/", "abcdefghijklmnop"),      // name of 16: tail 17
		mk("aws", acctA, "/", "abcdefghijklmno"),       // name of 15: tail 16
		mk("aws", acctA, "/", strings.Repeat("n", 64)), // longest name
	}
}

// nearMisses are ARNs that no role of todayRoles has.
func nearMisses(roles []*Role) []string {
	var out []string
	for _, ro := range roles {
		a := ro.ARN
		out = append(out,
			strings.ToUpper(a), strings.ToLower(a), a+"/", a[:len(a)-1], a+"x",
			strings.Replace(a, ":role/", ":role//", 1),
			strings.Replace(a, ":role/", ":user/", 1),
			strings.Replace(a, ":iam::", ":sts::", 1),
			strings.Replace(a, ":iam::", ":iam:us-east-1:", 1),
			strings.Replace(a, "arn:", "ARN:", 1),
			strings.Replace(a, ":"+ro.Account+":", ":"+ro.Account[1:]+":", 1),
			strings.Replace(a, ":"+ro.Account+":", ":0"+ro.Account+":", 1),
			strings.Replace(a, ":"+ro.Account+":", ":"+ro.Account[:11]+"x:", 1),
			strings.Replace(a, ":"+ro.Account+":", ":"+ro.Account[:11]+"/:", 1), // '/' is '0'-1
			strings.Replace(a, ":"+ro.Account+":", ":"+ro.Account[:11]+":"+":", 1),
			strings.Replace(a, ":"+ro.Account+":", ":"+ro.Account[:11]+"\u0661:", 1), // Arabic-Indic 1
			strings.Replace(a, ":"+ro.Partition+":", ":"+strings.ToUpper(ro.Partition)+":", 1),
			strings.Replace(a, ":"+ro.Partition+":", ":aws-iso-x:", 1),
			strings.Replace(a, ":"+ro.Partition+":", "::", 1),
			strings.Replace(a, s16, strings.ToLower(s16), 1),
		)
		// The same last 16 bytes after another tail of the same length.
		if i := strings.Index(a, ":role"); i >= 0 {
			tail := a[i+len(":role"):]
			if len(tail) > 17 {
				out = append(out, a[:i+len(":role")]+"/"+strings.Repeat("w", len(tail)-17)+tail[len(tail)-16:])
			}
		}
	}
	seen := map[string]bool{}
	for _, ro := range roles {
		seen[ro.ARN] = true
	}
	var miss []string
	for _, m := range out {
		if !seen[m] {
			miss = append(miss, m)
			seen[m] = true
		}
	}
	return miss
}

func checkRoles(t *testing.T, r *Registry, want []*Role, gone []*Role, misses []string) {
	t.Helper()
	for _, ro := range want {
		got, err := r.Role(ro.ARN)
		if assert.NoError(t, err, ro.ARN) {
			assert.Equal(t, ro.ARN, got.ARN)
		}
	}
	for _, ro := range gone {
		got, err := r.Role(ro.ARN)
		assert.True(t, errors.Is(err, ErrNoSuchEntity), "deleted %s answered %v", ro.ARN, got)
	}
	for _, m := range misses {
		// FINDING if it fails: a lookup answers for a role that does not exist.
		got, err := r.Role(m)
		assert.True(t, errors.Is(err, ErrNoSuchEntity), "%q answered %v", m, got)
	}
}

// HOLDS: every role is found by its exact ARN and nothing else, with all hashes equal
// (or none forced), after creates, after deletes that shift the cluster, and after Load.
func TestAdversaryTodayRoleExact(t *testing.T) {
	for name, hook := range map[string]func(uint64) uint64{"real hashes": nil, "all equal": func(uint64) uint64 { return 0 }} {
		t.Run(name, func(t *testing.T) {
			r := newIndexRegistry(t, Options{}, hook, 0)
			roles := todayRoles()
			var made []*Role
			for _, ro := range roles {
				made = append(made, mustCreateRole(t, r, ro))
			}
			misses := nearMisses(made)
			require.NotEmpty(t, misses)
			checkRoles(t, r, made, nil, misses)

			// Delete every other one: the rest stay reachable through the shifted cluster.
			var kept, gone []*Role
			for i, ro := range made {
				if i%2 == 0 {
					require.NoError(t, r.DeleteRole(ro.ARN))
					gone = append(gone, ro)
				} else {
					kept = append(kept, ro)
				}
			}
			checkRoles(t, r, kept, gone, misses)

			// Load all of them again (fresh slab tables), then the same checks.
			require.NoError(t, r.Load(nil, todayRoles()))
			checkRoles(t, r, made, nil, misses)
		})
	}
}

// HOLDS: a provider is found only by its partition, 12-digit account and URL exactly.
func TestAdversaryTodayProviderExact(t *testing.T) {
	for name, hook := range map[string]func(uint64) uint64{"real hashes": nil, "all equal": func(uint64) uint64 { return 0 }} {
		for _, inline := range []uint32{0, 1} { // 1: every issuer but the first in the overflow maps
			t.Run(name, func(t *testing.T) {
				r := newIndexRegistry(t, Options{}, hook, inline)
				urls := []string{ghURL, ghURL + "/", "https://a.example.com", "https://a.example.com:8443", "https://a.example.com/x"}
				type key struct{ part, acct, url string }
				var have []key
				for _, u := range urls {
					for _, a := range []string{acctA, "111122223334"} {
						p := testProvider(a, u, "sts.amazonaws.com")
						mustCreateProvider(t, r, p)
						have = append(have, key{"aws", a, u})
					}
				}
				p := testProvider(acctA, ghURL, "sts.amazonaws.com")
				p.Partition = "aws-cn"
				mustCreateProvider(t, r, p)
				have = append(have, key{"aws-cn", acctA, ghURL})
				for _, k := range have {
					got, err := r.OIDCProvider(k.part, k.acct, k.url)
					if assert.NoError(t, err, "%v", k) {
						assert.Equal(t, k.url, got.URL)
						assert.Equal(t, k.acct, got.Account)
						assert.Equal(t, k.part, got.Partition)
					}
				}
				var misses []key
				for _, k := range have {
					for _, acct := range []string{k.acct[1:], "0" + k.acct, k.acct[:11] + "x", k.acct[:11] + "/", k.acct[:11] + ":", k.acct[:11] + "\u0661", " " + k.acct[1:], "+" + k.acct[1:], "111122223335", ""} {
						misses = append(misses, key{k.part, acct, k.url})
					}
					for _, u := range []string{strings.ToUpper(k.url), k.url + "x", k.url[:len(k.url)-1], strings.Replace(k.url, "https://", "http://", 1), k.url + ":443", ""} {
						misses = append(misses, key{k.part, k.acct, u})
					}
					for _, part := range []string{"AWS", "aws-us-gov", "", "aws-iso-x"} {
						misses = append(misses, key{part, k.acct, k.url})
					}
				}
				exists := map[key]bool{}
				for _, k := range have {
					exists[k] = true
				}
				for _, m := range misses {
					if exists[m] {
						continue
					}
					// FINDING if it fails: a lookup answers for a provider that does not exist.
					got, err := r.OIDCProvider(m.part, m.acct, m.url)
					assert.True(t, errors.Is(err, ErrNoSuchEntity), "%+v answered %v", m, got)
				}
				// Drop every provider of one URL (its issuer number is freed), add another URL
				// (which takes the number): the old URL's lookups miss, the new one's hit.
				for _, a := range []string{acctA, "111122223334"} {
					require.NoError(t, r.DeleteOIDCProvider(mustARN(t, r, "aws", a, "https://a.example.com")))
				}
				mustCreateProvider(t, r, testProvider(acctB, "https://b.example.com", "x"))
				for _, a := range []string{acctA, "111122223334", acctB} {
					_, err := r.OIDCProvider("aws", a, "https://a.example.com")
					assert.True(t, errors.Is(err, ErrNoSuchEntity), a)
					_, err = r.OIDCProvider("aws", a, "https://b.example.com")
					assert.Equal(t, a == acctB, err == nil, a)
				}
			})
		}
	}
}

func mustARN(t *testing.T, r *Registry, part, acct, url string) string {
	t.Helper()
	p, err := r.OIDCProvider(part, acct, url)
	require.NoError(t, err)
	return p.ARN
}
