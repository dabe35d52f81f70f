package rules

import (
	"context"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
)

// Every parse block takes optional = true (or on_no_match = "keep"): a
// record the step does not match goes on to the next step with the fields
// it has, instead of becoming a dead letter. on_no_match = "dead_letter" is
// the default.
var optionalSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "optional"}, {Name: "on_no_match"}}}

// skippable are the reasons an optional step lets pass: the input is not
// in the step's format, or the field it reads is not there. A match whose
// values break the schema still dead-letters the record.
var skippable = map[string]bool{"no_match": true, "bad_json": true, "missing_field": true}

// decodeOptional takes optional and on_no_match out of a parse block,
// returning the block the parser decodes (without them) and whether the
// step is optional.
func decodeOptional(blk *hcl.Block, ctx *hcl.EvalContext) (*hcl.Block, bool, hcl.Diagnostics) {
	content, remain, diags := blk.Body.PartialContent(optionalSchema)
	rest := *blk
	rest.Body = remain
	optional := false
	if a, ok := content.Attributes["optional"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &optional)...)
	}
	if a, ok := content.Attributes["on_no_match"]; ok {
		var v string
		if d := gohcl.DecodeExpression(a.Expr, ctx, &v); d.HasErrors() {
			return &rest, false, append(diags, d...)
		}
		switch v {
		case "keep":
			optional = true
		case "dead_letter":
			if _, both := content.Attributes["optional"]; both && optional {
				diags = append(diags, diag(a.Expr.Range(), "Conflicting settings",
					`optional = true keeps unmatched records, on_no_match = "dead_letter" dead-letters them: keep one of the two.`)...)
			}
		default:
			diags = append(diags, diag(a.Expr.Range(), "Invalid on_no_match",
				"%q: use \"keep\" (an unmatched record goes on with the fields it has, like optional = true) or \"dead_letter\" (the default).%s",
				v, didYouMean(v, []string{"keep", "dead_letter"}, "values"))...)
		}
	}
	return &rest, optional, diags
}

// optionalStep runs a parse step and lets a record it does not match go
// on unchanged (the parse steps touch a record only when they match).
type optionalStep struct{ Step }

func (s optionalStep) Apply(ctx context.Context, r *agent.Record) error {
	err := s.Step.Apply(ctx, r)
	if se, ok := err.(*StepError); ok && skippable[se.Reason] {
		// remove_field holds whether or not the step matched: the field
		// was read.
		if in, ok := s.Step.(interface{ removed() string }); ok {
			if f := in.removed(); f != "" {
				r.Delete(f)
			}
		}
		return nil
	}
	return err
}

func (s optionalStep) Produces() ([]string, bool) {
	if p, ok := s.Step.(producer); ok {
		return p.Produces()
	}
	return nil, false
}

func (s optionalStep) Notes() []string {
	if n, ok := s.Step.(interface{ Notes() []string }); ok {
		return n.Notes()
	}
	return nil
}
