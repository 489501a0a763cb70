package verifier

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
)

// Accounts of the multi-account tests: the EKS cross-account case of the AWS EKS user guide
// ("Authenticate to another account with IRSA", option 1): the cluster and its issuer are in
// A; B registers A's issuer as a provider of its own; C registers none.
const (
	acctA = "111122223333"
	acctB = "444455556666"
	acctC = "777788889999"
)

const irsaSub = "system:serviceaccount:payments:api"

// world is a registry-backed verifier against a real TLS issuer, through the default key
// cache.
type world struct {
	iss *testissuer.Issuer
	reg *iam.Registry
	v   *Verifier
}

func newWorld(t *testing.T, edit func(*Options)) *world {
	t.Helper()
	iss := testissuer.Start(t, testissuer.Options{Path: eksPath})
	reg := iam.New(iam.Options{AllowURLPort: true})
	opts := Options{
		ProviderSource: reg,
		Roles:          reg,
		JWKS:           jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true},
	}
	if edit != nil {
		edit(&opts)
	}
	v, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return &world{iss: iss, reg: reg, v: v}
}

// provider registers the issuer in account acct with the client IDs.
func (w *world) provider(t *testing.T, acct string, clientIDs ...string) *iam.OIDCProvider {
	t.Helper()
	p, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acct, URL: w.iss.URL(), ClientIDs: clientIDs})
	require.NoError(t, err)
	return p
}

// irsaDoc is the trust policy eksctl writes for a service account, naming providerAcct's
// provider of the issuer.
func (w *world) irsaDoc(providerAcct, aud string) string {
	host := w.iss.KeyPrefix()
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"` + w.iss.ProviderARN(providerAcct) + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{` +
		`"` + host + `:aud":"` + aud + `","` + host + `:sub":"` + irsaSub + `"}}}]}`
}

// role creates a role in acct whose trust policy names providerAcct's provider.
func (w *world) role(t *testing.T, acct, name, providerAcct, aud string) string {
	t.Helper()
	r, err := w.reg.CreateRole(&iam.Role{Account: acct, Name: name, TrustPolicyDocument: w.irsaDoc(providerAcct, aud)})
	require.NoError(t, err)
	return r.ARN
}

func (w *world) token(t *testing.T, aud string) string {
	t.Helper()
	return w.iss.MustMint(t, w.iss.Claims(irsaSub, aud), testissuer.MintOptions{})
}

func (w *world) assume(roleARN, token string) (*Result, error) {
	return w.v.AssumeRoleWithWebIdentity(context.Background(), &Request{RoleARN: roleARN, RoleSessionName: "session", WebIdentityToken: token})
}

