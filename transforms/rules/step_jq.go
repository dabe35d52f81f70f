package rules

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/itchyny/gojq"

	"github.com/octostore/agent/agent"
)

const defaultJQTimeout = defaultBudget

// jq runs a jq query (github.com/itchyny/gojq, compiled once) over the
// record's fields, with a timeout per record since a query can loop
// forever. Each object it outputs becomes a record (usually one); no
// output drops the record; a non-object output dead-letters it.
//
// The query gets only the fields it reads (see jqReads), and an object it
// outputs whose values are all scalars becomes typed fields again.
type jqStep struct {
	code  *gojq.Code
	reads jqReads
	fast  *jqFast // nil: every record runs on gojq
	// one holds the fast path's output: the caller uses it before the
	// next record (steps run on their transform's goroutine only).
	one      [1]jqObject
	timeout  time.Duration
	deadline *deadline
	note     string // how the query runs (octoagent validate)
}

type jqBlock struct {
	Query   string  `hcl:"query"`
	Timeout *string `hcl:"timeout,optional"`
}

func newJQBlockStep(blk *hcl.Block, ctx *hcl.EvalContext, _ *stepEnv) (Step, hcl.Diagnostics) {
	var c jqBlock
	if d := gohcl.DecodeBody(blk.Body, ctx, &c); d.HasErrors() {
		return nil, d
	}
	timeout, d := stepTimeout(blk, c.Timeout)
	if d.HasErrors() {
		return nil, d
	}
	return newJQ(c.Query, timeout, attrRange(blk, "query"))
}

func newJQ(src string, timeout time.Duration, at hcl.Range) (Step, hcl.Diagnostics) {
	q, err := gojq.Parse(src)
	if err != nil {
		detail := err.Error()
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			detail = fmt.Sprintf("%v, at byte %d of the query", err, pe.Offset)
		}
		return nil, diag(at, "Invalid jq query", "%s", detail)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, diag(at, "Invalid jq query", "%v", err)
	}
	s := &jqStep{code: code, reads: analyseJQ(q), fast: compileJQFast(q), timeout: timeout, deadline: newDeadline(timeout)}
	s.note = fmt.Sprintf("%s:%d:%d: jq: %s", at.Filename, at.Start.Line, at.Start.Column, s.how())
	return s, nil
}

// how says how the query runs, for octoagent validate.
func (s *jqStep) how() string {
	switch {
	case s.fast != nil:
		return "native (run on the typed fields without gojq; a record that would give a null in the object, or with a field holding a list or an object, runs on gojq)"
	case s.reads.whole:
		return "gojq, given the whole record (the query may look at the record as a value, or at keys it does not name)"
	}
	return fmt.Sprintf("gojq, given only the fields it reads (%s)", strings.Join(s.reads.keys, ", "))
}

// Notes implements the notes octoagent validate prints.
func (s *jqStep) Notes() []string { return []string{s.note} }

func (s *jqStep) Name() string { return "jq" }

// Stuck implements stuckStep.
func (s *jqStep) Stuck(now time.Time) (time.Duration, time.Duration, bool) {
	return s.deadline.stuck(now)
}
func (s *jqStep) Produces() ([]string, bool) { return nil, true }

func (s *jqStep) Apply(ctx context.Context, r *agent.Record) error {
	objs, err := s.ApplyMulti(ctx, r)
	if err != nil {
		return err
	}
	if len(objs) != 1 {
		return stepErr("jq", "", "the query gave %d results where one object was expected", len(objs))
	}
	obj := objs[0]
	obj.setOn(r)
	return nil
}

// jqObject is one object a jq query output: typed fields when its values
// are all scalars, else a fields map.
//
// Typed fields with a lender were made by the step's fast path (plain
// keys), in memory carved for the record it ran on (jqFast.slab, with a
// reference held by the record's token): the record keeps them.
type jqObject struct {
	typed  agent.TypedFields
	fields map[string]any
	lender *jqFast
}

