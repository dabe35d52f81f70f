package diskbuffer

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/testfig"
)

// memSink collects what the buffer hands it; fail makes it resolve
// records as failed instead.
type memSink struct {
	mu   sync.Mutex
	got  map[string]int
	fail bool
	seen int
}

func (s *memSink) Consume(_ context.Context, b agent.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen += len(b)
	if s.fail {
		agent.AckAll(b, agent.Failed)
		return nil
	}
	for i := range b {
		s.got[b[i].ID]++
	}
	agent.AckAll(b, agent.Delivered)
	return nil
}

func (s *memSink) Flush(context.Context) error { return nil }

func (s *memSink) count() (distinct, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.got {
		total += n
	}
	return len(s.got), total
}

func newSet(t *testing.T, dir string) agent.Settings {
	m := agent.NewMetrics(nil)
	return agent.Settings{ID: "sink.octostore.t", DataDir: dir, Metrics: m.For("sink.octostore.t"), Once: true}
}

func records(from, n int) agent.Batch {
	b := make(agent.Batch, n)
	for i := range b {
		k := from + i
		b[i] = agent.Record{Time: time.Unix(1700000000, int64(k)), Raw: []byte(fmt.Sprintf("line %06d some padding to make it longer", k)),
			Origin: agent.Origin{Host: "h", Component: "source.file.x", Stream: "s", Offset: int64(k)}}
		if k%3 == 0 {
			b[i].Kind = "typed"
			b[i].Raw = nil
			b[i].SetFields(map[string]any{"n": int64(k), "f": 1.5, "s": "x", "l": []any{int64(1), "a"}, "m": map[string]any{"b": true}})
			b[i].Entity = []agent.KV{{Key: "ns", Value: "prod"}}
		}
	}
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, r := range records(0, 6) {
		want := string(agent.AppendJSON(nil, &r))
		payload := appendRecord(nil, &r)
		got, err := decodeRecord(payload)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(agent.AppendJSON(nil, &got)); s != want {
			t.Fatalf("round trip:\n got %s\nwant %s", s, want)
		}
	}
}

// Every Origin field survives the codec (a field added to Origin and
// forgotten by appendRecord or decodeRecord fails here).
func TestCodecKeepsEveryOriginField(t *testing.T) {
	o := agenttest.FullOrigin()
	r := agent.Record{Time: time.Unix(1700000000, 5), Kind: "k", Raw: []byte("line"), Origin: o}
	got, err := decodeRecord(appendRecord(nil, &r))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Origin, o) {
		t.Errorf("origin %+v after the codec, want %+v", got.Origin, o)
	}
}

func TestDeliversAndDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	sink := &memSink{got: map[string]int{}}
	bs, err := New(newSet(t, dir), agent.BufferSpec{Type: "disk", MaxBytes: 1 << 20}, sink)
	if err != nil {
		t.Fatal(err)
	}
	b := bs.(*Buffer)
	ctx := context.Background()
	acks := agent.NewAcks()
	for i := 0; i < 50; i++ {
		batch := records(i*200, 200)
		tok := acks.NewToken(len(batch), nil)
		for j := range batch {
			batch[j].SetToken(tok)
		}
		if err := b.Consume(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if acks.InFlight() != 0 {
		t.Fatalf("records written to the buffer are not resolved: %d batches", acks.InFlight())
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	d, total := sink.count()
	if d != 10000 {
		t.Fatalf("delivered %d distinct records (%d in all), want 10000", d, total)
	}
	b.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "buffers", "*", "*.seg"))
	if len(segs) > 1 {
		t.Fatalf("resolved segments were not deleted: %v", segs)
	}
}

