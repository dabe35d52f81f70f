// Command bench runs `octoagent run --once` as a whole process on a
// generated nginx log, scenario by scenario, and the peers on the same
// file, and reports the median of N runs: wall time, CPU time (user+sys,
// from the child's rusage), peak RSS (the child's own VmHWM, see watchHWM),
// lines/s and CPU µs per line.
//
//	go run ./e2e/bench -lines 1000000 -runs 5
//
// Results go to standard output as a Markdown table and to
// bench/results/<time>.jsonl for tracking.
//
// The nginx_octostore scenario posts to the test Octostore (e2e/store),
// served from this process on a throwaway PostgreSQL cluster started for
// it; it is skipped, with the reason, when PostgreSQL cannot be started.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octostore/agent/e2e/store"
)

type scenario struct {
	Name    string
	Program string // "octoagent", "mawk", "otelcol"
	Configs []string
	// Want is how many output lines a run must produce (0: one per input line).
	Want int
	// Store runs the test Octostore (e2e/store, on PostgreSQL) for the
	// scenario: the output file then holds only the dead letters, and the
	// store must hold one record per other input line.
	Store bool
	// K8s reads the input from the CRI files of a simulated /var/log/pods,
	// with an API serving the node's pods (k8s.go).
	K8s bool
	// Replay runs `octoagent replay` over the dead letters a rule that
	// reads no line made of the input (made once, replay.go), instead of
	// `run` over the input.
	Replay bool
	// OTLP sends the input as OTLP export requests and receives what comes
	// out over OTLP (otlp.go); the OTLP scenarios' runs are interleaved.
	OTLP bool
}

