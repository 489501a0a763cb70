package jwks

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// advlastPinned is a cache that fetched one key from a TLS issuer whose chain is a leaf issued by
// ca (extra appended, unverified); it returns the cache, the issuer, its key and the SHA-1s of
// the certificates of the verified chain as the client saw them.
func advlastPinned(t *testing.T, now func() time.Time, ca testCA, roots *x509.CertPool, extra ...*x509.Certificate) (*Cache, string, *Key, [][20]byte) {
	t.Helper()
	srv := pinnedIssuer(t, ca, extra...)
	c, err := New(Options{
		HTTPClient:            &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
		AllowPrivateAddresses: true,
		Issuers:               []IssuerConfig{{Issuer: srv.URL}},
		Now:                   now,
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key, err := c.Key(ctx, srv.URL, "k1")
	require.NoError(t, err)

	conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.URL, "https://"), &tls.Config{RootCAs: roots})
	require.NoError(t, err)
	defer conn.Close()
	var verified [][20]byte
	for _, ch := range conn.ConnectionState().VerifiedChains {
		for _, cert := range ch {
			verified = append(verified, sha1.Sum(cert.Raw))
		}
	}
	require.NotEmpty(t, verified)
	return c, srv.URL, key, verified
}

// TestAdversaryLastThumbprintPinsExact: through a real TLS fetch, a pin matches iff it is the
// 40-hex spelling (either case, any mix) of a verified chain certificate's SHA-1. Every pin
// that differs from such a spelling in one byte (all 256 values at all 40 positions, except
// the other case of the same hex digit), of another length, or a verified spelling with a
// suffix/prefix, or the thumbprint of a certificate the server merely appended, never matches.
func TestAdversaryLastThumbprintPinsExact(t *testing.T) {
	ca := newTestCA(t, "advlast CA", 41)
	stranger := newTestCA(t, "advlast appended", 42)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	c, iss, key, verified := advlastPinned(t, nil, ca, roots, stranger.cert)

	spell := func(fp [20]byte) string { return hex.EncodeToString(fp[:]) }
	isVerified := func(pin string) bool { // the definition: decode strictly, compare
		if len(pin) != 40 {
			return false
		}
		b, err := hex.DecodeString(pin)
		if err != nil {
			return false
		}
		for _, fp := range verified {
			if string(fp[:]) == string(b) {
				return true
			}
		}
		return false
	}
	check := func(pin string) {
		t.Helper()
		err := c.CheckThumbprints(iss, key, []string{pin})
		if isVerified(pin) {
			assert.NoError(t, err, "%q", pin)
		} else if !assert.ErrorIs(t, err, ErrThumbprintMismatch, "%q must not match", pin) {
			t.FailNow()
		}
	}
	for _, fp := range verified {
		lo := spell(fp)
		check(lo)
		check(strings.ToUpper(lo))
		mixed := []byte(lo)
		for i := range mixed {
			if i%2 == 0 && mixed[i] >= 'a' {
				mixed[i] -= 0x20
			}
		}
		check(string(mixed))
		for pos := range 40 {
			for v := range 256 {
				b := []byte(lo)
				b[pos] = byte(v)
				check(string(b))
			}
		}
		check(lo[:39])
		check(lo + "0")
		check("0" + lo)
		check(lo + lo)
		check(lo[:20])
		check(lo + "\x00")
		check(" " + lo[1:])
	}
	strangerFP := sha1.Sum(stranger.cert.Raw)
	assert.ErrorIs(t, c.CheckThumbprints(iss, key, []string{spell(strangerFP), strings.ToUpper(spell(strangerFP))}), ErrThumbprintMismatch,
		"a certificate the server only appended never matches")
	// Many pins, the good one last, and the same bad pins around it.
	pins := []string{"", strings.Repeat("g", 40), strings.Repeat("G", 40), strings.Repeat("@", 40), strings.Repeat("`", 40), strings.Repeat("\xc6", 40), spell(verified[len(verified)-1])}
	assert.NoError(t, c.CheckThumbprints(iss, key, pins))
	assert.ErrorIs(t, c.CheckThumbprints(iss, key, pins[:len(pins)-1]), ErrThumbprintMismatch)
}

// TestAdversaryLastThumbprintFoldBytes: hexFold against the strict definition for every pair of
// (spelled byte, pin byte) at every position: the 0x20 bit never makes a non-hex byte match.
func TestAdversaryLastThumbprintFoldBytes(t *testing.T) {
	digits := "0123456789abcdef"
	for _, d := range []byte(digits) {
		var lo [40]byte
		for i := range lo {
			lo[i] = digits[(i*7)%16]
		}
		for pos := range 40 {
			lo[pos] = d
			for v := range 256 {
				b := lo
				b[pos] = byte(v)
				want := byte(v) == d || (d >= 'a' && d <= 'f' && byte(v) == d-0x20)
				if got := hexFold(&lo, string(b[:])); got != want {
					t.Fatalf("hexFold(%q, byte %#x at %d) = %v, want %v", lo, v, pos, got, want)
				}
			}
		}
	}
}

// TestAdversaryLastCurrentAtAgreesWithCurrent: with an injected clock, CurrentAt ignores the
// caller's reading and answers as Current on the cache's clock; with the real clock, a reading
// without the monotonic clock is not used either, and a reading past the refresh point is not
// current.
func TestAdversaryLastCurrentAtAgreesWithCurrent(t *testing.T) {
	ca := newTestCA(t, "advlast clock CA", 43)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	t.Run("injected clock", func(t *testing.T) {
		var off atomic.Int64
		base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		now := func() time.Time { return base.Add(time.Duration(off.Load())) }
		c, iss, _, _ := advlastPinned(t, now, ca, roots)
		s, ok := c.Stamp(iss)
		require.True(t, ok)
		require.True(t, s.Current())
		assert.True(t, s.CurrentAt(time.Now()))
		off.Store(int64(48 * time.Hour)) // the cache's clock is past any refresh point
		assert.False(t, s.Current())
		assert.False(t, s.CurrentAt(time.Now()), "an injected clock: the real reading must not be used")
		assert.False(t, s.CurrentAt(base), "an injected clock: the caller's reading must not be used")
		off.Store(int64(-time.Hour)) // stepped back before the fetch
		assert.False(t, s.Current())
		assert.False(t, s.CurrentAt(time.Now()))
	})
	t.Run("real clock", func(t *testing.T) {
		c, iss, _, _ := advlastPinned(t, nil, ca, roots)
		s, ok := c.Stamp(iss)
		require.True(t, ok)
		now := time.Now()
		assert.True(t, s.CurrentAt(now))
		assert.False(t, s.CurrentAt(now.Add(48*time.Hour)), "a reading past the refresh point")
		assert.False(t, s.CurrentAt(now.Add(-48*time.Hour)), "a reading before the fetch")
		// Without the monotonic reading the cache reads its own clock: still current.
		assert.True(t, s.CurrentAt(now.Round(0).Add(48*time.Hour)))
		assert.True(t, s.CurrentAt(time.Time{}))
		// Concurrent readers under -race.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 1000 {
					if !s.CurrentAt(time.Now()) {
						t.Error("not current")
						return
					}
				}
			}()
		}
		wg.Wait()
		// A swap of the key set retires the stamp whatever the reading.
		c.Unregister(iss)
		assert.False(t, s.CurrentAt(time.Now()))
	})
}
