// Package diskbuffer is the `buffer { type = "disk" }` of a sink: a
// segmented write-ahead log under data_dir. A record counts as delivered to
// its source once it is durably in the log (written and fsynced, one fsync
// per batch); a reader hands the log on to the wrapped sink, and segments
// are deleted once the wrapped sink resolved every record in them. After a
// crash the records not yet resolved are sent again, with their ids.
package diskbuffer

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	b.checkSpace()
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
	freed   chan struct{} // closed when a segment is deleted (see freedSignal)
	// failedWrites counts the failed writes in a row (logged once).
	failedWrites int

	readerDone chan struct{}
	cursorDone chan struct{}
	closeOnce  sync.Once
}

type bufMetrics struct {
	written, sent, dropped, corrupt, writeErrors prometheus.Counter
	bytes, maxBytes, segments                    prometheus.Gauge
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
