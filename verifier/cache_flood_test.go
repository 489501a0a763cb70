package verifier

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
)

// TestTokenCacheTailFlood floods a small token cache with forgeries that share a cached
// token's length and last hashTail bytes (what the index hashes), so that all fall on its
// entry: the header and payload edited at random places, under the memoised request. Each
// forgery probes one bucket and finds one candidate, the genuine entry (the index holds
// one entry per hash), whose comparison refuses it; it is refused as a verifier without
// token cache refuses it, and stores nothing: the cache holds the same entries afterwards
// (another tenant's included, in a cache of four), nothing is evicted, removed or promoted,
// and both tokens' memos answer again.
func TestTokenCacheTailFlood(t *testing.T) {
	w := newAdvWorld(t, advWorldOptions{edit: func(o *Options) { o.TokenCacheSize = 4 }})
	req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
	iss := w.iss[0]
	_, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	roleB, err := w.reg.CreateRole(&iam.Role{Account: acctB, Name: "app", TrustPolicyDocument: advTrust(iss, acctB, "")})
	require.NoError(t, err)
	c := iss.Claims(irsaSub, "sts.amazonaws.com")
	c["jti"] = "tenant-b"
	reqB := &Request{RoleARN: roleB.ARN, RoleSessionName: "s-b", WebIdentityToken: iss.MustMint(t, c, testissuer.MintOptions{})}
	for i := range 3 {
		for _, r := range []*Request{req, reqB} {
			_, err := w.compare(t, "warm "+strconv.Itoa(i), r)
			require.NoError(t, err)
		}
	}
	tc := w.memo.tokens
	tok := req.WebIdentityToken
	h := tc.hash(tok)
	genuine, _ := tc.find(h)
	require.NotNil(t, genuine)
	entries, ticks := tc.lru.Keys(), tc.ticks.Load()

	dot2 := strings.LastIndexByte(tok, '.')
	require.Greater(t, len(tok)-dot2-1, hashTail, "the signature covers the hashed tail")
	rng := rand.New(rand.NewPCG(3, 4))
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range 300 {
		b := []byte(tok)
		for range 1 + rng.IntN(3) {
			j := rng.IntN(len(tok) - hashTail)
			if b[j] != '.' {
				b[j] = b64[rng.IntN(len(b64))]
			}
		}
		forged := string(b)
		if forged == tok {
			continue
		}
		require.Equal(t, h, tc.hash(forged), "the forgery falls on the genuine entry")
		e, _ := tc.find(h)
		require.Same(t, genuine, e, "one candidate per hash: the genuine entry")
		r := *req
		r.WebIdentityToken = forged
		memo, err := w.compare(t, "forgery "+strconv.Itoa(i), &r)
		require.False(t, memo)
		require.Error(t, err)
	}
	assert.ElementsMatch(t, entries, tc.lru.Keys(), "forgeries store, evict and remove nothing")
	assert.Equal(t, ticks, tc.ticks.Load(), "nor promote")
	for _, r := range []*Request{req, reqB} {
		memo, err := w.compare(t, "genuine after the flood", r)
		assert.True(t, memo, "its memo answers")
		assert.NoError(t, err)
	}
}
