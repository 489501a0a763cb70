package verifier

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

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
	return newMemoWorldClock(t, issuers, edit, false)
}

// newMemoWorldClock is newMemoWorld, on the real clock if real (the verifier's, the key
// cache's and the issuers' Options.Now unset; w.clk is then unused).
func newMemoWorldClock(t *testing.T, issuers int, edit func(*Options), real bool) *memoWorld {
	t.Helper()
	w := &memoWorld{clk: &memoClock{t: time.Now().Truncate(time.Second)}}
	now := w.clk.now
	if real {
		now = nil
	}
	algs := []string{"RS256", "ES256", "EdDSA"}
	for i := range issuers {
		w.iss = append(w.iss, testissuer.Start(t, testissuer.Options{
			Path: fmt.Sprintf("/id/MEMO%d", i), Algorithms: []string{algs[i%len(algs)]}, Now: now,
		}))
	}
	w.reg = iam.New(iam.Options{AllowURLPort: true})
	var err error
	w.cache, err = jwks.New(jwks.Options{HTTPClient: w.iss[0].Client(), AllowPrivateAddresses: true, Now: now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.cache.Close() })
	opts := Options{ProviderSource: w.reg, Roles: w.reg, Keys: w.cache, Now: now}
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
		arn  string
		iss  *testissuer.Issuer
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

// memoTarget is a memo world with one provider in acctA, one role of kind and a token.
func memoTarget(t *testing.T, kind string, edit func(*Options)) (*memoWorld, *Request, *iam.OIDCProvider) {
	t.Helper()
	return memoTargetIn(t, newMemoWorld(t, 1, edit), kind)
}

// memoTargetIn is memoTarget in w, a world of one issuer.
func memoTargetIn(t *testing.T, w *memoWorld, kind string) (*memoWorld, *Request, *iam.OIDCProvider) {
	t.Helper()
	iss := w.iss[0]
	p, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	r, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "app", TrustPolicyDocument: memoDoc(iss, acctA, kind)})
	require.NoError(t, err)
	cl := iss.Claims(irsaSub, "sts.amazonaws.com")
	if kind == "tags" {
		cl["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"team": []string{"a"}}, "transitive_tag_keys": []string{"team"}}
	}
	req := &Request{RoleARN: r.ARN, RoleSessionName: "s-one", WebIdentityToken: iss.MustMint(t, cl, testissuer.MintOptions{}), SourceIP: "10.0.0.1"}
	return w, req, p
}

// warm makes the memo: a first request fills the token cache, a second makes the memo from
// a cache hit; it returns the Result.
func (w *memoWorld) warm(t *testing.T, req *Request) *Result {
	t.Helper()
	for range 2 {
		_, err := w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
		require.NoError(t, err)
	}
	return w.used(t, req, true)
}

// used runs req through the memo verifier, asserts whether the memo answered and that the
// plain verifier answers the same, and returns the Result.
func (w *memoWorld) used(t *testing.T, req *Request, memo bool) *Result {
	t.Helper()
	before := w.memo.tokens.memoHits.Load()
	r1, e1 := w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
	r2, e2 := w.plain.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.Equal(t, memo, w.memo.tokens.memoHits.Load() > before, "memo used")
	sameOutcome(t, "", r1, e1, r2, e2)
	return r1
}

func TestMemoUsedAndCopied(t *testing.T) {
	var events []DecisionEvent
	w, req, p := memoTarget(t, "tags", func(o *Options) {
		o.Observer = ObserverFunc(func(_ context.Context, e DecisionEvent) { events = append(events, e) })
	})
	res := w.warm(t, req)
	require.NotEmpty(t, res.SessionTags)
	assert.Equal(t, p.ARN, res.ProviderPrincipal)
	last := events[len(events)-2] // the memo verifier's (the plain one shares the observer)
	assert.True(t, last.CacheHit)
	assert.Equal(t, w.iss[0].URL(), last.Provider)
	assert.Zero(t, last.Code)
	// The caller's Result is its own: changing it changes no later answer.
	res.SessionTags[0].Value = "changed"
	res.TransitiveTagKeys[0] = "changed"
	res.RoleID = "changed"
	again := w.used(t, req, true)
	assert.Equal(t, "a", again.SessionTags[0].Value)
	assert.Equal(t, "team", again.TransitiveTagKeys[0])
	assert.NotEqual(t, "changed", again.RoleID)
}

