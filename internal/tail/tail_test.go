package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/testfig"
)

func counter(h *harness, name string) float64 {
	return testutil.ToFloat64(h.rt.Metrics().CounterVec(name, "").WithLabelValues("source.file.t"))
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMultilineModes(t *testing.T) {
	input := "2026-01-01 start one\n  at a\n  at b\n2026-01-01 start two\nplain\n"
	cases := []struct {
		name string
		ml   MultilineConfig
		want []string
	}{
		{"start_pattern", MultilineConfig{StartPattern: `^\d{4}-`},
			[]string{"2026-01-01 start one\n  at a\n  at b", "2026-01-01 start two\nplain"}},
		{"continue_through", MultilineConfig{ConditionPattern: `^\s`, Mode: ModeContinueThrough},
			[]string{"2026-01-01 start one\n  at a\n  at b", "2026-01-01 start two", "plain"}},
		{"halt_before", MultilineConfig{ConditionPattern: `^\d{4}-`, Mode: ModeHaltBefore},
			[]string{"2026-01-01 start one\n  at a\n  at b", "2026-01-01 start two\nplain"}},
		{"max_lines", MultilineConfig{StartPattern: `^\d{4}-`, MaxLines: 2},
			[]string{"2026-01-01 start one\n  at a", "  at b", "2026-01-01 start two\nplain"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			log := filepath.Join(dir, "app.log")
			appendTo(t, log, input)
			h := start(t, data, true, func(c *Config) { c.Paths = []string{log}; ml := tc.ml; c.Multiline = &ml })
			h.wait()
			equal(t, h.sink.lines(), tc.want)
		})
	}
	t.Run("continue_past and halt_with", func(t *testing.T) {
		dir, data := t.TempDir(), t.TempDir()
		log := filepath.Join(dir, "app.log")
		appendTo(t, log, "a \\\nb \\\nc\nd\n")
		h := start(t, data, true, func(c *Config) {
			c.Paths = []string{log}
			c.Multiline = &MultilineConfig{ConditionPattern: `\\$`, Mode: ModeContinuePast}
		})
		h.wait()
		equal(t, h.sink.lines(), []string{"a \\\nb \\\nc", "d"})
		log2 := filepath.Join(dir, "sql.log")
		appendTo(t, log2, "select\nfrom x;\ny;\n")
		h = start(t, t.TempDir(), true, func(c *Config) {
			c.Paths = []string{log2}
			c.Multiline = &MultilineConfig{ConditionPattern: `;$`, Mode: ModeHaltWith}
		})
		h.wait()
		equal(t, h.sink.lines(), []string{"select\nfrom x;", "y;"})
	})
}

// A joined record's offset is its first line's; its commit position is past
// its last line, so a restart while a record is still being joined reads
// the whole record again, never half of it.
func TestMultilineOffsetsCommitAndTimeout(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "E first\n  cont 1\n")
	ml := func(c *Config) {
		c.Paths = []string{log}
		c.Multiline = &MultilineConfig{StartPattern: `^E `, Timeout: "1h"}
	}
	h := start(t, data, false, ml)
	time.Sleep(100 * time.Millisecond) // the record is held: no timeout, no next start
	if got := h.sink.lines(); len(got) != 0 {
		t.Fatalf("a record still being joined was emitted: %q", got)
	}
	h.stop()
	// Nothing was committed past the held record.
	appendTo(t, log, "  cont 2\nE second\n")
	h = start(t, data, true, ml)
	h.wait()
	equal(t, h.sink.lines(), []string{"E first\n  cont 1\n  cont 2", "E second"})
	if o := h.sink.recs[1].offset; o != int64(len("E first\n  cont 1\n  cont 2\n")) {
		t.Fatalf("second record at offset %d", o)
	}
	if o := h.sink.recs[0].offset; o != 0 {
		t.Fatalf("first record at offset %d, want 0 (its first line)", o)
	}

	// In follow mode, the timeout emits a held record.
	log2 := filepath.Join(dir, "other.log")
	appendTo(t, log2, "E third\n  cont 3\n")
	h = start(t, t.TempDir(), false, func(c *Config) {
		c.Paths = []string{log2}
		c.Multiline = &MultilineConfig{StartPattern: `^E `, Timeout: "50ms"}
	})
	equal(t, h.waitLines(1), []string{"E third\n  cont 3"})
	h.stop()
}

