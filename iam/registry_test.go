package iam

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorIsAndFormat(t *testing.T) {
	err := newError(CodeNoSuchEntity, "arn:x", "", "The role with name x cannot be found.")
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	assert.NotErrorIs(t, err, ErrEntityAlreadyExists)
	assert.ErrorIs(t, fmt.Errorf("wrapped: %w", err), ErrNoSuchEntity)
	assert.Equal(t, "iam: ValidationError: RoleName: bad", newError(CodeValidationError, "", "RoleName", "bad").Error())
	assert.Equal(t, "iam: NoSuchEntity", ErrNoSuchEntity.Error())
}

func TestLookupMissIsNoSuchEntityWithoutAllocating(t *testing.T) {
	r := newTestRegistry(t, Options{})
	mustCreateProvider(t, r, testProvider(acctA, eksURL, "sts.amazonaws.com"))
	_, err := r.OIDCProvider("aws", acctB, eksURL)
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	_, err = r.Role("arn:aws:iam::" + acctA + ":role/none")
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = r.OIDCProvider("aws", acctB, eksURL)
		_, _ = r.Role("arn:aws:iam::" + acctA + ":role/none")
		_, _ = r.OIDCProvider("aws", acctA, eksURL)
	})
	assert.Zero(t, allocs)
}

func TestProviderCreateUpdateDelete(t *testing.T) {
	r := newTestRegistry(t, Options{})
	p := mustCreateProvider(t, r, testProvider(acctA, eksURL, "sts.amazonaws.com"))
	arn := "arn:aws:iam::" + acctA + ":oidc-provider/" + strings.TrimPrefix(eksURL, "https://")
	assert.Equal(t, arn, p.ARN)

	_, err := r.CreateOIDCProvider(testProvider(acctA, eksURL, "other"))
	assertCode(t, err, CodeEntityAlreadyExists, "Url")

	got, err := r.OIDCProviderByARN(arn)
	require.NoError(t, err)
	assert.Same(t, p, got)

	later := testTime.Add(time.Hour)
	r.now = func() time.Time { return later }
	put, err := r.PutOIDCProvider(testProvider(acctA, eksURL, "other"))
	require.NoError(t, err)
	assert.Equal(t, []string{"other"}, put.ClientIDs)
	assert.Equal(t, testTime, put.CreateDate, "an update keeps CreateDate")
	assert.Equal(t, []string{"sts.amazonaws.com"}, p.ClientIDs, "the published value is never mutated")

	p2, err := r.AddClientIDToOIDCProvider(arn, "sts.amazonaws.com")
	require.NoError(t, err)
	assert.Equal(t, []string{"other", "sts.amazonaws.com"}, p2.ClientIDs)
	rev := r.Revision()
	p3, err := r.AddClientIDToOIDCProvider(arn, "sts.amazonaws.com")
	require.NoError(t, err)
	assert.Same(t, p2, p3, "adding an existing client ID changes nothing")
	assert.Equal(t, rev, r.Revision())
	p4, err := r.RemoveClientIDFromOIDCProvider(arn, "other")
	require.NoError(t, err)
	assert.Equal(t, []string{"sts.amazonaws.com"}, p4.ClientIDs)
	_, err = r.RemoveClientIDFromOIDCProvider(arn, "absent")
	require.NoError(t, err)
	_, err = r.AddClientIDToOIDCProvider(arn, strings.Repeat("x", 256))
	assertCode(t, err, CodeValidationError, "ClientIDList[1]")

	p5, err := r.UpdateOIDCProviderThumbprint(arn, []string{strings.Repeat("a", 40)})
	require.NoError(t, err)
	assert.Equal(t, []string{strings.Repeat("a", 40)}, p5.Thumbprints)
	_, err = r.UpdateOIDCProviderThumbprint(arn, nil)
	assertCode(t, err, CodeValidationError, "ThumbprintList")

	_, err = r.TagOIDCProvider(arn, []Tag{{Key: "team", Value: "a"}, {Key: "env", Value: "prod"}})
	require.NoError(t, err)
	p6, err := r.TagOIDCProvider(arn, []Tag{{Key: "TEAM", Value: "b"}})
	require.NoError(t, err)
	assert.Equal(t, []Tag{{Key: "TEAM", Value: "b"}, {Key: "env", Value: "prod"}}, p6.Tags)
	p7, err := r.UntagOIDCProvider(arn, []string{"Env", "absent"})
	require.NoError(t, err)
	assert.Equal(t, []Tag{{Key: "TEAM", Value: "b"}}, p7.Tags)

	require.NoError(t, r.DeleteOIDCProvider(arn))
	_, err = r.OIDCProvider("aws", acctA, eksURL)
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	for name, f := range map[string]func() error{
		"delete":     func() error { return r.DeleteOIDCProvider(arn) },
		"add":        func() error { _, err := r.AddClientIDToOIDCProvider(arn, "x"); return err },
		"remove":     func() error { _, err := r.RemoveClientIDFromOIDCProvider(arn, "x"); return err },
		"thumbprint": func() error { _, err := r.UpdateOIDCProviderThumbprint(arn, []string{thumb}); return err },
		"tag":        func() error { _, err := r.TagOIDCProvider(arn, []Tag{{Key: "k"}}); return err },
		"untag":      func() error { _, err := r.UntagOIDCProvider(arn, []string{"k"}); return err },
		"get":        func() error { _, err := r.OIDCProviderByARN(arn); return err },
	} {
		assertCode(t, f(), CodeNoSuchEntity, "")
		_ = name
	}
}

