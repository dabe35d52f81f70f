package e2e

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
)

func TestScratchBackpressureSigterm(t *testing.T) {
	for iter := 0; iter < 5; iter++ {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.hcl")
	logPath := filepath.Join(dir, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir  = %s
  http_addr = "127.0.0.1:0"
  checkpoint_interval = "100ms"
}
source "file" "app" {
  paths         = [%s]
  poll_interval = "20ms"
  batch_max_records = 16
}
sink "file" "out" {
  inputs = [source.file.app]
  path   = %s
  fsync = true
  buffer { max_records = 64 }
}
`, hclString(filepath.Join(dir, "data")), hclString(logPath), hclString(out)))
	const total = 19999
	appendLines(t, logPath, 1, total)
	p := startAgent(t, dir, "run", "-c", cfg)
	waitFor(t, startDeadline, "lines", func() bool { return countLines(t, out) > 3000 })
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("exit %d", code)
	}
	run1 := countLines(t, out)
	code, _, stderr := runAgent(t, dir, "run", "--once", "-c", cfg, "--http-addr", "off")
	if code != 0 {
		t.Fatalf("once: %d %s", code, stderr)
	}
	recs := readJSONLines(t, out)
	counts := map[int]int{}
	for _, r := range recs {
		n, ok := parseGrowLine(r.Fields["message"].(string))
		if !ok { t.Fatalf("foreign") }
		counts[n]++
	}
	dup, lost := 0, 0
	for i := 1; i <= total; i++ {
		if counts[i] == 0 { lost++ }
		if counts[i] > 1 { dup += counts[i]-1 }
	}
	t.Logf("iter %d: run1 %d total %d dup %d lost %d", iter, run1, len(recs), dup, lost)
	if dup > 0 { t.Logf("stderr run1:\n%s", tail(p.Stderr.String(), 3000)) }
	}
}
