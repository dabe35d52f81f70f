package openlineage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

func registry() *agent.Registry {
	return agent.NewRegistry(stdin.NewFactory(), rules.NewFactory(), stdout.NewFactory(), NewFactory())
}

// loadConfig loads HCL (with a stdin source "in" and a transform "t" of
// kind k for the sink to read, unless src has its own) and returns the
// sink's config, or the diagnostics printed.
func loadConfig(t testing.TB, src string) (*Config, string) {
	t.Helper()
	res, diags := config.LoadSources([]config.Source{{Name: "test.hcl", Data: []byte(src)}}, registry())
	if diags.HasErrors() {
		var buf bytes.Buffer
		config.WriteDiagnostics(&buf, res.Files, diags)
		return nil, buf.String()
	}
	for _, c := range res.Components {
		if cfg, ok := c.Config.(*Config); ok {
			return cfg, ""
		}
	}
	t.Fatal("no openlineage sink in the config")
	return nil, ""
}

// mustConfig is loadConfig that fails the test on diagnostics.
func mustConfig(t testing.TB, src string) *Config {
	t.Helper()
	cfg, diags := loadConfig(t, src)
	if cfg == nil {
		t.Fatalf("config does not load:\n%s", diags)
	}
	return cfg
}

// diagsOf loads a config that must fail and returns its diagnostics.
func diagsOf(t testing.TB, src string) hcl.Diagnostics {
	t.Helper()
	_, diags := config.LoadSources([]config.Source{{Name: "test.hcl", Data: []byte(src)}}, registry())
	if !diags.HasErrors() {
		t.Fatalf("config loads; want an error:\n%s", src)
	}
	return diags
}

// sinkHCL wraps mapping blocks in a sink with a file transport at path,
// reading the output of a stdin source.
func sinkHCL(path, body string) string {
	return `
source "stdin" "in" {}
sink "openlineage" "ol" {
  inputs = [source.stdin.in]
  transport "file" {
    path = "` + path + `"
  }
` + body + `
}
`
}

// testSink is a sink with a file transport, its dead letters captured.
type testSink struct {
	*Sink
	path string
	dead *agenttest.Capture
	acks *agent.Acks
}

func newTestSink(t testing.TB, mappings string) *testSink {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	cfg := mustConfig(t, sinkHCL(path, mappings))
	return startSink(t, cfg, path)
}

func startSink(t testing.TB, cfg *Config, path string) *testSink {
	t.Helper()
	dead := &agenttest.Capture{}
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: "sink.openlineage.ol", Kind: agent.KindSink, Type: "openlineage", Name: "ol",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m.For("sink.openlineage.ol"), Host: "test",
		Out: dead, DeadLetter: dead}
	s, err := New(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testSink{Sink: s, path: path, dead: dead, acks: agent.NewAcks()}
}

// record builds a typed record of kind with fields, at offset off.
func record(kind string, off int64, fields map[string]any) agent.Record {
	r := agent.Record{Kind: kind, Time: time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC),
		Origin: agent.Origin{Host: "h", Component: "source.test.t", Stream: "s", Offset: off}}
	r.SetFields(fields)
	return r
}

// consume feeds records through the sink, each in a token of its own, and
// returns how many tokens ended failed.
func (s *testSink) consume(t testing.TB, recs ...agent.Record) (failed int) {
	t.Helper()
	b := make(agent.Batch, len(recs))
	for i := range recs {
		b[i] = recs[i]
		b[i].SetToken(s.acks.NewToken(1, func(f bool) {
			if f {
				failed++
			}
		}))
	}
	if err := s.Consume(context.Background(), b); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if n := s.acks.InFlight(); n != 0 {
		t.Fatalf("%d records left unresolved", n)
	}
	return failed
}

// events reads back the events the file transport wrote.
func (s *testSink) events(t testing.TB) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(s.path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		out = append(out, ev)
	}
	return out
}

// lines reads back the raw lines the file transport wrote.
func (s *testSink) lines(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// get walks a decoded event by keys and indexes: get(ev, "run", "facets",
// "parent", "run", "runId").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
