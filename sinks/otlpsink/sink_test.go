package otlpsink

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/otlp"
)

// collector is an OTLP logs endpoint (gRPC and HTTP) that keeps what it
// is sent and answers each call as answer says.
type collector struct {
	plogotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	calls    int
	at       []time.Time
	logs     []plog.Logs
	auth     []string
	tenant   []string
	answer   func(call int, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error)
	grpcAddr string
}

func (c *collector) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	c.mu.Lock()
	c.calls++
	call := c.calls
	c.at = append(c.at, time.Now())
	md, _ := metadata.FromIncomingContext(ctx)
	c.auth = append(c.auth, strings.Join(md.Get("authorization"), ","))
	c.tenant = append(c.tenant, strings.Join(md.Get("x-tenant"), ","))
	c.mu.Unlock()
	if c.answer != nil {
		resp, err := c.answer(call, req)
		if err != nil || resp.PartialSuccess().RejectedLogRecords() > 0 {
			if err == nil {
				c.keep(req, resp.PartialSuccess().RejectedLogRecords())
			}
			return resp, err
		}
	}
	c.keep(req, 0)
	return plogotlp.NewExportResponse(), nil
}

// keep stores what the call delivered (all of it: a test that rejects
// some reads the rejected ones from the dead letters).
func (c *collector) keep(req plogotlp.ExportRequest, _ int64) {
	ld := plog.NewLogs()
	req.Logs().CopyTo(ld)
	c.mu.Lock()
	c.logs = append(c.logs, ld)
	c.mu.Unlock()
}

func (c *collector) records() []plog.LogRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []plog.LogRecord
	for _, ld := range c.logs {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, lr)
				}
			}
		}
	}
	return out
}

func startGRPCCollector(t *testing.T, c *collector) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	plogotlp.RegisterGRPCServer(srv, c)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	c.grpcAddr = ln.Addr().String()
}

type sinkRun struct {
	sink agent.Sink
	m    *agent.Metrics
	dead *agenttest.Capture
}

func newSink(t *testing.T, edit func(*Config)) *sinkRun {
	t.Helper()
	f := NewFactory()
	cfg := f.NewConfig().(*Config)
	cfg.Common.BatchMaxWait = "10ms"
	cfg.Common.RetryInitialBackoff = "50ms"
	cfg.Common.RetryMaxBackoff = "200ms"
	edit(cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := agent.NewMetrics(nil)
	dead := &agenttest.Capture{}
	set := agent.Settings{ID: "sink.otlp.t", Metrics: m.For("sink.otlp.t"), DeadLetter: dead, Host: "node-1",
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	s, err := f.Create(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(agent.Closer).Close() })
	return &sinkRun{sink: s.(agent.Sink), m: m, dead: dead}
}

// send consumes b and waits until every record is resolved (the batch
// goes out after batch_max_wait: Flush ends the sink's run).
func (s *sinkRun) send(t *testing.T, b agent.Batch) {
	t.Helper()
	done := make(chan bool, 1)
	tok := agent.NewAcks().NewToken(len(b), func(failed bool) { done <- failed })
	for i := range b {
		b[i].SetToken(tok)
	}
	if err := s.sink.Consume(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	select {
	case failed := <-done:
		if failed {
			t.Fatalf("some records failed")
		}
	case <-time.After(time.Minute):
		t.Fatal("the records were not resolved within a minute")
	}
}

func (s *sinkRun) delivered() float64 {
	return agenttest.Metric(s.m, "octoagent_component_delivered_records_total")
}

func testBatch(n int) agent.Batch {
	b := make(agent.Batch, n)
	for i := range b {
		r := agent.Record{
			Kind:   "http_request",
			Time:   time.Date(2026, 12, 6, 5, 0, 0, i, time.UTC),
			Raw:    []byte("GET /x " + string(rune('a'+i%26))),
			Entity: []agent.KV{{Key: "k8s.namespace.name", Value: "web"}, {Key: "k8s.pod.name", Value: "nginx-0"}, {Key: "log.iostream", Value: "stdout"}},
			Origin: agent.Origin{Host: "node-1", Component: "source.kubernetes_logs.pods", Stream: "/var/log/pods/web_nginx-0/nginx/0.log", Offset: int64(100 * i), Path: "/var/log/pods/web_nginx-0/nginx/0.log", Rule: "transform.nginx", Index: 0},
		}
		b[i] = r.WithFields(map[string]any{"method": "GET", "status": int64(200 + i), "ratio": 0.25, "ok": true,
			"tags": []any{"a", int64(1)}, "user": map[string]any{"name": "ann"}, "at": time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)})
	}
	return b
}

// Every field becomes an attribute; kind, id, origin and entity become
// the documented attributes.
func TestGRPCFieldsBecomeAttributes(t *testing.T) {
	c := &collector{}
	startGRPCCollector(t, c)
	s := newSink(t, func(cfg *Config) {
		cfg.Endpoint = "http://" + c.grpcAddr
		cfg.IncludeOrigin = true
		cfg.Headers = map[string]string{"X-Tenant": "platform"}
		cfg.Common.Token = "s3cret"
	})
	b := testBatch(3)
	ids := []string{b[0].EnsureID(), b[1].EnsureID(), b[2].EnsureID()}
	s.send(t, b)
	lrs := c.records()
	if len(lrs) != 3 {
		t.Fatalf("the collector got %d log records, want 3", len(lrs))
	}
	if c.auth[0] != "Bearer s3cret" || c.tenant[0] != "platform" {
		t.Errorf("metadata: authorization %q, x-tenant %q", c.auth[0], c.tenant[0])
	}
	rl := c.logs[0].ResourceLogs().At(0)
	res := otlp.Map(rl.Resource().Attributes())
	wantRes := map[string]any{"k8s.namespace.name": "web", "k8s.pod.name": "nginx-0", "host.name": "node-1"}
	if !equalJSON(res, wantRes) {
		t.Errorf("resource %v, want %v", res, wantRes)
	}
	if n := rl.ScopeLogs().At(0).Scope().Name(); n != "octoagent" {
		t.Errorf("scope %q", n)
	}
	lr := lrs[1]
	got := otlp.Map(lr.Attributes())
	want := map[string]any{
		"method": "GET", "status": int64(201), "ratio": 0.25, "ok": true, "tags": []any{"a", int64(1)}, "user": map[string]any{"name": "ann"},
		"at":                         "2026-01-02T03:04:05.000000006Z",
		"log.record.uid":             ids[1],
		"event.name":                 "http_request",
		"log.iostream":               "stdout",
		"log.file.path":              "/var/log/pods/web_nginx-0/nginx/0.log",
		"octoagent.origin.host":      "node-1",
		"octoagent.origin.component": "source.kubernetes_logs.pods",
		"octoagent.origin.stream":    "/var/log/pods/web_nginx-0/nginx/0.log",
		"octoagent.origin.offset":    int64(100),
		"octoagent.origin.rule":      "transform.nginx",
		"octoagent.origin.index":     int64(0),
	}
	if !equalJSON(got, want) {
		t.Errorf("attributes\n got %v\nwant %v", got, want)
	}
	if lr.Body().Str() != "GET /x b" || lr.EventName() != "http_request" || lr.Timestamp().AsTime() != b[1].Time || lr.ObservedTimestamp() == 0 {
		t.Errorf("body %q, event name %q, time %v, observed %v", lr.Body().Str(), lr.EventName(), lr.Timestamp().AsTime(), lr.ObservedTimestamp())
	}
	if d := s.delivered(); d != 3 {
		t.Errorf("delivered %v, want 3", d)
	}
}

func equalJSON(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if !equalValue(a[k], v) {
			return false
		}
	}
	return true
}

