package rules

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// The per-record budget of the steps that run a user's program (awk, jq):
// a record that runs past it is stopped and dead-lettered with reason
// "timeout" and the step named, and the pipeline goes on. A program that
// does not stop when told (a long builtin call) shows in readiness: see
// stuckStep and transform.Health.

// defaultBudget is a program's time per record when timeout is not set.
const defaultBudget = 100 * time.Millisecond

// stepTimeout reads a step's timeout attribute (default defaultBudget).
func stepTimeout(blk *hcl.Block, v *string) (time.Duration, hcl.Diagnostics) {
	if v == nil {
		return defaultBudget, nil
	}
	d, err := time.ParseDuration(*v)
	if err != nil || d <= 0 {
		return 0, diag(attrRange(blk, "timeout"), "Invalid timeout", "%q is not a positive duration, such as \"100ms\".", *v)
	}
	return d, nil
}

// timeoutErr is the failure of a record that ran past its budget.
func timeoutErr(field string, budget time.Duration) *StepError {
	return stepErr("timeout", field, "the program ran longer than its timeout of %v on this record, and was stopped", budget)
}

// stuckStep is a step whose evaluations have a budget.
type stuckStep interface {
	// Stuck reports whether an evaluation has been running past its
	// budget by a margin (it did not stop when cancelled): for how long,
	// and the budget.
	Stuck(now time.Time) (running, budget time.Duration, stuck bool)
}

// stuckGrace is how long past its budget an evaluation may take to stop
// before readiness reports it.
const stuckGrace = time.Second

// stuck reports an evaluation running past the budget and stuckGrace.
func (d *deadline) stuck(now time.Time) (time.Duration, time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running {
		return 0, d.timeout, false
	}
	el := now.Sub(d.started)
	return el, d.timeout, el > d.timeout+stuckGrace
}
