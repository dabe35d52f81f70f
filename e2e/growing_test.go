package e2e

import (
	"bytes"
	"fmt"
	"github.com/octostore/agent/internal/testfig"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

// The growing-file scenario: a writer appends numbered lines to app.log
// while the agent tails it into out.jsonl; the agent is stopped by a signal
// in the middle, the writer finishes, and a `run --once` on the same data
// dir reads the rest.
const (
	growLines     = 20000                // lines the writer appends in all
	growBurst     = 40                   // lines per write
	growPause     = 5 * time.Millisecond // between writes: about 3 s in all
	growSignalAt  = 2000                 // signal once out.jsonl has more lines than this
	writerTimeout = 120 * time.Second    // for the writer to finish (it takes about 3 s)
	growPadding   = "abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789"
	growPrefix    = "line "
	growIDDigits  = 6
	growTickEvery = 100 * time.Millisecond // checkpoint_interval
)

// growLine is the text of line n (1-based), without its newline.
func growLine(n int) string {
	return fmt.Sprintf("%s%0*d %s", growPrefix, growIDDigits, n, growPadding)
}

// parseGrowLine returns n if s is exactly growLine(n) for some n in
// 1..growLines.
func parseGrowLine(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, growPrefix)
	if !ok || len(rest) < growIDDigits {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:growIDDigits])
	if err != nil || n < 1 || n > growLines || s != growLine(n) {
		return 0, false
	}
	return n, true
}

// lineWriter appends growLines numbered lines to a file, in bursts.
type lineWriter struct {
	written atomic.Int64
	stop    chan struct{}
	done    chan struct{}
	err     error
}

func startLineWriter(t testing.TB, path string) *lineWriter {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := &lineWriter{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer f.Close()
		var buf []byte
		for n := 1; n <= growLines; {
			buf = buf[:0]
			for i := 0; i < growBurst && n <= growLines; i++ {
				buf = append(buf, growLine(n)...)
				buf = append(buf, '\n')
				n++
			}
			if _, err := f.Write(buf); err != nil {
				w.err = err
				return
			}
			w.written.Store(int64(n - 1))
			select {
			case <-w.stop:
				return
			case <-time.After(growPause):
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			close(w.stop)
			<-w.done
		}
	})
	return w
}

// wait waits for the writer to write every line.
func (w *lineWriter) wait(t testing.TB) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(writerTimeout):
		t.Fatalf("the writer did not finish within %v (%d lines written)", writerTimeout, w.written.Load())
	}
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	if n := w.written.Load(); n != growLines {
		t.Fatalf("the writer wrote %d lines, want %d", n, growLines)
	}
}

// growSetup is the scenario's files and config.
type growSetup struct {
	dir, config, log, out, data string
}

func newGrowSetup(t testing.TB) *growSetup {
	t.Helper()
	dir := t.TempDir()
	s := &growSetup{
		dir:    dir,
		config: filepath.Join(dir, "agent.hcl"),
		log:    filepath.Join(dir, "app.log"),
		out:    filepath.Join(dir, "out.jsonl"),
		data:   filepath.Join(dir, "data"),
	}
	writeFile(t, s.config, fmt.Sprintf(`agent {
  data_dir            = %s
  http_addr           = "127.0.0.1:0"
  shutdown_timeout    = "10s"
  checkpoint_interval = %q
}

source "file" "app" {
  paths         = [%s]
  poll_interval = "20ms"
}

sink "file" "out" {
  inputs = [source.file.app]
  path   = %s
}
`, hclString(s.data), growTickEvery.String(), hclString(s.log), hclString(s.out)))
	// The file exists before the agent starts, so its first scan finds it.
	writeFile(t, s.log, "")
	return s
}

// growResult is what one scenario run delivered.
type growResult struct {
	*delivery
	writtenAtSignal int64
	run1, run2      int // records in out.jsonl after each run
	tornBytes       int // bytes of a partial last line cut after SIGKILL
}

// delivery sums up the records of out.jsonl against the lines written.
type delivery struct {
	records      int
	counts       map[int]int             // line number -> deliveries
	idsOfLine    map[int]map[string]bool // line number -> distinct ids
	linesOfID    map[string]map[int]bool // id -> distinct line numbers
	idDeliveries map[string]int          // id -> deliveries
	foreign      []string                // messages that are no written line
	badIDs       []string                // ids that are not 32 hex characters
	badKinds     []string                // kinds other than raw
}

