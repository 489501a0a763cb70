package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// BenchmarkKidFlood presents tokens with random kids (well-formed, registered issuer, so each
// one reaches the key lookup), against a cold cache (never fetched) and a warm one. The
// fetches metric counts JWKS requests the test issuer received during the whole benchmark:
// the cache refreshes at most once per MinRefreshInterval (30 s) per issuer, so it stays at
// 0 or 1 however many kids arrive.
func BenchmarkKidFlood(b *testing.B) {
	iss, err := testissuer.New(testissuer.Options{Algorithms: []string{"ES256"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(iss.Close)
	prov := verifier.Provider{URL: iss.URL(), ARN: iss.ProviderARN("111122223333"), ClientIDs: []string{clientID}}
	const kids = 1024
	tokens := make([]string, kids)
	for i := range tokens {
		kid := fmt.Sprintf("flood-%08x", i*2654435761)
		tok, err := iss.Mint(iss.Claims(subject, clientID), testissuer.MintOptions{HeaderKid: &kid})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}
	ctx := context.Background()
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) {
			cache, err := jwks.New(jwks.Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true, Issuers: []jwks.IssuerConfig{{Issuer: iss.URL()}}})
			if err != nil {
				b.Fatal(err)
			}
			defer cache.Close()
			if warm {
				if err := cache.Prefetch(ctx); err != nil {
					b.Fatal(err)
				}
			}
			v, err := verifier.New(verifier.Options{Providers: []verifier.Provider{prov}, Keys: cache, TokenCacheSize: -1})
			if err != nil {
				b.Fatal(err)
			}
			iss.ResetCounts()
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				_, err := v.Verify(ctx, tokens[i%kids])
				if !errors.Is(err, verifier.ReasonUnknownKey) {
					b.Fatalf("random kid: %v", err)
				}
				i++
			}
			b.StopTimer()
			b.ReportMetric(float64(iss.Requests(testissuer.JWKS)), "fetches")
		})
	}
}

// issuerCount is how many issuers BenchmarkIssuers10k caches.
const issuerCount = 10000

// manyIssuers is a cache and verifier holding issuerCount issuers, each fetched through its
// own discovery document and JWKS (two keys, RS256 and ES256, as real issuers publish) from
// one local TLS server, plus a token for a spread of them.
type manyIssuers struct {
	cache     *jwks.Cache
	v         *verifier.Verifier
	ids       []string
	kid       string
	tokens    []string
	perIssuer float64 // heap bytes per cached issuer
}

var (
	manyOnce sync.Once
	many     *manyIssuers
	manyErr  error
)

func getMany(b *testing.B) *manyIssuers {
	b.Helper()
	manyOnce.Do(func() { many, manyErr = newMany() })
	if manyErr != nil {
		b.Fatal(manyErr)
	}
	return many
}