// TestReplayAfterCrash: records written but not resolved by the sink are
// handed on again by the next buffer on the same directory, with their ids.
func TestReplayAfterCrash(t *testing.T) {
	dir := t.TempDir()
	down := &memSink{got: map[string]int{}, fail: true}
	set := newSet(t, dir)
	set.Once = false
	bs, err := New(set, agent.BufferSpec{MaxBytes: 1 << 20}, down)
	if err != nil {
		t.Fatal(err)
	}
	b := bs.(*Buffer)
	for i := 0; i < 10; i++ {
		if err := b.Consume(context.Background(), records(i*100, 100)); err != nil {
			t.Fatal(err)
		}
	}
	// "Crash": no Flush, no Close; only stop the goroutines so the test
	// can reopen the directory.
	b.mu.Lock()
	b.stop, b.closed = true, true
	b.cond.Broadcast()
	b.mu.Unlock()
	<-b.readerDone
	b.cancel()
	<-b.cursorDone

	up := &memSink{got: map[string]int{}}
	bs2, err := New(newSet(t, dir), agent.BufferSpec{MaxBytes: 1 << 20}, up)
	if err != nil {
		t.Fatal(err)
	}
	if err := bs2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	bs2.(*Buffer).Close()
	d, _ := up.count()
	if d != 1000 {
		t.Fatalf("replayed %d records, want 1000", d)
	}
	want := records(0, 1)[0]
	if up.got[want.EnsureID()] != 1 {
		t.Fatalf("record 0 was not replayed under its id")
	}
}

// TestCorruption flips a bit, zeroes a length and tears the last record of
// a segment: exactly those three records are lost and counted.
func TestCorruption(t *testing.T) {
	dir := t.TempDir()
	set := newSet(t, dir)
	set.Once = false
	bs, err := New(set, agent.BufferSpec{MaxBytes: 1 << 20}, &memSink{got: map[string]int{}, fail: true})
	if err != nil {
		t.Fatal(err)
	}
	b := bs.(*Buffer)
	const n = 300
	if err := b.Consume(context.Background(), records(0, n)); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.stop, b.closed = true, true
	b.cond.Broadcast()
	b.mu.Unlock()
	<-b.readerDone
	b.cancel()
	<-b.cursorDone
	b.w.Close()

	segs, _ := filepath.Glob(filepath.Join(dir, "buffers", "*", "*.seg"))
	sort.Strings(segs)
	data, err := os.ReadFile(segs[len(segs)-1])
	if err != nil {
		t.Fatal(err)
	}
	offs := frameOffsets(t, data)
	if len(offs) != n {
		t.Fatalf("found %d frames, want %d", len(offs), n)
	}
	data[offs[10]+headerSize+5] ^= 0x10                  // flip a bit in record 10
	binary.LittleEndian.PutUint32(data[offs[100]+4:], 0) // zero the length of record 100
	data = data[:offs[n-1]+(len(data)-offs[n-1])/2]      // tear the last record
	if err := os.WriteFile(segs[len(segs)-1], data, 0o640); err != nil {
		t.Fatal(err)
	}

	up := &memSink{got: map[string]int{}}
	set2 := newSet(t, dir)
	bs2, err := New(set2, agent.BufferSpec{MaxBytes: 1 << 20}, up)
	if err != nil {
		t.Fatal(err)
	}
	if err := bs2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	bs2.(*Buffer).Close()
	d, _ := up.count()
	corrupt := testutil.ToFloat64(bs2.(*Buffer).m.corrupt)
	testfig.Report(t, "records=%d delivered=%d lost=%d corrupt_metric=%v", n, d, n-d, corrupt)
	if d != n-3 || corrupt != 3 {
		t.Fatalf("delivered %d (want %d), corrupt metric %v (want 3)", d, n-3, corrupt)
	}
	for _, i := range []int{10, 100, n - 1} {
		r := records(i, 1)[0]
		if up.got[r.EnsureID()] != 0 {
			t.Errorf("damaged record %d was delivered", i)
		}
	}
}

func frameOffsets(t *testing.T, data []byte) []int {
	var offs []int
	for pos := 0; pos < len(data); {
		_, size, ok, _ := frameAt(data, pos)
		if !ok {
			t.Fatalf("bad frame at %d", pos)
		}
		offs = append(offs, pos)
		pos += size
	}
	return offs
}

