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

// The agent operations the chart relies on: config reload (SIGHUP and
// POST /-/reload, which a config-reloader sidecar or kubectl exec can
// send), the live tap, and a graceful stop well within the pods'
// terminationGracePeriodSeconds.

func reloadConfig(dir, gen string) string {
	return fmt.Sprintf(`agent {
  data_dir         = %s
  http_addr        = "127.0.0.1:0"
  shutdown_timeout = "10s"
}
source "file" "in" {
  paths    = [%s]
  start_at = "beginning"
}
transform "t" {
  inputs = [source.file.in]
  parse "regex" {
    pattern = "^seq=(?P<seq>\\d+)"
  }
  set {
    gen = "'%s'"
  }
}
sink "file" "out" {
  inputs = [transform.t, transform.t.dead_letter]
  path   = %s
}
`, hclString(filepath.Join(dir, "data")), hclString(filepath.Join(dir, "in.log")), gen, hclString(filepath.Join(dir, "out.jsonl")))
}

// TestReloadWhileRecordsFlow appends lines without pause while the rules
// change four times (twice by SIGHUP, twice by POST /-/reload) and two
// broken configs are refused (one each way, the agent keeping the running
// config): every line comes out exactly once, with one id each, and the
// records written after the last reload carry the last rules.
func TestReloadWhileRecordsFlow(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, reloadConfig(dir, "g0"))
	in, err := os.Create(filepath.Join(dir, "in.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := startAgent(t, dir, "run", "-c", cfg)
	addr := p.WaitHTTPAddr(t)

	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		w := bufio.NewWriter(in)
		for n := 1; ; n++ {
			select {
			case <-stop:
				w.Flush()
				return
			default:
			}
			fmt.Fprintf(w, "seq=%d\n", n)
			if n%50 == 0 {
				w.Flush()
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	out := filepath.Join(dir, "out.jsonl")
	waitLines := func(n int) {
		waitFor(t, 60*time.Second, fmt.Sprintf("%d records", n), func() bool { return countLines(t, out) >= n })
	}
	post := func() (int, string) {
		resp, err := http.Post("http://"+addr+"/-/reload", "", nil)
		if err != nil {
			t.Fatalf("POST /-/reload: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	reloaded := func(n int) {
		waitFor(t, 30*time.Second, fmt.Sprintf("reload %d", n), func() bool {
			return strings.Contains(p.Stderr.String(), "reload="+strconv.Itoa(n)+" ")
		})
	}

	waitLines(500)
	for i := 1; i <= 4; i++ {
		writeFile(t, cfg, reloadConfig(dir, "g"+strconv.Itoa(i)))
		if i%2 == 1 {
			p.Signal(t, syscall.SIGHUP)
		} else if code, body := post(); code != http.StatusOK || !strings.Contains(body, "the new config runs") {
			t.Fatalf("POST /-/reload: %d %s", code, body)
		}
		reloaded(i)
		waitLines(countLines(t, out) + 300)
		if i == 2 {
			// Broken configs are refused; the running one keeps going.
			writeFile(t, cfg, reloadConfig(dir, "broken")+"\ntransform \"t\" {\n")
			code, body := post()
			if code != http.StatusBadRequest || !strings.Contains(body, "Unclosed configuration block") {
				t.Fatalf("POST /-/reload with a broken config: %d %s", code, body)
			}
			p.Signal(t, syscall.SIGHUP)
			waitFor(t, 10*time.Second, "the SIGHUP reload to be refused", func() bool {
				return strings.Count(p.Stderr.String(), "reload refused") >= 2
			})
			waitLines(countLines(t, out) + 300)
			if p.Exited() {
				t.Fatal("the agent exited on a broken config")
			}
		}
	}
	close(stop)
	<-writerDone
	data, err := os.ReadFile(in.Name())
	if err != nil {
		t.Fatal(err)
	}
	total := strings.Count(string(data), "\n")
	waitLines(total)
	start := time.Now()
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	t.Logf("%d lines, 4 reloads, 2 refused; stopped %v after SIGTERM", total, time.Since(start).Round(time.Millisecond))

	recs := readJSONLines(t, out)
	ids := map[string]bool{}
	seqs := make([]int, total+1)
	gens := map[string]int{}
	for _, r := range recs {
		if ids[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
		s, _ := r.Fields["seq"].(string)
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > total {
			t.Fatalf("record with seq %q (kind %s)", s, r.Kind)
		}
		seqs[n]++
		g, _ := r.Fields["gen"].(string)
		gens[g]++
	}
	for n := 1; n <= total; n++ {
		if seqs[n] != 1 {
			t.Errorf("seq=%d came out %d times", n, seqs[n])
		}
	}
	if len(recs) != total {
		t.Errorf("%d records for %d lines", len(recs), total)
	}
	for i := 0; i <= 4; i++ {
		if gens["g"+strconv.Itoa(i)] == 0 {
			t.Errorf("no record from the rules of reload %d: %v", i, gens)
		}
	}
	if gens["broken"] != 0 {
		t.Errorf("records from the refused config: %v", gens)
	}
	if last := recs[len(recs)-1].Fields["gen"]; last != "g4" {
		t.Errorf("the last record has gen %v, want g4", last)
	}
}

// TestTap reads live records through GET /tap and `octoagent tap`: every
// Nth record of the component, and the stream ends after the limit.
func TestTap(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, reloadConfig(dir, "tap"))
	writeFile(t, filepath.Join(dir, "in.log"), "")
	p := startAgent(t, dir, "run", "-c", cfg)
	addr := p.WaitHTTPAddr(t)

	// Keep lines coming until the taps are done.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(filepath.Join(dir, "in.log"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			fmt.Fprintf(f, "seq=%d\n", n)
		}
	}()
	defer func() { close(stop); <-done }()

	resp, err := http.Get("http://" + addr + "/tap?component=transform.t&sample=3&limit=5")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body) // ends after the limit
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /tap: %d %v", resp.StatusCode, err)
	}
	recs := decodeJSONLines(t, body)
	if len(recs) != 5 {
		t.Fatalf("%d records, want 5:\n%s", len(recs), body)
	}
	var prev int
	for i, r := range recs {
		n, _ := strconv.Atoi(r.Fields["seq"].(string))
		if r.Kind != "t" || r.ID == "" || r.Origin.Rule != "transform.t" {
			t.Errorf("record %d: kind %q id %q rule %q", i, r.Kind, r.ID, r.Origin.Rule)
		}
		if i > 0 && n-prev != 3 {
			t.Errorf("sample=3: seq %d after %d", n, prev)
		}
		prev = n
	}
	if resp, err := http.Get("http://" + addr + "/tap"); err == nil {
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /tap without a component: %d", resp.StatusCode)
		}
		resp.Body.Close()
	}

	code, stdout, stderr := runAgent(t, dir, "tap", "transform.t", "--addr", addr, "--limit", "2")
	if code != 0 {
		t.Fatalf("octoagent tap: exit %d\n%s", code, stderr)
	}
	if got := decodeJSONLines(t, stdout); len(got) != 2 || got[0].Fields["gen"] != "tap" {
		t.Errorf("octoagent tap --limit 2: %s", stdout)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
