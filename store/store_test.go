package store

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/webidentity/webidentity/iam"
)

// fill makes every kind of write on reg.
func fill(t *testing.T, reg *iam.Registry) {
	t.Helper()
	p, err := reg.CreateOIDCProvider(&iam.OIDCProvider{
		Account: acctA, URL: eksURL, ClientIDs: []string{"sts.amazonaws.com", "other"},
		Thumbprints: []string{thumb}, Tags: []iam.Tag{{Key: "team", Value: "a"}, {Key: "empty", Value: ""}},
	})
	require.NoError(t, err)
	_, err = reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: eksURL, ClientIDs: []string{"b"}})
	require.NoError(t, err)
	gone, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: ghURL})
	require.NoError(t, err)
	_, err = reg.AddClientIDToOIDCProvider(p.ARN, "third")
	require.NoError(t, err)
	_, err = reg.RemoveClientIDFromOIDCProvider(p.ARN, "other")
	require.NoError(t, err)
	_, err = reg.UntagOIDCProvider(p.ARN, []string{"TEAM"})
	require.NoError(t, err)
	require.NoError(t, reg.DeleteOIDCProvider(gone.ARN))

	_, err = reg.CreateRole(&iam.Role{
		Account: acctA, Name: "Deploy", Path: "/ci/", Description: "deploys ¡café!",
		MaxSessionDuration: 2 * time.Hour, Tags: []iam.Tag{{Key: "k", Value: "v"}},
		TrustPolicyDocument: trustDoc(acctA, eksURL, "system:serviceaccount:ci:deploy"),
		CreateDate:          time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC),
	})
	require.NoError(t, err)
	ro, err := reg.CreateRole(&iam.Role{Account: acctA, Name: "app", TrustPolicyDocument: trustDoc(acctA, eksURL, "a")})
	require.NoError(t, err)
	_, err = reg.UpdateAssumeRolePolicy(ro.ARN, trustDoc(acctA, eksURL, "b"))
	require.NoError(t, err)
	d := "now described"
	_, err = reg.UpdateRole(ro.ARN, iam.RoleUpdate{Description: &d, MaxSessionDuration: 3 * time.Hour})
	require.NoError(t, err)
	_, err = reg.TagRole(ro.ARN, []iam.Tag{{Key: "x", Value: "1"}, {Key: "y", Value: "2"}})
	require.NoError(t, err)
	_, err = reg.UntagRole(ro.ARN, []string{"x"})
	require.NoError(t, err)
	tmp, err := reg.CreateRole(&iam.Role{Account: acctB, Name: "tmp", TrustPolicyDocument: trustDoc(acctB, eksURL, "t")})
	require.NoError(t, err)
	require.NoError(t, reg.DeleteRole(tmp.ARN))
	_, err = reg.PutRole(&iam.Role{Account: acctB, Name: "kept", RoleID: "AROAEXPLICITID0000001", TrustPolicyDocument: trustDoc(acctB, eksURL, "k")})
	require.NoError(t, err)
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, reg := open(t, dir)
	fill(t, reg)
	before := dump(reg, acctA, acctB)
	rev := reg.Revision()
	require.NoError(t, s.Close())

	s2, reg2 := open(t, dir)
	assert.Equal(t, before, dump(reg2, acctA, acctB), "the reopened registry is the one closed, revision included")
	stored, err := s2.Revision()
	require.NoError(t, err)
	assert.Equal(t, rev, stored)
	ro, err := reg2.Role(iam.RoleARN("aws", acctA, "/ci/", "Deploy"))
	require.NoError(t, err)
	assert.Equal(t, trustDoc(acctA, eksURL, "system:serviceaccount:ci:deploy"), ro.TrustPolicyDocument, "document text as given")
	assert.NotNil(t, ro.TrustPolicy, "compiled at load")
	assert.True(t, ro.CreateDate.Equal(time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)))

	// Revisions go on from where they were.
	_, err = reg2.CreateRole(&iam.Role{Account: acctB, Name: "next", TrustPolicyDocument: trustDoc(acctB, eksURL, "n")})
	require.NoError(t, err)
	assert.Equal(t, rev+1, reg2.Revision())
	after := dump(reg2, acctA, acctB)
	require.NoError(t, s2.Close())
	_, reg3 := open(t, dir)
	assert.Equal(t, after, dump(reg3, acctA, acctB))
}

func TestNewStoreIsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, reg := open(t, dir)
	n, m := reg.Len()
	assert.Zero(t, n+m)
	assert.Zero(t, reg.Revision())
	assert.FileExists(t, filepath.Join(dir, FileName))
	require.NoError(t, s.Close())
	_, reg = open(t, dir)
	assert.Zero(t, reg.Revision())
}

func TestLoadReplacesStoredContent(t *testing.T) {
	dir := t.TempDir()
	s, reg := open(t, dir)
	fill(t, reg)
	require.NoError(t, reg.Load(
		[]*iam.OIDCProvider{{Account: acctB, URL: ghURL, ClientIDs: []string{"sts.amazonaws.com"}}},
		[]*iam.Role{{Account: acctB, Name: "imported", TrustPolicyDocument: trustDoc(acctB, ghURL, "i")}},
	))
	before := dump(reg, acctA, acctB)
	require.NoError(t, s.Close())
	_, reg2 := open(t, dir)
	assert.Equal(t, before, dump(reg2, acctA, acctB))
	np, nr := reg2.Len()
	assert.Equal(t, [2]int{1, 1}, [2]int{np, nr})
}

func TestClosedStoreFailsWritesAndPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	arnApp := roleARN(acctA, "app")
	provARN := "arn:aws:iam::" + acctA + ":oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	tests := []struct {
		name  string
		write func(reg *iam.Registry) error
	}{
		{"CreateOIDCProvider", func(reg *iam.Registry) error {
			_, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: ghURL})
			return err
		}},
		{"AddClientIDToOIDCProvider", func(reg *iam.Registry) error {
			_, err := reg.AddClientIDToOIDCProvider(provARN, "new")
			return err
		}},
		{"DeleteOIDCProvider", func(reg *iam.Registry) error { return reg.DeleteOIDCProvider(provARN) }},
		{"CreateRole", func(reg *iam.Registry) error {
			_, err := reg.CreateRole(&iam.Role{Account: acctA, Name: "new", TrustPolicyDocument: trustDoc(acctA, eksURL, "n")})
			return err
		}},
		{"UpdateAssumeRolePolicy", func(reg *iam.Registry) error {
			_, err := reg.UpdateAssumeRolePolicy(arnApp, trustDoc(acctA, eksURL, "other"))
			return err
		}},
		{"TagRole", func(reg *iam.Registry) error {
			_, err := reg.TagRole(arnApp, []iam.Tag{{Key: "k", Value: "v"}})
			return err
		}},
		{"DeleteRole", func(reg *iam.Registry) error { return reg.DeleteRole(arnApp) }},
		{"Load", func(reg *iam.Registry) error { return reg.Load(nil, nil) }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := filepath.Join(dir, strconv.Itoa(i))
			s, reg := open(t, sub)
			_, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: eksURL, ClientIDs: []string{"a"}})
			require.NoError(t, err)
			_, err = reg.CreateRole(&iam.Role{Account: acctA, Name: "app", TrustPolicyDocument: trustDoc(acctA, eksURL, "a")})
			require.NoError(t, err)
			before := dump(reg, acctA, acctB)
			require.NoError(t, s.Close())

			err = tc.write(reg)
			assert.ErrorIs(t, err, iam.ErrServiceFailure)
			assert.ErrorIs(t, err, ErrClosed)
			var ie *iam.Error
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, iam.CodeServiceFailure, ie.Code)
			assert.Equal(t, before, dump(reg, acctA, acctB), "nothing published")

			_, reg2 := open(t, sub)
			assert.Equal(t, before, dump(reg2, acctA, acctB), "nothing stored")
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	s, reg := open(t, dir)
	const writers, perWriter = 4, 15
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				name := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				ro, err := reg.CreateRole(&iam.Role{Account: acctA, Name: name, TrustPolicyDocument: trustDoc(acctA, eksURL, name)})
				if !assert.NoError(t, err) {
					return
				}
				// Updates and deletes interleave with the other writers' creates.
				_, err = reg.TagRole(ro.ARN, []iam.Tag{{Key: "i", Value: strconv.Itoa(i)}})
				assert.NoError(t, err)
				if i%3 == 0 {
					assert.NoError(t, reg.DeleteRole(ro.ARN))
				}
			}
		})
	}
	wg.Wait()
	_, nRoles := reg.Len()
	assert.Equal(t, writers*(perWriter-perWriter/3), nRoles)
	before := dump(reg, acctA)
	require.NoError(t, s.Close())
	_, reg2 := open(t, dir)
	assert.Equal(t, before, dump(reg2, acctA))
}

