package rules

import (
	"context"
	"sync"
	"time"
)

// deadline bounds each evaluation of a step (a jq query can loop forever)
// without a context and a timer made per record: one timer, re-armed for
// each evaluation, cancels the context of the one running when it fires.
// A context that was cancelled is replaced for the next evaluation.
type deadline struct {
	timeout time.Duration

	mu      sync.Mutex
	timer   *time.Timer
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
	d.mu.Lock()
	if d.ctx == nil || d.parent != parent || d.ctx.Err() != nil {
		if d.cancel != nil {
			d.cancel()
		}
		d.parent = parent
		d.ctx, d.cancel = context.WithCancel(parent)
	}
	d.running, d.started = true, time.Now()
	ctx := d.ctx
	if d.timer == nil {
		d.timer = time.AfterFunc(d.timeout, d.fire)
	} else {
		d.timer.Reset(d.timeout)
	}
	d.mu.Unlock()
	return ctx
}

// stop ends the evaluation start began.
func (d *deadline) stop() {
	d.timer.Stop()
	d.mu.Lock()
	d.running = false
	d.mu.Unlock()
}

// fire cancels the running evaluation if it has run its time: a firing
// that comes late, after its evaluation ended and the next one started,
// leaves the next one alone.
func (d *deadline) fire() {
	d.mu.Lock()
	if d.running && time.Since(d.started) >= d.timeout {
		d.cancel()
	}
	d.mu.Unlock()
}