func TestInvalidUTF8IsReplacedAndFlagged(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "ok\n", "bad \xff\xfe end\n")
	h := start(t, data, true, func(c *Config) { c.Paths = []string{log} })
	h.wait()
	equal(t, h.sink.lines(), []string{"ok", "bad \uFFFD end"})
	if n := counter(h, "lines_invalid_utf8_total"); n != 1 {
		t.Fatalf("invalid utf8 counter = %v", n)
	}
	if !h.sink.flags[1] {
		t.Fatal("the record with invalid UTF-8 has no fields.invalid_utf8 = true")
	}
}

// In follow mode a last line without a newline is emitted after
// line_idle_timeout; if the writer completes it later, the rest is a
// record of its own (nothing is read twice).
func TestIdleLastLineIsEmitted(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "one\n", "two without newline")
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log}; c.LineIdleTimeout = "100ms" })
	equal(t, h.waitLines(2), []string{"one", "two without newline"})
	appendTo(t, log, " completed\nthree\n")
	equal(t, h.waitLines(4), []string{"one", "two without newline", " completed", "three"})
	h.stop()
	if n := counter(h, "lines_idle_flushed_total"); n != 1 {
		t.Fatalf("idle flushed = %v", n)
	}
}

// A corrupt or empty checkpoint file is reported, counted, moved aside,
// and the source starts as if it had none: start_at applies.
func TestCorruptCheckpointFallsBackToStartAt(t *testing.T) {
	for _, content := range []string{"", "{not json", `{"version":1}`} {
		dir, data := t.TempDir(), t.TempDir()
		log := filepath.Join(dir, "app.log")
		appendTo(t, log, "a\n", "b\n")
		os.MkdirAll(filepath.Join(data, "checkpoints"), 0o750)
		os.WriteFile(filepath.Join(data, "checkpoints", "source.file.t.json"), []byte(content), 0o640)
		h := start(t, data, true, func(c *Config) { c.Paths = []string{log} })
		h.wait()
		equal(t, h.sink.lines(), []string{"a", "b"})
		n := testutil.ToFloat64(h.rt.Metrics().CheckpointErrors.WithLabelValues("source.file.t", "corrupt"))
		if n != 1 {
			t.Fatalf("checkpoint file %q: corrupt counter = %v, want 1", content, n)
		}
		aside, _ := filepath.Glob(filepath.Join(data, "checkpoints", "source.file.t.json.corrupt-*"))
		if len(aside) != 1 {
			t.Fatalf("checkpoint file %q was not moved aside: %v", content, aside)
		}
		// The replacement is a good checkpoint: nothing is read again.
		h = start(t, data, true, func(c *Config) { c.Paths = []string{log} })
		h.wait()
		equal(t, h.sink.lines(), nil)
	}
	// With start_at = "end", a corrupt checkpoint means starting at the end.
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "a\n")
	os.MkdirAll(filepath.Join(data, "checkpoints"), 0o750)
	os.WriteFile(filepath.Join(data, "checkpoints", "source.file.t.json"), []byte("garbage"), 0o640)
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log}; c.StartAt = "end" })
	h.waitKnown(1)
	appendTo(t, log, "b\n")
	equal(t, h.waitLines(1), []string{"b"})
	h.stop()
}

