// Package diskbuffer is the `buffer { type = "disk" }` of a sink: a
// segmented write-ahead log under data_dir. A record counts as delivered to
// its source once it is durably in the log (written and fsynced, one fsync
// per batch); a reader hands the log on to the wrapped sink, and segments
// are deleted once the wrapped sink resolved every record in them. After a
// crash the records not yet resolved are sent again, with their ids.
package diskbuffer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
)

// DefaultMaxBytes is the size bound when max_bytes is not set.
const DefaultMaxBytes = 1 << 30

const (
	chunkRecords   = 1000
	chunkBytes     = 1 << 20
	maxChunks      = 16 // chunks handed to the sink and not resolved yet
	cursorInterval = 250 * time.Millisecond
	retryMin       = 500 * time.Millisecond
	retryMax       = 30 * time.Second
	writeRetry     = time.Second
	stopFlushWait  = 5 * time.Second // on SIGTERM: how long the sink may finish what it holds
)

// New builds a disk buffer in front of next. It is an agent.BufferFactory.
func New(set agent.Settings, spec agent.BufferSpec, next agent.Sink) (agent.Sink, error) {
	maxBytes := spec.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	dir := filepath.Join(set.DataDir, "buffers", strings.ReplaceAll(set.ID, "/", "_"))
	b := &Buffer{
		set: set, next: next, dir: dir, maxBytes: maxBytes,
		segSize:    min(max(maxBytes/16, 4<<10), 16<<20),
		dropNewest: spec.WhenFull == "drop_newest",
		log:        set.Logger,
		writeAt:    func(f *os.File, p []byte, off int64) (int, error) { return f.WriteAt(p, off) },
		syncFile:   func(f *os.File) error { return f.Sync() },
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.cond = sync.NewCond(&b.mu)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	cm := set.Metrics
	b.m = bufMetrics{
		written:     cm.Counter("buffer_written_records_total", "Records written (and fsynced) to a disk buffer; their sources may commit past them."),
		sent:        cm.Counter("buffer_sent_records_total", "Records a disk buffer handed to its sink (again after a failure or a restart too)."),
		dropped:     cm.Counter("buffer_dropped_records_total", "Records a full disk buffer dropped (when_full = \"drop_newest\")."),
		corrupt:     cm.Counter("buffer_corrupt_records_total", "Damaged records (bad checksum, bad length, torn) a disk buffer skipped."),
		writeErrors: cm.Counter("buffer_write_errors_total", "Failed writes or fsyncs of a disk buffer (ENOSPC included)."),
		bytes:       cm.Gauge("buffer_bytes", "Bytes on disk in a disk buffer's segments."),
		maxBytes:    cm.Gauge("buffer_max_bytes", "A disk buffer's size bound."),
		segments:    cm.Gauge("buffer_segments", "Segment files of a disk buffer."),
	}
	b.m.maxBytes.Set(float64(maxBytes))
	if err := b.open(); err != nil {
		return nil, err
	}
	b.readerDone = make(chan struct{})
	b.cursorDone = make(chan struct{})
	go b.reader()
	go b.cursorLoop()
	return b, nil
}

// Buffer is a disk-buffered sink.
type Buffer struct {
	set        agent.Settings
	next       agent.Sink
	dir        string
	maxBytes   int64
	segSize    int64
	dropNewest bool
	log        *slog.Logger
	m          bufMetrics

	// Test hooks.
	writeAt  func(f *os.File, p []byte, off int64) (int, error)
	syncFile func(f *os.File) error

	ctx     context.Context
	cancel  context.CancelFunc
	bindMu  sync.Mutex
	boundTo context.Context

	mu      sync.Mutex
	cond    *sync.Cond
	segs    []*segment // oldest first; the last is the one written to
	total   int64
	w       *os.File // the active segment
	nextID  uint64
	rseg    uint64 // reader position: segment id and offset
	roff    int64
	resync  bool // the reader is skipping a damaged region
	chunks  []*chunk
	retries []*chunk
	cursor  position // end of the prefix the sink has resolved
	saved   position // cursor as last written to disk
	skip    []span   // ranges resolved in the last run past its cursor: not sent again
	doneVer uint64   // bumped when a chunk resolves; saved with the cursor
	saveVer uint64
	stop    bool // reader: stop handing records on
	closed  bool
	scratch []byte

	readerDone chan struct{}
	cursorDone chan struct{}
	closeOnce  sync.Once
}

type bufMetrics struct {
	written, sent, dropped, corrupt, writeErrors prometheus.Counter
	bytes, maxBytes, segments                    prometheus.Gauge
}

type segment struct {
	id     uint64
	path   string
	size   int64 // bytes durably written
	sealed bool
}

type chunk struct {
	seg        uint64
	start, end int64
	n          int
	resolved   bool
	inFlight   bool
	attempts   int
	retryAt    time.Time
}

// span is a byte range of one segment.
type span struct {
	seg        uint64
	start, end int64
}

type position struct {
	seg uint64
	off int64
}

func segName(id uint64) string { return fmt.Sprintf("%016d.seg", id) }

// open reads the directory: the cursor, the segments left by the last run
// (sealed: never written again), and starts a new segment.
func (b *Buffer) open() error {
	if err := os.MkdirAll(b.dir, 0o750); err != nil {
		return fmt.Errorf("disk buffer: %w", err)
	}
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("disk buffer: %w", err)
	}
	var ids []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	cur, skip, ok := b.readCursor()
	if !ok && len(ids) > 0 {
		cur = position{seg: ids[0]}
	}
	for _, id := range ids {
		p := filepath.Join(b.dir, segName(id))
		if id < cur.seg {
			_ = os.Remove(p) // fully resolved before the last stop
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("disk buffer: %w", err)
		}
		b.segs = append(b.segs, &segment{id: id, path: p, size: fi.Size(), sealed: true})
		b.total += fi.Size()
		b.nextID = id + 1
	}
	if len(b.segs) > 0 {
		if cur.seg < b.segs[0].id {
			cur = position{seg: b.segs[0].id}
		}
		if cur.seg == b.segs[0].id && cur.off > b.segs[0].size {
			cur.off = b.segs[0].size
		}
		b.log.Info("disk buffer: replaying records not yet resolved by the sink", "segments", len(b.segs), "bytes", b.total-cur.off)
	}
	if b.nextID == 0 {
		b.nextID = max(cur.seg+1, 1)
	}
	b.cursor, b.saved = cur, cur
	for _, sp := range skip {
		if sp.seg > cur.seg || sp.seg == cur.seg && sp.start >= cur.off {
			b.skip = append(b.skip, sp)
		}
	}
	sort.Slice(b.skip, func(i, j int) bool {
		return b.skip[i].seg < b.skip[j].seg || b.skip[i].seg == b.skip[j].seg && b.skip[i].start < b.skip[j].start
	})
	b.rseg, b.roff = cur.seg, cur.off
	if err := b.newSegment(); err != nil {
		return err
	}
	if b.rseg < b.segs[0].id {
		b.rseg, b.roff = b.segs[0].id, 0
	}
	if b.cursor.seg < b.segs[0].id {
		b.cursor = position{seg: b.segs[0].id}
	}
	b.gauges()
	return nil
}

