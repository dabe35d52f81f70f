package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
)

// Component blocks (source, transform, sink): their labels, buffer block,
// inputs and the component's own config.

type bufferBlock struct {
	Type       string  `hcl:"type,optional"`
	MaxRecords *int    `hcl:"max_records,optional"`
	MaxBytes   *string `hcl:"max_bytes,optional"`
	WhenFull   string  `hcl:"when_full,optional"`
}

func (l *loader) decodeComponent(blk *hcl.Block, ctx *hcl.EvalContext) {
	kind := agent.Kind(blk.Type)
	// source "TYPE" "NAME", sink "TYPE" "NAME", transform "TYPE" "NAME",
	// and transform "NAME" for a transform of the default type.
	typ, name, typeRange, nameRange := DefaultTransformType, blk.Labels[0], blk.DefRange, blk.LabelRanges[0]
	if len(blk.Labels) == 2 {
		typ, name, typeRange, nameRange = blk.Labels[0], blk.Labels[1], blk.LabelRanges[0], blk.LabelRanges[1]
	}
	if !hclsyntax.ValidIdentifier(name) {
		l.errorf(nameRange, "Invalid "+blk.Type+" name",
			"%q is not a valid name: names start with a letter or underscore and hold only letters, digits, underscores and dashes, so that references such as %s.%s work.", name, blk.Type, name)
		return
	}
	id := agent.ComponentID(kind, typ, name)
	if name == agent.DeadLetterPort {
		l.errorf(nameRange, "Reserved "+blk.Type+" name",
			"%q is the name of every component's dead-letter output (%s.dead_letter), so a component cannot have it. Choose another name.", name, blk.Type)
		l.broken[id] = true
		return
	}
	if prev, dup := l.byID[id]; dup {
		l.errorf(blk.DefRange, "Duplicate "+blk.Type+" "+strings.TrimPrefix(id, blk.Type+"."),
			"%s was already defined at %s. Give each %s a distinct name.", id, pos(prev.DefRange), blk.Type)
		return
	}
	f, ok := l.reg.Lookup(kind, typ)
	if !ok {
		l.errorf(typeRange, fmt.Sprintf("Unknown %s type %q", blk.Type, typ),
			"%s", decode.DidYouMean(typ, l.reg.Types(kind), blk.Type+" types"))
		l.broken[id] = true
		return
	}
	c := &Component{ID: id, Kind: kind, Type: typ, Name: name, Factory: f, DefRange: blk.DefRange, Body: blk.Body}
	l.byID[id] = c
	l.comps = append(l.comps, c)

	schema := &hcl.BodySchema{}
	if kind != agent.KindSource {
		schema.Attributes = []hcl.AttributeSchema{{Name: "inputs", Required: true}}
		schema.Blocks = []hcl.BlockHeaderSchema{{Type: "buffer"}}
	}
	content, remain, d := blk.Body.PartialContent(schema)
	l.diags = append(l.diags, d...)
	if a, ok := content.Attributes["inputs"]; ok {
		c.inputsAt = a.Expr.Range().Ptr()
		c.Inputs = l.decodeInputs(a)
	}
	for i, b := range content.Blocks {
		if i > 0 {
			l.errorf(b.DefRange, "Duplicate buffer block", "A component takes one buffer block; the first is at %s.", pos(content.Blocks[0].DefRange))
			continue
		}
		c.Buffer = l.decodeBuffer(b, ctx, kind)
		c.Queue = c.Buffer.MaxRecords
		if c.Buffer.Type == "memory" {
			c.QueueBytes = int(c.Buffer.MaxBytes)
		}
	}

	cfg := f.NewConfig()
	if dec, ok := cfg.(decode.HCLDecoder); ok {
		d = dec.DecodeHCL(remain, ctx, l.env)
	} else {
		d = gohcl.DecodeBody(remain, ctx, cfg)
	}
	d = dropUnknownCascade(d)
	l.diags = append(l.diags, d...)
	if d.HasErrors() {
		return
	}
	if v, ok := cfg.(agent.Validator); ok {
		if err := v.Validate(); err != nil {
			l.validationDiags(blk, err)
			return // c.Config stays nil: no claims, no graph node
		}
	}
	c.Config = cfg
}

