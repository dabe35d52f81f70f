package tail

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
)

type got struct {
	line   string
	offset int64
	id     string
	kind   string
}

// capture is a sink that keeps what it receives.
type capture struct {
	mu    sync.Mutex
	recs  []got
	flags []bool // fields.invalid_utf8 of each record
}

func (c *capture) Consume(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	for i := range b {
		line := string(b[i].Raw)
		if b[i].Kind == agent.KindDeadLetter {
			line = b[i].MaterializeFields()["raw"].(string)
		}
		c.recs = append(c.recs, got{line: line, offset: b[i].Origin.Offset, id: b[i].EnsureID(), kind: b[i].Kind})
		c.flags = append(c.flags, b[i].MaterializeFields()["invalid_utf8"] == true)
	}
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}
func (c *capture) Flush(context.Context) error { return nil }

func (c *capture) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.recs))
	for i, r := range c.recs {
		out[i] = r.line
	}
	return out
}

type harness struct {
	t       *testing.T
	dataDir string
	sink    *capture
	rt      *agent.Runtime
	cancel  context.CancelFunc
	done    chan error
}

// start runs a file source into a capture sink (its dead letters too).
func start(t *testing.T, dataDir string, once bool, edit func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.PollInterval = "10ms"
	cfg.GlobInterval = "20ms"
	cfg.RotateWait = "200ms"
	edit(cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dataDir: dataDir, sink: &capture{}, done: make(chan error, 1)}
	rt, err := agent.New(testGraph(dataDir, cfg, h.sink), agent.Options{Once: once, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.rt = rt
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- rt.Run(ctx) }()
	return h
}

func (h *harness) wait() {
	h.t.Helper()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		h.t.Fatal("agent did not stop")
	}
}

func (h *harness) stop() { h.cancel(); h.wait() }

// waitKnown waits until the source follows n files (its scan found them).
func (h *harness) waitKnown(n int) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for testutil.ToFloat64(h.rt.Metrics().GaugeVec("file_known_files", "").WithLabelValues("source.file.t")) < float64(n) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the source did not find %d files", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitLines(n int) []string {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := h.sink.lines()
		if len(l) >= n {
			return l
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("got %d lines, want %d: %q", len(l), n, l)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func appendTo(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l); err != nil {
			t.Fatal(err)
		}
	}
}

func numbered(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s %06d\n", prefix, i))
	}
	return out
}

func trimmed(ls []string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = strings.TrimSuffix(l, "\n")
	}
	return out
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %d lines %q\nwant %d lines %q", len(got), got, len(want), want)
	}
}

func TestOnceReadsEverythingAndResumesFromCheckpoint(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "first\r\n", "second\n", "", "third without newline")
	h := start(t, data, true, func(c *Config) { c.Paths = []string{filepath.Join(dir, "*.log")} })
	h.wait()
	equal(t, h.sink.lines(), []string{"first", "second", "third without newline"})
	if o := h.sink.recs[1].offset; o != 7 {
		t.Fatalf("second line at offset %d, want 7", o)
	}
	first := h.sink.recs

	// Nothing new: nothing read again.
	h = start(t, data, true, func(c *Config) { c.Paths = []string{log} })
	h.wait()
	equal(t, h.sink.lines(), nil)

	appendTo(t, log, "\nfourth\n")
	h = start(t, data, true, func(c *Config) { c.Paths = []string{log} })
	h.wait()
	equal(t, h.sink.lines(), []string{"", "fourth"})

	// A fresh data dir reads it all again, with the same ids.
	h = start(t, t.TempDir(), true, func(c *Config) { c.Paths = []string{log} })
	h.wait()
	for i, r := range first {
		if h.sink.recs[i].id != r.id {
			t.Fatalf("line %d has id %s on the second read, %s on the first", i, h.sink.recs[i].id, r.id)
		}
	}
}

func TestFollowRenameRotationLosesNothing(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "access.log")
	appendTo(t, log, numbered("a", 0, 100)...)
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log} })
	h.waitLines(100)
	appendTo(t, log, numbered("a", 100, 150)...)
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, log+".1", numbered("a", 150, 160)...) // written to the old file after the rename
	appendTo(t, log, numbered("b", 0, 50)...)
	got := h.waitLines(210)
	h.stop()
	want := append(trimmed(numbered("a", 0, 160)), trimmed(numbered("b", 0, 50))...)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	seen := map[string]int{}
	for _, l := range got {
		seen[l]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Fatalf("line %q seen %d times", w, seen[w])
		}
	}
}

