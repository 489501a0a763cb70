package cputime

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Process grows while the process computes.
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("CPU time is read only on unix")
	}
	before := Process()
	x := 0
	for i := range 50_000_000 {
		x ^= i
	}
	_ = x
	assert.Greater(t, Process(), before)
}
