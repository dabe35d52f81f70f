package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testfig"
)

const diskBufferBlock = `
  buffer {
    type      = "disk"
    max_bytes = "256MiB"
  }`

// TestStoreCrashDiskBuffer: the agent, with a disk buffer, is SIGKILLed 5
// times while lines are appended and the store flaps (5xx, 429, resets,
// slow answers). Afterwards every line is stored: 0 lost. Duplicates are
// counted (the store keeps one record per id and counts deliveries).
func TestStoreCrashDiskBuffer(t *testing.T) {
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{Flap: 0.5})
	db := pgConn(t, pg.DSN())

	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	writeFile(t, logPath, "")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, storeAgentConfig(filepath.Join(dir, "data"), logPath, st.URL(), "  batch_max_records = 200\n"+diskBufferBlock))

	var written atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			appendSeq(t, logPath, int(written.Load())+1, 40) // 2,000 lines/s
			written.Add(40)
		}
	}()

	const kills = 5
	for i := 0; i < kills; i++ {
		p := startAgent(t, "", "run", "-c", cfg, "--log-level", "warn")
		// Let it deliver something: wait for new records in the store.
		before, _ := storedCounts(t, db)
		waitFor(t, 2*startDeadline, "records to reach the store", func() bool {
			n, _ := storedCounts(t, db)
			if p.Exited() {
				t.Fatalf("agent exited: %s", tail(p.Stderr.String(), 4000))
			}
			return n > before+500
		})
		time.Sleep(time.Duration(300+200*i) * time.Millisecond) // land the kill at different moments
		p.Signal(t, syscall.SIGKILL)
		p.WaitExit(t, exitDeadline)
	}
	close(stop)
	<-done
	total := written.Load()
	st.setFaults(t, store.Faults{})

	p := startAgent(t, "", "run", "-c", cfg, "--log-level", "warn")
	waitFor(t, 5*time.Minute, fmt.Sprintf("all %d lines to be stored", total), func() bool {
		if p.Exited() {
			t.Fatalf("agent exited: %s", tail(p.Stderr.String(), 4000))
		}
		n, _ := storedCounts(t, db)
		return n >= total
	})
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	records, deliveries := storedCounts(t, db)
	lines, lo, hi := distinctSeq(t, db)
	stats := st.stats(t)
	testfig.Report(t, "kills=%d lines=%d stored=%d lost=%d duplicates=%d (deliveries %d; store dedupes by id) faults_injected=%d",
		kills, total, records, total-lines, deliveries-records, deliveries, stats.Faults)
	if lines != total || lo != 1 || hi != total || records != total {
		t.Fatalf("lost lines: %d distinct lines stored (range %d..%d), %d records, want %d", lines, lo, hi, records, total)
	}
}

