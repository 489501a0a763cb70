package jwks

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

func TestConcurrentColdStartSharesOneFetch(t *testing.T) {
	e := newEnv(t, testissuer.Options{Path: "/id/COLD"}, nil)
	// Slow the JWKS a little so that callers pile up on the running fetch.
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{DelayHeaders: 50 * time.Millisecond})
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	const n = 1000
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		fails atomic.Int32
	)
	for range n {
		wg.Go(func() {
			<-start
			key, err := e.cache.Key(bg, iss, kid)
			if err != nil || key.KeyID() != kid {
				fails.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Zero(t, fails.Load())
	assert.Equal(t, 1, e.iss.Requests(testissuer.Discovery))
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))
}

func TestRandomKidFloodCostsAtMostOneFetch(t *testing.T) {
	const fetchTimeout = 5 * time.Second
	e := newEnv(t, testissuer.Options{}, func(o *Options) { o.FetchTimeout = fetchTimeout })
	iss, kid := e.iss.URL(), e.iss.Kids()[0]
	_, err := e.cache.Key(bg, iss, kid)
	require.NoError(t, err)
	e.clock.Advance(31 * time.Second) // a kid-miss refresh is allowed again
	e.iss.ResetCounts()
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{DelayHeaders: 20 * time.Millisecond})

	const workers, perWorker = 8, 100000 / 8
	var (
		wg          sync.WaitGroup
		unexpected  atomic.Int32
		rateLimited atomic.Int32
		slowest     atomic.Int64
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				began := time.Now()
				_, err := e.cache.Key(bg, iss, "kid-"+strconv.Itoa(w)+"-"+strconv.Itoa(i))
				if d := int64(time.Since(began)); d > slowest.Load() {
					slowest.Store(d)
				}
				switch {
				case err == nil:
					unexpected.Add(1)
				case !assert.ErrorIs(t, err, ErrUnknownKey):
					unexpected.Add(1)
				}
				if errors.Is(err, ErrRateLimited) {
					rateLimited.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, unexpected.Load())
	assert.LessOrEqual(t, e.iss.Requests(testissuer.JWKS), 1)
	assert.Equal(t, 0, e.iss.Requests(testissuer.Discovery))
	assert.Greater(t, rateLimited.Load(), int32(99000), "callers after the refresh fail fast")
	assert.Less(t, time.Duration(slowest.Load()), fetchTimeout, "no call waits longer than one fetch")

	// The known key is unaffected.
	_, err = e.cache.Key(bg, iss, kid)
	assert.NoError(t, err)
}

// TestNewKidUnderLoadJoinsOneRefresh: right after a rotation, many
// concurrent tokens with the new kid share one refresh and all succeed.
func TestNewKidUnderLoadJoinsOneRefresh(t *testing.T) {
	e := newEnv(t, testissuer.Options{}, nil)
	iss := e.iss.URL()
	_, err := e.cache.Key(bg, iss, e.iss.Kids()[0])
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	newKid, err := e.iss.Rotate("ES256")
	require.NoError(t, err)
	e.iss.ResetCounts()
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{DelayHeaders: 50 * time.Millisecond})

	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		fails atomic.Int32
	)
	for range 200 {
		wg.Go(func() {
			<-start
			if _, err := e.cache.Key(bg, iss, newKid); err != nil {
				fails.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	// Callers that arrive after the refresh finished find the key in the new
	// snapshot; those that arrived during it joined it. None is refused.
	assert.Zero(t, fails.Load())
	assert.Equal(t, 1, e.iss.Requests(testissuer.JWKS))
}