func equalValue(a, b any) bool {
	switch bv := b.(type) {
	case map[string]any:
		am, ok := a.(map[string]any)
		return ok && equalJSON(am, bv)
	case []any:
		al, ok := a.([]any)
		if !ok || len(al) != len(bv) {
			return false
		}
		for i := range bv {
			if !equalValue(al[i], bv[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// RESOURCE_EXHAUSTED with a RetryInfo is retried after the delay it asks
// for; UNAVAILABLE is retried with backoff; then the records are acked.
func TestGRPCRetryHonoursRetryInfo(t *testing.T) {
	c := &collector{answer: func(call int, _ plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
		switch call {
		case 1:
			return plogotlp.NewExportResponse(), otlp.Throttled("busy", 700*time.Millisecond)
		case 2:
			return plogotlp.NewExportResponse(), status.Error(codes.Unavailable, "restarting")
		}
		return plogotlp.NewExportResponse(), nil
	}}
	startGRPCCollector(t, c)
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = "http://" + c.grpcAddr })
	s.send(t, testBatch(5))
	if c.calls != 3 || len(c.records()) != 5 {
		t.Fatalf("%d calls, %d records kept; want 3 calls, 5 records", c.calls, len(c.records()))
	}
	if gap := c.at[1].Sub(c.at[0]); gap < 650*time.Millisecond {
		t.Errorf("the retry came %v after RESOURCE_EXHAUSTED with RetryInfo 700ms", gap)
	}
	if d := s.delivered(); d != 5 {
		t.Errorf("delivered %v, want 5", d)
	}
	if len(s.dead.Records()) != 0 {
		t.Errorf("%d dead letters", len(s.dead.Records()))
	}
}

// A partial success dead-letters the rejected records with the reason;
// when the message names them by id only those, else all (OTLP does not
// say which).
func TestPartialSuccess(t *testing.T) {
	var named string
	c := &collector{answer: func(call int, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
		resp := plogotlp.NewExportResponse()
		switch call {
		case 1:
			resp.PartialSuccess().SetRejectedLogRecords(1)
			resp.PartialSuccess().SetErrorMessage("record " + named + " has a bad attribute")
		case 2:
			resp.PartialSuccess().SetRejectedLogRecords(2)
			resp.PartialSuccess().SetErrorMessage("2 records too old")
		}
		return resp, nil
	}}
	startGRPCCollector(t, c)
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = "http://" + c.grpcAddr })
	b := testBatch(4)
	named = b[2].EnsureID()
	s.send(t, b)
	dead := s.dead.Records()
	if len(dead) != 1 || s.delivered() != 3 {
		t.Fatalf("named: %d dead letters, %v delivered; want 1 and 3", len(dead), s.delivered())
	}
	f := maps(dead[0])
	if f["reason"] != "rejected" || !strings.Contains(f["errors"].([]any)[0].(map[string]any)["error"].(string), "has a bad attribute") || f["raw"] != "GET /x c" {
		t.Errorf("dead letter %v", f)
	}
	s.send(t, testBatch(4))
	dead = s.dead.Records()[1:]
	if len(dead) != 4 {
		t.Fatalf("unnamed: %d dead letters, want 4", len(dead))
	}
	if f := maps(dead[0]); f["reason"] != "partially_rejected" || !strings.Contains(f["errors"].([]any)[0].(map[string]any)["error"].(string), "rejected 2 of the 4 records") {
		t.Errorf("dead letter %v", f)
	}
}

func maps(r agent.Record) map[string]any {
	out := map[string]any{}
	for k, v := range r.All() {
		out[k] = v
	}
	return out
}

// INVALID_ARGUMENT is final: the batch is dead-lettered, not retried.
func TestGRPCInvalidArgumentDeadLetters(t *testing.T) {
	c := &collector{answer: func(int, plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
		return plogotlp.NewExportResponse(), status.Error(codes.InvalidArgument, "no thanks")
	}}
	startGRPCCollector(t, c)
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = "http://" + c.grpcAddr })
	s.send(t, testBatch(2))
	if c.calls != 1 || len(s.dead.Records()) != 2 {
		t.Fatalf("%d calls, %d dead letters; want 1 and 2", c.calls, len(s.dead.Records()))
	}
	if f := maps(s.dead.Records()[0]); !strings.Contains(f["errors"].([]any)[0].(map[string]any)["error"].(string), "no thanks") {
		t.Errorf("dead letter %v", f)
	}
}

