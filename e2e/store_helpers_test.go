package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testenv"
)

// Helpers for the tests against the test store (e2e/store): a throwaway
// PostgreSQL cluster per test, the store as a separate process (built once,
// without -race, so it keeps up), and the agent's metrics.

var (
	storeBuild builtBinary
)

// startPostgres starts a throwaway cluster, stopped at the end of the test.
func startPostgres(t testing.TB) *store.Postgres {
	t.Helper()
	if _, err := store.FindPostgres(); err != nil {
		testenv.Missing(t, "postgresql", err.Error())
	}
	pg, err := store.StartPostgres()
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := pg.Stop(); err != nil {
			t.Logf("stop PostgreSQL: %v", err)
		}
	})
	return pg
}

// storeBinary builds ./e2e/store/cmd/teststore once per test process.
func storeBinary(t testing.TB) string {
	t.Helper()
	return storeBuild.get(t, "teststore", nil, "./e2e/store/cmd/teststore")
}

// storeProc is a running test store.
type storeProc struct {
	Addr   string // host:port
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

var listenRe = regexp.MustCompile(`listening on (\S+)`)

// startStore starts the test store on addr ("127.0.0.1:0" for any port)
// with the given faults; it is killed at the end of the test.
func startStore(t testing.TB, dsn, addr string, faults store.Faults, extra ...string) *storeProc {
	t.Helper()
	fj, _ := json.Marshal(faults)
	args := append([]string{"-dsn", dsn, "-addr", addr, "-faults", string(fj)}, extra...)
	p := &storeProc{stderr: &syncBuffer{}, done: make(chan struct{})}
	stdout := &syncBuffer{}
	p.cmd = exec.Command(storeBinary(t), args...)
	p.cmd.Stdout, p.cmd.Stderr = stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Kill)
	waitFor(t, startDeadline, "the test store to listen", func() bool {
		select {
		case <-p.done:
			t.Fatalf("the test store exited: %s", p.stderr.String())
		default:
		}
		if m := listenRe.FindStringSubmatch(stdout.String()); m != nil {
			p.Addr = m[1]
			return true
		}
		return false
	})
	return p
}

// URL returns the store's base URL.
func (p *storeProc) URL() string { return "http://" + p.Addr }

// Kill stops the store at once: connections are refused until a new one
// starts on the same address.
func (p *storeProc) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// setFaults changes the faults of a running store.
func (p *storeProc) setFaults(t testing.TB, f store.Faults) {
	t.Helper()
	b, _ := json.Marshal(f)
	resp, err := http.Post(p.URL()+"/admin/faults", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("set faults: %v", err)
	}
	resp.Body.Close()
}

// stats returns the store's counters (zero if it does not answer).
func (p *storeProc) stats(t testing.TB) store.Stats {
	t.Helper()
	var s store.Stats
	resp, err := http.Get(p.URL() + "/admin/stats")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// pgConn connects to the test cluster.
func pgConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// storedCounts returns the records in the store and their deliveries.
func storedCounts(t testing.TB, db *pgx.Conn) (records, deliveries int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, d, err := store.Count(ctx, db)
	if err != nil {
		t.Fatalf("count records: %v", err)
	}
	return r, d
}

// storedLines returns, per line number of seqLine, how many distinct
// records hold it.
func storedLines(t testing.TB, db *pgx.Conn) map[int]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := db.Query(ctx, `SELECT message FROM records`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	var msg string
	_, err = pgx.ForEachRow(rows, []any{&msg}, func() error {
		if n, ok := parseSeqLine(msg); ok {
			out[n]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const seqPad = "GET /api/v2/deployments/98156/status?utm_source=news HTTP/1.1 200 96018 Mozilla/5.0 (X11; Linux x86_64)"

// seqLine is line n of the store tests' logs.
func seqLine(n int) string { return fmt.Sprintf("seq %08d %s", n, seqPad) }

func parseSeqLine(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, "seq ")
	if !ok || len(rest) < 8 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:8])
	return n, err == nil
}

// appendSeq appends lines first..first+n-1 to path.
func appendSeq(t testing.TB, path string, first, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	for i := first; i < first+n; i++ {
		w.WriteString(seqLine(i))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// missing lists the line numbers 1..n not in got (at most 10).
func missing(got map[int]int, n int) (count int, first []int) {
	for i := 1; i <= n; i++ {
		if got[i] == 0 {
			count++
			if len(first) < 10 {
				first = append(first, i)
			}
		}
	}
	return count, first
}

// peakRSS returns the process's peak resident set size (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// storeAgentConfig is a file source feeding a sink "octostore".
func storeAgentConfig(dataDir, logPath, endpoint, sinkExtra string) string {
	return fmt.Sprintf(`agent {
  data_dir            = %s
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "200ms"
  shutdown_timeout    = "10s"
}

source "file" "app" {
  paths         = [%s]
  poll_interval = "20ms"
}

sink "octostore" "central" {
  inputs                = [source.file.app]
  endpoint              = %s
  batch_max_wait        = "200ms"
  retry_initial_backoff = "100ms"
  retry_max_backoff     = "2s"
%s
}
`, hclString(dataDir), hclString(logPath), hclString(endpoint), sinkExtra)
}