func readCheckpointKeys(t *testing.T, data string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "checkpoints", "source.file.t.json"))
	if err != nil {
		return nil
	}
	var doc struct {
		Entries map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc.Entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// A deleted file is closed once read, and its checkpoint expires after
// checkpoint_ttl.
func TestDeletedFileCheckpointExpires(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendTo(t, a, "a1\n")
	appendTo(t, b, "b1\n")
	h := start(t, data, false, func(c *Config) {
		c.Paths = []string{filepath.Join(dir, "*.log")}
		c.CheckpointTTL = "300ms"
		c.RotateWait = "50ms"
	})
	h.waitLines(2)
	waitCond(t, "two checkpoints", func() bool { return len(readCheckpointKeys(t, data)) == 2 })
	os.Remove(a)
	waitCond(t, "a.log's checkpoint to expire", func() bool { return len(readCheckpointKeys(t, data)) == 1 })
	waitCond(t, "the open files gauge to drop", func() bool {
		return testutil.ToFloat64(h.rt.Metrics().GaugeVec("file_open_files", "").WithLabelValues("source.file.t")) == 1
	})
	h.stop()
	if n := counter(h, "file_checkpoints_expired_total"); n != 1 {
		t.Fatalf("expired = %v", n)
	}
}

// More files than max_open_files: every line of every file arrives, and
// the open handles never exceed the limit.
func TestMaxOpenFilesReadsEveryFile(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	const files, perFile = 12, 50
	var want []string
	for i := 0; i < files; i++ {
		ls := numbered(fmt.Sprintf("f%02d", i), 0, perFile)
		appendTo(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), ls...)
		want = append(want, trimmed(ls)...)
	}
	h := start(t, data, false, func(c *Config) { c.Paths = []string{filepath.Join(dir, "*.log")}; c.MaxOpenFiles = 3 })
	maxOpen := 0.0
	deadline := time.Now().Add(30 * time.Second)
	for len(h.sink.lines()) < len(want) {
		maxOpen = max(maxOpen, testutil.ToFloat64(h.rt.Metrics().GaugeVec("file_open_files", "").WithLabelValues("source.file.t")))
		if time.Now().After(deadline) {
			t.Fatalf("got %d lines of %d", len(h.sink.lines()), len(want))
		}
		time.Sleep(2 * time.Millisecond)
	}
	// Appends to parked files are found too.
	for i := 0; i < files; i++ {
		ls := numbered(fmt.Sprintf("f%02d", i), perFile, perFile+5)
		appendTo(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), ls...)
		want = append(want, trimmed(ls)...)
	}
	got := h.waitLines(len(want))
	h.stop()
	sort.Strings(got)
	sort.Strings(want)
	equal(t, got, want)
	if maxOpen > 3 {
		t.Fatalf("open files reached %v, limit 3", maxOpen)
	}
	testfig.Report(t, "files: %d, max_open_files: 3, most open seen: %v, parked: %v, lines: %d delivered of %d", files, maxOpen, counter(h, "file_parked_total"), len(got), len(want))
}

// New files and appends are found through fsnotify, long before the next
// glob scan or poll (3 s here, the fallback; the latency is reported, not
// asserted).
func TestFsnotifyFindsNewFiles(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	h := start(t, data, false, func(c *Config) {
		c.Paths = []string{filepath.Join(dir, "*.log")}
		c.GlobInterval = "3s"
		c.PollInterval = "3s"
	})
	time.Sleep(50 * time.Millisecond)
	begin := time.Now()
	appendTo(t, filepath.Join(dir, "new.log"), "hello\n")
	equal(t, h.waitLines(1), []string{"hello"})
	found := time.Since(begin)
	begin = time.Now()
	appendTo(t, filepath.Join(dir, "new.log"), "again\n")
	equal(t, h.waitLines(2), []string{"hello", "again"})
	appended := time.Since(begin)
	h.stop()
	testfig.Report(t, "with glob_interval and poll_interval 3s: new file delivered after %v, an append after %v", found.Round(time.Millisecond), appended.Round(time.Millisecond))
}

// A file renamed to a name the globs do not match is read to its end,
// including lines written to it after the rename, before it is closed.
func TestRotatedOutOfGlobIsReadToEnd(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	w, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, l := range numbered("a", 0, 10) {
		w.WriteString(l)
	}
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log}; c.RotateWait = "2s" })
	h.waitLines(10)
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for _, l := range numbered("a", 10, 20) {
		w.WriteString(l) // the writer has not reopened yet
	}
	w.WriteString("a last line without newline")
	appendTo(t, log, numbered("b", 0, 5)...)
	got := h.waitLines(26)
	waitCond(t, "the rotated file to be closed", func() bool { return counter(h, "file_rotations_total") == 1 })
	h.stop()
	want := append(append(trimmed(numbered("a", 0, 20)), "a last line without newline"), trimmed(numbered("b", 0, 5))...)
	sort.Strings(got)
	sort.Strings(want)
	equal(t, got, want)
}

