package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/testfig"
)

// The OTLP tests run the agent against a real OpenTelemetry Collector
// (otelcol-bench, built by e2e/bench/peers/build.sh with the otlp receiver
// and exporters), in both directions.

// nginxLine is the i-th line of a generated nginx access log; every 25th
// is not an access line (a dead letter).
func nginxLine(i int) string {
	if i%25 == 24 {
		return fmt.Sprintf("garbage line %d: upstream timed out", i)
	}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	ref := "-"
	if i%3 == 0 {
		ref = fmt.Sprintf("https://shop.example/p/%d", i)
	}
	return fmt.Sprintf(`10.1.%d.%d - user%d [06/Dec/2026:05:%02d:%02d +0000] "%s /api/items/%d?page=%d HTTP/1.1" %d %d "%s" "curl/8.%d"`,
		i/250%250, i%250, i%7, i/60%60, i%60, methods[i%4], i, i%9, []int{200, 201, 304, 404, 503}[i%5], 100+i*3, ref, i%10)
}

// TestOTLPSinkToCollector: records typed by the nginx pack (and its dead
// letters) go out of sink "otlp" over gRPC and over HTTP to a real
// Collector (otlp receiver → file exporter), and every record arrives with
// every field: compared record by record with what a file sink wrote.
func TestOTLPSinkToCollector(t *testing.T) {
	const n = 2000
	otelcolBinary(t)
	dir := t.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	col := startCollector(t, dir, "collector", fmt.Sprintf(`receivers:
  otlp/grpc:
    protocols:
      grpc:
        endpoint: %s
  otlp/http:
    protocols:
      http:
        endpoint: %s
exporters:
  file/grpc:
    path: %s
    flush_interval: 100ms
  file/http:
    path: %s
    flush_interval: 100ms
service:
  pipelines:
    logs/grpc:
      receivers: [otlp/grpc]
      exporters: [file/grpc]
    logs/http:
      receivers: [otlp/http]
      exporters: [file/http]
`, grpcAddr, httpAddr, filepath.Join(dir, "grpc.json"), filepath.Join(dir, "http.json")))
	waitListening(t, col, grpcAddr)
	waitListening(t, col, httpAddr)

	logPath := filepath.Join(dir, "access.log")
	var lines []string
	var b strings.Builder
	for i := range n {
		lines = append(lines, nginxLine(i))
		b.WriteString(nginxLine(i) + "\n")
	}
	writeFile(t, logPath, b.String())
	copyPath := filepath.Join(dir, "copy.jsonl")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir  = %s
  http_addr = "127.0.0.1:0"
}
source "file" "nginx" {
  paths         = [%s]
  start_at      = "beginning"
  poll_interval = "20ms"
}
sink "otlp" "grpc" {
  inputs         = [transform.nginx_access, transform.nginx_access.dead_letter]
  endpoint       = "http://%s"
  include_origin = true
  batch_max_wait = "100ms"
}
sink "otlp" "http" {
  inputs         = [transform.nginx_access, transform.nginx_access.dead_letter]
  protocol       = "http"
  encoding       = "json"
  endpoint       = "http://%s"
  include_origin = true
  batch_max_wait = "100ms"
}
sink "file" "copy" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
  path   = %s
}
`, hclString(filepath.Join(dir, "data")), hclString(logPath), grpcAddr, httpAddr, hclString(copyPath)))
	root := moduleRoot(t)
	p := startAgent(t, "", "run", "-c", cfg, "-c", filepath.Join(root, "configs/schemas"), "-c", filepath.Join(root, "configs/nginx/rules.hcl"), "--log-level", "info")
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d records at the Collector over gRPC and HTTP", n), func() bool {
		if p.Exited() {
			t.Fatalf("the agent exited")
		}
		return countLines(t, copyPath) >= n && countCollectorRecords(t, filepath.Join(dir, "grpc.json")) >= n &&
			countCollectorRecords(t, filepath.Join(dir, "http.json")) >= n
	})
	p.stop(t)
	col.stop(t)

	want := readJSONLines(t, copyPath)
	if len(want) != n {
		t.Fatalf("the file sink wrote %d records, want %d", len(want), n)
	}
	kinds := map[string]int{}
	for _, w := range want {
		kinds[w.Kind]++
	}
	if kinds["http_request"] != n-n/25 || kinds[agent.KindDeadLetter] != n/25 {
		t.Fatalf("kinds %v", kinds)
	}
	for _, proto := range []string{"grpc", "http"} {
		got := readCollectorFile(t, filepath.Join(dir, proto+".json"))
		byUID := map[string]collectorRecord{}
		for _, g := range got {
			byUID[uidOf(g)] = g
		}
		if len(got) != n || len(byUID) != n {
			t.Errorf("%s: the Collector wrote %d log records, %d distinct log.record.uid, want %d", proto, len(got), len(byUID), n)
		}
		bad := 0
		for _, w := range want {
			g, ok := byUID[w.ID]
			if !ok {
				t.Errorf("%s: record %s (%s, offset %d) did not arrive", proto, w.ID, w.Kind, w.Origin.Offset)
				bad++
			} else if diffs := compareRecord(w, g, lines); len(diffs) > 0 {
				t.Errorf("%s: record %s (offset %d) differs:\n  %s", proto, w.ID, w.Origin.Offset, strings.Join(diffs, "\n  "))
				bad++
			}
			if bad >= 5 {
				t.Fatalf("%s: stopping after 5 differing records", proto)
			}
		}
	}
}

// compareRecord lists how a collector record differs from the record the
// file sink wrote: every field an attribute of the same value, the kind
// event.name, the id log.record.uid, the origin octoagent.origin.*, the
// time the timestamp, the line the body, the host host.name.
func compareRecord(w agent.WireRecord, g collectorRecord, lines []string) []string {
	var d []string
	attrs := g.LR.Attributes().AsRaw()
	for k, v := range w.Fields {
		a, ok := attrs[k]
		if !ok {
			d = append(d, fmt.Sprintf("field %s missing", k))
			continue
		}
		if jsonText(a) != jsonText(v) {
			d = append(d, fmt.Sprintf("field %s = %s, want %s", k, jsonText(a), jsonText(v)))
		}
	}
	wantAttr := map[string]any{
		"log.record.uid":             w.ID,
		"event.name":                 w.Kind,
		"octoagent.origin.host":      w.Origin.Host,
		"octoagent.origin.component": w.Origin.Component,
		"octoagent.origin.stream":    w.Origin.Stream,
		"octoagent.origin.offset":    w.Origin.Offset,
		"log.file.path":              w.Origin.Path,
		"octoagent.origin.device":    w.Origin.Device,
		"octoagent.origin.inode":     w.Origin.Inode,
	}
	if w.Origin.Rule != "" {
		wantAttr["octoagent.origin.rule"] = w.Origin.Rule
		wantAttr["octoagent.origin.index"] = w.Origin.Index
	}
	for k, v := range wantAttr {
		if jsonText(attrs[k]) != jsonText(v) {
			d = append(d, fmt.Sprintf("attribute %s = %s, want %s", k, jsonText(attrs[k]), jsonText(v)))
		}
	}
	if extra := len(attrs) - len(w.Fields) - len(wantAttr); extra != 0 {
		d = append(d, fmt.Sprintf("%d attributes more than the fields and the documented ones: %v", extra, attrs))
	}
	if g.LR.EventName() != w.Kind {
		d = append(d, fmt.Sprintf("event name %q, want %q", g.LR.EventName(), w.Kind))
	}
	if !g.LR.Timestamp().AsTime().Equal(w.Time) {
		d = append(d, fmt.Sprintf("timestamp %v, want %v", g.LR.Timestamp().AsTime(), w.Time))
	}
	if g.LR.ObservedTimestamp() == 0 {
		d = append(d, "no observed timestamp")
	}
	line := ""
	for i, l := range lines {
		// The offset is the line's first byte.
		if off := offsetOf(lines, i); off == w.Origin.Offset {
			line = l
			break
		}
	}
	if g.LR.Body().Str() != line {
		d = append(d, fmt.Sprintf("body %q, want the line %q", g.LR.Body().Str(), line))
	}
	if h, _ := g.Resource.Get("host.name"); h.Str() != w.Origin.Host {
		d = append(d, fmt.Sprintf("resource host.name %q, want %q", h.Str(), w.Origin.Host))
	}
	if g.Scope.Name() != "octoagent" {
		d = append(d, fmt.Sprintf("scope %q", g.Scope.Name()))
	}
	return d
}

var lineOffsets []int64

func offsetOf(lines []string, i int) int64 {
	if len(lineOffsets) != len(lines) {
		lineOffsets = make([]int64, len(lines))
		var off int64
		for j, l := range lines {
			lineOffsets[j] = off
			off += int64(len(l)) + 1
		}
	}
	return lineOffsets[i]
}

// TestOTLPCollectorToSource: a real Collector tails two files (filelog)
// and exports them to the agent's source "otlp", one over gRPC and one
// over HTTP; every line arrives once, with the Collector's attributes.
func TestOTLPCollectorToSource(t *testing.T) {
	const n = 3000
	otelcolBinary(t)
	dir := t.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	outPath := filepath.Join(dir, "out.jsonl")
	p := startOTLPAgent(t, dir, grpcAddr, httpAddr, outPath, "")
	var a, b strings.Builder
	for i := range n {
		fmt.Fprintf(&a, "grpc line %d %s\n", i, nginxLine(i))
		fmt.Fprintf(&b, "http line %d\n", i)
	}
	writeFile(t, filepath.Join(dir, "a.log"), a.String())
	writeFile(t, filepath.Join(dir, "b.log"), b.String())
	startCollector(t, dir, "collector", fmt.Sprintf(`receivers:
  filelog/a:
    include: [%s]
    start_at: beginning
  filelog/b:
    include: [%s]
    start_at: beginning
