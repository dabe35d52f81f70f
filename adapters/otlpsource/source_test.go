package otlpsource

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/otlp"
)

// gateSink captures records, and while closed holds every batch (the
// pipeline downstream is stuck).
type gateSink struct {
	agenttest.Capture
	mu   sync.Mutex
	open chan struct{}
}

func newGateSink(open bool) *gateSink {
	g := &gateSink{open: make(chan struct{})}
	if open {
		close(g.open)
	}
	return g
}

func (g *gateSink) Consume(ctx context.Context, b agent.Batch) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
	case <-ctx.Done():
		agent.AckAll(b, agent.Failed)
		return nil
	}
	return g.Capture.Consume(ctx, b)
}

func (g *gateSink) Open() { close(g.open) }

type harness struct {
	src     *source
	sink    *gateSink
	metrics func(string) float64
	grpc    plogotlp.GRPCClient
	httpURL string
	rt      *agent.Runtime
}

// start runs source "otlp" on ports the kernel picks, into sink, until the
// test ends.
func start(t *testing.T, sink *gateSink, edit func(*Config)) *harness {
	t.Helper()
	cfg := defaultConfig()
	cfg.GRPCAddress, cfg.HTTPAddress = "127.0.0.1:0", "127.0.0.1:0"
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &harness{sink: sink}
	var mu sync.Mutex
	fac := agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{Type: "otlp", NewConfig: defaultConfig,
		Create: func(set agent.Settings, c *Config) (agent.Source, error) {
			s, err := NewFactory().Create(set, c)
			if err == nil {
				mu.Lock()
				h.src = s.(*source)
				mu.Unlock()
			}
			return s.(agent.Source), err
		}})
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir, g.Agent.HTTPAddr = t.TempDir(), ""
	g.Agent.QueueCapacity = 64
	g.Nodes = []agent.NodeSpec{
		{ID: "source.otlp.in", Kind: agent.KindSource, Type: "otlp", Name: "in", Factory: fac, Config: cfg},
		{ID: "sink.c.c", Kind: agent.KindSink, Type: "c", Name: "c", Inputs: []string{"source.otlp.in", "source.otlp.in.dead_letter"},
			Factory: agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: "c",
				Create: func(agent.Settings, *struct{}) (agent.Sink, error) { return sink, nil }})},
	}
	rt, err := agent.New(g, agent.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-sink.open:
		default:
			sink.Open()
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("the runtime did not stop within a minute")
		}
	})
	var addrs map[string]string
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		s := h.src
		mu.Unlock()
		if s != nil {
			addrs = s.Addrs()
			if (cfg.GRPCAddress == "" || addrs["grpc"] != "") && (cfg.HTTPAddress == "" || addrs["http"] != "") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the source did not listen within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.metrics = func(name string) float64 { return agenttest.Metric(rt.Metrics(), name) }
	h.rt = rt
	if a := addrs["grpc"]; a != "" {
		conn, err := grpc.NewClient(a, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		h.grpc = plogotlp.NewGRPCClient(conn)
	}
	if a := addrs["http"]; a != "" {
		h.httpURL = "http://" + a + "/v1/logs"
	}
	return h
}

// testLogs builds n log records under two resources, with every field of a
// LogRecord set.
func testLogs(n int, tag string) plog.Logs {
	ld := plog.NewLogs()
	for r := 0; r < 2; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		ra := rl.Resource().Attributes()
		ra.PutStr("service.name", "checkout")
		ra.PutStr("k8s.pod.name", "checkout-"+strconv.Itoa(r))
		ra.PutInt("replica", int64(r))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("app/logger")
		sl.Scope().SetVersion("1.2.3")
		sl.Scope().Attributes().PutBool("scope.flag", true)
		sl.SetSchemaUrl("https://opentelemetry.io/schemas/1.27.0")
		for i := r; i < n; i += 2 {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)))
			lr.SetObservedTimestamp(pcommon.Timestamp(1_700_000_001_000_000_000 + int64(i)))
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.SetSeverityText("WARN")
			lr.Body().SetStr(fmt.Sprintf("%s line %d", tag, i))
			lr.Attributes().PutStr("http.method", "GET")
			lr.Attributes().PutInt("seq", int64(i))
			lr.Attributes().PutDouble("ratio", 0.5)
			m := lr.Attributes().PutEmptyMap("nested")
			m.PutStr("a", "b")
			m.PutEmptySlice("list").AppendEmpty().SetInt(7)
			lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
			lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
			lr.SetEventName("checkout.warned")
			lr.SetDroppedAttributesCount(3)
		}
	}
	return ld
}