// TestDiskFull: ENOSPC never crashes; with drop_newest the batch is dropped
// and counted, with block it waits until the write succeeds.
func TestDiskFull(t *testing.T) {
	for _, mode := range []string{"drop_newest", "block"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			sink := &memSink{got: map[string]int{}}
			bs, err := New(newSet(t, dir), agent.BufferSpec{MaxBytes: 1 << 20, WhenFull: mode}, sink)
			if err != nil {
				t.Fatal(err)
			}
			b := bs.(*Buffer)
			var mu sync.Mutex
			full := true
			b.writeAt = func(f *os.File, p []byte, off int64) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				if full {
					n, _ := f.WriteAt(p[:len(p)/2], off) // a partial write, as a full disk does
					return n, syscall.ENOSPC
				}
				return f.WriteAt(p, off)
			}
			acks := agent.NewAcks()
			var outcome agent.Outcome
			var omu sync.Mutex
			batch := records(0, 100)
			tok := acks.NewToken(len(batch), func(failed bool) {})
			for i := range batch {
				batch[i].SetToken(tok)
			}
			_ = outcome
			_ = &omu
			done := make(chan struct{})
			go func() { b.Consume(context.Background(), batch); close(done) }()
			if mode == "drop_newest" {
				<-done
				if got := testutil.ToFloat64(b.m.dropped); got != 100 {
					t.Fatalf("dropped metric %v, want 100", got)
				}
			} else {
				waitFor(t, "a write error", func() bool { return testutil.ToFloat64(b.m.writeErrors) >= 1 })
				select {
				case <-done:
					t.Fatal("Consume returned while the disk is full with when_full = block")
				default:
				}
				mu.Lock()
				full = false
				mu.Unlock()
				<-done
			}
			if acks.InFlight() != 0 {
				t.Fatal("the batch was not resolved")
			}
			if err := b.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			b.Close()
			d, _ := sink.count()
			want := 100
			if mode == "drop_newest" {
				want = 0
			}
			if d != want {
				t.Fatalf("delivered %d, want %d", d, want)
			}
		})
	}
}

// TestBlocksWhenFull: with when_full = block, a writer waits for the sink
// to free space.
func TestMaxBytesBlocks(t *testing.T) {
	dir := t.TempDir()
	sink := &memSink{got: map[string]int{}, fail: true}
	set := newSet(t, dir)
	bs, err := New(set, agent.BufferSpec{MaxBytes: 64 << 10}, sink)
	if err != nil {
		t.Fatal(err)
	}
	b := bs.(*Buffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			b.Consume(context.Background(), records(i*100, 100))
		}
	}()
	waitFor(t, "the buffer to fill", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.total > 40<<10
	})
	select {
	case <-done:
		t.Fatal("all writes passed a full buffer")
	default:
	}
	sink.mu.Lock()
	sink.fail = false
	sink.mu.Unlock()
	<-done
	tm := time.AfterFunc(10*time.Second, func() { fmt.Println(b.dump()) })
	defer tm.Stop()
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if d, _ := sink.count(); d != 2000 {
		t.Fatalf("delivered %d, want 2000", d)
	}
}

// holdFirst keeps the first batch it gets unresolved and delivers the rest.
type holdFirst struct {
	mu   sync.Mutex
	held agent.Batch
	seen int
}

func (h *holdFirst) Consume(_ context.Context, b agent.Batch) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen += len(b)
	if h.held == nil {
		h.held = append(agent.Batch(nil), b...)
		return nil
	}
	agent.AckAll(b, agent.Delivered)
	return nil
}

func (h *holdFirst) Flush(context.Context) error { return nil }

// TestRestartSkipsResolvedRanges: chunks the sink resolved out of order,
// past an unresolved one, are not sent again after a crash; the
// unresolved one is.
func TestRestartSkipsResolvedRanges(t *testing.T) {
	dir := t.TempDir()
	set := newSet(t, dir)
	set.Once = false
	h := &holdFirst{}
	bs, err := New(set, agent.BufferSpec{MaxBytes: 64 << 20}, h)
	if err != nil {
		t.Fatal(err)
	}
	b := bs.(*Buffer)
	for i := 0; i < 5; i++ {
		b.Consume(context.Background(), records(i*1000, 1000))
	}
	waitFor(t, "the sink to see every record", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.seen == 5000 })
	b.saveCursor()
	b.mu.Lock()
	b.stop, b.closed = true, true
	b.cond.Broadcast()
	b.mu.Unlock()
	<-b.readerDone
	b.cancel()
	<-b.cursorDone

	up := &memSink{got: map[string]int{}}
	bs2, err := New(newSet(t, dir), agent.BufferSpec{MaxBytes: 64 << 20}, up)
	if err != nil {
		t.Fatal(err)
	}
	if err := bs2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	bs2.(*Buffer).Close()
	d, _ := up.count()
	if d != len(h.held) {
		t.Fatalf("replayed %d records, want only the %d never resolved", d, len(h.held))
	}
	for i := range h.held {
		if up.got[h.held[i].ID] != 1 {
			t.Fatalf("held record %s not replayed", h.held[i].ID)
		}
	}
}