// The EKS cross-account case: one token of A's cluster assumes A's role through A's provider
// and B's role through B's own provider of the same issuer; C, which registers no provider,
// is refused as STS refuses it, whatever A and B register; a trust policy of B that names A's
// provider never matches, since B's provider is the Federated principal of B's roles.
func TestAccountsEKSCrossAccount(t *testing.T) {
	w := newWorld(t, nil)
	pa := w.provider(t, acctA, "sts.amazonaws.com")
	pb := w.provider(t, acctB, "sts.amazonaws.com")
	roleA := w.role(t, acctA, "payments", acctA, "sts.amazonaws.com")
	roleB := w.role(t, acctB, "payments", acctB, "sts.amazonaws.com")
	roleC := w.role(t, acctC, "payments", acctA, "sts.amazonaws.com")      // names A's provider; C has none
	roleBNamesA := w.role(t, acctB, "names-a", acctA, "sts.amazonaws.com") // B's role naming A's provider
	tok := w.token(t, "sts.amazonaws.com")

	for _, c := range []struct {
		role     string
		provider *iam.OIDCProvider
	}{{roleA, pa}, {roleB, pb}} {
		res, err := w.assume(c.role, tok)
		require.NoError(t, err, c.role)
		assert.Equal(t, c.provider.ARN, res.ProviderPrincipal, "the account's own provider is the Federated principal")
		assert.Equal(t, w.iss.URL(), res.Provider)
		assert.NotEmpty(t, res.RoleID)
		assert.True(t, strings.HasPrefix(res.RoleID, "AROA"), res.RoleID)
	}

	_, err := w.assume(roleC, tok)
	var ve *Error
	require.True(t, errors.As(err, &ve), "%v", err)
	assert.Equal(t, CodeInvalidIdentityToken, ve.Code)
	assert.Equal(t, ReasonUnknownIssuer, ve.Reason)
	assert.Equal(t, "No OpenIDConnect provider found in your account for "+w.iss.URL(), ve.Message, "STS's wording")

	_, err = w.assume(roleBNamesA, tok)
	assert.True(t, errors.Is(err, ReasonDenied), "another account's provider never matches: %v", err)

	// The same answers again, now from the verified-token cache.
	_, err = w.assume(roleC, tok)
	assert.True(t, errors.Is(err, ReasonUnknownIssuer), "%v", err)
	_, err = w.assume(roleB, tok)
	assert.NoError(t, err)
	assert.Positive(t, w.v.tokens.hits.Load())

	// One discovery and one JWKS fetch served both accounts.
	assert.Equal(t, 1, w.iss.Requests(testissuer.Discovery))
	assert.Equal(t, 1, w.iss.Requests(testissuer.JWKS))
}

// The same issuer in two accounts with different client IDs: a token for A's client ID is
// refused for B's role and the reverse, also when the token is in the verified-token cache
// (the audience is the provider's, checked per request, never cached).
func TestAccountsClientIDsPerAccount(t *testing.T) {
	w := newWorld(t, nil)
	w.provider(t, acctA, "client-a")
	w.provider(t, acctB, "client-b")
	roleA := w.role(t, acctA, "app", acctA, "client-a")
	roleB := w.role(t, acctB, "app", acctB, "client-b")
	tokA, tokB := w.token(t, "client-a"), w.token(t, "client-b")

	for range 2 { // the second round is served by the token cache
		_, err := w.assume(roleA, tokA)
		assert.NoError(t, err)
		_, err = w.assume(roleB, tokB)
		assert.NoError(t, err)
		_, err = w.assume(roleB, tokA)
		assert.True(t, errors.Is(err, ReasonAudience), "A's token for B's role: %v", err)
		_, err = w.assume(roleA, tokB)
		assert.True(t, errors.Is(err, ReasonAudience), "B's token for A's role: %v", err)
	}
	assert.Positive(t, w.v.tokens.hits.Load())

	// VerifyFor: by account and by provider ARN.
	ctx := context.Background()
	_, err := w.v.VerifyFor(ctx, &VerifyRequest{Account: acctA, WebIdentityToken: tokA})
	assert.NoError(t, err)
	_, err = w.v.VerifyFor(ctx, &VerifyRequest{Account: acctB, WebIdentityToken: tokA})
	assert.True(t, errors.Is(err, ReasonAudience), "%v", err)
	_, err = w.v.VerifyFor(ctx, &VerifyRequest{ProviderARN: w.iss.ProviderARN(acctB), WebIdentityToken: tokB})
	assert.NoError(t, err)
	_, err = w.v.VerifyFor(ctx, &VerifyRequest{Account: acctC, WebIdentityToken: tokA})
	assert.True(t, errors.Is(err, ReasonUnknownIssuer), "%v", err)
	_, err = w.v.VerifyFor(ctx, &VerifyRequest{ProviderARN: "arn:aws:iam::" + acctA + ":oidc-provider/other.example.com", WebIdentityToken: tokA})
	assert.True(t, errors.Is(err, ReasonUnknownIssuer), "the token's iss is not that provider's: %v", err)
	_, err = w.v.VerifyFor(ctx, &VerifyRequest{ProviderARN: "not an ARN", WebIdentityToken: tokA})
	assert.True(t, errors.Is(err, ReasonUnknownIssuer), "%v", err)
	_, err = w.v.Verify(ctx, tokA)
	assert.True(t, errors.Is(err, ReasonUnknownIssuer), "Verify cannot pick an account with a ProviderSource: %v", err)
}

