package verifier

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/webidentity/webidentity/policy"
)

func tagsClaimValue(tags map[string]any, transitive []string) map[string]any {
	v := map[string]any{"principal_tags": tags}
	if transitive != nil {
		v["transitive_tag_keys"] = transitive
	}
	return v
}

func TestSessionTags(t *testing.T) {
	allBoth := []string{ActionAssumeRoleWithWebIdentity, ActionTagSession}
	tags := tagsClaimValue(map[string]any{"Project": []string{"Automation"}, "CostCenter": []string{"987654"}}, []string{"Project"})
	cases := []struct {
		name      string
		actions   []string
		condition string
		claim     any
		reason    Reason
		code      Code
	}{
		{"allowed with sts:TagSession", allBoth, "", tags, 0, ""},
		{"condition on aws:RequestTag", allBoth, `{"StringEquals":{"aws:RequestTag/project":"Automation"}}`, tags, 0, ""},
		{"condition on aws:RequestTag, other value", allBoth, `{"StringEquals":{"aws:RequestTag/Project":"Other"}}`, tags, ReasonDenied, CodeAccessDenied},
		{"condition on aws:TagKeys", allBoth, `{"ForAllValues:StringEquals":{"aws:TagKeys":["Project","CostCenter"]}}`, tags, 0, ""},
		{"condition on aws:TagKeys, a key not allowed", allBoth, `{"ForAllValues:StringEquals":{"aws:TagKeys":["Project"]}}`, tags, ReasonDenied, CodeAccessDenied},
		{"condition on sts:TransitiveTagKeys", allBoth, `{"ForAnyValue:StringEquals":{"sts:TransitiveTagKeys":"Project"}}`, tags, 0, ""},
		{"sts:TagSession not allowed", []string{ActionAssumeRoleWithWebIdentity}, "", tags, ReasonTagSessionDenied, CodeAccessDenied},
		{"51 tags", allBoth, "", tagsClaimValue(manyTags(51), nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"key of 129 characters", allBoth, "", tagsClaimValue(map[string]any{strings.Repeat("k", 129): []string{"v"}}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"value of 257 characters", allBoth, "", tagsClaimValue(map[string]any{"k": []string{strings.Repeat("v", 257)}}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"empty key", allBoth, "", tagsClaimValue(map[string]any{"": []string{"v"}}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"key with a forbidden character", allBoth, "", tagsClaimValue(map[string]any{"a*b": []string{"v"}}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"aws: prefix", allBoth, "", tagsClaimValue(map[string]any{"AWS:x": []string{"v"}}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"keys equal ignoring case", allBoth, "", tagsClaimValue(map[string]any{"Team": []string{"a"}, "team": []string{"b"}}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"value not an array", allBoth, "", tagsClaimValue(map[string]any{"k": "v"}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"two values", allBoth, "", tagsClaimValue(map[string]any{"k": []string{"a", "b"}}, nil), ReasonSessionTags, CodeIDPRejectedClaim},
		{"transitive key not a tag", allBoth, "", tagsClaimValue(map[string]any{"k": []string{"v"}}, []string{"other"}), ReasonSessionTags, CodeIDPRejectedClaim},
		{"transitive key twice", allBoth, "", tagsClaimValue(map[string]any{"k": []string{"v"}}, []string{"k", "K"}), ReasonSessionTags, CodeIDPRejectedClaim},
		{"unknown member", allBoth, "", map[string]any{"principal_tags": map[string]any{}, "extra": 1}, ReasonSessionTags, CodeIDPRejectedClaim},
		{"claim not an object", allBoth, "", "Project=Automation", ReasonSessionTags, CodeIDPRejectedClaim},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, tc.actions, tc.condition)}, nil)
			res, err := env.v.AssumeRoleWithWebIdentity(context.Background(), env.request(t, with(baseClaims(), map[string]any{tagsClaim: tc.claim})))
			if tc.reason == 0 {
				require.NoError(t, err)
				assert.ElementsMatch(t, []Tag{{"Project", "Automation"}, {"CostCenter", "987654"}}, res.SessionTags)
				assert.Equal(t, []string{"Project"}, res.TransitiveTagKeys)
				assert.Equal(t, policy.Allow, res.Decision.Effect)
				return
			}
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
			assert.Equal(t, tc.code, code)
		})
	}
}

func manyTags(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = []string{"v"}
	}
	return m
}

func TestSourceIdentity(t *testing.T) {
	both := []string{ActionAssumeRoleWithWebIdentity, ActionSetSourceIdentity}
	cases := []struct {
		name      string
		actions   []string
		condition string
		claim     any
		reason    Reason
		code      Code
	}{
		{"allowed with sts:SetSourceIdentity", both, "", "alice@example.com", 0, ""},
		{"condition on sts:SourceIdentity", both, `{"StringEquals":{"sts:SourceIdentity":"alice@example.com"}}`, "alice@example.com", 0, ""},
		{"condition on sts:SourceIdentity, other value", both, `{"StringEquals":{"sts:SourceIdentity":"bob"}}`, "alice@example.com", ReasonDenied, CodeAccessDenied},
		{"sts:SetSourceIdentity not allowed", []string{ActionAssumeRoleWithWebIdentity}, "", "alice@example.com", ReasonSourceIdentityDenied, CodeAccessDenied},
		{"one character", both, "", "a", ReasonSourceIdentity, CodeIDPRejectedClaim},
		{"65 characters", both, "", strings.Repeat("a", 65), ReasonSourceIdentity, CodeIDPRejectedClaim},
		{"space", both, "", "alice smith", ReasonSourceIdentity, CodeIDPRejectedClaim},
		{"aws: prefix", both, "", "aws:alice", ReasonSourceIdentity, CodeIDPRejectedClaim},
		{"not a string", both, "", 42, ReasonSourceIdentity, CodeIDPRejectedClaim},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, tc.actions, tc.condition)}, nil)
			res, err := env.v.AssumeRoleWithWebIdentity(context.Background(), env.request(t, with(baseClaims(), map[string]any{sourceIdentityClaim: tc.claim})))
			if tc.reason == 0 {
				require.NoError(t, err)
				assert.Equal(t, tc.claim, res.SourceIdentity)
				return
			}
			reason, code := reasonOf(t, err)
			assert.Equal(t, tc.reason, reason, "%v", err)
			assert.Equal(t, tc.code, code)
		})
	}
}

// TestSessionClaimErrorsDoNotRevealRoles: a bad tags claim gets the same answer whether or not
// the role exists.
func TestSessionClaimErrorsDoNotRevealRoles(t *testing.T) {
	env := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity, ActionTagSession}, "")}, nil)
	bad := with(baseClaims(), map[string]any{tagsClaim: "not an object"})
	for _, arn := range []string{testRoleARN, "arn:aws:iam::111122223333:role/does-not-exist"} {
		req := env.request(t, bad)
		req.RoleARN = arn
		_, err := env.v.AssumeRoleWithWebIdentity(context.Background(), req)
		reason, code := reasonOf(t, err)
		assert.Equal(t, ReasonSessionTags, reason, arn)
		assert.Equal(t, CodeIDPRejectedClaim, code, arn)
	}
}
