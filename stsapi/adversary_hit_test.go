package stsapi

// Adversary tests of the handler's recycled verifier.Answers (the token-cache hit rework):
// each tries to make the recycling handler answer otherwise than a handler that calls
// AssumeRoleWithWebIdentity, in the caller's favour, or to leak one request's answer into
// another's. A test FAILS when the attack succeeds. "// FINDING:" marks the attacks that
// succeed (the tests that fail), "// HOLDS:" the ones the design withstands.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/verifier"
)

// advHitWorld is one issuer, a registry with a provider of it in two accounts and a role
// "app" in each (trusting sub testSubject), and a verifier over the registry (so with the
// decision memo and the token cache).
type advHitWorld struct {
	iss            *testissuer.Issuer
	reg            *iam.Registry
	v              *verifier.Verifier
	roleA, roleB   string
	acctA, acctB   string
	tokenA, tokenB string // subjects "…:a" and "…:b"
}

func newAdvHitWorld(t *testing.T) *advHitWorld {
	t.Helper()
	w := &advHitWorld{
		iss:   testissuer.Start(t, testissuer.Options{Path: "/id/ADVHIT", Algorithms: []string{"ES256"}, Now: fixedClock}),
		reg:   iam.New(iam.Options{AllowURLPort: true}),
		acctA: testAccount, acctB: "444455556666",
	}
	for _, acct := range []string{w.acctA, w.acctB} {
		_, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acct, URL: w.iss.URL(), ClientIDs: []string{testAudience}})
		require.NoError(t, err)
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Federated": w.iss.ProviderARN(acct)},
			"Action": []string{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"},
			"Condition": map[string]any{"StringLike": map[string]any{
				w.iss.KeyPrefix() + ":sub": "system:serviceaccount:adv:*"}},
		}}})
		require.NoError(t, err)
		r, err := w.reg.CreateRole(&iam.Role{Account: acct, Name: "app", TrustPolicyDocument: string(doc)})
		require.NoError(t, err)
		if acct == w.acctA {
			w.roleA = r.ARN
		} else {
			w.roleB = r.ARN
		}
	}
	var err error
	w.v, err = verifier.New(verifier.Options{ProviderSource: w.reg, Roles: w.reg, Now: fixedClock,
		JWKS: jwks.Options{HTTPClient: w.iss.Client(), AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.v.Close() })
	w.tokenA = w.iss.MustMint(t, w.iss.Claims("system:serviceaccount:adv:a", testAudience), testissuer.MintOptions{})
	w.tokenB = w.iss.MustMint(t, w.iss.Claims("system:serviceaccount:adv:b", testAudience), testissuer.MintOptions{})
	return w
}

