package iam

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullDump is everything a registry holds for the test accounts.
func fullDump(r *Registry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revision %d issuers %q\n", r.Revision(), r.Issuers())
	for _, a := range []string{acctA, acctB} {
		for _, p := range r.ListOIDCProviders("aws", a) {
			fmt.Fprintf(&b, "%s %s %q %q %v %s\n", p.ARN, p.URL, p.ClientIDs, p.Thumbprints, p.Tags, p.CreateDate)
		}
		for _, ro := range r.ListRoles("aws", a, "/") {
			fmt.Fprintf(&b, "%s %s %q %v %q %v %s\n", ro.ARN, ro.RoleID, ro.TrustPolicyDocument, ro.MaxSessionDuration, ro.Description, ro.Tags, ro.CreateDate)
		}
	}
	return b.String()
}

// leaderAndFollower returns a registry whose committed changes are recorded
// in *changes, and a follower whose Commit hook fails the test.
func leaderAndFollower(t *testing.T) (leader, follower *Registry, changes *[]Change) {
	changes = &[]Change{}
	leader = newTestRegistry(t, Options{Commit: func(c Change) error {
		*changes = append(*changes, c)
		return nil
	}})
	follower = New(Options{Commit: func(c Change) error {
		t.Errorf("Apply called Commit for %v", c.Kind)
		return nil
	}})
	return leader, follower, changes
}

func TestApplyReplaysAnotherReplicasChanges(t *testing.T) {
	leader, follower, changes := leaderAndFollower(t)
	var watched []uint64
	follower.Watch(func(c Change) { watched = append(watched, c.Revision) })

	// The follower starts from a Loaded change, then follows every kind.
	require.NoError(t, leader.Load([]*OIDCProvider{testProvider(acctB, ghURL, "b")}, []*Role{testRole(acctB, "seed")}))
	p := mustCreateProvider(t, leader, testProvider(acctA, eksURL, "a"))
	_, err := leader.AddClientIDToOIDCProvider(p.ARN, "a2")
	require.NoError(t, err)
	_, err = leader.TagOIDCProvider(p.ARN, []Tag{{Key: "k", Value: "v"}})
	require.NoError(t, err)
	gh := mustCreateProvider(t, leader, testProvider(acctA, ghURL, "x"))
	require.NoError(t, leader.DeleteOIDCProvider(gh.ARN))
	ro := mustCreateRole(t, leader, testRole(acctA, "app"))
	_, err = leader.UpdateAssumeRolePolicy(ro.ARN, trustDoc(acctA, eksURL, "other"))
	require.NoError(t, err)
	_, err = leader.TagRole(ro.ARN, []Tag{{Key: "t", Value: "1"}})
	require.NoError(t, err)
	tmp := mustCreateRole(t, leader, testRole(acctA, "tmp"))
	require.NoError(t, leader.DeleteRole(tmp.ARN))

	for _, c := range *changes {
		require.NoError(t, follower.Apply(c), "%v %s", c.Kind, c.ARN)
	}
	assert.Equal(t, fullDump(leader), fullDump(follower), "the follower holds what the leader holds, at its revision")
	var want []uint64
	for _, c := range *changes {
		want = append(want, c.Revision)
	}
	assert.Equal(t, want, watched, "watchers see the leader's revisions")
	got, err := follower.Role(ro.ARN)
	require.NoError(t, err)
	assert.NotNil(t, got.TrustPolicy, "compiled")

	// A change already applied (a duplicate, or the replica's own) is
	// ignored.
	before := fullDump(follower)
	for _, c := range *changes {
		require.NoError(t, follower.Apply(c))
	}
	assert.Equal(t, before, fullDump(follower))
	assert.Len(t, watched, len(want))
}

func TestApplyRejects(t *testing.T) {
	role := &Role{ARN: "arn:aws:iam::111122223333:role/app", TrustPolicyDocument: trustDoc(acctA, eksURL, "a")}
	tests := []struct {
		name  string
		c     Change
		code  ErrorCode
		field string
	}{
		{"no revision", Change{Kind: RoleCreated, NewRole: role}, CodeInvalidInput, "Revision"},
		{"role change without a role", Change{Revision: 1, Kind: RoleUpdated}, CodeInvalidInput, "NewRole"},
		{"provider change without a provider", Change{Revision: 1, Kind: ProviderCreated}, CodeInvalidInput, "NewProvider"},
		{"unknown kind", Change{Revision: 1, Kind: ChangeKind(99)}, CodeInvalidInput, "Kind"},
		{"invalid role", Change{Revision: 1, Kind: RoleCreated, NewRole: &Role{ARN: role.ARN, TrustPolicyDocument: "{"}}, CodeMalformedPolicyDocument, "AssumeRolePolicyDocument"},
		{"delete of a missing role", Change{Revision: 1, Kind: RoleDeleted, ARN: role.ARN}, CodeNoSuchEntity, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, follower, _ := leaderAndFollower(t)
			assertCode(t, follower.Apply(tc.c), tc.code, tc.field)
			assert.Zero(t, follower.Revision())
		})
	}
}
