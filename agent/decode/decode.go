// Package decode is what a component's config decoder may use besides its
// own block: the decode context (the schemas declared anywhere in the
// config) and the helpers that turn mistakes into diagnostics with a
// file:line:col subject and a hint. It is part of the core: the loader
// (agent/config) fills it, components read it, and neither imports the
// other.
package decode

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent/schema"
)

// Env is what a self-decoding config can refer to besides its own body.
type Env struct {
	// Schemas holds the schema blocks by name, wherever they are written.
	Schemas map[string]*schema.Schema
}

// HCLDecoder is implemented by component configs that decode their own
// body, such as a transform whose steps are ordered blocks, or a sink that
// splits its attributes between two structs. Configs without it are
// decoded with gohcl tags.
type HCLDecoder interface {
	DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, env *Env) hcl.Diagnostics
}

// SchemaRef resolves `schema = schema.NAME` (a reference, not a string) to
// a declared schema, with a diagnostic at the reference when it is not one.
func (e *Env) SchemaRef(a *hcl.Attribute) (*schema.Schema, hcl.Diagnostics) {
	tr, d := hcl.AbsTraversalForExpr(a.Expr)
	if d.HasErrors() || len(tr) != 2 || tr.RootName() != "schema" {
		return nil, Errorf(a.Expr.Range(), "Invalid schema reference",
			"Write schema = schema.NAME, without quotes, naming a schema block.")
	}
	name := tr[1].(hcl.TraverseAttr).Name
	if s, ok := e.Schemas[name]; ok {
		return s, nil
	}
	names := make([]string, 0, len(e.Schemas))
	for n := range e.Schemas {
		names = append(names, "schema."+n)
	}
	sort.Strings(names)
	return nil, Errorf(a.Expr.Range(), "Unknown schema schema."+name, "%s", DidYouMean("schema."+name, names, "schemas"))
}

// Errorf returns one error diagnostic at r.
func Errorf(r hcl.Range, summary, detail string, args ...any) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: r.Ptr()}}
}

// AttrRange returns the range of an attribute's value in a block, or the
// block's range when the attribute is not written.
func AttrRange(blk *hcl.Block, name string) hcl.Range {
	c, _, _ := blk.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	if c != nil {
		if a, ok := c.Attributes[name]; ok {
			return a.Expr.Range()
		}
	}
	return blk.DefRange
}

// Split decodes a block whose attributes are split between two structs:
// cfg holds the block's own attributes (gohcl tags) and a `hcl:",remain"`
// field, remain, whose attributes then go into shared (the part several
// components have in common, such as the HTTP sinks' batching and retries).
func Split(body hcl.Body, ctx *hcl.EvalContext, cfg any, remain *hcl.Body, shared any) hcl.Diagnostics {
	d := gohcl.DecodeBody(body, ctx, cfg)
	if d.HasErrors() || *remain == nil {
		return d
	}
	return append(d, gohcl.DecodeBody(*remain, ctx, shared)...)
}
