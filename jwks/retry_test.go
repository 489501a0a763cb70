package jwks

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// Issue 9 item 12: a retry after a failed fetch follows its own backoff, not
// MinRefreshInterval, so an issuer that comes up a second after the cache
// is fetched again at once instead of 30 s later.
func TestRetryAfterFailureIsNotHeldByMinRefreshInterval(t *testing.T) {
	tests := []struct {
		name  string
		fault testissuer.Endpoint
	}{
		{"discovery down", testissuer.Discovery},
		{"jwks down", testissuer.JWKS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testissuer.Options{}, nil)
			iss := e.iss.URL()
			e.iss.SetFault(tt.fault, testissuer.Fault{Status: 503})

			// t=0: the issuer is down.
			err := e.cache.Prefetch(bg)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrIssuerUnavailable)

			// t=1s: it comes up. t=2s: the next Prefetch fetches and succeeds.
			e.clock.Advance(time.Second)
			e.iss.ClearFaults()
			e.iss.ResetCounts()
			e.clock.Advance(time.Second)
			require.NoError(t, e.cache.Prefetch(bg))
			assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))
			_, err = e.cache.Key(bg, iss, e.iss.Kids()[0])
			assert.NoError(t, err)
		})
	}
}

// Within the backoff after a failure, lookups still fail at once with the
// cause and make no request (fail fast, never queue).
func TestRetryBackoffFailsFastInsideTheWindow(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Status: 503})
	require.Error(t, e.cache.Prefetch(bg))
	e.iss.ResetCounts()

	e.clock.Advance(500 * time.Millisecond) // backoff after one failure: 1 s
	err := e.cache.Prefetch(bg)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrIssuerUnavailable)
	assert.ErrorIs(t, err, ErrStatus, "the last fetch's cause is kept")
	assert.Equal(t, 0, e.iss.Requests(testissuer.JWKS)+e.iss.Requests(testissuer.Discovery))
}

// Against a dead issuer, retries back off (1, 2, 4, ... s) up to
// MinRefreshInterval, however often they are asked for: no fetch storm.
func TestRetryBackoffAgainstDeadIssuer(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	e.iss.SetFault(testissuer.Discovery, testissuer.Fault{Status: 503})

	const step = 100 * time.Millisecond
	var fetchedAt []time.Duration
	for elapsed := time.Duration(0); elapsed <= 3*time.Minute; elapsed += step {
		before := e.iss.Requests(testissuer.Discovery)
		require.Error(t, e.cache.Prefetch(bg))
		// Kid lookups in between must not add fetches either.
		_, err := e.cache.Key(bg, e.iss.URL(), "kid-"+strconv.Itoa(int(elapsed/step)))
		require.Error(t, err)
		if e.iss.Requests(testissuer.Discovery) > before {
			fetchedAt = append(fetchedAt, elapsed)
		}
		e.clock.Advance(step)
	}
	want := []time.Duration{0, 1, 3, 7, 15, 31, 61, 91, 121, 151}
	for i := range want {
		want[i] *= time.Second
	}
	assert.Equal(t, want, fetchedAt)
}

// A kid flood against a healthy issuer still costs at most one fetch per
// MinRefreshInterval: the backoff applies only after failures.
func TestKidFloodAgainstHealthyIssuerStaysRateLimited(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss := e.iss.URL()
	require.NoError(t, e.cache.Prefetch(bg))
	e.iss.ResetCounts()

	const step = 250 * time.Millisecond
	n := 0
	for elapsed := time.Duration(0); elapsed < 2*time.Minute; elapsed += step {
		for range 5 {
			n++
			_, err := e.cache.Key(bg, iss, "flood-"+strconv.Itoa(n))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrUnknownKey)
		}
		e.clock.Advance(step)
	}
	// 2 minutes at 30 s after the Prefetch: fetches at 30, 60 and 90 s.
	assert.Equal(t, 3, e.iss.Requests(testissuer.JWKS))
}

// A failure between successes does not shorten the interval of a healthy
// issuer: after the recovery fetch, MinRefreshInterval applies again.
func TestRecoveryRestoresMinRefreshInterval(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss := e.iss.URL()
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Status: 500})
	require.Error(t, e.cache.Prefetch(bg))
	e.iss.ClearFaults()
	e.clock.Advance(time.Second)
	require.NoError(t, e.cache.Prefetch(bg))
	e.iss.ResetCounts()

	e.clock.Advance(2 * time.Second)
	_, err := e.cache.Key(bg, iss, "unknown")
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, 0, e.iss.Requests(testissuer.JWKS))
}

func TestRetryBackoffSchedule(t *testing.T) {
	tests := []struct {
		name       string
		base, cap  time.Duration
		n          int
		wantWaited time.Duration
	}{
		{"first", time.Second, 30 * time.Second, 1, time.Second},
		{"second", time.Second, 30 * time.Second, 2, 2 * time.Second},
		{"fifth", time.Second, 30 * time.Second, 5, 16 * time.Second},
		{"capped", time.Second, 30 * time.Second, 6, 30 * time.Second},
		{"many", time.Second, 30 * time.Second, 1000, 30 * time.Second},
		{"base above cap", time.Minute, 30 * time.Second, 1, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings{retryBase: tt.base, minRefresh: tt.cap}
			assert.Equal(t, tt.wantWaited, s.retryBackoff(tt.n))
		})
	}
}
