package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"encoding/json"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

type schemaBlock struct {
	Version       *string      `hcl:"version,optional"`
	UnknownFields *string      `hcl:"unknown_fields,optional"`
	Fields        []fieldBlock `hcl:"field,block"`
	Remain        hcl.Body     `hcl:",remain"`
}

type fieldBlock struct {
	Name       string    `hcl:"name,label"`
	Type       string    `hcl:"type"`
	Required   *bool     `hcl:"required,optional"`
	Pattern    *string   `hcl:"pattern,optional"`
	Values     []string  `hcl:"values,optional"`
	Min        *float64  `hcl:"min,optional"`
	Max        *float64  `hcl:"max,optional"`
	Default    cty.Value `hcl:"default,optional"`
	Layout     *string   `hcl:"layout,optional"`
	Items      *string   `hcl:"items,optional"`
	NullValues []string  `hcl:"null_values,optional"`
	Volatile   *bool     `hcl:"volatile,optional"`
}

// Decode decodes a `schema "NAME" { ... }` block into a compiled schema,
// with every problem as a diagnostic at its attribute.
func Decode(blk *hcl.Block, ctx *hcl.EvalContext) (*Schema, hcl.Diagnostics) {
	// Decoding goes on past errors, so that one bad attribute does not
	// hide the schema from the transforms that use it (and their own
	// diagnostics, such as expression type errors, still show).
	var sb schemaBlock
	diags := gohcl.DecodeBody(blk.Body, ctx, &sb)
	diags = append(diags, checkEmpty(sb.Remain)...)
	s := &Schema{Name: blk.Labels[0]}
	if sb.Version != nil {
		s.Version = *sb.Version
	}
	if sb.UnknownFields != nil {
		s.UnknownFields = *sb.UnknownFields
		if !slices.Contains([]string{UnknownAllow, UnknownDrop, UnknownReject}, s.UnknownFields) {
			diags = append(diags, attrDiag(blk.Body, "unknown_fields", blk.DefRange, "Invalid unknown_fields",
				fmt.Sprintf("%q is not a policy. Use \"allow\" (keep undeclared fields), \"drop\" (remove them) or \"reject\" (dead-letter the record).", s.UnknownFields)))
		}
	}
	content, _, _ := blk.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "field", LabelNames: []string{"name"}}}})
	seen := map[string]hcl.Range{}
	for i, fb := range sb.Fields {
		fblk := content.Blocks[i]
		if prev, dup := seen[fb.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate field " + fb.Name,
				Detail:  fmt.Sprintf("Field %q is already declared at %s:%d:%d; declare each field once.", fb.Name, prev.Filename, prev.Start.Line, prev.Start.Column),
				Subject: fblk.DefRange.Ptr()})
			continue
		}
		seen[fb.Name] = fblk.DefRange
		f := &Field{Name: fb.Name, Type: Type(fb.Type), NullValues: fb.NullValues, Values: fb.Values, Min: fb.Min, Max: fb.Max}
		if !slices.Contains(Types, f.Type) {
			names := make([]string, len(Types))
			for i, t := range Types {
				names[i] = string(t)
			}
			diags = append(diags, attrDiag(fblk.Body, "type", fblk.DefRange, "Unknown field type",
				fmt.Sprintf("%q is not a type. Known types: %s.", fb.Type, strings.Join(names, ", "))))
			continue
		}
		if fb.Required != nil {
			f.Required = *fb.Required
		}
		if fb.Volatile != nil {
			f.Volatile = *fb.Volatile
		}
		if fb.Pattern != nil {
			re, err := regexp.Compile(*fb.Pattern)
			if err != nil {
				diags = append(diags, attrDiag(fblk.Body, "pattern", fblk.DefRange, "Invalid pattern", err.Error()+". Patterns use RE2 syntax."))
				continue
			}
			f.Pattern = re
		}
		if fb.Layout != nil {
			f.Layout = *fb.Layout
			if strings.Contains(f.Layout, "MST") && !strings.Contains(f.Layout, "-07") && !strings.Contains(f.Layout, "Z07") {
				// Go reads an abbreviation it does not know as UTC.
				diags = append(diags, attrDiag(fblk.Body, "layout", fblk.DefRange, "Zone abbreviation in a schema layout",
					fmt.Sprintf("The layout %q reads a zone abbreviation (MST), which is ambiguous (CST is US Central, China and Cuba time) and would be read as UTC when unknown. A schema layout has no timezone: declare the field a string and turn it into the record's time with a timestamp step, which takes timezone = \"America/Los_Angeles\"; or use a numeric offset (-0700).", f.Layout)))
				continue
			}
		}
		if fb.Items != nil {
			f.Items = Type(*fb.Items)
			if !slices.Contains(Types, f.Items) || f.Items == List || f.Items == Map || f.Items == Enum {
				diags = append(diags, attrDiag(fblk.Body, "items", fblk.DefRange, "Invalid items type",
					fmt.Sprintf("%q cannot be a list item type; use a scalar type such as \"string\" or \"int\".", *fb.Items)))
				continue
			}
		}
		if f.Type == Enum && len(f.Values) == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Enum without values",
				Detail: `An enum field lists its values: values = ["GET", "POST"].`, Subject: fblk.DefRange.Ptr()})
			continue
		}
		if !fb.Default.IsNull() {
			v, err := ctyToGo(fb.Default)
			if err != nil {
				diags = append(diags, attrDiag(fblk.Body, "default", fblk.DefRange, "Invalid default", err.Error()))
				continue
			}
			f.Default = v
		}
		s.Fields = append(s.Fields, f)
	}
	out, err := New(s)
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid schema " + s.Name, Detail: err.Error(), Subject: blk.DefRange.Ptr()})
		return nil, diags
	}
	return out, diags
}

func checkEmpty(body hcl.Body) hcl.Diagnostics {
	_, d := body.Content(&hcl.BodySchema{})
	return d
}

// ctyToGo turns an HCL value into a JSON-shaped Go value.
func ctyToGo(v cty.Value) (any, error) {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if f, ok := out.(float64); ok && f == float64(int64(f)) {
		return int64(f), nil
	}
	return out, nil
}

func attrDiag(body hcl.Body, name string, fallback hcl.Range, summary, detail string) *hcl.Diagnostic {
	r := fallback
	if attrs, d := body.JustAttributes(); !d.HasErrors() {
		if a, ok := attrs[name]; ok {
			r = a.Expr.Range()
		}
	} else if c, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}}); c != nil {
		if a, ok := c.Attributes[name]; ok {
			r = a.Expr.Range()
		}
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}
}