// Every request field that reaches the decision or the Result must be the memo's.
func TestMemoRequestFields(t *testing.T) {
	w, req, _ := memoTarget(t, "basic", nil)
	w.warm(t, req)
	for name, edit := range map[string]func(r *Request){
		"session":  func(r *Request) { r.RoleSessionName = "s-two" },
		"sourceIP": func(r *Request) { r.SourceIP = "10.0.0.2" },
		"noIP":     func(r *Request) { r.SourceIP = "" },
		"duration": func(r *Request) { r.DurationSeconds = 900 },
		"provider": func(r *Request) { r.ProviderID = "www.amazon.com" },
		"badIP":    func(r *Request) { r.SourceIP = "not-an-ip" },
	} {
		r := *req
		edit(&r)
		res := w.used(t, &r, false)
		if res != nil {
			assert.Equal(t, r.RoleSessionName, res.RoleSessionName, name)
		}
	}
	w.used(t, req, false) // the last Allow (another session) replaced the memo
	w.used(t, req, true)
}

// A registry write to the role's account, of the role or of the provider, invalidates the
// memo; the next request sees the change.
func TestMemoRegistryWrites(t *testing.T) {
	w, req, p := memoTarget(t, "basic", nil)
	w.warm(t, req)
	_, err := w.reg.UpdateAssumeRolePolicy(req.RoleARN, memoDoc(w.iss[0], acctA, "deny"))
	require.NoError(t, err)
	_, err = w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.ErrorIs(t, err, ReasonDenied)
	_, err = w.reg.UpdateAssumeRolePolicy(req.RoleARN, memoDoc(w.iss[0], acctA, "basic"))
	require.NoError(t, err)
	w.warm(t, req)

	_, err = w.reg.UpdateOIDCProviderThumbprint(p.ARN, []string{"0000000000000000000000000000000000000000"})
	require.NoError(t, err)
	_, err = w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.ErrorIs(t, err, ReasonThumbprint, "the pin is the provider's, checked against the key set's chain")
	_, err = w.reg.UpdateOIDCProviderThumbprint(p.ARN, []string{fmt.Sprintf("%x", sha1Of(w.iss[0].Certificate().Raw))})
	require.NoError(t, err)
	w.warm(t, req)

	_, err = w.reg.AddClientIDToOIDCProvider(p.ARN, "other")
	require.NoError(t, err)
	_, err = w.reg.RemoveClientIDFromOIDCProvider(p.ARN, "sts.amazonaws.com")
	require.NoError(t, err)
	_, err = w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.ErrorIs(t, err, ReasonAudience)

	_, err = w.reg.AddClientIDToOIDCProvider(p.ARN, "sts.amazonaws.com")
	require.NoError(t, err)
	w.warm(t, req)
	_, err = w.reg.UpdateRole(req.RoleARN, iam.RoleUpdate{MaxSessionDuration: 2 * time.Hour})
	require.NoError(t, err)
	w.used(t, req, false)
	require.NoError(t, w.reg.DeleteRole(req.RoleARN))
	_, err = w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.ErrorIs(t, err, ReasonUnknownRole)
}

// The key set: a swap (rotation), a drop of the issuer and the refresh instant each end the
// memo; at the refresh instant Key is called, so the refresh happens on schedule.
func TestMemoKeys(t *testing.T) {
	w, req, _ := memoTarget(t, "basic", nil)
	iss := w.iss[0]
	w.warm(t, req)

	_, err := iss.AddKey("ES256")
	require.NoError(t, err)
	require.NoError(t, w.cache.Register(jwks.IssuerConfig{Issuer: iss.URL()})) // dropped and fetched again
	w.used(t, req, false)                                                      // verified again, with the new *jwks.Key
	w.used(t, req, false)                                                      // a hit: the memo is made again
	w.used(t, req, true)

	w.cache.Unregister(iss.URL())
	w.used(t, req, false) // registered again on use, fetched again
	w.used(t, req, false)
	w.used(t, req, true)

	fetches := iss.Requests(testissuer.JWKS)
	w.clk.add(jwks.DefaultMinTTL) // past the refresh point (3/4 of the TTL)
	w.used(t, req, false)
	require.Eventually(t, func() bool { return iss.Requests(testissuer.JWKS) > fetches }, 10*time.Second, time.Millisecond,
		"the lookup past the refresh point started a refresh")
	require.Eventually(t, func() bool { _, ok := w.cache.Stamp(iss.URL()); return ok }, 10*time.Second, time.Millisecond,
		"the refreshed key set is in place")

	// The token expires: refused, whatever the memo held.
	w.warm(t, req)
	w.clk.add(time.Hour + DefaultLeeway)
	_, err = w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.ErrorIs(t, err, ReasonExpired)
}

