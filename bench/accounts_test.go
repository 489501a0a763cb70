package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/cputime"
	"github.com/webidentity/webidentity/internal/floor"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

// scaleEnv sizes BenchmarkAccounts: unset is 1/100 of issue 10's registry (so that a
// -benchtime 1x run of the suite stays quick), "full" is the whole of it, "1/N" a fraction.
const scaleEnv = "WEBIDENTITY_BENCH_SCALE"

// The full registry of issue 10's goals: 100,000 providers over 10,000 accounts sharing 1,000
// issuers (each issuer registered by 100 accounts), 200,000 roles.
const (
	fullAccounts        = 10000
	fullIssuers         = 1000
	providersPerAccount = 10
	rolesPerAccount     = 20
	// writerEvery: accounts a with a%writerEvery == writerEvery-1 belong to the writer of the
	// "-writes" benchmarks; no token and no lookup of the readers names them.
	writerEvery = 8
	// rsaMaterials: RSA key pairs are expensive to generate, so issuers share a few (each
	// issuer still has its own *jwks.Key and kid; the signature check costs the same).
	rsaMaterials = 8
	// writesPerSecond is the pace of the registry writer.
	writesPerSecond = 1000
)

// roundsEnv repeats BenchmarkAccounts' sequence of sub-benchmarks (1 by default), so that each
// ratio pairs figures taken minutes apart at most: -count repeats each sub-benchmark in a row
// instead (all floors, then all assumes). Go names the repeats name#01, name#02, ...
const roundsEnv = "WEBIDENTITY_BENCH_ROUNDS"

func accountRounds() (int, error) {
	v := os.Getenv(roundsEnv)
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive number", roundsEnv, v)
	}
	return n, nil
}

// accountAlgs are the algorithms BenchmarkAccounts decides tokens of.
var accountAlgs = []string{"RS256", "ES256", "EdDSA"}

// accountScale returns the divisor of the full registry that scaleEnv asks for.
func accountScale() (int, error) {
	v := os.Getenv(scaleEnv)
	switch v {
	case "":
		return 100, nil
	case "full":
		return 1, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(v, "1/"))
	if err != nil || !strings.HasPrefix(v, "1/") || n < 1 || n > 100 || fullIssuers%n != 0 {
		return 0, fmt.Errorf("%s=%q: want full or 1/N with N dividing 1000, at most 100", scaleEnv, v)
	}
	return n, nil
}

// issuerKeys is one issuer's signing keys, one per algorithm of accountAlgs, with their kids.
type issuerKeys struct {
	signers map[string]crypto.Signer
	kids    map[string]string
	jwks    []byte // the issuer's JWKS document
}

// accountsEnv is the multi-account registry, the key cache holding every issuer (fetched once
// through discovery and JWKS over local TLS, as a real deployment does), the verifiers over
// them and the tokens the benchmarks present.
type accountsEnv struct {
	div               int // 1: full size
	accounts, issuers int
	srv               *httptest.Server
	base              string // https://127.0.0.1:PORT
	thumb             string // hex SHA-1 of the server's certificate, pinned by every provider
	keys              []issuerKeys
	reg               *iam.Registry
	cache             *jwks.Cache
	plain             *verifier.Verifier // token cache off
	cached            *verifier.Verifier // token cache big enough for every token
	lookups           []lookupKey        // random (account, issuer, role) across the readers
	chase             []uint32           // a random cycle through probeBytes, one hop per cache line
	evals             []evalCase         // trust policies of random roles, with allowed requests
	tokens            map[string][]accountToken
	floors            map[string][]func() bool // per alg, the bare check of each token

	// Memory and load figures, measured at set-up.
	perProvider, perRole, perIssuer float64 // heap bytes
	perDocument                     float64 // bytes of trust policy document per role
	load                            time.Duration
	// gcPerByte is the CPU time a full collection of the final heap takes per live byte,
	// times 100/GOGC: what each allocated byte costs in collections in the steady state.
	gcPerByte float64

	mu   sync.Mutex
	last map[string]runFigures // the latest run of each sub-benchmark, for same-run ratios
}

// lookupKey is what the verifier asks the registry for one request.
type lookupKey struct{ account, issuer, role string }

// evalCase is a role's compiled trust policy and a request it allows, as the verifier builds
// it from a token of the role's service account.
type evalCase struct {
	policy *policy.Policy
	req    *policy.Request
}

// evalCases is how many random roles policy/random evaluates.
const evalCases = 4096

// accountToken is a signed token of a role's issuer for the role's service account.
type accountToken struct {
	req   verifier.Request
	alg   string
	pub   crypto.PublicKey
	token string
}

// runFigures are a sub-benchmark's wall and CPU nanoseconds per op.
type runFigures struct{ ns, cpu float64 }

var (
	accountsOnce sync.Once
	theAccounts  *accountsEnv
	accountsErr  error
)

