package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/testenv"
	"github.com/octostore/agent/internal/testfig"
)

// The plugin inside a real Fluent Bit (4.2.8, e2e/setup.sh unpacks it),
// with its defaults (Workers unset: the flush runs on Fluent Bit's engine
// thread). Two inputs: a tailed file into out_octostore, and a heartbeat
// (dummy) into Fluent Bit's own file output and into a second
// out_octostore instance. With the store down for 20 s,
// the heartbeat output must keep receiving (the plugin's flush does not
// block the engine), Fluent Bit must exit within 10 s on SIGTERM, and a
// restart with the store up must deliver every line.

// fbReceiver is the store: an HTTP endpoint for sink "http" (ndjson) that
// answers 503 while down and counts what it takes, by id and by line.
type fbReceiver struct {
	mu       sync.Mutex
	down     bool
	byID     map[string]int
	byLine   map[string]int
	requests int
	refused  int
	beats    int
}

func newFBReceiver(t *testing.T) (*fbReceiver, *httptest.Server) {
	r := &fbReceiver{byID: map[string]int{}, byLine: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests++
		if r.down {
			r.refused++
			r.mu.Unlock()
			http.Error(w, "store down", http.StatusServiceUnavailable)
			return
		}
		r.mu.Unlock()
		var recs []agent.WireRecord
		sc := bufio.NewScanner(req.Body)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var rec agent.WireRecord
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			recs = append(recs, rec)
		}
		r.mu.Lock()
		for _, rec := range recs {
			line, _ := rec.Fields["log"].(string)
			if !strings.HasPrefix(line, "line ") {
				r.beats++ // the heartbeat, through the second instance
				continue
			}
			r.byID[rec.ID]++
			r.byLine[line]++
		}
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *fbReceiver) setDown(d bool) { r.mu.Lock(); r.down = d; r.mu.Unlock() }

// counts: distinct lines, deliveries of an id already delivered, lines
// stored under more than one id.
func (r *fbReceiver) counts() (lines, dupIDs, dupLines int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.byID {
		dupIDs += n - 1
	}
	for _, n := range r.byLine {
		dupLines += n - 1
	}
	return len(r.byLine), dupIDs, dupLines
}

func (r *fbReceiver) has(line string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byLine[line] > 0
}

// fluentBit is a running Fluent Bit.
type fluentBit struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func startFluentBit(t *testing.T, bin, so, conf string) *fluentBit {
	t.Helper()
	fb := &fluentBit{out: &syncBuffer{}, done: make(chan struct{})}
	fb.cmd = exec.Command(bin, "-e", so, "-c", conf)
	fb.cmd.Stdout, fb.cmd.Stderr = fb.out, fb.out
	fb.cmd.Env = append(os.Environ(), "NODE_NAME=fbtest")
	if err := fb.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = fb.cmd.Wait(); close(fb.done) }()
	t.Cleanup(func() {
		select {
		case <-fb.done:
		default:
			_ = fb.cmd.Process.Kill()
			<-fb.done
		}
		if t.Failed() {
			t.Logf("fluent-bit output:\n%s", tail(fb.out.String(), 6000))
		}
	})
	return fb
}

// stop sends SIGTERM and returns how long Fluent Bit took to exit.
func (fb *fluentBit) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	_ = fb.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-fb.done:
	case <-time.After(5 * time.Minute):
		_ = fb.cmd.Process.Kill()
		<-fb.done
		t.Fatalf("fluent-bit did not exit within 5 minutes of SIGTERM")
	}
	return time.Since(start)
}

// growthGaps watches a file's size and records when it grew.
type growthGaps struct {
	mu    sync.Mutex
	times []time.Time
	stop  chan struct{}
	done  chan struct{}
}