// Per-provider thumbprints against one unpinned fetch: A pins the issuer's certificate, B pins
// another; A's tokens pass, B's are refused as STS refuses them, and one JWKS fetch served both.
func TestAccountsThumbprintsPerProvider(t *testing.T) {
	w := newWorld(t, nil)
	sum := sha1.Sum(w.iss.Certificate().Raw)
	_, err := w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: w.iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{hex.EncodeToString(sum[:])}})
	require.NoError(t, err)
	_, err = w.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctB, URL: w.iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{strings.Repeat("ab", 20)}})
	require.NoError(t, err)
	roleA := w.role(t, acctA, "app", acctA, "sts.amazonaws.com")
	roleB := w.role(t, acctB, "app", acctB, "sts.amazonaws.com")
	tok := w.token(t, "sts.amazonaws.com")
	for range 2 {
		_, err = w.assume(roleA, tok)
		assert.NoError(t, err)
		_, err = w.assume(roleB, tok)
		var ve *Error
		require.True(t, errors.As(err, &ve), "%v", err)
		assert.Equal(t, ReasonThumbprint, ve.Reason)
		assert.Equal(t, CodeInvalidIdentityToken, ve.Code)
		assert.ErrorIs(t, err, jwks.ErrThumbprintMismatch)
	}
	// B fixes its pin: accepted at once.
	_, err = w.reg.UpdateOIDCProviderThumbprint(w.iss.ProviderARN(acctB), []string{hex.EncodeToString(sum[:])})
	require.NoError(t, err)
	_, err = w.assume(roleB, tok)
	assert.NoError(t, err)
	assert.Equal(t, 1, w.iss.Requests(testissuer.JWKS))

	// A key source that records no TLS chain cannot satisfy a pin: refused, not ignored.
	static := newWorld(t, func(o *Options) {
		keys, _, err := jwks.ParseJWKS(w.iss.JWKS())
		require.NoError(t, err)
		o.Keys = jwks.MustStatic(w.iss.URL(), keys...)
	})
	_, err = static.reg.CreateOIDCProvider(&iam.OIDCProvider{Account: acctA, URL: w.iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{hex.EncodeToString(sum[:])}})
	require.NoError(t, err)
	static.iss = w.iss
	_, err = static.assume(static.role(t, acctA, "app", acctA, "sts.amazonaws.com"), tok)
	assert.True(t, errors.Is(err, ReasonThumbprint), "%v", err)
}