func newMany() (*manyIssuers, error) {
	signer, err := testissuer.New(testissuer.Options{Algorithms: []string{"ES256", "RS256"}})
	if err != nil {
		return nil, err
	}
	keysDoc := signer.JWKS()
	var base string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /i/<n>/.well-known/openid-configuration and /i/<n>/jwks
		rest, ok := strings.CutPrefix(r.URL.Path, "/i/")
		n, doc, _ := strings.Cut(rest, "/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		switch doc {
		case ".well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":"%s/i/%s","jwks_uri":"%s/i/%s/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","ES256"]}`, base, n, base, n)
		case "jwks":
			_, _ = w.Write(keysDoc)
		default:
			http.NotFound(w, r)
		}
	}))
	base = srv.URL
	m := &manyIssuers{kid: signer.KeyID("ES256")}
	cfgs := make([]jwks.IssuerConfig, issuerCount)
	provs := make([]verifier.Provider, issuerCount)
	for i := range cfgs {
		id := base + "/i/" + strconv.Itoa(i)
		m.ids = append(m.ids, id)
		cfgs[i] = jwks.IssuerConfig{Issuer: id}
		provs[i] = verifier.Provider{URL: id, ARN: "arn:aws:iam::111122223333:oidc-provider/" + strings.TrimPrefix(id, "https://"), ClientIDs: []string{clientID}}
	}
	const workers = 8
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m.cache, err = jwks.New(jwks.Options{
		HTTPClient: transport(srv.Client(), workers), AllowPrivateAddresses: true,
		MaxIssuers: 2 * issuerCount, Issuers: cfgs,
	})
	if err != nil {
		return nil, err
	}
	// Fetch with a few workers (Prefetch would open one connection per issuer at once).
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < issuerCount; i += workers {
				if _, err := m.cache.Keys(context.Background(), m.ids[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	m.perIssuer = float64(after.HeapAlloc-before.HeapAlloc) / issuerCount

	if m.v, err = verifier.New(verifier.Options{Providers: provs, Keys: m.cache, TokenCacheSize: -1}); err != nil {
		return nil, err
	}
	for i := 0; i < issuerCount; i += issuerCount / 500 {
		c := signer.Claims(subject, clientID)
		c["iss"] = m.ids[i]
		tok, err := signer.Mint(c, testissuer.MintOptions{Kid: m.kid})
		if err != nil {
			return nil, err
		}
		m.tokens = append(m.tokens, tok)
	}
	return m, nil
}

// BenchmarkIssuers10k holds 10,000 issuers in one key cache, each fetched through discovery
// and JWKS like a real one. B/issuer is the heap the cache retains per issuer (two keys
// each). keyhit looks up keys across the issuers; verify verifies tokens of 500 of them
// (ES256, token cache off) through a verifier that registers all 10,000.
func BenchmarkIssuers10k(b *testing.B) {
	m := getMany(b)
	ctx := context.Background()
	b.Run("keyhit", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			if _, err := m.cache.Key(ctx, m.ids[i%issuerCount], m.kid); err != nil {
				b.Fatal(err)
			}
			i += 7919 // a prime stride: consecutive lookups touch unrelated issuers
		}
		b.ReportMetric(m.perIssuer, "B/issuer")
	})
	b.Run("verify", func(b *testing.B) {
		for _, tok := range m.tokens {
			if _, err := m.v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			if _, err := m.v.Verify(ctx, m.tokens[i%len(m.tokens)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(m.perIssuer, "B/issuer")
	})
}

// BenchmarkPolicy evaluates GitHub Actions trust policies of 1, 20 and 100 statements (one
// repository each, StringEquals on :aud and StringLike on :sub), for a request that only the
// last statement allows (every statement is evaluated) and for one that none allows.
func BenchmarkPolicy(b *testing.B) {
	const prefix = "token.actions.githubusercontent.com"
	const arn = "arn:aws:iam::111122223333:oidc-provider/" + prefix
	for _, n := range []int{1, 20, 100} {
		stmts := make([]string, n)
		for i := range stmts {
			stmts[i] = fmt.Sprintf(`{"Sid":"Repo%d","Effect":"Allow","Principal":{"Federated":"%s"},"Action":"sts:AssumeRoleWithWebIdentity",`+
				`"Condition":{"StringEquals":{"%s:aud":"sts.amazonaws.com"},"StringLike":{"%s:sub":"repo:octo-org/service-%d:*"}}}`, i, arn, prefix, prefix, i)
		}
		p, err := policy.ParseWithOptions([]byte(`{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`), policy.ParseOptions{MaxSize: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			sub  string
			want policy.Effect
		}{
			{"allow-last", fmt.Sprintf("repo:octo-org/service-%d:ref:refs/heads/main", n-1), policy.Allow},
			{"deny-all", "repo:evil-org/service-0:ref:refs/heads/main", policy.ImplicitDeny},
		} {
			req := &policy.Request{
				Action:    "sts:AssumeRoleWithWebIdentity",
				Principal: policy.Principal{Type: policy.PrincipalFederated, ID: arn},
				Resource:  "arn:aws:iam::111122223333:role/deploy",
				Context:   policy.Values{prefix + ":aud": {"sts.amazonaws.com"}, prefix + ":sub": {c.sub}},
			}
			b.Run(fmt.Sprintf("statements=%d/%s", n, c.name), func(b *testing.B) {
				if got := p.Evaluate(req).Effect; got != c.want {
					b.Fatalf("effect %v, want %v", got, c.want)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if p.Evaluate(req).Effect != c.want {
						b.Fatal("effect changed")
					}
				}
			})
		}
	}
}
