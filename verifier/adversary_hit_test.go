package verifier

// Adversary tests of the token-cache hit rework (cache.go's index, memo.go's memoAnswer and
// vouches, into.go's Answer): each tries to make the memoising verifier answer otherwise
// than a verifier without token cache over the same registry, key cache and clock, in the
// caller's favour, or to leak between callers or tenants. A test FAILS when the attack
// succeeds. "// FINDING:" marks the attacks that succeed (the tests that fail), "// HOLDS:"
// the ones the design withstands.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// vouchedHits is how many cache hits of w's memo verifier a memo vouched for.
func vouchedHits(w *memoWorld) uint64 { return w.memo.tokens.vouched.Load() }

// session returns a copy of req with another RoleSessionName: the memo does not answer it,
// and the cache hit may take a memo's word for provider, key and admission (vouches).
func session(req *Request, name string) *Request {
	r := *req
	r.RoleSessionName = name
	return &r
}

// refreshKeys moves the clock past the refresh point and makes the key cache fetch the
// issuer's JWKS again (the plain verifier's lookup starts it), so that what the issuer
// publishes now is what the cache serves.
func refreshKeys(t *testing.T, w *memoWorld, req *Request) {
	t.Helper()
	iss := w.iss[0]
	fetches := iss.Requests(testissuer.JWKS)
	w.clk.add(jwks.DefaultMinTTL)
	_, _ = w.plain.AssumeRoleWithWebIdentity(context.Background(), req) // starts the refresh
	require.Eventually(t, func() bool { return iss.Requests(testissuer.JWKS) > fetches }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { _, ok := w.cache.Stamp(iss.URL()); return ok }, 10*time.Second, time.Millisecond)
}

// HOLDS: one token, allowed for a role of account A (memoised), presented for a role of
// account B whose provider of the same issuer takes other client IDs, under new session
// names: the memo of A's decision never vouches for B's provider (another account), so B's
// admission is checked and refuses the aud, as the full evaluation does, every time and
// after A's memo is remade in between.
func TestAdvHitVouchOtherAccountOtherClientIDs(t *testing.T) {
	w := newAdvWorld(t, advWorldOptions{})
	reqA, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
	_, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: w.iss[0].URL(), ClientIDs: []string{"b-only"}})
	require.NoError(t, err)
	rb, err := w.reg.CreateRole(&iam.Role{Account: acctB, Name: "app", TrustPolicyDocument: advTrust(w.iss[0], acctB, "")})
	require.NoError(t, err)
	for i := range 3 {
		w.compare(t, "A "+strconv.Itoa(i), reqA)
	}
	for i := range 4 {
		reqB := session(reqA, "b-"+strconv.Itoa(i))
		reqB.RoleARN = rb.ARN
		_, err := w.compare(t, "B "+strconv.Itoa(i), reqB)
		assert.ErrorIs(t, err, ReasonAudience, "B's provider does not take the token's aud")
		w.compare(t, "A again "+strconv.Itoa(i), session(reqA, "a-"+strconv.Itoa(i)))
	}
}

// HOLDS: the same token for another role of the same account (whose trust policy wants
// another sub), under new session names, after the memo of the allowed role: the vouched
// hit skips only provider, key and admission; the other role's policy is evaluated and
// refuses. And a role whose policy tests the session name refuses names it does not allow
// although the memo of another name of that role vouches.
func TestAdvHitVouchOtherRoleSameAccount(t *testing.T) {
	w := newAdvWorld(t, advWorldOptions{})
	req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
	host := w.iss[0].KeyPrefix()
	victim, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "victim", TrustPolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` +
		w.iss[0].ProviderARN(acctA) + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + host + `:sub":"system:serviceaccount:victim:admin"}}}]}`})
	require.NoError(t, err)
	named, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "named", TrustPolicyDocument: advTrust(w.iss[0], acctA, `"StringLike":{"sts:RoleSessionName":"ok-*"}`)})
	require.NoError(t, err)
	for i := range 3 {
		w.compare(t, "warm "+strconv.Itoa(i), req)
	}
	before := vouchedHits(w)
	for i := range 3 {
		toVictim := session(req, "v-"+strconv.Itoa(i))
		toVictim.RoleARN = victim.ARN
		_, err := w.compare(t, "victim "+strconv.Itoa(i), toVictim)
		assert.ErrorIs(t, err, ReasonDenied)
		ok := session(req, "ok-"+strconv.Itoa(i))
		ok.RoleARN = named.ARN
		_, err = w.compare(t, "named ok "+strconv.Itoa(i), ok)
		assert.NoError(t, err)
		no := session(req, "no-"+strconv.Itoa(i))
		no.RoleARN = named.ARN
		_, err = w.compare(t, "named no "+strconv.Itoa(i), no)
		assert.ErrorIs(t, err, ReasonDenied)
	}
	assert.Greater(t, vouchedHits(w), before, "the attack went through the vouched hit")
}