func analyzeDelivery(recs []agent.WireRecord) *delivery {
	d := &delivery{
		records:      len(recs),
		counts:       map[int]int{},
		idsOfLine:    map[int]map[string]bool{},
		linesOfID:    map[string]map[int]bool{},
		idDeliveries: map[string]int{},
	}
	for _, r := range recs {
		msg, _ := r.Fields["message"].(string)
		n, ok := parseGrowLine(msg)
		if !ok {
			d.foreign = append(d.foreign, msg)
			continue
		}
		if !idRe.MatchString(r.ID) {
			d.badIDs = append(d.badIDs, r.ID)
		}
		if r.Kind != "raw" {
			d.badKinds = append(d.badKinds, r.Kind)
		}
		d.counts[n]++
		if d.idsOfLine[n] == nil {
			d.idsOfLine[n] = map[string]bool{}
		}
		d.idsOfLine[n][r.ID] = true
		if d.linesOfID[r.ID] == nil {
			d.linesOfID[r.ID] = map[int]bool{}
		}
		d.linesOfID[r.ID][n] = true
		d.idDeliveries[r.ID]++
	}
	return d
}

// duplicates returns the extra deliveries and the lines delivered more
// than once.
func (d *delivery) duplicates() (deliveries, lines int) {
	for _, c := range d.counts {
		if c > 1 {
			deliveries += c - 1
			lines++
		}
	}
	return
}

// lost returns how many of lines 1..total were never delivered, and the
// first few of them.
func (d *delivery) lost(total int) (n int, first []int) {
	for i := 1; i <= total; i++ {
		if d.counts[i] == 0 {
			n++
			if len(first) < 10 {
				first = append(first, i)
			}
		}
	}
	return
}

// checkNoLoss checks what holds after any stop: every one of lines
// 1..total was delivered, nothing else was, and no id names two lines.
func (d *delivery) checkNoLoss(t testing.TB, total int) {
	t.Helper()
	if len(d.foreign) > 0 {
		t.Errorf("%d records carry no written line, such as %q", len(d.foreign), d.foreign[0])
	}
	if len(d.badIDs) > 0 {
		t.Errorf("%d ids are not 32 hex characters, such as %q", len(d.badIDs), d.badIDs[0])
	}
	if len(d.badKinds) > 0 {
		t.Errorf("%d records have a kind other than raw, such as %q", len(d.badKinds), d.badKinds[0])
	}
	if n, first := d.lost(total); n > 0 {
		t.Errorf("%d written lines were never delivered, such as lines %v", n, first)
	}
	for id, ls := range d.linesOfID {
		if len(ls) > 1 {
			t.Errorf("id %s was given to %d different lines", id, len(ls))
		}
	}
}

// checkExactlyOnce checks that no line and no id was delivered twice.
func (d *delivery) checkExactlyOnce(t testing.TB) {
	t.Helper()
	if dupDeliveries, dupLines := d.duplicates(); dupDeliveries != 0 {
		var some []int
		for n, c := range d.counts {
			if c > 1 && len(some) < 10 {
				some = append(some, n)
			}
		}
		slices.Sort(some)
		t.Errorf("%d lines were delivered more than once (%d extra deliveries), such as lines %v", dupLines, dupDeliveries, some)
	}
	dupIDs := 0
	for _, c := range d.idDeliveries {
		if c > 1 {
			dupIDs++
		}
	}
	if dupIDs > 0 {
		t.Errorf("%d ids were delivered more than once", dupIDs)
	}
}