func (l *loader) decodeBuffer(b *hcl.Block, ctx *hcl.EvalContext, kind agent.Kind) agent.BufferSpec {
	var bb bufferBlock
	if d := dropUnknownCascade(gohcl.DecodeBody(b.Body, ctx, &bb)); d.HasErrors() {
		l.diags = append(l.diags, d...)
		return agent.BufferSpec{}
	}
	spec := agent.BufferSpec{Type: bb.Type, WhenFull: bb.WhenFull}
	if spec.Type == "" {
		spec.Type = "memory"
	}
	if spec.WhenFull == "" {
		spec.WhenFull = "block"
	}
	switch spec.Type {
	case "memory":
	case "disk":
		if kind != agent.KindSink {
			l.errorf(attrRange(b.Body, "type", b.DefRange), "Disk buffers are for sinks",
				"Only a sink can have a disk buffer; a %s takes type = \"memory\".", kind)
		}
	default:
		l.errorf(attrRange(b.Body, "type", b.DefRange), "Unknown buffer type",
			"Buffer type %q does not exist. Use type = \"memory\" (the default) or \"disk\".", bb.Type)
	}
	switch spec.WhenFull {
	case "block":
	case "drop_newest":
		if spec.Type == "memory" {
			l.errorf(attrRange(b.Body, "when_full", b.DefRange), "Unsupported when_full",
				"A memory buffer always blocks (it slows the sources down, and loses nothing). when_full = \"drop_newest\" is for disk buffers.")
		}
	default:
		l.errorf(attrRange(b.Body, "when_full", b.DefRange), "Unknown when_full",
			"when_full = %q does not exist. Use \"block\" (slow the sources down) or \"drop_newest\" (disk buffers only).", bb.WhenFull)
	}
	if bb.MaxRecords != nil {
		if *bb.MaxRecords < 1 {
			l.errorf(attrRange(b.Body, "max_records", b.DefRange), "Invalid max_records", "max_records must be at least 1.")
		} else {
			spec.MaxRecords = *bb.MaxRecords
		}
	}
	if bb.MaxBytes != nil {
		n, err := agent.ParseBytes(*bb.MaxBytes)
		if err != nil || n <= 0 {
			l.errorf(attrRange(b.Body, "max_bytes", b.DefRange), "Invalid max_bytes",
				"%q is not a size. Write it as a number with a unit, such as \"512MiB\" or \"1GiB\".", *bb.MaxBytes)
		} else {
			spec.MaxBytes = n
		}
	}
	return spec
}

// decodeInputs turns `inputs = [source.file.nginx, transform.x.dead_letter]`
// into output IDs. References are traversals, not strings, so a wrong one
// is underlined where it stands.
func (l *loader) decodeInputs(a *hcl.Attribute) []Input {
	exprs, d := hcl.ExprList(a.Expr)
	if d.HasErrors() {
		l.inputsIncomplete = true
		l.errorf(a.Expr.Range(), "Invalid inputs", "inputs must be a list of component references, such as [source.file.nginx, transform.nginx_access.dead_letter].")
		return nil
	}
	if len(exprs) == 0 {
		l.errorf(a.Expr.Range(), "Empty inputs", "inputs must name at least one component, such as [source.file.nginx].")
	}
	var out []Input
	seen := map[string]bool{}
	for _, e := range exprs {
		tr, d := hcl.AbsTraversalForExpr(e)
		if d.HasErrors() {
			hint := "Write a reference without quotes, such as source.file.nginx."
			if tmpl, ok := e.(*hclsyntax.TemplateExpr); ok && tmpl.IsStringLiteral() {
				v, _ := tmpl.Value(nil)
				hint = fmt.Sprintf("Write the reference without quotes: %s instead of %q.", v.AsString(), v.AsString())
			}
			l.inputsIncomplete = true
			l.errorf(e.Range(), "Invalid reference in inputs", "%s", hint)
			continue
		}
		var parts []string
		ok := true
		for _, step := range tr {
			switch s := step.(type) {
			case hcl.TraverseRoot:
				parts = append(parts, s.Name)
			case hcl.TraverseAttr:
				parts = append(parts, s.Name)
			default:
				ok = false
			}
		}
		id := strings.Join(parts, ".")
		if !ok {
			l.errorf(e.Range(), "Invalid reference in inputs", "References have the form source.TYPE.NAME, transform.NAME or COMPONENT.dead_letter; indexes are not allowed.")
			continue
		}
		if seen[id] {
			l.errorf(e.Range(), "Duplicate input", "%s is listed twice in inputs; list it once.", id)
			continue
		}
		seen[id] = true
		out = append(out, Input{ID: id, Range: e.Range()})
	}
	return out
}

// validationDiags turns a config's Validate errors into diagnostics at the
// attributes they concern.
func (l *loader) validationDiags(blk *hcl.Block, err error) {
	l.diags = append(l.diags, attrDiags(blk.Body, blk.DefRange, blk.Type, err)...)
}

// attrDiags turns the errors of a Validate or a Preflight into diagnostics
// at their attributes (AttrErrors), or at the block.
func attrDiags(body hcl.Body, def hcl.Range, blockType string, err error) hcl.Diagnostics {
	if err == nil {
		return nil
	}
	var diags hcl.Diagnostics
	add := func(r hcl.Range, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()})
	}
	for _, e := range flatten(err, nil) {
		var ae *agent.AttrError
		if errors.As(e, &ae) {
			detail := ae.Err.Error()
			if ae.Hint != "" {
				detail += ". " + ae.Hint
			}
			add(attrRange(body, ae.Attr, def), "Invalid "+ae.Attr, detail)
			continue
		}
		add(def, "Invalid "+blockType, e.Error())
	}
	return diags
}

// flatten lists the errors of err, going into errors.Join results at any
// depth (a Validate may join what its parts' validations joined).
func flatten(err error, out []error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = flatten(e, out)
		}
		return out
	}
	return append(out, err)
}
