package iam

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adversary of the prepared lookups (RoleLookup, ProviderLookup): a handle made and hinted
// before any change must answer, at its lookup, exactly as Role and OIDCProvider answer at
// that moment (the same pointer, the same error), whatever happened in between.

// advRoleShape is a role the attacks create, delete and re-create under the same ARN.
type advRoleShape struct{ account, path, name string }

func (s advRoleShape) arn() string {
	return "arn:aws:iam::" + s.account + ":role" + s.path + s.name
}

// advRoleShapes: short tails, a tail of exactly 16 bytes and of 17, long tails whose last 16
// bytes, length and account are shared by a twin (same probe key but for the rest), the same
// long tail in another account, and a very long path.
var advRoleShapes = []advRoleShape{
	{acctA, "/", "app"},
	{acctA, "/", "abcdefghijklmno"},  // tail "/abcdefghijklmno": 16 bytes
	{acctA, "/", "abcdefghijklmnop"}, // 17 bytes: a rest of one byte
	{acctA, "/x/", twinNames[0]},     // twins: same length, same last 16 bytes
	{acctA, "/y/", twinNames[1]},
	{acctB, "/x/", twinNames[0]}, // the same tail in another account
	{acctA, "/" + strings.Repeat("p", 200) + "/", "deep"},
}

// advRoleProbes are ARNs looked up that no shape is: case variants, one byte more or less,
// another partition, a twin's tail in a third path, malformed strings.
var advRoleProbes = []string{
	"arn:aws:iam::" + acctA + ":role/App",
	"arn:aws:iam::" + acctA + ":role/ap",
	"arn:aws:iam::" + acctA + ":role/appx",
	"arn:aws:iam::" + acctA + ":role/z/" + twinNames[0],
	"arn:aws:iam::" + acctA + ":role/X/" + twinNames[0],
	"arn:aws-cn:iam::" + acctA + ":role/app",
	"ARN:aws:iam::" + acctA + ":role/app",
	"arn:aws:iam::" + acctA + ":role/" + strings.Repeat("p", 200) + "/Deep",
	"arn:aws:iam::" + acctA + ":role", "arn:aws:iam::" + acctA[:11] + ":role/app", "",
}

// advProvShapes are the providers the attacks create, delete and re-create.
var advProvShapes = []idxProvKey{
	{"aws", acctA, eksURL}, {"aws", acctB, eksURL}, {"aws", acctA, ghURL},
	{"aws", acctA, "https://oidc.example.com/overflow"},
}

// advProvProbes are provider keys looked up that no shape is.
var advProvProbes = []idxProvKey{
	{"aws", acctA, strings.ToUpper(eksURL[:8]) + eksURL[8:]}, {"aws", acctA, eksURL + "/"},
	{"aws-cn", acctA, eksURL}, {"aws", acctA[:11], eksURL}, {"AWS", acctA, eksURL}, {"", "", ""},
}

// advHandles is a set of handles of every key, each hinted by its own random run.
type advHandles struct {
	arns  []string
	roles []RoleLookup
	keys  []idxProvKey
	provs []ProviderLookup
}

func advAllARNs() []string {
	var out []string
	for _, s := range advRoleShapes {
		out = append(out, s.arn())
	}
	return append(out, advRoleProbes...)
}

func advAllProvKeys() []idxProvKey {
	return append(append([]idxProvKey{}, advProvShapes...), advProvProbes...)
}

func prepareAdvHandles(r *Registry, rng *rand.Rand) *advHandles {
	h := &advHandles{arns: advAllARNs(), keys: advAllProvKeys()}
	for _, arn := range h.arns {
		l := r.PrepareRole(arn)
		advHint(rng, &l)
		h.roles = append(h.roles, l)
	}
	for _, k := range h.keys {
		l := r.PrepareOIDCProvider(k.partition, k.account, k.url)
		advHintProv(rng, &l)
		h.provs = append(h.provs, l)
	}
	return h
}

// advHint applies one of the hint runs, or a random one.
func advHint(rng *rand.Rand, l *RoleLookup) {
	if rng.IntN(3) == 0 {
		for range rng.IntN(6) {
			l.Prefetch(rng.IntN(6) - 1)
		}
		return
	}
	for _, d := range handleDepthRuns[rng.IntN(len(handleDepthRuns))] {
		l.Prefetch(d)
	}
}

func advHintProv(rng *rand.Rand, l *ProviderLookup) {
	for range rng.IntN(6) {
		l.Prefetch(rng.IntN(6) - 1)
	}
}

