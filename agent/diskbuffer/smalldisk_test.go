package diskbuffer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/testenv"
)

// TestSmallDisk is issue 22's wedge: a data dir on a 2 MiB filesystem, the
// store down, the default max_bytes (1 GiB, so segments of 16 MiB: one
// segment never fits). The writer blocks on ENOSPC; once the store is up,
// every record must be delivered, once, and the run must end by itself.
//
// "sized at start": the free space is read at start and segments sized to
// it; "filled later": the disk had room at start (segments of 16 MiB) and
// filled up afterwards, so the writer must roll and shrink on ENOSPC.
func TestSmallDisk(t *testing.T) {
	for _, later := range []bool{false, true} {
		t.Run(map[bool]string{false: "sized at start", true: "filled later"}[later], func(t *testing.T) { testSmallDisk(t, later) })
	}
}

func testSmallDisk(t *testing.T, filledLater bool) {
	data := testenv.SmallFS(t, "2m")
	sink := &memSink{got: map[string]int{}, fail: true} // the store is down
	bs, err := New(newSet(t, data), agent.BufferSpec{Type: "disk"}, sink)
	if err != nil {
		t.Fatal(err)
	}
	b := bs.(*Buffer)
	t.Cleanup(func() { b.Close() }) // before the unmount
	if filledLater {
		b.mu.Lock()
		b.segSize = 16 << 20
		b.mu.Unlock()
	}
	const total, per = 50000, 500
	acks := agent.NewAcks()
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total; i += per {
			batch := records(i, per)
			tok := acks.NewToken(len(batch), nil)
			for j := range batch {
				batch[j].SetToken(tok)
			}
			_ = b.Consume(ctx, batch)
		}
	}()
	waitFor(t, "the disk to fill (a write error)", func() bool { return testutil.ToFloat64(b.m.writeErrors) >= 1 })
	select {
	case <-done:
		t.Fatal("every batch was written to a 2 MiB disk: the test does not fill it")
	default:
	}
	sink.mu.Lock()
	sink.fail = false // the store is up
	sink.mu.Unlock()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		d, _ := sink.count()
		t.Fatalf("the writer is wedged: %d of %d records delivered; segments %v", d, total, segFiles(data))
	}
	if n := acks.InFlight(); n != 0 {
		t.Fatalf("%d batches not resolved", n)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- b.Flush(ctx) }()
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		d, _ := sink.count()
		t.Fatalf("Flush is wedged: %d of %d records delivered; segments %v", d, total, segFiles(data))
	}
	b.Close()
	d, all := sink.count()
	if d != total || all != total {
		t.Fatalf("delivered %d distinct records (%d in all), want %d once each", d, all, total)
	}
	t.Logf("%d records through a 2 MiB disk: %v write errors (ENOSPC), segments left %v", total, testutil.ToFloat64(b.m.writeErrors), segFiles(data))
}

func segFiles(dir string) []string {
	var out []string
	segs, _ := filepath.Glob(filepath.Join(dir, "buffers", "*", "*.seg"))
	for _, s := range segs {
		if fi, err := os.Stat(s); err == nil {
			out = append(out, filepath.Base(s)+":"+strconv.FormatInt(fi.Size(), 10))
		}
	}
	return out
}
