package verifier

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// eksClaims is an EKS projected service-account token's payload (about 580 bytes of JSON, 770
// characters encoded; the EdDSA token is about 960), the shape of bench/accounts_test.go's
// eksPayload.
func eksClaims() map[string]any {
	return map[string]any{
		"iss": "https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF",
		"sub": "system:serviceaccount:payments:checkout-api", "aud": []string{"sts.amazonaws.com"},
		"iat": testNow.Unix(), "nbf": testNow.Unix(), "exp": testNow.Add(24 * time.Hour).Unix(),
		"jti": "5d0c6d47-1c39-4c7c-a1f5-0e6c1b2d3f4a",
		"kubernetes.io": map[string]any{
			"namespace": "payments",
			"node":      map[string]any{"name": "ip-192-168-12-34.us-west-2.compute.internal", "uid": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
			"pod":       map[string]any{"name": "app-7d9f8b6c5d-x2x7z", "uid": "0d3c1f5e-6d4b-4e7a-9c1e-2f3a4b5c6d7e"},
			"serviceaccount": map[string]any{
				"name": "checkout-api", "uid": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
			},
		},
	}
}

// BenchmarkParse measures the full path's token work before any lookup: decoding the three
// base64url segments of an EdDSA-signed EKS token (decode), reading its header (header) and
// its claims (claims), and the three together (all), as verifyFull does them, on pooled
// scratch memory. Compare cpu-ns/op: on a shared machine ns/op counts waiting for a CPU too.
func BenchmarkParse(b *testing.B) {
	k := newTestKey(b, "EdDSA", "kZ3yWqV9vJ0xQy1cO2p8m3b4R5s6T7u8V9w0X1y2Z3a")
	tok := mint(b, k, eksClaims(), nil)
	c, e := splitCompact(tok)
	require.Nil(b, e)
	sc := &scratch{buf: make([]byte, 0, 4096)}
	decode := func() (hdr, pay, sig []byte) {
		need := len(tok) + decodedLen(c.dot1) + decodedLen(c.dot2-c.dot1-1) + decodedLen(len(tok)-c.dot2-1)
		buf := grow(sc.buf[:0], need)[:0]
		buf = append(buf, tok...)
		raw := buf
		var err error
		if buf, hdr, err = decodeInto(buf, raw[:c.dot1]); err != nil {
			b.Fatal(segmentError(raw[:c.dot1], err))
		}
		if buf, pay, err = decodeInto(buf, raw[c.dot1+1:c.dot2]); err != nil {
			b.Fatal(segmentError(raw[c.dot1+1:c.dot2], err))
		}
		if buf, sig, err = decodeInto(buf, raw[c.dot2+1:]); err != nil {
			b.Fatal(segmentError(raw[c.dot2+1:], err))
		}
		sc.buf = buf
		return hdr, pay, sig
	}
	hdr, pay, _ := decode()
	require.Greater(b, len(pay), 550)
	require.True(b, strings.HasPrefix(string(hdr), "{"))
	r := &sc.reader
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		b.SetBytes(int64(len(tok)))
		for b.Loop() {
			decode()
		}
	})
	b.Run("header", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, e := parseHeader(r, hdr); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("claims", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, e := parseClaims(r, pay); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			hdr, pay, _ := decode()
			if _, e := parseHeader(r, hdr); e != nil {
				b.Fatal(e)
			}
			if _, e := parseClaims(r, pay); e != nil {
				b.Fatal(e)
			}
		}
	})
}

// evictor stands in for what runs between two requests on the full path: the 40–70 µs
// signature check, which leaves the parser's code and data in L2 at best. evict runs an
// Ed25519 verification (other code through L1i) and reads evictBytes of other data (through
// L1d).
type evictor struct {
	pub  ed25519.PublicKey
	msg  []byte
	sig  []byte
	data []byte
	sink byte
}

const evictBytes = 384 << 10

func newEvictor() *evictor {
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	msg := make([]byte, 900)
	return &evictor{pub: priv.Public().(ed25519.PublicKey), msg: msg, sig: ed25519.Sign(priv, msg), data: make([]byte, evictBytes)}
}