// TestStoreDiskBufferCorruption: with the store down, lines go into the
// disk buffer; the agent is killed; a bit is flipped in one record, the
// length of another is zeroed, and the last one is torn. The next agent
// starts, delivers every other record, and counts the 3 in
// octoagent_buffer_corrupt_records_total.
func TestStoreDiskBufferCorruption(t *testing.T) {
	pg := startPostgres(t)
	db := pgConn(t, pg.DSN())
	port := freePort(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)

	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "app.log")
	const n = 3000
	appendSeq(t, logPath, 1, n)
	size := int64(0)
	if fi, err := os.Stat(logPath); err == nil {
		size = fi.Size()
	}
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, storeAgentConfig(dataDir, logPath, endpoint, diskBufferBlock))

	p := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	addr := p.WaitHTTPAddr(t)
	c := &http.Client{Timeout: 5 * time.Second}
	series := `octoagent_buffer_written_records_total{component="sink.octostore.central"}`
	waitFor(t, startDeadline, "every line in the disk buffer", func() bool {
		v, _ := metricValue(t, c, "http://"+addr+"/metrics", series)
		return v >= n
	})
	// And the source's checkpoint past them, so the next start does not
	// read them again from the log.
	offRe := regexp.MustCompile(`"offset":\s*` + strconv.FormatInt(size, 10) + `\b`)
	waitFor(t, startDeadline, "the checkpoint at the end of the log", func() bool {
		data, _ := os.ReadFile(filepath.Join(dataDir, "checkpoints", "source.file.app.json"))
		return offRe.Match(data)
	})
	p.Signal(t, syscall.SIGKILL)
	p.WaitExit(t, exitDeadline)

	segs, _ := filepath.Glob(filepath.Join(dataDir, "buffers", "sink.octostore.central", "*.seg"))
	sort.Strings(segs)
	if len(segs) == 0 {
		t.Fatal("no segment files in the disk buffer")
	}
	// Frames, in write order (the order of the lines), across segments.
	type frame struct {
		seg string
		off int
	}
	var frames []frame
	for _, s := range segs {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+12 <= len(data); {
			if !bytes.Equal(data[off:off+4], []byte{0xF0, 0x0C, 0x7A, 0xB1}) {
				t.Fatalf("%s: no frame at %d", s, off)
			}
			frames = append(frames, frame{s, off})
			off += 12 + int(binary.LittleEndian.Uint32(data[off+4:]))
		}
	}
	if len(frames) != n {
		t.Fatalf("found %d records in the buffer, want %d", len(frames), n)
	}
	edit := func(f frame, fn func([]byte) []byte) {
		data, err := os.ReadFile(f.seg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.seg, fn(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	edit(frames[10], func(d []byte) []byte { d[frames[10].off+40] ^= 0x04; return d })                             // flip a bit: line 11
	edit(frames[100], func(d []byte) []byte { binary.LittleEndian.PutUint32(d[frames[100].off+4:], 0); return d }) // zero a length: line 101
	last := frames[n-1]
	edit(last, func(d []byte) []byte { return d[:last.off+(len(d)-last.off)/2] }) // tear the last record: line n

	st := startStore(t, pg.DSN(), fmt.Sprintf("127.0.0.1:%d", port), store.Faults{})
	_ = st
	p = startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	addr = p.WaitHTTPAddr(t)
	waitFor(t, 2*startDeadline, "the undamaged records to be stored", func() bool {
		got, _ := storedCounts(t, db)
		return got >= n-3
	})
	corrupt := 0.0
	waitFor(t, startDeadline, "the corrupt-records metric", func() bool {
		corrupt, _ = metricValue(t, c, "http://"+addr+"/metrics", `octoagent_buffer_corrupt_records_total{component="sink.octostore.central"}`)
		return corrupt >= 3
	})
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
	got := storedLines(t, db)
	lost, first := missing(got, n)
	records, deliveries := storedCounts(t, db)
	testfig.Report(t, "records=%d damaged=3 stored=%d lost=%d (lines %v) corrupt_metric=%v duplicates=%d", n, records, lost, first, corrupt, deliveries-records)
	if corrupt != 3 {
		t.Errorf("octoagent_buffer_corrupt_records_total = %v, want 3", corrupt)
	}
	if fmt.Sprint(first) != fmt.Sprint([]int{11, 101, n}) {
		t.Errorf("lost lines %v, want exactly the damaged ones [11 101 %d]", first, n)
	}
}

// TestStoreDiskBufferSigterm: with the store down, SIGTERM stops an agent
// with a disk buffer promptly (the backlog stays on disk, its source has
// committed past it), and the next start delivers all of it.
func TestStoreDiskBufferSigterm(t *testing.T) {
	pg := startPostgres(t)
	db := pgConn(t, pg.DSN())
	port := freePort(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	const n = 500
	appendSeq(t, logPath, 1, n)
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, storeAgentConfig(filepath.Join(dir, "data"), logPath, fmt.Sprintf("http://127.0.0.1:%d", port), diskBufferBlock))

	p := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	addr := p.WaitHTTPAddr(t)
	c := &http.Client{Timeout: 5 * time.Second}
	waitFor(t, startDeadline, "the lines in the disk buffer", func() bool {
		v, _ := metricValue(t, c, "http://"+addr+"/metrics", `octoagent_buffer_written_records_total{component="sink.octostore.central"}`)
		return v >= n
	})
	start := time.Now()
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	stopped := time.Since(start)

	startStore(t, pg.DSN(), fmt.Sprintf("127.0.0.1:%d", port), store.Faults{})
	p = startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
	waitFor(t, 2*startDeadline, "the backlog to be stored", func() bool {
		got, _ := storedCounts(t, db)
		return got >= n
	})
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
	records, deliveries := storedCounts(t, db)
	testfig.Report(t, "lines=%d stored=%d lost=%d duplicates=%d sigterm_to_exit_with_store_down=%.1fs", n, records, int64(n)-records, deliveries-records, stopped.Seconds())
	if records != n {
		t.Fatalf("stored %d, want %d", records, n)
	}
}
