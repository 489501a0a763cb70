package stsapi

import (
	"context"
	"sync"
	"time"
)

// decisionContext is the context the verifier, the RoleIDs and the credential issuer run
// under: the request's context with the handler's DecisionTimeout. context.WithTimeout arms
// a runtime timer and registers with the request's context on every request (about a
// microsecond and seven allocations: a large part of the handler's own cost once the rest
// was taken out), although a decision from the verified-token cache never waits.
// decisionContext arms its timer and its link to the parent only when Done is first called:
// by a verifier that fetches keys, by a context derived from it (context.WithCancel and the
// others call Done), by an issuer that waits. Deadline, Value and Err need neither: Err
// compares the clock with the deadline and asks the parent.
//
// It behaves as the context of context.WithDeadline(parent, deadline) whose cancel runs
// when release is called: Err is nil, then DeadlineExceeded once the deadline passes, the
// parent's error once the parent is done, or Canceled after release, whichever comes first,
// and stays so; Done is closed then.
type decisionContext struct {
	parent   context.Context
	deadline time.Time

	mu         sync.Mutex
	err        error         // set once
	done       chan struct{} // made by the first Done
	timer      *time.Timer   // armed by the first Done, until err is set
	stopParent func() bool   // context.AfterFunc on parent, from the first Done
}

var _ context.Context = (*decisionContext)(nil)

// newDecisionContext returns the context for a decision that started at start: parent's,
// with the deadline start+timeout or parent's own if that is earlier.
func newDecisionContext(parent context.Context, start time.Time, timeout time.Duration) *decisionContext {
	deadline := start.Add(timeout)
	if d, ok := parent.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return &decisionContext{parent: parent, deadline: deadline}
}

// Deadline returns the decision's deadline.
func (c *decisionContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Value returns the parent's value for key.
func (c *decisionContext) Value(key any) any { return c.parent.Value(key) }

// Err returns nil while the decision may go on, else why it may not.
func (c *decisionContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		if err := c.check(); err != nil {
			c.end(err)
		}
	}
	return c.err
}

// Done returns a channel closed when Err turns non-nil. The first call arms the timer and
// the link to the parent.
func (c *decisionContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	if c.err == nil {
		if err := c.check(); err != nil {
			c.end(err) // before done exists: end does not close it
		}
	}
	c.done = make(chan struct{})
	if c.err != nil {
		close(c.done)
		return c.done
	}
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
	parent := c.parent
	c.stopParent = context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
	return c.done
}

// release ends the context with Canceled (unless it already ended) and disarms it: the
// cancel of context.WithTimeout, for when the handler is done.
func (c *decisionContext) release() { c.cancel(context.Canceled) }

// cancel ends the context with err unless it already ended.
func (c *decisionContext) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.end(err)
	}
}

// check returns the parent's error, DeadlineExceeded once the deadline passed, or nil. c.mu
// is held.
func (c *decisionContext) check() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// end sets err (nil before), closes Done and disarms the timer and the parent link. c.mu
// is held.
func (c *decisionContext) end(err error) {
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.stopParent != nil {
		c.stopParent()
	}
}