func (e *evictor) evict() {
	if !ed25519.Verify(e.pub, e.msg, e.sig) {
		panic("evictor: signature")
	}
	var x byte
	for i := 0; i < len(e.data); i += 64 {
		x ^= e.data[i]
		e.data[i] = x
	}
	e.sink ^= x
}

// BenchmarkParseCold is BenchmarkParse in place: before each op an Ed25519 verification and a
// read of 384 KB evict the parser's code and data from L1, as the signature check does
// between two requests. Only the op is timed (a clock read either side, ≈ 20 ns, included):
// compare parse-ns/op; ns/op is mostly the eviction.
func BenchmarkParseCold(b *testing.B) {
	k := newTestKey(b, "EdDSA", "kZ3yWqV9vJ0xQy1cO2p8m3b4R5s6T7u8V9w0X1y2Z3a")
	tok := mint(b, k, eksClaims(), nil)
	sc := &scratch{buf: make([]byte, 0, 4096)}
	r := &sc.reader
	ev := newEvictor()
	type parts struct{ hdr, pay, sig []byte }
	decode := func(c *compact) parts {
		need := len(tok) + decodedLen(c.dot1) + decodedLen(c.dot2-c.dot1-1) + decodedLen(len(tok)-c.dot2-1)
		buf := grow(sc.buf[:0], need)[:0]
		buf = append(buf, tok...)
		raw := buf
		var p parts
		var err error
		if buf, p.hdr, err = decodeInto(buf, raw[:c.dot1]); err != nil {
			b.Fatal(segmentError(raw[:c.dot1], err))
		}
		if buf, p.pay, err = decodeInto(buf, raw[c.dot1+1:c.dot2]); err != nil {
			b.Fatal(segmentError(raw[c.dot1+1:c.dot2], err))
		}
		if buf, p.sig, err = decodeInto(buf, raw[c.dot2+1:]); err != nil {
			b.Fatal(segmentError(raw[c.dot2+1:], err))
		}
		sc.buf = buf
		return p
	}
	c0, e := splitCompact(tok)
	require.Nil(b, e)
	p0 := decode(&c0)
	run := func(b *testing.B, op func()) {
		b.ReportAllocs()
		var total time.Duration
		for b.Loop() {
			ev.evict()
			t0 := time.Now()
			op()
			total += time.Since(t0)
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "parse-ns/op")
	}
	b.Run("split", func(b *testing.B) {
		run(b, func() {
			if _, e := splitCompact(tok); e != nil {
				b.Fatal(e)
			}
		})
	})
	b.Run("decode", func(b *testing.B) { run(b, func() { decode(&c0) }) })
	b.Run("header", func(b *testing.B) {
		run(b, func() {
			if _, e := parseHeader(r, p0.hdr); e != nil {
				b.Fatal(e)
			}
		})
	})
	b.Run("claims", func(b *testing.B) {
		run(b, func() {
			if _, e := parseClaims(r, p0.pay); e != nil {
				b.Fatal(e)
			}
		})
	})
	b.Run("all", func(b *testing.B) {
		run(b, func() {
			c, e := splitCompact(tok)
			if e != nil {
				b.Fatal(e)
			}
			p := decode(&c)
			if _, e := parseHeader(r, p.hdr); e != nil {
				b.Fatal(e)
			}
			if _, e := parseClaims(r, p.pay); e != nil {
				b.Fatal(e)
			}
		})
	})
}

// BenchmarkSessionTags measures reading a tags claim of three tags, one transitive.
func BenchmarkSessionTags(b *testing.B) {
	text := `{"x":1,"https://aws.amazon.com/tags":{"principal_tags":{"Project":["Automation"],"CostCenter":["987654"],"Team":["payments"]},"transitive_tag_keys":["Project"]}}`
	r := new(objectReader)
	r.reset([]byte(text))
	require.NoError(b, r.beginObject())
	var sp span
	for {
		m, more, err := r.nextMember()
		require.NoError(b, err)
		require.True(b, more)
		if r.nameEquals(m, tagsClaim) {
			sp = m.span
			break
		}
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		st, e := parseSessionTags(text, sp)
		if e != nil || len(st.tags) != 3 {
			b.Fatal(e)
		}
	}
}