exporters:
  otlp_grpc:
    endpoint: %s
    tls:
      insecure: true
  otlp_http:
    endpoint: http://%s
    compression: gzip
service:
  pipelines:
    logs/a:
      receivers: [filelog/a]
      exporters: [otlp_grpc]
    logs/b:
      receivers: [filelog/b]
      exporters: [otlp_http]
`, filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), grpcAddr, httpAddr))
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d records from the Collector", 2*n), func() bool {
		if p.Exited() {
			t.Fatalf("the agent exited")
		}
		return countLines(t, outPath) >= 2*n
	})
	time.Sleep(500 * time.Millisecond) // anything more would be a duplicate
	p.stop(t)
	recs := readJSONLines(t, outPath)
	seen := map[string]int{}
	ids := map[string]int{}
	for _, r := range recs {
		msg, _ := r.Fields["message"].(string)
		seen[msg]++
		ids[r.ID]++
		attrs, _ := r.Fields["attributes"].(map[string]any)
		if attrs["log.file.name"] == nil || r.Origin.Host != "otlp" || !strings.HasPrefix(r.Origin.Stream, "otlp:") {
			t.Fatalf("record %+v lacks the Collector's log.file.name or its origin", r)
		}
		if _, ok := r.Fields["observed_time"]; !ok {
			t.Fatalf("record %+v has no observed_time", r)
		}
	}
	for i := range n {
		for _, m := range []string{fmt.Sprintf("grpc line %d %s", i, nginxLine(i)), fmt.Sprintf("http line %d", i)} {
			if seen[m] != 1 {
				t.Fatalf("%q arrived %d times, want once", m, seen[m])
			}
		}
	}
	if len(recs) != 2*n || len(ids) != 2*n {
		t.Fatalf("%d records, %d distinct ids, want %d", len(recs), len(ids), 2*n)
	}
}

// startOTLPAgent runs the agent with source "otlp" on grpcAddr and
// httpAddr into a file sink at outPath.
// otlpMetricsAddr holds each test directory's metrics address: chosen once,
// so an agent restarted while the OTLP ports are free cannot be handed one
// of them by the kernel for its metrics server (http_addr "127.0.0.1:0" once
// took the gRPC port, and the source then failed to listen).
var otlpMetricsAddr sync.Map

func startOTLPAgent(t testing.TB, dir, grpcAddr, httpAddr, outPath, extra string) *agentProc {
	t.Helper()
	metricsAddr, ok := otlpMetricsAddr.Load(dir)
	for !ok || metricsAddr == grpcAddr || metricsAddr == httpAddr {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		metricsAddr, ok = l.Addr().String(), true
		l.Close()
	}
	otlpMetricsAddr.Store(dir, metricsAddr)
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir         = %s
  http_addr        = %q
  shutdown_timeout = "20s"
}
source "otlp" "in" {
  grpc_address = %q
  http_address = %q
%s
}
sink "file" "out" {
  inputs = [source.otlp.in, source.otlp.in.dead_letter]
  path   = %s
}
`, hclString(filepath.Join(dir, "data")), metricsAddr, grpcAddr, httpAddr, extra, hclString(outPath)))
	p := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	waitListening(t, p, grpcAddr)
	return p
}