func getAccounts(b *testing.B) *accountsEnv {
	b.Helper()
	accountsOnce.Do(func() { theAccounts, accountsErr = newAccounts() })
	if accountsErr != nil {
		b.Fatal(accountsErr)
	}
	return theAccounts
}

func account(a int) string { return fmt.Sprintf("%012d", 200000000000+a) }

func (e *accountsEnv) issuerURL(i int) string {
	return e.base + "/id/" + fmt.Sprintf("%032X", i)
}

// providerIssuer is the issuer of account a's k-th provider: the accounts register their
// issuers evenly, each issuer in 10 × accounts / issuers accounts.
func (e *accountsEnv) providerIssuer(a, k int) int {
	return (a + k*(e.issuers/providersPerAccount)) % e.issuers
}

// roleIssuer is the issuer whose provider account a's k-th role trusts.
func (e *accountsEnv) roleIssuer(a, k int) int { return e.providerIssuer(a, k%providersPerAccount) }

func accountRoleARN(a, k int) string {
	return "arn:aws:iam::" + account(a) + ":role/app-" + strconv.Itoa(k)
}

func serviceAccount(a, k int) string {
	return "system:serviceaccount:ns:sa-" + strconv.Itoa(a*rolesPerAccount+k)
}

// trustPolicy is a typical IRSA trust policy: the account's provider for the issuer, the
// service account's sub and STS's aud.
func (e *accountsEnv) trustPolicy(a int, iss string, sub string) string {
	prefix := strings.TrimPrefix(iss, "https://")
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"arn:aws:iam::` + account(a) + `:oidc-provider/` + prefix + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"StringEquals":{"` + prefix + `:sub":"` + sub + `","` + prefix + `:aud":"` + clientID + `"}}}]}`
}

func (e *accountsEnv) providerInput() []*iam.OIDCProvider {
	out := make([]*iam.OIDCProvider, 0, e.accounts*providersPerAccount)
	for a := range e.accounts {
		for k := range providersPerAccount {
			out = append(out, &iam.OIDCProvider{
				Account: account(a), URL: e.issuerURL(e.providerIssuer(a, k)),
				ClientIDs: []string{clientID}, Thumbprints: []string{e.thumb},
			})
		}
	}
	return out
}

func (e *accountsEnv) roleInput() []*iam.Role {
	out := make([]*iam.Role, 0, e.accounts*rolesPerAccount)
	for a := range e.accounts {
		for k := range rolesPerAccount {
			out = append(out, &iam.Role{
				ARN:                 accountRoleARN(a, k),
				TrustPolicyDocument: e.trustPolicy(a, e.issuerURL(e.roleIssuer(a, k)), serviceAccount(a, k)),
			})
		}
	}
	return out
}

// readerAccount picks a random account that the writer never touches.
func (e *accountsEnv) readerAccount(r *mrand.Rand) int {
	for {
		if a := r.IntN(e.accounts); a%writerEvery != writerEvery-1 {
			return a
		}
	}
}

func newAccounts() (*accountsEnv, error) {
	div, err := accountScale()
	if err != nil {
		return nil, err
	}
	e := &accountsEnv{div: div, accounts: fullAccounts / div, issuers: fullIssuers / div, last: map[string]runFigures{}}
	if err := e.startIssuers(); err != nil {
		return nil, err
	}
	if err := e.fillRegistry(); err != nil {
		return nil, err
	}
	if err := e.fillKeyCache(); err != nil {
		return nil, err
	}
	base := verifier.Options{ProviderSource: e.reg, Roles: e.reg, Keys: e.cache}
	plain, cached := base, base
	plain.TokenCacheSize = -1
	if e.plain, err = verifier.New(plain); err != nil {
		return nil, err
	}
	rng := mrand.New(mrand.NewPCG(10, 10))
	if err := e.mintTokens(rng); err != nil {
		return nil, err
	}
	cached.TokenCacheSize = 4 * len(accountAlgs) * len(e.tokens[accountAlgs[0]])
	if e.cached, err = verifier.New(cached); err != nil {
		return nil, err
	}
	// Every token is allowed through both verifiers (and now sits in the token cache).
	ctx := context.Background()
	for _, alg := range accountAlgs {
		for i := range e.tokens[alg] {
			t := &e.tokens[alg][i]
			for _, v := range []*verifier.Verifier{e.plain, e.cached} {
				res, err := v.AssumeRoleWithWebIdentity(ctx, &t.req)
				if err != nil {
					return nil, fmt.Errorf("%s token for %s: %w", alg, t.req.RoleARN, err)
				}
				if res.Decision.Effect != policy.Allow {
					return nil, fmt.Errorf("%s token for %s: %v", alg, t.req.RoleARN, res.Decision)
				}
			}
		}
	}
	e.lookups = make([]lookupKey, 1<<16)
	for i := range e.lookups {
		a, k := e.readerAccount(rng), rng.IntN(rolesPerAccount)
		iss := e.issuerURL(e.roleIssuer(a, k))
		e.lookups[i] = lookupKey{account(a), iss, accountRoleARN(a, k)}
		if i < evalCases {
			ro, err := e.reg.Role(accountRoleARN(a, k))
			if err != nil {
				return nil, err
			}
			prefix := strings.TrimPrefix(iss, "https://")
			c := evalCase{ro.TrustPolicy, &policy.Request{
				Action:    verifier.ActionAssumeRoleWithWebIdentity,
				Principal: policy.Principal{Type: policy.PrincipalFederated, ID: "arn:aws:iam::" + account(a) + ":oidc-provider/" + prefix},
				Resource:  accountRoleARN(a, k),
				Context:   policy.Values{prefix + ":sub": {serviceAccount(a, k)}, prefix + ":aud": {clientID}},
			}}
			if d := c.policy.Evaluate(c.req); d.Effect != policy.Allow {
				return nil, fmt.Errorf("trust policy of %s: %v", accountRoleARN(a, k), d)
			}
			e.evals = append(e.evals, c)
		}
	}
	e.chase = newChase(rng, max(16<<20, probeBytes/div))
	// Finish the collection the set-up started, so that no mark phase over the big heap runs
	// during the first timed loop; then time full collections of the heap.
	runtime.GC()
	e.gcPerByte = gcCostPerByte()
	return e, nil
}

