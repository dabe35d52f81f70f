package correlate

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

// benchStream is n records over 100 namespaces: four rollouts for each
// crashloop.
func benchStream(n int) agent.Batch {
	b := make(agent.Batch, n)
	for i := range b {
		ns := "ns" + strconv.Itoa(i%100)
		at := t0.Add(time.Duration(i) * time.Second)
		if i%5 == 4 {
			b[i] = crash(i, ns, "pod"+strconv.Itoa(i), at)
		} else {
			b[i] = rollout(i, ns, "dep"+strconv.Itoa(i%7), "img:"+strconv.Itoa(i), at)
		}
	}
	return b
}

// Process over batches of 256 records: remember, answer, evict (max 10
// per key), with no data directory (the cost of the window alone).
func BenchmarkProcess(b *testing.B) {
	h := newHarness(b, strings.Replace(crashloopHCL, "max_per_key = 3", "max_per_key = 10", 1), "")
	src := benchStream(256 * 64)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		off := (i % 64) * 256
		batch := make(agent.Batch, 256)
		for j := range batch {
			batch[j] = src[off+j].Clone()
			batch[j].Time = batch[j].Time.Add(time.Duration(i/64) * 24 * time.Hour)
			batch[j].Origin.Offset += int64(i/64) * int64(len(src))
		}
		h.process(batch)
		n += 256
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}

// A save of a full window: 10,000 remembered records (100 keys x 100) and
// 1,000 answers, encoded, written and fsynced.
func BenchmarkSave(b *testing.B) {
	body := strings.Replace(crashloopHCL, "max_per_key = 3", "max_per_key = 100", 1)
	body = strings.Replace(body, `once   = "pod"`, "", 1)
	h := newHarness(b, body, b.TempDir())
	h.process(benchStream(12_500))
	n, a, bytes := h.tr.w.size()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.tr.mu.Lock()
		h.tr.saver.Dirty()
		h.tr.mu.Unlock()
		if err := h.tr.save(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "entries")
	b.ReportMetric(float64(a), "answers")
	b.ReportMetric(float64(bytes)/(1<<20), "MiB-est")
	b.ReportMetric(agenttest.Metric(h.metrics, "octoagent_state_bytes")/(1<<20), "MiB-file")
}
