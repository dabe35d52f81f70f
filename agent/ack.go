package agent

import (
	"context"
	"sync"
	"sync/atomic"
)

// Outcome is how a record's journey ends. Each record ends in exactly one.
type Outcome uint8

const (
	// Delivered: a sink wrote it where it was going.
	Delivered Outcome = iota + 1
	// DeadLettered: sent to a dead-letter output that nothing reads; final,
	// and counted. (A dead letter that a sink writes is Delivered there.)
	DeadLettered
	// Dropped: a filter or an unconsumed output discarded it on purpose; final.
	Dropped
	// Failed: not delivered, may be retried. A source never commits past it;
	// the record is read again on the next start.
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case DeadLettered:
		return "dead_lettered"
	case Dropped:
		return "dropped"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Token follows one batch that a source emitted: it counts the records (and
// their copies) that have not reached an outcome yet, and calls back once
// when the count reaches zero, saying whether any of them failed.
type Token struct {
	pending atomic.Int64
	failed  atomic.Bool
	done    func(failed bool)
	acks    *Acks
	// release lists what runs once every record has an outcome, after
	// done: the memory the batch's records were carved from goes back to
	// be reused (OnRelease).
	release atomic.Pointer[releaseFn]
}

type releaseFn struct {
	fn   func()
	next *releaseFn
}

// OnRelease has fn run once, when every record counted against t has an
// outcome (after done). A source or transform that carved the records of
// the batch (or their fields) out of memory of its own uses it to take
// that memory back and reuse it: see "Recycled memory" in
// docs/architecture.md for what makes that safe. The caller must hold a
// record of t that has no outcome yet, so t cannot resolve meanwhile; any
// goroutine may call it.
func (t *Token) OnRelease(fn func()) {
	n := &releaseFn{fn: fn}
	for {
		old := t.release.Load()
		n.next = old
		if t.release.CompareAndSwap(old, n) {
			return
		}
	}
}

// Add counts n more records (copies made by fan-out, or extra records a
// transform made from one input) against the token.
func (t *Token) Add(n int64) { t.pending.Add(n) }

func (t *Token) resolve(o Outcome, n int64) {
	if o == Failed {
		t.failed.Store(true)
		if t.acks != nil {
			t.acks.failedRecords.Add(n)
		}
	}
	left := t.pending.Add(-n)
	if left > 0 {
		return
	}
	if left < 0 {
		// A component acked a record twice: a bug, never a reason to crash.
		if t.acks != nil {
			t.acks.overAcked.Add(1)
		}
		return
	}
	failed := t.failed.Load()
	if t.done != nil {
		t.done(failed)
	}
	for n := t.release.Swap(nil); n != nil; n = n.next {
		n.fn()
	}
	if t.acks != nil {
		if failed {
			t.acks.failed.Add(1)
		}
		t.acks.finish()
	}
}

// Acks counts the tokens in flight across the whole agent, so the runtime
// can tell when everything read has reached an outcome.
type Acks struct {
	mu        sync.Mutex
	inflight  int64
	zero      chan struct{}
	overAcked atomic.Int64
	failed    atomic.Int64
	// failedRecords counts records resolved as Failed (each copy a
	// fan-out made counts).
	failedRecords atomic.Int64
}

// NewAcks returns an empty in-flight counter.
func NewAcks() *Acks { return &Acks{} }

// NewToken returns a token for n records; done runs once when all of them
// have an outcome. n must be at least 1.
func (a *Acks) NewToken(n int, done func(failed bool)) *Token {
	t := &Token{done: done, acks: a}
	t.pending.Store(int64(n))
	if a != nil {
		a.mu.Lock()
		a.inflight++
		a.mu.Unlock()
	}
	return t
}

func (a *Acks) finish() {
	a.mu.Lock()
	a.inflight--
	if a.inflight == 0 && a.zero != nil {
		close(a.zero)
		a.zero = nil
	}
	a.mu.Unlock()
}

// InFlight returns how many tokens have not resolved yet.
func (a *Acks) InFlight() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inflight
}

// Failed counts batches that resolved with at least one failed record.
func (a *Acks) Failed() int64 { return a.failed.Load() }

// FailedRecords counts records resolved as Failed (a record copied to two
// sinks counts twice).
func (a *Acks) FailedRecords() int64 { return a.failedRecords.Load() }

// OverAcked counts records that were acked more than once (a bug somewhere).
func (a *Acks) OverAcked() int64 { return a.overAcked.Load() }

// Wait blocks until no token is in flight, or ctx ends.
func (a *Acks) Wait(ctx context.Context) error {
	for {
		a.mu.Lock()
		if a.inflight == 0 {
			a.mu.Unlock()
			return nil
		}
		if a.zero == nil {
			a.zero = make(chan struct{})
		}
		ch := a.zero
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Tracker turns out-of-order token outcomes of one ordered stream (a file, a
// partition) into an in-order commit: commit is called with the position of
// the last batch of the longest prefix whose batches have all reached a final
// outcome. A failed batch freezes the stream's commit for the rest of the
// run, so a restart reads it again.
type Tracker[P any] struct {
	mu      sync.Mutex
	acks    *Acks
	commit  func(P)
	onStuck func()
	q       []trackEntry[P] // in emission order; q[0] is the oldest unresolved
	head    int
	stuck   bool
}

type trackEntry[P any] struct {
	pos      P
	resolved bool
	failed   bool
}

// NewTracker returns a tracker that calls commit with each newly committable
// position, in order. onStuck, if not nil, runs once when a batch fails.
func NewTracker[P any](acks *Acks, commit func(P), onStuck func()) *Tracker[P] {
	return &Tracker[P]{acks: acks, commit: commit, onStuck: onStuck}
}

// Track registers the next batch of n records, which ends at position pos,
// and returns the token its records carry. Call it in stream order.
func (t *Tracker[P]) Track(n int, pos P) *Token {
	t.mu.Lock()
	idx := len(t.q)
	t.q = append(t.q, trackEntry[P]{pos: pos})
	seq := t.head + idx
	t.mu.Unlock()
	return t.acks.NewToken(n, func(failed bool) { t.resolve(seq, failed) })
}

func (t *Tracker[P]) resolve(seq int, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := seq - t.head
	if i < 0 || i >= len(t.q) {
		return
	}
	t.q[i].resolved = true
	t.q[i].failed = failed
	if t.stuck {
		t.compact()
		return
	}
	n := 0
	for n < len(t.q) && t.q[n].resolved {
		if t.q[n].failed {
			t.stuck = true
			if t.onStuck != nil {
				t.onStuck()
			}
			break
		}
		n++
	}
	if n > 0 {
		t.commit(t.q[n-1].pos)
		t.q = t.q[n:]
		t.head += n
	}
	if t.stuck {
		t.compact()
	}
}

// compact forgets entries once the stream is stuck: nothing past the failed
// batch will be committed in this run, so keeping them would only grow.
func (t *Tracker[P]) compact() {
	for len(t.q) > 0 && t.q[0].resolved {
		t.q = t.q[1:]
		t.head++
	}
}

// Stuck reports whether a failed batch froze this stream's commits.
func (t *Tracker[P]) Stuck() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stuck
}

// Pending returns the number of batches not yet committed.
func (t *Tracker[P]) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.q)
}