func TestTagLimitCountsExistingTags(t *testing.T) {
	r := newTestRegistry(t, Options{})
	ro := testRole(acctA, "app")
	for i := range 49 {
		ro.Tags = append(ro.Tags, Tag{Key: fmt.Sprint("k", i)})
	}
	got := mustCreateRole(t, r, ro)
	_, err := r.TagRole(got.ARN, []Tag{{Key: "k0", Value: "replaced"}, {Key: "new"}})
	require.NoError(t, err, "replacing a key does not count")
	_, err = r.TagRole(got.ARN, []Tag{{Key: "one-more"}})
	assertCode(t, err, CodeLimitExceeded, "Tags")
}

func TestSameIssuerInManyAccounts(t *testing.T) {
	r := newTestRegistry(t, Options{})
	a := mustCreateProvider(t, r, testProvider(acctA, ghURL, "sts.amazonaws.com"))
	b := mustCreateProvider(t, r, testProvider(acctB, ghURL, "https://github.com/org-b"))
	c := mustCreateProvider(t, r, &OIDCProvider{Partition: "aws-cn", Account: acctA, URL: ghURL, ClientIDs: []string{"cn"}})
	assert.NotEqual(t, a.ARN, b.ARN)

	tests := []struct {
		partition, account string
		want               *OIDCProvider
	}{
		{"aws", acctA, a}, {"aws", acctB, b}, {"aws-cn", acctA, c}, {"aws-cn", acctB, nil}, {"aws", "999999999999", nil},
	}
	for _, tt := range tests {
		got, err := r.OIDCProvider(tt.partition, tt.account, ghURL)
		if tt.want == nil {
			assert.ErrorIs(t, err, ErrNoSuchEntity, tt.account)
			continue
		}
		require.NoError(t, err)
		assert.Same(t, tt.want, got)
	}
	assert.True(t, a.AcceptsClientID("sts.amazonaws.com"))
	assert.False(t, b.AcceptsClientID("sts.amazonaws.com"), "B accepts only its own client IDs")
	assert.Equal(t, []string{ghURL}, r.Issuers())
	assert.Equal(t, []*OIDCProvider{a}, r.ListOIDCProviders("aws", acctA))
}

func TestProviderQuota(t *testing.T) {
	r := newTestRegistry(t, Options{MaxOIDCProvidersPerAccount: 2})
	mustCreateProvider(t, r, testProvider(acctA, "https://a.example.com"))
	mustCreateProvider(t, r, testProvider(acctA, "https://b.example.com"))
	_, err := r.CreateOIDCProvider(testProvider(acctA, "https://c.example.com"))
	assertCode(t, err, CodeLimitExceeded, "")
	_, err = r.PutOIDCProvider(testProvider(acctA, "https://a.example.com", "x"))
	assert.NoError(t, err, "an update is not a new provider")
	mustCreateProvider(t, r, testProvider(acctB, "https://c.example.com"))
}