// serve starts a handler deciding with d and issuing with is.
func serve(t *testing.T, d Decider, is CredentialIssuer) *httptest.Server {
	t.Helper()
	h, err := NewHandler(Options{Verifier: d, Issuer: is, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// suspendingDecider is how an embedder may put a switch of its own in front of the verifier:
// it embeds *verifier.Verifier (for Verify, VerifyFor, Close, Prefetch) and overrides the one
// Decider method to refuse a suspended account before the verifier decides.
type suspendingDecider struct {
	*verifier.Verifier
	mu        sync.Mutex
	suspended map[string]bool // role ARN -> refused
	calls     int
}

func (s *suspendingDecider) AssumeRoleWithWebIdentity(ctx context.Context, req *verifier.Request) (*verifier.Result, error) {
	s.mu.Lock()
	s.calls++
	off := s.suspended[req.RoleARN]
	s.mu.Unlock()
	if off {
		return nil, &verifier.Error{Code: verifier.CodeAccessDenied, Reason: verifier.ReasonDenied, Message: "Tenant suspended."}
	}
	return s.Verifier.AssumeRoleWithWebIdentity(ctx, req)
}

// FINDING: NewHandler switches to the recycling path when Options.Verifier has a method
// AssumeRoleWithWebIdentityInto (h.into, a type assertion to intoDecider). A Decider that
// embeds *verifier.Verifier and overrides AssumeRoleWithWebIdentity — the one method the
// Decider interface names, so the one an embedder overrides to add a rule of its own (a
// suspended tenant, a rate limit, an audit) — inherits AssumeRoleWithWebIdentityInto through
// Go's method promotion, and the handler calls that instead: the override never runs, and
// the suspended tenant gets credentials. It is the same trap as the memo's embedded
// ChangeEpoch (verifier's TestAdvMemoEmbeddedSourceInheritsChangeEpoch), now in stsapi: the
// recycling path should be taken only for *verifier.Verifier itself (a concrete-type check),
// or for a Decider that opts in explicitly. (h-hit's later commit names the recycling path
// in Decider's doc; an embedder who overrides the one method does not know it "has" the
// other, so the doc alone does not close it.)
func TestAdvHitHandlerEmbeddedDeciderOverrideBypassed(t *testing.T) {
	w := newAdvHitWorld(t)
	d := &suspendingDecider{Verifier: w.v, suspended: map[string]bool{w.roleA: true}}
	srv := serve(t, d, &LocalIssuer{Now: fixedClock})
	for i := range 3 { // the first decision, then the cache hit and the memo
		r := do(t, postForm(t, srv.URL, assumeForm(w.roleA, w.tokenA)))
		if assert.NotNil(t, r.err, "request %d: the suspended tenant got credentials", i) {
			assert.Equal(t, string(verifier.CodeAccessDenied), r.err.Error.Code)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	assert.Equal(t, 3, d.calls, "the handler never called the Decider's own AssumeRoleWithWebIdentity")
}

// keepingIssuer is LocalIssuer that keeps the Result pointer of each request (as an
// asynchronous audit queue would) with what the request asked for, to be read later.
type keepingIssuer struct {
	LocalIssuer
	mu   sync.Mutex
	kept []kept
}

type kept struct {
	res           *verifier.Result
	session, role string
}

func (k *keepingIssuer) Issue(ctx context.Context, req *IssueRequest) (*Credentials, error) {
	k.mu.Lock()
	k.kept = append(k.kept, kept{res: req.Result, session: req.Result.RoleSessionName, role: req.Result.RoleARN})
	k.mu.Unlock()
	return k.LocalIssuer.Issue(ctx, req)
}

// FINDING (a contract change, now stated on IssueRequest.Result and in NOTES-hit.md's CHANGELOG
// items; left failing for the lead to judge whether stating it is enough):
// the Result a CredentialIssuer is given lives in a pooled verifier.Answer that the handler
// puts back once the response is written, so that a later request overwrites it. On main its
// doc said only "shared: read it, never modify it", and an issuer that kept the pointer (an
// audit or billing queue drained later, a credential broker that finishes asynchronously)
// read its own request's decision for good. With the recycling handler, the kept Result of
// one request shows another request's session name, subject and role — another tenant's,
// here. Either the handler keeps Answers only for issuers that declare they do not retain,
// or the break is announced where upgraders look (CHANGELOG).
func TestAdvHitHandlerKeptResultRewrittenByLaterRequest(t *testing.T) {
	w := newAdvHitWorld(t)
	ki := &keepingIssuer{LocalIssuer: LocalIssuer{Now: fixedClock}}
	srv := serve(t, w.v, ki)
	for i := range 20 { // sync.Pool drops some Puts under -race: enough rounds to see reuse
		role, tok := w.roleA, w.tokenA
		if i%2 == 1 {
			role, tok = w.roleB, w.tokenB
		}
		f := assumeForm(role, tok)
		f.Set("RoleSessionName", fmt.Sprintf("s-%d", i))
		r := do(t, postForm(t, srv.URL, f))
		require.NotNil(t, r.ok, "%+v", r.err)
	}
	ki.mu.Lock()
	defer ki.mu.Unlock()
	rewritten, tenant := 0, 0
	for _, k := range ki.kept {
		if k.res.RoleSessionName != k.session {
			rewritten++
		}
		if k.res.RoleARN != k.role {
			tenant++
		}
	}
	assert.Zero(t, rewritten, "of %d Results kept by the issuer, %d now show another request's session", len(ki.kept), rewritten)
	assert.Zero(t, tenant, "of %d Results kept by the issuer, %d now show another account's role", len(ki.kept), tenant)
}

// HOLDS: concurrent requests of two tenants (two accounts, two tokens, sessions repeated so
// that the memo, the vouched cache hit and the full path all answer) through the recycling
// handler: every response carries its own request's role, session, subject and provider.
func TestAdvHitHandlerConcurrentTenants(t *testing.T) {
	w := newAdvHitWorld(t)
	var bad sync.Map
	srv := serve(t, w.v, &LocalIssuer{Now: fixedClock})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 30 {
				acct, role, tok, sub := w.acctA, w.roleA, w.tokenA, "system:serviceaccount:adv:a"
				if (g+i)%2 == 1 {
					acct, role, tok, sub = w.acctB, w.roleB, w.tokenB, "system:serviceaccount:adv:b"
				}
				session := fmt.Sprintf("g%d-%d", g, i%4)
				f := assumeForm(role, tok)
				f.Set("RoleSessionName", session)
				r := do(t, postForm(t, srv.URL, f))
				if !assert.NotNil(t, r.ok, "%+v", r.err) {
					return
				}
				res := r.ok.Result
				if res.AssumedRoleUser.Arn != "arn:aws:sts::"+acct+":assumed-role/app/"+session ||
					res.SubjectFromWebIdentityToken != sub || res.Provider != w.iss.ProviderARN(acct) {
					bad.Store(fmt.Sprintf("g%d/%d", g, i), fmt.Sprintf("%+v", res))
				}
			}
		})
	}
	wg.Wait()
	bad.Range(func(k, v any) bool {
		t.Errorf("%v: an answer of another request: %v", k, v)
		return true
	})
}
