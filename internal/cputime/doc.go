// Package cputime reads the process's CPU time, for benchmarks that report cpu-ns/op beside
// ns/op: on a shared machine wall time also counts the time spent waiting for a CPU, CPU time
// does not.
package cputime
