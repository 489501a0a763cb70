package verifier

import (
	"context"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An evaluation goes back to the pool cleared, allowed or refused: a pooled one keeps no
// token, provider, key or registry state alive (its role handle would hold the registry's
// tables and records long after a Load replaced them).
func TestPooledEvaluationKeepsNothing(t *testing.T) {
	w, req, _ := memoTarget(t, "basic", nil)
	bad := *req // a forged signature: refused after the token was parsed
	bad.WebIdentityToken = req.WebIdentityToken[:len(req.WebIdentityToken)-2] + "AA"
	for _, r := range []*Request{req, &bad} {
		for _, v := range []*Verifier{w.memo, w.plain} {
			_, _ = v.AssumeRoleWithWebIdentity(context.Background(), r)
			// Same goroutine, no collection since the Put: the pool hands back the same
			// evaluation (sync.Pool under -race drops some, then a new one is zero anyway).
			ev := evalPool.Get().(*evaluation)
			assert.True(t, reflect.ValueOf(ev).Elem().IsZero(), "a pooled evaluation is zero")
			evalPool.Put(ev)
		}
	}
	res, err := w.plain.AssumeRoleWithWebIdentity(context.Background(), req)
	require.NoError(t, err)
	assert.NotEmpty(t, res.RoleID, "the caller's Result is its own copy, not the cleared evaluation")
}