// TestOTLPBadRequests: requests a broken or hostile client sends get
// clear errors from the real binary, which keeps serving.
func TestOTLPBadRequests(t *testing.T) {
	dir := t.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	outPath := filepath.Join(dir, "out.jsonl")
	p := startOTLPAgent(t, dir, grpcAddr, httpAddr, outPath, `  max_request_bytes = "1MiB"`)
	metricsAddr := p.WaitHTTPAddr(t)
	logs := func(tag string, n int) []byte {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := range n {
			lrs.AppendEmpty().Body().SetStr(fmt.Sprintf("%s %d", tag, i))
		}
		b, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		return b
	}
	good := logs("good", 10)
	big := plog.NewLogs()
	big.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("z", 3<<19))
	bigPB, _ := plogotlp.NewExportRequestFromLogs(big).MarshalProto()
	url := "http://" + httpAddr + "/v1/logs"
	cases := []struct {
		name, ct string
		body     []byte
		status   int
		msg      string
	}{
		{"truncated protobuf", "application/x-protobuf", good[:len(good)-5], 400, "not a valid OTLP ExportLogsServiceRequest in protobuf"},
		{"wrong content type", "text/plain", good, 415, "unsupported Content-Type"},
		{"oversized body", "application/x-protobuf", bigPB, 413, "more than max_request_bytes"},
		{"JSON that is not OTLP", "application/json", []byte(`{"resourceLogs": 7}`), 400, "not a valid OTLP ExportLogsServiceRequest in JSON"},
	}
	for _, c := range cases {
		resp, err := http.Post(url, c.ct, bytes.NewReader(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !bytes.Contains(body, []byte(c.msg)) {
			t.Errorf("%s: %d %q, want %d saying %q", c.name, resp.StatusCode, body, c.status, c.msg)
		}
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := plogotlp.NewGRPCClient(conn)
	if _, err := client.Export(context.Background(), plogotlp.NewExportRequestFromLogs(big)); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "max_request_bytes") {
		t.Errorf("gRPC oversized: %v, want INVALID_ARGUMENT about max_request_bytes", err)
	}
	// Over twice the limit, gRPC refuses the message before reading it.
	huge := plog.NewLogs()
	huge.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("h", 3<<20))
	if _, err := client.Export(context.Background(), plogotlp.NewExportRequestFromLogs(huge)); status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max") {
		t.Errorf("gRPC far over the limit: %v, want RESOURCE_EXHAUSTED (message larger than max)", err)
	}
	// Still serving, over both transports.
	resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(good))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a good request after the bad ones: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	goodGRPC := plogotlp.NewExportRequest()
	if err := goodGRPC.UnmarshalProto(logs("good grpc", 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Export(context.Background(), goodGRPC); err != nil {
		t.Fatalf("a good gRPC request after the bad ones: %v", err)
	}
	waitFor(t, startDeadline, "15 records", func() bool { return countLines(t, outPath) >= 15 })
	m := scrape(t, metricsAddr)
	for _, want := range []string{`result="malformed"`, `result="unsupported"`, `result="too_large"`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics has no octoagent_otlp_requests_total{%s}", want)
		}
	}
	if p.Exited() {
		t.Fatal("the agent exited")
	}
	p.stop(t)
	if n := countLines(t, outPath); n != 15 {
		t.Fatalf("%d records, want 15 (the good requests)", n)
	}
}

