package stsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
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

// methodOnly hides AssumeRoleWithWebIdentityInto: a handler over it allocates a Result per
// request, as before the handler recycled them.
type methodOnly struct{ v *verifier.Verifier }

func (m methodOnly) AssumeRoleWithWebIdentity(ctx context.Context, req *verifier.Request) (*verifier.Result, error) {
	return m.v.AssumeRoleWithWebIdentity(ctx, req)
}

// zeroReader is a Rand that yields zeros: LocalIssuer then mints the same credentials for
// every request.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// recordingIssuer is LocalIssuer that keeps a copy of each Result it is given (taken during
// Issue, as its contract asks).
type recordingIssuer struct {
	LocalIssuer
	mu      sync.Mutex
	results []verifier.Result
}

func (r *recordingIssuer) Issue(ctx context.Context, req *IssueRequest) (*Credentials, error) {
	res := *req.Result
	tok := *res.Token
	tok.Audience = append([]string(nil), tok.Audience...)
	res.Token = &tok
	res.SessionTags = append([]verifier.Tag(nil), res.SessionTags...)
	res.TransitiveTagKeys = append([]string(nil), res.TransitiveTagKeys...)
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
	return r.LocalIssuer.Issue(ctx, req)
}

// intoWorld is one verifier over a registry (so with the decision memo) behind two
// handlers: into (the verifier itself, recycling Answers) and method (methodOnly).
type intoWorld struct {
	iss                *testissuer.Issuer
	role, deny         string
	into, method       *httptest.Server
	intoIss, methodIss *recordingIssuer
}

