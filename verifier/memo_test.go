package verifier

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// memoClock is a settable clock shared by the issuers, the key cache and the verifiers.
type memoClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *memoClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *memoClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memoWorld is two verifiers over one registry, one key cache and one clock: memo with the
// token cache (and so the decision memo), plain without any.
type memoWorld struct {
	clk         *memoClock
	iss         []*testissuer.Issuer
	reg         *iam.Registry
	cache       *jwks.Cache
	memo, plain *Verifier
}

func newMemoWorld(t *testing.T, issuers int, edit func(*Options)) *memoWorld {
	t.Helper()
	w := &memoWorld{clk: &memoClock{t: time.Now().Truncate(time.Second)}}
	algs := []string{"RS256", "ES256", "EdDSA"}
	for i := range issuers {
		w.iss = append(w.iss, testissuer.Start(t, testissuer.Options{
			Path: fmt.Sprintf("/id/MEMO%d", i), Algorithms: []string{algs[i%len(algs)]}, Now: w.clk.now,
		}))
	}
	w.reg = iam.New(iam.Options{AllowURLPort: true})
	var err error
	w.cache, err = jwks.New(jwks.Options{HTTPClient: w.iss[0].Client(), AllowPrivateAddresses: true, Now: w.clk.now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.cache.Close() })
	opts := Options{ProviderSource: w.reg, Roles: w.reg, Keys: w.cache, Now: w.clk.now}
	if edit != nil {
		edit(&opts)
	}
	w.memo, err = New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.memo.Close() })
	require.NotNil(t, w.memo.epochs, "the decision memo is on")
	opts.TokenCacheSize = -1
	w.plain, err = New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.plain.Close() })
	return w
}

// Trust policies of the tests, for issuer iss and the provider of account acct.
func memoDoc(iss *testissuer.Issuer, acct, kind string) string {
	host := iss.KeyPrefix()
	allow := func(action, cond string) string {
		return `{"Effect":"Allow","Principal":{"Federated":"` + iss.ProviderARN(acct) + `"},"Action":"` + action + `","Condition":{` + cond + `}}`
	}
	base := `"StringEquals":{"` + host + `:aud":"sts.amazonaws.com","` + host + `:sub":"` + irsaSub + `"}`
	var st string
	switch kind {
	case "basic":
		st = allow("sts:AssumeRoleWithWebIdentity", base)
	case "session":
		st = allow("sts:AssumeRoleWithWebIdentity", base+`,"StringLike":{"sts:RoleSessionName":"s-*"}`)
	case "ip":
		st = allow("sts:AssumeRoleWithWebIdentity", base+`,"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`)
	case "tags":
		st = allow("sts:AssumeRoleWithWebIdentity", base) + `,` +
			allow("sts:TagSession", `"StringEquals":{"aws:RequestTag/team":"a"}`)
	case "time":
		// Allowed until 90 minutes from the start of the test's clock, by the clock.
		until := time.Now().Add(90 * time.Minute).UTC().Format(time.RFC3339)
		st = allow("sts:AssumeRoleWithWebIdentity", base+`,"DateLessThan":{"aws:CurrentTime":"`+until+`"}`)
	case "deny":
		st = allow("sts:AssumeRoleWithWebIdentity", base) + `,{"Effect":"Deny","Principal":{"Federated":"` + iss.ProviderARN(acct) + `"},"Action":"sts:AssumeRoleWithWebIdentity"}`
	default:
		panic(kind)
	}
	return `{"Version":"2012-10-17","Statement":[` + st + `]}`
}

var memoDocKinds = []string{"basic", "session", "ip", "tags", "time", "deny"}

// sameOutcome asserts that the memoising verifier answered as the plain one.
func sameOutcome(t *testing.T, step string, r1 *Result, e1 error, r2 *Result, e2 error) bool {
	t.Helper()
	var v1, v2 *Error
	if (e1 == nil) != (e2 == nil) {
		return assert.Fail(t, "outcomes differ", "%s: memo %v, plain %v", step, e1, e2)
	}
	if e1 != nil {
		require.ErrorAs(t, e1, &v1)
		require.ErrorAs(t, e2, &v2)
		if !assert.Equal(t, v2.Reason, v1.Reason, step) || !assert.Equal(t, v2.Code, v1.Code, step) {
			return false
		}
	}
	return assert.Equal(t, r2, r1, step)
}

// TestMemoDifferential runs random sequences of requests interleaved with registry writes,
// key rotations, issuer drops and clock moves past exp and refresh instants, through a
// memoising verifier and one without token cache over the same registry, key cache and
// clock: the Results and error reasons must be identical at every step.
func TestMemoDifferential(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { memoDifferential(t, seed) })
	}
}