func TestFollowCopytruncateRestartsAtZero(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, numbered("old", 0, 20)...)
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log} })
	h.waitLines(20)
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the poll see the shrink before new data lands
	appendTo(t, log, numbered("new", 0, 5)...)
	got := h.waitLines(25)
	h.stop()
	equal(t, got[20:], trimmed(numbered("new", 0, 5)))
	if n := testutil.ToFloat64(h.rt.Metrics().CounterVec("file_truncations_total", "").WithLabelValues("source.file.t")); n != 1 {
		t.Fatalf("truncations = %v, want 1", n)
	}
}

func TestStartAtEndSkipsExistingContentOnlyWithoutCheckpoint(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "old 1\n", "old 2\n")
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log}; c.StartAt = "end" })
	h.waitKnown(1) // the first scan found it: its end is fixed
	appendTo(t, log, "new 1\n")
	equal(t, h.waitLines(1), []string{"new 1"})
	h.stop()
	appendTo(t, log, "new 2\n")
	h = start(t, data, true, func(c *Config) { c.Paths = []string{log}; c.StartAt = "end" })
	h.wait()
	equal(t, h.sink.lines(), []string{"new 2"}) // the checkpoint wins over start_at
}

func TestReusedInodeWithOtherContentIsReadFromStart(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "brand new file\n", "second\n")
	st, _ := os.Stat(log)
	dev, ino := ids(st)
	// A checkpoint left by an older file that had the same inode.
	os.MkdirAll(filepath.Join(data, "checkpoints"), 0o750)
	doc := map[string]any{"version": 1, "source": "source.file.t", "entries": map[string]any{
		fmt.Sprintf("%d:%d", dev, ino): checkpoint{Path: log, Offset: 15, FPLen: 10, FP: hashHex([]byte("old file!\n"))}}}
	b, _ := json.Marshal(doc)
	os.WriteFile(filepath.Join(data, "checkpoints", "source.file.t.json"), b, 0o640)
	h := start(t, data, true, func(c *Config) { c.Paths = []string{log} })
	h.wait()
	equal(t, h.sink.lines(), []string{"brand new file", "second"})
	if n := testutil.ToFloat64(h.rt.Metrics().CounterVec("file_inode_reuse_total", "").WithLabelValues("source.file.t")); n != 1 {
		t.Fatalf("inode reuse counter = %v, want 1", n)
	}
}

func TestOverlongLineIsCutAndDeadLettered(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "short\n", strings.Repeat("x", 100)+"\n", "after\n")
	h := start(t, data, true, func(c *Config) { c.Paths = []string{log}; c.MaxLineBytes = 32 })
	h.wait()
	var kinds []string
	recs := h.sink.recs
	sort.Slice(recs, func(i, j int) bool { return recs[i].offset < recs[j].offset }) // outputs are not ordered against each other
	for _, r := range recs {
		kinds = append(kinds, r.kind+":"+r.line)
	}
	equal(t, kinds, []string{":short", "dead_letter:" + strings.Repeat("x", 32), ":after"})
}

// testGraph is a file source (source.file.t) read by a sink (sink.capture.c)
// that also takes its dead letters.
func testGraph(dataDir string, cfg *Config, sink agent.Sink) agent.Graph {
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir, g.Agent.HTTPAddr, g.Agent.Host = dataDir, "", "test-host"
	g.Agent.CheckpointInterval = 10 * time.Millisecond
	g.Nodes = []agent.NodeSpec{
		{ID: "source.file.t", Kind: agent.KindSource, Type: "file", Name: "t", Factory: testFactory(), Config: cfg},
		{ID: "sink.capture.c", Kind: agent.KindSink, Type: "capture", Name: "c",
			Inputs: []string{"source.file.t", "source.file.t.dead_letter"},
			Factory: agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: "capture",
				Create: func(agent.Settings, *struct{}) (agent.Sink, error) { return sink, nil }})},
	}
	return g
}

// testFactory builds a tailer with no hooks, as `source "file"` does.
func testFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{
		Type: "file", NewConfig: DefaultConfig,
		Create: func(set agent.Settings, cfg *Config) (agent.Source, error) {
			s := NewTailer(set, cfg, Hooks{})
			lastTailer.Store(s)
			return s, nil
		},
	})
}

// lastTailer is the tailer the test factory made last (the tests of this
// package run one at a time), for tests that look inside it.
var lastTailer atomic.Pointer[Tailer]
