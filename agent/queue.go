package agent

import (
	"context"
	"errors"
	"sync"
)

// DefaultQueueBytes is agent.queue_bytes' default, the bound that sizes the
// queues for ordinary records too: about 2,600 of the nginx pack's records
// (2,048 hold about 1.6 MiB). Records in flight are most of the agent's
// heap at full speed, and the collector lets the heap grow to three times
// what is live (GOGC=200): 512 KiB instead of 8 MiB took the nginx pack's
// peak RSS from 56.6 to 50.0 MiB at the same CPU per line (0.98, 7
// interleaved pairs), but it also cuts the batches a sink gets, and Kafka →
// rules → Kafka lost a fifth of its rate (136,000–146,000 records/s
// against 166,000–170,000 with 2 MiB, 2 runs each, more produce requests
// for the broker). 2 MiB keeps the rate, for about 4.5 MiB more peak on
// the nginx pack than 512 KiB (46.1 against 41.6 MiB, 3 pairs, same CPU).
// README, Performance.
const DefaultQueueBytes = 2 << 20

// DefaultQueueCapacity is agent.queue_capacity's default. 1,024 (two of
// the file source's batches instead of four) took the nginx pack's peak
// RSS from 47.4 to 42.6 MiB at the same CPU (7 interleaved pairs), but it
// leaves a sink one Kafka source batch of slack: Kafka → rules → Kafka
// took about 5% more CPU per record (6 interleaved pairs). README,
// Performance, "Memory at rest and at peak".
const DefaultQueueCapacity = 2048

// ErrQueueClosed is returned by Push on a closed queue.
var ErrQueueClosed = errors.New("queue closed")

// Queue is a bounded FIFO of batches, sized in records and in bytes. Push
// blocks while the queue is full: that is the backpressure that slows a
// source down to the pace of its slowest consumer. A batch larger than
// either bound is split, so the depth never exceeds the capacity and the
// bytes exceed the byte bound only by one record larger than the bound on
// its own (it is let in when the queue is empty, so a long line never
// wedges the pipeline).
//
// The byte bound is what keeps memory flat when records are large: 2,048
// records of a 64 KiB stack trace would hold 128 MiB, but under a 4 MiB
// bound the queue holds 64 of them. The bytes are Batch.Bytes' estimate.
type Queue struct {
	mu       sync.Mutex
	notEmpty *sync.Cond
	notFull  *sync.Cond
	items    []queued
	depth    int
	bytes    int
	capacity int
	maxBytes int // 0: no byte bound
	maxDepth int
	closed   bool
	onChange func(depth, bytes int)
}

type queued struct {
	b     Batch
	bytes int // as counted at Push, so Pop takes back exactly that
}

// NewQueue returns a queue that holds at most capacity records. onChange,
// if not nil, is called with the new depth and bytes after every change.
func NewQueue(capacity int, onChange func(depth, bytes int)) *Queue {
	if capacity < 1 {
		capacity = 1
	}
	q := &Queue{capacity: capacity, onChange: onChange}
	q.notEmpty = sync.NewCond(&q.mu)
	q.notFull = sync.NewCond(&q.mu)
	return q
}

// LimitBytes bounds the queue's bytes too (n <= 0: records only). Call it
// before the queue is used.
func (q *Queue) LimitBytes(n int) *Queue {
	q.maxBytes = max(n, 0)
	return q
}

// Capacity returns the queue's capacity in records.
func (q *Queue) Capacity() int { return q.capacity }

// MaxBytes returns the queue's byte bound, 0 for none.
func (q *Queue) MaxBytes() int { return q.maxBytes }

// Push appends b, blocking while there is no room for it. It returns
// ctx.Err() if ctx ends first, with the records that were not queued: they
// remain the caller's to resolve.
func (q *Queue) Push(ctx context.Context, b Batch) (Batch, error) {
	for len(b) > 0 {
		n, bytes := q.chunk(b)
		if err := q.push(ctx, b[:n:n], bytes); err != nil {
			return b, err
		}
		b = b[n:]
	}
	return nil, nil
}

// chunk returns how many of b's first records fit the queue's bounds (at
// least one), and their bytes.
func (q *Queue) chunk(b Batch) (n, bytes int) {
	n = min(len(b), q.capacity)
	for i := 0; i < n; i++ {
		rb := b[i].memBytes()
		if q.maxBytes > 0 && i > 0 && bytes+rb > q.maxBytes {
			return i, bytes
		}
		bytes += rb
	}
	return n, bytes
}

// full reports whether a batch of n records and bytes must wait. An empty
// queue takes any batch that chunk made.
func (q *Queue) full(n, bytes int) bool {
	if q.closed {
		return false
	}
	return q.depth+n > q.capacity || (q.maxBytes > 0 && q.depth > 0 && q.bytes+bytes > q.maxBytes)
}

func (q *Queue) push(ctx context.Context, b Batch, bytes int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full(len(b), bytes) {
		if err := ctx.Err(); err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() {
			q.mu.Lock()
			q.notFull.Broadcast()
			q.mu.Unlock()
		})
		defer stop()
		for q.full(len(b), bytes) {
			q.notFull.Wait()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if q.closed {
		return ErrQueueClosed
	}
	q.items = append(q.items, queued{b, bytes})
	q.depth += len(b)
	q.bytes += bytes
	if q.depth > q.maxDepth {
		q.maxDepth = q.depth
	}
	q.changed()
	q.notEmpty.Signal()
	return nil
}

// Pop removes and returns the oldest batch, blocking while the queue is
// empty. ok is false once the queue is closed and drained.
//
// A producer waiting for room is woken once the queue has drained to a
// quarter of its bounds, not at every Pop: a source that outruns its sink
// then hands on several batches per wake instead of one, and the sink
// still has a quarter queued. Each wake of a parked goroutine costs a
// futex wake of another thread, its spinning (nanosleep) and a futex
// sleep. On the raw passthrough (file → file, the sink the slower, 1M
// lines), the source's waits went from about 1,200 to 600 (of 2,000
// pushes) and the sink's from 260 to 160; CPU 0.92× (11 interleaved
// pairs; waking at half: 0.98×). An empty queue always wakes it, so a
// batch larger than a quarter gets in.
func (q *Queue) Pop() (b Batch, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 {
		if q.closed {
			return nil, false
		}
		q.notEmpty.Wait()
	}
	it := q.items[0]
	q.items[0] = queued{}
	q.items = q.items[1:]
	q.depth -= len(it.b)
	q.bytes -= it.bytes
	if len(q.items) == 0 {
		q.items = q.items[:0:0]
	}
	q.changed()
	if q.depth <= q.capacity/4 && (q.maxBytes == 0 || q.bytes <= q.maxBytes/4) {
		q.notFull.Broadcast()
	}
	return it.b, true
}

// Close makes Pop return false once the queue is drained, and Push fail.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.notEmpty.Broadcast()
	q.notFull.Broadcast()
	q.mu.Unlock()
}

// Depth returns the number of records queued now.
func (q *Queue) Depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.depth
}

// MaxDepth returns the highest depth the queue ever reached.
func (q *Queue) MaxDepth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.maxDepth
}

func (q *Queue) changed() {
	if q.onChange != nil {
		q.onChange(q.depth, q.bytes)
	}
}
