package filesource_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

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
		sink := &agenttest.Capture{}
		g := agent.Graph{Agent: agent.DefaultAgentSettings()}
		g.Agent.DataDir, g.Agent.HTTPAddr = data, ""
		g.Nodes = []agent.NodeSpec{
			{ID: "source.file.in", Kind: agent.KindSource, Type: "file", Name: "in", Factory: filesource.NewFactory(), Config: cfg},
			{ID: "sink.c.c", Kind: agent.KindSink, Type: "c", Name: "c", Inputs: []string{"source.file.in"},
				Factory: sink.Factory("c")},
		}
		rt, err := agent.New(g, agent.Options{Once: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, r := range sink.Records() {
			msgs = append(msgs, string(r.Message()))
		}
		return msgs
	}
	if got := run(); len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("first run read %q, want a, b, c", got)
	}
	if got := run(); len(got) != 0 {
		t.Fatalf("second run read %q again, want nothing (resumed from the checkpoint)", got)
	}
}
