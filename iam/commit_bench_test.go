package iam

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCommitHook compares the two durability hooks without a disk.
//
// With a hook that does nothing (sync=0), ns/op and allocs/op are what the
// registry itself costs per write under each hook: group commit's queue and
// hand-off must cost a lone writer next to nothing. With a hook that takes
// 1 ms per call, as a disk's sync does (sync=1ms), writes/s shows what
// sharing one call buys writers that run at the same time: Commit stays
// under 1,000 whatever the number of writers, CommitBatch grows with them.
// Each writer tags a role of its own (no trust policy to parse).
func BenchmarkCommitHook(b *testing.B) {
	for _, delay := range []time.Duration{0, time.Millisecond} {
		for _, hook := range []string{"Commit", "CommitBatch"} {
			for _, writers := range []int{1, 8, 32} {
				if delay == 0 && writers > 1 {
					continue
				}
				b.Run("sync="+delay.String()+"/hook="+hook+"/writers="+strconv.Itoa(writers), func(b *testing.B) {
					benchCommitHook(b, delay, hook, writers)
				})
			}
		}
	}
}

func benchCommitHook(b *testing.B, delay time.Duration, hook string, writers int) {
	var calls atomic.Int64
	opts := Options{MaxRolesPerAccount: -1}
	wait := func() {
		calls.Add(1)
		if delay > 0 {
			time.Sleep(delay)
		}
	}
	if hook == "Commit" {
		opts.Commit = func(Change) error { wait(); return nil }
	} else {
		opts.CommitBatch = func([]Change) error { wait(); return nil }
	}
	r := New(opts)
	arns := make([]string, writers)
	for w := range writers {
		ro, err := r.CreateRole(testRole(acctA, "app-"+strconv.Itoa(w)))
		if err != nil {
			b.Fatal(err)
		}
		arns[w] = ro.ARN
	}
	tags := make([][]Tag, 64)
	for i := range tags {
		tags[i] = []Tag{{Key: "k", Value: strconv.Itoa(i)}}
	}
	calls.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if _, err := r.TagRole(arns[w], tags[i%len(tags)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	if c := calls.Load(); c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "writes/call")
	}
}
