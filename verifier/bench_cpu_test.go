package verifier

import (
	"testing"

	"github.com/webidentity/webidentity/internal/cputime"
)

// reportCPU reports the process CPU time per operation (cpu-ns/op) when the returned function
// runs after the benchmark loop: on a shared machine ns/op also counts time spent waiting for a
// CPU, and cpu-ns/op does not.
func reportCPU(b *testing.B) func() {
	start := cputime.Process()
	return func() {
		if start != 0 && b.N > 0 {
			b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
