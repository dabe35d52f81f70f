package assemble

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

// Process over batches of 256 records: CI runs of 1 + 2x5 step events + 1
// end, 20 runs open at a time, summarized at their end (settle 0), no data
// directory.
func BenchmarkProcess(b *testing.B) {
	h := newHarness(b, strings.Replace(runHCL, `settle        = "2s"`, `settle        = "0"`, 1), "")
	var src agent.Batch
	for r := 0; len(src) < 256*64; r += 20 {
		for s := 0; s <= 11; s++ {
			for k := r; k < r+20; k++ {
				id := strconv.Itoa(k)
				at := t0.Add(time.Duration(k) * time.Minute)
				switch {
				case s == 0:
					src = append(src, run(0, "wf", id, "running", at))
				case s == 11:
					src = append(src, run(0, "wf", id, "success", at))
				default:
					st := []string{"running", "success"}[s%2]
					src = append(src, step(0, "wf", id, "s"+strconv.Itoa((s-1)/2), st, float64(s), at.Add(time.Duration(s)*time.Second)))
				}
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		off := (i % 64) * 256
		batch := make(agent.Batch, 256)
		for j := range batch {
			batch[j] = src[off+j].Clone()
			batch[j].Origin.Offset = int64(i*256 + j)
			if run, ok := batch[j].Get("run"); ok {
				batch[j].Set("run", run.(string)+"-"+strconv.Itoa(i/64))
			}
		}
		h.process(batch)
		n += 256
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}
