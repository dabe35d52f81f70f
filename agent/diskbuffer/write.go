package diskbuffer

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/octostore/agent/agent"
)

// The write path: Consume frames a batch, appends it to the active segment
// and fsyncs it, waiting or dropping when the buffer is full.

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
		freed := b.freedSignal()
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
		// A segment the sink frees wakes it at once.
		t := time.NewTimer(writeRetry)
		select {
		case <-t.C:
		case <-freed:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
		case <-b.ctx.Done():
			t.Stop()
		}
	}
}

// freedSignal returns a channel closed when the sink next frees a segment.
func (b *Buffer) freedSignal() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.freed == nil {
		b.freed = make(chan struct{})
	}
	return b.freed
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
		if errors.Is(err, syscall.ENOSPC) {
			b.shrinkSegments(seg)
		}
		if b.failedWrites++; b.failedWrites == 1 {
			// Once per episode: a full disk fails every retry.
			b.log.Warn("disk buffer: write failed; the batch is not acknowledged, and is written again once the disk has room (the sink frees segments as it delivers them)", "error", err,
				"when_full", map[bool]string{true: "drop_newest", false: "block"}[b.dropNewest], "segment_bytes", b.segSize)
		}
		return err
	}
	if b.failedWrites > 0 {
		b.log.Info("disk buffer: writes resumed", "failed_attempts", b.failedWrites)
		b.failedWrites = 0
	}
	seg.size = off + n
	b.gauges()
	b.cond.Broadcast()
	return nil
}
