package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testenv"
	"github.com/octostore/agent/internal/testfig"
)

// TestStoreDownSmallDisk is issue 22's disk-buffer wedge, with the real
// binary: data_dir on a 2 MiB filesystem, a disk buffer of the default
// size (1 GiB), the store down. The agent fills the disk and blocks on
// ENOSPC; when the store comes back, run --once must deliver every line,
// once, and end by itself.
func TestStoreDownSmallDisk(t *testing.T) {
	const lines = 50000
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{Status: 503, StatusCount: 1 << 30})
	db := pgConn(t, pg.DSN())

	dir := t.TempDir()
	data := testenv.SmallFS(t, "2m")
	logPath := filepath.Join(dir, "app.log")
	appendSeq(t, logPath, 1, lines) // 6 MiB: three times the disk
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, storeAgentConfig(data, logPath, st.URL(), `  buffer {
    type = "disk"
  }`))
	p := startAgent(t, "", "run", "--once", "-c", cfg, "--log-level", "info")
	waitFor(t, startDeadline, "the agent to fill the 2 MiB disk (ENOSPC)", func() bool {
		if p.Exited() {
			t.Fatalf("the agent exited: %s", tail(p.Stderr.String(), 4000))
		}
		return strings.Contains(p.Stderr.String(), "no space left on device")
	})
	if !strings.Contains(p.Stderr.String(), "is larger than the free space") {
		t.Errorf("no warning at start about max_bytes larger than the free space")
	}
	st.setFaults(t, store.Faults{})
	back := time.Now()
	if code := p.WaitExit(t, onceDeadline); code != 0 {
		t.Fatalf("run --once exited %d", code)
	}
	records, deliveries := storedCounts(t, db)
	n, lo, hi := distinctSeq(t, db)
	testfig.Report(t, "lines=%d on a 2MiB data_dir: stored=%d distinct=%d duplicates=%d exit_after_store_back=%.1fs",
		lines, records, n, deliveries-records, time.Since(back).Seconds())
	if n != lines || lo != 1 || hi != lines || records != lines {
		t.Fatalf("stored %d records, %d distinct lines (%d..%d); want %d, once each", records, n, lo, hi, lines)
	}
}