func scrape(t testing.TB, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

const (
	outageRecords = 100000
	outageRate    = 5000             // lines per second appended
	outageAfter   = 3 * time.Second  // the receiver stops this long after the start
	outageFor     = 20 * time.Second // and stays down this long
)

// writeSeqAtRate appends lines 1..outageRecords to path at outageRate
// lines per second, in the background; the channel closes at the end.
func writeSeqAtRate(t testing.TB, path string, written *atomic.Int64) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		for written.Load() < outageRecords {
			time.Sleep(50 * time.Millisecond)
			due := min(int64(time.Since(start).Seconds()*outageRate), outageRecords)
			if n := due - written.Load(); n > 0 {
				appendSeq(t, path, int(written.Load())+1, int(n))
				written.Add(n)
			}
		}
	}()
	return done
}

// TestOTLPSinkCollectorDown20s: the Collector is stopped for 20 s while
// 100,000 records flow from the agent's sink "otlp" (disk buffer) to it;
// once it is back, every record arrives: 0 lost, and each log.record.uid
// once.
func TestOTLPSinkCollectorDown20s(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 40 s")
	}
	otelcolBinary(t)
	dir := t.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	colCfg := func(out string) string {
		return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  file:
    path: %s
    flush_interval: 100ms
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`, grpcAddr, filepath.Join(dir, out))
	}
	col := startCollector(t, dir, "before", colCfg("before.json"))
	waitListening(t, col, grpcAddr)

	logPath := filepath.Join(dir, "app.log")
	writeFile(t, logPath, "")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir            = %s
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "200ms"
}
source "file" "app" {
  paths         = [%s]
  poll_interval = "20ms"
}
sink "otlp" "collector" {
  inputs                = [source.file.app]
  endpoint              = "http://%s"
  batch_max_wait        = "100ms"
  retry_initial_backoff = "100ms"
  retry_max_backoff     = "1s"
  buffer {
    type = "disk"
  }
}
`, hclString(filepath.Join(dir, "data")), hclString(logPath), grpcAddr))
	p := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	p.WaitHTTPAddr(t)

	var written atomic.Int64
	start := time.Now()
	done := writeSeqAtRate(t, logPath, &written)
	time.Sleep(outageAfter)
	before := countCollectorRecords(t, filepath.Join(dir, "before.json"))
	col.stop(t)
	downAt := written.Load()
	time.Sleep(outageFor)
	t.Logf("Collector down for %v at %d lines written, %d received; back at %d written", outageFor, downAt, before, written.Load())
	col = startCollector(t, dir, "after", colCfg("after.json"))
	<-done
	waitFor(t, 2*time.Minute, "every record at the Collector", func() bool {
		return countCollectorRecords(t, filepath.Join(dir, "before.json"))+countCollectorRecords(t, filepath.Join(dir, "after.json")) >= outageRecords
	})
	elapsed := time.Since(start)
	time.Sleep(time.Second) // a late duplicate would show
	p.stop(t)
	col.stop(t)
	got := append(readCollectorFile(t, filepath.Join(dir, "before.json")), readCollectorFile(t, filepath.Join(dir, "after.json"))...)
	uids := map[string]int{}
	lines := map[int]int{}
	for _, g := range got {
		uids[uidOf(g)]++
		if n, ok := parseSeqLine(g.LR.Body().Str()); ok {
			lines[n]++
		}
	}
	lost, first := missing(lines, outageRecords)
	dups := len(got) - len(uids)
	testfig.Report(t, "otlp sink, Collector down 20 s: %d records, %d log records at the Collector, %d distinct ids, %d lost, %d duplicate ids, %v", outageRecords, len(got), len(uids), lost, dups, elapsed.Round(time.Second))
	if lost != 0 {
		t.Fatalf("%d lines lost, first %v", lost, first)
	}
	if dups != 0 {
		t.Errorf("%d duplicate log.record.uid at the Collector", dups)
	}
}