func watchGrowth(path string) *growthGaps {
	g := &growthGaps{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		var last int64 = -1
		for {
			select {
			case <-g.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			st, err := os.Stat(path)
			if err != nil || st.Size() == last {
				continue
			}
			last = st.Size()
			g.mu.Lock()
			g.times = append(g.times, time.Now())
			g.mu.Unlock()
		}
	}()
	return g
}

// maxGap is the longest time without growth between from and to, and the
// number of times it grew in between.
func (g *growthGaps) maxGap(from, to time.Time) (time.Duration, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev, n := from, 0
	var gap time.Duration
	for _, ts := range g.times {
		if ts.Before(from) || ts.After(to) {
			continue
		}
		gap = max(gap, ts.Sub(prev))
		prev = ts
		n++
	}
	return max(gap, to.Sub(prev)), n
}

func TestFluentBitRealStoreDown(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a 20 s outage")
	}
	bin := testenv.Path(t, "fluent-bit")
	dir := t.TempDir()
	so := buildPlugin(t, dir)
	store, srv := newFBReceiver(t)

	appLog := filepath.Join(dir, "app.log")
	writeFile(t, appLog, "")
	hcl := filepath.Join(dir, "octostore.hcl")
	writeFile(t, hcl, fmt.Sprintf(`transform "app" {
  inputs = [source.fluentbit.input]
}

sink "http" "store" {
  inputs                = [transform.app]
  url                   = %s
  compression           = "none"
  batch_max_wait        = "100ms"
  retry_initial_backoff = "100ms"
  retry_max_backoff     = "1s"
}
`, hclString(srv.URL+"/ingest")))
	conf := filepath.Join(dir, "fluent-bit.conf")
	// Defaults everywhere it matters: no Workers, no Retry_Limit, no
	// storage; the plugin's buffer in a directory of the test's.
	writeFile(t, conf, fmt.Sprintf(`[SERVICE]
    Flush     1
    Grace     5
    Log_Level info

[INPUT]
    Name             tail
    Path             %[1]s/app.log
    Tag              app
    Read_from_Head   true
    DB               %[1]s/tail.db
    Refresh_Interval 1

[INPUT]
    Name  dummy
    Tag   hb
    Rate  20
    Dummy {"hb":"beat"}

[OUTPUT]
    Name        octostore
    Match       app
    Config      %[1]s/octostore.hcl
    Transform   app
    Buffer_Path %[1]s/buf

[OUTPUT]
    Name        octostore
    Match       hb
    Config      %[1]s/octostore.hcl
    Transform   app
    Instance    beats
    Buffer_Path %[1]s/buf-beats

[OUTPUT]
    Name  file
    Match hb
    Path  %[1]s
    File  hb.out
`, dir))

	// The application writes 100 lines a second until told to stop.
	f, err := os.OpenFile(appLog, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stopWriting := make(chan struct{})
	written := make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWriting:
				written <- n
				return
			case <-tick.C:
			}
			var b strings.Builder
			for i := 0; i < 5; i++ {
				n++
				fmt.Fprintf(&b, "line %06d\n", n)
			}
			if _, err := f.WriteString(b.String()); err != nil {
				written <- n
				return
			}
		}
	}()
	gaps := watchGrowth(filepath.Join(dir, "hb.out"))
	defer func() { close(gaps.stop); <-gaps.done }()

	fb := startFluentBit(t, bin, so, conf)
	waitFor(t, 2*time.Minute, "the first lines stored", func() bool { return store.has("line 000001") })

	// The store goes down for 20 s.
	store.setDown(true)
	downAt := time.Now()
	time.Sleep(20 * time.Second)
	upAt := time.Now()
	gap, beats := gaps.maxGap(downAt, upAt)
	store.mu.Lock()
	refused := store.refused
	store.mu.Unlock()
	if refused == 0 {
		t.Fatal("the store refused nothing while down: the plugin did not try it")
	}
	// Fluent Bit flushes its outputs every second; a flush that waited on
	// the store stalled them for 5-30 s.
	if gap > 5*time.Second {
		t.Errorf("the other output stopped receiving for %v while the store was down (Flush 1): the plugin blocks Fluent Bit", gap)
	}

	// SIGTERM with the store still down: Fluent Bit exits within 10 s.
	close(stopWriting)
	total := <-written
	exitTook := fb.stop(t)
	if exitTook > 10*time.Second {
		t.Errorf("fluent-bit took %v to exit with the store down; Kubernetes gives 30 s, the bound is 10 s", exitTook)
	}
	out := fb.out.String()
	if !strings.Contains(out, "instance=app") || !strings.Contains(out, "instance=beats") {
		t.Errorf("the plugin's log lines do not name the instance:\n%s", tail(out, 3000))
	}
	if !strings.Contains(out, "left in the disk buffer for the next start") {
		t.Errorf("exit did not say what it left for the next start:\n%s", tail(out, 3000))
	}
	storedBefore, _, _ := store.counts()

	// Restart with the store up: every line is delivered.
	store.setDown(false)
	fb2 := startFluentBit(t, bin, so, conf)
	waitFor(t, 3*time.Minute, fmt.Sprintf("all %d lines stored after the restart", total), func() bool {
		n, _, _ := store.counts()
		return n >= total
	})
	restartExit := fb2.stop(t)
	lines, dupIDs, dupLines := store.counts()
	if lines != total {
		t.Errorf("%d distinct lines stored, %d written", lines, total)
	}
	for i := 1; i <= total; i++ {
		if !store.has(fmt.Sprintf("line %06d", i)) {
			t.Fatalf("line %d lost", i)
		}
	}
	if dupLines > dupIDs {
		t.Errorf("%d lines stored under more than one id (%d deliveries of the same id): a replay changed ids", dupLines, dupIDs)
	}
	testfig.Report(t, "fluent-bit=4.2.8 store_down=20s heartbeat_max_gap_ms=%d heartbeat_growths=%d sigterm_exit_ms=%d lines=%d stored_before_restart=%d lost=%d duplicate_deliveries_same_id=%d lines_under_two_ids=%d restart_exit_ms=%d",
		gap.Milliseconds(), beats, exitTook.Milliseconds(), total, storedBefore, total-lines, dupIDs, dupLines, restartExit.Milliseconds())
}