// startIssuers generates every issuer's keys and serves their discovery documents and JWKS
// from one local TLS server, at /id/<32 hex digits> as EKS issuers are.
func (e *accountsEnv) startIssuers() error {
	var rsaKeys []*rsa.PrivateKey
	for range min(rsaMaterials, e.issuers) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		rsaKeys = append(rsaKeys, k)
	}
	e.keys = make([]issuerKeys, e.issuers)
	e.srv = httptest.NewTLSServer(http.HandlerFunc(e.serve))
	e.base = e.srv.URL
	sum := sha1.Sum(e.srv.Certificate().Raw)
	e.thumb = hex.EncodeToString(sum[:])
	for i := range e.keys {
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		ik := issuerKeys{
			signers: map[string]crypto.Signer{"RS256": rsaKeys[i%len(rsaKeys)], "ES256": ec, "EdDSA": ed},
			kids:    map[string]string{},
		}
		var jwkList []map[string]string
		for _, alg := range accountAlgs {
			// A kid of kube-apiserver's shape (43 base64url characters), its own per issuer.
			h := sha256.Sum256([]byte(e.issuerURL(i) + "#" + alg))
			kid := base64.RawURLEncoding.EncodeToString(h[:])
			ik.kids[alg] = kid
			j, err := publicJWK(ik.signers[alg].Public(), kid, alg)
			if err != nil {
				return err
			}
			jwkList = append(jwkList, j)
		}
		if ik.jwks, err = json.Marshal(map[string]any{"keys": jwkList}); err != nil {
			return err
		}
		e.keys[i] = ik
	}
	return nil
}

// publicJWK is the JWK of a public key (RFC 7517, 7518, 8037).
func publicJWK(pub crypto.PublicKey, kid, alg string) (map[string]string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	j := map[string]string{"kid": kid, "alg": alg, "use": "sig"}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		j["kty"], j["n"], j["e"] = "RSA", b64(k.N.Bytes()), b64(uintBytes(k.E))
	case *ecdsa.PublicKey:
		pt, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return nil, err
		}
		n := (len(pt) - 1) / 2
		j["kty"], j["crv"], j["x"], j["y"] = "EC", "P-256", b64(pt[1:1+n]), b64(pt[1+n:])
	case ed25519.PublicKey:
		j["kty"], j["crv"], j["x"] = "OKP", "Ed25519", b64(k)
	default:
		return nil, fmt.Errorf("no JWK for %T", pub)
	}
	return j, nil
}

// uintBytes is an RSA exponent as a big-endian unsigned integer without leading zeros.
func uintBytes(e int) []byte {
	var out []byte
	for ; e > 0; e >>= 8 {
		out = append([]byte{byte(e)}, out...)
	}
	return out
}

