package verifier

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// intoCases are requests of every shape an answer takes, in one memo world: from the decision
// memo with session tags, a token of three audiences (more than an Answer holds inline), a
// token-cache hit without memo (a new session each time), a policy denial (a Result and an
// error), a refusal without Result, and the full path (a fresh token each time).
type intoCases struct {
	w     *memoWorld
	reqs  map[string]func() *Request
	order []string
}

func newIntoCases(t *testing.T) *intoCases {
	t.Helper()
	w, tagged, _ := memoTarget(t, "tags", nil)
	iss := w.iss[0]
	deny, err := w.reg.CreateRole(&iam.Role{Account: acctA, Name: "deny", TrustPolicyDocument: memoDoc(iss, acctA, "deny")})
	require.NoError(t, err)
	cl := iss.Claims(irsaSub, "sts.amazonaws.com")
	cl["aud"] = []string{"other-1", "sts.amazonaws.com", "other-2"}
	threeAud := &Request{RoleARN: tagged.RoleARN, RoleSessionName: "s-one", WebIdentityToken: iss.MustMint(t, cl, testissuer.MintOptions{})}
	plainTok := iss.MustMint(t, iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{})
	sessions := 0
	c := &intoCases{w: w, reqs: map[string]func() *Request{
		"memo, tags": func() *Request { return tagged },
		"memo, three audiences": func() *Request {
			return threeAud
		},
		"cache hit, new session": func() *Request {
			sessions++
			r := *tagged
			r.RoleSessionName = fmt.Sprintf("s-%d", sessions)
			return &r
		},
		"denied": func() *Request {
			return &Request{RoleARN: deny.ARN, RoleSessionName: "s-one", WebIdentityToken: plainTok}
		},
		"refused": func() *Request {
			r := *tagged
			r.RoleSessionName = "bad name!"
			return &r
		},
		"full path, fresh token": func() *Request {
			return &Request{RoleARN: tagged.RoleARN, RoleSessionName: "s-one", WebIdentityToken: iss.MustMint(t, iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{})}
		},
	}}
	c.order = []string{"memo, tags", "refused", "memo, three audiences", "denied", "cache hit, new session", "memo, tags", "full path, fresh token", "memo, three audiences"}
	return c
}

// Into answers as AssumeRoleWithWebIdentity (and as the verifier without token cache) for
// every shape, through one Answer reused across all of them in turn: nothing of a previous
// answer is left in the next, whatever their shapes.
func TestAssumeIntoAnswersAsAssume(t *testing.T) {
	c := newIntoCases(t)
	ctx := context.Background()
	var a Answer
	for round := range 3 {
		for _, name := range c.order {
			req := c.reqs[name]()
			step := fmt.Sprintf("round %d, %s", round, name)
			want, werr := c.w.plain.AssumeRoleWithWebIdentity(ctx, req)
			own, oerr := c.w.memo.AssumeRoleWithWebIdentity(ctx, req)
			got, gerr := c.w.memo.AssumeRoleWithWebIdentityInto(ctx, req, &a)
			sameOutcome(t, step+" (Into)", got, gerr, want, werr)
			sameOutcome(t, step+" (method)", own, oerr, want, werr)
			if got != nil {
				assert.Same(t, &a.c.res, got, step)
			} else {
				assert.Equal(t, resultCopy{}, a.c, "%s: the refused call keeps nothing of the previous one", step)
			}
		}
	}
	assert.Positive(t, c.w.memo.tokens.memoHits.Load(), "the memo answered")
}

