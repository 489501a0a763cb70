package iam

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The index (index.go) against a plain map model: random puts, deletes,
// reloads and lookups, with the index's hashes forced to collide through
// the registry's test hook, issuer numbers forced into the overflow maps,
// and the key shapes that fall outside the inline comparison (long role
// tails, tails sharing their first 16 bytes, URLs with ports, other
// partitions), plus lookups of strings that no entity can have.

var (
	idxPartitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-eusc"}
	idxAccounts   = []string{acctA, acctB, "000000000000", "999999999999"}
	idxURLs       = []string{
		ghURL, eksURL, "https://127.0.0.1:8443", "https://127.0.0.1:8443/id/A",
		"https://a.example.com", "https://a.example.com/", "https://A.example.com",
		"https://long.example.com/" + strings.Repeat("p", 200),
	}
	idxPaths = []string{"/", "/ci/", "/a/b/c/d/e/f/g/", "/" + strings.Repeat("q", 100) + "/"}
	idxNames = []string{
		"a", "app-7", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopX",
		"abcdefghijklmnopY", strings.Repeat("n", 64), "x_y+z=w,v.u@t-s",
	}
	// idxHooks replace every hash of the index: none; all equal (one
	// shard, one home slot, one tag: every probe walks a cluster and
	// every comparison is of the key); few values; only the tag bits
	// differ (same slot, tags told apart); only the slot bits.
	idxHooks = []func(uint64) uint64{
		nil,
		func(uint64) uint64 { return 0 },
		func(h uint64) uint64 { return h & 3 },
		func(h uint64) uint64 { return h & (0x3FF << roleTagShift) },
		func(h uint64) uint64 { return h & 0xFF },
	}
)

// newIndexRegistry is a registry with the index's test hooks set before
// its first write.
func newIndexRegistry(t testing.TB, opts Options, hook func(uint64) uint64, inlineIssuers uint32) *Registry {
	opts.AllowURLPort = true
	opts.MaxOIDCProvidersPerAccount, opts.MaxRolesPerAccount = -1, -1
	r := newTestRegistry(t, opts)
	r.hashHook = hook
	if inlineIssuers > 0 {
		r.inlineIssuers = inlineIssuers
	}
	return r
}

type idxProvKey struct{ partition, account, url string }

// indexModel is what the registry should hold.
type indexModel struct {
	provs map[idxProvKey]*OIDCProvider
	roles map[string]*Role
}

func (m *indexModel) roleNamed(partition, account, name string) *Role {
	for _, ro := range m.roles {
		if ro.Partition == partition && ro.Account == account && strings.EqualFold(ro.Name, name) {
			return ro
		}
	}
	return nil
}

// check compares every lookup the model can answer, and some it cannot.
func (m *indexModel) check(t *testing.T, r *Registry) {
	t.Helper()
	for _, part := range idxPartitions {
		for _, acct := range idxAccounts {
			for _, url := range idxURLs {
				want := m.provs[idxProvKey{part, acct, url}]
				got, err := r.OIDCProvider(part, acct, url)
				if want == nil {
					if !assert.ErrorIs(t, err, ErrNoSuchEntity, "%s %s %s", part, acct, url) {
						t.FailNow()
					}
					continue
				}
				require.NoError(t, err, "%s %s %s", part, acct, url)
				require.Same(t, want, got, "%s %s %s", part, acct, url)
				// Near misses of the same shape.
				for _, u := range []string{url + "x", url[:len(url)-1], strings.ToUpper(url)} {
					if m.provs[idxProvKey{part, acct, u}] == nil {
						_, err := r.OIDCProvider(part, acct, u)
						require.ErrorIs(t, err, ErrNoSuchEntity, u)
					}
				}
			}
			for _, path := range idxPaths {
				for _, name := range idxNames {
					arn := RoleARN(part, acct, path, name)
					want := m.roles[arn]
					got, err := r.Role(arn)
					if want == nil {
						require.ErrorIs(t, err, ErrNoSuchEntity, arn)
					} else {
						require.NoError(t, err, arn)
						require.Same(t, want, got, arn)
					}
				}
			}
		}
	}
	for arn := range m.roles {
		for _, v := range []string{arn + "x", arn[:len(arn)-1], strings.ToUpper(arn), strings.Replace(arn, "role/", "role//", 1), strings.Replace(arn, ":iam::", ":iam:", 1)} {
			if m.roles[v] == nil {
				_, err := r.Role(v)
				require.ErrorIs(t, err, ErrNoSuchEntity, v)
			}
		}
	}
	for _, bad := range [][3]string{
		{"aws", "11112222333", ghURL}, {"aws", "1111222233334", ghURL}, {"aws", "11112222333a", ghURL},
		{"bogus", acctA, ghURL}, {"", acctA, ghURL}, {"aws", acctA, ""}, {"aws", "", ghURL},
	} {
		_, err := r.OIDCProvider(bad[0], bad[1], bad[2])
		require.ErrorIs(t, err, ErrNoSuchEntity, bad)
	}
	for _, bad := range []string{"", "arn:", "arn:aws:iam::", "arn:aws:iam::111122223333:role", "arn:aws:iam::11112222333:role/a",
		"arn:bogus:iam::111122223333:role/a", "arn:aws:iam::111122223333:user/a", "arn:aws:sts::111122223333:role/a",
		"arn:aws:iam::111122223333:role/" + strings.Repeat("z", 2000)} {
		_, err := r.Role(bad)
		require.ErrorIs(t, err, ErrNoSuchEntity, bad)
	}
	np, nr := r.Len()
	require.Equal(t, len(m.provs), np, "providers")
	require.Equal(t, len(m.roles), nr, "roles")
	issuers := map[string]bool{}
	for k := range m.provs {
		issuers[k.url] = true
	}
	for _, u := range idxURLs {
		require.Equal(t, issuers[u], r.HasIssuer(u), u)
	}
	require.Len(t, r.Issuers(), len(issuers))
}