// newSegment seals the active segment (if any) and starts the next one.
// Called with mu held, or before anything runs.
func (b *Buffer) newSegment() error {
	id := b.nextID
	p := filepath.Join(b.dir, segName(id))
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("disk buffer: %w", err)
	}
	if err := syncDir(b.dir); err != nil {
		f.Close()
		os.Remove(p)
		return fmt.Errorf("disk buffer: %w", err)
	}
	if b.w != nil {
		b.w.Close()
		b.segs[len(b.segs)-1].sealed = true
	}
	b.w = f
	b.nextID++
	b.segs = append(b.segs, &segment{id: id, path: p})
	if b.cond != nil {
		b.cond.Broadcast() // the reader may move on to the new segment
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (b *Buffer) gauges() {
	b.m.bytes.Set(float64(b.total))
	b.m.segments.Set(float64(len(b.segs)))
}

// bind makes the buffer stop when the runtime's context ends (the drain
// deadline).
func (b *Buffer) bind(ctx context.Context) {
	b.bindMu.Lock()
	defer b.bindMu.Unlock()
	if ctx == nil || b.boundTo == ctx {
		return
	}
	b.boundTo = ctx
	context.AfterFunc(ctx, b.cancel)
}

// Consume writes the batch to the log, fsyncs it, and resolves its records
// as delivered. When the buffer is full it waits (when_full = "block") or
// drops the batch ("drop_newest").
func (b *Buffer) Consume(ctx context.Context, batch agent.Batch) error {
	b.bind(ctx)
	if len(batch) == 0 {
		return nil
	}
	buf := b.scratch[:0]
	for i := range batch {
		buf = appendFrame(buf, &batch[i])
	}
	defer func() {
		if cap(buf) <= 4<<20 {
			b.scratch = buf[:0]
		}
	}()
	for {
		err := b.append(ctx, buf)
		if err == nil {
			b.m.written.Add(float64(len(batch)))
			agent.AckAll(batch, agent.Delivered)
			return nil
		}
		full := errors.Is(err, errFull) || errors.Is(err, syscall.ENOSPC)
		if full && b.dropNewest {
			b.m.dropped.Add(float64(len(batch)))
			b.set.Metrics.Drop("buffer_full").Add(float64(len(batch)))
			agent.AckAll(batch, agent.Dropped)
			return nil
		}
		if errors.Is(err, errStopped) || ctx.Err() != nil {
			b.set.Metrics.Failed.Add(float64(len(batch)))
			agent.AckAll(batch, agent.Failed)
			return nil
		}
		// A write error with when_full = "block": wait and try again; the
		// source waits meanwhile (nothing is lost, nothing committed).
		t := time.NewTimer(writeRetry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		case <-b.ctx.Done():
			t.Stop()
		}
	}
}

var (
	errFull    = errors.New("disk buffer full")
	errStopped = errors.New("disk buffer stopped")
)

// append writes frames at the end of the active segment and fsyncs.
func (b *Buffer) append(ctx context.Context, frames []byte) error {
	n := int64(len(frames))
	b.mu.Lock()
	if b.total+n > b.maxBytes && b.total > 0 {
		if b.dropNewest {
			b.mu.Unlock()
			return errFull
		}
		// Seal the active segment, so that it can be deleted once the
		// sink resolved it: space can only come back a segment at a time.
		if s := b.segs[len(b.segs)-1]; s.size > 0 {
			if err := b.newSegment(); err != nil {
				b.mu.Unlock()
				b.m.writeErrors.Inc()
				return err
			}
			b.advance()
		}
		stop := context.AfterFunc(ctx, func() { b.mu.Lock(); b.cond.Broadcast(); b.mu.Unlock() })
		for b.total+n > b.maxBytes && b.total > 0 && ctx.Err() == nil && !b.closed {
			b.cond.Wait()
		}
		stop()
	}
	if b.closed {
		b.mu.Unlock()
		return errStopped
	}
	if ctx.Err() != nil {
		b.mu.Unlock()
		return ctx.Err()
	}
	seg := b.segs[len(b.segs)-1]
	if seg.size >= b.segSize {
		if err := b.newSegment(); err != nil {
			b.mu.Unlock()
			b.m.writeErrors.Inc()
			b.log.Error("disk buffer: cannot start a new segment", "error", err)
			return err
		}
		seg = b.segs[len(b.segs)-1]
	}
	f, off := b.w, seg.size
	// Reserve the space so a concurrent check sees it.
	b.total += n
	b.mu.Unlock()

	_, err := b.writeAt(f, frames, off)
	if err == nil {
		err = b.syncFile(f)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.total -= n
		_ = f.Truncate(off) // best effort: no torn frame after the good ones
		b.m.writeErrors.Inc()
		b.log.Warn("disk buffer: write failed; the batch is not acknowledged", "error", err, "when_full", map[bool]string{true: "drop_newest", false: "block"}[b.dropNewest])
		return err
	}
	seg.size = off + n
	b.gauges()
	b.cond.Broadcast()
	return nil
}

// reader hands the log to the sink, chunk by chunk, and sends again the
// chunks the sink failed.
func (b *Buffer) reader() {
	defer close(b.readerDone)
	for {
		b.mu.Lock()
		var c *chunk
		var limit int64
		var sealed bool
		var path string
		var durable int64
		for {
			if b.stop || b.closed {
				b.mu.Unlock()
				return
			}
			now := time.Now()
			if len(b.retries) > 0 && !b.retries[0].retryAt.After(now) {
				c = b.retries[0]
				b.retries = b.retries[1:]
				break
			}
			if b.inFlight() < maxChunks {
				if s := b.segByID(b.rseg); s != nil && b.roff < s.size {
					// Ranges the sink resolved before the last stop are
					// not sent again.
					for len(b.skip) > 0 && (b.skip[0].seg < s.id || b.skip[0].seg == s.id && (b.skip[0].start < b.roff || b.skip[0].end > s.size || b.skip[0].end <= b.skip[0].start)) {
						b.skip = b.skip[1:]
					}
					if len(b.skip) > 0 && b.skip[0].seg == s.id && b.skip[0].start == b.roff {
						sp := b.skip[0]
						b.skip = b.skip[1:]
						b.chunks = append(b.chunks, &chunk{seg: sp.seg, start: sp.start, end: sp.end, resolved: true})
						b.roff, b.resync = sp.end, false
						b.advance()
						continue
					}
					c = &chunk{seg: s.id, start: b.roff}
					limit = s.size
					if len(b.skip) > 0 && b.skip[0].seg == s.id {
						limit = min(limit, b.skip[0].start)
					}
					break
				} else if s != nil && s.sealed {
					// Move on to the next segment.
					if nx := b.segAfter(s.id); nx != nil {
						b.rseg, b.roff, b.resync = nx.id, 0, false
						b.advance()
						continue
					}
				} else if s == nil {
					if nx := b.segAfter(b.rseg); nx != nil {
						b.rseg, b.roff, b.resync = nx.id, 0, false
						b.advance()
						continue
					}
				}
			}
			if len(b.retries) > 0 {
				wait := time.Until(b.retries[0].retryAt)
				t := time.AfterFunc(wait, func() { b.mu.Lock(); b.cond.Broadcast(); b.mu.Unlock() })
				b.cond.Wait()
				t.Stop()
			} else {
				b.cond.Wait()
			}
		}
		s := b.segByID(c.seg)
		if s == nil { // deleted meanwhile: nothing left to send
			b.mu.Unlock()
			continue
		}
		sealed, path, durable = s.sealed, s.path, s.size
		retry := c.end > 0
		resync := b.resync
		if retry {
			resync = false
		}
		b.mu.Unlock()

		var recs agent.Batch
		var end int64
		var damaged int
		var err error
		if retry {
			recs, _, damaged, _, err = readChunk(path, c.start, c.end, c.end, true, false, 1<<30, c.end-c.start)
			end = c.end
			damaged = 0 // counted the first time
		} else {
			recs, end, damaged, resync, err = readChunk(path, c.start, limit, durable, sealed, resync, chunkRecords, chunkBytes)
		}
		if err != nil {
			b.m.writeErrors.Inc()
			b.log.Error("disk buffer: cannot read a segment; retrying", "segment", path, "error", err)
			time.Sleep(writeRetry)
			b.mu.Lock()
			if retry {
				c.retryAt = time.Now().Add(retryMin)
				b.retries = append(b.retries, c)
			}
			b.mu.Unlock()
			continue
		}
		if damaged > 0 {
			b.m.corrupt.Add(float64(damaged))
			b.log.Error("disk buffer: skipped damaged records (bad checksum, bad length or torn write); they are lost", "records", damaged, "segment", path, "offset", c.start)
		}
		if !retry && end == c.start && len(recs) == 0 && damaged == 0 {
			// Nothing complete to read yet (cannot happen: reads stop at
			// the durable end); do not spin.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b.mu.Lock()
		if !retry {
			c.end = end
			c.n = len(recs)
			b.roff = end
			b.resync = resync
			b.chunks = append(b.chunks, c)
		}
		c.inFlight = true
		c.attempts++
		if len(recs) == 0 {
			c.inFlight = false
			c.resolved = true
			b.advance()
			b.mu.Unlock()
			continue
		}
		b.mu.Unlock()

		tok := (*agent.Acks)(nil).NewToken(len(recs), func(failed bool) { b.resolved(c, failed) })
		for i := range recs {
			recs[i].SetToken(tok)
		}
		b.m.sent.Add(float64(len(recs)))
		if err := b.next.Consume(b.ctx, recs); err != nil && b.ctx.Err() == nil {
			b.log.Warn("disk buffer: the sink failed on a batch", "error", err)
		}
	}
}

func (b *Buffer) inFlight() int {
	n := 0
	for _, c := range b.chunks {
		if !c.resolved {
			n++
		}
	}
	return n
}

func (b *Buffer) segByID(id uint64) *segment {
	for _, s := range b.segs {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (b *Buffer) segAfter(id uint64) *segment {
	for _, s := range b.segs {
		if s.id > id {
			return s
		}
	}
	return nil
}

// resolved runs when the sink resolved every record of a chunk.
func (b *Buffer) resolved(c *chunk, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c.inFlight = false
	if failed {
		if b.stop || b.closed || b.ctx.Err() != nil {
			return // stays in the log: sent again at the next start
		}
		d := retryMin << min(c.attempts-1, 6)
		c.retryAt = time.Now().Add(min(d, retryMax))
		b.retries = append(b.retries, c)
		sort.Slice(b.retries, func(i, j int) bool { return b.retries[i].retryAt.Before(b.retries[j].retryAt) })
		b.cond.Broadcast()
		return
	}
	c.resolved = true
	b.doneVer++
	b.advance()
}

// advance moves the cursor over the resolved prefix of chunks and deletes
// the segments it has passed. Called with mu held.
func (b *Buffer) advance() {
	moved := false
	for len(b.chunks) > 0 && b.chunks[0].resolved {
		c := b.chunks[0]
		b.chunks = b.chunks[1:]
		b.cursor = position{seg: c.seg, off: c.end}
		moved = true
	}
	// Segments the cursor is past: sealed, read to the end, all resolved.
	for len(b.segs) > 1 {
		s := b.segs[0]
		if !s.sealed || b.rseg == s.id || b.cursor.seg < s.id || b.cursor.seg == s.id && b.cursor.off < s.size {
			break
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.log.Warn("disk buffer: cannot delete a resolved segment", "segment", s.path, "error", err)
			break
		}
		b.total -= s.size
		b.segs = b.segs[1:]
		if b.cursor.seg == s.id {
			b.cursor = position{seg: b.segs[0].id}
		}
		moved = true
	}
	if moved {
		b.gauges()
		b.cond.Broadcast()
	}
}

// readChunk reads frames from path between start and limit (the durable
// end of the segment): at most maxRecs records. It returns the records, the
// offset where the next chunk starts, the number of damaged records it
// skipped, and whether it stopped inside a damaged region. atEnd says the
// segment will not grow (sealed): a frame cut by its end is torn.
func readChunk(path string, start, limit, durable int64, sealed, resync bool, maxRecs int, maxRead int64) (recs agent.Batch, end int64, damaged int, stillResync bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, start, 0, resync, err
	}
	defer f.Close()
	want := min(limit-start, maxRead)
	force := false // the read cannot grow: a cut frame is damage
	for {
		data := make([]byte, want)
		n, err := f.ReadAt(data, start)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, start, 0, resync, err
		}
		data = data[:n]
		atEnd := start+int64(n) >= durable || force
		pos := 0
		recs = recs[:0]
		damaged = 0
		inDamage := resync
		need := 0
		for pos < len(data) && len(recs) < maxRecs {
			payload, size, ok, short := frameAt(data, pos)
			if ok {
				r, derr := decodeRecord(payload)
				if derr != nil {
					damaged++
				} else {
					recs = append(recs, r)
				}
				pos += size
				inDamage = false
				continue
			}
			if short && !atEnd {
				need = max(size, headerSize)
				break
			}
			if short && atEnd && !sealed {
				break // the writer is mid-write: cannot happen, reads stop at the durable end
			}
			// Damaged: count it once, then look for the next frame.
			if !inDamage {
				damaged++
				inDamage = true
			}
			next := -1
			for from := pos + 1; from < len(data); {
				i := bytes.Index(data[from:], magic[:])
				if i < 0 {
					break
				}
				cand := from + i
				if _, _, ok2, short2 := frameAt(data, cand); ok2 || (short2 && !atEnd) {
					next = cand
					break
				}
				from = cand + 1
			}
			if next < 0 {
				if atEnd {
					pos = len(data)
				} else {
					pos = max(pos+1, len(data)-3)
				}
				break
			}
			pos = next
		}
		if len(recs) == 0 && damaged == 0 && need > 0 && pos == 0 {
			// One frame larger than the read: read it whole.
			grown := min(limit-start, int64(max(need, int(want)*2)))
			if grown <= want {
				force = true
			}
			want = grown
			continue
		}
		return recs, start + int64(pos), damaged, inDamage, nil
	}
}

// Flush: in once mode, waits until the sink has resolved everything in
// the log (or ctx ends). Otherwise (SIGTERM) it stops handing records on,
// gives the sink a few seconds to finish what it holds, and leaves the rest
// in the log for the next start.
func (b *Buffer) Flush(ctx context.Context) error {
	b.bind(ctx)
	if b.set.Once {
		b.mu.Lock()
		// Seal the active segment, so that it can be deleted once the
		// sink resolved it: space can only come back a segment at a time.
		if s := b.segs[len(b.segs)-1]; s.size > 0 {
			if err := b.newSegment(); err != nil {
				b.mu.Unlock()
				b.m.writeErrors.Inc()
				return err
			}
			b.advance()
		}
		stop := context.AfterFunc(ctx, func() { b.mu.Lock(); b.cond.Broadcast(); b.mu.Unlock() })
		for !b.drained() && ctx.Err() == nil && !b.closed {
			b.cond.Wait()
		}
		stop()
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.stop = true
	b.cond.Broadcast()
	b.mu.Unlock()
	fctx := ctx
	if !b.set.Once {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(ctx, stopFlushWait)
		defer cancel()
	}
	// The reader may be waiting inside the sink's Consume (every request
	// slot busy with a down store): past the grace period, stop the sink.
	select {
	case <-b.readerDone:
	case <-fctx.Done():
		b.cancel()
		<-b.readerDone
	}
	err := b.next.Flush(fctx)
	if err != nil && !b.set.Once && ctx.Err() == nil {
		err = nil // what the sink did not finish stays in the log
	}
	b.saveCursor()
	return err
}

// drained: everything written has been read and resolved. mu held.
func (b *Buffer) drained() bool {
	last := b.segs[len(b.segs)-1]
	return len(b.chunks) == 0 && len(b.retries) == 0 && b.rseg == last.id && b.roff >= last.size
}

// cursorLoop saves the cursor now and then, so a restart does not send
// again what the sink already resolved.
func (b *Buffer) cursorLoop() {
	defer close(b.cursorDone)
	t := time.NewTicker(cursorInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.saveCursor()
		case <-b.ctx.Done():
			return
		}
	}
}

const cursorFile = "cursor"

// maxSkipSpans bounds the resolved ranges saved past the cursor.
const maxSkipSpans = 4096

func (b *Buffer) saveCursor() {
	b.mu.Lock()
	cur, ver := b.cursor, b.doneVer
	if cur == b.saved && ver == b.saveVer {
		b.mu.Unlock()
		return
	}
	// The cursor, then the chunks resolved past it (the sink resolves out
	// of order), so that a restart sends neither again.
	data := make([]byte, 20, 24+24*min(len(b.chunks), maxSkipSpans))
	binary.LittleEndian.PutUint64(data[0:], cur.seg)
	binary.LittleEndian.PutUint64(data[8:], uint64(cur.off))
	n := 0
	for _, c := range b.chunks {
		if c.resolved && n < maxSkipSpans {
			data = binary.LittleEndian.AppendUint64(data, c.seg)
			data = binary.LittleEndian.AppendUint64(data, uint64(c.start))
			data = binary.LittleEndian.AppendUint64(data, uint64(c.end))
			n++
		}
	}
	b.mu.Unlock()
	binary.LittleEndian.PutUint32(data[16:], uint32(n))
	data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, castagnoli))
	p := filepath.Join(b.dir, cursorFile)
	tmp := p + ".tmp"
	err := writeSync(tmp, data)
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		err = syncDir(b.dir)
	}
	if err != nil {
		b.log.Warn("disk buffer: cannot save the read position; a restart sends more again", "error", err)
		return
	}
	b.mu.Lock()
	b.saved, b.saveVer = cur, ver
	b.mu.Unlock()
}

func writeSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (b *Buffer) readCursor() (position, []span, bool) {
	data, err := os.ReadFile(filepath.Join(b.dir, cursorFile))
	if err != nil {
		return position{}, nil, false
	}
	ok := len(data) >= 24
	var n int
	if ok {
		n = int(binary.LittleEndian.Uint32(data[16:20]))
		ok = len(data) == 24+24*n && crc32.Checksum(data[:len(data)-4], castagnoli) == binary.LittleEndian.Uint32(data[len(data)-4:])
	}
	if !ok {
		b.log.Warn("disk buffer: the saved read position is damaged; replaying every segment (the store drops the duplicates by id)")
		return position{}, nil, false
	}
	cur := position{seg: binary.LittleEndian.Uint64(data[0:]), off: int64(binary.LittleEndian.Uint64(data[8:]))}
	spans := make([]span, 0, n)
	for i := 0; i < n; i++ {
		o := 20 + 24*i
		spans = append(spans, span{seg: binary.LittleEndian.Uint64(data[o:]), start: int64(binary.LittleEndian.Uint64(data[o+8:])), end: int64(binary.LittleEndian.Uint64(data[o+16:]))})
	}
	return cur, spans, true
}

// Close stops the reader, saves the cursor and closes the wrapped sink.
func (b *Buffer) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.stop = true
		b.closed = true
		b.cond.Broadcast()
		b.mu.Unlock()
		b.cancel() // unblocks a reader waiting inside the sink
		<-b.readerDone
		if c, ok := b.next.(agent.Closer); ok {
			err = c.Close()
		}
		<-b.cursorDone
		b.saveCursor()
		b.mu.Lock()
		if b.w != nil {
			b.w.Close()
		}
		b.mu.Unlock()
	})
	return err
}