func TestRegistryOncePerStore(t *testing.T) {
	s, _ := open(t, t.TempDir())
	_, err := s.Registry(testOptions())
	assert.ErrorIs(t, err, ErrRegistryOpen)
}

func TestRegistryRefusesHookOptions(t *testing.T) {
	tests := []struct {
		name string
		opts iam.Options
	}{
		{"Commit", iam.Options{Commit: func(iam.Change) error { return nil }}},
		{"CommitBatch", iam.Options{CommitBatch: func([]iam.Change) error { return nil }}},
		{"Revision", iam.Options{Revision: 3}},
		{"CatchUp", iam.Options{CatchUp: func() (func(), error) { return nil, nil }}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), Options{})
			require.NoError(t, err)
			defer s.Close()
			reg, err := s.Registry(tc.opts)
			assert.Error(t, err)
			assert.Nil(t, reg)
			// Refused for the option: the store still serves a registry.
			_, err = s.Registry(testOptions())
			assert.NoError(t, err)
		})
	}
}

// writeBolt makes a bbolt file in dir with fn's content.
func writeBolt(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(fn))
	require.NoError(t, db.Close())
}

// storeWith makes a store in dir, then lets fn edit its file.
func storeWith(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	s, reg := open(t, dir)
	_, err := reg.CreateRole(&iam.Role{Account: acctA, Name: "app", TrustPolicyDocument: trustDoc(acctA, eksURL, "a")})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	writeBolt(t, dir, fn)
}

func TestOpenRejectsBadFiles(t *testing.T) {
	appKey := []byte(roleARN(acctA, "app"))
	tests := []struct {
		name string
		make func(t *testing.T, dir string)
		// openErr is what Open fails with; if nil, Open succeeds and
		// Registry fails with regErr.
		openErr, regErr error
	}{
		{"garbage", func(t *testing.T, dir string) {
			junk := make([]byte, 64<<10)
			for i := range junk {
				junk[i] = byte(i*7 + 3)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), junk, 0o600))
		}, ErrCorrupt, nil},
		{"truncated header", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte("not a database"), 0o600))
		}, ErrCorrupt, nil},
		{"foreign bbolt file", func(t *testing.T, dir string) {
			writeBolt(t, dir, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		}, ErrCorrupt, nil},
		{"newer schema", func(t *testing.T, dir string) {
			storeWith(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("2")) })
		}, ErrUnsupportedVersion, nil},
		{"no schema", func(t *testing.T, dir string) {
			storeWith(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keySchema) })
		}, ErrCorrupt, nil},
		{"roles bucket missing", func(t *testing.T, dir string) {
			storeWith(t, dir, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketRoles) })
		}, ErrCorrupt, nil},
		{"record not JSON", func(t *testing.T, dir string) {
			storeWith(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketRoles).Put(appKey, []byte("{")) })
		}, nil, ErrCorrupt},
		{"newer record version", func(t *testing.T, dir string) {
			storeWith(t, dir, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketRoles).Put(appKey, []byte(`{"v":2,"revision":1,"arn":"`+string(appKey)+`"}`))
			})
		}, nil, ErrUnsupportedVersion},
		{"record key and ARN differ", func(t *testing.T, dir string) {
			storeWith(t, dir, func(tx *bolt.Tx) error {
				v := tx.Bucket(bucketRoles).Get(appKey)
				return tx.Bucket(bucketRoles).Put([]byte(roleARN(acctA, "other")), append([]byte(nil), v...))
			})
		}, nil, ErrCorrupt},
		{"record after the store's revision", func(t *testing.T, dir string) {
			storeWith(t, dir, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(keyRevision, binary.BigEndian.AppendUint64(nil, 0))
			})
		}, nil, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.make(t, dir)
			s, err := Open(dir, Options{})
			if tc.openErr != nil {
				assert.ErrorIs(t, err, tc.openErr)
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Registry(testOptions())
			assert.ErrorIs(t, err, tc.regErr)
		})
	}
}

func TestOpenLockedByAnother(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	// flock conflicts between two opens of the file, even in one process.
	_, err = Open(dir, Options{LockTimeout: time.Millisecond})
	assert.ErrorIs(t, err, ErrLocked)
}

func TestRevisionOfClosedStore(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Revision()
	assert.True(t, errors.Is(err, ErrClosed), "%v", err)
}
