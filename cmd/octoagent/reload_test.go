package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/agent/config"
)

// reloadEnv runs a supervisor in process on a config file the test
// rewrites.
type reloadEnv struct {
	dir, cfg, in string
	sv           *supervisor
	log          *agenttest.LogBuffer
}

func (e *reloadEnv) write(t *testing.T, extraAgent, sinkPath string) {
	t.Helper()
	c := fmt.Sprintf("agent {\n  data_dir = %q\n  http_addr = \"off\"\n%s}\n\nsource \"file\" \"in\" {\n  paths = [%q]\n  start_at = \"beginning\"\n}\n\nsink \"file\" \"out\" {\n  inputs = [source.file.in]\n  path   = %q\n}\n",
		filepath.Join(e.dir, "data"), extraAgent, e.in, sinkPath)
	if err := os.WriteFile(e.cfg, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startReloadEnv(t *testing.T) *reloadEnv {
	dir := t.TempDir()
	e := &reloadEnv{dir: dir, cfg: filepath.Join(dir, "agent.hcl"), in: filepath.Join(dir, "in.log"), log: &agenttest.LogBuffer{}}
	if err := os.WriteFile(e.in, []byte("one\ntwo\nthree\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.write(t, "", filepath.Join(dir, "out.jsonl"))
	res, diags := config.Load([]string{e.cfg}, components())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	log := slog.New(slog.NewTextHandler(e.log, nil))
	e.sv = newSupervisor([]string{e.cfg}, func(*agent.Graph) {}, agent.Options{Logger: log})
	rt, err := e.sv.build(res.Graph)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.sv.run(ctx, res.Graph, rt) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return e
}

func (e *reloadEnv) post() (int, http.Header, string) {
	w := httptest.NewRecorder()
	e.sv.serveReload(w, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	return w.Code, w.Header(), w.Body.String()
}

func (e *reloadEnv) delivered() float64 {
	return testutil.ToFloat64(e.sv.opt.Metrics.Delivered.WithLabelValues("sink.file.out"))
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// POST /-/reload says whether the new config runs: 200 when it does; 400
// when it fails the start checks (the running config kept) or cannot start
// (the previous config started again); 429 with Retry-After past the rate
// limit. Counters are monotonic across the reloads.
func TestReloadOutcome(t *testing.T) {
	e := startReloadEnv(t)
	t.Cleanup(func() {
		if t.Failed() {
			fmt.Fprintf(os.Stderr, "log:\n%s", e.log.String())
		}
	})
	waitUntil(t, "3 records delivered", func() bool { return e.delivered() == 3 })

	code, _, body := e.post()
	if code != http.StatusOK || !strings.Contains(body, "the new config runs") {
		t.Fatalf("a good config: %d %s", code, body)
	}
	if d := e.delivered(); d < 3 {
		t.Errorf("sink.file.out delivered %v after the reload, %v before: counters went back", d, 3)
	}
	appendLine(t, e.in, "four")
	waitUntil(t, "the 4th record, after the reload", func() bool { return e.delivered() == 4 })

	// Fails the start checks: refused before the running config stops.
	e.write(t, "", "/proc/octoagent/out.jsonl")
	code, _, body = e.post()
	if code != http.StatusBadRequest || !strings.Contains(body, "virtual file system") || !strings.Contains(body, "the running config is kept") ||
		!strings.Contains(body, "agent.hcl:13:12") {
		t.Errorf("a sink under /proc: %d %s", code, body)
	}

	// Loads, but cannot start (its HTTP address is taken): the previous
	// config runs again, and the answer says so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e.write(t, fmt.Sprintf("  admin_addr = %q\n", ln.Addr().String()), filepath.Join(e.dir, "out.jsonl"))
	code, _, body = e.post()
	if code != http.StatusBadRequest || !strings.Contains(body, "the new config cannot start") || !strings.Contains(body, "the previous config was started again and runs") {
		t.Errorf("a config that cannot start: %d %s", code, body)
	}
	appendLine(t, e.in, "five")
	waitUntil(t, "the 5th record, from the previous config", func() bool { return e.delivered() == 5 })

	// Three reloads so far: the burst is spent.
	code, h, body := e.post()
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "too many reloads") {
		t.Errorf("a 4th reload at once: %d %v %s", code, h, body)
	}
	if !strings.Contains(e.log.String(), "too many reloads") {
		t.Errorf("the refused reload is not logged:\n%s", e.log.String())
	}
}
