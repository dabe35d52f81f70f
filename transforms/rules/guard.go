package rules

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/octostore/agent/agent"
)

// The guards around a user's program, for every record: a panic in a step
// dead-letters the record (reason panic, the step named) and the pipeline
// goes on; a record the process died on twice in a row (agent.InFlight)
// is dead-lettered (reason crashed) instead of being run a third time; a
// step stuck past its budget shows in readiness (Ready).

// runsProgram reports whether a step runs a user's program, whose time
// and memory depend on the program (awk, jq, expr): transforms with one
// mark each record in flight. A jq query of the fast path's shape does
// not count: selects and one object of fields, literals and comparisons
// run in time and memory bounded by the record's fields, on gojq too.
func runsProgram(s Step) bool {
	switch s := s.(type) {
	case *jqStep:
		return s.fast == nil
	case *awkStep, *setStep, *whereStep:
		return true
	}
	return false
}

// openGuard opens the in-flight marker when the transform runs a program
// and has a data dir.
func (t *transform) openGuard() {
	if t.set.DataDir == "" {
		return
	}
	for _, s := range t.cfg.Steps {
		if runsProgram(s) {
			m, err := agent.OpenInFlight(t.set.DataDir, t.set.ID, t.set.Logger)
			if err != nil {
				if t.set.Logger != nil {
					t.set.Logger.Warn("cannot keep the in-flight marker: a record that kills the agent will not be recognised at the next start", "error", err)
				}
				return
			}
			t.inflight = m
			return
		}
	}
}

// guarded runs r through the transform with the guards on.
func (t *transform) guarded(ctx context.Context, r *agent.Record) (recs []agent.Record, one bool, err error) {
	t.curStep = nil
	if m := t.inflight; m != nil {
		if m.Poisoned(&r.Origin) {
			return nil, false, &stepFailure{step: "transform", err: stepErr("crashed", "",
				"the agent died %d times in a row while running this record; it is dead-lettered instead of being run again", m.Strikes(&r.Origin))}
		}
		m.Begin(&r.Origin)
		defer m.End()
	}
	defer func() {
		if p := recover(); p != nil {
			step := "transform"
			if t.curStep != nil {
				step = t.curStep.Name()
			}
			if t.set.Logger != nil {
				t.set.Logger.Error("a step panicked on a record; it is dead-lettered (reason panic) and the pipeline goes on",
					"step", step, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			recs, one, err = nil, false, &stepFailure{step: step, err: stepErr("panic", "", "the step panicked: %v", p)}
		}
	}()
	return t.run(ctx, r)
}

// Ready implements agent.ReadinessReporter: a step that has run past its
// budget and did not stop when told.
func (t *transform) Ready() error {
	now := time.Now()
	steps := t.cfg.Steps
	if t.untraced != nil { // Trace wrapped them
		steps = t.untraced.Steps
	}
	for _, s := range steps {
		if st, ok := s.(stuckStep); ok {
			if running, budget, stuck := st.Stuck(now); stuck {
				return fmt.Errorf("step %s has run %v on one record, past its budget of %v, and did not stop", s.Name(), running.Round(time.Millisecond), budget)
			}
		}
	}
	return nil
}

// Close implements agent.Closer.
func (t *transform) Close() error {
	if t.inflight != nil {
		return t.inflight.Close()
	}
	return nil
}
