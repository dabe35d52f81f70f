package stdin

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

type capture struct {
	mu   sync.Mutex
	recs []agent.Record
}

func (c *capture) Consume(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	c.recs = append(c.recs, b...)
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}
func (c *capture) Flush(context.Context) error { return nil }

func run(t *testing.T, r io.Reader, edit func(*Config)) *capture {
	t.Helper()
	cfg := NewFactory().NewConfig().(*Config)
	cfg.reader = r
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := &capture{}
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir, g.Agent.HTTPAddr = t.TempDir(), ""
	g.Nodes = []agent.NodeSpec{
		{ID: "source.stdin.in", Kind: agent.KindSource, Type: "stdin", Name: "in", Factory: NewFactory(), Config: cfg},
		{ID: "sink.c.c", Kind: agent.KindSink, Type: "c", Name: "c", Inputs: []string{"source.stdin.in", "source.stdin.in.dead_letter"},
			Factory: agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: "c",
				Create: func(agent.Settings, *struct{}) (agent.Sink, error) { return sink, nil }})},
	}
	rt, err := agent.New(g, agent.Options{Once: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if rt.Acks().InFlight() != 0 {
		t.Fatalf("%d batches unresolved", rt.Acks().InFlight())
	}
	return sink
}

func TestStdinReadsAllLinesInBatches(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 2500; i++ {
		b.WriteString("line\n")
	}
	b.WriteString("last, no newline")
	c := run(t, strings.NewReader(b.String()), func(c *Config) { c.BatchMaxRecords = 1000 })
	if len(c.recs) != 2501 {
		t.Fatalf("got %d records, want 2501", len(c.recs))
	}
	last := c.recs[2500]
	if string(last.Raw) != "last, no newline" || last.Origin.Offset != 2500*5 || !strings.HasPrefix(last.Origin.Stream, "stdin:") {
		t.Fatalf("last record %q at %d", last.Raw, last.Origin.Offset)
	}
}

func TestStdinLongLineGoesToDeadLetter(t *testing.T) {
	c := run(t, strings.NewReader("ok\n"+strings.Repeat("y", 64)+"\n"), func(c *Config) { c.MaxLineBytes = 16 })
	kinds := map[string]int{}
	for _, r := range c.recs {
		kinds[r.Kind]++
	}
	if kinds[""] != 1 || kinds[agent.KindDeadLetter] != 1 {
		t.Fatalf("kinds %v", kinds)
	}
}
