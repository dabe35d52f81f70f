package otlp

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/octostore/agent/agent"
)

// The conversions of the OTLP bench (e2e/bench/otlp.go): requests of 1000
// nginx lines under one resource and scope, as a filelog receiver sends
// them. BenchmarkFill is source "otlp"'s side (decode and convert),
// BenchmarkBuild* sink "otlp"'s (convert and encode), for records as the
// source makes them (Passthrough) and as the nginx rules leave them (Rules).

const benchLine = `141.209.71.132 - ci-bot [21/Nov/2026:05:00:09 +0000] "POST /static/js/app.dbd9.js?utm_source=news&utm_medium=email HTTP/1.1" 404 227496 "https://www.google.com/search?q=octostore" "python-requests/2.32.3"`

func benchRequest(b *testing.B) []byte {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "nginx")
	ra.PutStr("host.name", "bench-node")
	ra.PutStr("k8s.namespace.name", "web")
	ra.PutStr("k8s.pod.name", "nginx-7d9f8c6b5-00001")
	ra.PutStr("k8s.container.name", "nginx")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver")
	base := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	for i := range 1000 {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Microsecond)))
		lr.Body().SetStr(fmt.Sprintf("%s %d", benchLine, i))
		lr.Attributes().PutStr("log.file.name", "access.log")
		lr.Attributes().PutStr("log.iostream", "stdout")
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// benchRecords converts a request as source "otlp" does.
func benchRecords(body []byte) (agent.Batch, error) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, err
	}
	ld := req.Logs()
	batch := make(agent.Batch, 0, ld.LogRecordCount())
	now := time.Now()
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		res := NewResource(rl)
		for j := range rl.ScopeLogs().Len() {
			sl := rl.ScopeLogs().At(j)
			scope := NewScope(sl)
			for k := range sl.LogRecords().Len() {
				batch = append(batch, agent.Record{Origin: agent.Origin{Host: "otlp", Component: "source.otlp.in", Stream: "otlp:x", Offset: int64(k)}})
				Fill(&batch[len(batch)-1], sl.LogRecords().At(k), &res, scope, now)
			}
		}
	}
	return batch, nil
}

func BenchmarkFill(b *testing.B) {
	body := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := benchRecords(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record") // 1000 records a request
}

// rulesFields sets the fields the nginx rules leave on a record: the
// captures, typed by the schema, without the message they parsed.
func rulesFields(r *agent.Record) {
	r.Delete(FieldMessage)
	r.Set("client_ip", "141.209.71.132")
	r.Set("user", "ci-bot")
	r.Set("time", time.Date(2026, 11, 21, 5, 0, 9, 0, time.UTC))
	r.Set("method", "POST")
	r.Set("path", "/static/js/app.dbd9.js?utm_source=news&utm_medium=email")
	r.Set("protocol", "HTTP/1.1")
	r.Set("status", int64(404))
	r.Set("bytes", int64(227496))
	r.Set("referer", "https://www.google.com/search?q=octostore")
	r.Set("user_agent", "python-requests/2.32.3")
	r.Kind = "http_request"
}

// rulesTyped sets the same fields as typed fields, as the rules leave a
// record they parsed from its raw line (for comparison: records from
// source "otlp" hold a fields map).
func rulesTyped(r *agent.Record) {
	r.StartTyped(12)
	r.Set("bytes", int64(227496))
	r.Set("client_ip", "141.209.71.132")
	r.Set("method", "POST")
	r.Set("path", "/static/js/app.dbd9.js?utm_source=news&utm_medium=email")
	r.Set("protocol", "HTTP/1.1")
	r.Set("referer", "https://www.google.com/search?q=octostore")
	r.Set("status", int64(404))
	r.Set("time", time.Date(2026, 11, 21, 5, 0, 9, 0, time.UTC))
	r.Set("user", "ci-bot")
	r.Set("user_agent", "python-requests/2.32.3")
	r.Kind = "http_request"
}

func benchBuild(b *testing.B, prepare func(*agent.Record)) {
	batch, err := benchRecords(benchRequest(b))
	if err != nil {
		b.Fatal(err)
	}
	if prepare != nil {
		for i := range batch {
			prepare(&batch[i])
		}
	}
	bld := NewBuilder(BuildOptions{Host: "node-1"})
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			bld.Add(&batch[i])
		}
		if _, err := plogotlp.NewExportRequestFromLogs(bld.Take()).MarshalProto(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(batch)), "ns/record")
}

func BenchmarkBuildPassthrough(b *testing.B) { benchBuild(b, nil) }
func BenchmarkBuildRules(b *testing.B)       { benchBuild(b, rulesFields) }
func BenchmarkBuildRulesTyped(b *testing.B)  { benchBuild(b, rulesTyped) }