func memoDifferential(t *testing.T, seed uint64) {
	w := newMemoWorld(t, 2, func(o *Options) { o.MaxTokenLifetime = 2 * time.Hour })
	rng := rand.New(rand.NewPCG(seed, 42))
	accts := []string{acctA, acctB}
	type roleRef struct {
		arn string
		iss *testissuer.Issuer
		acct string
	}
	var roles []roleRef
	provs := map[string]string{} // "acct iss" -> provider ARN
	for _, iss := range w.iss {
		for _, a := range accts {
			p, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: a, URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
			require.NoError(t, err)
			provs[a+" "+iss.URL()] = p.ARN
			for i, kind := range memoDocKinds {
				r, err := w.reg.CreateRole(&iam.Role{Account: a, Name: fmt.Sprintf("r%d-%s-%d", len(roles), kind, i), TrustPolicyDocument: memoDoc(iss, a, kind)})
				require.NoError(t, err)
				roles = append(roles, roleRef{r.ARN, iss, a})
			}
		}
	}
	type tokenRef struct {
		raw string
		iss *testissuer.Issuer
	}
	var tokens []tokenRef
	mintOne := func() {
		iss := w.iss[rng.IntN(len(w.iss))]
		sub := irsaSub
		if rng.IntN(5) == 0 {
			sub = "system:serviceaccount:other:app"
		}
		cl := iss.Claims(sub, "sts.amazonaws.com")
		switch rng.IntN(6) {
		case 0:
			cl["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"team": []string{"a"}}, "transitive_tag_keys": []string{"team"}}
		case 1:
			cl["exp"] = w.clk.now().Add(10 * time.Minute).Unix()
		}
		tokens = append(tokens, tokenRef{iss.MustMint(t, cl, testissuer.MintOptions{}), iss})
	}
	for range 6 {
		mintOne()
	}
	ctx := context.Background()
	sessions := []string{"s-one", "s-two", "other"}
	ips := []string{"", "10.1.2.3", "192.0.2.1"}
	durations := []int{0, 0, 900, 3600, 7200}
	allowed, reasons := 0, map[Reason]int{}
	for step := range 700 {
		switch x := rng.IntN(100); {
		case x < 65:
			tok := tokens[len(tokens)-1-rng.IntN(min(6, len(tokens)))] // mostly a recent one
			if rng.IntN(5) == 0 {
				tok = tokens[rng.IntN(len(tokens))]
			}
			r := roles[rng.IntN(len(roles))]
			for rng.IntN(4) != 0 && r.iss != tok.iss { // mostly a role that trusts the token's issuer
				r = roles[rng.IntN(len(roles))]
			}
			req := &Request{
				RoleARN: r.arn, RoleSessionName: sessions[rng.IntN(len(sessions))],
				WebIdentityToken: tok.raw,
				SourceIP:         ips[rng.IntN(len(ips))], DurationSeconds: durations[rng.IntN(len(durations))],
			}
			// Repeat it, most of the time, so that the memo is made and used.
			for range 1 + rng.IntN(3) {
				r1, e1 := w.memo.AssumeRoleWithWebIdentity(ctx, req)
				r2, e2 := w.plain.AssumeRoleWithWebIdentity(ctx, req)
				if !sameOutcome(t, fmt.Sprintf("step %d", step), r1, e1, r2, e2) {
					return
				}
				if e1 == nil {
					allowed++
				} else {
					var ve *Error
					if errors.As(e1, &ve) {
						reasons[ve.Reason]++
					}
				}
			}
		case x < 71:
			r := roles[rng.IntN(len(roles))]
			_, err := w.reg.UpdateAssumeRolePolicy(r.arn, memoDoc(r.iss, r.acct, memoDocKinds[rng.IntN(len(memoDocKinds))]))
			require.NoError(t, err)
		case x < 73:
			r := roles[rng.IntN(len(roles))]
			_, err := w.reg.UpdateRole(r.arn, iam.RoleUpdate{MaxSessionDuration: time.Duration(1+rng.IntN(2)) * time.Hour})
			require.NoError(t, err)
		case x < 75:
			arn := provs[accts[rng.IntN(2)]+" "+w.iss[rng.IntN(len(w.iss))].URL()]
			if rng.IntN(2) == 0 {
				_, _ = w.reg.AddClientIDToOIDCProvider(arn, "sts.amazonaws.com")
			} else {
				_, _ = w.reg.RemoveClientIDFromOIDCProvider(arn, "sts.amazonaws.com")
			}
			if rng.IntN(2) == 0 {
				_, _ = w.reg.AddClientIDToOIDCProvider(arn, "other-client")
			}
		case x < 78:
			// The provider goes and comes back (a new provider, maybe after requests).
			a, iss := accts[rng.IntN(2)], w.iss[rng.IntN(len(w.iss))]
			arn := provs[a+" "+iss.URL()]
			if err := w.reg.DeleteOIDCProvider(arn); err == nil && rng.IntN(4) == 0 {
				break
			}
			p, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: a, URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
			if err == nil {
				provs[a+" "+iss.URL()] = p.ARN
			}
		case x < 81:
			// Key rotation, then a drop and re-add of the issuer in the key cache so that the
			// next lookup fetches the new set (no background refresh is left to land at a
			// moment that depends on scheduling).
			iss := w.iss[rng.IntN(len(w.iss))]
			if rng.IntN(8) == 0 {
				_, err := iss.Rotate([]string{"RS256", "ES256"}[rng.IntN(2)])
				require.NoError(t, err)
			} else {
				_, err := iss.AddKey([]string{"RS256", "ES256"}[rng.IntN(2)])
				require.NoError(t, err)
			}
			require.NoError(t, w.cache.Register(jwks.IssuerConfig{Issuer: iss.URL()}))
		case x < 83:
			w.cache.Unregister(w.iss[rng.IntN(len(w.iss))].URL()) // the verifiers register it again when used
		case x < 89:
			w.clk.add([]time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute, 20 * time.Minute, 70 * time.Minute}[rng.IntN(7)])
		case x < 90:
			w.clk.add(-time.Minute)
		default:
			mintOne()
		}
	}
	t.Logf("%d allowed, %d from the memo; refusals %v", allowed, w.memo.tokens.memoHits.Load(), reasons)
	assert.Positive(t, w.memo.tokens.memoHits.Load(), "the memo answered")
}