func TestRoleCreateUpdateDelete(t *testing.T) {
	r := newTestRegistry(t, Options{})
	ro := mustCreateRole(t, r, testRole(acctA, "MyRole"))

	tests := []struct {
		name  string
		role  *Role
		code  ErrorCode
		field string
	}{
		{"same ARN", testRole(acctA, "MyRole"), CodeEntityAlreadyExists, "RoleName"},
		{"same name in another case", testRole(acctA, "myrole"), CodeEntityAlreadyExists, "RoleName"},
		{"same name under another path", func() *Role { x := testRole(acctA, "MYROLE"); x.Path = "/p/"; return x }(), CodeEntityAlreadyExists, "RoleName"},
		{"same role ID", func() *Role { x := testRole(acctA, "other"); x.RoleID = ro.RoleID; return x }(), CodeEntityAlreadyExists, "RoleId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.CreateRole(tt.role)
			assertCode(t, err, tt.code, tt.field)
		})
	}
	t.Run("put of a case variant is refused too", func(t *testing.T) {
		_, err := r.PutRole(testRole(acctA, "MYROLE"))
		assertCode(t, err, CodeEntityAlreadyExists, "RoleName")
	})
	t.Run("the same name in another account is another role", func(t *testing.T) {
		mustCreateRole(t, r, testRole(acctB, "myrole"))
	})

	byName, err := r.RoleByName("aws", acctA, "MYROLE")
	require.NoError(t, err)
	assert.Same(t, ro, byName)
	_, err = r.RoleByName("aws", acctA, "nobody")
	assertCode(t, err, CodeNoSuchEntity, "")

	put, err := r.PutRole(testRole(acctA, "MyRole"))
	require.NoError(t, err)
	assert.Equal(t, ro.RoleID, put.RoleID, "an update keeps the role ID")
	assert.Same(t, ro.TrustPolicy, put.TrustPolicy, "an unchanged document is not parsed again")

	doc := trustDoc(acctA, eksURL, "system:serviceaccount:kube-system:other")
	upd, err := r.UpdateAssumeRolePolicy(ro.ARN, doc)
	require.NoError(t, err)
	assert.Equal(t, doc, upd.TrustPolicyDocument)
	assert.NotSame(t, ro.TrustPolicy, upd.TrustPolicy)
	_, err = r.UpdateAssumeRolePolicy(ro.ARN, "{")
	assertCode(t, err, CodeMalformedPolicyDocument, "AssumeRolePolicyDocument")
	cur, _ := r.Role(ro.ARN)
	assert.Same(t, upd, cur, "a refused update changes nothing")

	desc := "deploys the app"
	upd2, err := r.UpdateRole(ro.ARN, RoleUpdate{Description: &desc, MaxSessionDuration: 2 * time.Hour})
	require.NoError(t, err)
	assert.Equal(t, desc, upd2.Description)
	assert.Equal(t, 2*time.Hour, upd2.MaxSessionDuration)
	assert.Equal(t, doc, upd2.TrustPolicyDocument)
	_, err = r.UpdateRole(ro.ARN, RoleUpdate{MaxSessionDuration: 13 * time.Hour})
	assertCode(t, err, CodeValidationError, "MaxSessionDuration")

	tagged, err := r.TagRole(ro.ARN, []Tag{{Key: "team", Value: "x"}})
	require.NoError(t, err)
	assert.Equal(t, []Tag{{Key: "team", Value: "x"}}, tagged.Tags)
	untagged, err := r.UntagRole(ro.ARN, []string{"TEAM"})
	require.NoError(t, err)
	assert.Empty(t, untagged.Tags)

	require.NoError(t, r.DeleteRole(ro.ARN))
	_, err = r.Role(ro.ARN)
	assert.ErrorIs(t, err, ErrNoSuchEntity)
	assertCode(t, r.DeleteRole(ro.ARN), CodeNoSuchEntity, "")
	_, err = r.UpdateAssumeRolePolicy(ro.ARN, doc)
	assertCode(t, err, CodeNoSuchEntity, "")
	again := mustCreateRole(t, r, testRole(acctA, "myROLE"))
	assert.NotEqual(t, ro.RoleID, again.RoleID, "a new role gets a new ID")
}

