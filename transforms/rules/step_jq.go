package rules

import (
	"context"
	"errors"
	"fmt"
	"math"
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
type jqStep struct {
	code     *gojq.Code
	timeout  time.Duration
	deadline *deadline
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
	return &jqStep{code: code, timeout: timeout, deadline: newDeadline(timeout)}, nil
}

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
	r.SetFields(objs[0])
	return nil
}

// ApplyMulti runs the query and returns each object it outputs.
func (s *jqStep) ApplyMulti(ctx context.Context, r *agent.Record) ([]map[string]any, error) {
	ctx = s.deadline.start(ctx)
	defer s.deadline.stop()
	iter := s.code.RunWithContext(ctx, jqInput(r))
	var out []map[string]any
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
		out = append(out, agent.Normalize(m).(map[string]any))
	}
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

// jqInput is the record's fields as gojq takes them, built straight from
// typed fields when the record has them.
func jqInput(r *agent.Record) map[string]any {
	if !r.Typed() {
		return toJQ(r.MaterializeFields()).(map[string]any)
	}
	fs := r.TypedFields()
	m := make(map[string]any, len(fs))
	for i := range fs {
		v := fs[i].Value
		switch v.Kind() {
		case agent.KindTime:
			m[fs[i].Key] = v.Time().Format(time.RFC3339Nano)
		case agent.KindInt:
			m[fs[i].Key] = toJQ(v.Int())
		default:
			m[fs[i].Key] = v.Any()
		}
	}
	return m
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
