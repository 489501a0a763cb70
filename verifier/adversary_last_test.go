package verifier

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
)

// TestAdversaryLastParseARN: the word scan against the one-character definition on ARNs
// built from the bytes at a word's edges (every control, DEL, colon, high bytes, truncated and
// overlong UTF-8, surrogates) at random offsets, of lengths around 8-byte multiples and the
// 20/2048 bounds; and through AssumeRoleWithWebIdentity, whose refusal must be ReasonRoleARN
// exactly when the definition refuses.
func TestAdversaryLastParseARN(t *testing.T) {
	alphabet := []string{":", "::", "\x00", "\x01", "\x08", "\x09", "\x0a", "\x0d", "\x1f", "\x20", "\x7e", "\x7f",
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2\x80", "\xdf\xbf", "\xe0\x80\x80", "\xe0\xa0\x80", "\xed\xa0\x80",
		"\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x90\x80\x80", "\xf5", "\xfe", "\xff", "\xe2\x82", "\xf0\x9f\x98", "a", "9", "/", "-"}
	prefixes := []string{"arn:", "arn:aws:iam::111122223333:role/", "arn:a:b::1:r", "arn:aws-us-gov:iam::123456789012:", "arn::", "ARN:", "arn"}
	rng := rand.New(rand.NewPCG(61, 62))
	var cases []string
	for _, n := range []int{19, 20, 21, 23, 24, 25, 2040, 2047, 2048, 2049} {
		base := "arn:aws:iam::111122223333:role/"
		cases = append(cases, base+strings.Repeat("x", max(n-len(base), 0)))
		cases = append(cases, base+strings.Repeat("x", max(n-len(base)-1, 0))+"\x7f")
		cases = append(cases, base+strings.Repeat("é", max(n-len(base), 0)/2))
	}
	for range 60000 {
		var b strings.Builder
		b.WriteString(prefixes[rng.IntN(len(prefixes))])
		target := rng.IntN(70)
		if rng.IntN(50) == 0 {
			target = 2030 + rng.IntN(30)
		}
		for b.Len() < target {
			if rng.IntN(4) == 0 {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			} else {
				b.WriteString(strings.Repeat("abcdefgh", 2)[:1+rng.IntN(16)])
			}
		}
		cases = append(cases, b.String())
	}
	valid := 0
	for _, c := range cases {
		p, a, ok := parseARN(c)
		rp, ra, rok := refParseARN(c)
		if ok != rok || p != rp || a != ra {
			t.Fatalf("parseARN(%q) = %q, %q, %v; the definition %q, %q, %v", c, p, a, ok, rp, ra, rok)
		}
		if ok {
			valid++
		}
		// Sub-slices of a larger buffer: the word reads must not look past the string.
		buf := c + ":::::\x00"
		p2, a2, ok2 := parseARN(buf[:len(c)])
		if ok2 != ok || p2 != p || a2 != a {
			t.Fatalf("parseARN of %q inside a larger buffer differs", c)
		}
	}
	assert.Greater(t, valid, 1000)

	// Through the verifier: checkRequest's verdict on RoleARN is the definition's.
	w, req, _ := memoTarget(t, "basic", nil)
	for i, c := range cases {
		if i%200 != 0 {
			continue
		}
		r := *req
		r.RoleARN = c
		_, err := w.plain.AssumeRoleWithWebIdentity(context.Background(), &r)
		_, _, rok := refParseARN(c)
		assert.Equal(t, !rok, errors.Is(err, ReasonRoleARN), "%q: %v", c, err)
	}
}

// advlastWorld is a registry, key cache and verifiers (memo on, and no token cache) with one
// issuer, a provider with client IDs ids and a role that trusts it on sub alone.
func advlastWorld(t *testing.T, ids ...string) (*memoWorld, *testissuer.Issuer, string) {
	t.Helper()
	w := newMemoWorld(t, 1, nil)
	iss := w.iss[0]
	_, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: iss.URL(), ClientIDs: ids})
	require.NoError(t, err)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + iss.ProviderARN(acctA) +
		`"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"` + iss.KeyPrefix() + `:sub":"` + irsaSub + `"}}}]}`
	r, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "advlast", TrustPolicyDocument: doc})
	require.NoError(t, err)
	return w, iss, r.ARN
}

