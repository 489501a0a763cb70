package policy

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walkStrings calls f with every string reachable from v (through pointers,
// structs, slices, arrays and the values behind unique handles), each
// pointer followed once, and the path to it.
func walkStrings(v reflect.Value, path string, seen map[uintptr]bool, f func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v.String())
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		walkStrings(v.Elem(), path, seen, f)
	case reflect.Struct:
		for i := range v.NumField() {
			walkStrings(v.Field(i), path+"."+v.Type().Field(i).Name, seen, f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), path+"["+itoa(i)+"]", seen, f)
		}
	case reflect.Map, reflect.Interface, reflect.Func, reflect.Chan:
		panic("walkStrings: " + v.Kind().String() + " at " + path + ": the compiled form has none")
	}
}

// documentsOfEveryKind are policies with every kind of value the compiler
// keeps: each operator, variables with defaults, escapes, ARNs, Sid and Id.
var documentsOfEveryKind = []string{
	sizeIRSA(3), sizeGitHub(3), sizeThree(3),
	`{"Version":"2012-10-17","Id":"Pol1","Statement":[{"Sid":"A1","Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::1:role/r"],"Service":"*","Federated":"accounts.google.com"},` +
		`"NotAction":["sts:Tag*","sts:?et*"],"Condition":{` +
		`"StringLike":{"k:a":["a*b?c","${k:b, 'dflt'}-*","x${*}y${?}z${$}","pre*","*"]},` +
		`"StringEqualsIgnoreCase":{"K:B":"MiXeD"},"StringNotEquals":{"k:c":"${aws:username}"},` +
		`"ArnLike":{"aws:SourceArn":["arn:aws:iam::*:role/app-*","arn:${k:p}:iam::1:user/${k:u}"]},` +
		`"NumericLessThan":{"k:n":["10","2.5e3"]},"DateGreaterThan":{"aws:CurrentTime":"2024-01-31T12:00:00Z"},` +
		`"Bool":{"k:bool":"true"},"BinaryEquals":{"k:bin":"aGVsbG8="},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},` +
		`"Null":{"k:null":"false"},"ForAnyValue:StringEquals":{"aws:TagKeys":["t1","t2"]},"ForAllValues:StringLikeIfExists":{"k:all":"v*"}}},` +
		`{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringEquals":{"oidc.example.com/id/ABC:sub":"x\u00e9\"\\y"}}}]}`,
	`{"Statement":{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{}}}`,
}

// TestPolicyKeepsNothingOfTheDocument checks that a compiled policy refers
// to none of the document's bytes: the decoder's strings are substrings of
// one copy of the document, and a kept substring would keep all of it.
func TestPolicyKeepsNothingOfTheDocument(t *testing.T) {
	for i, doc := range documentsOfEveryKind {
		text := strings.Clone(doc)
		p, err := parseText(text)
		require.Nil(t, err, "document %d", i)
		lo := uintptr(unsafe.Pointer(unsafe.StringData(text)))
		hi := lo + uintptr(len(text))
		n := 0
		walkStrings(reflect.ValueOf(p), "Policy", map[uintptr]bool{}, func(path, s string) {
			n++
			if s == "" {
				return
			}
			at := uintptr(unsafe.Pointer(unsafe.StringData(s)))
			assert.False(t, at >= lo && at < hi, "document %d: %s = %q is in the document", i, path, s)
		})
		assert.Greater(t, n, 5, "document %d: the walk reached the strings", i)
	}
}

// TestPoliciesShareWhatTheyHaveInCommon checks that two policies of the same
// issuer and account share one copy of the keys, explanations, provider ARN,
// action and audience, and have their own copy of the subject. That holds
// for a policy parse does not pack (here one of three statements); a packed
// one (see pack) shares its explanations only and keeps the strings Evaluate
// compares in its own block (TestPackedPoliciesShareExplanations).
func TestPoliciesShareWhatTheyHaveInCommon(t *testing.T) {
	docA := sizeThree(1)
	docB := sizeThree(1 + sizeAccounts*sizeIssuers) // same account and issuer, another subject
	require.NotEqual(t, docA, docB)
	a, err := Parse([]byte(docA))
	require.NoError(t, err)
	b, err := Parse([]byte(docB))
	require.NoError(t, err)
	require.False(t, isPacked(a), "three statements are not packed")
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	sa, sb := &a.stmts[0], &b.stmts[0]
	require.Len(t, sa.conds, 2)
	require.Len(t, sb.conds, 2)
	assert.True(t, same(sa.principal.ids[0].ID, sb.principal.ids[0].ID), "provider ARN")
	assert.True(t, same(sa.actions[0].lit, sb.actions[0].lit), "action")
	assert.True(t, same(sa.matchReason(), sb.matchReason()), "match explanation")
	assert.Equal(t, sa.labels, sb.labels, "statement labels")
	for i := range sa.conds {
		ca, cb := &sa.conds[i], &sb.conds[i]
		assert.True(t, same(ca.key, cb.key), "key %q", ca.key)
		assert.True(t, same(ca.spell, cb.spell), "spelling %q", ca.spell)
		assert.Equal(t, ca.info, cb.info, "condition info %q", ca.key)
	}
	sub, aud := &sa.conds[0], &sa.conds[1]
	require.True(t, strings.HasSuffix(sub.key, ":sub") && strings.HasSuffix(aud.key, ":aud"))
	assert.True(t, same(aud.strs[0].lit, b.stmts[0].conds[1].strs[0].lit), "audience")
	assert.NotEqual(t, sub.strs[0].lit, sb.conds[0].strs[0].lit, "subjects differ")
}

// TestPackedPoliciesShareExplanations checks what two packed policies of the
// same issuer and account share: the explanations, the statement labels, the
// condition infos and the action list; the ARN, keys and values are each
// policy's own, in its block.
func TestPackedPoliciesShareExplanations(t *testing.T) {
	a, err := Parse([]byte(sizeIRSA(1)))
	require.NoError(t, err)
	b, err := Parse([]byte(sizeIRSA(1 + sizeAccounts*sizeIssuers)))
	require.NoError(t, err)
	require.True(t, isPacked(a) && isPacked(b))
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	sa, sb := &a.stmts[0], &b.stmts[0]
	assert.True(t, same(sa.matchReason(), sb.matchReason()), "match explanation")
	assert.Equal(t, sa.labels, sb.labels, "statement labels")
	assert.Same(t, &sa.actions[0], &sb.actions[0], "action list")
	for i := range sa.conds {
		assert.Equal(t, sa.conds[i].info, sb.conds[i].info, "condition info")
		assert.Equal(t, sa.conds[i].key, sb.conds[i].key)
		assert.False(t, same(sa.conds[i].key, sb.conds[i].key), "each block has its own key")
	}
	assert.Equal(t, sa.principal.ids[0], sb.principal.ids[0])
	assert.False(t, same(sa.principal.ids[0].ID, sb.principal.ids[0].ID), "each block has its own ARN")
}