// serve answers /id/<hex>/.well-known/openid-configuration and /id/<hex>/keys.
func (e *accountsEnv) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/id/")
	id, doc, _ := strings.Cut(rest, "/")
	n, err := strconv.ParseUint(id, 16, 32)
	if !ok || err != nil || int(n) >= len(e.keys) || id != fmt.Sprintf("%032X", n) {
		http.NotFound(w, r)
		return
	}
	iss := e.issuerURL(int(n))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=86400") // no refresh during a run
	switch doc {
	case ".well-known/openid-configuration":
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q,"response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","ES256","EdDSA"]}`, iss, iss+"/keys")
	case "keys":
		_, _ = w.Write(e.keys[n].jwks)
	default:
		http.NotFound(w, r)
	}
}

// gcCostPerByte returns the process CPU time of a full collection per live heap byte, scaled
// by 100/GOGC (a cycle starts once GOGC% of the live heap has been allocated since the last):
// the steady-state cost of the collector per allocated byte. 0 if unknown (no CPU clock, GC
// off).
func gcCostPerByte() float64 {
	pct := debug.SetGCPercent(100)
	debug.SetGCPercent(pct)
	if pct <= 0 {
		return 0
	}
	const n = 3
	cpu0 := cputime.Process()
	for range n {
		runtime.GC()
	}
	cpu := cputime.Process() - cpu0
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if cpu0 == 0 || m.HeapAlloc == 0 {
		return 0
	}
	return float64(cpu.Nanoseconds()) / n / float64(m.HeapAlloc) * 100 / float64(pct)
}

// probeBytes is the size of the memory the latency/memory row chases pointers through at full
// size: far beyond the CPU caches and the TLBs' reach, as the registry is.
const probeBytes = 256 << 20

// newChase returns size bytes of uint32 holding one random cycle that visits every 64-byte
// line once: chase[p] is the index of the next line's first word. Sattolo's shuffle of the
// lines' order makes it a single cycle.
func newChase(rng *mrand.Rand, size int) []uint32 {
	const words = 64 / 4
	lines := size / 64
	order := make([]uint32, lines)
	for i := range order {
		order[i] = uint32(i)
	}
	for i := lines - 1; i > 0; i-- {
		j := rng.IntN(i)
		order[i], order[j] = order[j], order[i]
	}
	chase := make([]uint32, lines*words)
	for i := range lines {
		chase[order[i]*words] = order[(i+1)%lines] * words
	}
	return chase
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// fillRegistry loads the providers and the roles with reg.Load, and measures the heap the
// registry holds per provider (a registry of the providers alone) and per role (what the
// roles add to it).
func (e *accountsEnv) fillRegistry() error {
	e.reg = iam.New(iam.Options{AllowURLPort: true})
	h0 := liveHeap()
	if err := e.reg.Load(e.providerInput(), nil); err != nil {
		return err
	}
	h1 := liveHeap()
	start := time.Now()
	if err := e.reg.Load(e.providerInput(), e.roleInput()); err != nil {
		return err
	}
	e.load = time.Since(start)
	h2 := liveHeap()
	np, nr := e.reg.Len()
	if np != e.accounts*providersPerAccount || nr != e.accounts*rolesPerAccount {
		return fmt.Errorf("registry holds %d providers and %d roles", np, nr)
	}
	e.perProvider = float64(int64(h1-h0)) / float64(np)
	e.perRole = float64(int64(h2-h1)) / float64(nr)
	for _, ro := range e.roleInput()[:min(nr, 1000)] {
		e.perDocument += float64(len(ro.TrustPolicyDocument)) / float64(min(nr, 1000))
	}
	return nil
}

// fillKeyCache registers every issuer in one key cache and fetches each (discovery, then
// JWKS) with a few workers; the providers pin the server's certificate, checked per request
// against the chain of that one fetch.
func (e *accountsEnv) fillKeyCache() error {
	const workers = 8
	h0 := liveHeap()
	cfgs := make([]jwks.IssuerConfig, e.issuers)
	for i := range cfgs {
		cfgs[i] = jwks.IssuerConfig{Issuer: e.issuerURL(i)}
	}
	var err error
	e.cache, err = jwks.New(jwks.Options{
		HTTPClient: transport(e.srv.Client(), workers), AllowPrivateAddresses: true,
		MaxIssuers: 2 * e.issuers, Issuers: cfgs,
	})
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < e.issuers; i += workers {
				if _, err := e.cache.Keys(context.Background(), e.issuerURL(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	e.perIssuer = float64(int64(liveHeap()-h0)) / float64(e.issuers)
	return nil
}

// mintTokens signs, per algorithm, tokens for random roles of the reader accounts: each one
// issued by the issuer the role trusts, with that issuer's key, for the role's service
// account, shaped as EKS projected service-account tokens are (24-hour lifetime).
func (e *accountsEnv) mintTokens(rng *mrand.Rand) error {
	n := min(1024, max(128, e.accounts*rolesPerAccount/128))
	e.tokens, e.floors = map[string][]accountToken{}, map[string][]func() bool{}
	now := time.Now()
	for _, alg := range accountAlgs {
		for range n {
			a, k := e.readerAccount(rng), rng.IntN(rolesPerAccount)
			i := e.roleIssuer(a, k)
			ik := &e.keys[i]
			tok, err := signJWT(alg, ik.kids[alg], ik.signers[alg], eksPayload(e.issuerURL(i), serviceAccount(a, k), now))
			if err != nil {
				return err
			}
			// The floor verifies with the very key the verifier will use, the one the key
			// cache parsed from the issuer's JWKS (one per issuer, as cold in memory).
			key, err := e.cache.Key(context.Background(), e.issuerURL(i), ik.kids[alg])
			if err != nil {
				return err
			}
			t := accountToken{
				req: verifier.Request{RoleARN: accountRoleARN(a, k), RoleSessionName: "bench", WebIdentityToken: tok},
				alg: alg, pub: key.Public(), token: tok,
			}
			e.tokens[alg] = append(e.tokens[alg], t)
			check, err := floor.Check(alg, t.pub, tok) // the floor of bareCheck, hotpath_test.go
			if err != nil {
				return err
			}
			e.floors[alg] = append(e.floors[alg], check)
		}
	}
	return nil
}

// eksPayload is an EKS projected service-account token's claims (about 700 bytes encoded).
func eksPayload(iss, sub string, now time.Time) map[string]any {
	ns, sa, _ := strings.Cut(strings.TrimPrefix(sub, "system:serviceaccount:"), ":")
	return map[string]any{
		"iss": iss, "sub": sub, "aud": []string{clientID},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(),
		"jti": "5d0c6d47-1c39-4c7c-a1f5-0e6c1b2d3f4a",
		"kubernetes.io": map[string]any{
			"namespace": ns,
			"node":      map[string]any{"name": "ip-192-168-12-34.us-west-2.compute.internal", "uid": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
			"pod":       map[string]any{"name": "app-7d9f8b6c5d-x2x7z", "uid": "0d3c1f5e-6d4b-4e7a-9c1e-2f3a4b5c6d7e"},
			"serviceaccount": map[string]any{
				"name": sa, "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
			},
		},
	}
}

// signJWT returns the compact JWS of claims signed with key under alg (RS256, ES256, EdDSA).
func signJWT(alg, kid string, key crypto.Signer, claims map[string]any) (string, error) {
	hdr, err := json.Marshal(map[string]string{"alg": alg, "kid": kid})
	if err != nil {
		return "", err
	}
	pay, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(hdr) + "." + b64(pay)
	var sig []byte
	switch alg {
	case "RS256":
		d := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(nil, key.(*rsa.PrivateKey), crypto.SHA256, d[:])
	case "ES256":
		d := sha256.Sum256([]byte(input))
		r, s, serr := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), d[:])
		sig, err = make([]byte, 64), serr
		if err == nil {
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "EdDSA":
		sig = ed25519.Sign(key.(ed25519.PrivateKey), []byte(input))
	default:
		err = fmt.Errorf("no signer for %s", alg)
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// floorOp is one op of the <alg>/floor rows, and assumeOp one of the <alg>/assume rows (and of
// the paired rows' two sides): named functions, never inlined, so that scripts/instructions.sh
// can count the instructions of each (valgrind's callgrind, collecting inside them only).
//
//go:noinline
func floorOp(check func() bool) error {
	if !check() {
		return errBare
	}
	return nil
}

//go:noinline
func assumeOp(ctx context.Context, v *verifier.Verifier, req *verifier.Request) error {
	_, err := v.AssumeRoleWithWebIdentity(ctx, req)
	return err
}

// record keeps a sub-benchmark's figures for the ratios of the sub-benchmarks after it.
func (e *accountsEnv) record(name string, f runFigures) {
	e.mu.Lock()
	e.last[name] = f
	e.mu.Unlock()
}

func (e *accountsEnv) figures(name string) (runFigures, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, ok := e.last[name]
	return f, ok
}

// timed runs op in b.Loop and reports cpu-ns/op (the process's CPU time per op: on a shared
// machine ns/op also counts waiting for a CPU), records the figures under name, and reports
// the ratios to the figures recorded under each of ratios (metric "x-<unit>" for wall time
// and "x-<unit>-cpu" for CPU time).
func (e *accountsEnv) timed(b *testing.B, name string, op func(i int) error, ratios map[string]string) {
	b.ReportAllocs()
	if steadyRows[name] {
		steadyHeap(b, op)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	faults0 := cputime.Faults()
	cpu0 := cputime.Process()
	i := 0
	for b.Loop() {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpu := float64(cputime.Process()-cpu0) / float64(b.N)
	if faults0 >= 0 {
		// First touches of memory (see warmHeap): a figure a server in its steady state
		// pays rarely, so a row with many shows the cost of the heap's growth.
		b.ReportMetric(float64(cputime.Faults()-faults0)/float64(b.N), "faults/op")
	}
	runtime.ReadMemStats(&m1)
	if e.gcPerByte > 0 {
		// At full size a run of a few hundred milliseconds rarely completes a collection of
		// the big heap, so cpu-ns/op leaves the collector out: this is its steady-state share.
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N)*e.gcPerByte, "gc-est-ns/op")
	}
	b.ReportMetric(float64(m1.NumGC-m0.NumGC), "gcs") // collections completed during the run
	f := runFigures{ns: float64(b.Elapsed().Nanoseconds()) / float64(b.N), cpu: cpu}
	if cpu0 != 0 {
		b.ReportMetric(cpu, "cpu-ns/op")
	}
	e.record(name, f)
	for unit, base := range ratios {
		ref, ok := e.figures(base)
		if !ok || ref.ns <= 0 {
			continue
		}
		b.ReportMetric(f.ns/ref.ns, "x-"+unit)
		if cpu0 != 0 && ref.cpu > 0 {
			b.ReportMetric(f.cpu/ref.cpu, "x-"+unit+"-cpu")
		}
	}
}

// steadyRows are the rows that allocate hundreds of megabytes in a run (tokencache/hit: 450 B
// per op at about a microsecond): each is timed on a heap in the steady state (steadyHeap).
var steadyRows = map[string]bool{
	"tokencache/hit": true, "tokencache/hit-writes": true, "tokencache/hit-new-session": true,
}

// steadyHeap runs op for twice -benchtime (in time or in ops: more than the timed run will
// allocate, b.Loop's ramp-up included), then collects, so that the timed run allocates on
// pages the warm-up backed and the collection freed, as a server's allocations land cycle
// after cycle on the pages its last collection freed. At full size no collection of the big
// heap completes during a run, so without it every page such a row allocates is touched for
// the first time, and the row pays a page fault per 4 KiB (faults/op: 0.13-0.18 per hit op,
// a few hundred ns) that a server in its steady state does not. Allocating and dropping a
// heap's worth of memory once after the set-up did not do it (the faults stayed): the
// allocator went on taking free pages that the runtime had already returned to the OS
// (MemStats.HeapReleased: 450 MB of them at full size). What the collector costs a server
// per op is GC est./op, reported apart.
func steadyHeap(b *testing.B, op func(i int) error) {
	d, n := benchTime()
	d, n = 2*d, 2*n
	start := time.Now()
	for i := 0; (n > 0 && i < n) || (n == 0 && time.Since(start) < d); i++ {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
}

// benchTime returns -test.benchtime: a duration, or a count of ops (n > 0, as "100x").
func benchTime() (d time.Duration, n int) {
	d = time.Second // the testing package's default
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return d, 0
	}
	v := f.Value.String()
	if c, ok := strings.CutSuffix(v, "x"); ok {
		if k, err := strconv.Atoi(c); err == nil && k > 0 {
			return 0, k
		}
	}
	if t, err := time.ParseDuration(v); err == nil && t > 0 {
		return t, 0
	}
	return d, 0
}

// pairBlock is how many ops of one side paired runs before it turns to the other: 16 ops of
// 35-90 µs, a millisecond or so, short against the drift of a shared machine's load.
const pairBlock = 16

// paired runs floor and assume in alternating blocks of pairBlock ops within one run (each
// b.Loop iteration is one op of the side whose turn it is) and reports assume's time and CPU
// per op over floor's (x-floor, x-floor-cpu), each side's CPU time being the process's CPU
// time between the block boundaries. Both sides see the same machine at the same moments, so
// the ratio is not moved by the load of the neighbours changing between two runs, as the
// ratio of <alg>/assume to the <alg>/floor run before it is (rounds of those differ by up to
// ±10 % on this kind of machine). B/op and allocs/op are over both sides' ops.
func (e *accountsEnv) paired(b *testing.B, floor, assume func(i int) error) {
	b.ReportAllocs()
	var (
		cpu  [2]time.Duration
		wall [2]time.Duration
		ops  [2]int
		flt  [2]int64
	)
	side, n := 0, 0
	c0, w0, f0 := cputime.Process(), time.Now(), cputime.Faults()
	turn := func() {
		c1, w1, f1 := cputime.Process(), time.Now(), cputime.Faults()
		cpu[side] += c1 - c0
		wall[side] += w1.Sub(w0)
		flt[side] += f1 - f0
		ops[side] += n
		side, n, c0, w0, f0 = 1-side, 0, c1, w1, f1
	}
	i := 0
	for b.Loop() {
		op := floor
		if side == 1 {
			op = assume
		}
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		i++
		if n++; n == pairBlock {
			turn()
		}
	}
	turn()
	if ops[0] == 0 || ops[1] == 0 {
		return // a run too short to have both sides
	}
	per := func(d time.Duration, k int) float64 { return float64(d) / float64(k) }
	if f0 >= 0 {
		b.ReportMetric(float64(flt[1])/float64(ops[1]), "faults/op") // assume's (see timed)
	}
	b.ReportMetric(per(wall[0], ops[0]), "floor-ns/op")
	b.ReportMetric(per(wall[1], ops[1]), "assume-ns/op")
	b.ReportMetric(per(wall[1], ops[1])/per(wall[0], ops[0]), "x-floor")
	if cpu[0] > 0 && cpu[1] > 0 {
		b.ReportMetric(per(cpu[0], ops[0]), "floor-cpu-ns/op")
		b.ReportMetric(per(cpu[1], ops[1]), "assume-cpu-ns/op")
		b.ReportMetric(per(cpu[1], ops[1])/per(cpu[0], ops[0]), "x-floor-cpu")
	}
}

// writer makes paced registry writes on the writer's accounts (never read by the benchmarks):
// UpdateAssumeRolePolicy of a role, AddClientIDToOIDCProvider and then
// RemoveClientIDFromOIDCProvider of a provider, in turn.
type writer struct {
	e      *accountsEnv
	done   chan struct{}
	wg     sync.WaitGroup
	start  time.Time
	writes atomic.Int64
	busy   atomic.Int64 // nanoseconds spent inside the write calls
	err    atomic.Pointer[error]
}

// startWriter starts the writer; stop ends it and reports writes/s and writer-ns/op (the time
// the writes took per benchmark op: most of the writer's share of cpu-ns/op).
func (e *accountsEnv) startWriter(b *testing.B) (stop func()) {
	w := &writer{e: e, done: make(chan struct{}), start: time.Now()}
	w.wg.Go(w.run)
	return func() {
		close(w.done)
		w.wg.Wait()
		if p := w.err.Load(); p != nil {
			b.Fatal(*p)
		}
		if d := time.Since(w.start).Seconds(); d > 0 {
			b.ReportMetric(float64(w.writes.Load())/d, "writes/s")
		}
		if b.N > 0 {
			b.ReportMetric(float64(w.busy.Load())/float64(b.N), "writer-ns/op")
		}
	}
}

func (w *writer) run() {
	e := w.e
	var writerAccounts []int
	for a := writerEvery - 1; a < e.accounts; a += writerEvery {
		writerAccounts = append(writerAccounts, a)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	next := time.Now()
	for n := 0; ; n++ {
		select {
		case <-w.done:
			return
		default:
		}
		if d := time.Until(next); d > 0 {
			t.Reset(d)
			select {
			case <-w.done:
				return
			case <-t.C:
			}
		} else if d < -100*time.Millisecond {
			next = time.Now() // far behind (a busy machine): do not catch up in a burst
		}
		next = next.Add(time.Second / writesPerSecond)

		// Every group of four writes touches one account: two trust-policy updates of a role,
		// a client ID added to a provider and removed again.
		j := n / 4
		a := writerAccounts[j%len(writerAccounts)]
		k := (j / len(writerAccounts)) % rolesPerAccount
		t0 := time.Now()
		var err error
		switch n % 4 {
		case 0, 2:
			doc := e.trustPolicy(a, e.issuerURL(e.roleIssuer(a, k)), serviceAccount(a, k)+"-v"+strconv.Itoa(n))
			_, err = e.reg.UpdateAssumeRolePolicy(accountRoleARN(a, k), doc)
		case 1:
			_, err = e.reg.AddClientIDToOIDCProvider(w.providerARN(a, k), "extra.example.com")
		case 3:
			_, err = e.reg.RemoveClientIDFromOIDCProvider(w.providerARN(a, k), "extra.example.com")
		}
		w.busy.Add(int64(time.Since(t0)))
		if err != nil {
			w.err.Store(&err)
			return
		}
		w.writes.Add(1)
	}
}

func (w *writer) providerARN(a, k int) string {
	iss := w.e.issuerURL(w.e.providerIssuer(a, k%providersPerAccount))
	return "arn:aws:iam::" + account(a) + ":oidc-provider/" + strings.TrimPrefix(iss, "https://")
}

var errLookup = errors.New("bench: lookup failed")

// hotTenants is how many (account, issuer, role) triples lookup/hot cycles over.
const hotTenants = 64

// BenchmarkAccounts measures the multi-account registry through the verifier: 100,000
// providers over 10,000 accounts sharing 1,000 issuers and 200,000 roles with IRSA trust
// policies (WEBIDENTITY_BENCH_SCALE=full; 1/100 of that by default), filled with reg.Load,
// keys of every issuer fetched once into one jwks.Cache over local TLS, every provider
// pinning the server's certificate. Requests go to random roles of random accounts; each
// token is its role's issuer's, signed with that issuer's key.
//
//	latency/memory           one hop of a random pointer chase through 256 MiB: what a memory
//	                         access that misses the caches and the TLBs costs during this run
//	lookup/hot               reg.OIDCProvider + reg.Role for 64 tenants only (in cache): what
//	                         the lookups cost without the memory misses of random tenants
//	lookup/quiet             reg.OIDCProvider + reg.Role, the two lookups the verifier makes
//	lookup/writes            the same while a goroutine makes 1,000 registry writes per second
//	policy/hot, policy/random policy.Evaluate of the trust policies of 64 roles (in cache) and
//	                         of 4,096 random roles, for requests they allow
//	<alg>/floor              the bare signature check of the same tokens (internal/floor)
//	<alg>/assume             AssumeRoleWithWebIdentity, token cache off (x-floor: × floor)
//	<alg>/assume-writes      the same under 1,000 writes per second (x-quiet: × assume)
//	<alg>/paired             floor and assume in alternating blocks of 16 ops within one run:
//	                         assume over floor (x-floor, x-floor-cpu) with both measured at the
//	                         same moments, the ratio the goals are judged on
//	tokencache/hit           AssumeRoleWithWebIdentity of tokens already in the token cache
//	tokencache/hit-writes    the same under writes
//	tokencache/hit-into      tokencache/hit through AssumeRoleWithWebIdentityInto, one Answer
//	                         recycled
//	tokencache/hit-new-session  the same tokens under a RoleSessionName other than their last:
//	                         no decision memo, the token cache alone
//	memory                   B/provider, B/role: the registry's heap per entity (after GC);
//	                         B/issuer: the key cache's heap per issuer; s/load: reg.Load
//
// Ratios (x-floor, x-quiet; -cpu on cpu-ns/op) are to the sub-benchmark run just before in
// the same process. Under writes, cpu-ns/op, B/op and allocs/op include the writer's work
// (writer-ns/op is the time its writes took per op).
func BenchmarkAccounts(b *testing.B) {
	e := getAccounts(b)
	rounds, err := accountRounds()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	lookupIn := func(mask int) func(i int) error {
		return func(i int) error {
			k := &e.lookups[i&mask]
			p, err := e.reg.OIDCProvider("aws", k.account, k.issuer)
			if err != nil || p == nil {
				return errLookup
			}
			ro, err := e.reg.Role(k.role)
			if err != nil || ro == nil {
				return errLookup
			}
			return nil
		}
	}
	lookup, lookupHot := lookupIn(len(e.lookups)-1), lookupIn(hotTenants-1)
	floorOps, assumeOps := map[string]func(int) error{}, map[string]func(int) error{}
	var all []*verifier.Request // every token, of every algorithm, for the token cache
	for _, alg := range accountAlgs {
		toks, floors := e.tokens[alg], e.floors[alg]
		n := len(toks)
		floorOps[alg] = func(i int) error { return floorOp(floors[i%n]) }
		assumeOps[alg] = func(i int) error { return assumeOp(ctx, e.plain, &toks[i%n].req) }
		for i := range toks {
			all = append(all, &toks[i].req)
		}
	}
	hit := func(i int) error {
		_, err := e.cached.AssumeRoleWithWebIdentity(ctx, all[i%len(all)])
		return err
	}
	// The same tokens, each time under another RoleSessionName (1,000 names; a token comes
	// back with a name other than its last one, as 3,072 mod 1,000 is not 0): the token cache
	// spares the signature check, but the decision memo never applies.
	sessions := make([]string, 1000)
	for i := range sessions {
		sessions[i] = fmt.Sprintf("session-%04d", i)
	}
	// The same requests as hit through AssumeRoleWithWebIdentityInto, one Answer recycled.
	var answer verifier.Answer
	hitInto := func(i int) error {
		_, err := e.cached.AssumeRoleWithWebIdentityInto(ctx, all[i%len(all)], &answer)
		return err
	}
	var ring [64]verifier.Request // requests built per op without allocating
	hitNewSession := func(i int) error {
		req := &ring[i%len(ring)]
		*req = *all[i%len(all)]
		req.RoleSessionName = sessions[i%len(sessions)]
		_, err := e.cached.AssumeRoleWithWebIdentity(ctx, req)
		return err
	}
	quiet := func(name string, op func(int) error, ratios map[string]string) {
		b.Run(name, func(b *testing.B) { e.timed(b, name, op, ratios) })
	}
	writes := func(name string, op func(int) error, ratios map[string]string) {
		b.Run(name, func(b *testing.B) {
			defer e.startWriter(b)()
			e.timed(b, name, op, ratios)
		})
	}
	evalIn := func(n int) func(i int) error {
		return func(i int) error {
			c := &e.evals[i&(n-1)]
			if c.policy.Evaluate(c.req).Effect != policy.Allow {
				return errLookup
			}
			return nil
		}
	}
	hop := uint32(0)
	chase := func(int) error {
		hop = e.chase[hop]
		return nil
	}
	for range rounds {
		quiet("latency/memory", chase, nil)
		quiet("lookup/hot", lookupHot, nil)
		quiet("lookup/quiet", lookup, nil)
		writes("lookup/writes", lookup, map[string]string{"quiet": "lookup/quiet"})
		quiet("policy/hot", evalIn(hotTenants), nil)
		quiet("policy/random", evalIn(evalCases), nil)
		for _, alg := range accountAlgs {
			quiet(alg+"/floor", floorOps[alg], nil)
			quiet(alg+"/assume", assumeOps[alg], map[string]string{"floor": alg + "/floor"})
			writes(alg+"/assume-writes", assumeOps[alg], map[string]string{"quiet": alg + "/assume", "floor": alg + "/floor"})
			b.Run(alg+"/paired", func(b *testing.B) { e.paired(b, floorOps[alg], assumeOps[alg]) })
		}
		quiet("tokencache/hit", hit, nil)
		writes("tokencache/hit-writes", hit, map[string]string{"quiet": "tokencache/hit"})
		quiet("tokencache/hit-into", hitInto, nil)
		quiet("tokencache/hit-new-session", hitNewSession, nil)
	}
	b.Run("memory", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(e.perProvider, "B/provider")
		b.ReportMetric(e.perRole, "B/role")
		b.ReportMetric(e.perDocument, "B/role-document")
		b.ReportMetric(e.gcPerByte, "gc-ns/heap-byte")
		b.ReportMetric(e.perIssuer, "B/issuer")
		b.ReportMetric(e.load.Seconds(), "s/load")
	})
}
