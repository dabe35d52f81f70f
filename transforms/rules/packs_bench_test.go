package rules_test

import (
	"context"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
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
			c, lines := packSample(b, pc)
			tr, out, dead := createTransform(b, c)
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

// packSample loads a pack case's transform and its sample's inputs, as
// the pack's source makes them (joined by its multiline block, if any).
func packSample(tb testing.TB, pc packCase) (*config.Component, [][]byte) {
	c, res := packTransformIn(tb, pc.transform, pc.files...)
	lines := sampleLines(tb, pc.sample)
	for _, in := range c.Inputs {
		for _, src := range res.Components {
			if tc, ok := src.Config.(*tail.Config); ok && src.ID == in.ID && tc.Multiline != nil {
				lines = joinLines(tc.Multiline, lines)
			}
		}
	}
	return c, lines
}

// TestPackSamples runs each pack's sample through its transform: every
// input ends as a record or a dead letter, as many of each as the pack's
// tests say (the samples are the tests' lines).
func TestPackSamples(t *testing.T) {
	want := map[string][2]int{ // records, dead letters
		"syslog": {23, 5}, "kubernetes_audit": {21, 5}, "kubelet": {12, 3}, "containerd": {8, 3},
		"coredns": {11, 1}, "postgresql": {17, 4}, "postgresql_csv": {5, 2}, "postgresql_json": {4, 2},
		"haproxy": {19, 4}, "envoy": {13, 3}, "envoy_json": {3, 2}, "traefik": {16, 4}, "nginx_access": {291, 9},
	}
	for _, pc := range packCases {
		t.Run(pc.transform, func(t *testing.T) {
			c, lines := packSample(t, pc)
			out, dead := runTransform(t, c, bytesToStrings(lines))
			if got := [2]int{len(out), len(dead)}; got != want[pc.transform] {
				t.Errorf("%d inputs: %d records and %d dead letters, want %v", len(lines), got[0], got[1], want[pc.transform])
			}
		})
	}
}

func bytesToStrings(b [][]byte) []string {
	out := make([]string, len(b))
	for i := range b {
		out[i] = string(b[i])
	}
	return out
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