// On the real clock the memo hands its clock reading to the key cache (jwks.Stamp.CurrentAt)
// instead of the cache reading the clock again: a key set swapped or dropped still retires
// the memo at once.
func TestMemoKeysRealClock(t *testing.T) {
	w, req, _ := memoTargetIn(t, newMemoWorldClock(t, 1, nil, true), "basic")
	require.True(t, w.memo.realClock)
	iss := w.iss[0]
	w.warm(t, req)
	w.used(t, req, true)

	require.NoError(t, w.cache.Register(jwks.IssuerConfig{Issuer: iss.URL()})) // dropped
	w.used(t, req, false)
	w.used(t, req, false)
	w.used(t, req, true)

	w.cache.Unregister(iss.URL())
	w.used(t, req, false)
	w.used(t, req, false)
	w.used(t, req, true)
}

// A policy whose conditions read the clock, or a key the verifier does not know as fixed, is
// never memoised.
func TestMemoTimePolicy(t *testing.T) {
	w, req, _ := memoTarget(t, "time", nil)
	for range 3 {
		w.used(t, req, false)
	}
	r := &route{prefix: "oidc.example.com/id/x", kind: kindGeneric}
	for key, fixed := range map[string]bool{
		"oidc.example.com/id/x:sub": true, "oidc.example.com/id/x:aud": true, "oidc.example.com/id/x:nonsense": false,
		"other.example.com:sub": false, "sts:rolesessionname": true, "aws:sourceip": true, "aws:requesttag/team": true,
		"aws:currenttime": false, "aws:epochtime": false, "aws:principaltag/x": false, "aws:tagkeys": true,
	} {
		assert.Equal(t, fixed, fixedKey(key, r), key)
	}
}

// Sources that are two objects, or a key source without stamps, leave the memo off.
func TestMemoOff(t *testing.T) {
	reg := iam.New(iam.Options{})
	roles, err := NewStaticRoles()
	require.NoError(t, err)
	v, err := New(Options{ProviderSource: reg, Roles: roles, Keys: staticKeys(t, newTestKey(t, "RS256", "k"))})
	require.NoError(t, err)
	assert.Nil(t, v.epochs)
	v, err = New(Options{ProviderSource: reg, Roles: reg, Keys: staticKeys(t, newTestKey(t, "RS256", "k"))})
	require.NoError(t, err)
	assert.Nil(t, v.epochs, "jwks.Static has no stamps")
	v, err = New(Options{ProviderSource: reg, Roles: reg, TokenCacheSize: -1})
	require.NoError(t, err)
	assert.Nil(t, v.epochs, "no token cache")
	v, err = New(Options{ProviderSource: reg, Roles: reg})
	require.NoError(t, err)
	assert.NotNil(t, v.epochs)
	require.NoError(t, v.Close())
}

// A revoking write that has returned is seen by every request that starts after it, while
// other goroutines keep the memo busy.
func TestMemoConcurrentRevocation(t *testing.T) {
	w, req, _ := memoTarget(t, "basic", nil)
	w.warm(t, req)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }); wg.Wait() }
	defer halt() // the workers stop also when a require below fails
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					_, _ = w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
				}
			}
		})
	}
	for i := range 50 {
		kind := []string{"deny", "basic"}[i%2]
		_, err := w.reg.UpdateAssumeRolePolicy(req.RoleARN, memoDoc(w.iss[0], acctA, kind))
		require.NoError(t, err)
		_, err = w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
		if kind == "deny" {
			require.ErrorIs(t, err, ReasonDenied, "round %d", i)
		} else {
			require.NoError(t, err, "round %d", i)
		}
	}
	halt()
}

// validARN against its former two-pass definition.
func TestValidARNOnePass(t *testing.T) {
	ref := func(arn string) bool {
		if len(arn) < minRoleARNLen || len(arn) > maxRoleARNLen || !strings.HasPrefix(arn, "arn:") || !utf8.ValidString(arn) {
			return false
		}
		for _, r := range arn {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7F {
				return false
			}
		}
		var colon [5]int
		n := 0
		for i := 0; i < len(arn) && n < len(colon); i++ {
			if arn[i] == ':' {
				colon[n] = i
				n++
			}
		}
		return n == len(colon) && colon[1] > colon[0]+1 && colon[2] > colon[1]+1 && colon[4] < len(arn)-1
	}
	base := "arn:aws:iam::111122223333:role/app"
	cases := []string{base, "arn::iam::1:role/abcdefghijk", "arn:aws:iam::111122223333:", base + "\x00", base + "\x7f", base + "\t\n\r",
		base + "\xff", base + "é", base + "\xed\xa0\x80", base + "\uFFFD", "arn:a:b:c:d:e:f:g:h:i:j:k", "arn:aws:iam:111122223333role/app"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := []byte(base)
		for range 1 + rng.IntN(3) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		assert.Equal(t, ref(c), validARN(c), "%q", c)
	}
}