func waitRecords(t *testing.T, c *gateSink, n int) agent.Batch {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs := c.Records()
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d records within 30s, want %d", len(recs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGRPCExportBecomesRecords(t *testing.T) {
	h := start(t, newGateSink(true), nil)
	_, err := h.grpc.Export(context.Background(), plogotlp.NewExportRequestFromLogs(testLogs(10, "grpc")))
	if err != nil {
		t.Fatal(err)
	}
	recs := h.sink.Records()
	if len(recs) != 10 {
		t.Fatalf("the export call returned with %d records delivered, want 10", len(recs))
	}
	byMsg := map[string]*agent.Record{}
	for i := range recs {
		byMsg[string(recs[i].Raw)] = &recs[i]
	}
	r := byMsg["grpc line 3"]
	if r == nil {
		t.Fatalf("no record with raw %q among %d", "grpc line 3", len(recs))
	}
	if !r.Time.Equal(time.Unix(0, 1_700_000_000_000_000_003)) {
		t.Errorf("time %v", r.Time)
	}
	want := map[string]any{
		"message":                  "grpc line 3",
		"attributes":               map[string]any{"http.method": "GET", "seq": int64(3), "ratio": 0.5, "nested": map[string]any{"a": "b", "list": []any{int64(7)}}},
		"resource":                 map[string]any{"service.name": "checkout", "k8s.pod.name": "checkout-1", "replica": int64(1)},
		"resource_schema_url":      "https://opentelemetry.io/schemas/1.26.0",
		"scope":                    map[string]any{"name": "app/logger", "version": "1.2.3", "attributes": map[string]any{"scope.flag": true}, "schema_url": "https://opentelemetry.io/schemas/1.27.0"},
		"severity_text":            "WARN",
		"severity_number":          int64(13),
		"trace_id":                 "0102030405060708090a0b0c0d0e0f10",
		"span_id":                  "0102030405060708",
		"flags":                    int64(1),
		"event_name":               "checkout.warned",
		"observed_time":            time.Unix(0, 1_700_000_001_000_000_003),
		"dropped_attributes_count": int64(3),
	}
	got := maps.Collect(r.All())
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("field %s missing", k)
			continue
		}
		if wt, ok := w.(time.Time); ok {
			if gt, ok := g.(time.Time); !ok || !gt.Equal(wt) {
				t.Errorf("field %s = %v, want %v", k, g, w)
			}
			continue
		}
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("field %s = %#v, want %#v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s = %v", k, got[k])
		}
	}
	if r.Origin.Host != "otlp" || r.Origin.Component != "source.otlp.in" || !strings.HasPrefix(r.Origin.Stream, "otlp:") || r.Origin.Offset != 0 {
		t.Errorf("origin %+v", r.Origin)
	}
	if n := h.metrics("octoagent_otlp_requests_total"); n != 1 {
		t.Errorf("requests_total = %v, want 1", n)
	}
}

