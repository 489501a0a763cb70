//go:build unix

package verifier

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) this process has used, or 0 if unknown.
// Benchmarks report it per operation beside ns/op, which on a shared machine also counts the
// time spent waiting for a CPU.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
