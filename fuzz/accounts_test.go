package fuzz

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/verifier"
)

// The accounts world: the fuzz world's issuers and key cache behind an iam.Registry of three
// accounts. A registers the EKS issuer and GitHub with the STS client ID; B registers the EKS
// issuer with client ID "client-b" only; C registers nothing. Each account has an IRSA role
// for the EKS service account, trusting its own provider (C's names A's); B also has a role
// that names A's provider, which can never match.
const (
	fzAcctA   = "111122223333"
	fzAcctB   = "444455556666"
	fzAcctC   = "777788889999"
	fzClientB = "client-b"
)

type accountsWorld struct {
	reg            *iam.Registry
	plain, cached  *verifier.Verifier
	roles          []fzRole
	providerOfAcct map[string]string // account -> its EKS provider ARN
}

// fzRole is a role the target may pick, with what an acceptance requires of the token.
type fzRole struct {
	arn, account string
	aud          string // the client ID the token must carry
	never        bool   // no token may ever assume it
}

var (
	accountsOnce  sync.Once
	theAccounts   *accountsWorld
	accountsError error
)

func getAccounts(tb testing.TB) (*world, *accountsWorld) {
	tb.Helper()
	w := getWorld(tb)
	accountsOnce.Do(func() { theAccounts, accountsError = buildAccounts(w) })
	if accountsError != nil {
		tb.Fatalf("accounts world: %v", accountsError)
	}
	return w, theAccounts
}

func buildAccounts(w *world) (*accountsWorld, error) {
	reg := iam.New(iam.Options{})
	a := &accountsWorld{reg: reg, providerOfAcct: map[string]string{}}
	for _, p := range []*iam.OIDCProvider{
		{Account: fzAcctA, URL: eksURL, ClientIDs: []string{clientID}},
		{Account: fzAcctA, URL: githubURL, ClientIDs: []string{clientID}},
		{Account: fzAcctB, URL: eksURL, ClientIDs: []string{fzClientB}},
	} {
		stored, err := reg.CreateOIDCProvider(p)
		if err != nil {
			return nil, err
		}
		if p.URL == eksURL {
			a.providerOfAcct[p.Account] = stored.ARN
		}
	}
	irsa := func(providerARN, aud string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},` +
			`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` +
			eksPrefix + `:aud":"` + aud + `","` + eksPrefix + `:sub":"` + eksSubject + `"}}}]}`
	}
	for _, r := range []struct {
		account, name, provider, aud string
		never                        bool
	}{
		{fzAcctA, "eks-app", fzAcctA, clientID, false},
		{fzAcctB, "eks-app", fzAcctB, fzClientB, false},
		{fzAcctB, "names-a", fzAcctA, clientID, true},
		{fzAcctC, "eks-app", fzAcctA, clientID, true},
	} {
		created, err := reg.CreateRole(&iam.Role{Account: r.account, Name: r.name, TrustPolicyDocument: irsa(eksARNFor(r.provider), r.aud)})
		if err != nil {
			return nil, err
		}
		a.roles = append(a.roles, fzRole{arn: created.ARN, account: r.account, aud: r.aud, never: r.never})
	}
	for _, size := range []int{-1, 0} {
		v, err := verifier.New(verifier.Options{ProviderSource: reg, Roles: reg, Keys: w.cache, Now: clock, TokenCacheSize: size})
		if err != nil {
			return nil, err
		}
		if size < 0 {
			a.plain = v
		} else {
			a.cached = v
		}
	}
	return a, nil
}

func eksARNFor(account string) string {
	return strings.Replace(eksARN, fzAcctA, account, 1)
}

// FuzzAccounts mutates tokens as FuzzToken does and presents them to a role of one of three
// accounts through a registry-backed verifier. Invariants: an acceptance needs a genuine token
// (the single-tenant verifier of the world verifies it, or refuses it only for its audience,
// which is checked after the signature), of the EKS issuer, for the service account, with the
// client ID of the role's own account's provider, and names that provider as principal; a
// role of an account without a provider, or naming another account's provider, is never
// assumed, and an account without a provider for the token's issuer refuses it before any key
// is looked at; the token cache never changes a verdict; VerifyFor agrees with
// AssumeRoleWithWebIdentity on the token.
func FuzzAccounts(f *testing.F) {
	w, _ := getAccounts(f)
	for _, sym := range sortedKeys(w.minted) {
		h, p, s := splitDecoded(f, w.minted[sym])
		for pick := range uint8(4) {
			f.Add(h, p, s, uint8(sigAsGiven), pick)
		}
		// The same claims for B's client ID, freshly signed by the key.
		pb := []byte(strings.Replace(string(p), `"aud":["`+clientID+`"]`, `"aud":["`+fzClientB+`"]`, 1))
		f.Add(h, pb, []byte(nil), modeFor(sigSign, sym), uint8(1))
		f.Add(h, pb, []byte(nil), modeFor(sigSign, sym), uint8(0))
	}
	f.Fuzz(func(t *testing.T, header, payload, sig []byte, mode, pick uint8) {
		w, a := getAccounts(t)
		input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
		token := input + "." + b64.EncodeToString(resign(t, w, input, sig, mode))
		examineAccounts(t, w, a, token, a.roles[int(pick)%len(a.roles)])
	})
}

