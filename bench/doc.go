// Package bench holds webidentity's benchmarks (see the _test.go files).
package bench
