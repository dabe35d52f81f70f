package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/internal/testfig"
)

// The tail scenarios: a writer appends numbered lines to app.log and
// rotates it, by rename (app.log -> app.log.N) and by copytruncate (a copy
// app.log.N.copy, then app.log truncated), while the agent is killed or
// stopped. The source reads "app.log*", so rotated files and copies are
// followed too.

const tailPad = "0123456789abcdefghijklmnopqrstuvwxyz"

func tailLine(n int) string { return fmt.Sprintf("tail %07d %s", n, tailPad) }

func parseTailLine(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, "tail ")
	if !ok || len(rest) < 7 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:7])
	if err != nil || s != tailLine(n) {
		return 0, false
	}
	return n, true
}

type tailSetup struct {
	dir, config, log, out, data string
}

func newTailSetup(t *testing.T, checkpointInterval string) *tailSetup {
	t.Helper()
	dir := t.TempDir()
	s := &tailSetup{dir: dir, config: filepath.Join(dir, "agent.hcl"), log: filepath.Join(dir, "logs", "app.log"),
		out: filepath.Join(dir, "out.jsonl"), data: filepath.Join(dir, "data")}
	if err := os.MkdirAll(filepath.Dir(s.log), 0o755); err != nil {
		t.Fatal(err)
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
  rotate_wait   = "1s"
}

sink "file" "out" {
  inputs = [source.file.app]
  path   = %s
}
`, hclString(s.data), checkpointInterval, hclString(s.log+"*"), hclString(s.out)))
	return s
}

// rotatingWriter appends numbered lines and rotates every `every` lines,
// alternating rename and copytruncate.
type rotatingWriter struct {
	path      string
	f         *os.File
	n         int
	rotations int
	renames   int
	copies    int
}

func newRotatingWriter(t *testing.T, path string) *rotatingWriter {
	t.Helper()
	w := &rotatingWriter{path: path}
	w.reopen(t)
	return w
}

func (w *rotatingWriter) reopen(t testing.TB) {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w.f = f
}

func (w *rotatingWriter) write(t testing.TB, lines int) {
	var b []byte
	for i := 0; i < lines; i++ {
		w.n++
		b = append(append(b, tailLine(w.n)...), '\n')
	}
	if _, err := w.f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (w *rotatingWriter) rotate(t testing.TB) {
	w.rotations++
	if w.rotations%2 == 1 {
		w.renames++
		if err := os.Rename(w.path, fmt.Sprintf("%s.%d", w.path, w.rotations)); err != nil {
			t.Fatal(err)
		}
		w.write(t, 3) // the writer has not reopened yet
		w.f.Close()
		w.reopen(t)
		return
	}
	w.copies++
	data, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fmt.Sprintf("%s.%d.copy", w.path, w.rotations), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(w.path, 0); err != nil {
		t.Fatal(err)
	}
}

func (w *rotatingWriter) close() { w.f.Close() }

// deliveredLines returns the line numbers of the records in out.jsonl, in
// order. cut removes a torn last line (only while no agent runs); without
// it, a torn last line is just not read.
func deliveredLines(t *testing.T, out string, cut bool) (nums []int, foreign int) {
	t.Helper()
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, 0
	}
	if cut {
		cutPartialLine(t, out)
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	for _, r := range decodeJSONLines(t, data) {
		msg, _ := r.Fields["message"].(string)
		n, ok := parseTailLine(msg)
		if !ok {
			foreign++
			continue
		}
		nums = append(nums, n)
	}
	return nums, foreign
}

func fileLines(path string) int {
	data, _ := os.ReadFile(path)
	return bytes.Count(data, []byte{'\n'})
}

// TestTailSigkillWhileRotating: the built binary tails a file that rotates
// by rename and by copytruncate, and is SIGKILLed at random moments, six
// times, then restarted each time. No line is lost; the lines delivered
// again after each kill are counted, and stay within what was delivered
// after the last checkpoint written before the kill (with ten intervals of
// slack, and measured from the checkpoint file's own write time, so that a
// late ticker or a slow fsync on a loaded machine is no failure). A run
// killed before it committed anything leaves what was at risk at the kill
// before still at risk, and that is added to its bound.
func TestTailSigkillWhileRotating(t *testing.T) {
	agentBinary(t)
	const (
		kills    = 6
		perBurst = 50
		every    = 1500 // lines between rotations
		interval = 100 * time.Millisecond
	)
	s := newTailSetup(t, interval.String())
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	w := newRotatingWriter(t, s.log)
	defer w.close()

	// The writer runs in the test goroutine's loop; the agent is killed at
	// random moments between bursts.
	type sample struct {
		at    time.Time
		count int
	}
	var (
		mu      sync.Mutex
		samples []sample
	)
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		for {
			c := fileLines(s.out)
			mu.Lock()
			samples = append(samples, sample{time.Now(), c})
			mu.Unlock()
			select {
			case <-stopSampler:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	// deliveredSince counts the records written to the output from since
	// to the last sample.
	deliveredSince := func(since time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		first, last := -1, 0
		for _, sm := range samples {
			if sm.at.Before(since) {
				continue
			}
			if first < 0 {
				first = sm.count
			}
			last = sm.count
		}
		return last - max(first, 0)
	}
	deliveredWithin := func(d time.Duration, at time.Time) int { return deliveredSince(at.Add(-d)) }
	// lastCheckpoint is when the checkpoint file was last written (the
	// zero time if it was never written).
	ckptFile := filepath.Join(s.data, "checkpoints", "source.file.app.json")
	lastCheckpoint := func() time.Time {
		st, err := os.Stat(ckptFile)
		if err != nil {
			return time.Time{}
		}
		return st.ModTime()
	}

	// checkpointEntries is the positions the checkpoint file holds, as
	// written ("" if it cannot be read).
	checkpointEntries := func() string {
		data, err := os.ReadFile(ckptFile)
		if err != nil {
			return ""
		}
		var doc struct {
			Entries json.RawMessage `json:"entries"`
		}
		if json.Unmarshal(data, &doc) != nil {
			return ""
		}
		return string(doc.Entries)
	}
	lastEntries := ""

	var bounds, oneInterval []int
	var segments []int // out.jsonl record count at each kill
	p := startAgent(t, s.dir, "run", "-c", s.config)
	for k := 0; k < kills; k++ {
		killAt := time.Now().Add(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		for time.Now().Before(killAt) {
			w.write(t, perBurst)
			if w.n/every > w.rotations {
				w.rotate(t)
			}
			time.Sleep(5 * time.Millisecond)
		}
		killed := time.Now()
		p.Signal(t, syscall.SIGKILL)
		p.WaitExit(t, exitDeadline)
		// What may be delivered again is what was not committed to the
		// last checkpoint written before the kill: the records delivered
		// since a little before that write (the positions it holds were
		// taken just before it), and at least ten intervals' worth. On a
		// loaded machine the checkpoint ticker runs late, and the window
		// grows with it instead of failing the test.
		since := killed.Add(-10 * interval)
		if ck := lastCheckpoint(); ck.Before(since) {
			since = ck.Add(-10 * interval)
		}
		bound := deliveredSince(since)
		// A run killed before it committed anything (the checkpoint's
		// positions are those of the kill before: a run may still write
		// the file at start, unchanged, which moves its time) leaves what
		// was at risk at the kill before still at risk: the next run may
		// deliver it again.
		entries := checkpointEntries()
		if k > 0 && entries != "" && entries == lastEntries {
			bound += bounds[k-1]
		}
		lastEntries = entries
		bounds = append(bounds, bound)
		oneInterval = append(oneInterval, deliveredWithin(interval, killed))
		nums, _ := deliveredLines(t, s.out, true)
		segments = append(segments, len(nums))
		// Rotate once more while it is down, now and then.
		if rng.IntN(2) == 0 {
			w.write(t, perBurst)
			w.rotate(t)
		}
		p = startAgent(t, s.dir, "run", "-c", s.config)
	}
	w.write(t, perBurst)
	total := w.n
	waitFor(t, 2*startDeadline, fmt.Sprintf("all %d lines delivered", total), func() bool {
		nums, _ := deliveredLines(t, s.out, false)
		seen := map[int]bool{}
		for _, n := range nums {
			seen[n] = true
		}
		return len(seen) == total
	})
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	close(stopSampler)
	<-samplerDone

	nums, foreign := deliveredLines(t, s.out, true)
	seen := map[int]int{}
	var perKill []int
	seg := 0
	dupsInSeg := 0
	for i, n := range nums {
		for seg < len(segments) && i >= segments[seg] {
			perKill = append(perKill, dupsInSeg)
			dupsInSeg = 0
			seg++
		}
		if seen[n] > 0 {
			dupsInSeg++
		}
		seen[n]++
	}
	for seg < len(segments) {
		perKill = append(perKill, dupsInSeg)
		dupsInSeg = 0
		seg++
	}
	perKill = append(perKill, dupsInSeg) // after the last restart
	lost := 0
	for n := 1; n <= total; n++ {
		if seen[n] == 0 {
			lost++
		}
	}
	dups := len(nums) - len(seen)
	// perKill[0] counts the first run (no kill before it); perKill[k] the
	// lines delivered again after kill k.
	testfig.Report(t, "kills: %d; lines written: %d (%d rename and %d copytruncate rotations); delivered: %d records, %d distinct lines; lost: %d; foreign: %d; duplicates after each kill: %v (records delivered in the checkpoint interval before each kill: %v; since the last checkpoint written before it, the bound checked: %v); total duplicates: %d",
		kills, total, w.renames, w.copies, len(nums), len(seen), lost, foreign, perKill[1:], oneInterval, bounds, dups)
	if lost != 0 || foreign != 0 {
		t.Fatalf("%d lines lost, %d foreign records", lost, foreign)
	}
	if perKill[0] != 0 {
		t.Errorf("%d duplicates before the first kill", perKill[0])
	}
	for k := 1; k <= kills; k++ {
		if perKill[k] > bounds[k-1] {
			t.Errorf("after kill %d: %d lines delivered again, more than the %d delivered since the last checkpoint written before it", k, perKill[k], bounds[k-1])
		}
	}
}

// TestTailDowntimeRotations: the agent is stopped (SIGTERM) while the file
// rotates three times (rename, copytruncate, rename) with lines written in
// between, then started again: every line arrives exactly once.
func TestTailDowntimeRotations(t *testing.T) {
	agentBinary(t)
	s := newTailSetup(t, "100ms")
	w := newRotatingWriter(t, s.log)
	defer w.close()
	w.write(t, 500)
	p := startAgent(t, s.dir, "run", "-c", s.config)
	waitFor(t, startDeadline, "500 lines delivered", func() bool { return countLines(t, s.out) >= 500 })
	w.write(t, 200) // some of these may be unread when the agent stops
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	before := countLines(t, s.out)
	for i := 0; i < 3; i++ {
		w.rotate(t) // rename, copytruncate, rename
		w.write(t, 300)
	}
	p = startAgent(t, s.dir, "run", "-c", s.config)
	total := w.n
	waitFor(t, startDeadline, fmt.Sprintf("%d lines delivered", total), func() bool { return countLines(t, s.out) >= total })
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	nums, foreign := deliveredLines(t, s.out, true)
	seen := map[int]int{}
	for _, n := range nums {
		seen[n]++
	}
	lost := 0
	for n := 1; n <= total; n++ {
		if seen[n] == 0 {
			lost++
		}
	}
	dups := len(nums) - len(seen)
	testfig.Report(t, "lines written: %d (%d before the stop, 3 rotations while stopped: %d rename, %d copytruncate); delivered: %d (%d before the stop); lost: %d; duplicates: %d; foreign: %d",
		total, 700, w.renames, w.copies, len(nums), before, lost, dups, foreign)
	if lost != 0 || dups != 0 || foreign != 0 {
		t.Fatalf("lost %d, duplicates %d, foreign %d", lost, dups, foreign)
	}
}
