package e2e

import (
	"fmt"
	"github.com/octostore/agent/internal/testfig"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSigtermUnderBackpressureExactlyOnce is the SIGTERM exactly-once test
// with the source blocked on a full sink queue when the signal comes: a
// slow sink (fsync on every batch) with a 64-record queue, fed from a file
// that is already complete, in batches of 16. The batch the source holds is
// handed on while the pipeline drains, and the source reads nothing more,
// so the next run neither loses nor repeats a line.
func TestSigtermUnderBackpressureExactlyOnce(t *testing.T) {
	const rounds = 3
	for round := 1; round <= rounds; round++ {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "agent.hcl")
			logPath := filepath.Join(dir, "app.log")
			out := filepath.Join(dir, "out.jsonl")
			writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir            = %s
  http_addr           = "127.0.0.1:0"
  shutdown_timeout    = "10s"
  checkpoint_interval = "100ms"
}

source "file" "app" {
  paths             = [%s]
  poll_interval     = "20ms"
  batch_max_records = 16
}

sink "file" "out" {
  inputs = [source.file.app]
  path   = %s
  fsync  = true

  buffer {
    max_records = 64
  }
}
`, hclString(filepath.Join(dir, "data")), hclString(logPath), hclString(out)))
			appendLines(t, logPath, 1, growLines)

			p := startAgent(t, dir, "run", "-c", cfg)
			waitFor(t, startDeadline, fmt.Sprintf("more than %d lines in out.jsonl", growSignalAt), func() bool {
				if p.Exited() {
					t.Fatalf("octoagent exited before the signal; stderr:\n%s", tail(p.Stderr.String(), 8000))
				}
				return countLines(t, out) > growSignalAt
			})
			p.Signal(t, syscall.SIGTERM)
			if code := p.WaitExit(t, exitDeadline); code != 0 {
				t.Fatalf("after SIGTERM: exit code %d, want 0", code)
			}
			run1 := countLines(t, out)
			code, _, stderr := runAgent(t, dir, "run", "--once", "-c", cfg, "--http-addr", "off")
			if code != 0 {
				t.Fatalf("run --once exited with %d; stderr:\n%s", code, stderr)
			}
			d := analyzeDelivery(readJSONLines(t, out))
			dupDeliveries, dupLines := d.duplicates()
			lost, _ := d.lost(growLines)
			testfig.Report(t, "lines: %d; delivered in run 1: %d, in run 2: %d; duplicates: %d deliveries of %d lines; lost: %d",
				growLines, run1, d.records-run1, dupDeliveries, dupLines, lost)
			d.checkNoLoss(t, growLines)
			d.checkExactlyOnce(t)
		})
	}
}