// OTLP/HTTP: protobuf or JSON, gzip, 429 with Retry-After honoured.
func TestHTTP(t *testing.T) {
	for _, enc := range []string{"proto", "json"} {
		t.Run(enc, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			var at []time.Time
			var got []plog.Logs
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				at = append(at, time.Now())
				if r.URL.Path != "/v1/logs" || r.Header.Get("Content-Encoding") != "gzip" {
					w.WriteHeader(400)
					return
				}
				if calls == 1 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(429)
					return
				}
				zr, err := gzip.NewReader(r.Body)
				if err != nil {
					w.WriteHeader(400)
					return
				}
				body, _ := io.ReadAll(zr)
				req := plogotlp.NewExportRequest()
				if enc == "json" {
					if r.Header.Get("Content-Type") != "application/json" {
						w.WriteHeader(415)
						return
					}
					err = req.UnmarshalJSON(body)
				} else {
					if r.Header.Get("Content-Type") != "application/x-protobuf" {
						w.WriteHeader(415)
						return
					}
					err = req.UnmarshalProto(body)
				}
				if err != nil {
					w.WriteHeader(400)
					return
				}
				got = append(got, req.Logs())
				w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
				if enc == "json" {
					w.Write([]byte("{}"))
				}
			}))
			defer srv.Close()
			s := newSink(t, func(cfg *Config) {
				cfg.Protocol = "http"
				cfg.Encoding = enc
				cfg.Endpoint = srv.URL
			})
			s.send(t, testBatch(7))
			mu.Lock()
			defer mu.Unlock()
			if calls != 2 || len(got) != 1 || got[0].LogRecordCount() != 7 {
				t.Fatalf("%d calls, %d requests kept", calls, len(got))
			}
			if gap := at[1].Sub(at[0]); gap < 950*time.Millisecond {
				t.Errorf("the retry came %v after 429 with Retry-After: 1", gap)
			}
			if d := s.delivered(); d != 7 {
				t.Errorf("delivered %v", d)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Endpoint = "collector:4317" }, "is not an http:// or https:// URL"},
		{func(c *Config) { c.Endpoint = "https://user:pw@collector:4317" }, "carries credentials"},
		{func(c *Config) { c.Endpoint = "https://collector:4317/v1/logs" }, "has a path, which gRPC does not use"},
		{func(c *Config) { c.Protocol = "thrift" }, `unknown protocol "thrift"`},
		{func(c *Config) { c.Encoding = "json" }, `needs protocol = "http"`},
		{func(c *Config) { c.Headers = map[string]string{"Content-Type": "x"} }, "cannot be set"},
	}
	for _, c := range cases {
		cfg := NewFactory().NewConfig().(*Config)
		cfg.Endpoint = "https://collector:4317"
		c.edit(cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	cfg := NewFactory().NewConfig().(*Config)
	cfg.Protocol, cfg.Endpoint = "http", "https://collector:4318"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if u, _ := cfg.target(); u != "https://collector:4318/v1/logs" {
		t.Errorf("target %q", u)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
