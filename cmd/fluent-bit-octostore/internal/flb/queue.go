package flb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/diskbuffer"
)

// The plugin's own queue: a flush hands its chunk to a writer goroutine,
// which appends it to the instance's disk buffer (agent/diskbuffer) and
// fsyncs; the flush answers as soon as that is done, or after the timeout,
// so Fluent Bit's engine thread never waits on the store. The buffer's
// reader hands the log to the pipeline (the built-in source), one chunk at
// a time, and resends what the sinks fail; at exit what is not delivered
// stays on disk for the next start.

// queued is one flush waiting for the writer.
type queued struct {
	b      agent.Batch
	size   int64
	state  atomic.Int32 // stateQueued, then stateWriting (the writer took it) or stateAbandoned (the flush gave up first)
	result chan bool    // failed?
}

const (
	stateQueued int32 = iota
	stateWriting
	stateAbandoned
)

type queue struct {
	in  *Instance
	buf *diskbuffer.Buffer

	mu      sync.RWMutex
	closed  bool
	reqs    chan *queued
	written chan struct{} // closed when the writer returns

	ctx    context.Context // the buffer's: ends at exit
	cancel context.CancelFunc
	full   atomic.Bool // last write attempt found the buffer full (logged on change)
}

// writeGrace is how long the exit lets the writer finish the write it is in.
const writeGrace = time.Second

func newQueue(in *Instance) (*queue, error) {
	q := &queue{in: in, reqs: make(chan *queued, 8), written: make(chan struct{})}
	set := in.src.set
	set.DataDir = in.opt.BufferPath
	set.Logger = in.log
	buf, err := diskbuffer.New(set, agent.BufferSpec{Type: "disk", MaxBytes: in.opt.BufferMaxBytes, WhenFull: "block"}, &feeder{src: in.src})
	if err != nil {
		return nil, err
	}
	q.buf = buf.(*diskbuffer.Buffer)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.writer()
	return q, nil
}

// put hands a batch to the writer and waits, up to the timeout, for it
// to be durable.
func (q *queue) put(b agent.Batch, size int64) Status {
	r := &queued{b: b, size: size, result: make(chan bool, 1)}
	tok := q.in.src.set.Acks.NewToken(len(b), func(failed bool) { r.result <- failed })
	for i := range b {
		b[i].SetToken(tok)
	}
	deadline := time.NewTimer(q.in.opt.Timeout)
	defer deadline.Stop()
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		agent.AckAll(b, agent.Failed)
		return Retry
	}
	select {
	case q.reqs <- r:
		q.mu.RUnlock()
	case <-deadline.C:
		q.mu.RUnlock()
		agent.AckAll(b, agent.Failed)
		q.in.log.Warn("the disk buffer's writer is busy; Fluent Bit will retry the chunk", "records", len(b), "timeout", q.in.opt.Timeout)
		return Retry
	}
	select {
	case failed := <-r.result:
		if failed {
			return Retry
		}
		return OK
	case <-deadline.C:
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			// Never written: the writer will skip it.
			q.in.log.Warn("the chunk was not written to the disk buffer in time; Fluent Bit will retry it", "records", len(b), "timeout", q.in.opt.Timeout)
		} else {
			// Being written: if it lands, Fluent Bit's retry writes the
			// same records with the same ids, and the store keeps one.
			q.in.log.Warn("the chunk's write to the disk buffer did not finish in time; Fluent Bit will retry it (same ids)", "records", len(b), "timeout", q.in.opt.Timeout)
		}
		return Retry
	}
}

// writer appends each queued batch to the disk buffer.
func (q *queue) writer() {
	defer close(q.written)
	for r := range q.reqs {
		if !r.state.CompareAndSwap(stateQueued, stateWriting) {
			agent.AckAll(r.b, agent.Failed) // the flush gave up: Fluent Bit retries it
			continue
		}
		// Frames carry ids, origins and the fields as JSON: about 1.5
		// times the msgpack plus some 200 bytes a record.
		if est := r.size*3/2 + 200*int64(len(r.b)); !q.buf.Room(est) {
			if !q.full.Swap(true) {
				q.in.log.Warn("disk buffer full; flushes answer FLB_RETRY until the store takes records again", "buffer_path", q.in.opt.BufferPath, "max_bytes", q.in.opt.BufferMaxBytes)
			}
			q.in.m.full.Add(float64(len(r.b)))
			agent.AckAll(r.b, agent.Failed)
			continue
		}
		if q.full.Swap(false) {
			q.in.log.Info("disk buffer has room again")
		}
		// Consume resolves the records: Delivered once fsynced, Failed if
		// the exit cut a waiting write short.
		_ = q.buf.Consume(q.ctx, r.b)
	}
}

// stopWriting makes new flushes answer FLB_RETRY and lets the writer
// finish what it holds (for up to writeGrace; past it the write is cut
// short and its flush has answered FLB_RETRY already).
func (q *queue) stopWriting() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.reqs)
	}
	q.mu.Unlock()
	select {
	case <-q.written:
	case <-time.After(writeGrace):
		q.cancel()
		<-q.written
	}
}

// close stops the buffer's reader and saves its cursor: what the pipeline
// resolved is not sent again.
func (q *queue) close() {
	q.cancel()
	if err := q.buf.Close(); err != nil {
		q.in.log.Warn("closing the disk buffer", "error", err)
	}
}

func (q *queue) left() (records int, unreadBytes int64) { return q.buf.Left() }

// feeder is the sink behind the disk buffer: it hands what the buffer
// reads to the pipeline, through the built-in source.
type feeder struct{ src *source }

func (f *feeder) Consume(ctx context.Context, b agent.Batch) error {
	select {
	case f.src.in <- b:
	case <-f.src.stopped:
		agent.AckAll(b, agent.Failed) // exiting: stays in the buffer
	case <-ctx.Done():
		agent.AckAll(b, agent.Failed)
	}
	return nil
}

func (f *feeder) Flush(context.Context) error { return nil }

// The plugin's metrics, on the instance's registry (served at
// Metrics_Addr), each with the instance's name.
type flushMetrics struct {
	flushes *prometheus.CounterVec // by result
	records *prometheus.CounterVec
	full    prometheus.Counter
}

func newFlushMetrics(m *agent.Metrics, name string) flushMetrics {
	fl := m.CounterVec("fluentbit_flushes_total", "Flushes Fluent Bit made to the plugin, by the answer (FLB_OK: durable in the disk buffer; FLB_RETRY: the buffer is full or the write was late; FLB_ERROR: not msgpack).", "instance", "result")
	rc := m.CounterVec("fluentbit_flush_records_total", "Records in the flushes, by the answer.", "instance", "result")
	full := m.CounterVec("fluentbit_buffer_full_records_total", "Records answered FLB_RETRY because the disk buffer was full.", "instance")
	return flushMetrics{
		flushes: mustCurry(fl, name),
		records: mustCurry(rc, name),
		full:    full.WithLabelValues(SourceID, name),
	}
}

func mustCurry(v *prometheus.CounterVec, name string) *prometheus.CounterVec {
	return v.MustCurryWith(prometheus.Labels{"component": SourceID, "instance": name})
}

func (m flushMetrics) count(st Status, records int) {
	m.flushes.WithLabelValues(st.String()).Inc()
	m.records.WithLabelValues(st.String()).Add(float64(records))
}

// lockDir creates dir and takes an exclusive lock on dir/lock.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("in use by another instance (give each [OUTPUT] its own Buffer_Path, or its own Instance name)")
		}
		return nil, err
	}
	return f, nil
}

func unlockDir(f *os.File) {
	if f != nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