// 2,000 accounts register one issuer: their tokens cost one discovery and one JWKS fetch. A key
// rotation is seen by every account after one more fetch; deleting the issuer's last provider
// drops it from the key cache; a new provider of a known issuer reuses its keys at once.
func TestAccountsShareOneKeyCacheEntry(t *testing.T) {
	clk := &clock{now: time.Now()}
	w := newWorld(t, func(o *Options) { o.Now, o.JWKS.Now = clk.Now, clk.Now })
	const n = 2000
	var providers []*iam.OIDCProvider
	var roles []*iam.Role
	for i := range n {
		acct := strconv.Itoa(100000000000 + i)
		providers = append(providers, &iam.OIDCProvider{Account: acct, URL: w.iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
		roles = append(roles, &iam.Role{Account: acct, Name: "app", TrustPolicyDocument: w.irsaDoc(acct, "sts.amazonaws.com")})
	}
	require.NoError(t, w.reg.Load(providers, roles))
	tok := w.token(t, "sts.amazonaws.com")
	for i := range n {
		_, err := w.assume(iam.RoleARN("aws", strconv.Itoa(100000000000+i), "/", "app"), tok)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, w.iss.Requests(testissuer.Discovery))
	assert.Equal(t, 1, w.iss.Requests(testissuer.JWKS))

	// Rotation: a token of the new key, for every account, after one fetch (the kid miss,
	// once the refresh interval since the first fetch has passed).
	clk.Set(clk.Now().Add(jwks.DefaultMinRefreshInterval + time.Second))
	kid, err := w.iss.Rotate("RS256")
	require.NoError(t, err)
	rotated := w.iss.MustMint(t, w.iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{Kid: kid})
	for i := range 50 {
		_, err := w.assume(iam.RoleARN("aws", strconv.Itoa(100000000000+i*37), "/", "app"), rotated)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, w.iss.Requests(testissuer.JWKS), "one fetch for all accounts")

	// Delete every provider: the issuer leaves the cache. A new provider for it is then
	// registered on first use; with an issuer still referenced, no fetch is needed.
	require.NoError(t, w.reg.Load(nil, nil))
	assert.False(t, w.v.cache.Registered(w.iss.URL()), "no provider references the issuer: dropped")
	w.provider(t, acctA, "sts.amazonaws.com")
	roleA := w.role(t, acctA, "app", acctA, "sts.amazonaws.com")
	_, err = w.assume(roleA, rotated)
	require.NoError(t, err)
	assert.Equal(t, 3, w.iss.Requests(testissuer.JWKS), "registered again, fetched again")
	w.provider(t, acctB, "sts.amazonaws.com")
	roleB := w.role(t, acctB, "app", acctB, "sts.amazonaws.com")
	_, err = w.assume(roleB, w.iss.MustMint(t, w.iss.Claims(irsaSub, "sts.amazonaws.com"), testissuer.MintOptions{Kid: kid}))
	require.NoError(t, err)
	assert.Equal(t, 3, w.iss.Requests(testissuer.JWKS), "a new provider of a known issuer reuses its keys")
}

// Changes under parallel traffic: deleting A's provider, removing B's client ID and tightening
// C's trust policy while workers assume roles of A, B, C and an untouched D. No request that
// started after a change returned is decided by the state before it; D is never refused.
func TestAccountsChangesUnderParallelTraffic(t *testing.T) {
	w := newWorld(t, nil)
	const acctD = "123412341234"
	for _, a := range []string{acctA, acctB, acctC, acctD} {
		w.provider(t, a, "sts.amazonaws.com", "other")
	}
	roles := map[string]string{}
	for _, a := range []string{acctA, acctB, acctC, acctD} {
		roles[a] = w.role(t, a, "app", a, "sts.amazonaws.com")
	}
	tok := w.token(t, "sts.amazonaws.com")
	// Warm the cache so that workers run on the token-cache path, which must see changes too.
	for _, r := range roles {
		_, err := w.assume(r, tok)
		require.NoError(t, err)
	}

	var changed [3]atomic.Bool // A deleted, B's client ID removed, C's policy changed
	var stale, falseRejects, decisions atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }); wg.Wait() }
	defer halt() // the workers stop also when a require below fails
	for g := range 4 {
		wg.Go(func() {
			accts := []string{acctA, acctB, acctC, acctD}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := (g + i) % 4
				var after bool
				if k < 3 {
					after = changed[k].Load() // read before the request starts
				}
				_, err := w.assume(roles[accts[k]], tok)
				decisions.Add(1)
				switch {
				case k == 3 && err != nil:
					falseRejects.Add(1)
				case after && err == nil:
					stale.Add(1)
				}
			}
		})
	}
	// Some decisions before and after each change: waited for, not slept for (a sleep gave
	// anything from a few to thousands on a loaded machine).
	pause := func() {
		for target := decisions.Load() + 30; decisions.Load() < target; {
			time.Sleep(time.Millisecond)
		}
	}
	pause()
	require.NoError(t, w.reg.DeleteOIDCProvider(w.iss.ProviderARN(acctA)))
	changed[0].Store(true)
	pause()
	_, err := w.reg.RemoveClientIDFromOIDCProvider(w.iss.ProviderARN(acctB), "sts.amazonaws.com")
	require.NoError(t, err)
	changed[1].Store(true)
	pause()
	_, err = w.reg.UpdateAssumeRolePolicy(roles[acctC], w.irsaDoc(acctC, "other"))
	require.NoError(t, err)
	changed[2].Store(true)
	pause()
	halt()
	assert.Zero(t, stale.Load(), "requests decided by state older than a change that had returned")
	assert.Zero(t, falseRejects.Load(), "an untouched tenant was refused")
	assert.Greater(t, decisions.Load(), int64(100))

	_, err = w.assume(roles[acctA], tok)
	assert.True(t, errors.Is(err, ReasonUnknownIssuer), "%v", err)
	_, err = w.assume(roles[acctB], tok)
	assert.True(t, errors.Is(err, ReasonAudience), "%v", err)
	_, err = w.assume(roles[acctC], tok)
	assert.True(t, errors.Is(err, ReasonDenied), "%v", err)
}

