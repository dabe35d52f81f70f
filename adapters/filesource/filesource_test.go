package filesource_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/agent"
)

type capture struct {
	mu   sync.Mutex
	msgs []string
}

func (c *capture) Consume(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	for i := range b {
		c.msgs = append(c.msgs, string(b[i].Message()))
	}
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}
func (c *capture) Flush(context.Context) error { return nil }

// The factory builds a source that reads a file to its end (run --once),
// one record per line, and a second run from the same data directory
// reads nothing again.
func TestFactoryReadsAndResumes(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	run := func() []string {
		cfg := filesource.NewFactory().NewConfig().(*filesource.Config)
		cfg.Paths = []string{in}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		sink := &capture{}
		g := agent.Graph{Agent: agent.DefaultAgentSettings()}
		g.Agent.DataDir, g.Agent.HTTPAddr = data, ""
		g.Nodes = []agent.NodeSpec{
			{ID: "source.file.in", Kind: agent.KindSource, Type: "file", Name: "in", Factory: filesource.NewFactory(), Config: cfg},
			{ID: "sink.c.c", Kind: agent.KindSink, Type: "c", Name: "c", Inputs: []string{"source.file.in"},
				Factory: agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: "c",
					Create: func(agent.Settings, *struct{}) (agent.Sink, error) { return sink, nil }})},
		}
		rt, err := agent.New(g, agent.Options{Once: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return sink.msgs
	}
	if got := run(); len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("first run read %q, want a, b, c", got)
	}
	if got := run(); len(got) != 0 {
		t.Fatalf("second run read %q again, want nothing (resumed from the checkpoint)", got)
	}
}
