// Package rules is the `transform "NAME"` component: ordered steps that
// turn a raw line into a typed metadata record, checked against a schema.
// A record a step cannot handle, or that fails its schema, goes to the
// transform's dead_letter output with the reason, per field.
package rules

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/schema"
)

//go:embed example.hcl
var example string

// Step is one rule step, compiled when the config loads.
type Step interface {
	// Name is the step as written: "parse.regex", "jq", "set", "where".
	Name() string
	// Apply edits r in place. It returns errDrop to drop the record (a
	// where filter), or an error (a *StepError carries field errors) to
	// dead-letter it.
	Apply(ctx context.Context, r *agent.Record) error
}

// multiStep is a step that can turn one record into several (jq).
type multiStep interface {
	Step
	ApplyMulti(ctx context.Context, r *agent.Record) ([]jqObject, error)
}

// producer is a step that knows the fields it sets; all=true when it may
// set any field (json, jq without a literal object).
type producer interface {
	Produces() (names []string, all bool)
}

// StepError is why a step failed on a record.
type StepError struct {
	Reason string // metric label: "no_match", "bad_json"
	Errors []agent.FieldError
}

func (e *StepError) Error() string {
	if len(e.Errors) == 0 {
		return e.Reason
	}
	s := ""
	for i, fe := range e.Errors {
		if i > 0 {
			s += "; "
		}
		if fe.Field != "" {
			s += fe.Field + ": "
		}
		s += fe.Error
	}
	return s
}

func stepErr(reason, field, format string, args ...any) *StepError {
	return &StepError{Reason: reason, Errors: []agent.FieldError{{Field: field, Error: fmt.Sprintf(format, args...)}}}
}

type dropped struct{}

func (dropped) Error() string { return "dropped by where" }

var errDrop error = dropped{}

// Config is the `transform` block: its steps in the order written.
type Config struct {
	Kind   string
	Entity []string
	Schema *schema.Schema
	Steps  []Step
}

// NewFactory returns the factory of `transform "rules" "NAME"` (written
// `transform "NAME"` for short).
func NewFactory() *agent.Factory {
	return agent.NewTransformFactory(agent.FactorySpec[Config, agent.Transform]{
		Type:        "rules",
		Description: "Ordered rule steps (regex, grok, split, awk, json, logfmt, kv, csv, syslog, jq, set, where, timestamp) that turn raw lines into typed records checked against a schema; failures go to dead_letter.",
		Example:     example,
		NewConfig:   func() *Config { return &Config{} },
		Create: func(set agent.Settings, cfg *Config) (agent.Transform, error) {
			return newTransform(set, cfg), nil
		},
		Forgets: forgets,
	})
}

// forgetting lists the steps that keep nothing of a record between
// records: what they read of one (fields viewing its Raw) is in that
// record alone, and a step's own state (timestampStep.at, a parser's
// scratch) holds positions, not values. awk (variables live from line
// to line) and jq (gojq's evaluation) are not known to.
var forgetting = map[string]bool{
	"parse.regex": true, "parse.split": true, "parse.grok": true,
	"set": true, "where": true, "timestamp": true,
}

// forgets reports whether every step of cfg is in forgetting
// (agent.FactorySpec.Forgets).
func forgets(cfg *Config) bool {
	for _, s := range cfg.Steps {
		if !forgetting[s.Name()] {
			return false
		}
	}
	return true
}

type transform struct {
	cfg     *Config
	set     agent.Settings
	kind    string
	reasons map[string]prometheus.Counter // only touched by the transform's goroutine
	drops   prometheus.Counter            // where filters
	jqEmpty prometheus.Counter            // jq steps that made no record
	// inflight marks the record being run (transforms that run a user's
	// program; see guard.go); curStep is the step running (named only if
	// it panics).
	inflight *agent.InFlight
	curStep  Step
	// multi: a step may make several records (jq); without one, steps
	// need not ask each step whether it is one.
	multi bool
	// parsed: a parse step read the current record's raw line (so a
	// message field equal to the line is a capture, and is kept).
	parsed bool
	// untraced is the config as loaded, once Trace has wrapped the steps
	// of cfg (trace.go).
	untraced *Config
	// one is where run makes the record of a jq step's one output; slab
	// holds the fields of the records fanOut makes from the fast path's
	// object.
	one  agent.Record
	slab fieldSlab
	// ruleIn and ruleOut: see derive.
	ruleIn, ruleOut string
}

func newTransform(set agent.Settings, c *Config) *transform {
	t := &transform{cfg: c, set: set, kind: c.Kind, reasons: map[string]prometheus.Counter{},
		drops: set.Metrics.Drop("where"), jqEmpty: set.Metrics.Drop("jq_empty")}
	if t.kind == "" && c.Schema != nil {
		t.kind = c.Schema.Name
	}
	if t.kind == "" {
		t.kind = set.Name // a parsed record is no longer "raw"
	}
	t.multi = slices.ContainsFunc(c.Steps, func(s Step) bool {
		_, ok := s.(multiStep)
		return ok // Trace wraps a multiStep in one
	})
	t.openGuard()
	return t
}