// setOn replaces r's fields with the object.
func (o jqObject) setOn(r *agent.Record) {
	switch {
	case o.fields != nil:
		r.SetFields(o.fields)
	case o.lender != nil: // the fast path's, whose keys are plain (compileJQFast)
		r.SetTypedFlat(o.typed)
	default:
		r.SetTyped(o.typed)
	}
}

// Map returns the object as a fields map.
func (o jqObject) Map() map[string]any {
	if o.fields != nil {
		return o.fields
	}
	m := make(map[string]any, len(o.typed))
	for _, f := range o.typed {
		m[f.Key] = f.Any()
	}
	return m
}

// ApplyMulti runs the query and returns each object it outputs.
func (s *jqStep) ApplyMulti(ctx context.Context, r *agent.Record) ([]jqObject, error) {
	if s.fast != nil {
		if obj, out, ok := s.fast.run(r); ok {
			if !out {
				return nil, nil
			}
			s.one[0] = obj
			return s.one[:], nil
		}
	}
	ctx = s.deadline.start(ctx)
	defer s.deadline.stop()
	in := s.input(r)
	iter := s.code.RunWithContext(ctx, in)
	var out []jqObject
	for {
		v, ok := iter.Next()
		if !ok {
			return out, nil
		}
		if err, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return out, nil
			}
			if ctx.Err() != nil {
				return nil, timeoutErr("", s.timeout)
			}
			return nil, stepErr("jq", "", "%v", err)
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, stepErr("jq", "", "the query output %s, not an object", jqType(v))
		}
		if s.reads.mayOutput && sameMap(m, in) {
			// The query output its input unchanged: the record's fields
			// as the query would have seen them.
			out = append(out, jqWhole(r))
			continue
		}
		out = append(out, jqObjectOf(agent.Normalize(m).(map[string]any)))
	}
}

// sameMap reports whether a and b are the same map (not equal ones).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// jqObjectOf holds an output object as typed fields when it can.
func jqObjectOf(m map[string]any) jqObject {
	if fs, ok := agent.TypedOf(m); ok {
		return jqObject{typed: fs}
	}
	return jqObject{fields: m}
}

// jqWhole is the record's fields as a query that outputs its input gives
// them back: times as RFC 3339 strings, the rest as they are.
func jqWhole(r *agent.Record) jqObject {
	if !r.Typed() {
		return jqObjectOf(agent.Normalize(toJQ(r.MaterializeFields())).(map[string]any))
	}
	fs := slices.Clone(r.TypedFields())
	for i := range fs {
		fs[i].Value = jqSeen(fs[i].Value)
	}
	return jqObject{typed: fs}
}

func jqType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// input is what the query runs on: the fields it reads, or all of them.
func (s *jqStep) input(r *agent.Record) map[string]any {
	if s.reads.whole {
		return jqInput(r)
	}
	m := make(map[string]any, len(s.reads.keys))
	for _, k := range s.reads.keys {
		if r.Typed() {
			if v, ok := r.TypedFields().Lookup(k); ok {
				m[k] = jqValue(v)
			}
		} else if v, ok := r.Get(k); ok {
			m[k] = toJQ(v)
		}
	}
	return m
}

// jqInput is the record's fields as gojq takes them, built straight from
// typed fields when the record has them.
func jqInput(r *agent.Record) map[string]any {
	if !r.Typed() {
		return toJQ(r.MaterializeFields()).(map[string]any)
	}
	fs := r.TypedFields()
	m := make(map[string]any, len(fs))
	for i := range fs {
		m[fs[i].Key] = jqValue(fs[i].Value)
	}
	return m
}

// jqValue is a typed value as gojq takes it.
func jqValue(v agent.Value) any {
	switch v.Kind() {
	case agent.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case agent.KindInt:
		return toJQ(v.Int())
	}
	return v.Any()
}

// toJQ converts JSON-shaped values to the types gojq takes (int, not int64;
// times as RFC 3339 strings).
func toJQ(v any) any {
	switch t := v.(type) {
	case int64:
		if t >= math.MinInt && t <= math.MaxInt {
			return int(t)
		}
		return float64(t)
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano)
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = toJQ(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = toJQ(e)
		}
		return l
	}
	return v
}
