package iam

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errDisk is the cause a failing Commit hook returns.
var errDisk = errors.New("disk on fire")

// hookModes are the two durability hooks; the tests of the hooks' contract
// run with each.
var hookModes = []string{"Commit", "CommitBatch"}

// hookedRegistry is a registry whose Commit or CommitBatch hook (mode)
// fails while fail is set and records the changes it was given, and under
// CommitBatch the batches.
type hookedRegistry struct {
	*Registry
	mu      sync.Mutex
	fail    bool
	commits []Change
	batches [][]Change
}

func newHookedRegistry(t *testing.T, opts Options, mode string) *hookedRegistry {
	h := &hookedRegistry{}
	switch mode {
	case "Commit":
		opts.Commit = func(c Change) error { return h.record([]Change{c}) }
	case "CommitBatch":
		opts.CommitBatch = func(cs []Change) error { return h.record(cs) }
	default:
		t.Fatalf("mode %q", mode)
	}
	h.Registry = newTestRegistry(t, opts)
	return h
}

func (h *hookedRegistry) record(cs []Change) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		return errDisk
	}
	h.commits = append(h.commits, cs...)
	h.batches = append(h.batches, slices.Clone(cs))
	return nil
}

func (h *hookedRegistry) setFail(v bool) {
	h.mu.Lock()
	h.fail = v
	h.mu.Unlock()
}

// snapshot is what a failed write must leave as it was.
type snapshot struct {
	rev          uint64
	nProv, nRole int
	issuers      []string
	provs        []*OIDCProvider
	roles        []*Role
	byName       *Role
}

func takeSnapshot(r *Registry) snapshot {
	s := snapshot{rev: r.Revision(), issuers: r.Issuers()}
	s.nProv, s.nRole = r.Len()
	s.provs = append(r.ListOIDCProviders("aws", acctA), r.ListOIDCProviders("aws", acctB)...)
	s.roles = append(r.ListRoles("aws", acctA, "/"), r.ListRoles("aws", acctB, "/")...)
	s.byName, _ = r.RoleByName("aws", acctA, "app")
	return s
}

func TestCommitFailurePublishesNothing(t *testing.T) {
	var provARN, roleARN string
	tests := []struct {
		name  string
		write func(r *Registry) error
	}{
		{"CreateOIDCProvider new issuer", func(r *Registry) error {
			_, err := r.CreateOIDCProvider(testProvider(acctB, "https://new.example.com", "a"))
			return err
		}},
		{"CreateOIDCProvider known issuer", func(r *Registry) error {
			_, err := r.CreateOIDCProvider(testProvider(acctB, eksURL, "a"))
			return err
		}},
		{"PutOIDCProvider", func(r *Registry) error {
			_, err := r.PutOIDCProvider(testProvider(acctA, eksURL, "other"))
			return err
		}},
		{"AddClientIDToOIDCProvider", func(r *Registry) error {
			_, err := r.AddClientIDToOIDCProvider(provARN, "new")
			return err
		}},
		{"RemoveClientIDFromOIDCProvider", func(r *Registry) error {
			_, err := r.RemoveClientIDFromOIDCProvider(provARN, "sts.amazonaws.com")
			return err
		}},
		{"UpdateOIDCProviderThumbprint", func(r *Registry) error {
			_, err := r.UpdateOIDCProviderThumbprint(provARN, []string{"0000000000000000000000000000000000000000"})
			return err
		}},
		{"TagOIDCProvider", func(r *Registry) error {
			_, err := r.TagOIDCProvider(provARN, []Tag{{Key: "k", Value: "v"}})
			return err
		}},
		{"UntagOIDCProvider", func(r *Registry) error {
			_, err := r.UntagOIDCProvider(provARN, []string{"team"})
			return err
		}},
		{"DeleteOIDCProvider last of issuer", func(r *Registry) error { return r.DeleteOIDCProvider(provARN) }},
		{"CreateRole", func(r *Registry) error {
			_, err := r.CreateRole(testRole(acctA, "fresh"))
			return err
		}},
		{"PutRole", func(r *Registry) error {
			ro := testRole(acctA, "app")
			ro.Description = "replaced"
			_, err := r.PutRole(ro)
			return err
		}},
		{"UpdateAssumeRolePolicy", func(r *Registry) error {
			_, err := r.UpdateAssumeRolePolicy(roleARN, trustDoc(acctA, eksURL, "system:serviceaccount:x:y"))
			return err
		}},
		{"UpdateRole", func(r *Registry) error {
			d := "new description"
			_, err := r.UpdateRole(roleARN, RoleUpdate{Description: &d})
			return err
		}},
		{"TagRole", func(r *Registry) error {
			_, err := r.TagRole(roleARN, []Tag{{Key: "k", Value: "v"}})
			return err
		}},
		{"UntagRole", func(r *Registry) error {
			_, err := r.UntagRole(roleARN, []string{"team"})
			return err
		}},
		{"DeleteRole", func(r *Registry) error { return r.DeleteRole(roleARN) }},
		{"Load", func(r *Registry) error {
			return r.Load([]*OIDCProvider{testProvider(acctB, ghURL, "x")}, []*Role{testRole(acctB, "other")})
		}},
	}
	for _, mode := range hookModes {
		for _, tc := range tests {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				testCommitFailure(t, newHookedRegistry(t, Options{}, mode), tc.write, &provARN, &roleARN)
			})
		}
	}
}