func examineAccounts(t *testing.T, w *world, a *accountsWorld, token string, role fzRole) {
	ctx := context.Background()
	req := &verifier.Request{RoleARN: role.arn, RoleSessionName: "fuzz-session", WebIdentityToken: token}
	res, err := a.plain.AssumeRoleWithWebIdentity(ctx, req)
	var resTok *verifier.Token
	if err == nil {
		resTok = res.Token
	}
	got := verdict(t, resTok, err)

	// The token cache never changes the verdict (asked twice: the second may be a hit).
	for i := range 2 {
		res2, err2 := a.cached.AssumeRoleWithWebIdentity(ctx, req)
		var tok2 *verifier.Token
		if err2 == nil {
			tok2 = res2.Token
		}
		if again := verdict(t, tok2, err2); again != got {
			t.Fatalf("cached verifier, call %d: %v; uncached: %v\nrole %s token %q", i+1, again, got, role.arn, token)
		}
	}

	// VerifyFor in the role's account agrees on the token (a policy refusal is after it).
	vtok, verr := a.plain.VerifyFor(ctx, &verifier.VerifyRequest{Account: role.account, WebIdentityToken: token})
	vf := verdict(t, vtok, verr)
	switch {
	case got.ok && !vf.ok:
		t.Fatalf("assumed, but VerifyFor refuses: %v\ntoken %q", vf, token)
	case !got.ok && !isPolicyReason(got.reason) && vf != got:
		t.Fatalf("AssumeRoleWithWebIdentity %v, VerifyFor %v\ntoken %q", got, vf, token)
	}

	if !got.ok {
		_, hasProvider := a.providerOfAcct[role.account]
		if !hasProvider && isKeyOrLaterReason(got.reason) {
			t.Fatalf("an account without a provider got as far as %v\ntoken %q", got, token)
		}
		return
	}
	if role.never {
		t.Fatalf("ASSUMED a role that nothing may assume: %s\ntoken %q", role.arn, token)
	}
	single, serr := w.plain.Verify(ctx, token)
	sv := verdict(t, single, serr)
	if !sv.ok && sv.reason != verifier.ReasonAudience {
		t.Fatalf("ASSUMED a token the single-tenant verifier refuses as %v\ntoken %q", sv, token)
	}
	tok := res.Token
	switch {
	case tok.Issuer != eksURL:
		t.Fatalf("ASSUMED with issuer %q", tok.Issuer)
	case tok.Subject != eksSubject:
		t.Fatalf("ASSUMED with sub %q", tok.Subject)
	case !slices.Contains(tok.Audience, role.aud):
		t.Fatalf("ASSUMED %s with aud %q (needs %q)", role.arn, tok.Audience, role.aud)
	case res.ProviderPrincipal != a.providerOfAcct[role.account]:
		t.Fatalf("ASSUMED %s through %s, not its account's provider", role.arn, res.ProviderPrincipal)
	}
}

// isPolicyReason: refusals that come after the token was verified.
func isPolicyReason(r verifier.Reason) bool {
	switch r {
	case verifier.ReasonDenied, verifier.ReasonTagSessionDenied, verifier.ReasonSourceIdentityDenied,
		verifier.ReasonSessionTags, verifier.ReasonSourceIdentity, verifier.ReasonDuration, verifier.ReasonUnknownRole:
		return true
	}
	return false
}

// isKeyOrLaterReason: refusals that need the provider's keys or come after them.
func isKeyOrLaterReason(r verifier.Reason) bool {
	switch r {
	case verifier.ReasonUnknownKey, verifier.ReasonKeyMismatch, verifier.ReasonBadSignature, verifier.ReasonKidRequired,
		verifier.ReasonKeysUnavailable, verifier.ReasonAudience, verifier.ReasonThumbprint, verifier.ReasonExpired,
		verifier.ReasonNotYetValid, verifier.ReasonIssuedInFuture, verifier.ReasonLifetime:
		return true
	}
	return isPolicyReason(r)
}
