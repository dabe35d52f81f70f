package kuberneteslogs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/internal/tail"
)

// realTrace reads a trace captured from a real runtime (internal/tail's
// testdata): its lines.
func realTrace(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "tail", "testdata", "multiline", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// cri writes a line as the runtime does; a line longer than split is
// written in partial (P) parts of split bytes.
func cri(b *strings.Builder, ts time.Time, stream, line string, split int) {
	for len(line) > split {
		fmt.Fprintf(b, "%s %s P %s\n", ts.Format(time.RFC3339Nano), stream, line[:split])
		line = line[split:]
	}
	fmt.Fprintf(b, "%s %s F %s\n", ts.Format(time.RFC3339Nano), stream, line)
}

func withMultiline(ml *tail.MultilineConfig) func(*Config) {
	return func(c *Config) { c.Tail.Multiline = ml }
}

// A Java trace on stdout and another on stderr, their lines interleaved,
// long frames split into CRI partial lines: each stream is joined and
// grouped on its own.
func TestMultilineInterleavedStreams(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	out, errs := realTrace(t, "java_stdout.log"), realTrace(t, "java_stderr.log")
	var b strings.Builder
	ts := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	for i := 0; i < len(out) || i < len(errs); i++ {
		if i < len(out) {
			cri(&b, ts, "stdout", out[i], 40)
		}
		if i < len(errs) {
			cri(&b, ts, "stderr", errs[i], 40)
		}
		ts = ts.Add(time.Millisecond)
	}
	writeLog(t, pods, "shop_api-1_uid-1", "app", b.String())
	sink, wait := run(t, pods, data, true, withMultiline(&tail.MultilineConfig{Preset: "java"}))
	wait()
	var stdout, stderr []string
	for _, r := range sink.snapshot() {
		if r.entity[KeyStream] == "stderr" {
			stderr = append(stderr, r.msg)
		} else {
			stdout = append(stdout, r.msg)
		}
	}
	if len(stdout) != 3 || stdout[1] != strings.Join(out[1:21], "\n") {
		t.Errorf("stdout: %d records: %q", len(stdout), stdout)
	}
	if len(stderr) != 1 || stderr[0] != strings.Join(errs, "\n") {
		t.Errorf("stderr: %q", stderr)
	}
	for _, r := range sink.snapshot() {
		if strings.HasPrefix(r.msg, "2026-11-21 05:00:00.002 ERROR") && !r.time.Equal(time.Date(2026, 11, 21, 5, 0, 0, 1e6, time.UTC)) {
			t.Errorf("the group's time is %v, want its first line's", r.time)
		}
	}
}

// In follow mode the timeout emits a group that nothing ends.
func TestMultilineTimeoutFlush(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	writeLog(t, pods, "shop_py-1_uid-1", "app", criLines("stderr", realTrace(t, "python_stderr.log")...))
	sink, wait := run(t, pods, data, false, withMultiline(&tail.MultilineConfig{Preset: "python", Timeout: "100ms"}))
	sink.waitRecords(t, 1) // after the timeout: nothing else ends the traceback
	wait()
	got := sink.snapshot()
	if len(got) != 1 || !strings.HasPrefix(got[0].msg, "Traceback") || strings.Count(got[0].msg, "\n") != 14 {
		t.Fatalf("got %q", msgs(got))
	}
}

// A group held when the agent stops is not committed: the next start
// reads it whole again.
func TestMultilineGroupHoldsCommitBack(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	p := writeLog(t, pods, "shop_api-1_uid-1", "app", criLines("stdout", "INFO one", "ERROR two", "java.lang.RuntimeException: x"))
	cfg := withMultiline(&tail.MultilineConfig{Preset: "java", Timeout: "1h"})
	sink, wait := run(t, pods, data, false, cfg)
	sink.waitRecords(t, 1)
	time.Sleep(100 * time.Millisecond) // let the checkpoint flush
	wait()
	appendLog(t, p, criLines("stdout", "\tat a.B(B.java:1)", "INFO three"))
	sink2, wait2 := run(t, pods, data, true, cfg)
	wait2()
	if got := msgs(sink.snapshot()); strings.Join(got, "|") != "INFO one" {
		t.Fatalf("first run: %q", got)
	}
	if got := msgs(sink2.snapshot()); strings.Join(got, "|") != "ERROR two\njava.lang.RuntimeException: x\n\tat a.B(B.java:1)|INFO three" {
		t.Fatalf("after restart: %q", got)
	}
}

// A kubelet rotation in the middle of a group: the rotated file
// (0.log.<timestamp>, still followed) holds the first part of the group,
// emitted at the timeout since nothing more comes to it; the new file's
// part is a record of its own. Every line once, none twice.
func TestMultilineRotationMidGroup(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	trace := realTrace(t, "java_stdout.log")
	p := writeLog(t, pods, "shop_api-1_uid-1", "app", criLines("stdout", trace[:8]...))
	sink, wait := run(t, pods, data, false, withMultiline(&tail.MultilineConfig{Preset: "java", Timeout: "200ms"}))
	sink.waitRecords(t, 1)
	if err := os.Rename(p, p+".20261121-050000"); err != nil {
		t.Fatal(err)
	}
	writeLog(t, pods, "shop_api-1_uid-1", "app", criLines("stdout", trace[8:]...))
	sink.waitRecords(t, 4)
	time.Sleep(300 * time.Millisecond) // nothing more comes
	wait()
	got := msgs(sink.snapshot())
	sort.Strings(got)
	want := []string{trace[0], strings.Join(trace[1:8], "\n"), strings.Join(trace[8:21], "\n"), trace[21]}
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
