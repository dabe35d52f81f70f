package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMetricsEndpoint runs the agent with its HTTP server on a free port,
// checks /healthz and /readyz, and follows delivery through /metrics.
func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.hcl")
	logPath := filepath.Join(dir, "app.log")
	out := filepath.Join(dir, "out.jsonl")
	writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir  = %s
  http_addr = "127.0.0.1:0"
}

source "file" "app" {
  paths         = [%s]
  poll_interval = "20ms"
}

sink "file" "out" {
  inputs = [source.file.app]
  path   = %s
}
`, hclString(filepath.Join(dir, "data")), hclString(logPath), hclString(out)))

	// Some lines are there at start, the rest are appended while it runs.
	const before, after = 300, 200
	appendLines(t, logPath, 1, before)

	p := startAgent(t, dir, "run", "-c", cfg)
	addr := p.WaitHTTPAddr(t)
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second}
	t.Logf("metrics at %s", base)

	if code, body := httpGet(t, client, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %q, want 200", code, body)
	}
	waitFor(t, startDeadline, "/readyz to answer 200", func() bool {
		code, _ := httpGet(t, client, base+"/readyz")
		return code == http.StatusOK
	})

	const received = `octoagent_component_received_records_total{component="sink.file.out"}`
	const delivered = `octoagent_component_delivered_records_total{component="sink.file.out"}`
	waitMetric := func(name string, want float64) {
		t.Helper()
		var last float64
		var found bool
		waitFor(t, startDeadline, fmt.Sprintf("%s to reach %v", name, want), func() bool {
			last, found = metricValue(t, client, base+"/metrics", name)
			return found && last == want
		})
	}
	waitMetric(received, before)

	appendLines(t, logPath, before+1, after)
	waitMetric(received, before+after)
	waitMetric(delivered, before+after)
	if n := countLines(t, out); n != before+after {
		t.Errorf("out.jsonl has %d lines, want %d", n, before+after)
	}
	if v, ok := metricValue(t, client, base+"/metrics", `octoagent_component_failed_records_total{component="sink.file.out"}`); ok && v != 0 {
		t.Errorf("sink.file.out failed %v records, want 0", v)
	}

	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("after SIGTERM: exit code %d, want 0", code)
	}
}

// appendLines appends lines first..first+n-1 of the growing-file format.
func appendLines(t testing.TB, path string, first, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for i := first; i < first+n; i++ {
		b.WriteString(growLine(i))
		b.WriteByte('\n')
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// httpGet returns the status and body of a GET, or 0 if it failed.
func httpGet(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Logf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, ""
	}
	return resp.StatusCode, string(body)
}

// metricValue returns the value of one series (name with labels, exactly
// as exposed) in the Prometheus text format served at url.
func metricValue(t testing.TB, c *http.Client, url, series string) (float64, bool) {
	t.Helper()
	code, body := httpGet(t, c, url)
	if code != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("%s: bad value %q", series, rest)
		}
		return v, true
	}
	return 0, false
}