// Process runs the steps over each record, in order. Records that pass go
// to the main output; the others, as dead letters, to dead_letter; those a
// where filter drops are acknowledged as dropped and counted.
//
// The records that pass are compacted into b itself (b is the transform's
// once popped): each input makes at most one record, except where a jq step
// makes several, and then the output moves to a slice of its own first.
func (t *transform) Process(ctx context.Context, b agent.Batch) error {
	out := b[:0]
	inPlace := true
	var dead agent.Batch
	for i := range b {
		r := &b[i]
		readTime, readEntity := r.Time, r.Entity
		recs, one, err := t.guarded(ctx, r)
		switch {
		case err == errDrop:
			t.drops.Inc()
			r.Ack(agent.Dropped)
			continue
		case err != nil:
			// The dead letter carries the time and entity the record came
			// in with, not what a step set before the failure: with its
			// raw line and origin, that is the input itself, which
			// `octoagent replay` rebuilds.
			r.Time, r.Entity = readTime, readEntity
			dead = append(dead, t.deadLetter(r, err))
			continue
		case one:
			if inPlace && len(out) == i {
				out = out[:i+1] // already in its place
			} else {
				out = append(out, *r)
			}
			continue
		}
		if len(recs) == 0 { // a jq step made nothing, or where dropped all it made
			r.Ack(agent.Dropped)
			continue
		}
		if inPlace && len(out)+len(recs) > i+1 {
			// More records than inputs so far: they would overwrite
			// inputs not processed yet.
			moved := make(agent.Batch, len(out), len(out)+len(recs)+len(b)-i-1)
			copy(moved, out)
			out, inPlace = moved, false
		}
		out = append(out, recs...)
	}
	if len(dead) > 0 {
		if err := t.set.DeadLetter.Emit(ctx, dead); err != nil {
			agent.AckAll(out, agent.Failed)
			return err
		}
	}
	return t.set.Out.Emit(ctx, out)
}