// TestOTLPSourceAgentDown20s: the agent (source "otlp") is stopped for
// 20 s while a real Collector tails 100,000 lines and exports them to it;
// the Collector's exporter queues and retries, and once the agent is back
// every line arrives once: 0 lost, 0 duplicate ids at the agent's end.
func TestOTLPSourceAgentDown20s(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 40 s")
	}
	otelcolBinary(t)
	dir := t.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	outPath := filepath.Join(dir, "out.jsonl")
	p := startOTLPAgent(t, dir, grpcAddr, httpAddr, outPath, "")
	logPath := filepath.Join(dir, "app.log")
	writeFile(t, logPath, "")
	col := startCollector(t, dir, "collector", fmt.Sprintf(`receivers:
  filelog:
    include: [%s]
    start_at: beginning
    poll_interval: 50ms
exporters:
  otlp_grpc:
    endpoint: %s
    tls:
      insecure: true
    retry_on_failure:
      enabled: true
      initial_interval: 200ms
      max_interval: 1s
      max_elapsed_time: 0s
    sending_queue:
      enabled: true
      queue_size: 100000
service:
  pipelines:
    logs:
      receivers: [filelog]
      exporters: [otlp_grpc]
`, logPath, grpcAddr))

	var written atomic.Int64
	start := time.Now()
	done := writeSeqAtRate(t, logPath, &written)
	time.Sleep(outageAfter)
	p.stop(t)
	downAt, before := written.Load(), countLines(t, outPath)
	time.Sleep(outageFor)
	t.Logf("agent down for %v at %d lines written, %d received; back at %d written", outageFor, downAt, before, written.Load())
	p = startOTLPAgent(t, dir, grpcAddr, httpAddr, outPath, "")
	<-done
	waitFor(t, 2*time.Minute, "every record at the agent", func() bool {
		if col.Exited() {
			t.Fatal("the Collector exited")
		}
		return countLines(t, outPath) >= outageRecords
	})
	elapsed := time.Since(start)
	time.Sleep(time.Second)
	p.stop(t)
	col.stop(t)
	ids := map[string]int{}
	lines := map[int]int{}
	n := 0
	f, err := os.Open(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		r, err := agent.ParseJSON(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		ids[r.EnsureID()]++
		if ln, ok := parseSeqLine(string(r.Raw)); ok {
			lines[ln]++
		} else if m, ok := r.Get("message"); ok {
			if ln, ok := parseSeqLine(m.(string)); ok {
				lines[ln]++
			}
		}
	}
	lost, first := missing(lines, outageRecords)
	dups := n - len(ids)
	testfig.Report(t, "otlp source, agent down 20 s: %d lines through a real Collector, %d records at the agent, %d distinct ids, %d lost, %d duplicate ids, %v", outageRecords, n, len(ids), lost, dups, elapsed.Round(time.Second))
	if lost != 0 {
		t.Fatalf("%d lines lost, first %v", lost, first)
	}
	if dups != 0 {
		t.Fatalf("%d duplicate ids at the agent", dups)
	}
}