// Checkpoint files written by the foundation's file source still load.
func TestCheckpointFormatIsBackwardCompatible(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "first\n", "second\n")
	st, _ := os.Stat(log)
	dev, ino := ids(st)
	os.MkdirAll(filepath.Join(data, "checkpoints"), 0o750)
	old := fmt.Sprintf(`{"version":1,"source":"source.file.t","saved":"2026-11-21T05:00:00Z","entries":{"%d:%d":{"path":%q,"offset":6,"fp_len":6,"fp":%q}}}`,
		dev, ino, log, hashHex([]byte("first\n")))
	os.WriteFile(filepath.Join(data, "checkpoints", "source.file.t.json"), []byte(old), 0o640)
	h := start(t, data, true, func(c *Config) { c.Paths = []string{log} })
	h.wait()
	equal(t, h.sink.lines(), []string{"second"})
}

// BenchmarkReadEmit measures the source's read and emit path: a file of
// access-log lines read to its end through the runtime into a sink that
// acknowledges every batch.
func BenchmarkReadEmit(b *testing.B) {
	line := `203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"` + "\n"
	dir := b.TempDir()
	log := filepath.Join(dir, "bench.log")
	const n = 200000
	if err := os.WriteFile(log, bytes.Repeat([]byte(line), n), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(line) * n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := DefaultConfig()
		cfg.Paths = []string{log}
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
		sink := &countSink{}
		g := testGraph(b.TempDir(), cfg, sink)
		rt, err := agent.New(g, agent.Options{Once: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		if err := rt.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		if sink.n != n {
			b.Fatalf("got %d records, want %d", sink.n, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "lines/s")
}

type countSink struct{ n int }

func (c *countSink) Consume(_ context.Context, b agent.Batch) error {
	c.n += len(b)
	agent.AckAll(b, agent.Delivered)
	return nil
}
func (c *countSink) Flush(context.Context) error { return nil }

// start_at = "end" is the end when the file was found: a file empty then,
// whose opening waits for its first line, still gets its first lines read.
func TestStartAtEndWithEmptyFile(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, "")
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log}; c.StartAt = "end" })
	h.waitKnown(1)
	appendTo(t, log, "first\n", "second\n")
	equal(t, h.waitLines(2), []string{"first", "second"})
	h.stop()
}

// A copytruncate copy that matches the globs is continued where the
// original was: nothing is read twice, and lines the source had not read
// before the truncation come from the copy.
func TestCopytruncateCopyIsContinued(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendTo(t, log, numbered("a", 0, 20)...)
	h := start(t, data, false, func(c *Config) { c.Paths = []string{log + "*"} })
	h.waitLines(20)
	h.stop()
	// While the agent is stopped: more lines, then copytruncate.
	appendTo(t, log, numbered("a", 20, 30)...)
	content, _ := os.ReadFile(log)
	os.WriteFile(log+".1", content, 0o644)
	os.Truncate(log, 0)
	appendTo(t, log, numbered("b", 0, 5)...)
	h = start(t, data, false, func(c *Config) { c.Paths = []string{log + "*"} })
	h.waitLines(15)
	// And once more while it runs.
	appendTo(t, log, numbered("b", 5, 10)...)
	h.waitLines(20)
	content, _ = os.ReadFile(log)
	os.WriteFile(log+".2", content, 0o644)
	os.Truncate(log, 0)
	appendTo(t, log, numbered("c", 0, 5)...)
	h.waitLines(25)
	time.Sleep(100 * time.Millisecond) // a duplicate would arrive now
	got := h.sink.lines()
	h.stop()
	want := append(append(trimmed(numbered("a", 20, 30)), trimmed(numbered("b", 0, 10))...), trimmed(numbered("c", 0, 5))...)
	sort.Strings(got)
	sort.Strings(want)
	equal(t, got, want)
	if n := counter(h, "file_copies_continued_total"); n != 2 {
		t.Fatalf("copies continued in the second run = %v, want 2", n)
	}
}
