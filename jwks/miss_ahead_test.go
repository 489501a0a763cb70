package jwks

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// inMissRefresh reports whether the caller runs inside (*issuer).missRefresh.
func inMissRefresh() bool {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		fr, more := frames.Next()
		if strings.HasSuffix(fr.Function, ".(*issuer).missRefresh") {
			return true
		}
		if !more {
			return false
		}
	}
}

// TestMissAfterRefreshAheadFinished: a kid miss on keys past their refresh point (or after
// the clock stepped back) starts a refresh ahead in usable, then looks for a running fetch in
// missRefresh. The answer must not depend on whether that refresh is still running there
// (joined: ErrUnknownKey) or has just finished: it is this lookup's refresh, so ErrUnknownKey
// again, never ErrRateLimited by the interval that very refresh set. The clock holds the miss
// until the refresh has finished, the order the scheduler picks now and then (it made
// TestClockSteppedBack/negative_entry_lapses flaky).
func TestMissAfterRefreshAheadFinished(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env)
		want  int // JWKS requests in all
	}{
		{"past the refresh point", func(e *env) { e.clock.Advance(DefaultMinTTL) }, 2},
		{"clock stepped back", func(e *env) {
			e.clock.Advance(31 * time.Second)
			_, err := e.cache.Key(bg, e.iss.URL(), "nope") // fetched, negative-cached
			require.ErrorIs(t, err, ErrUnknownKey)
			require.NotErrorIs(t, err, ErrRateLimited)
			e.clock.Advance(-time.Hour)
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				e     *env
				armed atomic.Bool
				held  atomic.Int32
			)
			e = newEnv(t, testissuer.Options{}, func(o *Options) {
				now := o.Now
				o.Now = func() time.Time {
					if armed.Load() && inMissRefresh() && armed.CompareAndSwap(true, false) {
						held.Add(1)
						waitFetch(t, e.cache, e.iss.URL()) // the refresh ahead publishes first
					}
					return now()
				}
			})
			iss := e.iss.URL()
			_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
			require.NoError(t, err)
			tc.setup(e)
			armed.Store(true)
			_, err = e.cache.Key(bg, iss, "nope")
			require.Equal(t, int32(1), held.Load(), "the miss reached missRefresh")
			assert.ErrorIs(t, err, ErrUnknownKey)
			assert.NotErrorIs(t, err, ErrRateLimited, "the lookup's own refresh ran and did not find the kid")
			assert.Equal(t, tc.want, e.iss.Requests(testissuer.JWKS))
		})
	}
}