// HOLDS: requests that checkRequest refuses, each one field away from a memoised request
// (the memo answers without checkRequest): a bad session name, a too short one, a bad
// SourceIP, DurationSeconds out of range (also one that only its int32 copy would match), a
// ProviderID, a malformed role ARN. Each is refused with the full path's reason, and the
// memo still answers the original afterwards.
func TestAdvHitCheckRequestRefusalsNextToMemo(t *testing.T) {
	w := newAdvWorld(t, advWorldOptions{})
	req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
	req.SourceIP = "192.0.2.1"
	req.DurationSeconds = 3600
	for i := range 3 {
		w.compare(t, "warm "+strconv.Itoa(i), req)
	}
	for name, c := range map[string]struct {
		edit func(r *Request)
		want Reason
	}{
		"bad session name":     {func(r *Request) { r.RoleSessionName = "s one" }, ReasonSessionName},
		"short session name":   {func(r *Request) { r.RoleSessionName = "s" }, ReasonSessionName},
		"bad source ip":        {func(r *Request) { r.SourceIP = "192.0.2.x" }, ReasonSourceIP},
		"duration too short":   {func(r *Request) { r.DurationSeconds = 899 }, ReasonDuration},
		"duration int32 alias": {func(r *Request) { r.DurationSeconds = 3600 + 1<<32 }, ReasonDuration},
		"provider id":          {func(r *Request) { r.ProviderID = "www.amazon.com" }, ReasonProviderID},
		"arn without resource": {func(r *Request) { r.RoleARN = strings.TrimSuffix(r.RoleARN, "role/app") }, ReasonRoleARN},
	} {
		bad := *req
		c.edit(&bad)
		memo, err := w.compare(t, name, &bad)
		assert.False(t, memo, "%s: the memo answered", name)
		assert.ErrorIs(t, err, c.want, name)
	}
	memo, err := w.compare(t, "original", req)
	assert.True(t, memo, "the memo answers the original still")
	assert.NoError(t, err)
}

// HOLDS: tokens that share the cached token's length and last bytes (the index's hash
// reads only those): the same signature under an edited payload, and the cached token with
// its header edited. Both take the full path and are refused as the plain verifier refuses
// them; neither pushes the genuine token out: its memo answers afterwards.
func TestAdvHitTailTwins(t *testing.T) {
	w := newAdvWorld(t, advWorldOptions{})
	req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
	for i := range 3 {
		w.compare(t, "warm "+strconv.Itoa(i), req)
	}
	tok := req.WebIdentityToken
	dot1 := strings.IndexByte(tok, '.')
	dot2 := strings.LastIndexByte(tok, '.')
	require.Greater(t, len(tok)-dot2-1, hashTail, "the signature covers the hashed tail")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for name, twin := range map[string]string{
		"payload edited": flip(tok, (dot1+dot2)/2),
		"header edited":  flip(tok, dot1/2),
	} {
		require.Equal(t, len(tok), len(twin))
		require.Equal(t, tok[len(tok)-hashTail:], twin[len(twin)-hashTail:])
		require.Equal(t, w.memo.tokens.hash(tok), w.memo.tokens.hash(twin), "the twin falls on the genuine token's entry")
		for i := range 2 {
			r := *req
			r.WebIdentityToken = twin
			memo, err := w.compare(t, name+" "+strconv.Itoa(i), &r)
			assert.False(t, memo)
			assert.Error(t, err)
		}
	}
	memo, err := w.compare(t, "genuine", req)
	assert.True(t, memo, "the genuine token's memo survives its twins")
	assert.NoError(t, err)
}