var scenarios = []scenario{
	{Name: "passthrough", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/passthrough.hcl"}},
	{Name: "nginx_regex", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx.hcl", "configs/schemas", "configs/nginx/rules.hcl"}},
	{Name: "nginx_split", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx.hcl", "configs/schemas", "configs/nginx/variants/split.hcl"}},
	{Name: "nginx_awk", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx.hcl", "configs/schemas", "configs/nginx/variants/awk.hcl"}},
	{Name: "nginx_grok", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx.hcl", "configs/schemas", "configs/nginx/variants/grok.hcl"}},
	// Logstash's %{HTTPD_COMBINEDLOG} on the same lines: ECS names (nested
	// objects, the default) and legacy names (flat), no schema.
	{Name: "nginx_grok_httpd", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx.hcl", "e2e/bench/scenarios/nginx_grok_httpd.hcl"}},
	{Name: "nginx_grok_httpd_legacy", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx.hcl", "e2e/bench/scenarios/nginx_grok_httpd_legacy.hcl"}},
	{Name: "nginx_regex_jq", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx_regex_jq.hcl", "configs/schemas", "configs/nginx/rules.hcl"}},
	{Name: "nginx_octostore", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx_octostore.hcl", "configs/schemas", "configs/nginx/rules.hcl"}, Store: true},
	{Name: "nginx_replay", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/nginx.hcl", "configs/schemas", "configs/nginx/rules.hcl"}, Replay: true},
	{Name: "k8s_logs_meta_off", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/k8s_logs_meta_off.hcl"}, K8s: true},
	{Name: "k8s_logs_meta_on", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/k8s_logs_meta_on.hcl"}, K8s: true},
	{Name: "otlp_rules", Program: "octoagent", Configs: []string{"e2e/bench/scenarios/otlp_rules.hcl", "configs/schemas"}, OTLP: true},
	{Name: "peer_mawk_split", Program: "mawk"},
	{Name: "peer_otelcol_regex", Program: "otelcol"},
	{Name: "peer_otelcol_otlp", Program: "otelcol", Configs: []string{"e2e/bench/peers/otelcol-otlp.yaml"}, OTLP: true},
}

// Result is one scenario's medians, as written to the JSONL file.
type Result struct {
	Time        time.Time `json:"time"`
	Rev         string    `json:"rev"`
	Machine     string    `json:"machine"`
	Scenario    string    `json:"scenario"`
	Program     string    `json:"program"`
	Lines       int       `json:"lines"`
	Runs        int       `json:"runs"`
	WallSec     float64   `json:"wall_s"`
	CPUSec      float64   `json:"cpu_s"`
	PeakRSSMiB  float64   `json:"peak_rss_mib"`
	LinesPerSec float64   `json:"lines_per_s"`
	CPUUsLine   float64   `json:"cpu_us_per_line"`
	Skipped     string    `json:"skipped,omitempty"`
}

type run struct {
	wall, cpu time.Duration
	rssKiB    int64
}

func main() {
	lines := flag.Int("lines", 1000000, "lines in the generated log")
	runs := flag.Int("runs", 5, "runs per scenario; the median is reported")
	only := flag.String("scenarios", "", "comma-separated scenario names (default: all)")
	bin := flag.String("bin", "bin/octoagent", "the octoagent binary")
	work := flag.String("work", "bin/bench", "work directory (input, outputs)")
	results := flag.String("results", "bench/results", "directory for the JSONL results")
	otelcol := flag.String("otelcol", otelcolPath(), "the OpenTelemetry Collector peer binary (default: where e2e/bench/peers/build.sh builds it)")
	flag.Parse()
	stopOnSignal()

	must(os.MkdirAll(*work, 0o755))
	input, err := filepath.Abs(filepath.Join(*work, fmt.Sprintf("nginx-%d.log", *lines)))
	must(err)
	if _, err := os.Stat(input); err != nil {
		fmt.Fprintf(os.Stderr, "generating %d lines into %s\n", *lines, input)
		f, err := os.Create(input)
		must(err)
		cmd := exec.Command("go", "run", "./e2e/gen", "-n", fmt.Sprint(*lines), "-seed", "1")
		cmd.Stdout, cmd.Stderr = f, os.Stderr
		must(cmd.Run())
		must(f.Close())
	}
	machine := machineInfo()
	rev := strings.TrimSpace(output("git", "describe", "--always", "--dirty"))
	var out []Result
	var otlpScenarios []scenario
	for _, sc := range scenarios {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), sc.Name) {
			continue
		}
		if sc.OTLP {
			otlpScenarios = append(otlpScenarios, sc)
			continue
		}
		res := Result{Time: time.Now().UTC(), Rev: rev, Machine: machine, Scenario: sc.Name, Program: sc.Program, Lines: *lines, Runs: *runs}
		var rs []run
		var st *benchStore
		if sc.K8s && k8sEnv == nil {
			must(setupK8s(input, *work))
		}
		if sc.Store {
			var err error
			st, err = startStore()
			if err != nil {
				res.Skipped = "cannot start the test store: " + firstLine(err.Error())
				fmt.Fprintf(os.Stderr, "%s: skipped: %v\n", sc.Name, err)
			}
		}
		for i := 0; i < *runs && res.Skipped == ""; i++ {
			r, skip, err := runOnce(sc, *bin, *otelcol, input, *work, *lines, st)
			if skip != "" {
				res.Skipped = skip
				break
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", sc.Name, err)
				exit(1)
			}
			rs = append(rs, r)
			fmt.Fprintf(os.Stderr, "%-20s run %d: wall %.2fs cpu %.2fs rss %.1f MiB\n", sc.Name, i+1, r.wall.Seconds(), r.cpu.Seconds(), float64(r.rssKiB)/1024)
		}
		if st != nil {
			st.Stop()
		}
		if len(rs) > 0 {
			res.WallSec = median(rs, func(r run) float64 { return r.wall.Seconds() })
			res.CPUSec = median(rs, func(r run) float64 { return r.cpu.Seconds() })
			res.PeakRSSMiB = median(rs, func(r run) float64 { return float64(r.rssKiB) / 1024 })
			res.LinesPerSec = float64(*lines) / res.WallSec
			res.CPUUsLine = res.CPUSec * 1e6 / float64(*lines)
		}
		out = append(out, res)
	}
	out = append(out, runOTLPScenarios(otlpScenarios, *runs, *bin, *otelcol, input, *work, rev, machine)...)
	printTable(os.Stdout, out)
	must(os.MkdirAll(*results, 0o755))
	p := filepath.Join(*results, time.Now().UTC().Format("20060102T150405Z")+".jsonl")
	f, err := os.Create(p)
	must(err)
	enc := json.NewEncoder(f)
	for _, r := range out {
		must(enc.Encode(r))
	}
	must(f.Close())
	fmt.Fprintf(os.Stderr, "results written to %s\n", p)
}

func runOnce(sc scenario, bin, otelcol, input, work string, lines int, st *benchStore) (run, string, error) {
	dir, err := os.MkdirTemp(work, "run-")
	if err != nil {
		return run{}, "", err
	}
	defer os.RemoveAll(dir)
	outPath := filepath.Join(dir, "out.jsonl")
	var cmd *exec.Cmd
	switch sc.Program {
	case "octoagent":
		args := []string{"run", "--once", "--data-dir", filepath.Join(dir, "data"), "--http-addr", "off", "--log-level", "warn"}
		if sc.Replay {
			dead, err := deadLetters(bin, input, work)
			if err != nil {
				return run{}, "", err
			}
			args = []string{"replay", "--data-dir", filepath.Join(dir, "data"), dead}
		}
		for _, c := range sc.Configs {
			args = append(args, "-c", c)
		}
		cmd = exec.Command(bin, args...)
	case "mawk":
		path, err := exec.LookPath("mawk")
		if err != nil {
			return run{}, "mawk is not installed (make bench-peers installs it)", nil
		}
		cmd = exec.Command(path, "-f", "e2e/bench/peers/split.awk", input)
		f, err := os.Create(outPath)
		if err != nil {
			return run{}, "", err
		}
		defer f.Close()
		cmd.Stdout = f
	case "otelcol":
		if _, err := os.Stat(otelcol); err != nil {
			return run{}, "the OpenTelemetry Collector is not built (make bench-peers builds it)", nil
		}
		cmd = exec.Command(otelcol, "--config", "e2e/bench/peers/otelcol.yaml")
	}
	cmd.Env = append(os.Environ(), "BENCH_INPUT="+input, "BENCH_OUTPUT="+outPath)
	if sc.K8s {
		cmd.Env = append(cmd.Env, k8sEnv...)
	}
	rejectedPath := filepath.Join(dir, "rejected.jsonl")
	if st != nil {
		// An empty store, and a token the store requires, in a file as in
		// production.
		if err := st.Reset(); err != nil {
			return run{}, "", fmt.Errorf("empty the test store: %w", err)
		}
		tokenFile := filepath.Join(dir, "octostore.token")
		if err := os.WriteFile(tokenFile, []byte(st.token+"\n"), 0o600); err != nil {
			return run{}, "", err
		}
		cmd.Env = append(cmd.Env, "BENCH_STORE_URL="+st.URL, "BENCH_STORE_TOKEN_FILE="+tokenFile, "BENCH_REJECTED="+rejectedPath)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return run{}, "", err
	}
	hwm := watchHWM(cmd.Process.Pid)
	var wall time.Duration
	if sc.Program == "otelcol" {
		// The collector does not stop at the end of a file: wait for every
		// line to be written, then stop it.
		deadline := time.Now().Add(10 * time.Minute)
		// Its file exporter writes one JSON line per export batch: count
		// the log records in them.
		for countToken(outPath, otelRecord) < lines {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				return run{}, "", fmt.Errorf("otelcol wrote %d of %d records in 10 minutes", countToken(outPath, otelRecord), lines)
			}
			time.Sleep(50 * time.Millisecond)
		}
		wall = time.Since(start)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	} else {
		if st != nil {
			// The sink retries without limit: a store that refuses
			// everything would keep the agent running forever.
			timer := time.AfterFunc(10*time.Minute, func() { cmd.Process.Kill() })
			defer timer.Stop()
		}
		if err := cmd.Wait(); err != nil {
			return run{}, "", fmt.Errorf("%v: %s", err, tail(stderr.String()))
		}
		wall = time.Since(start)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if st != nil {
		if err := st.Check(lines, countLines(outPath), countLines(rejectedPath)); err != nil {
			return run{}, "", err
		}
	} else if got := countLines(outPath); got != lines && sc.Program != "otelcol" {
		return run{}, "", fmt.Errorf("wrote %d lines, want %d", got, lines)
	}
	return run{wall: wall, cpu: cpu, rssKiB: peakRSS(ru.Maxrss, hwm())}, "", nil
}

// watchHWM polls the child's own peak RSS (VmHWM in /proc/PID/status)
// until it exits, and returns a function that gives the last value read.
//
// The rusage of a child is not enough: at exec, Linux folds the peak RSS of
// the address space the child leaves (this process's, shared by the
// vfork-style clone Go uses) into the child's ru_maxrss. A bench process
// that grew (the test store runs in it) would then be reported as the
// child's peak. VmHWM belongs to the child's own address space.
func watchHWM(pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			b, err := os.ReadFile(path)
			if err != nil {
				return // exited (or not Linux)
			}
			i := bytes.Index(b, []byte("VmHWM:"))
			if i < 0 {
				return // a zombie: the address space is gone
			}
			var kib int64
			fmt.Sscanf(string(b[i+len("VmHWM:"):]), "%d", &kib)
			mu.Lock()
			peak = max(peak, kib)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() int64 {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// peakRSS prefers the child's own VmHWM, polled; ru_maxrss (which may
// include this process's peak, see watchHWM) bounds it from above and
// stands in when the child ran too briefly to be read.
func peakRSS(maxrss, hwm int64) int64 {
	if hwm == 0 || hwm > maxrss {
		return maxrss
	}
	return hwm
}

// benchStore is the test Octostore (e2e/store) served from this process on
// a throwaway PostgreSQL cluster. Its CPU is this process's, not the
// agent's: the figures count only the octoagent child.
type benchStore struct {
	URL   string
	token string
	pg    *store.Postgres
	srv   *store.Server
	http  *http.Server
	db    *pgx.Conn
	// deadLetters is the first run's count: the input is the same for
	// every run, so every run must dead-letter as many lines.
	deadLetters int
	stopOnce    sync.Once
}

// startStore starts PostgreSQL and the store on a free localhost port.
func startStore() (*benchStore, error) {
	pg, err := store.StartPostgres()
	if err != nil {
		return nil, err
	}
	st := &benchStore{pg: pg, token: "bench-token-not-a-secret", deadLetters: -1}
	atExit(st.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if st.srv, err = store.New(ctx, pg.DSN(), store.Faults{Token: st.token}); err != nil {
		st.Stop()
		return nil, fmt.Errorf("connect the test store to PostgreSQL: %w", err)
	}
	if st.db, err = pgx.Connect(ctx, pg.DSN()); err != nil {
		st.Stop()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Stop()
		return nil, err
	}
	st.URL = "http://" + ln.Addr().String()
	st.http = &http.Server{Handler: st.srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := st.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bench: test store:", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "test store on %s (PostgreSQL in %s)\n", st.URL, pg.Dir)
	return st, nil
}

// Reset empties the store.
func (st *benchStore) Reset() error {
	_, err := st.db.Exec(context.Background(), "TRUNCATE records")
	return err
}

// Check fails unless the store holds exactly one record per input line
// that was not dead-lettered, each delivered once, and the store rejected
// nothing.
func (st *benchStore) Check(lines, deadLetters, rejected int) error {
	records, deliveries, err := store.Count(context.Background(), st.db)
	if err != nil {
		return fmt.Errorf("count the store's records: %w", err)
	}
	switch {
	case rejected != 0:
		return fmt.Errorf("the store rejected %d records", rejected)
	case deadLetters > lines/100:
		// e2e/gen writes about 0.1% malformed lines: far more dead letters
		// means the rules are broken.
		return fmt.Errorf("%d of %d lines were dead-lettered (more than 1%%)", deadLetters, lines)
	case st.deadLetters >= 0 && deadLetters != st.deadLetters:
		return fmt.Errorf("%d lines were dead-lettered, %d in the first run of the same input", deadLetters, st.deadLetters)
	case records != int64(lines-deadLetters):
		return fmt.Errorf("the store holds %d records, want %d (%d lines - %d dead letters)", records, lines-deadLetters, lines, deadLetters)
	case deliveries != records:
		return fmt.Errorf("the store received %d duplicate deliveries", deliveries-records)
	}
	st.deadLetters = deadLetters
	fmt.Fprintf(os.Stderr, "  the store holds %d records; %d dead letters\n", records, deadLetters)
	return nil
}

// Stop stops the store and removes the PostgreSQL cluster.
func (st *benchStore) Stop() {
	st.stopOnce.Do(func() {
		if st.http != nil {
			st.http.Close()
		}
		if st.db != nil {
			st.db.Close(context.Background())
		}
		if st.srv != nil {
			st.srv.Close()
		}
		if err := st.pg.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stop PostgreSQL:", err)
		}
	})
}

var (
	exitMu    sync.Mutex
	exitFuncs []func()
)

// atExit registers f to run before the bench exits (PostgreSQL must not
// outlive it).
func atExit(f func()) {
	exitMu.Lock()
	exitFuncs = append(exitFuncs, f)
	exitMu.Unlock()
}

// exit runs the atExit functions, then exits.
func exit(code int) {
	exitMu.Lock()
	fs := exitFuncs
	exitFuncs = nil
	exitMu.Unlock()
	for _, f := range fs {
		f()
	}
	os.Exit(code)
}

// stopOnSignal cleans up on SIGINT/SIGTERM.
func stopOnSignal() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-c
		fmt.Fprintln(os.Stderr, "bench:", s)
		exit(1)
	}()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

var otelRecord = []byte(`"observedTimeUnixNano"`)

func countLines(path string) int { return countToken(path, []byte{'\n'}) }

// countToken counts the occurrences of tok in a file (tok never spans two
// reads here: it is searched in a window that keeps the previous read's
// tail).
func countToken(path string, tok []byte) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	keep := len(tok) - 1
	buf := make([]byte, keep+1<<20)
	have := 0
	for {
		k, err := f.Read(buf[have:])
		n += bytes.Count(buf[:have+k], tok)
		if have+k > keep {
			copy(buf, buf[have+k-keep:have+k])
			have = keep
			// a token wholly inside the kept tail was counted already: the
			// tail is shorter than the token, so it cannot hold one
		}
		if err == io.EOF || err != nil {
			return n
		}
	}
}

func median(rs []run, f func(run) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func printTable(w io.Writer, rs []Result) {
	byName := map[string]Result{}
	for _, r := range rs {
		byName[r.Scenario] = r
	}
	fmt.Fprintf(w, "\n| scenario | program | CPU µs/line | lines/s | wall s | CPU s | peak RSS MiB |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.Skipped != "" {
			fmt.Fprintf(w, "| %s | %s | skipped: %s | | | | |\n", r.Scenario, r.Program, r.Skipped)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.2f | %.0f | %.2f | %.2f | %.1f |\n", r.Scenario, r.Program, r.CPUUsLine, r.LinesPerSec, r.WallSec, r.CPUSec, r.PeakRSSMiB)
	}
	fmt.Fprintln(w)
	ratio := func(a, b string) {
		ra, okA := byName[a]
		rb, okB := byName[b]
		if !okA || !okB || ra.Skipped != "" || rb.Skipped != "" || ra.CPUUsLine == 0 {
			return
		}
		fmt.Fprintf(w, "- %s uses %.2f× the CPU per line of %s (%.2f vs %.2f µs)\n", b, rb.CPUUsLine/ra.CPUUsLine, a, rb.CPUUsLine, ra.CPUUsLine)
	}
	ratio("nginx_regex", "peer_otelcol_regex")
	ratio("nginx_split", "peer_mawk_split")
	ratio("nginx_regex", "nginx_octostore")
	ratio("nginx_regex", "nginx_replay")
	if a, b := byName["nginx_regex"], byName["nginx_replay"]; a.Skipped == "" && b.Skipped == "" && a.CPUUsLine > 0 && b.CPUUsLine > 0 {
		verdict := "met"
		if b.CPUUsLine/a.CPUUsLine > 1.5 {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "- target replayed records per CPU-second within 1.5× of the first read (nginx_replay vs nginx_regex): %.0f vs %.0f (%.2f×), %s\n",
			1e6/b.CPUUsLine, 1e6/a.CPUUsLine, b.CPUUsLine/a.CPUUsLine, verdict)
	}
	ratio("otlp_rules", "peer_otelcol_otlp")
	if r, ok := byName["nginx_octostore"]; ok && r.Skipped == "" {
		fmt.Fprintf(w, "- nginx_octostore: records go to the test Octostore (e2e/store, in the bench process) over HTTP on localhost, into PostgreSQL on the same machine; CPU and RSS are octoagent's alone (the child's rusage and VmHWM): the store's and PostgreSQL's CPU is not counted, but wall time and lines/s include waiting for them\n")
	}
	const fluentBit = 6.85 // µs/line, issue #10's reference on this machine kind
	if r, ok := byName["nginx_regex"]; ok && r.Skipped == "" && r.CPUUsLine > 0 {
		fmt.Fprintf(w, "- Fluent Bit 4.2 (the issue's reference, regex, %.2f µs/line) uses %.2f× the CPU per line of nginx_regex\n", fluentBit, fluentBit/r.CPUUsLine)
	}
	target := func(name, what string, bound float64, got func(Result) float64, unit string) {
		r, ok := byName[name]
		if !ok || r.Skipped != "" {
			return
		}
		verdict := "met"
		if got(r) > bound {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "- target %s ≤ %g %s: %.2f, %s\n", what, bound, unit, got(r), verdict)
	}
	cpu := func(r Result) float64 { return r.CPUUsLine }
	target("nginx_regex", "regex CPU", 2.0, cpu, "µs/line")
	if r, ok := byName["nginx_regex"]; ok && r.Skipped == "" {
		verdict := "met"
		if r.LinesPerSec < 500000 {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "- target regex throughput ≥ 500,000 lines/s (both cores): %.0f, %s\n", r.LinesPerSec, verdict)
	}
	target("nginx_regex", "regex peak RSS", 32, func(r Result) float64 { return r.PeakRSSMiB }, "MiB")
	target("nginx_split", "split CPU", 1.0, cpu, "µs/line")
	target("passthrough", "passthrough CPU", 0.6, cpu, "µs/line")
	if a, ok := byName["otlp_rules"]; ok && a.Skipped == "" {
		if c, ok := byName["peer_otelcol_otlp"]; ok && c.Skipped == "" && c.CPUUsLine > 0 {
			verdict := "met"
			if a.CPUUsLine > c.CPUUsLine/2 {
				verdict = "NOT met"
			}
			fmt.Fprintf(w, "- target OTLP in → rules → OTLP out CPU ≤ half the Collector's otlp → otlp: %.2f vs %.2f µs/record (%.2f×), %s; peak RSS %.1f vs %.1f MiB\n",
				a.CPUUsLine, c.CPUUsLine, a.CPUUsLine/c.CPUUsLine, verdict, a.PeakRSSMiB, c.PeakRSSMiB)
		}
	}
	off, okOff := byName["k8s_logs_meta_off"]
	on, okOn := byName["k8s_logs_meta_on"]
	if okOff && okOn && off.Skipped == "" && on.Skipped == "" && off.CPUUsLine > 0 {
		fmt.Fprintf(w, "- kubernetes_logs: %.0f records per CPU-second with pod metadata off, %.0f with it on (%d files tailed, %d pods known)\n",
			1e6/off.CPUUsLine, 1e6/on.CPUUsLine, benchPodsTailed, benchPodsKnown)
		overhead := (on.CPUUsLine - off.CPUUsLine) / off.CPUUsLine * 100
		verdict := "met"
		if overhead > 10 {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "- target pod metadata CPU cost ≤ 10%%: %+.1f%%, %s\n", overhead, verdict)
		rss := on.PeakRSSMiB - off.PeakRSSMiB
		verdict = "met"
		if rss > 15 {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "- target pod metadata memory ≤ 15 MiB per 1,000 pods: %+.1f MiB peak RSS (on %.1f, off %.1f), %s\n", rss, on.PeakRSSMiB, off.PeakRSSMiB, verdict)
	}
	fmt.Fprintf(w, "- machine: %s\n", rs[0].Machine)
}

// k8sEnv is the environment of the kubernetes_logs scenarios.
var k8sEnv []string

func setupK8s(input, work string) error {
	dir, err := podsDir(input, work)
	if err != nil {
		return err
	}
	api, err := startBenchAPI()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(work)
	if err != nil {
		return err
	}
	kc, err := api.kubeconfig(abs)
	if err != nil {
		return err
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	k8sEnv = []string{"BENCH_PODS_DIR=" + d, "BENCH_KUBECONFIG=" + kc, "NODE_NAME=" + benchNode}
	return nil
}

func machineInfo() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%d cores, %s, %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// otelcolPath is where e2e/bench/peers/build.sh builds the Collector (a
// directory named after its builder config's hash).
func otelcolPath() string {
	dir := strings.TrimSpace(output("e2e/bench/peers/build.sh", "--print-dir"))
	if dir == "" {
		return "otelcol-bench (e2e/bench/peers/build.sh --print-dir failed: run the bench from the repository's root)"
	}
	return filepath.Join(dir, "otelcol-bench")
}

func output(name string, args ...string) string {
	b, _ := exec.Command(name, args...).Output()
	return string(b)
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		exit(1)
	}
}
