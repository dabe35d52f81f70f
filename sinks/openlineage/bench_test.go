package openlineage

import (
	"context"
	"syscall"
	"testing"

	"github.com/octostore/agent/agent"
)

// cpuSeconds is the process's user + system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// BenchmarkEvent builds, encodes and (or not) validates the event of one
// workflow_step record with every facet the CI pack fills (parent,
// errorMessage, jobType, 1 input, 3 outputs, the record facet): ns/op is
// per event; events/cpu-s counts the process's CPU time, GC included.
// The difference between the two is what validation costs.
func BenchmarkEvent(b *testing.B) {
	for _, c := range []struct {
		name     string
		validate bool
	}{{"validate", true}, {"no_validation", false}} {
		b.Run(c.name, func(b *testing.B) {
			s := newTestSink(b, stepMapping)
			s.skipValidation = !c.validate
			recs := make([]agent.Record, b.N)
			for i := range recs {
				recs[i] = stepRecord("failure", int64(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuSeconds()
			for i := range recs {
				if data, _, dead := s.event(&recs[i]); data == nil || dead != nil {
					b.Fatal("no event")
				}
			}
			b.ReportMetric(float64(b.N)/(cpuSeconds()-cpu), "events/cpu-s")
		})
	}
}

// BenchmarkConsume is the whole sink on batches of 100 records, with the
// file transport (one write per batch, no fsync).
func BenchmarkConsume(b *testing.B) {
	s := newTestSink(b, stepMapping)
	const batch = 100
	recs := make([]agent.Record, batch)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuSeconds()
	for n := 0; n < b.N; n += batch {
		for i := range recs {
			recs[i] = stepRecord("success", int64(n+i))
		}
		if err := s.Consume(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/(cpuSeconds()-cpu), "events/cpu-s")
}
