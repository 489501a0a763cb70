//go:build !unix

package cputime

import "time"

// Process returns 0: CPU time is read only on unix.
func Process() time.Duration { return 0 }

// Faults returns -1: page faults are counted only on unix.
func Faults() int64 { return -1 }