// run applies every step, then kind, entity and schema. It returns one=true
// when r itself is the record made (the common case), else the records
// made, or the error that dead-letters r.
func (t *transform) run(ctx context.Context, r *agent.Record) (recs []agent.Record, one bool, err error) {
	raw := r.IsRaw()
	t.parsed = false
	objs, rest, err := t.steps(ctx, r, t.cfg.Steps, true)
	if err != nil {
		return nil, false, err
	}
	if objs != nil {
		switch len(objs) {
		case 0:
			t.jqEmpty.Inc()
		case 1:
			if len(rest) == 0 && t.cfg.Schema == nil && len(t.cfg.Entity) == 0 {
				// Nothing after the query can fail (finish fails on the
				// schema and entity only): r becomes the object at once.
				objs[0].setOn(r)
				_ = t.finish(r, 0, false) // cannot fail here, see above
				return nil, true, nil
			}
			// One object (the common case): it becomes r itself, as fanOut
			// would make it, without a slice of records. It is made in
			// t.one, so that r stays as it came for a dead letter.
			c := &t.one
			*c = *r
			defer func() { *c = agent.Record{} }()
			objs[0].setOn(c)
			if _, _, err := t.steps(ctx, c, rest, false); err != nil {
				return nil, false, err
			}
			if err := t.finish(c, 0, false); err != nil {
				return nil, false, err
			}
			*r = *c
			return nil, true, nil
		}
		recs, err = t.fanOut(ctx, r, objs, rest)
		return recs, false, err
	}
	if err := t.finish(r, 0, raw && r.HoldsTyped()); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// steps applies steps to r in order. When a step makes several records
// (the first jq step, when multi is set), it stops there and returns their
// fields and the steps left. Later jq steps must give one object each.
func (t *transform) steps(ctx context.Context, r *agent.Record, steps []Step, multi bool) ([]jqObject, []Step, error) {
	for i, s := range steps {
		t.curStep = s
		if multi && t.multi {
			if ms, ok := s.(multiStep); ok {
				objs, err := ms.ApplyMulti(ctx, r)
				if err != nil {
					return nil, nil, &stepFailure{step: s.Name(), err: err}
				}
				if objs == nil {
					objs = []jqObject{}
				}
				return objs, steps[i+1:], nil
			}
		}
		wasRaw := r.IsRaw()
		err := s.Apply(ctx, r)
		if wasRaw && err == nil && !r.IsRaw() && strings.HasPrefix(s.Name(), "parse.") {
			t.parsed = true
		}
		if err != nil {
			if err == errDrop {
				return nil, nil, err
			}
			if se, ok := err.(*StepError); ok && se.Reason == "schema" && t.cfg.Schema != nil {
				// List every field problem at once: the required fields
				// already missing join the type errors of the captures.
				se.Errors = append(se.Errors, t.cfg.Schema.Missing(r, se.Errors)...)
			}
			return nil, nil, &stepFailure{step: s.Name(), err: err}
		}
	}
	return nil, nil, nil
}

// fanOut continues the remaining steps for each object a jq step made.
// The extra records share r's token; a failing one dead-letters r whole.
func (t *transform) fanOut(ctx context.Context, r *agent.Record, objs []jqObject, rest []Step) ([]agent.Record, error) {
	recs := make([]agent.Record, 0, len(objs))
	for i, obj := range objs {
		c := *r
		if obj.lender != nil { // not made by the steps that borrow: kept at once
			obj.typed = append(t.slab.take(len(obj.typed), r.Token()), obj.typed...)
		}
		obj.setOn(&c)
		c.SetToken(nil)
		_, _, err := t.steps(ctx, &c, rest, false)
		switch {
		case err == errDrop:
			t.drops.Inc()
			continue
		case err != nil:
			return nil, err
		}
		if err := t.finish(&c, i, false); err != nil {
			return nil, err
		}
		recs = append(recs, c)
	}
	tok := r.Token()
	if tok != nil && len(recs) > 1 {
		tok.Add(int64(len(recs) - 1))
	}
	for i := range recs {
		recs[i].SetToken(tok)
	}
	if len(recs) > 0 {
		r.SetToken(nil) // carried on by recs
	}
	return recs, nil
}

// finish sets kind and entity, applies the schema, and derives the origin.
// captured says that r's fields were all captured by this transform's
// parse steps from the raw line (so the schema has typed them already).
func (t *transform) finish(r *agent.Record, index int, captured bool) error {
	if r.IsRaw() {
		r.MaterializeFields() // no step parsed the line: fields.message
	}
	if t.cfg.Schema != nil {
		if errs := t.cfg.Schema.ApplyRecord(r, captured); len(errs) > 0 {
			return &stepFailure{step: "schema", err: &StepError{Reason: "schema", Errors: errs}}
		}
	}
	if len(t.cfg.Entity) > 0 {
		r.Entity = make([]agent.KV, 0, len(t.cfg.Entity))
		for _, k := range t.cfg.Entity {
			v, ok := r.Get(k)
			if !ok || v == nil {
				return &stepFailure{step: "entity", err: stepErr("entity", k, "entity field missing")}
			}
			r.Entity = append(r.Entity, agent.KV{Key: k, Value: fmt.Sprint(v)})
		}
	}
	if !t.parsed && r.Raw != nil {
		if m, ok := r.Lookup("message"); ok && m.Kind() == agent.KindString && m.Str() == string(r.Raw) {
			// still the raw line: keep it only if nothing else was parsed
			if r.NumFields() > 1 {
				r.Delete("message")
			}
		}
	}
	r.Kind = t.kind
	t.derive(&r.Origin, index)
	return nil
}

// derive is o.Derive(t.set.ID, index), remembering the chain of rules made
// for the last input that came through another transform: the records of
// a stream come with the same one, and then share the string.
func (t *transform) derive(o *agent.Origin, index int) {
	if o.Index == 0 && o.Rule != "" && o.Rule == t.ruleIn {
		o.Rule, o.Index = t.ruleOut, index
		return
	}
	in, inIndex := o.Rule, o.Index
	o.Derive(t.set.ID, index)
	if inIndex == 0 && in != "" {
		t.ruleIn, t.ruleOut = in, o.Rule
	}
}

type stepFailure struct {
	step string
	err  error
}

func (e *stepFailure) Error() string { return e.step + ": " + e.err.Error() }

func (t *transform) deadLetter(r *agent.Record, err error) agent.Record {
	d := agent.DeadLetter{Component: t.set.ID, Step: "transform", Reason: "step_failed"}
	if f, ok := err.(*stepFailure); ok {
		d.Step = f.step
		err = f.err
	}
	if se, ok := err.(*StepError); ok {
		d.Reason, d.Errors = se.Reason, se.Errors
	} else {
		d.Errors = []agent.FieldError{{Error: err.Error()}}
	}
	if t.cfg.Schema != nil {
		d.Schema, d.SchemaVersion = t.cfg.Schema.Name, t.cfg.Schema.Version
	}
	c, ok := t.reasons[d.Reason]
	if !ok {
		c = t.set.Metrics.DeadLetter(d.Reason)
		t.reasons[d.Reason] = c
	}
	c.Inc()
	return agent.NewDeadLetter(r, d)
}

// Notes says how steps run, such as the engine of each grok pattern and
// why: octoagent validate prints them.
func (c Config) Notes() []string {
	var out []string
	for _, s := range c.Steps {
		if n, ok := s.(interface{ Notes() []string }); ok {
			out = append(out, n.Notes()...)
		}
	}
	return out
}
