package verifier

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseARN accepts what validARN accepts and, for those, returns roleAccount's partition and
// account: assume takes them from checkRequest instead of parsing the ARN again.
func TestParseARNMatchesRoleAccount(t *testing.T) {
	base := "arn:aws-cn:iam::111122223333:role/app:x"
	cases := []string{base, "arn::iam::1:role/abcdefghijk", "arn:aws:iam::111122223333:", "arn:a:b:c:d:e:f:g:h:i:j:k",
		"arn:aws:iam:us-east-1:111122223333:role/app", "arn:aws:iam::111122223333role/app", "arn:p:s:r::role/abcdefgh"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		b := []byte(base)
		for range 1 + rng.IntN(3) {
			b[rng.IntN(len(b))] = ":a\x00é"[rng.IntN(4)]
		}
		cases = append(cases, string(b))
	}
	valid := 0
	for _, c := range cases {
		p, a, ok := parseARN(c)
		require.Equal(t, validARN(c), ok, "%q", c)
		if !ok {
			assert.Empty(t, p+a, "%q", c)
			continue
		}
		valid++
		rp, ra := roleAccount(c)
		assert.Equal(t, rp, p, "%q", c)
		assert.Equal(t, ra, a, "%q", c)
	}
	assert.Greater(t, valid, 100, "the mutations keep enough ARNs valid")
}

// checkRequest returns the ARN's partition and account with its verdict, and nothing on a
// refusal (whose reason is the one it always gave).
func TestCheckRequestPartitionAccount(t *testing.T) {
	req := Request{RoleARN: "arn:aws-us-gov:iam::111122223333:role/r", RoleSessionName: "s1", WebIdentityToken: "a.b.c.d"}
	p, a, e := checkRequest(&req)
	require.Nil(t, e)
	assert.Equal(t, "aws-us-gov", p)
	assert.Equal(t, "111122223333", a)

	bad := req
	bad.RoleSessionName = "x"
	p, a, e = checkRequest(&bad)
	require.NotNil(t, e)
	assert.Equal(t, ReasonSessionName, e.Reason)
	assert.Empty(t, p+a)

	bad = req
	bad.RoleARN = "arn:aws:iam:111122223333role/r"
	_, _, e = checkRequest(&bad)
	require.NotNil(t, e)
	assert.Equal(t, ReasonRoleARN, e.Reason)
}

// The Result's Audience is the first aud value that is a client ID of the provider (what
// admit accepted the token for), on the full path and on token-cache hits, whatever the
// values' order.
func TestAssumeAudienceIsTheAcceptedOne(t *testing.T) {
	pol := func(t testing.TB) *Role {
		return &Role{TrustPolicy: trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity}, "")}
	}
	for _, tc := range []struct {
		name      string
		clientIDs []string
		aud       any
		want      string
	}{
		{"one value", []string{testClientID}, testClientID, testClientID},
		{"accepted second", []string{testClientID}, []string{"other", testClientID, "x"}, testClientID},
		{"first of two accepted", []string{"b", "a"}, []string{"z", "a", "b"}, "a"},
		{"accepted last", []string{"x", "y"}, []string{"w", "v", "u", "y"}, "y"},
	} {
		for _, cache := range []int{-1, 64} {
			env := newAssumeEnv(t, pol(t), func(o *Options) {
				o.Providers[0].ClientIDs = tc.clientIDs
				o.TokenCacheSize = cache
			})
			req := env.request(t, with(baseClaims(), map[string]any{"aud": tc.aud}))
			for i, name := range []string{"s1", "s2", "s1"} {
				req.RoleSessionName = name
				res, err := env.v.AssumeRoleWithWebIdentity(context.Background(), req)
				require.NoError(t, err, "%s cache %d call %d", tc.name, cache, i)
				assert.Equal(t, tc.want, res.Audience, "%s cache %d call %d", tc.name, cache, i)
			}
		}
	}
}

// roleAccount is the partition and account split the verifier made before parseARN returned
// them (kept as parseARN's reference) of a role ARN
// (arn:PARTITION:iam::ACCOUNT:role/...), without allocating. An ARN of another shape yields
// what sits in those places; no provider is registered under it, so the token is refused.
func roleAccount(arn string) (partition, account string) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", ""
	}
	partition, rest, _ = strings.Cut(rest, ":")
	_, rest, _ = strings.Cut(rest, ":") // service
	_, rest, _ = strings.Cut(rest, ":") // region
	account, _, _ = strings.Cut(rest, ":")
	return partition, account
}
