package agent

import (
	"context"
	"errors"
	"testing"
	"time"
)

func batchOf(n int) Batch { return make(Batch, n) }

func TestQueueSplitsOversizeBatches(t *testing.T) {
	q := NewQueue(10, nil)
	done := make(chan error, 1)
	go func() {
		_, err := q.Push(context.Background(), batchOf(25))
		done <- err
	}()
	total := 0
	for total < 25 {
		b, ok := q.Pop()
		if !ok {
			t.Fatal("queue closed")
		}
		if len(b) > 10 {
			t.Fatalf("popped %d records from a queue of capacity 10", len(b))
		}
		total += len(b)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if q.MaxDepth() > 10 {
		t.Fatalf("max depth %d > capacity 10", q.MaxDepth())
	}
}

func TestQueuePushBlocksUntilRoomAndHonoursContext(t *testing.T) {
	q := NewQueue(4, nil)
	if _, err := q.Push(context.Background(), batchOf(3)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	rest, err := q.Push(ctx, batchOf(2))
	if !errors.Is(err, context.DeadlineExceeded) || len(rest) != 2 {
		t.Fatalf("Push on a full queue = %d left, %v; want 2 left, deadline exceeded", len(rest), err)
	}
	unblocked := make(chan struct{})
	go func() {
		_, _ = q.Push(context.Background(), batchOf(2))
		close(unblocked)
	}()
	select {
	case <-unblocked:
		t.Fatal("Push did not wait for room")
	case <-time.After(20 * time.Millisecond):
	}
	q.Pop()
	<-unblocked
	if d := q.Depth(); d != 2 {
		t.Fatalf("depth %d, want 2", d)
	}
}

func TestQueueCloseDrainsThenEnds(t *testing.T) {
	var depths []int
	q := NewQueue(8, func(d, _ int) { depths = append(depths, d) })
	q.Push(context.Background(), batchOf(3))
	q.Close()
	if _, err := q.Push(context.Background(), batchOf(1)); !errors.Is(err, ErrQueueClosed) {
		t.Fatalf("Push after Close: %v", err)
	}
	if b, ok := q.Pop(); !ok || len(b) != 3 {
		t.Fatalf("Pop after Close = %d, %v", len(b), ok)
	}
	if _, ok := q.Pop(); ok {
		t.Fatal("Pop on a closed, drained queue returned ok")
	}
	if len(depths) != 2 || depths[0] != 3 || depths[1] != 0 {
		t.Fatalf("depth reports %v, want [3 0]", depths)
	}
}

// sized returns n records whose memBytes are each 128+raw bytes.
func sized(n, raw int) Batch {
	b := make(Batch, n)
	for i := range b {
		b[i].Raw = make([]byte, raw)
	}
	return b
}

func TestQueueBoundsBytes(t *testing.T) {
	// Records of 1,024+128 bytes under a 4,608-byte bound: 4 at a time,
	// though the record bound would take 100.
	q := NewQueue(100, nil).LimitBytes(4 * 1152)
	done := make(chan error, 1)
	go func() {
		_, err := q.Push(context.Background(), sized(10, 1024))
		done <- err
	}()
	total := 0
	for total < 10 {
		b, ok := q.Pop()
		if !ok {
			t.Fatal("queue closed")
		}
		if len(b) > 4 {
			t.Fatalf("popped %d records of 1,152 bytes from a queue bounded at 4,608 bytes", len(b))
		}
		total += len(b)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if q.MaxDepth() > 4 {
		t.Fatalf("max depth %d > 4 records' bytes", q.MaxDepth())
	}
}

func TestQueueTakesOneOversizeRecordWhenEmpty(t *testing.T) {
	// A record larger than the whole byte bound goes through alone rather
	// than wedging the pipeline; the next waits until it is taken.
	var bytes []int
	q := NewQueue(100, func(_, b int) { bytes = append(bytes, b) }).LimitBytes(1000)
	if rest, err := q.Push(context.Background(), sized(1, 5000)); err != nil || len(rest) != 0 {
		t.Fatalf("Push of one oversize record into an empty queue = %d left, %v", len(rest), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if rest, err := q.Push(ctx, sized(1, 10)); !errors.Is(err, context.DeadlineExceeded) || len(rest) != 1 {
		t.Fatalf("Push behind an oversize record = %d left, %v; want it to wait", len(rest), err)
	}
	if b, ok := q.Pop(); !ok || len(b) != 1 {
		t.Fatalf("Pop = %d, %v", len(b), ok)
	}
	if _, err := q.Push(context.Background(), sized(1, 10)); err != nil {
		t.Fatal(err)
	}
	if want := []int{5128, 0, 138}; len(bytes) != 3 || bytes[0] != want[0] || bytes[1] != want[1] || bytes[2] != want[2] {
		t.Fatalf("bytes reported %v, want %v", bytes, want)
	}
}
