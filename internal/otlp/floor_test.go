package otlp

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// The floor of issue 19's target. Any pdata pipeline that receives the
// bench's requests and sends the nginx rules' records as OTLP must at
// least decode each request, encode its answer's LogRecords and compress
// them. BenchmarkFloorAgent does only that, with the answer built once
// outside the loop (no conversion, no rules, no records, no gRPC):
// decode the request, marshal the prebuilt answer, gzip it at level 1.
// BenchmarkFloorCollector does what the Collector's otlp → otlp does
// with the same request, again without gRPC: decode, encode the same
// logs, gzip at level 6 (gRPC's gzip, the standard library's). Target:
// the agent's whole pipeline at ≤ half the Collector's; the ratio of the
// two floors is the least it can be.

// genRequest is a request of the bench's own lines (e2e/gen, seed 1), whose
// variety gzip sees as it sees the bench's.
func genRequest(b *testing.B) []byte {
	lines, err := exec.Command("go", "run", "../../e2e/gen", "-n", "1000", "-seed", "1").Output()
	if err != nil {
		b.Fatal(err)
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "bench-node")
	sl := rl.ScopeLogs().AppendEmpty()
	base := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	for i, line := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Microsecond)))
		lr.Body().SetStr(line)
		lr.Attributes().PutStr("log.file.name", "access.log")
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func floorAnswer(b *testing.B) (in, out []byte) {
	in = genRequest(b)
	batch, err := benchRecords(in)
	if err != nil {
		b.Fatal(err)
	}
	for i := range batch {
		rulesTyped(&batch[i])
	}
	bld := NewBuilder(BuildOptions{Host: "node-1"})
	for i := range batch {
		bld.Add(&batch[i])
	}
	out, err = plogotlp.NewExportRequestFromLogs(bld.Take()).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	return in, out
}

func BenchmarkFloorAgent(b *testing.B) {
	in, out := floorAnswer(b)
	ans := plogotlp.NewExportRequest()
	if err := ans.UnmarshalProto(out); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	b.ReportAllocs()
	for b.Loop() {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(in); err != nil {
			b.Fatal(err)
		}
		p, err := ans.MarshalProto()
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		z.Reset(&buf)
		z.Write(p)
		z.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
	b.ReportMetric(float64(len(out))/1000, "out-B/record")
	b.ReportMetric(float64(buf.Len())/1000, "gzip-B/record")
}

func BenchmarkFloorCollector(b *testing.B) {
	in, _ := floorAnswer(b)
	var buf bytes.Buffer
	z, _ := stdgzip.NewWriterLevel(&buf, stdgzip.DefaultCompression)
	b.ReportAllocs()
	for b.Loop() {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(in); err != nil {
			b.Fatal(err)
		}
		p, err := req.MarshalProto()
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		z.Reset(&buf)
		z.Write(p)
		z.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
	b.ReportMetric(float64(len(in))/1000, "out-B/record")
	b.ReportMetric(float64(buf.Len())/1000, "gzip-B/record")
}

// BenchmarkFloorParts splits BenchmarkFloorAgent into its parts.
func BenchmarkFloorParts(b *testing.B) {
	in, out := floorAnswer(b)
	ans := plogotlp.NewExportRequest()
	if err := ans.UnmarshalProto(out); err != nil {
		b.Fatal(err)
	}
	per := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
	}
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalProto(in); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := ans.MarshalProto(); err != nil {
				b.Fatal(err)
			}
		}
		per(b)
	})
	for _, level := range []int{gzip.BestSpeed, gzip.HuffmanOnly} {
		b.Run(fmt.Sprintf("gzip%d", level), func(b *testing.B) {
			var buf bytes.Buffer
			z, _ := gzip.NewWriterLevel(&buf, level)
			for b.Loop() {
				buf.Reset()
				z.Reset(&buf)
				z.Write(out)
				z.Close()
			}
			per(b)
			b.ReportMetric(float64(buf.Len())/1000, "gzip-B/record")
		})
	}
}