// check compares every handle with the plain lookups, now; some handles are hinted again
// first (after the change), some looked up twice.
func (h *advHandles) check(t *testing.T, r *Registry, rng *rand.Rand, what string) {
	t.Helper()
	for i := range h.roles {
		l := &h.roles[i]
		if rng.IntN(2) == 0 {
			advHint(rng, l)
		}
		want, werr := r.Role(h.arns[i])
		got, gerr := l.Role()
		if !assert.Same(t, want, got, "%s: role %q", what, h.arns[i]) || !assert.Equal(t, werr, gerr, "%s: role %q", what, h.arns[i]) {
			return
		}
		if got != nil {
			assert.Equal(t, h.arns[i], got.ARN, "%s", what)
		}
		if rng.IntN(4) == 0 {
			again, aerr := l.Role()
			assert.Same(t, want, again, "%s: role %q looked up again", what, h.arns[i])
			assert.Equal(t, werr, aerr)
		}
	}
	for i := range h.provs {
		l := &h.provs[i]
		if rng.IntN(2) == 0 {
			advHintProv(rng, l)
		}
		k := h.keys[i]
		want, werr := r.OIDCProvider(k.partition, k.account, k.url)
		got, gerr := l.OIDCProvider()
		if !assert.Same(t, want, got, "%s: provider %v", what, k) || !assert.Equal(t, werr, gerr, "%s: provider %v", what, k) {
			return
		}
		advHintProv(rng, l) // hints after a lookup use its answer
	}
}

// advWorld drives random changes to the shapes and remembers what exists.
type advWorld struct {
	t     *testing.T
	r     *Registry
	rng   *rand.Rand
	roles map[string]*Role
	provs map[idxProvKey]*OIDCProvider
	gen   int
}

func (w *advWorld) sub() string {
	w.gen++
	return fmt.Sprintf("system:serviceaccount:ns:sa-%d", w.gen)
}

func (w *advWorld) createRole(s advRoleShape) {
	ro := &Role{Account: s.account, Path: s.path, Name: s.name, TrustPolicyDocument: trustDoc(s.account, eksURL, w.sub())}
	got, err := w.r.CreateRole(ro)
	require.NoError(w.t, err)
	w.roles[s.arn()] = got
}

func (w *advWorld) createProvider(k idxProvKey) {
	p, err := w.r.CreateOIDCProvider(testProvider(k.account, k.url, fmt.Sprintf("client-%d", w.rng.IntN(1000)), "sts.amazonaws.com"))
	require.NoError(w.t, err)
	w.provs[k] = p
}

// step makes one random change, and says which.
func (w *advWorld) step() string {
	r, rng := w.r, w.rng
	s := advRoleShapes[rng.IntN(len(advRoleShapes))]
	arn := s.arn()
	k := advProvShapes[rng.IntN(len(advProvShapes))]
	switch op := rng.IntN(10); op {
	case 0: // create or delete the role
		if w.roles[arn] == nil {
			w.createRole(s)
			return "create role " + arn
		}
		require.NoError(w.t, r.DeleteRole(arn))
		delete(w.roles, arn)
		return "delete role " + arn
	case 1: // deleted and re-created under the same ARN: a new RoleID and trust policy
		old := w.roles[arn]
		if old != nil {
			require.NoError(w.t, r.DeleteRole(arn))
		}
		w.createRole(s)
		if old != nil {
			require.NotEqual(w.t, old.RoleID, w.roles[arn].RoleID)
		}
		return "re-create role " + arn
	case 2: // another trust policy
		if w.roles[arn] == nil {
			w.createRole(s)
		}
		ro, err := r.UpdateAssumeRolePolicy(arn, trustDoc(s.account, eksURL, w.sub()))
		require.NoError(w.t, err)
		w.roles[arn] = ro
		return "update trust policy " + arn
	case 3:
		if w.roles[arn] == nil {
			w.createRole(s)
		}
		ro, err := r.UpdateRole(arn, RoleUpdate{MaxSessionDuration: time.Duration(1+rng.IntN(12)) * time.Hour})
		require.NoError(w.t, err)
		w.roles[arn] = ro
		return "update role " + arn
	case 4: // create or delete the provider
		if w.provs[k] == nil {
			w.createProvider(k)
			return fmt.Sprintf("create provider %v", k)
		}
		require.NoError(w.t, r.DeleteOIDCProvider(w.provs[k].ARN))
		delete(w.provs, k)
		return fmt.Sprintf("delete provider %v", k)
	case 5: // deleted and re-created with other client IDs
		if p := w.provs[k]; p != nil {
			require.NoError(w.t, r.DeleteOIDCProvider(p.ARN))
		}
		w.createProvider(k)
		return fmt.Sprintf("re-create provider %v", k)
	case 6: // a client ID added: the same provider key, a new record
		if w.provs[k] == nil {
			w.createProvider(k)
		}
		p, err := r.AddClientIDToOIDCProvider(w.provs[k].ARN, "extra-"+w.sub())
		require.NoError(w.t, err)
		w.provs[k] = p
		return fmt.Sprintf("add client ID %v", k)
	case 7: // Load of an equal-looking state: the same entities, copied
		w.load(false)
		return "Load, equal"
	case 8: // Load with a role's RoleID changed and one provider dropped
		w.load(true)
		return "Load, changed"
	default: // many roles at once, then gone: the tables grow and shrink
		var names []string
		for i := range 120 {
			ro := testRole(acctA, fmt.Sprintf("filler-%d-%d", w.gen, i))
			_, err := r.CreateRole(ro)
			require.NoError(w.t, err)
			names = append(names, "arn:aws:iam::"+acctA+":role/"+ro.Name)
		}
		for _, n := range names {
			require.NoError(w.t, r.DeleteRole(n))
		}
		return "resize"
	}
}