// HOLDS: TokenCacheSize 1 and 2 (one or two index buckets, three ways each, so the index
// holds more than the LRU): six tokens of two subjects round robin, each under two sessions
// and two roles, so that every request evicts, re-stores or hits: the answers are the
// plain verifier's throughout, and a token the LRU dropped is not answered from a memo.
func TestAdvHitTinyCache(t *testing.T) {
	for _, size := range []int{1, 2} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			w := newAdvWorld(t, advWorldOptions{edit: func(o *Options) { o.TokenCacheSize = size }})
			req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
			other, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "other", TrustPolicyDocument: advTrust(w.iss[0], acctA, `"StringLike":{"sts:RoleSessionName":"x-*"}`)})
			require.NoError(t, err)
			iss := w.iss[0]
			var toks []string
			for i := range 6 {
				sub := irsaSub
				if i%3 == 2 {
					sub = "system:serviceaccount:other:x"
				}
				c := iss.Claims(sub, "sts.amazonaws.com")
				c["jti"] = strconv.Itoa(i)
				toks = append(toks, iss.MustMint(t, c, testissuer.MintOptions{}))
			}
			for round := range 4 {
				for i, tok := range toks {
					for _, role := range []string{req.RoleARN, other.ARN} {
						for _, s := range []string{"x-1", "s-1"} {
							r := *req
							r.WebIdentityToken, r.RoleARN, r.RoleSessionName = tok, role, s
							w.compare(t, fmt.Sprintf("round %d token %d %s %s", round, i, role, s), &r)
						}
					}
				}
			}
			assert.LessOrEqual(t, w.memo.tokens.lru.Len(), size)
		})
	}
}

// HOLDS: what may change under a vouched hit (the memo of the token under another session
// name): the key rotated away (the token's kid no longer published), a second key without
// kid, a client ID removed, a thumbprint pinned that the chain does not have, the clock past
// exp. After each, requests under new session names, and the memoised one, are answered as
// the full evaluation answers.
func TestAdvHitVouchAfterChanges(t *testing.T) {
	none := ""
	for name, c := range map[string]struct {
		mint   *testissuer.MintOptions
		change func(t *testing.T, w *memoWorld, req *Request, p *iam.OIDCProvider)
		want   Reason
	}{
		"key rotated away": {nil, func(t *testing.T, w *memoWorld, req *Request, _ *iam.OIDCProvider) {
			iss := w.iss[0]
			old := iss.Kids()[0]
			_, err := iss.AddKey("RS256")
			require.NoError(t, err)
			iss.RemoveKey(old)
			refreshKeys(t, w, req)
		}, ReasonUnknownKey},
		"kid-less, second key": {&testissuer.MintOptions{HeaderKid: &none}, func(t *testing.T, w *memoWorld, req *Request, _ *iam.OIDCProvider) {
			_, err := w.iss[0].AddKey("RS256")
			require.NoError(t, err)
			refreshKeys(t, w, req)
		}, ReasonKidRequired},
		"client id removed": {nil, func(t *testing.T, w *memoWorld, _ *Request, p *iam.OIDCProvider) {
			_, err := w.reg.AddClientIDToOIDCProvider(p.ARN, "other")
			require.NoError(t, err)
			_, err = w.reg.RemoveClientIDFromOIDCProvider(p.ARN, "sts.amazonaws.com")
			require.NoError(t, err)
		}, ReasonAudience},
		"thumbprint pinned": {nil, func(t *testing.T, w *memoWorld, _ *Request, p *iam.OIDCProvider) {
			_, err := w.reg.UpdateOIDCProviderThumbprint(p.ARN, []string{strings.Repeat("0", 40)})
			require.NoError(t, err)
		}, ReasonThumbprint},
		"past exp": {nil, func(t *testing.T, w *memoWorld, _ *Request, _ *iam.OIDCProvider) {
			w.clk.add(2 * time.Hour)
		}, ReasonExpired},
	} {
		t.Run(name, func(t *testing.T) {
			w := newAdvWorld(t, advWorldOptions{})
			req, p := advTarget(t, w, advTrust(w.iss[0], acctA, ""), c.mint)
			for i := range 3 {
				w.compare(t, "warm "+strconv.Itoa(i), req)
			}
			before := vouchedHits(w)
			w.compare(t, "vouched before", session(req, "s-before"))
			require.Greater(t, vouchedHits(w), before, "the other session took the vouched hit")
			c.change(t, w, req, p)
			for i := range 3 {
				_, err := w.compare(t, "new session "+strconv.Itoa(i), session(req, "s-after-"+strconv.Itoa(i)))
				assert.ErrorIs(t, err, c.want)
				_, err = w.compare(t, "memoised "+strconv.Itoa(i), req)
				assert.ErrorIs(t, err, c.want)
			}
		})
	}
}

