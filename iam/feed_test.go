package iam

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWatchOrderRevisionsAndIssuerEvents(t *testing.T) {
	r := newTestRegistry(t, Options{})
	type seen struct {
		rev            uint64
		kind           ChangeKind
		arn            string
		added, removed []string
		visible        bool
	}
	var got []seen
	stop := r.Watch(func(c Change) {
		s := seen{rev: c.Revision, kind: c.Kind, arn: c.ARN, added: c.IssuersAdded, removed: c.IssuersRemoved}
		// The change is visible to lookups when the callback runs.
		switch c.Kind {
		case ProviderCreated, ProviderUpdated:
			p, err := r.OIDCProviderByARN(c.ARN)
			s.visible = err == nil && p == c.NewProvider
		case ProviderDeleted:
			_, err := r.OIDCProviderByARN(c.ARN)
			s.visible = err != nil
		case RoleCreated, RoleUpdated:
			ro, err := r.Role(c.ARN)
			s.visible = err == nil && ro == c.NewRole
		case RoleDeleted:
			_, err := r.Role(c.ARN)
			s.visible = err != nil
		case Loaded:
			s.visible = r.Revision() == c.Revision
		}
		got = append(got, s)
	})
	pa := mustCreateProvider(t, r, testProvider(acctA, ghURL, "a"))
	pb := mustCreateProvider(t, r, testProvider(acctB, ghURL, "b"))
	_, err := r.AddClientIDToOIDCProvider(pa.ARN, "a2")
	require.NoError(t, err)
	ro := mustCreateRole(t, r, testRole(acctA, "x"))
	require.NoError(t, r.DeleteRole(ro.ARN))
	require.NoError(t, r.DeleteOIDCProvider(pa.ARN))
	require.NoError(t, r.DeleteOIDCProvider(pb.ARN))
	require.NoError(t, r.Load([]*OIDCProvider{testProvider(acctA, eksURL)}, nil))
	require.Error(t, r.Load([]*OIDCProvider{{URL: "bad"}}, nil))
	stop()
	stop()
	mustCreateProvider(t, r, testProvider(acctB, eksURL))

	want := []seen{
		{1, ProviderCreated, pa.ARN, []string{ghURL}, nil, true},
		{2, ProviderCreated, pb.ARN, nil, nil, true},
		{3, ProviderUpdated, pa.ARN, nil, nil, true},
		{4, RoleCreated, ro.ARN, nil, nil, true},
		{5, RoleDeleted, ro.ARN, nil, nil, true},
		{6, ProviderDeleted, pa.ARN, nil, nil, true},
		{7, ProviderDeleted, pb.ARN, nil, []string{ghURL}, true},
		{8, Loaded, "", []string{eksURL}, nil, true},
	}
	assert.Equal(t, want, got)
	assert.Equal(t, uint64(9), r.Revision(), "changes after stop still count")
	assert.Equal(t, []string{eksURL}, r.Issuers())
}

func TestWatchStopFromCallbackAndOtherWatchers(t *testing.T) {
	r := newTestRegistry(t, Options{})
	var first, second int
	var stop func()
	stop = r.Watch(func(Change) { first++; stop() })
	defer r.Watch(func(Change) { second++ })()
	mustCreateProvider(t, r, testProvider(acctA, ghURL))
	mustCreateProvider(t, r, testProvider(acctB, ghURL))
	assert.Equal(t, 1, first)
	assert.Equal(t, 2, second)
}

func TestWatchConcurrentWritersSeeConsecutiveRevisions(t *testing.T) {
	r := newTestRegistry(t, Options{MaxRolesPerAccount: -1})
	var revs []uint64
	defer r.Watch(func(c Change) { revs = append(revs, c.Revision) })()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				_, err := r.CreateRole(testRole(acctA, "r"+string(rune('a'+w))+twoDigits(i)))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.Len(t, revs, 100)
	for i, rev := range revs {
		assert.Equal(t, uint64(i+1), rev)
	}
}

func twoDigits(i int) string {
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

func TestChangeKindString(t *testing.T) {
	assert.Equal(t, "RoleUpdated", RoleUpdated.String())
	assert.Equal(t, "ChangeKind(?)", ChangeKind(99).String())
}
