package rules

import (
	"context"
	"sync"
	"time"
)

// deadline bounds each evaluation of a step (a jq query or an awk program
// can loop forever) without a context and a timer made per record, nor a
// timer re-armed per record: one timer, armed when an evaluation starts
// and none is armed, fires at most once per timeout while evaluations go
// on; it cancels the context of the one running if that one has run its
// time, and otherwise re-arms itself for the rest of the running one's
// time. Per record, an evaluation costs a clock read and two uncontended
// locks. A context that was cancelled is replaced for the next evaluation.
type deadline struct {
	timeout time.Duration

	mu      sync.Mutex
	timer   *time.Timer
	armed   bool
	parent  context.Context
	ctx     context.Context
	cancel  context.CancelFunc
	running bool
	started time.Time
}

func newDeadline(timeout time.Duration) *deadline {
	return &deadline{timeout: timeout}
}

// start returns the context of one evaluation; call stop when it ends.
func (d *deadline) start(parent context.Context) context.Context {
	now := time.Now()
	d.mu.Lock()
	if d.ctx == nil || d.parent != parent || d.ctx.Err() != nil {
		if d.cancel != nil {
			d.cancel()
		}
		d.parent = parent
		d.ctx, d.cancel = context.WithCancel(parent)
	}
	d.running, d.started = true, now
	ctx := d.ctx
	if !d.armed {
		d.armed = true
		if d.timer == nil {
			d.timer = time.AfterFunc(d.timeout, d.fire)
		} else {
			d.timer.Reset(d.timeout)
		}
	}
	d.mu.Unlock()
	return ctx
}

// stop ends the evaluation start began.
func (d *deadline) stop() {
	d.mu.Lock()
	d.running = false
	d.mu.Unlock()
}

// fire cancels the running evaluation if it has run its time, or waits
// for the rest of its time; with none running, it disarms.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running {
		d.armed = false
		return
	}
	if el := time.Since(d.started); el < d.timeout {
		d.timer.Reset(d.timeout - el)
		return
	}
	d.cancel()
	d.armed = false
}