// load replaces the state by Load with copies of what exists (changed: one role under a new
// RoleID and one provider left out).
func (w *advWorld) load(changed bool) {
	var provs []*OIDCProvider
	dropped := false
	for k, p := range w.provs {
		if changed && !dropped {
			dropped = true
			delete(w.provs, k)
			continue
		}
		provs = append(provs, &OIDCProvider{Account: p.Account, URL: p.URL, ClientIDs: append([]string{}, p.ClientIDs...), Thumbprints: append([]string{}, p.Thumbprints...)})
	}
	var roles []*Role
	renamed := false
	for _, ro := range w.roles {
		c := &Role{Account: ro.Account, Path: ro.Path, Name: ro.Name, RoleID: ro.RoleID, TrustPolicyDocument: ro.TrustPolicyDocument, MaxSessionDuration: ro.MaxSessionDuration}
		if changed && !renamed {
			renamed = true
			c.RoleID = fmt.Sprintf("AROALOADED%011d", w.gen)
			w.gen++
		}
		roles = append(roles, c)
	}
	require.NoError(w.t, w.r.Load(provs, roles))
	for arn := range w.roles {
		ro, err := w.r.Role(arn)
		require.NoError(w.t, err)
		w.roles[arn] = ro
	}
	for k := range w.provs {
		p, err := w.r.OIDCProvider(k.partition, k.account, k.url)
		require.NoError(w.t, err)
		w.provs[k] = p
	}
}

// TestAdvHandleDifferentialUnderChanges: for every hash hook (all hashes equal, few values,
// only tags, only slots), with the overflow maps in use or not, handles of every shape and
// probe, hinted by random runs, outlive random changes (delete and re-create under the same
// ARN, trust policy swaps, provider re-created with other client IDs, Load of an
// equal-looking state and of a changed one, table growth and shrinkage): after each change,
// both the old handles and handles prepared just before it answer as Role and OIDCProvider.
func TestAdvHandleDifferentialUnderChanges(t *testing.T) {
	for hi, hook := range idxHooks {
		for _, inline := range []uint32{0, 1} {
			t.Run(fmt.Sprintf("hook%d/inline%d", hi, inline), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(hi), uint64(inline)))
				r := newIndexRegistry(t, Options{}, hook, inline)
				w := &advWorld{t: t, r: r, rng: rng, roles: map[string]*Role{}, provs: map[idxProvKey]*OIDCProvider{}}
				for _, s := range advRoleShapes {
					w.createRole(s)
				}
				for _, k := range advProvShapes {
					w.createProvider(k)
				}
				old := prepareAdvHandles(r, rng)
				for i := range 60 {
					fresh := prepareAdvHandles(r, rng)
					what := fmt.Sprintf("step %d: %s", i, w.step())
					fresh.check(t, r, rng, what+" (fresh handles)")
					old.check(t, r, rng, what+" (long-lived handles)")
					if t.Failed() {
						return
					}
				}
			})
		}
	}
}