// TestAdversaryLastAudArrays: aud arrays (escapes, empty strings, non-ASCII, many values, the
// accepted ID anywhere) give the Token.Audience the JSON says and the Result the client ID that
// admitted it, from Verify, the full path, the token cache and the memo alike.
func TestAdversaryLastAudArrays(t *testing.T) {
	w, iss, arn := advlastWorld(t, "sts.amazonaws.com", `we"ird\`, "é")
	for _, raw := range []string{
		`["sts.amazonaws.com"]`,
		`["x","sts.amazonaws.com"]`,
		`["","sts.amazonaws.com",""]`,
		`["sts.amazonaws.com","\u0073ts","a\/b","\"","\\","\ud83d\ude00","\u00e9"]`,
		`["we\"ird\\"]`,
		`["\u00e9"]`,
		`["é"]`,
		`["a","b","c","d","e","f","g","h","i","j","k","sts.amazonaws.com"]`,
		`["` + strings.Repeat("z", 300) + `","sts.amazonaws.com","` + strings.Repeat("\\n", 100) + `"]`,
	} {
		var want []string
		require.NoError(t, json.Unmarshal([]byte(raw), &want))
		cl := iss.Claims(irsaSub)
		cl["aud"] = json.RawMessage(raw)
		cl["amr"] = json.RawMessage(raw)
		tok := iss.MustMint(t, cl, testissuer.MintOptions{})
		ctx := context.Background()
		for range 2 { // full path, then cache
			vt, err := w.memo.VerifyFor(ctx, &VerifyRequest{WebIdentityToken: tok, Account: acctA})
			require.NoError(t, err, raw)
			assert.Equal(t, want, vt.Audience, raw)
		}
		req := &Request{RoleARN: arn, RoleSessionName: "s-aud", WebIdentityToken: tok}
		for i := range 3 { // full path, token cache, memo
			for _, v := range []*Verifier{w.memo, w.plain} {
				res, err := v.AssumeRoleWithWebIdentity(ctx, req)
				require.NoError(t, err, "%s round %d", raw, i)
				assert.Equal(t, want, res.Token.Audience, raw)
				assert.Contains(t, []string{"sts.amazonaws.com", `we"ird\`, "é"}, res.Audience)
				assert.Contains(t, want, res.Audience)
				var a Answer
				res2, err := v.AssumeRoleWithWebIdentityInto(ctx, req, &a)
				require.NoError(t, err)
				assert.Equal(t, want, res2.Token.Audience)
			}
		}
	}
}

// deepResult is a Result and its Token as values with slices of their own, for comparing after
// edits.
type deepResult struct {
	res Result
	tok Token
}

func deepOf(r *Result) deepResult {
	d := deepResult{res: *r}
	d.res.Token = nil
	d.res.SessionTags = append([]Tag(nil), r.SessionTags...)
	d.res.TransitiveTagKeys = append([]string(nil), r.TransitiveTagKeys...)
	if r.Token != nil {
		d.tok = *r.Token
		d.tok.Audience = append([]string(nil), r.Token.Audience...)
		d.tok.Claims = strings.Clone(r.Token.Claims)
	}
	return d
}

// vandalise edits every field of r and its Token that a caller can reach.
func vandalise(r *Result) {
	for i := range r.SessionTags {
		r.SessionTags[i] = Tag{Key: "vandal", Value: "vandal"}
	}
	for i := range r.TransitiveTagKeys {
		r.TransitiveTagKeys[i] = "vandal"
	}
	if t := r.Token; t != nil {
		for i := range t.Audience {
			t.Audience[i] = "vandal"
		}
		t.Audience = append(t.Audience, "vandal", "vandal")
		t.Subject, t.Issuer, t.KeyID, t.Algorithm, t.AuthorizedParty = "vandal", "vandal", "vandal", "vandal", "vandal"
		t.Claims = `{"sub":"vandal"}`
		*t = Token{Subject: "vandal"}
	}
	*r = Result{Subject: "vandal", RoleARN: "vandal"}
}

