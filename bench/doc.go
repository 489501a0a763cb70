// Package bench holds webidentity's benchmark suite: the proof behind "the decision costs
// barely more than the signature check". The benchmarks live in this package's _test.go
// files; the peer comparison is the nested module bench/peers, so that the peers never enter
// the root go.mod.
//
// # Running
//
// Everything at once, summarised into bench/README.md (benchstat, about 6 minutes):
//
//	scripts/bench.sh
//
// By hand, for a quick look (the machine is small and shared: keep runs short, repeat them):
//
//	go test ./bench -run '^$' -bench 'HotPath/ES256' -benchtime 200ms -count 3
//	(cd bench/peers && go test -run '^$' -bench . -benchtime 200ms -count 3)
//
// CI runs every benchmark once (-benchtime 1x) so that none can rot; the setup of the largest
// one, 10,000 issuers fetched over local TLS, takes a few seconds.
//
// BenchmarkAccounts is sized by the environment: WEBIDENTITY_BENCH_SCALE=full is issue 10's
// registry (100,000 providers, 200,000 roles, 1,000 issuers; about a minute of set-up and 1.6 GB
// of memory), unset is 1/100 of it (the CI size), "1/N" a fraction. WEBIDENTITY_BENCH_ROUNDS
// repeats its whole sequence of sub-benchmarks, so that each ratio pairs neighbouring runs
// (-count would run each sub-benchmark N times in a row). At full size, summarised into the
// "Many accounts" section of bench/README.md:
//
//	scripts/bench.sh accounts
//
// # Reading the figures
//
// Every timed loop starts warm (keys fetched, derived keys and, where named, the token cache
// filled) and reports allocations. The names say what runs:
//
//   - BenchmarkHotPath/<alg>/bare is the floor: Go's hash and signature verify of a token split
//     and decoded beforehand. verify is Verify (every token check, keys from a warm jwks.Cache),
//     assume is the whole AssumeRoleWithWebIdentity decision with an IRSA trust policy,
//     assume-tokencache the same token again from the verified-token cache, assume-coldkeys a
//     fresh key cache per request (discovery and JWKS over local TLS: the first request after a
//     start or an eviction). The -parallel rows run from every core; compare them with
//     bare-parallel. scripts/bench.sh prints each row as a ratio to its floor: "barely more than
//     the signature check" means verify and assume stay close to 1.
//   - BenchmarkKidFlood sends tokens with random kids to a cold and a warm cache; the fetches
//     metric is the number of JWKS requests the issuer saw during the whole benchmark (at most
//     one refresh per 30 s, however many kids).
//   - BenchmarkIssuers10k caches 10,000 issuers (two keys each, fetched through discovery);
//     B/issuer is the heap retained per issuer, keyhit a key lookup across them, verify a
//     verification through a verifier that registers all of them.
//   - BenchmarkPolicy evaluates GitHub Actions trust policies of 1, 20 and 100 statements, for
//     a request allowed by the last statement and for one that none allows.
//   - BenchmarkAccounts is the verifier over many accounts: lookup is the provider and role
//     lookups of one request (random tenants across the registry), <alg>/assume the whole
//     AssumeRoleWithWebIdentity (token cache off) beside <alg>/floor, the bare check of the
//     same tokens; tokencache/hit the same tokens from the token cache; the -writes rows run
//     while a goroutine makes 1,000 registry writes per second on other tenants. x-floor and
//     x-quiet are ratios to the row run just before (-cpu: on cpu-ns/op, the process's CPU
//     time per op); memory reports the registry's heap per provider and per role.
//   - bench/peers: BenchmarkPeers/<alg>/<library> verifies the same token with the same public
//     key in webidentity, jwx v2, golang-jwt v5, go-jose v4 and go-oidc v3 (each checking the
//     signature, iss, aud and exp), beside the same floor.
//
// Absolute times depend on the machine; ratios to the floor of the same run travel better.
package bench