// A retried request (its answer was lost) gives the same ids and is not
// emitted twice; the same content sent over HTTP as JSON also has the
// same ids (the hash is of the content, not of its encoding).
func TestRetryGetsSameIDs(t *testing.T) {
	h := start(t, newGateSink(true), nil)
	req := plogotlp.NewExportRequestFromLogs(testLogs(6, "retry"))
	for range 2 {
		if _, err := h.grpc.Export(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	recs := h.sink.Records()
	if len(recs) != 6 {
		t.Fatalf("%d records after the same request twice, want 6 (emitted once)", len(recs))
	}
	if n := h.metrics("octoagent_otlp_duplicate_requests_total"); n != 1 {
		t.Errorf("duplicate_requests_total = %v, want 1", n)
	}
	ids := map[string]bool{}
	for i := range recs {
		ids[recs[i].EnsureID()] = true
	}
	if len(ids) != 6 {
		t.Fatalf("%d distinct ids among 6 records", len(ids))
	}

	// A second source (another replica, or this one after a restart)
	// gives the same records the same ids, whatever the encoding.
	h2 := start(t, newGateSink(true), nil)
	body, err := req.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(h2.httpURL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	recs2 := h2.sink.Records()
	if len(recs2) != 6 {
		t.Fatalf("%d records over HTTP, want 6", len(recs2))
	}
	for i := range recs2 {
		// The component differs (source.otlp.in both times here), the
		// ids must not.
		if !ids[recs2[i].EnsureID()] {
			t.Errorf("record %q has id %s over HTTP/JSON, not one of the gRPC ids", recs2[i].Raw, recs2[i].EnsureID())
		}
	}

	// Two identical log records in one request are two records.
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr("same")
	lrs.AppendEmpty().Body().SetStr("same")
	if _, err := h2.grpc.Export(context.Background(), plogotlp.NewExportRequestFromLogs(ld)); err != nil {
		t.Fatal(err)
	}
	recs2 = h2.sink.Records()[6:]
	if len(recs2) != 2 || recs2[0].EnsureID() == recs2[1].EnsureID() || recs2[1].Origin.Offset != 1 {
		t.Fatalf("identical records: %d, ids %v", len(recs2), recs2)
	}
}

func postHTTP(t *testing.T, url, ct string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestHTTPProtobufJSONGzip(t *testing.T) {
	h := start(t, newGateSink(true), func(c *Config) { c.GRPCAddress = "" })
	pb, _ := plogotlp.NewExportRequestFromLogs(testLogs(4, "proto")).MarshalProto()
	js, _ := plogotlp.NewExportRequestFromLogs(testLogs(4, "json")).MarshalJSON()
	gzpb, _ := plogotlp.NewExportRequestFromLogs(testLogs(4, "gzproto")).MarshalProto()
	cases := []struct {
		ct   string
		body []byte
		hdr  map[string]string
	}{
		{"application/x-protobuf", pb, nil},
		{"application/json; charset=utf-8", js, nil},
		{"application/x-protobuf", gz(gzpb), map[string]string{"Content-Encoding": "gzip"}},
	}
	for _, c := range cases {
		resp, body := postHTTP(t, h.httpURL, c.ct, c.body, c.hdr)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", c.ct, resp.StatusCode, body)
		}
		if strings.HasPrefix(c.ct, "application/json") && string(body) != "{}" {
			t.Errorf("JSON answer %q", body)
		}
	}
	recs := h.sink.Records()
	seen := map[string]bool{}
	for i := range recs {
		seen[string(recs[i].Raw)] = true
	}
	for _, tag := range []string{"proto", "json", "gzproto"} {
		for i := range 4 {
			if !seen[fmt.Sprintf("%s line %d", tag, i)] {
				t.Errorf("missing %s line %d", tag, i)
			}
		}
	}
	if len(recs) != 12 {
		t.Errorf("%d records, want 12", len(recs))
	}
}

// statusOf decodes an OTLP/HTTP error body (a google.rpc.Status).
func statusOf(t *testing.T, body []byte) string {
	t.Helper()
	var st spb.Status
	if err := proto.Unmarshal(body, &st); err != nil {
		t.Fatalf("the error body is not a google.rpc.Status: %v: %q", err, body)
	}
	return st.Message
}

// Bad requests get clear errors and counters, and the source keeps
// serving.
func TestBadRequests(t *testing.T) {
	h := start(t, newGateSink(true), func(c *Config) {
		c.MaxRequestBytes = "64KiB"
		c.MaxRequestRecords = 100
		c.MaxAttributeDepth = 3
	})
	good, _ := plogotlp.NewExportRequestFromLogs(testLogs(4, "good")).MarshalProto()
	deep := plog.NewLogs()
	m := deep.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes()
	for range 5 {
		m = m.PutEmptyMap("d")
	}
	deepPB, _ := plogotlp.NewExportRequestFromLogs(deep).MarshalProto()
	many, _ := plogotlp.NewExportRequestFromLogs(testLogs(101, "many")).MarshalProto()
	big := plog.NewLogs()
	big.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("x", 100<<10))
	bigPB, _ := plogotlp.NewExportRequestFromLogs(big).MarshalProto()

	httpCases := []struct {
		name, ct string
		body     []byte
		hdr      map[string]string
		status   int
		msg      string
	}{
		{"truncated protobuf", "application/x-protobuf", good[:len(good)-7], nil, 400, "not a valid OTLP ExportLogsServiceRequest in protobuf"},
		{"bad JSON", "application/json", []byte(`{"resourceLogs": [`), nil, 400, "not a valid OTLP ExportLogsServiceRequest in JSON"},
		{"wrong content type", "text/plain", good, nil, 415, `unsupported Content-Type "text/plain"`},
		{"oversized body", "application/x-protobuf", bigPB, nil, 413, "more than max_request_bytes"},
		{"gzip bomb", "application/x-protobuf", gz(bigPB), map[string]string{"Content-Encoding": "gzip"}, 413, "more than max_request_bytes"},
		{"not gzip", "application/x-protobuf", good, map[string]string{"Content-Encoding": "gzip"}, 400, "not gzip"},
		{"too many records", "application/x-protobuf", many, nil, 413, "101 log records, more than max_request_records (100)"},
		{"too deep", "application/x-protobuf", deepPB, nil, 400, "deeper than max_attribute_depth (3)"},
	}
	for _, c := range httpCases {
		resp, body := postHTTP(t, h.httpURL, c.ct, c.body, c.hdr)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %q", c.name, resp.StatusCode, c.status, body)
			continue
		}
		ct := "application/x-protobuf"
		if c.ct == "application/json" || c.ct == "text/plain" {
			ct = "application/json"
		}
		var msg string
		if ct == "application/json" {
			var st spb.Status
			if err := protojson.Unmarshal(body, &st); err != nil {
				t.Fatalf("%s: the JSON error body is not a google.rpc.Status: %v: %q", c.name, err, body)
			}
			msg = st.Message
		} else {
			msg = statusOf(t, body)
		}
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q, want it to say %q", c.name, msg, c.msg)
		}
	}
	grpcCases := []struct {
		name string
		body []byte
		code codes.Code
		msg  string
	}{
		{"truncated protobuf", good[:len(good)-7], codes.InvalidArgument, "not a valid OTLP ExportLogsServiceRequest"},
		{"oversized", bigPB, codes.InvalidArgument, "more than max_request_bytes"},
		{"too many records", many, codes.InvalidArgument, "more than max_request_records"},
		{"too deep", deepPB, codes.InvalidArgument, "deeper than max_attribute_depth"},
	}
	conn, err := grpc.NewClient(h.src.Addrs()["grpc"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, c := range grpcCases {
		var out otlp.Frame
		err := conn.Invoke(context.Background(), otlp.ExportMethod, &otlp.Frame{B: c.body}, &out, grpc.ForceCodecV2(otlp.RawCodec{}))
		st := status.Convert(err)
		if st.Code() != c.code || !strings.Contains(st.Message(), c.msg) {
			t.Errorf("gRPC %s: %v, want %v with %q", c.name, err, c.code, c.msg)
		}
	}
	// Far over the limit, gRPC refuses the message itself.
	huge := plog.NewLogs()
	huge.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(strings.Repeat("y", 200<<10))
	if _, err := h.grpc.Export(context.Background(), plogotlp.NewExportRequestFromLogs(huge)); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a message over twice max_request_bytes: %v, want RESOURCE_EXHAUSTED", err)
	}

	// Still serving, and nothing bad was emitted.
	resp, body := postHTTP(t, h.httpURL, "application/x-protobuf", good, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("a good request after the bad ones: %d %s", resp.StatusCode, body)
	}
	if _, err := h.grpc.Export(context.Background(), plogotlp.NewExportRequestFromLogs(testLogs(3, "good grpc"))); err != nil {
		t.Fatalf("a good gRPC request after the bad ones: %v", err)
	}
	if n := len(h.sink.Records()); n != 7 {
		t.Errorf("%d records, want 7 (the good requests only)", n)
	}
	for _, r := range []string{"malformed", "unsupported", "too_large", "invalid"} {
		if n := metricWith(t, h, "octoagent_otlp_requests_total", "result", r); n == 0 {
			t.Errorf("requests_total{result=%q} = 0", r)
		}
	}
	if n := h.metrics("octoagent_otlp_refused_records_total"); n < 101 {
		t.Errorf("refused_records_total = %v, want at least 101", n)
	}
}

func metricWith(t *testing.T, h *harness, name, label, value string) float64 {
	t.Helper()
	mfs, _ := h.rt.Metrics().Registry.Gather()
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// While downstream is stuck, an export call waits (its records are not
// acknowledged), further calls are refused with RESOURCE_EXHAUSTED and a
// RetryInfo (gRPC) or 429 with Retry-After (HTTP), and once downstream
// moves the waiting call succeeds and the refused ones go through on
// retry.
func TestBackpressure(t *testing.T) {
	sink := newGateSink(false)
	h := start(t, sink, func(c *Config) {
		c.MaxPendingRecords = 10
		c.PendingWait = "100ms"
		c.RetryAfter = "2s"
	})
	first := make(chan error, 1)
	go func() {
		_, err := h.grpc.Export(context.Background(), plogotlp.NewExportRequestFromLogs(testLogs(10, "first")))
		first <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for h.metrics("octoagent_otlp_pending_records") != 10 {
		if time.Now().After(deadline) {
			t.Fatal("the first request's records are not pending within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-first:
		t.Fatalf("the first call returned (%v) while its records are stuck downstream", err)
	default:
	}
	second := plogotlp.NewExportRequestFromLogs(testLogs(4, "second"))
	_, err := h.grpc.Export(context.Background(), second)
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("a call while the pipeline is full: %v, want RESOURCE_EXHAUSTED", err)
	}
	if d, ok := otlp.RetryDelay(st); !ok || d != 2*time.Second {
		t.Errorf("RetryInfo %v %v, want 2s", d, ok)
	}
	pb, _ := second.MarshalProto()
	resp, body := postHTTP(t, h.httpURL, "application/x-protobuf", pb, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("HTTP while full: %d Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := h.metrics("octoagent_otlp_refused_records_total"); n != 8 {
		t.Errorf("refused_records_total = %v, want 8", n)
	}

	sink.Open()
	if err := <-first; err != nil {
		t.Fatalf("the first call once downstream moved: %v", err)
	}
	if _, err := h.grpc.Export(context.Background(), second); err != nil {
		t.Fatalf("the retry of the refused call: %v", err)
	}
	if n := len(sink.Records()); n != 14 {
		t.Fatalf("%d records, want 14", n)
	}
}

// A call whose records fail downstream is answered UNAVAILABLE, so the
// exporter retries it.
func TestFailedRecordsAnswerUnavailable(t *testing.T) {
	sink := newGateSink(false)
	h := start(t, sink, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := h.grpc.Export(ctx, plogotlp.NewExportRequestFromLogs(testLogs(2, "late")))
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		t.Fatalf("a call whose records are stuck, past its deadline: %v", err)
	}
	// The retry joins the first emission: it waits for its outcome rather
	// than emitting again.
	sink.Open()
	if _, err := h.grpc.Export(context.Background(), plogotlp.NewExportRequestFromLogs(testLogs(2, "late"))); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.Records()); n != 2 {
		t.Fatalf("%d records after a timed-out call and its retry, want 2", n)
	}
}

func TestToken(t *testing.T) {
	h := start(t, newGateSink(true), func(c *Config) { c.Token = agent.Secret("s3cret") })
	pb, _ := plogotlp.NewExportRequestFromLogs(testLogs(2, "tok")).MarshalProto()
	resp, _ := postHTTP(t, h.httpURL, "application/x-protobuf", pb, nil)
	if resp.StatusCode != 401 {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	resp, _ = postHTTP(t, h.httpURL, "application/x-protobuf", pb, map[string]string{"Authorization": "Bearer wrong"})
	if resp.StatusCode != 401 {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	if _, err := h.grpc.Export(context.Background(), plogotlp.NewExportRequestFromLogs(testLogs(2, "tok"))); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC without a token: %v", err)
	}
	resp, body := postHTTP(t, h.httpURL, "application/x-protobuf", pb, map[string]string{"Authorization": "Bearer s3cret"})
	if resp.StatusCode != 200 {
		t.Errorf("right token: %d %s", resp.StatusCode, body)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer s3cret")
	if _, err := h.grpc.Export(ctx, plogotlp.NewExportRequestFromLogs(testLogs(2, "tok2"))); err != nil {
		t.Errorf("gRPC with the token: %v", err)
	}
	if n := len(h.sink.Records()); n != 4 {
		t.Errorf("%d records, want 4", n)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.GRPCAddress, c.HTTPAddress = "", "" }, "both grpc_address and http_address are empty"},
		{func(c *Config) { c.GRPCAddress = "4317" }, "is not host:port"},
		{func(c *Config) { c.GRPCAddress, c.HTTPAddress = "0.0.0.0:4317", "0.0.0.0:4317" }, "the same port"},
		{func(c *Config) { c.MaxRequestBytes = "1" }, "not a size"},
		{func(c *Config) { c.PendingWait = "soon" }, "not a positive duration"},
	}
	for _, c := range cases {
		cfg := defaultConfig()
		c.edit(cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// A call whose records stay stuck downstream is answered UNAVAILABLE after
// ack_timeout; its retry waits for the same records (not emitted again)
// and succeeds once they are delivered.
func TestAckTimeout(t *testing.T) {
	sink := newGateSink(false)
	h := start(t, sink, func(c *Config) { c.AckTimeout = "300ms" })
	req := plogotlp.NewExportRequestFromLogs(testLogs(3, "stuck"))
	_, err := h.grpc.Export(context.Background(), req)
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "ack_timeout") {
		t.Fatalf("a call whose records are stuck: %v, want UNAVAILABLE after ack_timeout", err)
	}
	pb, _ := req.MarshalProto()
	resp, body := postHTTP(t, h.httpURL, "application/x-protobuf", pb, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("HTTP retry while stuck: %d %q", resp.StatusCode, body)
	}
	sink.Open()
	if _, err := h.grpc.Export(context.Background(), req); err != nil {
		t.Fatalf("the retry once downstream moved: %v", err)
	}
	if n := len(sink.Records()); n != 3 {
		t.Fatalf("%d records, want 3 (emitted once)", n)
	}
}