func newIntoWorld(t testing.TB) *intoWorld {
	t.Helper()
	w := &intoWorld{iss: testissuer.Start(t, testissuer.Options{Path: "/id/INTO", Algorithms: []string{"ES256"}, Now: fixedClock})}
	reg := iam.New(iam.Options{AllowURLPort: true})
	_, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: testAccount, URL: w.iss.URL(), ClientIDs: []string{testAudience}})
	require.NoError(t, err)
	stmt := func(effect string, actions ...string) map[string]any {
		return map[string]any{
			"Effect": effect, "Principal": map[string]any{"Federated": w.iss.ProviderARN(testAccount)},
			"Action":    actions,
			"Condition": map[string]any{"StringEquals": map[string]any{w.iss.KeyPrefix() + ":sub": testSubject}},
		}
	}
	for name, stmts := range map[string][]any{
		"app":  {stmt("Allow", "sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity")},
		"deny": {stmt("Allow", "sts:AssumeRoleWithWebIdentity"), stmt("Deny", "sts:AssumeRoleWithWebIdentity")},
	} {
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
		require.NoError(t, err)
		r, err := reg.CreateRole(&iam.Role{Account: testAccount, Name: name, TrustPolicyDocument: string(doc)})
		require.NoError(t, err)
		if name == "app" {
			w.role = r.ARN
		} else {
			w.deny = r.ARN
		}
	}
	v, err := verifier.New(verifier.Options{ProviderSource: reg, Roles: reg, Now: fixedClock,
		JWKS: jwks.Options{HTTPClient: w.iss.Client(), AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	serve := func(d Decider) (*httptest.Server, *recordingIssuer) {
		ri := &recordingIssuer{LocalIssuer: LocalIssuer{Now: fixedClock, Rand: zeroReader{}}}
		h, err := NewHandler(Options{Verifier: d, Issuer: ri, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv, ri
	}
	w.into, w.intoIss = serve(v)
	w.method, w.methodIss = serve(methodOnly{v})
	require.NotNil(t, w.into.Config.Handler.(*Handler).into, "the handler recycles Answers")
	require.Nil(t, w.method.Config.Handler.(*Handler).into)
	return w
}

var requestIDRE = regexp.MustCompile(`<RequestId>[^<]*</RequestId>`)

// answer posts form to srv and returns the status and the body with its request id masked.
func answer(t *testing.T, srv *httptest.Server, form map[string][]string) (int, string) {
	t.Helper()
	req := postForm(t, srv.URL, form)
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return r.StatusCode, requestIDRE.ReplaceAllString(string(body), "<RequestId/>")
}

// The handler that recycles Answers answers byte for byte as the one that allocates Results
// (request ids aside), and hands its CredentialIssuer the same Results, over every shape of
// answer: the full path, token-cache hits, the decision memo, session tags and source
// identity, three audiences, policy denials and refusals.
func TestHandlerIntoAnswersAsBefore(t *testing.T) {
	w := newIntoWorld(t)
	tags := func(c map[string]any) {
		c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string]any{"team": []string{"a"}}, "transitive_tag_keys": []string{"team"}}
		c["https://aws.amazon.com/source_identity"] = "alice"
	}
	mint := func(edit func(map[string]any)) string {
		c := w.iss.Claims(testSubject, testAudience)
		if edit != nil {
			edit(c)
		}
		return w.iss.MustMint(t, c, testissuer.MintOptions{})
	}
	plain, tagged := mint(nil), mint(tags)
	threeAud := mint(func(c map[string]any) { c["aud"] = []string{"other-1", testAudience, "other-2"} })
	with := func(role, tok, session string) map[string][]string {
		f := assumeForm(role, tok)
		f.Set("RoleSessionName", session)
		return f
	}
	forms := []map[string][]string{
		with(w.role, plain, "s-one"), with(w.role, plain, "s-one"), with(w.role, plain, "s-one"),
		with(w.role, plain, "s-two"),
		with(w.role, tagged, "s-one"), with(w.role, tagged, "s-one"), with(w.role, tagged, "s-one"),
		with(w.role, threeAud, "s-one"), with(w.role, threeAud, "s-one"), with(w.role, threeAud, "s-one"),
		with(w.deny, plain, "s-one"), with(w.deny, plain, "s-one"),
		with(w.role, plain, "bad name!"),
		with(w.role, plain, "s-one"),
	}
	for round := range 2 {
		for i, f := range forms {
			ms, mb := answer(t, w.method, f)
			is, ib := answer(t, w.into, f)
			assert.Equal(t, ms, is, "round %d, request %d: status", round, i)
			assert.Equal(t, mb, ib, "round %d, request %d: body", round, i)
		}
	}
	require.NotEmpty(t, w.methodIss.results)
	assert.Equal(t, w.methodIss.results, w.intoIss.results, "the issuers saw the same Results")
}

// Concurrent requests through the recycling handler each get their own answer: the session
// name in AssumedRoleUser is the request's.
func TestHandlerIntoConcurrent(t *testing.T) {
	w := newIntoWorld(t)
	tok := w.iss.MustMint(t, w.iss.Claims(testSubject, testAudience), testissuer.MintOptions{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				session := fmt.Sprintf("s-%d-%d", g, i%3) // repeated: memo answers too
				f := assumeForm(w.role, tok)
				f.Set("RoleSessionName", session)
				r := do(t, postForm(t, w.into.URL, f))
				if !assert.NotNil(t, r.ok, "%+v", r.err) {
					return
				}
				assert.Equal(t, "arn:aws:sts::"+testAccount+":assumed-role/app/"+session, r.ok.Result.AssumedRoleUser.Arn)
			}
		})
	}
	wg.Wait()
}

// BenchmarkHandlerMemo is the handler answering from the verifier's decision memo (one token,
// in cache), without HTTP (httptest.NewRecorder): recycling Answers (into) and allocating
// Results (method).
func BenchmarkHandlerMemo(b *testing.B) {
	w := newIntoWorld(b)
	body := assumeForm(w.role, w.iss.MustMint(b, w.iss.Claims(testSubject, testAudience), testissuer.MintOptions{})).Encode()
	for _, bc := range []struct {
		name string
		srv  *httptest.Server
	}{{"into", w.into}, {"method", w.method}} {
		h := bc.srv.Config.Handler
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Body.String())
				}
			}
		})
	}
}