// HOLDS: concurrent hits, stores and evictions under -race: eight goroutines over a cache of
// two, three tokens (two subjects), two roles of two accounts and three session names: every
// answer is the plain verifier's.
func TestAdvHitConcurrentTinyCache(t *testing.T) {
	w := newAdvWorld(t, advWorldOptions{edit: func(o *Options) { o.TokenCacheSize = 2 }})
	req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
	_, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: w.iss[0].URL(), ClientIDs: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	rb, err := w.reg.CreateRole(&iam.Role{Account: acctB, Name: "app", TrustPolicyDocument: advTrust(w.iss[0], acctB, "")})
	require.NoError(t, err)
	iss := w.iss[0]
	toks := []string{req.WebIdentityToken,
		iss.MustMint(t, iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{}),
		iss.MustMint(t, iss.Claims("system:serviceaccount:other:x", "sts.amazonaws.com"), testissuer.MintOptions{})}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				r := *req
				r.WebIdentityToken = toks[(g+i)%len(toks)]
				if (g+i/3)%2 == 1 {
					r.RoleARN = rb.ARN
				}
				r.RoleSessionName = "s-" + strconv.Itoa(i%3)
				w.compare(t, fmt.Sprintf("g%d/%d", g, i), &r)
			}
		})
	}
	wg.Wait()
}

// staleIndexEntries returns how many entries c's index holds that the LRU does not (its
// entry for their hash is another, or none).
func staleIndexEntries(c *tokenCache) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := range c.index {
		for j := range c.index[i].entries {
			if e := c.index[i].entries[j].Load(); e != nil {
				if le, ok := c.lru.Peek(e.hash); !ok || le != e {
					n++
				}
			}
		}
	}
	return n
}

