package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testfig"
)

// TestSoak (make soak; not in make test): the agent tails a file that
// rotates every 10 s (by rename and by copytruncate, in turn) into the test
// store, through a disk buffer, while the store fails 10% of its requests
// and goes down for 30 s every 5 minutes, the config is reloaded (SIGHUP,
// with a change) every minute, and the agent is SIGKILLed every 7 minutes
// and started again. At the end it prints the lines written, the lines
// stored, the duplicates, the lost lines, and the peak RSS and open file
// descriptors of the agent, and fails on any loss.
//
// OCTOAGENT_SOAK is the duration (30m for the full run). Every interval
// above is scaled by OCTOAGENT_SOAK/30m, so OCTOAGENT_SOAK=3m is a smoke
// run of the same schedule (rotation every 1 s, an outage of 3 s every
// 30 s, a reload every 6 s, a kill every 42 s).
func TestSoak(t *testing.T) {
	spec := os.Getenv("OCTOAGENT_SOAK")
	if spec == "" {
		t.Skip("a soak test: set OCTOAGENT_SOAK (make soak; OCTOAGENT_SOAK=30m for the full run)")
	}
	total, err := time.ParseDuration(spec)
	if err != nil || total < time.Minute {
		t.Fatalf("OCTOAGENT_SOAK=%q: a duration of at least 1m, such as 30m", spec)
	}
	scale := func(d time.Duration) time.Duration {
		return max(time.Duration(float64(d)*float64(total)/float64(30*time.Minute)), time.Second)
	}
	rotateEvery, outageEvery, outageFor := scale(10*time.Second), scale(5*time.Minute), scale(30*time.Second)
	reloadEvery, killEvery := scale(time.Minute), scale(7*time.Minute)
	const rate = 1000 // lines a second

	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{Flap: 0.1})
	storeAddr := st.Addr
	db := pgConn(t, pg.DSN())

	dir := t.TempDir()
	logPath := filepath.Join(dir, "logs", "app.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "agent.hcl")
	writeConfig := func(batch int) {
		writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir            = %s
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "1s"
  shutdown_timeout    = "10s"
}

source "file" "app" {
  paths         = [%s]
  poll_interval = "50ms"
  rotate_wait   = "2s"
}

sink "octostore" "central" {
  inputs                = [source.file.app]
  endpoint              = %s
  batch_max_records     = %d
  batch_max_wait        = "200ms"
  retry_initial_backoff = "100ms"
  retry_max_backoff     = "2s"
%s
}
`, hclString(filepath.Join(dir, "data")), hclString(logPath+"*"), hclString(st.URL()), batch, diskBufferBlock))
	}
	reloads := 0
	writeConfig(500)

	// The writer, with rotation.
	w := newRotatingWriter(t, logPath)
	var wmu sync.Mutex
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		lastRotate := time.Now()
		for {
			select {
			case <-stopWriter:
				return
			case <-tick.C:
			}
			wmu.Lock()
			w.write(t, rate/50)
			if time.Since(lastRotate) >= rotateEvery {
				w.rotate(t)
				lastRotate = time.Now()
			}
			wmu.Unlock()
		}
	}()

	// The agent, and what its processes used at most.
	var peakRSSBytes, peakFDs int64
	var pmu sync.Mutex
	var p *agentProc
	start := func() {
		pmu.Lock()
		p = startAgent(t, "", "run", "-c", cfg, "--log-level", "warn")
		pmu.Unlock()
	}
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		for {
			select {
			case <-stopSampler:
				return
			case <-time.After(500 * time.Millisecond):
			}
			pmu.Lock()
			if p != nil && !p.Exited() {
				pid := p.Cmd.Process.Pid
				peakRSSBytes = max(peakRSSBytes, peakRSS(pid))
				peakFDs = max(peakFDs, openFDs(pid))
			}
			pmu.Unlock()
		}
	}()
	start()

	began := time.Now()
	nextOutage, nextReload, nextKill := began.Add(outageEvery), began.Add(reloadEvery), began.Add(killEvery)
	kills, outages := 0, 0
	var storeDownUntil time.Time
	for time.Since(began) < total {
		time.Sleep(100 * time.Millisecond)
		now := time.Now()
		if p.Exited() {
			t.Fatalf("the agent exited on its own after %v", now.Sub(began))
		}
		if !storeDownUntil.IsZero() && now.After(storeDownUntil) {
			st = startStore(t, pg.DSN(), storeAddr, store.Faults{Flap: 0.1})
			storeDownUntil = time.Time{}
		}
		if storeDownUntil.IsZero() && now.After(nextOutage) {
			st.Kill()
			outages++
			storeDownUntil = now.Add(outageFor)
			nextOutage = nextOutage.Add(outageEvery)
		}
		if now.After(nextReload) {
			reloads++
			writeConfig(500 + reloads%2)
			p.Signal(t, syscall.SIGHUP)
			nextReload = nextReload.Add(reloadEvery)
		}
		if now.After(nextKill) {
			p.Signal(t, syscall.SIGKILL)
			p.WaitExit(t, exitDeadline)
			kills++
			start()
			nextKill = nextKill.Add(killEvery)
		}
	}
	close(stopWriter)
	<-writerDone
	wmu.Lock()
	written := w.n
	rotations := w.rotations
	w.close()
	wmu.Unlock()
	if !storeDownUntil.IsZero() {
		st = startStore(t, pg.DSN(), storeAddr, store.Faults{})
	} else {
		st.setFaults(t, store.Faults{})
	}

	// Everything written is stored, in the end.
	drainStart := time.Now()
	waitFor(t, 10*time.Minute, fmt.Sprintf("all %d lines stored", written), func() bool {
		if p.Exited() {
			t.Fatalf("the agent exited: %s", tail(p.Stderr.String(), 4000))
		}
		n, _, _ := soakCounts(t, db)
		return n >= int64(written)
	})
	drained := time.Since(drainStart)
	p.Signal(t, syscall.SIGTERM)
	code := p.WaitExit(t, exitDeadline)
	close(stopSampler)
	<-samplerDone
	lines, records, deliveries := soakCounts(t, db)
	lost := int64(written) - lines
	fmt.Printf("soak %v: lines in %d, stored %d distinct lines in %d records, duplicates %d (deliveries of a stored id again %d, lines under a second id %d), lost %d; peak RSS %.1f MiB, peak open fds %d; %d rotations, %d store outages of %v, %d reloads, %d SIGKILLs; drained in %v after the writer stopped\n",
		total, written, lines, records, deliveries-lines, deliveries-records, records-lines, lost,
		float64(peakRSSBytes)/(1<<20), peakFDs, rotations, outages, outageFor, reloads, kills, drained.Round(time.Second))
	testfig.Report(t, "soak=%v lines=%d stored=%d lost=%d duplicates=%d peak_rss_mib=%.1f peak_fds=%d rotations=%d outages=%d reloads=%d kills=%d",
		total, written, lines, lost, deliveries-lines, float64(peakRSSBytes)/(1<<20), peakFDs, rotations, outages, reloads, kills)
	if lost != 0 {
		t.Errorf("%d lines lost", lost)
	}
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}

// soakCounts: distinct tail lines stored, records (ids), deliveries.
func soakCounts(t testing.TB, db *pgx.Conn) (lines, records, deliveries int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := db.QueryRow(ctx, `SELECT count(DISTINCT substr(message, 6, 7)), count(*), coalesce(sum(deliveries), 0) FROM records WHERE message LIKE 'tail %'`).Scan(&lines, &records, &deliveries)
	if err != nil {
		t.Fatal(err)
	}
	return lines, records, deliveries
}

// openFDs counts a process's open file descriptors.
func openFDs(pid int) int64 {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0
	}
	return int64(len(ents))
}
