package otlp

import (
	"context"
	"testing"

	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

// TestThroughRules: OTLP in → a rule that parses the body → OTLP out
// keeps everything the rule did not change (resource, scope, attributes,
// severity, trace context, times) and adds what it parsed.
func TestThroughRules(t *testing.T) {
	reg := agent.NewRegistry(stdin.NewFactory(), rules.NewFactory(), stdout.NewFactory())
	cfg, diags := agenttest.LoadTransform(t, reg, "rules", "app", `
  parse "regex" {
    pattern = "^(?P<word>\\w+) (?P<rest>.*)$"
  }
`)
	if cfg == nil {
		t.Fatalf("config:\n%s", diags)
	}
	set, out, dead, _ := agenttest.TransformSettings("transform.app", "rules", t.TempDir())
	tr, err := rules.NewFactory().Create(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := fullLogs()
	recs := records(in)
	if err := tr.(agent.Transform).Process(context.Background(), recs[:1]); err != nil {
		t.Fatal(err)
	}
	if len(dead.Records()) != 0 || len(out.Records()) != 1 {
		t.Fatalf("%d out, %d dead letters", len(out.Records()), len(dead.Records()))
	}
	r := out.Records()[0]
	b := NewBuilder(BuildOptions{Host: "agent-node"})
	b.Add(&r)
	got := b.Take()
	rl := got.ResourceLogs().At(0)
	want := in.ResourceLogs().At(0)
	if !rl.Resource().Attributes().Equal(want.Resource().Attributes()) || rl.SchemaUrl() != want.SchemaUrl() {
		t.Errorf("resource %v, want %v", rl.Resource().Attributes().AsRaw(), want.Resource().Attributes().AsRaw())
	}
	sl := rl.ScopeLogs().At(0)
	if sl.Scope().Name() != "app" || sl.Scope().Version() != "2.0" || sl.SchemaUrl() != want.ScopeLogs().At(0).SchemaUrl() {
		t.Errorf("scope %q %q", sl.Scope().Name(), sl.Scope().Version())
	}
	lr, wlr := sl.LogRecords().At(0), want.ScopeLogs().At(0).LogRecords().At(0)
	a := lr.Attributes().AsRaw()
	if a["word"] != "plain" || a["rest"] != "line" || a["http.route"] != "/cart" || a["i"] != int64(0) {
		t.Errorf("attributes %v", a)
	}
	if lr.Body().Str() != "plain line" || lr.SeverityNumber() != wlr.SeverityNumber() || lr.SeverityText() != wlr.SeverityText() ||
		lr.TraceID() != wlr.TraceID() || lr.SpanID() != wlr.SpanID() || lr.Flags() != wlr.Flags() || lr.EventName() != wlr.EventName() ||
		lr.Timestamp() != wlr.Timestamp() || lr.ObservedTimestamp() != wlr.ObservedTimestamp() || lr.DroppedAttributesCount() != wlr.DroppedAttributesCount() {
		t.Errorf("log record changed through the rule:\n got %v %v %v %v\nwant %v %v %v %v", lr.Body().Str(), lr.SeverityText(), lr.TraceID(), lr.Timestamp().AsTime(),
			wlr.Body().Str(), wlr.SeverityText(), wlr.TraceID(), wlr.Timestamp().AsTime())
	}
}
