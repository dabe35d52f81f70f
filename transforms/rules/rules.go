// Package rules is the `transform "NAME"` component: ordered steps that
// turn a raw line into a typed metadata record. A record a step cannot
// handle goes to the transform's dead_letter output with the reason.
package rules

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
)

//go:embed example.hcl
var example string

// Step is one rule step. Apply edits r in place; an error dead-letters the
// record (a *StepError carries field errors and a metric reason).
type Step interface {
	Name() string
	Apply(ctx context.Context, r *agent.Record) error
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

// stepFactory decodes one step block into a ready step (regexes compiled).
type stepFactory func(block *hcl.Block, ctx *hcl.EvalContext) (Step, hcl.Diagnostics)

var parsers = map[string]stepFactory{
	"regex": newRegexStep,
	"json":  newJSONStep,
}

// Config is the `transform` block: its steps in the order written.
type Config struct {
	Kind  string
	Steps []Step
}

// DecodeHCL decodes the steps in order, compiling each one.
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "kind"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "parse", LabelNames: []string{"type"}}},
	})
	if a, ok := content.Attributes["kind"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &c.Kind)...)
	}
	for _, blk := range content.Blocks {
		f, ok := parsers[blk.Labels[0]]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("Unknown parser %q", blk.Labels[0]),
				Detail:  "Known parsers: json, regex.", Subject: blk.LabelRanges[0].Ptr()})
			continue
		}
		s, d := f(blk, ctx)
		diags = append(diags, d...)
		if s != nil {
			c.Steps = append(c.Steps, s)
		}
	}
	return diags
}

// NewFactory returns the factory of `transform "NAME"`.
func NewFactory() *agent.Factory {
	return &agent.Factory{
		Kind: agent.KindTransform, Type: "",
		Description: "Ordered rule steps that turn raw lines into typed metadata records; failures go to dead_letter.",
		Example:     example,
		NewConfig:   func() any { return &Config{} },
		Create: func(set agent.Settings, cfg any) (any, error) {
			c := cfg.(*Config)
			t := &transform{cfg: c, set: set, kind: c.Kind, reasons: map[string]prometheus.Counter{}}
			if t.kind == "" {
				t.kind = set.Name // a parsed record is no longer "raw"
			}
			return t, nil
		},
	}
}

type transform struct {
	cfg     *Config
	kind    string
	set     agent.Settings
	reasons map[string]prometheus.Counter // only touched by the transform's goroutine
}

// Process runs the steps over each record, in order. Records that pass go
// to the main output; the others, as dead letters, to dead_letter.
func (t *transform) Process(ctx context.Context, b agent.Batch) error {
	out := b[:0]
	var dead agent.Batch
	for i := range b {
		r := &b[i]
		if err := t.apply(ctx, r); err != nil {
			dead = append(dead, t.deadLetter(r, err))
			continue
		}
		out = append(out, *r)
	}
	if len(dead) > 0 {
		if err := t.set.DeadLetter.Emit(ctx, dead); err != nil {
			agent.AckAll(out, agent.Failed)
			return err
		}
	}
	return t.set.Out.Emit(ctx, out)
}

func (t *transform) apply(ctx context.Context, r *agent.Record) error {
	for _, s := range t.cfg.Steps {
		if err := s.Apply(ctx, r); err != nil {
			return &stepFailure{step: s.Name(), err: err}
		}
	}
	r.Kind = t.kind
	r.Origin.Derive(t.set.ID, 0)
	return nil
}

type stepFailure struct {
	step string
	err  error
}

func (e *stepFailure) Error() string { return e.step + ": " + e.err.Error() }

func (t *transform) deadLetter(r *agent.Record, err error) agent.Record {
	f := err.(*stepFailure)
	d := agent.DeadLetter{Component: t.set.ID, Step: f.step, Reason: "step_failed"}
	if se, ok := f.err.(*StepError); ok {
		d.Reason, d.Errors = se.Reason, se.Errors
	} else {
		d.Errors = []agent.FieldError{{Error: f.err.Error()}}
	}
	c, ok := t.reasons[d.Reason]
	if !ok {
		c = t.set.Metrics.DeadLetter(d.Reason)
		t.reasons[d.Reason] = c
	}
	c.Inc()
	return agent.NewDeadLetter(r, d)
}
