package stsapi

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/verifier"
)

func TestLocalIssuer(t *testing.T) {
	l := &LocalIssuer{Now: fixedClock}
	req := &IssueRequest{Result: &verifier.Result{Duration: 15 * time.Minute}}

	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			c, err := l.Issue(context.Background(), req)
			assert.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			assert.False(t, seen[c.AccessKeyID], "access key id repeated")
			seen[c.AccessKeyID] = true
			assert.Regexp(t, `^ASIA[A-Z2-7]{16}$`, c.AccessKeyID)
			assert.Regexp(t, `^[A-Za-z0-9+/]{40}$`, c.SecretAccessKey)
			assert.True(t, strings.HasPrefix(c.SessionToken, LocalSessionTokenPrefix))
			assert.Equal(t, testNow.Add(15*time.Minute), c.Expiration)
		})
	}
	wg.Wait()

	// A failing randomness source fails the issue instead of minting weak keys.
	_, err := (&LocalIssuer{Rand: bytes.NewReader(make([]byte, 12))}).Issue(context.Background(), req)
	require.Error(t, err)
}