// runGrowScenario runs the agent on a growing file, stops it with sig once
// it delivered more than growSignalAt lines, lets the writer finish, runs
// the agent again with --once on the same data dir and out file, and reads
// what out.jsonl holds.
func runGrowScenario(t *testing.T, sig syscall.Signal) *growResult {
	agentBinary(t) // built before the clock starts
	s := newGrowSetup(t)
	start := time.Now()
	w := startLineWriter(t, s.log)
	p := startAgent(t, s.dir, "run", "-c", s.config)

	waitFor(t, startDeadline, fmt.Sprintf("more than %d lines in out.jsonl", growSignalAt), func() bool {
		if p.Exited() {
			t.Fatalf("octoagent exited before the signal; stderr:\n%s", tail(p.Stderr.String(), 8000))
		}
		return countLines(t, s.out) > growSignalAt
	})
	res := &growResult{writtenAtSignal: w.written.Load()}
	signalled := time.Now()
	p.Signal(t, sig)
	code := p.WaitExit(t, exitDeadline)
	exited := time.Now()
	switch sig {
	case syscall.SIGKILL:
		if got, ok := p.Signaled(); !ok || got != syscall.SIGKILL {
			t.Fatalf("after SIGKILL: exit code %d, signaled=%v (%v); want killed by SIGKILL", code, ok, got)
		}
	default:
		if code != 0 {
			t.Fatalf("after %v: exit code %d, want 0; stderr:\n%s", sig, code, tail(p.Stderr.String(), 8000))
		}
	}

	w.wait(t)
	written := time.Now()
	if sig == syscall.SIGKILL {
		res.tornBytes = cutPartialLine(t, s.out)
	}
	res.run1 = countLines(t, s.out)

	code, _, stderr := runAgent(t, s.dir, "run", "--once", "-c", s.config, "--http-addr", "off")
	if code != 0 {
		t.Fatalf("run --once after %v exited with %d; stderr:\n%s", sig, code, stderr)
	}
	t.Logf("timings: signal after %v, exit %v after it; writer done %v after start; run --once took %v",
		signalled.Sub(start).Round(time.Millisecond), exited.Sub(signalled).Round(time.Millisecond),
		written.Sub(start).Round(time.Millisecond), time.Since(written).Round(time.Millisecond))
	recs := readJSONLines(t, s.out)
	res.run2 = len(recs) - res.run1
	res.delivery = analyzeDelivery(recs)
	dupDeliveries, dupLines := res.duplicates()
	lost, _ := res.lost(growLines)
	testfig.Report(t, "%v: lines written: %d (%d when signalled); delivered in run 1: %d, in run 2: %d; duplicates: %d deliveries of %d lines; lost: %d; torn tail cut: %d bytes",
		sig, growLines, res.writtenAtSignal, res.run1, res.run2, dupDeliveries, dupLines, lost, res.tornBytes)
	res.checkNoLoss(t, growLines)
	t.Logf("analysis took %v", time.Since(written))
	return res
}

// cutPartialLine removes a last line without its newline (a write cut
// short by SIGKILL) and returns how many bytes it removed. The records in
// it were not acknowledged, so the next run delivers them again.
func cutPartialLine(t testing.TB, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keep := bytes.LastIndexByte(data, '\n') + 1
	if keep == len(data) {
		return 0
	}
	if err := os.Truncate(path, int64(keep)); err != nil {
		t.Fatal(err)
	}
	return len(data) - keep
}

// TestSigtermGrowingFileExactlyOnce: SIGTERM drains what was read and saves
// the checkpoint, so a restart continues exactly where delivery stopped:
// every line is delivered exactly once, under exactly one id.
func TestSigtermGrowingFileExactlyOnce(t *testing.T) {
	res := runGrowScenario(t, syscall.SIGTERM)
	if res.run1 <= growSignalAt {
		t.Errorf("run 1 delivered %d lines, want more than %d", res.run1, growSignalAt)
	}
	res.checkExactlyOnce(t)
}

// TestSigkillGrowingFileNoLoss: after SIGKILL nothing is drained and the
// last checkpoint may lag behind delivery, so a restart may deliver some
// lines again (the file sink is not transactional), but it loses none, and
// a line delivered twice has the same id both times, so the store can drop
// the duplicate.
func TestSigkillGrowingFileNoLoss(t *testing.T) {
	res := runGrowScenario(t, syscall.SIGKILL)
	_, dupLines := res.duplicates()
	testfig.Report(t, "lines delivered more than once after SIGKILL: %d", dupLines)
	for n, ids := range res.idsOfLine {
		if len(ids) != 1 {
			t.Errorf("line %d was delivered under %d distinct ids, want 1", n, len(ids))
		}
	}
}
