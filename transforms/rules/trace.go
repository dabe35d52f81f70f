package rules

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/octostore/agent/agent"
)

// Trace reports each step's work on each record to tr (agent.Traceable):
// the rule playground shows it. The steps are wrapped in a copy of the
// config, so a transform that is not traced runs its steps as they are,
// with no check per step.
func (t *transform) Trace(tr agent.StepTracer) {
	if t.untraced == nil {
		t.untraced = t.cfg
	}
	if tr == nil {
		t.cfg = t.untraced
		return
	}
	c := *t.untraced
	c.Steps = make([]Step, len(t.untraced.Steps))
	for i, s := range t.untraced.Steps {
		ts := tracedStep{Step: s, tr: tr, index: i + 1}
		if ms, ok := s.(multiStep); ok {
			c.Steps[i] = &tracedMulti{tracedStep: ts, multi: ms}
		} else {
			c.Steps[i] = &ts
		}
	}
	t.cfg = &c
}

// patterned is a step that tries patterns in order: which one matches r.
type patterned interface {
	matchedPattern(r *agent.Record) (n int, text string)
}

func (s *regexStep) matchedPattern(r *agent.Record) (int, string) {
	in, err := s.read(r)
	if err != nil {
		return 0, ""
	}
	for i, re := range s.patterns {
		if re.Match(in) {
			return i + 1, re.String()
		}
	}
	return 0, ""
}

func (s *grokStep) matchedPattern(r *agent.Record) (int, string) {
	in, err := s.read(r)
	if err != nil {
		return 0, ""
	}
	for i, gp := range s.pats {
		if ok, err := gp.m.Match(in, gp.slots); err == nil && ok {
			return i + 1, gp.p.Source
		}
	}
	return 0, ""
}

// tracedStep is a step that tells a tracer what it did.
type tracedStep struct {
	Step
	tr    agent.StepTracer
	index int
}

func (s *tracedStep) Apply(ctx context.Context, r *agent.Record) error {
	apply := s.Step.Apply
	if a, ok := s.Step.(interface {
		applyAlone(context.Context, *agent.Record) error
	}); ok {
		apply = a.applyAlone // each step's own work, never chained
	}
	var err error
	ev := s.run(r, func() { err = apply(ctx, r) })
	ev.Err = err
	s.tr(ev)
	return err
}

// run times fn, a step on r, and finds the pattern that matched; a panic
// is told to the tracer before it goes on.
func (s *tracedStep) run(r *agent.Record, fn func()) agent.StepEvent {
	ev := agent.StepEvent{Step: s.Name(), Index: s.index, Record: r}
	if p, ok := s.Step.(patterned); ok {
		ev.Pattern, ev.PatternText = p.matchedPattern(r) // before the step changes r
	}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			ev.Took = time.Since(start)
			ev.Panic = fmt.Sprintf("%v\n%s", p, debug.Stack())
			s.tr(ev)
			panic(p)
		}
	}()
	fn()
	ev.Took = time.Since(start)
	return ev
}

// tracedMulti is a traced step that can make several records (jq).
type tracedMulti struct {
	tracedStep
	multi multiStep
}

func (s *tracedMulti) ApplyMulti(ctx context.Context, r *agent.Record) ([]jqObject, error) {
	var objs []jqObject
	var err error
	ev := s.run(r, func() { objs, err = s.multi.ApplyMulti(ctx, r) })
	ev.Err = err
	for _, o := range objs {
		ev.Made = append(ev.Made, o.Map())
	}
	s.tr(ev)
	return objs, err
}
