package stsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/verifier"
)

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

type ctxKey struct{}

// decisionContext behaves as context.WithDeadline's context: deadline, parent's error and
// values, release as cancel; Done closed exactly when Err turns non-nil.
func TestDecisionContext(t *testing.T) {
	t.Run("open until the deadline, then DeadlineExceeded", func(t *testing.T) {
		start := time.Now()
		c := newDecisionContext(context.Background(), start, 20*time.Millisecond)
		defer c.release()
		d, ok := c.Deadline()
		assert.True(t, ok)
		assert.Equal(t, start.Add(20*time.Millisecond), d)
		assert.NoError(t, c.Err())
		done := c.Done()
		assert.False(t, closed(done))
		<-done // the timer fires
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
		c.release()
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded, "the first error stays")
	})
	t.Run("past the deadline without Done", func(t *testing.T) {
		c := newDecisionContext(context.Background(), time.Now().Add(-time.Hour), time.Minute)
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
		assert.True(t, closed(c.Done()), "a Done made after the end is closed")
	})
	t.Run("past the deadline, Done first", func(t *testing.T) {
		c := newDecisionContext(context.Background(), time.Now().Add(-time.Hour), time.Minute)
		assert.True(t, closed(c.Done()))
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	})
	t.Run("the parent's earlier deadline", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := newDecisionContext(parent, time.Now(), time.Hour)
		want, _ := parent.Deadline()
		got, ok := c.Deadline()
		assert.True(t, ok)
		assert.Equal(t, want, got)
	})
	t.Run("parent canceled before Done", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := newDecisionContext(parent, time.Now(), time.Hour)
		cancel()
		assert.ErrorIs(t, c.Err(), context.Canceled)
		assert.True(t, closed(c.Done()))
	})
	t.Run("parent canceled after Done", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := newDecisionContext(parent, time.Now(), time.Hour)
		defer c.release()
		done := c.Done()
		assert.False(t, closed(done))
		cancel()
		<-done
		assert.ErrorIs(t, c.Err(), context.Canceled)
	})
	t.Run("parent's deadline passes", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		c := newDecisionContext(parent, time.Now(), time.Hour)
		defer c.release()
		<-c.Done()
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	})
	t.Run("release", func(t *testing.T) {
		c := newDecisionContext(context.Background(), time.Now(), time.Hour)
		done := c.Done()
		c.release()
		assert.True(t, closed(done))
		assert.ErrorIs(t, c.Err(), context.Canceled)

		c = newDecisionContext(context.Background(), time.Now(), time.Hour)
		c.release()
		assert.ErrorIs(t, c.Err(), context.Canceled)
		assert.True(t, closed(c.Done()))
	})
	t.Run("values and cause", func(t *testing.T) {
		parent := context.WithValue(context.Background(), ctxKey{}, "v")
		c := newDecisionContext(parent, time.Now().Add(-time.Hour), time.Minute)
		assert.Equal(t, "v", c.Value(ctxKey{}))
		assert.Nil(t, c.Value("other"))
		assert.ErrorIs(t, context.Cause(c), context.DeadlineExceeded)
	})
	t.Run("derived contexts end with it", func(t *testing.T) {
		c := newDecisionContext(context.Background(), time.Now(), 20*time.Millisecond)
		defer c.release()
		child, cancel := context.WithTimeout(c, time.Hour)
		defer cancel()
		d, _ := child.Deadline()
		assert.Equal(t, c.deadline, d, "the child keeps the earlier deadline")
		<-child.Done()
		assert.ErrorIs(t, child.Err(), context.DeadlineExceeded)

		c2 := newDecisionContext(context.Background(), time.Now(), time.Hour)
		child2, cancel2 := context.WithCancel(c2)
		defer cancel2()
		c2.release()
		<-child2.Done()
		assert.ErrorIs(t, child2.Err(), context.Canceled)
	})
	t.Run("concurrent use", func(t *testing.T) {
		for range 50 {
			parent, cancel := context.WithCancel(context.Background())
			c := newDecisionContext(parent, time.Now(), time.Millisecond)
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					switch i {
					case 0:
						<-c.Done()
					case 1:
						cancel()
					case 2:
						c.release()
					default:
						for c.Err() == nil {
							<-c.Done()
						}
					}
				})
			}
			wg.Wait()
			err := c.Err()
			assert.True(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded), "%v", err)
			assert.True(t, closed(c.Done()))
			cancel()
		}
	})
}

// The decision's context ends at DecisionTimeout, when the caller goes away, and when the
// handler is done; it carries the request context's values.
func TestHandlerDecisionContext(t *testing.T) {
	type seen struct {
		err   error
		value any
		ctx   context.Context
	}
	serve := func(t *testing.T, timeout time.Duration, parent context.Context, decide func(ctx context.Context)) seen {
		t.Helper()
		var s seen
		h, err := NewHandler(Options{
			Verifier: deciderFunc(func(ctx context.Context, req *verifier.Request) (*verifier.Result, error) {
				decide(ctx)
				s.err, s.value, s.ctx = ctx.Err(), ctx.Value(ctxKey{}), ctx
				return allowAll(ctx, req)
			}),
			Issuer:          &LocalIssuer{},
			DecisionTimeout: timeout,
		})
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(assumeForm(testRoleARN, "header.payload.signature").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(httptest.NewRecorder(), req.WithContext(parent))
		return s
	}

	t.Run("DecisionTimeout", func(t *testing.T) {
		s := serve(t, 20*time.Millisecond, context.Background(), func(ctx context.Context) { <-ctx.Done() })
		assert.ErrorIs(t, s.err, context.DeadlineExceeded)
	})
	t.Run("the caller goes away", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		s := serve(t, time.Hour, parent, func(ctx context.Context) {
			done := ctx.Done()
			cancel()
			<-done
		})
		assert.ErrorIs(t, s.err, context.Canceled)
	})
	t.Run("values, and the end of the request", func(t *testing.T) {
		s := serve(t, time.Hour, context.WithValue(context.Background(), ctxKey{}, "v"), func(context.Context) {})
		assert.NoError(t, s.err, "a decision from the cache runs unhindered")
		assert.Equal(t, "v", s.value)
		assert.ErrorIs(t, s.ctx.Err(), context.Canceled, "released when the handler returns")
		assert.True(t, closed(s.ctx.Done()))
	})
}
