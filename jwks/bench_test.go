package jwks

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"runtime"
	"strconv"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// warmCache returns a cache holding keys fetched from a real test issuer.
func warmCache(b *testing.B) (*Cache, string, string) {
	b.Helper()
	iss := testissuer.Start(b, testissuer.Options{Path: "/id/EXAMPLED539D4633E53DE1B71EXAMPLE", Algorithms: []string{"RS256", "ES256"}})
	c, err := New(Options{HTTPClient: iss.Client(), AllowPrivateAddresses: true, Issuers: []IssuerConfig{{Issuer: iss.URL()}}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = c.Close() })
	require.NoError(b, c.Prefetch(bg))
	return c, iss.URL(), iss.KeyID("RS256")
}

func BenchmarkKeyHit(b *testing.B) {
	c, iss, kid := warmCache(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Key(bg, iss, kid); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyHitParallel(b *testing.B) {
	c, iss, kid := warmCache(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Key(bg, iss, kid); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkStaticKeyHit(b *testing.B) {
	set, kid := testSet(b)
	s := MustStatic("https://static.example", set...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Key(bg, "https://static.example", kid); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyMissRateLimited measures the fail-fast answer to a flood of
// unknown kids during the refresh interval.
func BenchmarkKeyMissRateLimited(b *testing.B) {
	c, iss, _ := warmCache(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Key(bg, iss, "unknown"); err == nil {
			b.Fatal("found")
		}
	}
}

// BenchmarkMemoryPerIssuer reports the heap retained per cached issuer
// holding two RSA-2048 keys, parsed from a JWKS document as a fetch would.
func BenchmarkMemoryPerIssuer(b *testing.B) {
	var keys []any
	for i := range 2 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(b, err)
		m := toMap(b, &k.PublicKey)
		m["kid"], m["alg"], m["use"] = "key-"+strconv.Itoa(i), "RS256", "sig"
		keys = append(keys, m)
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	require.NoError(b, err)

	const issuers = 1000
	b.ReportAllocs()
	var perIssuer float64
	for b.Loop() {
		c, err := New(Options{MaxIssuers: issuers, AllowAnyIssuer: true})
		require.NoError(b, err)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range issuers {
			id := "https://oidc.example/id/" + strconv.Itoa(i)
			parsed, _, err := ParseJWKS(doc)
			if err != nil || len(parsed) != 2 {
				b.Fatal("parse", err)
			}
			st, err := c.stateFor(id)
			if err != nil {
				b.Fatal(err)
			}
			snap := newSnapshot(parsed, nil)
			snap.setTimes(c.now(), c.set.minTTL, c.set.maxStale)
			st.snap.Store(snap)
			st.discURI = id + "/keys"
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perIssuer = float64(after.HeapAlloc-before.HeapAlloc) / issuers
		runtime.KeepAlive(c)
		_ = c.Close()
	}
	b.ReportMetric(perIssuer, "B/issuer")
}

// BenchmarkAlternativeLRUGetParallel measures the design not taken: looking
// issuers up in golang-lru's thread-safe Cache on every hit. Its Get takes an
// exclusive lock to update recency, so under parallel load this issuer lookup
// alone costs more than the whole lock-free hit (BenchmarkKeyHitParallel).
func BenchmarkAlternativeLRUGetParallel(b *testing.B) {
	l, err := lru.New[string, *issuer](DefaultMaxIssuers)
	require.NoError(b, err)
	const id = "https://127.0.0.1:40000/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	l.Add(id, &issuer{})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := l.Get(id); !ok {
				b.Error("miss")
				return
			}
		}
	})
}