// runIndexOps interprets data as operations on r and the model.
func runIndexOps(t *testing.T, r *Registry, data []byte, fail *bool) {
	m := &indexModel{provs: map[idxProvKey]*OIDCProvider{}, roles: map[string]*Role{}}
	pick := func(i *int, n int) int {
		if *i >= len(data) {
			return 0
		}
		v := int(data[*i]) % n
		*i++
		return v
	}
	doc := trustDoc(acctA, eksURL, "system:serviceaccount:default:app")
	for i := 0; i < len(data); {
		op := pick(&i, 8)
		failing := fail != nil && pick(&i, 5) == 0
		if fail != nil {
			*fail = failing
		}
		part, acct := idxPartitions[pick(&i, len(idxPartitions))], idxAccounts[pick(&i, len(idxAccounts))]
		switch op {
		case 0, 1: // put a provider
			url := idxURLs[pick(&i, len(idxURLs))]
			p, err := r.PutOIDCProvider(&OIDCProvider{Partition: part, Account: acct, URL: url, ClientIDs: []string{"c"}})
			if failing {
				require.ErrorIs(t, err, ErrServiceFailure)
				break
			}
			require.NoError(t, err)
			m.provs[idxProvKey{part, acct, url}] = p
		case 2: // delete a provider
			url := idxURLs[pick(&i, len(idxURLs))]
			arn, err := OIDCProviderARN(part, acct, url)
			require.NoError(t, err)
			err = r.DeleteOIDCProvider(arn)
			switch k := (idxProvKey{part, acct, url}); {
			case m.provs[k] == nil:
				require.ErrorIs(t, err, ErrNoSuchEntity)
			case failing:
				require.ErrorIs(t, err, ErrServiceFailure)
			default:
				require.NoError(t, err)
				delete(m.provs, k)
			}
		case 3, 4: // put a role
			path, name := idxPaths[pick(&i, len(idxPaths))], idxNames[pick(&i, len(idxNames))]
			arn := RoleARN(part, acct, path, name)
			ro, err := r.PutRole(&Role{ARN: arn, TrustPolicyDocument: doc})
			switch other := m.roleNamed(part, acct, name); {
			case other != nil && other.ARN != arn:
				require.ErrorIs(t, err, ErrEntityAlreadyExists)
			case failing:
				require.ErrorIs(t, err, ErrServiceFailure)
			default:
				require.NoError(t, err)
				m.roles[arn] = ro
			}
		case 5: // delete a role
			path, name := idxPaths[pick(&i, len(idxPaths))], idxNames[pick(&i, len(idxNames))]
			arn := RoleARN(part, acct, path, name)
			err := r.DeleteRole(arn)
			switch {
			case m.roles[arn] == nil:
				require.ErrorIs(t, err, ErrNoSuchEntity)
			case failing:
				require.ErrorIs(t, err, ErrServiceFailure)
			default:
				require.NoError(t, err)
				delete(m.roles, arn)
			}
		case 6: // reload what the model holds, minus one of each kind
			var provs []*OIDCProvider
			var roles []*Role
			skip := pick(&i, 4)
			for k := range m.provs {
				provs = append(provs, &OIDCProvider{Partition: k.partition, Account: k.account, URL: k.url, ClientIDs: []string{"c"}})
			}
			for arn := range m.roles {
				roles = append(roles, &Role{ARN: arn, TrustPolicyDocument: doc})
			}
			if skip == 0 && len(provs) > 0 {
				provs = provs[1:]
			}
			if skip == 1 && len(roles) > 0 {
				roles = roles[1:]
			}
			err := r.Load(provs, roles)
			if failing {
				require.ErrorIs(t, err, ErrServiceFailure)
				break
			}
			require.NoError(t, err)
			clear(m.provs)
			clear(m.roles)
			for _, p := range provs {
				got, err := r.OIDCProvider(p.Partition, p.Account, p.URL)
				require.NoError(t, err)
				m.provs[idxProvKey{p.Partition, p.Account, p.URL}] = got
			}
			for _, ro := range roles {
				got, err := r.Role(ro.ARN)
				require.NoError(t, err)
				m.roles[ro.ARN] = got
			}
		case 7:
			m.check(t, r)
		}
	}
	if fail != nil {
		*fail = false
	}
	m.check(t, r)
}

