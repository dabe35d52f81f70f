package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
)

// stepFactory decodes one step block into a ready step (regexes compiled,
// programs parsed). Expressions are type-checked against env's schema.
type stepFactory func(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics)

// stepEnv is what steps may know at load time.
type stepEnv struct {
	schema *schema.Schema
}

var parsers = map[string]stepFactory{
	"regex":  newRegexStep,
	"grok":   newGrokStep,
	"split":  newSplitStep,
	"awk":    newAwkStep,
	"json":   newJSONStep,
	"logfmt": newLogfmtStep,
	"kv":     newKVStep,
	"syslog": newSyslogStep,
	"csv":    newCSVStep,
}

var blockSteps = map[string]stepFactory{
	"jq":        newJQBlockStep,
	"set":       newSetStep,
	"where":     newWhereBlockStep,
	"timestamp": newTimestampStep,
}

func parserNames() []string {
	var out []string
	for k := range parsers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var bodySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "kind"}, {Name: "schema"}, {Name: "entity"}, {Name: "where"}, {Name: "jq"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "parse", LabelNames: []string{"type"}},
		{Type: "jq"}, {Type: "set"}, {Type: "where"}, {Type: "timestamp"},
	},
}

type positioned struct {
	at   hcl.Pos
	step Step
}

// DecodeHCL decodes the transform body: kind, entity and schema, and the
// steps in the order they are written (blocks and the where/jq attributes,
// by position).
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, env *decode.Env) hcl.Diagnostics {
	content, diags := body.Content(bodySchema)
	if a, ok := content.Attributes["kind"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &c.Kind)...)
	}
	if a, ok := content.Attributes["entity"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &c.Entity)...)
	}
	if a, ok := content.Attributes["schema"]; ok {
		s, d := env.SchemaRef(a)
		c.Schema = s
		diags = append(diags, d...)
	}
	senv := &stepEnv{schema: c.Schema}
	var steps []positioned
	for _, blk := range content.Blocks {
		var f stepFactory
		switch blk.Type {
		case "parse":
			var ok bool
			if f, ok = parsers[blk.Labels[0]]; !ok {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
					Summary: fmt.Sprintf("Unknown parser %q", blk.Labels[0]),
					Detail:  didYouMean(blk.Labels[0], parserNames(), "parsers"), Subject: blk.LabelRanges[0].Ptr()})
				continue
			}
		default:
			f = blockSteps[blk.Type]
		}
		optional := false
		if blk.Type == "parse" {
			var d hcl.Diagnostics
			blk, optional, d = decodeOptional(blk, ctx)
			diags = append(diags, d...)
		}
		s, d := f(blk, ctx, senv)
		diags = append(diags, d...)
		if s != nil && optional {
			s = optionalStep{s}
		}
		if s != nil {
			steps = append(steps, positioned{blk.DefRange.Start, s})
		}
	}
	for _, name := range []string{"where", "jq"} {
		a, ok := content.Attributes[name]
		if !ok {
			continue
		}
		var src string
		if d := gohcl.DecodeExpression(a.Expr, ctx, &src); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		var s Step
		var d hcl.Diagnostics
		if name == "where" {
			s, d = newWhere(src, a.Expr.Range(), senv)
		} else {
			s, d = newJQ(src, defaultJQTimeout, a.Expr.Range())
		}
		diags = append(diags, d...)
		if s != nil {
			steps = append(steps, positioned{a.NameRange.Start, s})
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Byte < steps[j].at.Byte })
	for _, p := range steps {
		c.Steps = append(c.Steps, p.step)
	}
	c.sizeRooms()
	chainSplits(c.Steps)
	if c.Schema != nil && !diags.HasErrors() {
		diags = append(diags, c.checkRequired(body)...)
	}
	return diags
}

// sizeRooms gives each parse step room, in the typed fields of the records
// it starts, for exactly the fields the steps after it and the schema's
// defaults may add: a fixed 4 fields per record was mostly slack, and every
// byte of it is allocated per line. A later step that may set any field
// (json, jq) leaves the default room.
func (c *Config) sizeRooms() {
	later, open := 0, false
	if c.Schema != nil {
		for _, f := range c.Schema.Fields {
			if f.Default != nil {
				later++
			}
		}
	}
	for i := len(c.Steps) - 1; i >= 0; i-- {
		if r, ok := c.Steps[i].(interface{ setRoom(int) }); ok && !open {
			r.setRoom(later)
		}
		if p, ok := c.Steps[i].(producer); ok {
			names, all := p.Produces()
			open = open || all
			later += len(names)
		}
	}
}

// checkRequired warns about required schema fields that no step can set.
func (c *Config) checkRequired(body hcl.Body) hcl.Diagnostics {
	produced := map[string]bool{}
	for _, s := range c.Steps {
		p, ok := s.(producer)
		if !ok {
			continue
		}
		names, all := p.Produces()
		if all {
			return nil // a step may set any field: nothing to say
		}
		for _, n := range names {
			produced[n] = true
		}
	}
	var missing []string
	for _, f := range c.Schema.Fields {
		if f.Required && f.Default == nil && !produced[f.Name] {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	r := body.MissingItemRange()
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "schema"}}})
	if a, ok := content.Attributes["schema"]; ok {
		r = a.Expr.Range()
	}
	return hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Required fields no step sets",
		Detail: fmt.Sprintf("Schema %s requires %s, but no step of this transform sets %s, so every record would be dead-lettered. Capture them (a named group, a split name, set, or jq), or give them a default.",
			c.Schema.Name, strings.Join(missing, ", "), map[bool]string{true: "it", false: "them"}[len(missing) == 1]),
		Subject: &r}}
}

// attrRange returns the range of an attribute's value in a block, or the
// block's range.
func attrRange(blk *hcl.Block, name string) hcl.Range { return decode.AttrRange(blk, name) }

func diag(r hcl.Range, summary, detail string, args ...any) hcl.Diagnostics {
	return decode.Errorf(r, summary, detail, args...)
}

func didYouMean(given string, options []string, what string) string {
	return decode.DidYouMean(given, options, what)
}
