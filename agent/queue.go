package agent

import (
	"context"
	"errors"
	"sync"
)

// ErrQueueClosed is returned by Push on a closed queue.
var ErrQueueClosed = errors.New("queue closed")

// Queue is a bounded FIFO of batches, sized in records. Push blocks while
// the queue is full: that is the backpressure that slows a source down to
// the pace of its slowest consumer. A batch larger than the whole capacity
// is split, so the depth never exceeds the capacity.
type Queue struct {
	mu       sync.Mutex
	notEmpty *sync.Cond
	notFull  *sync.Cond
	items    []Batch
	depth    int
	bytes    int
	capacity int
	maxDepth int
	closed   bool
	onChange func(depth, bytes int)
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

// Capacity returns the queue's capacity in records.
func (q *Queue) Capacity() int { return q.capacity }

// Push appends b, blocking while there is no room for it. It returns
// ctx.Err() if ctx ends first, with the records that were not queued: they
// remain the caller's to resolve.
func (q *Queue) Push(ctx context.Context, b Batch) (Batch, error) {
	for len(b) > q.capacity {
		if err := q.push(ctx, b[:q.capacity:q.capacity]); err != nil {
			return b, err
		}
		b = b[q.capacity:]
	}
	if len(b) == 0 {
		return nil, nil
	}
	if err := q.push(ctx, b); err != nil {
		return b, err
	}
	return nil, nil
}

func (q *Queue) push(ctx context.Context, b Batch) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.depth+len(b) > q.capacity && !q.closed {
		if err := ctx.Err(); err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() {
			q.mu.Lock()
			q.notFull.Broadcast()
			q.mu.Unlock()
		})
		defer stop()
		for q.depth+len(b) > q.capacity && !q.closed {
			q.notFull.Wait()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if q.closed {
		return ErrQueueClosed
	}
	q.items = append(q.items, b)
	q.depth += len(b)
	q.bytes += b.Bytes()
	if q.depth > q.maxDepth {
		q.maxDepth = q.depth
	}
	q.changed()
	q.notEmpty.Signal()
	return nil
}

// Pop removes and returns the oldest batch, blocking while the queue is
// empty. ok is false once the queue is closed and drained.
func (q *Queue) Pop() (b Batch, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 {
		if q.closed {
			return nil, false
		}
		q.notEmpty.Wait()
	}
	b = q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	q.depth -= len(b)
	q.bytes -= b.Bytes()
	if len(q.items) == 0 {
		q.items = q.items[:0:0]
		q.bytes = 0
	}
	q.changed()
	q.notFull.Broadcast()
	return b, true
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