func TestRoleQuotaAndListing(t *testing.T) {
	r := newTestRegistry(t, Options{MaxRolesPerAccount: 3})
	for _, n := range []string{"b", "A", "c"} {
		ro := testRole(acctA, n)
		if n == "c" {
			ro.Path = "/ci/"
		}
		mustCreateRole(t, r, ro)
	}
	_, err := r.CreateRole(testRole(acctA, "d"))
	assertCode(t, err, CodeLimitExceeded, "")
	var names []string
	for _, ro := range r.ListRoles("aws", acctA, "") {
		names = append(names, ro.Name)
	}
	assert.Equal(t, []string{"A", "b", "c"}, names)
	ci := r.ListRoles("aws", acctA, "/ci/")
	require.Len(t, ci, 1)
	assert.Equal(t, "c", ci[0].Name)
	assert.Empty(t, r.ListRoles("aws", acctB, ""))
}

func TestPutClonesInput(t *testing.T) {
	r := newTestRegistry(t, Options{})
	in := testProvider(acctA, eksURL, "a")
	p := mustCreateProvider(t, r, in)
	in.ClientIDs[0] = "mutated"
	assert.Equal(t, []string{"a"}, p.ClientIDs)
	rin := testRole(acctA, "x")
	rin.Tags = []Tag{{Key: "k"}}
	ro := mustCreateRole(t, r, rin)
	rin.Tags[0].Key = "mutated"
	assert.Equal(t, "k", ro.Tags[0].Key)
}

func TestRoleIDGeneration(t *testing.T) {
	id, err := newRoleID(strings.NewReader(strings.Repeat("\x00\x01\x1f\x20", 5)))
	require.NoError(t, err)
	assert.Equal(t, "AROAAB7AAB7AAB7AAB7AA", id)
	assert.Len(t, id, 21)
	_, err = newRoleID(strings.NewReader("short"))
	assert.Error(t, err)
	r := newTestRegistry(t, Options{Rand: strings.NewReader("")})
	_, err = r.CreateRole(testRole(acctA, "x"))
	assert.Error(t, err, "a failing random source fails the create")
}