// The Result Into fills is the caller's: editing it, its Token and its slices reaches neither
// later answers (from the memo, from the token cache) nor other callers; the next use of the
// Answer overwrites the edits.
func TestAssumeIntoResultIsTheCallers(t *testing.T) {
	c := newIntoCases(t)
	ctx := context.Background()
	for _, name := range []string{"memo, tags", "memo, three audiences"} {
		req := c.reqs[name]()
		want, err := c.w.plain.AssumeRoleWithWebIdentity(ctx, req)
		require.NoError(t, err, name)
		var a Answer
		for i := range 4 {
			got, err := c.w.memo.AssumeRoleWithWebIdentityInto(ctx, req, &a)
			require.NoError(t, err, name)
			assert.Equal(t, want, got, "%s: call %d", name, i)
			got.Subject, got.Token.Subject = "edited", "edited"
			for j := range got.Token.Audience {
				got.Token.Audience[j] = "edited"
			}
			for j := range got.SessionTags {
				got.SessionTags[j].Value = "edited"
			}
			for j := range got.TransitiveTagKeys {
				got.TransitiveTagKeys[j] = "edited"
			}
			other, err := c.w.memo.AssumeRoleWithWebIdentity(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, want, other, "%s: another caller after edit %d", name, i)
			other2 := *req
			other2.RoleSessionName = fmt.Sprintf("s-edit-%d", i)
			hit, err := c.w.memo.AssumeRoleWithWebIdentity(ctx, &other2)
			require.NoError(t, err)
			assert.Equal(t, want.Token, hit.Token, "%s: a token-cache hit after edit %d", name, i)
			_, err = c.w.memo.AssumeRoleWithWebIdentity(ctx, req) // the memo again, for the next call
			require.NoError(t, err)
		}
	}
}

// Callers with Answers of their own, concurrently, for requests that share tokens and memos:
// each gets exactly its answer (run with -race: the memo is read, never written, by them).
func TestAssumeIntoConcurrent(t *testing.T) {
	c := newIntoCases(t)
	ctx := context.Background()
	names := []string{"memo, tags", "memo, three audiences", "denied", "refused"}
	reqs := make([]*Request, len(names))
	wants := make([]*Result, len(names))
	werrs := make([]error, len(names))
	for i, name := range names {
		reqs[i] = c.reqs[name]()
		wants[i], werrs[i] = c.w.plain.AssumeRoleWithWebIdentity(ctx, reqs[i])
		for range 2 { // the memo
			_, _ = c.w.memo.AssumeRoleWithWebIdentity(ctx, reqs[i])
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var a Answer
			for i := range 200 {
				k := (g + i) % len(reqs)
				got, err := c.w.memo.AssumeRoleWithWebIdentityInto(ctx, reqs[k], &a)
				if !sameOutcome(t, fmt.Sprintf("goroutine %d, call %d, %s", g, i, names[k]), got, err, wants[k], werrs[k]) {
					return
				}
				if got != nil && got.Token != nil && len(got.Token.Audience) > 0 {
					got.Token.Audience[0] = "edited" // reaches no other goroutine
				}
			}
		})
	}
	wg.Wait()
}

// A nil Answer allocates: Into is then AssumeRoleWithWebIdentity.
func TestAssumeIntoNilAnswer(t *testing.T) {
	c := newIntoCases(t)
	req := c.reqs["memo, tags"]()
	want, err := c.w.plain.AssumeRoleWithWebIdentity(context.Background(), req)
	require.NoError(t, err)
	for range 3 {
		got, err := c.w.memo.AssumeRoleWithWebIdentityInto(context.Background(), req, nil)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

// BenchmarkAssumeInto is a decision-memo answer in cache (one token), by
// AssumeRoleWithWebIdentity and by AssumeRoleWithWebIdentityInto with a recycled Answer.
func BenchmarkAssumeInto(b *testing.B) {
	iss := testissuer.Start(b, testissuer.Options{Path: "/id/INTO", Algorithms: []string{"ES256"}})
	reg := iam.New(iam.Options{AllowURLPort: true})
	_, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
	require.NoError(b, err)
	r, err := reg.CreateRole(&iam.Role{Account: acctA, Name: "app", TrustPolicyDocument: memoDoc(iss, acctA, "basic")})
	require.NoError(b, err)
	v, err := New(Options{ProviderSource: reg, Roles: reg, JWKS: jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = v.Close() })
	req := &Request{RoleARN: r.ARN, RoleSessionName: "s-one", WebIdentityToken: iss.MustMint(b, iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{})}
	ctx := context.Background()
	for range 3 {
		_, err := v.AssumeRoleWithWebIdentity(ctx, req)
		require.NoError(b, err)
	}
	b.Run("method", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.AssumeRoleWithWebIdentity(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("into", func(b *testing.B) {
		b.ReportAllocs()
		var a Answer
		for b.Loop() {
			if _, err := v.AssumeRoleWithWebIdentityInto(ctx, req, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