// A source that fails (its store is down) refuses with ServiceUnavailable, not as a miss.
func TestAccountsSourceFailure(t *testing.T) {
	down := errors.New("store down")
	w := newWorld(t, func(o *Options) {
		o.ProviderSource = failingProviders{down}
	})
	res, err := w.assume(iam.RoleARN("aws", acctA, "/", "app"), w.token(t, "sts.amazonaws.com"))
	assert.Nil(t, res)
	var ve *Error
	require.True(t, errors.As(err, &ve), "%v", err)
	assert.Equal(t, CodeServiceUnavailable, ve.Code)
	assert.Equal(t, ReasonSourceFailure, ve.Reason)
	assert.ErrorIs(t, err, down)
	assert.Zero(t, w.iss.Requests(testissuer.JWKS), "nothing fetched for an undecidable request")

	// A role source that fails, behind a working provider source.
	w2 := newWorld(t, nil)
	w2.provider(t, acctA, "sts.amazonaws.com")
	w2.v.roles = failingRoles{down}
	_, err = w2.assume(iam.RoleARN("aws", acctA, "/", "app"), w2.token(t, "sts.amazonaws.com"))
	assert.True(t, errors.Is(err, ReasonSourceFailure), "%v", err)
	assert.ErrorIs(t, err, down)
}

type failingProviders struct{ err error }

func (f failingProviders) OIDCProvider(string, string, string) (*iam.OIDCProvider, error) {
	return nil, f.err
}

type failingRoles struct{ err error }

func (f failingRoles) Role(string) (*Role, error) { return nil, f.err }

// Static providers may register one URL in several accounts (each with its client IDs); Verify
// cannot choose among them and says so, VerifyFor can.
func TestStaticProvidersInSeveralAccounts(t *testing.T) {
	iss := testissuer.Start(t, testissuer.Options{Path: eksPath})
	v, err := New(Options{
		Providers: []Provider{
			{URL: iss.URL(), ARN: iss.ProviderARN(acctA), ClientIDs: []string{"client-a"}},
			{URL: iss.URL(), ARN: iss.ProviderARN(acctB), ClientIDs: []string{"client-b"}},
		},
		JWKS: jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true},
	})
	require.NoError(t, err)
	defer v.Close()
	ctx := context.Background()
	tok := iss.MustMint(t, iss.Claims(irsaSub, "client-b"), testissuer.MintOptions{})
	_, err = v.Verify(ctx, tok)
	assert.True(t, errors.Is(err, ReasonUnknownIssuer), "%v", err)
	_, err = v.VerifyFor(ctx, &VerifyRequest{Account: acctB, WebIdentityToken: tok})
	assert.NoError(t, err)
	_, err = v.VerifyFor(ctx, &VerifyRequest{Account: acctA, WebIdentityToken: tok})
	assert.True(t, errors.Is(err, ReasonAudience), "%v", err)
}
