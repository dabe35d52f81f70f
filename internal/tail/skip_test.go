package tail

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func skippedCount(h *harness, reason string) float64 {
	return testutil.ToFloat64(h.rt.Metrics().CounterVec("file_skipped_total", "", "reason").WithLabelValues("source.file.t", reason))
}

// conditionsOf lists the /healthz conditions as "SUBJECT: MESSAGE".
func conditionsOf(h *harness) []string {
	var out []string
	for _, c := range h.rt.Conditions() {
		out = append(out, c.Subject+": "+c.Message)
	}
	return out
}

func hasCondition(h *harness, subject, text string) bool {
	for _, c := range h.rt.Conditions() {
		if c.Subject == subject && strings.Contains(c.Message, text) {
			return true
		}
	}
	return false
}

// A directory the glob matches, and a followed file replaced by a
// directory, are reported once each (counter, /healthz condition), and the
// condition clears when the path is a file again.
func TestSkippedDirectories(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	a, sub := filepath.Join(dir, "a.log"), filepath.Join(dir, "sub.log")
	appendTo(t, a, "one\n")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	h := start(t, data, false, func(c *Config) { c.Paths = []string{filepath.Join(dir, "*.log")} })
	defer h.stop()
	waitCond(t, "the first line", func() bool { return len(h.sink.lines()) == 1 })
	waitCond(t, "the directory reported", func() bool { return hasCondition(h, sub, "is a directory") })

	// The followed file becomes a directory.
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(a, 0o755); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "the replaced file reported", func() bool { return hasCondition(h, a, "is a directory") })
	// Many scans later (the one that found a.log's change came after
	// several of sub.log), each path was counted once.
	if got := skippedCount(h, skipDirectory); got != 2 {
		t.Errorf("file_skipped_total{reason=directory} = %v, want 2 (once per path): %v", got, conditionsOf(h))
	}

	// A file again: followed, and its condition gone.
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	appendTo(t, a, "two\n")
	waitCond(t, "the line of the new file", func() bool { return len(h.sink.lines()) == 2 })
	waitCond(t, "a.log's condition cleared", func() bool { return !hasCondition(h, a, "") })
	if !hasCondition(h, sub, "is a directory") {
		t.Errorf("sub.log's condition is gone: %v", conditionsOf(h))
	}
}

// An unreadable file and a directory the agent may not list are reported
// once each, with who the agent runs as, and the file is followed once it
// is readable. Root reads everything, so as root the test runs itself
// again as nobody.
func TestSkippedUnreadable(t *testing.T) {
	if os.Getuid() == 0 && os.Getenv("OCTO_TAIL_AS_NOBODY") == "" {
		runAsNobody(t, "TestSkippedUnreadable")
		return
	}
	dir, data := t.TempDir(), t.TempDir()
	b, locked := filepath.Join(dir, "b.log"), filepath.Join(dir, "locked")
	appendTo(t, b, "secret\n")
	if err := os.Chmod(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(locked, 0); err != nil {
		t.Fatal(err)
	}
	h := start(t, data, false, func(c *Config) {
		c.Paths = []string{filepath.Join(dir, "*.log"), filepath.Join(locked, "*.log")}
	})
	defer h.stop()
	waitCond(t, "the unreadable file reported", func() bool { return hasCondition(h, b, "permission denied") })
	waitCond(t, "the unlistable directory reported", func() bool { return hasCondition(h, locked, "permission denied") })
	if !hasCondition(h, b, "the agent runs as uid") {
		t.Errorf("the condition does not say who the agent runs as: %v", conditionsOf(h))
	}
	if err := os.Chmod(b, 0o644); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "the file read once readable", func() bool { return len(h.sink.lines()) == 1 })
	waitCond(t, "its condition cleared", func() bool { return !hasCondition(h, b, "") })
	// Retried at every scan until then, but reported once.
	if got := skippedCount(h, skipUnreadable); got != 2 {
		t.Errorf("file_skipped_total{reason=unreadable} = %v, want 2 (once per path): %v", got, conditionsOf(h))
	}
}

// runAsNobody runs the test binary's test name as uid 65534.
func runAsNobody(t *testing.T, name string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "tail-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "tail.test")
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	src.Close()
	dst.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "OCTO_TAIL_AS_NOBODY=1", "TMPDIR=/tmp", "HOME=/tmp")
	cmd.Dir = "/tmp"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	t.Logf("ran as uid 65534:\n%s", out)
}