func TestLoadAllOrNothing(t *testing.T) {
	r := newTestRegistry(t, Options{})
	keep := mustCreateProvider(t, r, testProvider(acctA, eksURL, "sts.amazonaws.com"))
	keepRole := mustCreateRole(t, r, testRole(acctA, "keep"))
	rev := r.Revision()

	bad := testRole(acctB, "bad")
	bad.TrustPolicyDocument = "{"
	tests := []struct {
		name      string
		providers []*OIDCProvider
		roles     []*Role
		code      ErrorCode
		entity    string
		field     string
	}{
		{"bad role", []*OIDCProvider{testProvider(acctB, ghURL)}, []*Role{testRole(acctB, "ok"), bad},
			CodeMalformedPolicyDocument, "arn:aws:iam::" + acctB + ":role/bad", "AssumeRolePolicyDocument"},
		{"bad provider", []*OIDCProvider{{Account: acctB, URL: "http://x"}}, nil, CodeInvalidInput, "http://x", "Url"},
		{"duplicate provider", []*OIDCProvider{testProvider(acctB, ghURL), testProvider(acctB, ghURL, "x")}, nil,
			CodeEntityAlreadyExists, "arn:aws:iam::" + acctB + ":oidc-provider/token.actions.githubusercontent.com", "Url"},
		{"role names equal ignoring case", nil, []*Role{testRole(acctB, "Dup"), testRole(acctB, "dup")},
			CodeEntityAlreadyExists, "arn:aws:iam::" + acctB + ":role/dup", "RoleName"},
		{"duplicate role IDs", nil, []*Role{
			{Account: acctB, Name: "a", RoleID: "AROAAAAAAAAAAAAAAAAAA", TrustPolicyDocument: testRole(acctB, "a").TrustPolicyDocument},
			{Account: acctB, Name: "b", RoleID: "AROAAAAAAAAAAAAAAAAAA", TrustPolicyDocument: testRole(acctB, "b").TrustPolicyDocument},
		}, CodeEntityAlreadyExists, "arn:aws:iam::" + acctB + ":role/b", "RoleId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Load(tt.providers, tt.roles)
			var e *Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.entity, e.Entity)
			assert.Equal(t, tt.field, e.Field)
			assert.Equal(t, rev, r.Revision(), "nothing changed")
			got, err := r.OIDCProvider("aws", acctA, eksURL)
			require.NoError(t, err)
			assert.Same(t, keep, got)
			_, err = r.OIDCProvider("aws", acctB, ghURL)
			assert.ErrorIs(t, err, ErrNoSuchEntity)
		})
	}

	t.Run("a good load replaces everything and keeps IDs", func(t *testing.T) {
		require.NoError(t, r.Load(
			[]*OIDCProvider{testProvider(acctB, ghURL, "sts.amazonaws.com")},
			[]*Role{testRole(acctA, "keep"), testRole(acctB, "new")},
		))
		assert.Equal(t, rev+1, r.Revision())
		_, err := r.OIDCProvider("aws", acctA, eksURL)
		assert.ErrorIs(t, err, ErrNoSuchEntity, "not in the new state")
		kept, err := r.Role(keepRole.ARN)
		require.NoError(t, err)
		assert.Equal(t, keepRole.RoleID, kept.RoleID)
		assert.Same(t, keepRole.TrustPolicy, kept.TrustPolicy, "an unchanged document is not parsed again")
		assert.Equal(t, []string{ghURL}, r.Issuers())
		np, nr := r.Len()
		assert.Equal(t, 1, np)
		assert.Equal(t, 2, nr)
		_, err = r.CreateRole(testRole(acctB, "NEW"))
		assertCode(t, err, CodeEntityAlreadyExists, "RoleName")
	})
}

func TestLookupFieldsShareBytes(t *testing.T) {
	r := newTestRegistry(t, Options{})
	a := mustCreateProvider(t, r, testProvider(acctA, ghURL, "sts.amazonaws.com"))
	b := mustCreateProvider(t, r, testProvider(acctB, strings.Clone(ghURL), strings.Clone("sts.amazonaws.com")))
	assert.Same(t, unsafe.StringData(a.URL), unsafe.StringData(b.URL), "issuer URL shared")
	assert.Same(t, unsafe.StringData(a.ClientIDs[0]), unsafe.StringData(b.ClientIDs[0]), "client ID shared")
	assert.Same(t, unsafe.StringData(a.Partition), unsafe.StringData(b.Partition), "partition shared")
	assert.True(t, b.AcceptsClientID("sts.amazonaws.com"))

	ro := mustCreateRole(t, r, testRole(acctA, "app"))
	assert.Equal(t, acctA, ro.Account)
	assert.Equal(t, "aws", ro.Partition)
}

func TestAcceptsClientID(t *testing.T) {
	r := newTestRegistry(t, Options{})
	for _, n := range []int{0, 1, 2, clientIDSetMin - 1, clientIDSetMin, 20} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprint("aud-", i)
		}
		p, err := r.PutOIDCProvider(testProvider(acctA, ghURL, ids...))
		require.NoError(t, err)
		for i := range ids {
			assert.True(t, p.AcceptsClientID(ids[i]), "n=%d i=%d", n, i)
		}
		assert.False(t, p.AcceptsClientID("aud-"), "n=%d", n)
		assert.False(t, p.AcceptsClientID(""), "n=%d", n)
	}
}

func TestNoSuchRoleNamesTheRole(t *testing.T) {
	r := newTestRegistry(t, Options{})
	err := r.DeleteRole("arn:aws:iam::" + acctA + ":role/ci/deploy")
	var e *Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "arn:aws:iam::"+acctA+":role/ci/deploy", e.Entity)
	assert.Equal(t, "iam: NoSuchEntity: The role with name deploy cannot be found.", e.Error())
}
