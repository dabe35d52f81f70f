package kuberneteslogs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/k8smeta"
	"github.com/octostore/agent/internal/k8smeta/k8smetatest"
	"github.com/octostore/agent/internal/lines"
	"github.com/octostore/agent/internal/tail"
)

// The cost of pod metadata, in process: per line (decoding a CRI line and
// encoding the record, with pod metadata off and on), and the memory the
// metadata of 1,000 pods holds. `make bench` prints both; the
// whole-process figures are e2e/bench's k8s_logs_meta_off and _on.

const benchPods = 1000

// benchStore returns a ready pod metadata store that knows benchPods
// realistic pods of node-1, and the API objects it was listed from.
func benchStore(b *testing.B) (*k8smeta.Pods, func()) {
	b.Helper()
	objs := make([]k8sruntime.Object, benchPods)
	for i := range objs {
		objs[i] = k8smetatest.RealisticPod(i, "node-1", 10)
	}
	return startPods(b, fake.NewClientset(objs...))
}

// startPods runs a ready pod metadata store over the API cs.
func startPods(b *testing.B, cs *fake.Clientset) (*k8smeta.Pods, func()) {
	b.Helper()
	pm := &PodMetadata{NodeName: "node-1"}
	if err := pm.validate(); err != nil {
		b.Fatal(err)
	}
	set := agent.Settings{ID: "source.kubernetes_logs.b", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: agent.NewMetrics(agent.NewAcks()).For("source.kubernetes_logs.b")}
	p := newPods(set, pm, "node-1", k8smetatest.New(cs))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	if !p.WaitReady(ctx, time.Minute) || p.Len() != benchPods {
		b.Fatalf("not ready: %d pods", p.Len())
	}
	return p, func() { cancel(); <-done }
}

// BenchmarkLine decodes a CRI line into its entry (decode), and also
// encodes its record as a sink does (decode_encode), with pod metadata off
// and on: decode is what enrichment costs, decode_encode adds writing the
// bigger record.
func BenchmarkLine(b *testing.B) {
	for _, c := range []struct {
		name       string
		on, encode bool
	}{{"decode/metadata_off", false, false}, {"decode/metadata_on", true, false},
		{"decode_encode/metadata_off", false, true}, {"decode_encode/metadata_on", true, true}} {
		on := c.on
		b.Run(c.name, func(b *testing.B) {
			nop := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
			src := &source{cfg: &Config{partialTimeout: time.Hour, MaxMessageBytes: 1 << 20}, c: &counters{malformed: nop, joined: nop, timedOut: nop, missing: nop}}
			if on {
				p, stop := benchStore(b)
				defer stop()
				src.pods = p
			}
			pod := k8smetatest.RealisticPod(0, "node-1", 10)
			d := src.newDecoder(PodRef{Namespace: pod.Namespace, Pod: pod.Name, UID: string(pod.UID), Container: "app"})
			line := []byte(`2026-11-21T05:00:00.123456789Z stdout F 203.0.113.9 - - [21/Nov/2026:05:00:00 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"`)
			var e agent.Encoder
			var out []tail.Entry
			var buf []byte
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out = d.Add(lines.Line{Bytes: line, Offset: int64(i) * 200, End: int64(i+1) * 200}, now, out[:0])
				if !c.encode {
					continue
				}
				r := agent.Record{Raw: out[0].Raw, Entity: out[0].Entity, Time: out[0].Time, Origin: agent.Origin{Host: "node-1", Component: "source.kubernetes_logs.b", Stream: "1:2:3", Offset: out[0].Offset}}
				buf = e.Append(buf[:0], &r)
			}
			if c.encode {
				b.SetBytes(int64(len(buf)))
			}
			if on && len(out[0].Entity) < 20 {
				b.Fatalf("entity has %d pairs", len(out[0].Entity))
			}
		})
	}
}

// BenchmarkPodMetadataMemory reports the heap the metadata of 1,000
// realistic pods holds once listed (the informer's stripped objects and
// the snapshots records read), beyond the API's own objects.
func BenchmarkPodMetadataMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		heap := func() uint64 {
			var m runtime.MemStats
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		objs := make([]k8sruntime.Object, benchPods)
		for i := range objs {
			objs[i] = k8smetatest.RealisticPod(i, "node-1", 10)
		}
		cs := fake.NewClientset(objs...)
		before := heap()
		p, stop := startPods(b, cs)
		after := heap()
		b.ReportMetric(float64(after-before)/benchPods, "B/pod")
		b.ReportMetric(float64(after-before)/(1<<20), fmt.Sprintf("MiB/%dpods", benchPods))
		stop()
		runtime.KeepAlive(cs)
		runtime.KeepAlive(p)
	}
}
