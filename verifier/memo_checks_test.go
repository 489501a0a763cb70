package verifier

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// TestMemoTimesExact checks the memo's validity window (setTimes, valid) against
// checkTokenTimes, the full path's rule, on random token times, leeways and lifetime
// bounds, at instants on and next to every bound: valid never holds where checkTokenTimes
// refuses, and holds wherever it passes for an instant whose Unix nanoseconds fit an int64
// (today's, for a start). setTimes refuses a token the lifetime bound refuses.
func TestMemoTimesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_800_000_000, 0)
	leeways := []time.Duration{0, 1, time.Second, DefaultLeeway, 90 * time.Minute, 200 * 365 * 24 * time.Hour, math.MaxInt64}
	instant := func() time.Time {
		switch rng.IntN(8) {
		case 0:
			return time.Time{}
		case 1:
			return time.Unix(maxNumericDate, 0) // year 9999, past int64 nanoseconds
		case 2:
			return time.Unix(minNumericDate, 0)
		}
		return base.Add(time.Duration(rng.Int64N(int64(4*time.Hour))) - 2*time.Hour).Add(time.Duration(rng.IntN(1e9)))
	}
	for i := range 20000 {
		exp, nbf, iat := instant(), instant(), instant()
		if exp.IsZero() {
			exp = base.Add(time.Hour) // the claims parser requires exp
		}
		leeway := leeways[rng.IntN(len(leeways))]
		var maxLifetime time.Duration
		if rng.IntN(3) == 0 {
			maxLifetime = time.Duration(rng.Int64N(int64(3 * time.Hour)))
		}
		tok := &Token{ExpiresAt: exp, NotBefore: nbf, IssuedAt: iat}
		var m decisionMemo
		lifetimeOK := maxLifetime <= 0 || (!iat.IsZero() && exp.Sub(iat) <= maxLifetime)
		made := m.setTimes(tok, leeway, maxLifetime)
		require.Equal(t, lifetimeOK, made, "case %d: setTimes refuses exactly what the lifetime bound refuses", i)
		if !made {
			continue
		}
		nows := []time.Time{base, time.Unix(maxNumericDate, 0), time.Unix(-300*365*24*3600, 0), {}}
		for _, at := range []time.Time{exp.Add(leeway), nbf.Add(-leeway), iat.Add(-leeway)} {
			nows = append(nows, at.Add(-1), at, at.Add(1))
		}
		for _, now := range nows {
			full := checkTokenTimes(exp, nbf, iat, now, leeway, maxLifetime) == nil
			memo := m.valid(now)
			if memo {
				assert.True(t, full, "case %d: valid at %v where checkTokenTimes refuses (exp %v nbf %v iat %v leeway %v)", i, now, exp, nbf, iat, leeway)
			}
			if s := now.Unix(); full && s >= minNanoSec && s <= maxNanoSec {
				assert.True(t, memo, "case %d: checkTokenTimes passes at %v, valid refuses (exp %v nbf %v iat %v leeway %v)", i, now, exp, nbf, iat, leeway)
			}
		}
	}
}

// TestMemoEachCheckAlone makes each check of a memo answer fail on its own, the others
// passing, and asserts that the memo does not answer and that the request is answered as a
// verifier without token cache answers it: the token (another with the same claims), the
// request (another session name), the registry (a write in the role's account), the keys
// (the issuer's key set replaced, by a refresh after a rotation), exp (the clock past it
// and the leeway), nbf and iat (the clock stepped back before them, each token lacking the
// other claim or having it early, the key set fetched before).
func TestMemoEachCheckAlone(t *testing.T) {
	long := func(o *jwks.Options) { o.MinTTL = 4 * time.Hour } // keys fresh for 3 hours
	type setup struct {
		claims func(c map[string]any, now int64) // edits the token's claims (minted at now)
		warp   time.Duration                     // the clock moves before the memo is made
	}
	cases := map[string]struct {
		setup
		breakIt func(t *testing.T, w *memoWorld, req *Request) *Request
	}{
		"token": {breakIt: func(t *testing.T, w *memoWorld, req *Request) *Request {
			c := w.iss[0].Claims(irsaSub, "sts.amazonaws.com")
			c["jti"] = "other"
			r := *req
			r.WebIdentityToken = w.iss[0].MustMint(t, c, testissuer.MintOptions{})
			return &r
		}},
		"request": {breakIt: func(_ *testing.T, _ *memoWorld, req *Request) *Request { return session(req, "s-two") }},
		"registry": {breakIt: func(t *testing.T, w *memoWorld, req *Request) *Request {
			_, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "unrelated", TrustPolicyDocument: advTrust(w.iss[0], acctA, "")})
			require.NoError(t, err)
			return req
		}},
		"keys": {breakIt: func(t *testing.T, w *memoWorld, req *Request) *Request {
			_, err := w.iss[0].AddKey("ES256") // another key set
			require.NoError(t, err)
			w.clk.add(3*time.Hour + time.Second) // past the refresh point, before exp + leeway
			refreshKeys(t, w, req)
			return req
		}, setup: setup{claims: func(c map[string]any, now int64) { c["exp"] = now + 4*3600 }}},
		"exp": {breakIt: func(_ *testing.T, w *memoWorld, req *Request) *Request {
			w.clk.add(10*time.Minute + DefaultLeeway + time.Second)
			return req
		}, setup: setup{claims: func(c map[string]any, now int64) { c["exp"] = now + 600 }}},
		"nbf": {breakIt: func(_ *testing.T, w *memoWorld, req *Request) *Request {
			w.clk.add(-DefaultLeeway - 2*time.Second)
			return req
		}, setup: setup{claims: func(c map[string]any, now int64) { c["nbf"] = now + 1800 }, warp: 1800 * time.Second}},
		"iat": {breakIt: func(_ *testing.T, w *memoWorld, req *Request) *Request {
			w.clk.add(-DefaultLeeway - 2*time.Second)
			return req
		}, setup: setup{claims: func(c map[string]any, now int64) { c["iat"] = now + 1800; delete(c, "nbf") }, warp: 1800 * time.Second}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newAdvWorld(t, advWorldOptions{cache: long})
			req, _ := advTarget(t, w, advTrust(w.iss[0], acctA, ""), nil)
			w.compare(t, "keys fetched", req) // at the start: a step back stays after the fetch
			iss := w.iss[0]
			c := iss.Claims(irsaSub, "sts.amazonaws.com")
			if tc.claims != nil {
				tc.claims(c, w.clk.now().Unix())
			}
			req.WebIdentityToken = iss.MustMint(t, c, testissuer.MintOptions{})
			w.clk.add(tc.warp)
			for i := range 2 {
				_, err := w.compare(t, "warm "+strconv.Itoa(i), req)
				require.NoError(t, err)
			}
			memo, err := w.compare(t, "memoised", req)
			require.NoError(t, err)
			require.True(t, memo, "the memo answers before the change")
			r := tc.breakIt(t, w, req)
			memo, _ = w.compare(t, "after the change", r)
			assert.False(t, memo, "the memo does not answer once its %s check fails", name)
		})
	}
}