// TestAdvHandleRecreatedRoleNotServedStale: the attack in one piece: a role hinted at every
// depth (its probe recorded on the state it read) is deleted and re-created under the same
// ARN with another trust policy and RoleID; the lookup must give the new record, never the
// one the hint found. Then the same with its twin (a long tail sharing the probe key) created
// in between, and with a Load that puts back an equal-looking role.
func TestAdvHandleRecreatedRoleNotServedStale(t *testing.T) {
	for hi, hook := range idxHooks {
		t.Run(fmt.Sprint(hi), func(t *testing.T) {
			r := newIndexRegistry(t, Options{}, hook, 0)
			a, b := advRoleShapes[3], advRoleShapes[4] // twins
			first := mustCreateRole(t, r, &Role{Account: a.account, Path: a.path, Name: a.name, TrustPolicyDocument: trustDoc(acctA, eksURL, "one")})
			hinted := func() RoleLookup {
				l := r.PrepareRole(a.arn())
				for d := range 4 {
					l.Prefetch(d)
				}
				return l
			}

			l := hinted()
			require.NoError(t, r.DeleteRole(a.arn()))
			second := mustCreateRole(t, r, &Role{Account: a.account, Path: a.path, Name: a.name, TrustPolicyDocument: trustDoc(acctA, eksURL, "two")})
			got, err := l.Role()
			require.NoError(t, err)
			assert.Same(t, second, got)
			assert.NotEqual(t, first.RoleID, got.RoleID)
			assert.Contains(t, got.TrustPolicyDocument, `"two"`)

			// The twin created between the hint and the lookup, and the role deleted: the
			// twin (same last bytes, length and, under the hooks, tag) must not be served.
			l = hinted()
			mustCreateRole(t, r, &Role{Account: b.account, Path: b.path, Name: b.name, TrustPolicyDocument: trustDoc(acctA, eksURL, "twin")})
			require.NoError(t, r.DeleteRole(a.arn()))
			_, err = l.Role()
			assert.ErrorIs(t, err, ErrNoSuchEntity)
			// Hinted while only the twin exists (its probe stops at the twin), then the role
			// created: found.
			l = hinted()
			third := mustCreateRole(t, r, &Role{Account: a.account, Path: a.path, Name: a.name, TrustPolicyDocument: trustDoc(acctA, eksURL, "three")})
			got, err = l.Role()
			require.NoError(t, err)
			assert.Same(t, third, got)
			// Hinted again with no change at all: the twin is still not the answer.
			l.Prefetch(1)
			got, err = l.Role()
			require.NoError(t, err)
			assert.Same(t, third, got)

			// A Load that puts back an equal-looking role (same RoleID and document): the
			// record is the Load's, and the handle hinted before gives it.
			l = hinted()
			require.NoError(t, r.Load(nil, []*Role{
				{Account: a.account, Path: a.path, Name: a.name, RoleID: third.RoleID, TrustPolicyDocument: third.TrustPolicyDocument},
			}))
			want, err := r.Role(a.arn())
			require.NoError(t, err)
			got, err = l.Role()
			require.NoError(t, err)
			assert.Same(t, want, got)
			_, err = r.Role(b.arn())
			assert.ErrorIs(t, err, ErrNoSuchEntity, "the Load left the twin out")
		})
	}
}

// TestAdvHandleCopiesAndZero: a hinted handle copied by value; each copy used after changes
// answers on its own as the lookups do (a copy shares the recorded probe, not a future).
// Handles of a registry never written, of malformed input, and the zero ones find nothing
// and allocate nothing.
func TestAdvHandleCopiesAndZero(t *testing.T) {
	r := newIndexRegistry(t, Options{}, nil, 0)
	s := advRoleShapes[0]
	ro := mustCreateRole(t, r, testRole(s.account, s.name))
	l := r.PrepareRole(s.arn())
	l.Prefetch(1)
	c := l
	require.NoError(t, r.DeleteRole(s.arn()))
	_, err := c.Role()
	assert.ErrorIs(t, err, ErrNoSuchEntity, "the copy")
	_, err = l.Role()
	assert.ErrorIs(t, err, ErrNoSuchEntity, "the original")
	ro2 := mustCreateRole(t, r, testRole(s.account, s.name))
	require.NotSame(t, ro, ro2)
	got, err := c.Role()
	require.NoError(t, err)
	assert.Same(t, ro2, got)

	empty := newIndexRegistry(t, Options{}, nil, 0)
	for _, arn := range advAllARNs() {
		l := empty.PrepareRole(arn)
		allocs := testing.AllocsPerRun(5, func() {
			for d := range 5 {
				l.Prefetch(d)
			}
			_, err = l.Role()
		})
		assert.Zero(t, allocs)
		assert.ErrorIs(t, err, ErrNoSuchEntity)
	}
	for _, k := range advAllProvKeys() {
		l := empty.PrepareOIDCProvider(k.partition, k.account, k.url)
		allocs := testing.AllocsPerRun(5, func() {
			for d := range 5 {
				l.Prefetch(d)
			}
			_, err = l.OIDCProvider()
		})
		assert.Zero(t, allocs)
		assert.ErrorIs(t, err, ErrNoSuchEntity)
	}
}

