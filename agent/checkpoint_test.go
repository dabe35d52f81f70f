package agent

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

type pos struct {
	Offset int64  `json:"offset"`
	Path   string `json:"path"`
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestCheckpointsRoundTripAndDelete(t *testing.T) {
	dir := t.TempDir()
	c, err := NewCheckpoints(dir, quietLog(), NewMetrics(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := c.For("source.file.x")
	s.Commit("1:2", pos{Offset: 10, Path: "/a"})
	s.Commit("1:2", pos{Offset: 20, Path: "/a"})
	s.Commit("3:4", pos{Offset: 5, Path: "/b"})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Delete("3:4")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c2, _ := NewCheckpoints(dir, quietLog(), nil)
	s2 := c2.For("source.file.x")
	var p pos
	if !s2.Load("1:2", &p) || p.Offset != 20 || p.Path != "/a" {
		t.Fatalf("reloaded %+v", p)
	}
	if s2.Load("3:4", &p) {
		t.Fatal("deleted key came back")
	}
	if keys := s2.Keys(); len(keys) != 1 || keys[0] != "1:2" {
		t.Fatalf("keys %v", keys)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "checkpoints", ".*tmp*"))
	if len(left) != 0 {
		t.Fatalf("temp files left behind: %v", left)
	}
}

func TestCorruptCheckpointIsReportedCountedAndReplaced(t *testing.T) {
	for name, content := range map[string]string{"empty": "", "garbage": "{not json", "truncated": `{"version":1,"entries":{"1:2":{"offset":`} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o750)
			p := filepath.Join(dir, "checkpoints", "source.file.x.json")
			os.WriteFile(p, []byte(content), 0o640)
			var logs strings.Builder
			m := NewMetrics(nil)
			c, err := NewCheckpoints(dir, slog.New(slog.NewTextHandler(&logs, nil)), m)
			if err != nil {
				t.Fatal(err)
			}
			s := c.For("source.file.x")
			var got pos
			if s.Load("1:2", &got) {
				t.Fatal("loaded a position from a corrupt file")
			}
			if n := testutil.ToFloat64(m.CheckpointErrors.WithLabelValues("source.file.x", "corrupt")); n != 1 {
				t.Fatalf("checkpoint_errors_total = %v, want 1", n)
			}
			if !strings.Contains(logs.String(), "checkpoint file is unreadable") || !strings.Contains(logs.String(), p) {
				t.Fatalf("no clear log line: %s", logs.String())
			}
			if aside, _ := filepath.Glob(p + ".corrupt-*"); len(aside) != 1 {
				t.Fatalf("corrupt file not kept aside: %v", aside)
			}
			// The store keeps working.
			s.Commit("1:2", pos{Offset: 1})
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