// indexRegistries are the registries FuzzIndex runs on, chosen by the
// first byte: each hook, with and without overflow issuer numbers, and with
// a CommitBatch hook that fails when the operation says so (a failed batch
// rebuilds the write side, issuer numbers included).
func indexRegistry(t *testing.T, sel byte) (*Registry, *bool) {
	hook := idxHooks[int(sel)%len(idxHooks)]
	var inline uint32
	if sel/8%2 == 1 {
		inline = 2
	}
	var fail *bool
	opts := Options{}
	if sel/16%2 == 1 {
		fail = new(bool)
		opts.CommitBatch = func([]Change) error {
			if *fail {
				return errors.New("disk full")
			}
			return nil
		}
	}
	return newIndexRegistry(t, opts, hook, inline), fail
}

func FuzzIndex(f *testing.F) {
	for sel := range 32 {
		f.Add(append([]byte{byte(sel)}, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 3, 0, 0, 0, 1, 2, 4, 0, 1, 1, 3, 3, 2, 7, 2, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 2, 7))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 400 {
			return
		}
		r, fail := indexRegistry(t, data[0])
		runIndexOps(t, r, data[1:], fail)
	})
}

// TestIndexRandom runs FuzzIndex's operations from a fixed generator, for
// every registry kind, so that the model check runs without -fuzz too.
func TestIndexRandom(t *testing.T) {
	seed := uint64(1)
	next := func() byte {
		seed = seed*6364136223846793005 + 1442695040888963407
		return byte(seed >> 56)
	}
	for sel := range 32 {
		for range 3 {
			data := make([]byte, 300)
			for i := range data {
				data[i] = next()
			}
			r, fail := indexRegistry(t, byte(sel))
			runIndexOps(t, r, data, fail)
		}
	}
}

// TestParseAccount checks the word-at-a-time digit parser against strconv
// on digits, on every byte in every position, and on wrong lengths.
func TestParseAccount(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, ok := parseAccount(s)
		want, err := strconv.ParseUint(s, 10, 64)
		wantOK := err == nil && len(s) == 12 && !strings.ContainsAny(s, "+-_")
		require.Equal(t, wantOK, ok, "%q", s)
		if ok {
			require.Equal(t, want, got, "%q", s)
		}
	}
	for _, s := range []string{"000000000000", "999999999999", acctA, acctB, "012345678901", "", "12345678901", "1234567890123"} {
		check(s)
	}
	for pos := range 12 {
		for c := range 256 {
			b := []byte("123456789012")
			b[pos] = byte(c)
			check(string(b))
		}
	}
}

