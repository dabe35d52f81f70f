package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testfig"
)

const (
	downRate      = 10000            // lines per second the writer appends
	downBefore    = 5 * time.Second  // store up, before the outage
	downFor       = 60 * time.Second // the outage
	downAfter     = 5 * time.Second  // writing goes on after the store is back
	downDrainMax  = 10 * time.Minute // for the backlog to drain
	downRSSBound  = 150 << 20        // documented bound on peak RSS, memory buffer at its default size
	downWriteTick = 50 * time.Millisecond
)

// TestStoreDown60s: the store is down for 60 s while 10,000 lines/s are
// appended to the log the agent tails (memory buffer, default size). When
// the store is back, the backlog drains and every line is stored: 0 lost.
// The agent's peak RSS must stay under downRSSBound.
func TestStoreDown60s(t *testing.T) {
	if testing.Short() {
		t.Skip("takes more than a minute")
	}
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{})
	db := pgConn(t, pg.DSN())

	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	writeFile(t, logPath, "")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, storeAgentConfig(filepath.Join(dir, "data"), logPath, st.URL(), ""))
	p := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	addr := p.WaitHTTPAddr(t)

	// The writer: downRate lines per second, in ticks, until stopped.
	var written atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		tk := time.NewTicker(downWriteTick)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			// Catch up if the machine is slow: the rate holds on average.
			due := int64(time.Since(start).Seconds() * downRate)
			if n := due - written.Load(); n > 0 {
				appendSeq(t, logPath, int(written.Load())+1, int(n))
				written.Add(n)
			}
		}
	}()

	time.Sleep(downBefore)
	st.Kill()
	downAt := written.Load()
	t.Logf("store down at %d lines written", downAt)
	time.Sleep(downFor)
	st = startStore(t, pg.DSN(), st.Addr, store.Faults{})
	backAt := time.Now()
	time.Sleep(downAfter)
	close(stop)
	<-done
	total := written.Load()
	t.Logf("writer done: %d lines; store back", total)

	waitForTimeout := time.Now().Add(downDrainMax)
	var got int64
	for {
		got, _ = storedCounts(t, db)
		if got >= total || time.Now().After(waitForTimeout) {
			break
		}
		if p.Exited() {
			t.Fatalf("the agent exited: %s", tail(p.Stderr.String(), 4000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	drain := time.Since(backAt)
	rss := peakRSS(p.Cmd.Process.Pid)
	p.Signal(t, os.Interrupt)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Errorf("exit code %d after SIGINT", code)
	}
	_ = addr

	records, deliveries := storedCounts(t, db)
	lines, minN, maxN := distinctSeq(t, db)
	lost := total - lines
	testfig.Report(t, "lines=%d written_while_down=%d stored=%d lost=%d duplicates=%d drain_after_store_back=%.1fs peak_rss=%.1fMiB (bound %dMiB)",
		total, total-downAt, records, lost, deliveries-records, drain.Seconds(), float64(rss)/(1<<20), downRSSBound>>20)
	if lost != 0 || minN != 1 || maxN != total {
		t.Fatalf("lost %d lines (distinct stored %d, min %d, max %d, want 1..%d)", lost, lines, minN, maxN, total)
	}
	if records != total {
		t.Fatalf("%d records stored for %d lines", records, total)
	}
	if rss == 0 || rss > downRSSBound {
		t.Fatalf("peak RSS %d bytes; the documented bound is %d", rss, downRSSBound)
	}
}

// distinctSeq counts the distinct line numbers stored, and their range.
func distinctSeq(t testing.TB, db *pgx.Conn) (n, lo, hi int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := db.QueryRow(ctx, `SELECT count(DISTINCT substr(message, 5, 8)), coalesce(min(substr(message, 5, 8)::bigint), 0), coalesce(max(substr(message, 5, 8)::bigint), 0) FROM records WHERE message LIKE 'seq %'`).Scan(&n, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	return
}
