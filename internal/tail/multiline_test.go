package tail

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
)

// group is what a test expects of one record: its first line and how many
// lines it has.
type group struct {
	first string
	lines int
}

// joinAll feeds the lines of text to a joiner for the config and returns
// the records, in order.
func joinAll(t *testing.T, m *MultilineConfig, text string) []Entry {
	t.Helper()
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	j := NewJoiner(m, nil)
	var out []Entry
	off := int64(0)
	now := time.Now()
	for _, l := range strings.SplitAfter(text, "\n") {
		if l == "" {
			continue
		}
		end := off + int64(len(l))
		out = j.Add(Message{Bytes: []byte(strings.TrimSuffix(l, "\n")), Offset: off, End: end}, now, out)
		off = end
	}
	return j.Flush(out)
}

func groups(es []Entry) []group {
	out := make([]group, len(es))
	for i, e := range es {
		ls := strings.Split(string(e.Raw), "\n")
		out[i] = group{ls[0], len(ls)}
	}
	return out
}

func checkGroups(t *testing.T, es []Entry, want []group) {
	t.Helper()
	got := groups(es)
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i].first, want[i].first) || got[i].lines != want[i].lines {
			t.Errorf("record %d: %d lines starting %q; want %d lines starting %q", i, got[i].lines, got[i].first, want[i].lines, want[i].first)
		}
	}
}

func readTrace(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "multiline", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The presets on real output: traces captured from Java 17, Go, Python
// 3.11 and PostgreSQL 15 (testdata/multiline).
func TestMultilinePresetsOnRealTraces(t *testing.T) {
	cases := []struct {
		preset, file string
		want         []group
	}{
		{"java", "java_stdout.log", []group{
			{"2026-11-21 05:00:00.001 INFO", 1},
			// The log line, the exception, its frames, Suppressed and
			// Caused by sections and their "... N more".
			{"2026-11-21 05:00:00.002 ERROR", 20},
			{"2026-11-21 05:00:00.003 INFO", 1},
		}},
		{"java", "java_stderr.log", []group{{`Exception in thread "main" java.lang.IndexOutOfBoundsException`, 7}}},
		{"go", "go_panic.log", []group{
			{"2026/12/06 03:30:27 starting", 1},
			{"2026/12/06 03:30:27 http: panic serving", 16},
			{"2026/12/06 03:30:27 after the handler panic", 1},
			{"panic: runtime error: invalid memory address", 7},
		}},
		{"go", "go_sigquit.log", []group{
			{`level=info msg="serving"`, 1},
			{"SIGQUIT: quit", 129},
		}},
		{"python", "python_stdout.log", []group{
			{"2026-12-06 03:30:35,353 WARNING app: starting", 1},
			// logging.exception: the message, then two chained tracebacks.
			{"2026-12-06 03:30:35,353 ERROR app: request failed", 24},
			{"2026-12-06 03:30:35,369 WARNING app: still running", 1},
		}},
		{"python", "python_stderr.log", []group{{"Traceback (most recent call last):", 15}}},
		{"postgresql", "postgresql.log", []group{
			{"2026-12-06 03:30:48.991 UTC [5167] LOG:  starting", 1},
			{"2026-12-06 03:30:49.003 UTC [5167] LOG:  listening", 1},
			{"2026-12-06 03:30:49.081 UTC [5181] LOG:  database system was shut down", 1},
			{"2026-12-06 03:30:49.175 UTC [5167] LOG:  database system is ready", 1},
			{"2026-12-06 03:30:51.728 UTC [5247] ERROR:  duplicate key", 3},
			{"2026-12-06 03:30:51.729 UTC [5247] ERROR:  column \"nme\"", 3},
			{"2026-12-06 03:30:51.729 UTC [5247] ERROR:  null value", 3},
			{"2026-12-06 03:30:51.743 UTC [5247] ERROR:  custom failure", 7},
			{"2026-12-06 03:30:51.744 UTC [5247] ERROR:  division by zero", 4},
			{"2026-12-06 03:30:51.849 UTC [5167] LOG:  received fast shutdown", 1},
			{"2026-12-06 03:30:51.858 UTC [5167] LOG:  aborting", 1},
			{"2026-12-06 03:30:51.890 UTC [5167] LOG:  background worker", 1},
			{"2026-12-06 03:30:51.949 UTC [5179] LOG:  shutting down", 1},
			{"2026-12-06 03:30:51.954 UTC [5179] LOG:  checkpoint starting", 1},
			{"2026-12-06 03:30:52.153 UTC [5179] LOG:  checkpoint complete", 1},
			{"2026-12-06 03:30:52.195 UTC [5167] LOG:  database system is shut down", 1},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			text := readTrace(t, tc.file)
			es := joinAll(t, &MultilineConfig{Preset: tc.preset}, text)
			checkGroups(t, es, tc.want)
			// Nothing is lost: the records hold every line (trailing
			// empty lines of a record aside), in order.
			var b strings.Builder
			for _, e := range es {
				b.Write(e.Raw)
				b.WriteByte('\n')
			}
			if strings.TrimRight(b.String(), "\n") != strings.TrimRight(strings.ReplaceAll(text, "\n\n\n", "\n\n"), "\n") {
				t.Errorf("the records' text differs from the input")
			}
		})
	}
}

// Offsets and commit positions of joined records, and a record cut at a
// limit: each piece is flagged and counted, and the lines that continue a
// cut record make the next piece (never lines of their own).
func TestMultilineLimitsFlagAndCount(t *testing.T) {
	trace := "ERROR boom\njava.lang.IllegalStateException: x\n\tat a(A.java:1)\n\tat b(B.java:2)\n\tat c(C.java:3)\n\tat d(D.java:4)\nINFO next\n"
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "t"})
	m := &MultilineConfig{Preset: "java", MaxLines: 4}
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	j := NewJoiner(m, c)
	var out []Entry
	off := int64(0)
	for _, l := range strings.SplitAfter(trace, "\n")[:7] {
		end := off + int64(len(l))
		out = j.Add(Message{Bytes: []byte(strings.TrimSuffix(l, "\n")), Offset: off, End: end}, time.Now(), out)
		off = end
	}
	out = j.Flush(out)
	checkGroups(t, out, []group{{"ERROR boom", 4}, {"\tat c", 2}, {"INFO next", 1}})
	for i, want := range []bool{true, true, false} {
		if got := out[i].Fields["multiline_truncated"] == true; got != want {
			t.Errorf("record %d: multiline_truncated = %v, want %v", i, got, want)
		}
	}
	if out[1].Fields["message"] != "\tat c(C.java:3)\n\tat d(D.java:4)" {
		t.Errorf("the flagged record's message = %q", out[1].Fields["message"])
	}
	if out[0].Offset != 0 || out[1].Offset != int64(strings.Index(trace, "\tat c")) || out[1].Commit != int64(strings.Index(trace, "INFO")) {
		t.Errorf("offsets: %d, %d (commit %d)", out[0].Offset, out[1].Offset, out[1].Commit)
	}
	if n := testutil.ToFloat64(c); n != 1 {
		t.Errorf("truncated counter = %v, want 1 (one cut)", n)
	}

	// max_bytes: the line that would pass it begins the next piece.
	es := joinAll(t, &MultilineConfig{StartPattern: `^E`, MaxBytes: 14}, "E 12345\n more\n more2\nE next\n")
	checkGroups(t, es, []group{{"E 12345", 2}, {" more2", 1}, {"E next", 1}})
	if es[0].Fields["multiline_truncated"] != true || es[2].Fields != nil {
		t.Errorf("flags: %v, %v", es[0].Fields, es[2].Fields)
	}
	// A record of exactly max_lines lines is not cut.
	es = joinAll(t, &MultilineConfig{StartPattern: `^E`, MaxLines: 2}, "E a\n b\nE c\n")
	checkGroups(t, es, []group{{"E a", 2}, {"E c", 1}})
	if es[0].Fields != nil {
		t.Errorf("a record of exactly max_lines lines is flagged: %v", es[0].Fields)
	}
}