// TestRoleKeyExact checks that two ARNs get equal keys (and the same hash)
// exactly when they are equal, over the shapes of the model and their near
// misses.
func TestRoleKeyExact(t *testing.T) {
	r := newIndexRegistry(t, Options{}, nil, 0)
	var arns []string
	for _, part := range idxPartitions {
		for _, acct := range idxAccounts {
			for _, path := range idxPaths {
				for _, name := range idxNames {
					arn := RoleARN(part, acct, path, name)
					arns = append(arns, arn, arn+"x", strings.Replace(arn, ":role/", ":role/X", 1))
					_, ok := parseRoleKey(strings.ToUpper(arn))
					require.False(t, ok, "no stored ARN has this shape")
				}
			}
		}
	}
	seen := map[roleKey]string{}
	for _, arn := range arns {
		k, ok := parseRoleKey(arn)
		require.True(t, ok, arn)
		require.Equal(t, k.rest == "", len(arn)-strings.Index(arn, ":role")-len(":role") <= inlineTail, arn)
		if k.rest != "" {
			continue // confirmed against the ARN
		}
		if other, dup := seen[k]; dup {
			require.Equal(t, other, arn, "two ARNs with one key")
		}
		seen[k] = arn
		k2, _ := parseRoleKey(strings.Clone(arn))
		require.Equal(t, r.roleHash(&k), r.roleHash(&k2))
	}
}

// TestIndexLongTailConfirmed: with every hash equal, two ARNs whose tails
// have one length and the same last 16 bytes reach the same slot with the
// same word; only the comparison of the whole ARN tells them apart.
func TestIndexLongTailConfirmed(t *testing.T) {
	r := newIndexRegistry(t, Options{}, func(uint64) uint64 { return 0 }, 0)
	name := strings.Repeat("n", 64)
	ro := mustCreateRole(t, r, &Role{Account: acctA, Path: "/ci/", Name: name, TrustPolicyDocument: trustDoc(acctA, eksURL, "s")})
	got, err := r.Role(ro.ARN)
	require.NoError(t, err)
	assert.Same(t, ro, got)
	_, err = r.Role(RoleARN("aws", acctA, "/cj/", name))
	assert.ErrorIs(t, err, ErrNoSuchEntity)
}

// TestEntityLayout: the entities fill their size classes (256 and 192
// bytes), so
// that each starts on a cache line and the fields read per request share
// as few lines as they can.
func TestEntityLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("64-bit layout")
	}
	assert.Equal(t, uintptr(256), unsafe.Sizeof(OIDCProvider{}))
	assert.Equal(t, uintptr(192), unsafe.Sizeof(Role{}))
	assert.Less(t, unsafe.Offsetof(Role{}.ARN)+unsafe.Sizeof(""), uintptr(64))
}

// TestWriteCopiesOneChunk: a write's new state shares every chunk of
// tables with the state before it but the one holding the shard it
// changed, so that a write copies a few hundred bytes of headers, not
// every shard's (the commit benchmarks' bytes per write).
func TestWriteCopiesOneChunk(t *testing.T) {
	r := newIndexRegistry(t, Options{}, nil, 0)
	for i := range 1000 { // ~31 per chunk: none empty
		mustCreateRole(t, r, testRole(acctA, "app-"+strconv.Itoa(i)))
		mustCreateProvider(t, r, testProvider(acctA, "https://p"+strconv.Itoa(i)+".example.com", "sts.amazonaws.com"))
	}
	chunks := func(d *[shards >> chunkBits]unsafe.Pointer) int {
		n := 0
		for _, c := range d {
			if c != nil {
				n++
			}
		}
		return n
	}
	ptrs := func(s *state) (prov, roles [shards >> chunkBits]unsafe.Pointer) {
		for i := range s.prov {
			prov[i], roles[i] = unsafe.Pointer(s.prov[i]), unsafe.Pointer(s.roles[i])
		}
		return prov, roles
	}
	before := r.cur.Load()
	bp, br := ptrs(before)
	require.Equal(t, shards>>chunkBits, chunks(&bp), "every provider chunk in use")
	require.Equal(t, shards>>chunkBits, chunks(&br), "every role chunk in use")

	arn := RoleARN("aws", acctA, "/", "app-7")
	_, err := r.TagRole(arn, []Tag{{Key: "k", Value: "v"}})
	require.NoError(t, err)
	after := r.cur.Load()
	ap, ar := ptrs(after)
	assert.Equal(t, bp, ap, "a role write shares every provider chunk")
	changed := 0
	for i := range ar {
		if ar[i] != br[i] {
			changed++
			k, ok := parseRoleKey(arn)
			require.True(t, ok)
			assert.Equal(t, uint64(i), shardOf(r.roleHash(&k))>>chunkBits, "the copied chunk is the role's")
		}
	}
	assert.Equal(t, 1, changed, "one role chunk copied")
	got, err := r.Role(arn)
	require.NoError(t, err)
	assert.Len(t, got.Tags, 1)
}