// FINDING (the cache's bound, not a decision): store puts the new entry in the index, then in
// the LRU, each step alone. When two requests store the same fresh token at once (a new
// token's first requests arriving together), one order of those four steps leaves the index
// holding one entry and the LRU the other; the LRU's eviction of its entry then finds nothing
// of it in the index, and the index's entry stays, pinned (a token of up to 20,000 bytes, its
// Claims and memo), found by lookups and answered from, after the LRU has let the token go:
// the index outlives the LRU's eviction, and the cache holds more than TokenCacheSize
// tokens. Each hit still checks key, epoch and times, so no answer differs; the cost is
// memory (up to three entries per bucket beyond the LRU) and a cache the LRU does not govern.
// insert could replace only its own entry's way, or store could insert after the LRU's Add
// under mu (and evicted compare by hash).
func TestAdvHitIndexOutlivesLRU(t *testing.T) {
	const size = 4
	w := newAdvWorld(t, advWorldOptions{edit: func(o *Options) { o.TokenCacheSize = size }})
	req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
	iss := w.iss[0]
	c := w.memo.tokens
	stale := 0
	for round := 0; round < 4000 && stale == 0; round++ {
		r := *req
		cl := iss.Claims(irsaSub, "sts.amazonaws.com")
		cl["jti"] = strconv.Itoa(round % 50)
		r.WebIdentityToken = iss.MustMint(t, cl, testissuer.MintOptions{})
		if round < 50 {
			// Through the verifier: the first requests of a fresh token, together.
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 6 {
				wg.Go(func() {
					<-start
					_, err := w.memo.AssumeRoleWithWebIdentity(context.Background(), &r)
					assert.NoError(t, err)
				})
			}
			close(start)
			wg.Wait()
		} else {
			// The same stores without the signature checks before them, which spread the
			// requests out: what the full path does once each has verified the token.
			_, err := w.memo.AssumeRoleWithWebIdentity(context.Background(), &r)
			require.NoError(t, err)
			h := c.hash(r.WebIdentityToken)
			e, ok := c.lru.Peek(h)
			require.True(t, ok)
			v := e.v
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					<-start
					c.store(h, r.WebIdentityToken, &v)
				})
			}
			close(start)
			wg.Wait()
		}
		if stale = staleIndexEntries(c); stale > 0 {
			t.Logf("round %d: %d index entries the LRU does not hold (LRU: %d of %d)", round, stale, c.lru.Len(), size)
		}
	}
	if stale > 0 {
		// The LRU lets the token go: fill it with others. The index keeps answering for it.
		var kept *cacheEntry
		for i := range c.index {
			for j := range c.index[i].entries {
				if e := c.index[i].entries[j].Load(); e != nil {
					if le, ok := c.lru.Peek(e.hash); !ok || le != e {
						kept = e
					}
				}
			}
		}
		require.NotNil(t, kept)
		for i := range size {
			cl := iss.Claims(irsaSub, "sts.amazonaws.com")
			cl["jti"] = "fill-" + strconv.Itoa(i)
			r := *req
			r.WebIdentityToken = iss.MustMint(t, cl, testissuer.MintOptions{})
			_, err := w.memo.AssumeRoleWithWebIdentity(context.Background(), &r)
			require.NoError(t, err)
		}
		_, inLRU := c.lru.Peek(kept.hash)
		got, _ := c.lookup(kept.raw)
		t.Logf("after the LRU was filled: token in the LRU %v, the index answers for it %v", inLRU, got == kept)
	}
	assert.Zero(t, stale, "the index holds entries the LRU evicted or replaced")
}

// HOLDS: one Answer reused by a caller across requests of every shape, in an order that
// makes each follow another shape (tags after none, one aud after three, an Allow after a
// denial and after a refusal, memo answers after full ones): each Result is the plain
// verifier's, field for field; nothing of the previous use shows.
func TestAdvHitAnswerReusedAcrossShapes(t *testing.T) {
	w := newAdvWorld(t, advWorldOptions{})
	iss := w.iss[0]
	host := iss.KeyPrefix()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + iss.ProviderARN(acctA) +
		`"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"` + host + `:sub":"` + irsaSub + `"}}}]}`
	req, _ := advTarget(t, w, doc, nil)
	deny, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "deny", TrustPolicyDocument: advTrust(iss, acctA, `"StringLike":{"sts:RoleSessionName":"never"}`)})
	require.NoError(t, err)
	tagged := iss.Claims(irsaSub, "sts.amazonaws.com")
	tagged["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"team": []string{"a"}, "env": []string{"prod"}}, "transitive_tag_keys": []string{"team"}}
	tagged["https://aws.amazon.com/source_identity"] = "alice"
	threeAud := iss.Claims(irsaSub, "one", "sts.amazonaws.com", "three")
	toks := []string{req.WebIdentityToken, iss.MustMint(t, tagged, testissuer.MintOptions{}), iss.MustMint(t, threeAud, testissuer.MintOptions{})}
	var reqs []*Request
	for _, tok := range toks {
		for _, s := range []string{"s-one", "s-two", "bad name"} {
			for _, role := range []string{req.RoleARN, deny.ARN} {
				r := *req
				r.WebIdentityToken, r.RoleSessionName, r.RoleARN = tok, s, role
				reqs = append(reqs, &r)
			}
		}
	}
	var a Answer
	for round := range 3 {
		for i := range reqs {
			r := reqs[(i*7+round)%len(reqs)] // another order each round
			got, err1 := w.memo.AssumeRoleWithWebIdentityInto(context.Background(), r, &a)
			want, err2 := w.plain.AssumeRoleWithWebIdentity(context.Background(), r)
			sameOutcome(t, fmt.Sprintf("round %d request %d (%s, %s)", round, i, r.RoleSessionName, r.RoleARN), got, err1, want, err2)
		}
	}
	assert.NotZero(t, w.memo.tokens.memoHits.Load(), "some answers came from the memo")
}