func TestMultilineContinuationPattern(t *testing.T) {
	es := joinAll(t, &MultilineConfig{ContinuationPattern: `^\s`}, "a\n b\n c\nd\ne\n f\n")
	checkGroups(t, es, []group{{"a", 3}, {"d", 1}, {"e", 2}})
	// With start_pattern: only lines matching it begin a record.
	es = joinAll(t, &MultilineConfig{StartPattern: `^E`, ContinuationPattern: `^\s`}, " x\nE a\n b\nplain\n")
	checkGroups(t, es, []group{{" x", 1}, {"E a", 2}, {"plain", 1}})
}

// The timeout emits a held record; a line that comes later starts anew.
func TestMultilineTimeout(t *testing.T) {
	m := &MultilineConfig{Preset: "python", Timeout: "50ms"}
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	j := NewJoiner(m, nil)
	t0 := time.Now()
	out := j.Add(Message{Bytes: []byte("Traceback (most recent call last):"), End: 35}, t0, nil)
	out = j.Add(Message{Bytes: []byte(`  File "x.py", line 1, in <module>`), Offset: 35, End: 70}, t0, out)
	if len(out) != 0 {
		t.Fatalf("emitted early: %v", out)
	}
	if off, held := j.Held(); !held || off != 0 {
		t.Fatalf("Held() = %d, %v", off, held)
	}
	out = j.Tick(t0.Add(10*time.Millisecond), out)
	if len(out) != 0 {
		t.Fatal("emitted before the timeout")
	}
	out = j.Tick(t0.Add(60*time.Millisecond), out)
	checkGroups(t, out, []group{{"Traceback", 2}})
	if _, held := j.Held(); held {
		t.Fatal("still held after the timeout")
	}
}

func TestMultilineConfigErrors(t *testing.T) {
	cases := []struct {
		m    MultilineConfig
		want string
	}{
		{MultilineConfig{Preset: "jav"}, `unknown preset "jav"`},
		{MultilineConfig{Preset: "java", StartPattern: "^x"}, "preset with patterns"},
		{MultilineConfig{ContinuationPattern: "^x", ConditionPattern: "^y", Mode: ModeHaltBefore}, "continuation_pattern with condition_pattern"},
		{MultilineConfig{}, "no preset and no pattern"},
		{MultilineConfig{StartPattern: "^x", MaxBytes: -1}, "max_bytes: must be at least 1"},
		{MultilineConfig{ContinuationPattern: "(("}, "multiline.continuation_pattern: bad pattern"},
	}
	for _, tc := range cases {
		err := tc.m.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.m, err, tc.want)
		}
	}
	var ae *agent.AttrError
	err := (&MultilineConfig{Preset: "jav"}).validate()
	if !errors.As(err, &ae) || ae.Attr != "multiline.preset" || !strings.Contains(ae.Hint, `Did you mean "java"?`) {
		t.Errorf("unknown preset: %#v", ae)
	}
	c, err := (&MultilineConfig{StartPattern: "^x", MaxLines: 7}).WithPreset("go")
	if err != nil || c.MaxLines != 7 || c.m != presets()["go"] {
		t.Errorf("WithPreset: %+v, %v", c, err)
	}
}