// TestAdvHandleApplyFromAnotherReplica: handles of a follower, hinted before it applies the
// leader's changes (a role re-created with a new RoleID, a provider re-created with other
// client IDs, a Load), answer as the follower's lookups after each Apply.
func TestAdvHandleApplyFromAnotherReplica(t *testing.T) {
	leader, follower, changes := leaderAndFollower(t)
	rng := rand.New(rand.NewPCG(7, 7))
	applied := 0
	sync := func(what string) {
		h := prepareAdvHandles(follower, rng)
		for ; applied < len(*changes); applied++ {
			require.NoError(t, follower.Apply((*changes)[applied]), what)
		}
		h.check(t, follower, rng, what)
	}
	w := &advWorld{t: t, r: leader, rng: rng, roles: map[string]*Role{}, provs: map[idxProvKey]*OIDCProvider{}}
	require.NoError(t, leader.Load(nil, nil))
	sync("first Load")
	for _, s := range advRoleShapes {
		w.createRole(s)
	}
	for _, k := range advProvShapes[:3] {
		w.createProvider(k)
	}
	sync("seeded")
	for i := range 40 {
		what := w.step()
		sync(fmt.Sprintf("step %d: %s", i, what))
		if t.Failed() {
			return
		}
	}
}

// TestAdvHandleConcurrentReaders: many goroutines, each with its own handles hinted at random
// depths, look up while a writer re-creates roles and providers under the same keys, swaps
// trust policies and Loads. A handle's answer bracketed by two equal revisions (so one state
// throughout) must be the plain lookup's answer in that state; every answer is the entity
// asked for or ErrNoSuchEntity (-race).
func TestAdvHandleConcurrentReaders(t *testing.T) {
	for hi, hook := range []func(uint64) uint64{nil, idxHooks[1]} {
		t.Run(fmt.Sprint(hi), func(t *testing.T) {
			r := newIndexRegistry(t, Options{}, hook, 0)
			rng := rand.New(rand.NewPCG(1, uint64(hi)))
			w := &advWorld{t: t, r: r, rng: rng, roles: map[string]*Role{}, provs: map[idxProvKey]*OIDCProvider{}}
			for _, s := range advRoleShapes {
				w.createRole(s)
			}
			for _, k := range advProvShapes[:3] {
				w.createProvider(k)
			}
			stop := make(chan struct{})
			var wg, writer sync.WaitGroup
			writer.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					w.step()
				}
			})
			arns, keys := advAllARNs(), advAllProvKeys()
			var mu sync.Mutex
			bracketed := 0
			for g := range 4 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 99))
					n := 0
					for range 1500 {
						arn := arns[rng.IntN(len(arns))]
						l := r.PrepareRole(arn)
						advHint(rng, &l)
						rev := r.Revision()
						got, gerr := l.Role()
						want, werr := r.Role(arn)
						if r.Revision() == rev {
							n++
							assert.Same(t, want, got, "role %q at revision %d", arn, rev)
							assert.Equal(t, werr, gerr)
						}
						if gerr == nil {
							assert.Equal(t, arn, got.ARN)
						} else {
							assert.ErrorIs(t, gerr, ErrNoSuchEntity)
						}

						k := keys[rng.IntN(len(keys))]
						pl := r.PrepareOIDCProvider(k.partition, k.account, k.url)
						advHintProv(rng, &pl)
						rev = r.Revision()
						gp, gerr := pl.OIDCProvider()
						wp, werr := r.OIDCProvider(k.partition, k.account, k.url)
						if r.Revision() == rev {
							n++
							assert.Same(t, wp, gp, "provider %v at revision %d", k, rev)
							assert.Equal(t, werr, gerr)
						}
						if gerr == nil {
							assert.Equal(t, k.url, gp.URL)
							assert.Equal(t, k.account, gp.Account)
						} else {
							assert.ErrorIs(t, gerr, ErrNoSuchEntity)
						}
					}
					mu.Lock()
					bracketed += n
					mu.Unlock()
				})
			}
			wg.Wait()
			close(stop)
			writer.Wait()
			assert.Positive(t, bracketed, "no lookup ran within one state")
		})
	}
}
