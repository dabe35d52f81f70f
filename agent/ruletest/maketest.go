package ruletest

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// MakeTest writes a `test "NAME"` block that expects exactly what fed
// holds, the outcome of Feed on inputs: each record (kind, fields in the
// wire form, entity), each dead letter (reason, step, first error) and
// the inputs dropped. Run against the same transform, it passes; pasted
// into tests.hcl, it pins today's behaviour (the rule playground's "make
// a test"). transform is the transform's name (transform.NAME).
func MakeTest(name, transform string, inputs []string, fed Fed) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	blk := f.Body().AppendNewBlock("test", []string{name})
	b := blk.Body()
	b.SetAttributeTraversal("transform", hcl.Traversal{hcl.TraverseRoot{Name: "transform"}, hcl.TraverseAttr{Name: transform}})
	if len(inputs) == 1 {
		b.SetAttributeValue("input", cty.StringVal(inputs[0]))
	} else {
		vals := make([]cty.Value, len(inputs))
		for i, in := range inputs {
			vals[i] = cty.StringVal(in)
		}
		b.SetAttributeValue("inputs", cty.ListVal(vals))
	}
	for i := range fed.Out {
		r := &fed.Out[i]
		b.AppendNewline()
		e := b.AppendNewBlock("expect", nil).Body()
		e.SetAttributeValue("kind", cty.StringVal(r.Kind))
		fields, err := toCty(wire(r.MaterializeFields()))
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
		e.SetAttributeValue("fields", fields)
		if len(r.Entity) > 0 {
			ent := map[string]cty.Value{}
			for _, kv := range r.Entity {
				ent[kv.Key] = cty.StringVal(kv.Value)
			}
			e.SetAttributeValue("entity", cty.ObjectVal(ent))
		}
	}
	for i := range fed.Dead {
		r := &fed.Dead[i]
		f := r.MaterializeFields()
		b.AppendNewline()
		d := b.AppendNewBlock("expect_dead_letter", nil).Body()
		if s, ok := f["reason"].(string); ok {
			d.SetAttributeValue("reason", cty.StringVal(s))
		}
		if s, ok := f["step"].(string); ok {
			d.SetAttributeValue("step", cty.StringVal(s))
		}
		if errs := deadErrors(r); len(errs) > 0 {
			d.SetAttributeValue("error", cty.StringVal(errs[0]))
		}
	}
	if fed.Dropped > 0 {
		b.AppendNewline()
		b.SetAttributeValue("dropped", cty.NumberIntVal(int64(fed.Dropped)))
	}
	return hclwrite.Format(f.Bytes()), nil
}

// toCty turns a JSON-shaped value (as wire returns it) into the HCL value
// an expectation is written with.
func toCty(v any) (cty.Value, error) {
	switch t := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case string:
		return cty.StringVal(t), nil
	case bool:
		return cty.BoolVal(t), nil
	case float64:
		return cty.NumberFloatVal(t), nil
	case json.Number:
		return cty.ParseNumberVal(t.String())
	case []any:
		if len(t) == 0 {
			return cty.EmptyTupleVal, nil
		}
		vals := make([]cty.Value, len(t))
		for i, e := range t {
			c, err := toCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			vals[i] = c
		}
		return cty.TupleVal(vals), nil
	case map[string]any:
		if len(t) == 0 {
			return cty.EmptyObjectVal, nil
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := make(map[string]cty.Value, len(t))
		for _, k := range keys {
			c, err := toCty(t[k])
			if err != nil {
				return cty.NilVal, err
			}
			m[k] = c
		}
		return cty.ObjectVal(m), nil
	}
	return cty.NilVal, fmt.Errorf("cannot write a %T in a test", v)
}