func sha1Of(b []byte) [20]byte { return sha1.Sum(b) }

// newSession is req under another session name each call: the memo never answers, but the
// token's last memo may vouch for its provider, key and admission.
func newSession(req *Request) func() *Request {
	n := 0
	return func() *Request {
		n++
		r := *req
		r.RoleSessionName = fmt.Sprintf("s-new-%d", n)
		return &r
	}
}

// vouched runs req through both verifiers, asserts the same outcome and whether the token's
// memo vouched for the full path's provider, key and admission.
func (w *memoWorld) vouched(t *testing.T, step string, req *Request, want bool) error {
	t.Helper()
	before := w.memo.tokens.vouched.Load()
	r1, e1 := w.memo.AssumeRoleWithWebIdentity(context.Background(), req)
	r2, e2 := w.plain.AssumeRoleWithWebIdentity(context.Background(), req)
	assert.Equal(t, want, w.memo.tokens.vouched.Load() > before, "%s: vouched", step)
	sameOutcome(t, step, r1, e1, r2, e2)
	return e1
}

// A token's memo vouches for a full decision of another session only while the account's
// registry and the key set are unchanged and for the same account: a registry write of the
// account, a new key, another account, the token's expiry each take the full checks, which
// decide as a verifier without token cache.
func TestMemoVouchesForNewSession(t *testing.T) {
	w, req, p := memoTarget(t, "basic", nil)
	next := newSession(req)
	w.warm(t, req)
	w.vouched(t, "another session", next(), true)
	w.vouched(t, "and another", next(), true) // the memo it made vouches too

	_, err := w.reg.AddClientIDToOIDCProvider(p.ARN, "other")
	require.NoError(t, err)
	_, err = w.reg.RemoveClientIDFromOIDCProvider(p.ARN, "sts.amazonaws.com")
	require.NoError(t, err)
	err = w.vouched(t, "client ID removed", next(), false)
	assert.ErrorIs(t, err, ReasonAudience)
	_, err = w.reg.AddClientIDToOIDCProvider(p.ARN, "sts.amazonaws.com")
	require.NoError(t, err)
	w.vouched(t, "client ID back: no memo yet", next(), false)
	w.vouched(t, "the memo made again", next(), true)

	_, err = w.reg.UpdateOIDCProviderThumbprint(p.ARN, []string{"0000000000000000000000000000000000000000"})
	require.NoError(t, err)
	err = w.vouched(t, "pinned to another certificate", next(), false)
	assert.ErrorIs(t, err, ReasonThumbprint)
	_, err = w.reg.UpdateOIDCProviderThumbprint(p.ARN, []string{fmt.Sprintf("%x", sha1Of(w.iss[0].Certificate().Raw))})
	require.NoError(t, err)
	w.vouched(t, "pin right", next(), false)
	w.vouched(t, "pin right, memo", next(), true)

	_, err = w.iss[0].AddKey("ES256")
	require.NoError(t, err)
	require.NoError(t, w.cache.Register(jwks.IssuerConfig{Issuer: w.iss[0].URL()}))
	w.vouched(t, "new key set", next(), false)
	w.vouched(t, "new key set, hit", next(), false)
	w.vouched(t, "new key set, memo", next(), true)

	// The same token for a role of another account, which registers the provider too.
	_, err = w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: w.iss[0].URL(), ClientIDs: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	rb, err := w.reg.CreateRole(&iam.Role{Account: acctB, Name: "app", TrustPolicyDocument: memoDoc(w.iss[0], acctB, "basic")})
	require.NoError(t, err)
	other := *req
	other.RoleARN = rb.ARN
	w.vouched(t, "another account", &other, false)
	w.vouched(t, "another account, a session of its own", newSession(&other)(), true)
	w.vouched(t, "back in the first account", next(), false)

	w.clk.add(time.Hour + DefaultLeeway)
	err = w.vouched(t, "expired", next(), false)
	assert.ErrorIs(t, err, ReasonExpired)
}
