package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
)

// fieldsFor returns the map a parse step writes into. A step that parsed
// the raw line starts the record's fields afresh: the line itself stays in
// Raw (dead letters carry it) and is not repeated as fields.message.
func fieldsFor(r *agent.Record) map[string]any {
	if r.Fields == nil {
		r.Fields = make(map[string]any, 16)
	}
	return r.Fields
}

// sourceField returns the bytes a parse step reads: the raw line for
// "message" when the record is still raw, else the field as a string.
func sourceField(r *agent.Record, field string) ([]byte, error) {
	v, ok := r.Fields[field]
	if !ok && field == "message" && r.Raw != nil {
		return r.Raw, nil // the raw line, whether or not a step parsed it already
	}
	if !ok {
		return nil, &StepError{Reason: "missing_field", Errors: []agent.FieldError{{Field: field, Error: "required by the parser, missing"}}}
	}
	s, ok := v.(string)
	if !ok {
		return nil, &StepError{Reason: "wrong_type", Errors: []agent.FieldError{{Field: field, Error: fmt.Sprintf("expects string, got %T", v)}}}
	}
	return []byte(s), nil
}

type regexStep struct {
	field    string
	patterns []*regexp.Regexp
	names    [][]string
}

type regexConfig struct {
	Pattern  *string  `hcl:"pattern,optional"`
	Patterns []string `hcl:"patterns,optional"`
	Field    *string  `hcl:"field,optional"`
}

func newRegexStep(blk *hcl.Block, ctx *hcl.EvalContext) (Step, hcl.Diagnostics) {
	var c regexConfig
	diags := gohcl.DecodeBody(blk.Body, ctx, &c)
	if diags.HasErrors() {
		return nil, diags
	}
	attrs, _ := blk.Body.JustAttributes()
	s := &regexStep{field: "message"}
	if c.Field != nil {
		s.field = *c.Field
	}
	pats := c.Patterns
	var ranges []hcl.Range // where each of pats is written
	if a, ok := attrs["patterns"]; ok {
		if elems, d := hcl.ExprList(a.Expr); !d.HasErrors() && len(elems) == len(pats) {
			for _, e := range elems {
				ranges = append(ranges, e.Range())
			}
		} else {
			for range pats {
				ranges = append(ranges, a.Expr.Range())
			}
		}
	}
	if c.Pattern != nil {
		pats = append([]string{*c.Pattern}, pats...)
		ranges = append([]hcl.Range{attrs["pattern"].Expr.Range()}, ranges...)
	}
	if len(pats) == 0 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Missing pattern",
			Detail: `parse "regex" needs pattern = "..." (or patterns = [...], tried in order), with named captures such as (?P<status>\d+).`, Subject: blk.DefRange.Ptr()}}
	}
	for i, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			r := blk.DefRange
			if i < len(ranges) {
				r = ranges[i]
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid regular expression",
				Detail: err.Error() + ". Patterns use RE2 syntax; in HCL strings, backslashes are doubled (\\\\d).", Subject: &r})
			continue
		}
		s.patterns = append(s.patterns, re)
		s.names = append(s.names, re.SubexpNames())
	}
	return s, diags
}

func (s *regexStep) Name() string { return "parse.regex" }

func (s *regexStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := sourceField(r, s.field)
	if err != nil {
		return err
	}
	for i, re := range s.patterns {
		m := re.FindSubmatchIndex(in)
		if m == nil {
			continue
		}
		f := fieldsFor(r)
		for g, name := range s.names[i] {
			if name == "" || m[2*g] < 0 {
				continue
			}
			f[name] = string(in[m[2*g]:m[2*g+1]])
		}
		return nil
	}
	return &StepError{Reason: "no_match", Errors: []agent.FieldError{{Field: s.field, Error: fmt.Sprintf("no pattern matched (%d tried)", len(s.patterns))}}}
}

type jsonStep struct{ field string }

type jsonConfig struct {
	Field *string `hcl:"field,optional"`
}

func newJSONStep(blk *hcl.Block, ctx *hcl.EvalContext) (Step, hcl.Diagnostics) {
	var c jsonConfig
	if d := gohcl.DecodeBody(blk.Body, ctx, &c); d.HasErrors() {
		return nil, d
	}
	s := &jsonStep{field: "message"}
	if c.Field != nil {
		s.field = *c.Field
	}
	return s, nil
}

func (s *jsonStep) Name() string { return "parse.json" }

func (s *jsonStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := sourceField(r, s.field)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var obj map[string]any
	err = dec.Decode(&obj)
	if err == nil && obj == nil {
		err = fmt.Errorf("got null")
	}
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = fmt.Errorf("trailing data after the object at byte %d", dec.InputOffset())
		}
	}
	if err != nil {
		return &StepError{Reason: "bad_json", Errors: []agent.FieldError{{Field: s.field, Error: "not a JSON object: " + err.Error()}}}
	}
	f := fieldsFor(r)
	for k, v := range obj {
		f[k] = normalize(v)
	}
	return nil
}

// normalize turns json.Number into int64 where it is integral, else float64.
func normalize(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	}
	return v
}
