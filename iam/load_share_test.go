package iam

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadSharesIdenticalTrustPolicies: roles whose trust policies are the
// same text (in any account) share one compiled policy and document; a
// shared text that does not parse fails every role that has it, each error
// naming its own role.
func TestLoadSharesIdenticalTrustPolicies(t *testing.T) {
	doc := trustDoc(acctA, eksURL, "system:serviceaccount:shared:sa")
	other := trustDoc(acctA, eksURL, "system:serviceaccount:other:sa")
	r := newTestRegistry(t, Options{})
	require.NoError(t, r.Load(nil, []*Role{
		{Account: acctA, Name: "a", TrustPolicyDocument: doc},
		{Account: acctA, Name: "b", TrustPolicyDocument: other},
		{Account: acctB, Name: "c", TrustPolicyDocument: string([]byte(doc))}, // equal text, other bytes
	}))
	a, err := r.RoleByName("aws", acctA, "a")
	require.NoError(t, err)
	b, err := r.RoleByName("aws", acctA, "b")
	require.NoError(t, err)
	c, err := r.RoleByName("aws", acctB, "c")
	require.NoError(t, err)
	assert.Same(t, a.TrustPolicy, c.TrustPolicy, "one compiled policy for one text")
	assert.NotSame(t, a.TrustPolicy, b.TrustPolicy)
	assert.Equal(t, doc, c.TrustPolicyDocument)
	assert.Same(t, unsafe.StringData(a.TrustPolicyDocument), unsafe.StringData(c.TrustPolicyDocument), "one document string")

	bad := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow"`
	err = r.Load(nil, []*Role{
		{Account: acctA, Name: "x", TrustPolicyDocument: bad},
		{Account: acctA, Name: "ok", TrustPolicyDocument: doc},
		{Account: acctA, Name: "y", TrustPolicyDocument: bad},
	})
	require.Error(t, err)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	var entities []string
	for _, e := range joined.Unwrap() {
		var ie *Error
		require.True(t, errors.As(e, &ie))
		assert.Equal(t, CodeMalformedPolicyDocument, ie.Code)
		entities = append(entities, ie.Entity)
	}
	assert.Equal(t, []string{RoleARN("aws", acctA, "/", "x"), RoleARN("aws", acctA, "/", "y")}, entities, "each role's own error, in input order")
	_, err = r.RoleByName("aws", acctA, "ok")
	assert.ErrorIs(t, err, ErrNoSuchEntity, "nothing of the failed Load")
}
