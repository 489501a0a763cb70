package pgstore

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

// TestTwoReplicasWriteConcurrently: many writers on each of two replicas of
// one database, each writing entities of its own: every write succeeds (a
// write that another replica's beat is caught up and run again by the
// registry, never failed), and both replicas end with the same state, every
// write in it.
func TestTwoReplicasWriteConcurrently(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	_, b := replica(t, dsn, Options{})
	const writers, each = 8, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for w := range 2 * writers {
		reg, side := a, "a"
		if w%2 == 1 {
			reg, side = b, "b"
		}
		wg.Go(func() {
			for i := range each {
				name := side + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				ro, err := reg.CreateRole(newRole(acctA, name))
				if err == nil {
					// A second write of the same entity, an update.
					_, err = reg.TagRole(ro.ARN, []iam.Tag{{Key: "n", Value: strconv.Itoa(i)}})
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	conflicts := 0
	for _, err := range errs {
		if errors.Is(err, ErrConflict) {
			conflicts++
		}
	}
	for i, err := range errs {
		if i < 5 {
			var ie *iam.Error
			if errors.As(err, &ie) {
				t.Logf("%v", ie.Err)
			}
		}
	}
	require.Zero(t, len(errs), "%d failed writes, %d of them conflicts; the first: %v", len(errs), conflicts, first(errs))
	const total = 2 * writers * each
	sameAs(t, a, b)
	_, roles := a.Len()
	assert.Equal(t, total, roles)
	assert.EqualValues(t, 2*total, a.Revision(), "one revision per write")
	assert.EqualValues(t, 2*total, queryInt(t, dsn, `SELECT revision FROM webidentity.meta`))
	for _, ro := range a.ListRoles("aws", acctA, "/") {
		require.Len(t, ro.Tags, 1, ro.Name)
	}
}

func first(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}
