package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: services, caches, servers
// and the prefetch loop must all stop. Idle keep-alive connections of HTTP clients are not
// leaks of this package.
//
// A PostgreSQL server the fleet tests started is stopped afterwards.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(wrapped{m},
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// wrapped runs the tests, then stops what they started for the whole binary.
type wrapped struct{ m *testing.M }

func (w wrapped) Run() int {
	code := w.m.Run()
	stopPostgres()
	return code
}
