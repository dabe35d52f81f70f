package rules_test

import (
	"context"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/ruletest"
	"github.com/octostore/agent/internal/tail"
)

// BenchmarkPacks runs each shipped pack's transform over its sample file
// (joined by the pack source's multiline block, as the source would), and
// reports the parse rate (records per input, %) and the time per input
// line (µs/line; one goroutine, so its CPU time). make bench runs it.
func BenchmarkPacks(b *testing.B) {
	for _, pc := range packCases {
		b.Run(pc.transform, func(b *testing.B) {
			c, res := packTransformIn(b, pc.transform, pc.files...)
			lines := sampleLines(b, pc.sample)
			// The source's multiline block, if any.
			for _, in := range c.Inputs {
				for _, src := range res.Components {
					if tc, ok := src.Config.(*tail.Config); ok && src.ID == in.ID && tc.Multiline != nil {
						lines = joinLines(tc.Multiline, lines)
					}
				}
			}
			out, dead := &collect{}, &collect{}
			m := agent.NewMetrics(nil)
			tr, err := c.Factory.Create(agent.Settings{ID: c.ID, Name: c.Name, Metrics: m.For(c.ID), Out: out, DeadLetter: dead}, c.Config)
			if err != nil {
				b.Fatal(err)
			}
			batch := make(agent.Batch, len(lines))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j, l := range lines {
					batch[j] = agent.Record{Time: ruletest.Time, Raw: l, Origin: agent.Origin{Offset: int64(j)}}
				}
				out.got, dead.got = out.got[:0], dead.got[:0]
				if err := tr.(agent.Transform).Process(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(lines)), "µs/line")
			b.ReportMetric(100*float64(len(out.got))/float64(len(lines)), "parsed_%")
			b.ReportMetric(float64(len(lines)), "lines")
		})
	}
}

// joinLines groups lines as the multiline block does.
func joinLines(cfg *tail.MultilineConfig, lines [][]byte) [][]byte {
	j := tail.NewJoiner(cfg, nil)
	var entries []tail.Entry
	var off int64
	now := time.Now()
	for _, l := range lines {
		entries = j.Add(tail.Message{Bytes: l, Offset: off, End: off + int64(len(l)) + 1}, now, entries)
		off += int64(len(l)) + 1
	}
	entries = j.Flush(entries)
	out := make([][]byte, len(entries))
	for i, e := range entries {
		out[i] = e.Raw
	}
	return out
}