// testCommitFailure makes a provider and a role, then checks that write,
// while the hook fails, fails with ServiceFailure and changes nothing, and
// succeeds once the hook works again.
func testCommitFailure(t *testing.T, h *hookedRegistry, write func(r *Registry) error, provARN, roleARN *string) {
	p := testProvider(acctA, eksURL, "sts.amazonaws.com")
	p.Tags = []Tag{{Key: "team", Value: "a"}}
	*provARN = mustCreateProvider(t, h.Registry, p).ARN
	ro := testRole(acctA, "app")
	ro.Tags = []Tag{{Key: "team", Value: "a"}}
	*roleARN = mustCreateRole(t, h.Registry, ro).ARN
	var watched []Change
	h.Watch(func(c Change) { watched = append(watched, c) })
	before := takeSnapshot(h.Registry)

	h.setFail(true)
	err := write(h.Registry)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrServiceFailure)
	assert.ErrorIs(t, err, errDisk)
	assertCode(t, err, CodeServiceFailure, "")
	assert.Equal(t, before, takeSnapshot(h.Registry), "state after the failed write")
	assert.Empty(t, watched, "no watcher call for an unpublished change")

	// The registry is intact: the same write succeeds once the store works
	// again, at the next revision.
	h.setFail(false)
	require.NoError(t, write(h.Registry))
	assert.Equal(t, before.rev+1, h.Revision())
	require.Len(t, watched, 1)
	assert.Equal(t, before.rev+1, h.commits[len(h.commits)-1].Revision)
}

func TestCommitRunsBeforePublishWithRevision(t *testing.T) {
	for _, mode := range hookModes {
		t.Run(mode, func(t *testing.T) {
			var r *Registry
			type seen struct {
				rev, regRev uint64
				kind        ChangeKind
				visible     bool
			}
			var got []seen
			hook := func(c Change) error {
				s := seen{rev: c.Revision, regRev: r.Revision(), kind: c.Kind}
				switch c.Kind {
				case RoleCreated, RoleUpdated:
					cur, _ := r.Role(c.ARN)
					s.visible = cur == c.NewRole
				case RoleDeleted:
					_, err := r.Role(c.ARN)
					s.visible = err != nil
				case Loaded:
					s.visible = len(c.Roles) == 1 && c.Roles[0].Name == "b"
				}
				got = append(got, s)
				return nil
			}
			opts := Options{Revision: 41}
			if mode == "Commit" {
				opts.Commit = hook
			} else {
				opts.CommitBatch = func(cs []Change) error {
					for _, c := range cs {
						_ = hook(c)
					}
					return nil
				}
			}
			r = newTestRegistry(t, opts)
			assert.Equal(t, uint64(41), r.Revision(), "Options.Revision is the starting revision")
			ro := mustCreateRole(t, r, testRole(acctA, "a"))
			_, err := r.UpdateAssumeRolePolicy(ro.ARN, trustDoc(acctA, eksURL, "x"))
			require.NoError(t, err)
			require.NoError(t, r.DeleteRole(ro.ARN))
			require.NoError(t, r.Load(nil, []*Role{testRole(acctA, "b")}))
			assert.Equal(t, []seen{
				{42, 41, RoleCreated, false},
				{43, 42, RoleUpdated, false},
				{44, 43, RoleDeleted, false},
				{45, 44, Loaded, true},
			}, got)
			assert.Equal(t, uint64(45), r.Revision())
		})
	}
}

func TestCommitNotCalledForNoOpOrInvalidWrites(t *testing.T) {
	for _, mode := range hookModes {
		h := newHookedRegistry(t, Options{}, mode)
		p := mustCreateProvider(t, h.Registry, testProvider(acctA, eksURL, "a"))
		ro := mustCreateRole(t, h.Registry, testRole(acctA, "app"))
		n := len(h.commits)
		tests := []struct {
			name  string
			write func() error
		}{
			{"client ID already there", func() error { _, err := h.AddClientIDToOIDCProvider(p.ARN, "a"); return err }},
			{"untag a missing key", func() error { _, err := h.UntagRole(ro.ARN, []string{"none"}); return err }},
			{"invalid role", func() error { _, err := h.CreateRole(&Role{Account: acctA, Name: "bad name"}); return err }},
			{"duplicate provider", func() error { _, err := h.CreateOIDCProvider(testProvider(acctA, eksURL)); return err }},
			{"missing role", func() error { return h.DeleteRole("arn:aws:iam::111122223333:role/none") }},
		}
		for _, tc := range tests {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				_ = tc.write()
				assert.Len(t, h.commits, n)
			})
		}
	}
}