// TestAdversaryLastResultBlockIsolation: for payloads at each block's room and either side of
// it, a caller that edits everything it got reaches nothing: not the next caller (full path,
// token cache, memo), not the Verify path, not the payload's bytes (which stay the token's
// payload after collections); concurrently under -race.
func TestAdversaryLastResultBlockIsolation(t *testing.T) {
	w, iss, arn := advlastWorld(t, "sts.amazonaws.com")
	ctx := context.Background()
	rooms := []int{payRoom1024, payRoom1280, payRoom1536, payRoom2048, payRoom3072, payRoom4096}
	var sizes []int
	for _, r := range rooms {
		sizes = append(sizes, r-1, r, r+1)
	}
	mint := func(size int) (string, string) {
		pad := 0
		for range 8 {
			cl := iss.Claims(irsaSub, "sts.amazonaws.com", "second")
			cl["pad"] = strings.Repeat("p", pad)
			cl["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"team": []string{"a"}, "env": []string{"prod"}}, "transitive_tag_keys": []string{"team"}}
			tok := iss.MustMint(t, cl, testissuer.MintOptions{})
			seg := strings.Split(tok, ".")[1]
			pay, err := base64.RawURLEncoding.DecodeString(seg)
			require.NoError(t, err)
			if len(pay) == size {
				return tok, string(pay)
			}
			pad += size - len(pay)
			require.GreaterOrEqual(t, pad, 0, "payload too long for size %d", size)
		}
		t.Fatalf("no payload of %d bytes", size)
		return "", ""
	}
	for _, size := range sizes {
		tok, pay := mint(size)
		req := &Request{RoleARN: arn, RoleSessionName: "s-block", WebIdentityToken: tok}
		first, err := w.memo.AssumeRoleWithWebIdentity(ctx, req)
		require.NoError(t, err, size)
		want := deepOf(first)
		require.Equal(t, pay, first.Token.Claims, "size %d: the Claims are the payload", size)
		require.Len(t, first.SessionTags, 2)
		vandalise(first)
		for round := range 4 { // token cache, memo, and again
			for _, v := range []*Verifier{w.memo, w.plain} {
				got, err := v.AssumeRoleWithWebIdentity(ctx, req)
				require.NoError(t, err)
				d := deepOf(got)
				assert.Equal(t, want, d, "size %d round %d: an earlier caller's edits reached this answer", size, round)
				vandalise(got)
			}
			vt, err := w.memo.VerifyFor(ctx, &VerifyRequest{WebIdentityToken: tok, Account: acctA})
			require.NoError(t, err)
			assert.Equal(t, want.tok, *vt, "size %d: Verify", size)
			runtime.GC()
		}
		// Concurrent callers, each editing its own answer at once.
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 30 {
					var got *Result
					var err error
					if (g+i)%3 == 0 {
						var a Answer
						got, err = w.memo.AssumeRoleWithWebIdentityInto(ctx, req, &a)
					} else {
						got, err = w.memo.AssumeRoleWithWebIdentity(ctx, req)
					}
					if err != nil {
						t.Error(err)
						return
					}
					if d := deepOf(got); !reflect.DeepEqual(want, d) {
						t.Errorf("size %d: concurrent answer differs: %+v", size, d)
						return
					}
					vandalise(got)
				}
			}()
		}
		wg.Wait()
	}
}

// TestAdversaryLastPoolZeroAfterEveryOutcome: after each kind of outcome (allowed, denied by the
// policy with a Result, unknown role, unknown audience, bad signature, expired, refused
// request) the evaluation back in the pool is zero.
func TestAdversaryLastPoolZeroAfterEveryOutcome(t *testing.T) {
	w, req, _ := memoTarget(t, "deny", nil)
	w2, req2, _ := memoTarget(t, "tags", nil)
	iss := w.iss[0]
	badAud := *req
	badAud.WebIdentityToken = iss.MustMint(t, iss.Claims(irsaSub, "someone-else"), testissuer.MintOptions{})
	noRole := *req
	noRole.RoleARN = "arn:aws:iam::" + acctA + ":role/nobody"
	badSig := *req
	badSig.WebIdentityToken = req.WebIdentityToken[:len(req.WebIdentityToken)-2] + "AA"
	badName := *req
	badName.RoleSessionName = "!"
	type call struct {
		w   *memoWorld
		req *Request
	}
	for _, c := range []call{{w, req}, {w, &badAud}, {w, &noRole}, {w, &badSig}, {w, &badName}, {w2, req2}} {
		for _, v := range []*Verifier{c.w.memo, c.w.plain} {
			for range 3 {
				_, _ = v.AssumeRoleWithWebIdentity(context.Background(), c.req)
				ev := evalPool.Get().(*evaluation)
				assert.True(t, reflect.ValueOf(ev).Elem().IsZero(), "a pooled evaluation is zero")
				evalPool.Put(ev)
				var a Answer
				_, _ = v.AssumeRoleWithWebIdentityInto(context.Background(), c.req, &a)
				ev = evalPool.Get().(*evaluation)
				assert.True(t, reflect.ValueOf(ev).Elem().IsZero(), "a pooled evaluation is zero (Into)")
				evalPool.Put(ev)
			}
		}
	}
}
