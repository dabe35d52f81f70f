package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testfig"
)

// TestShutdownDeadlineStoreDown is issue 22's fourth fault: with the store
// down, SIGTERM took 8 s against a shutdown_timeout of 5 s and logged
// `sink flush failed: context canceled` at ERROR. The agent must exit
// within its shutdown_timeout (plus the time to start and stop a process
// on a loaded machine), log no ERROR, and say in one line what it left for
// the next start; a second run with the store up stores every line once.
func TestShutdownDeadlineStoreDown(t *testing.T) {
	const lines, timeout = 3000, 3 * time.Second
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{Status: 503, StatusCount: 1 << 30})
	db := pgConn(t, pg.DSN())
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	appendSeq(t, logPath, 1, lines)
	cfg := filepath.Join(dir, "agent.hcl")
	text := strings.Replace(storeAgentConfig(filepath.Join(dir, "data"), logPath, st.URL(), ""),
		`shutdown_timeout    = "10s"`, fmt.Sprintf("shutdown_timeout    = %q", timeout.String()), 1)
	if !strings.Contains(text, timeout.String()) {
		t.Fatal("storeAgentConfig no longer sets shutdown_timeout = \"10s\": update this test")
	}
	writeFile(t, cfg, text)
	p := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	waitFor(t, startDeadline, "the agent to meet the down store", func() bool { return st.stats(t).Faults >= 3 })
	start := time.Now()
	p.Signal(t, syscall.SIGTERM)
	code := p.WaitExit(t, timeout+time.Minute)
	took := time.Since(start)
	stderr := p.Stderr.String()
	testfig.Report(t, "SIGTERM with the store down: exit after %.2fs (shutdown_timeout %v)", took.Seconds(), timeout)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	// The deadline, plus a margin for a loaded machine to deliver the
	// signal and reap the process.
	if took > timeout+2*time.Second {
		t.Errorf("exit %v after SIGTERM, past shutdown_timeout %v", took, timeout)
	}
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "level=ERROR") {
			t.Errorf("an ERROR line at shutdown: %s", l)
		}
	}
	left := regexp.MustCompile(`msg="shutdown deadline passed: [^"]*" records=(\d+)`).FindAllStringSubmatch(stderr, -1)
	if len(left) != 1 || left[0][1] == "0" {
		t.Errorf("want one line saying what was left for the next start, with the count; got %q", left)
	}
	// The next start, with the store up, stores every line once.
	st.setFaults(t, store.Faults{})
	p2 := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	waitFor(t, time.Minute, "every line stored", func() bool { n, _ := storedCounts(t, db); return n >= lines })
	p2.Signal(t, syscall.SIGTERM)
	p2.WaitExit(t, time.Minute)
	if n, lo, hi := distinctSeq(t, db); n != lines || lo != 1 || hi != lines {
		t.Fatalf("stored %d distinct lines (%d..%d), want %d", n, lo, hi, lines)
	}
}
