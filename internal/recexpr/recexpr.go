// Package recexpr is what the transforms that join records (correlate,
// assemble) share to read them: selectors (which records a block takes: by
// kind, then by an expr condition, optionally typed by a schema), keys and
// named field expressions, all compiled once when the config loads, with
// every mistake as a diagnostic at its attribute, and the decoding of the
// attributes they have in common (kinds, when, schema, key, fields,
// durations, sizes).
//
// Expressions are expr (github.com/expr-lang/expr), as in the rules
// transform's where and set: they see the record's fields as variables,
// type-checked against the block's schema when it names one.
package recexpr

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
)

// Compile compiles src once, type-checked against s's fields (nil: every
// variable untyped), with a diagnostic at `at` when it does not compile.
// Variables no schema declares are allowed and read as nil when absent.
func Compile(src string, at hcl.Range, s *schema.Schema, opts ...expr.Option) (*vm.Program, hcl.Diagnostics) {
	opts = append([]expr.Option{expr.Env(s.ExprEnv()), expr.AllowUndefinedVariables()}, opts...)
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, decode.Errorf(at, "Invalid expression", "%v", err)
	}
	return p, nil
}

// Run runs p over env and returns its result in the shape record fields
// hold (agent.Normalize).
func Run(p *vm.Program, env map[string]any) (any, error) {
	v, err := expr.Run(p, env)
	if err != nil {
		return nil, err
	}
	return agent.Normalize(v), nil
}

// Selector chooses the records a block takes: of one of Kinds (any kind
// when empty), converted to Schema's types when it names one, and for
// which When holds (always when nil).
type Selector struct {
	Kinds  []string
	Schema *schema.Schema
	When   *vm.Program
	// Source is the text of every expression and setting that decides
	// what the selector takes, for fingerprints of saved state.
	Source string
}

// Match reports whether s takes r. A record of a selected kind that does
// not fit the schema, or on which the condition fails to run, is an error
// with the field errors: the caller dead-letters it.
func (s *Selector) Match(r *agent.Record) (bool, []agent.FieldError) {
	if len(s.Kinds) > 0 && !slices.Contains(s.Kinds, r.Kind) {
		return false, nil
	}
	if s.Schema != nil {
		if errs := s.Schema.ApplyRecord(r, false); len(errs) > 0 {
			return false, errs
		}
	}
	if s.When == nil {
		return true, nil
	}
	v, err := expr.Run(s.When, r.MaterializeFields())
	if err != nil {
		return false, []agent.FieldError{{Error: "when: " + err.Error()}}
	}
	ok, _ := v.(bool)
	return ok, nil
}

// Key is an expression whose value groups records: a namespace, a run.
type Key struct {
	Prog   *vm.Program
	Source string
}

// Of returns the key of r: its expression's value as a string (numbers
// and bools formatted). A key that is null or empty is an error.
func (k *Key) Of(r *agent.Record) (string, error) {
	v, err := Run(k.Prog, r.MaterializeFields())
	if err != nil {
		return "", err
	}
	var s string
	switch t := v.(type) {
	case nil:
	case string:
		s = t
	case int64:
		s = strconv.FormatInt(t, 10)
	default:
		s = fmt.Sprint(t)
	}
	if s == "" {
		return "", fmt.Errorf("%s is empty", k.Source)
	}
	return s, nil
}

// Fields computes named values from expressions, in name order.
type Fields struct {
	Names []string
	Progs []*vm.Program
	Srcs  []string
}

// Eval returns the values of every field over r. A field whose value is
// null is left out.
func (f *Fields) Eval(r *agent.Record) (map[string]any, error) {
	env := r.MaterializeFields()
	out := make(map[string]any, len(f.Names))
	for i, p := range f.Progs {
		v, err := Run(p, env)
		if err != nil {
			return nil, fmt.Errorf("fields.%s: %v", f.Names[i], err)
		}
		if v != nil {
			out[f.Names[i]] = v
		}
	}
	return out, nil
}

// Source is the text of the field expressions, for fingerprints.
func (f *Fields) Source() string {
	if f == nil {
		return "*"
	}
	var b strings.Builder
	for i, n := range f.Names {
		b.WriteString(n + "=" + f.Srcs[i] + ";")
	}
	return b.String()
}

// Block is the content of one decoded block with the attributes every
// selector block has (kinds, when, schema) already read.
type Block struct {
	Attrs    hcl.Attributes
	Range    hcl.Range
	Ctx      *hcl.EvalContext
	Selector Selector
}

// SelectorAttrs are the attributes DecodeBlock reads itself.
var SelectorAttrs = []hcl.AttributeSchema{{Name: "kinds"}, {Name: "when"}, {Name: "schema"}}

// DecodeBlock decodes a block body with the selector attributes and the
// given others (which the caller reads from Block.Attrs).
func DecodeBlock(body hcl.Body, rng hcl.Range, ctx *hcl.EvalContext, env *decode.Env, others ...hcl.AttributeSchema) (*Block, hcl.Diagnostics) {
	content, diags := body.Content(&hcl.BodySchema{Attributes: append(slices.Clone(SelectorAttrs), others...)})
	b := &Block{Attrs: content.Attributes, Range: rng, Ctx: ctx}
	if a, ok := b.Attrs["schema"]; ok {
		s, d := env.SchemaRef(a)
		diags = append(diags, d...)
		b.Selector.Schema = s
	}
	if a, ok := b.Attrs["kinds"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &b.Selector.Kinds)...)
	}
	var src strings.Builder
	src.WriteString("kinds=" + strings.Join(b.Selector.Kinds, ",") + ";")
	if b.Selector.Schema != nil {
		src.WriteString("schema=" + b.Selector.Schema.Name + ";")
	}
	if p, s, d := b.Expr("when", expr.AsBool()); p != nil || d != nil {
		diags = append(diags, d...)
		b.Selector.When = p
		src.WriteString("when=" + s + ";")
	}
	b.Selector.Source = src.String()
	return b, diags
}

// String reads an optional string attribute into out.
func (b *Block) String(name string, out *string) hcl.Diagnostics {
	a, ok := b.Attrs[name]
	if !ok {
		return nil
	}
	return gohcl.DecodeExpression(a.Expr, b.Ctx, out)
}

// Int reads an optional whole-number attribute into out; it must be at
// least min.
func (b *Block) Int(name string, min int, out *int) hcl.Diagnostics {
	a, ok := b.Attrs[name]
	if !ok {
		return nil
	}
	var n int
	if d := gohcl.DecodeExpression(a.Expr, b.Ctx, &n); d.HasErrors() {
		return d
	}
	if n < min {
		return decode.Errorf(a.Expr.Range(), "Invalid "+name, "%s must be at least %d, not %d.", name, min, n)
	}
	*out = n
	return nil
}

// Bool reads an optional bool attribute into out.
func (b *Block) Bool(name string, out *bool) hcl.Diagnostics {
	a, ok := b.Attrs[name]
	if !ok {
		return nil
	}
	return gohcl.DecodeExpression(a.Expr, b.Ctx, out)
}

// Duration reads an optional positive duration ("90s", "24h") into out.
func (b *Block) Duration(name string, out *time.Duration) hcl.Diagnostics {
	var s string
	if d := b.String(name, &s); d.HasErrors() || s == "" {
		return d
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return decode.Errorf(b.Attrs[name].Expr.Range(), "Invalid "+name, `%q is not a duration; write a positive duration such as "90s", "30m" or "24h".`, s)
	}
	*out = d
	return nil
}

// Bytes reads an optional size ("16MiB") into out.
func (b *Block) Bytes(name string, out *int64) hcl.Diagnostics {
	var s string
	if d := b.String(name, &s); d.HasErrors() || s == "" {
		return d
	}
	n, err := agent.ParseBytes(s)
	if err != nil || n <= 0 {
		return decode.Errorf(b.Attrs[name].Expr.Range(), "Invalid "+name, `%q is not a size; write a size such as "16MiB".`, s)
	}
	*out = n
	return nil
}

// Expr reads an optional expression attribute and compiles it against the
// block's schema. It returns a nil program when the attribute is absent.
func (b *Block) Expr(name string, opts ...expr.Option) (*vm.Program, string, hcl.Diagnostics) {
	a, ok := b.Attrs[name]
	if !ok {
		return nil, "", nil
	}
	var src string
	if d := gohcl.DecodeExpression(a.Expr, b.Ctx, &src); d.HasErrors() {
		return nil, "", d
	}
	p, d := Compile(src, a.Expr.Range(), b.Selector.Schema, opts...)
	return p, src, d
}

// Key reads a key expression; required says whether the block must have
// one.
func (b *Block) Key(name string, required bool) (*Key, hcl.Diagnostics) {
	p, src, d := b.Expr(name)
	if p == nil && !d.HasErrors() && required {
		return nil, decode.Errorf(b.Range, "Missing "+name, `This block needs %s = "EXPR", the expression that groups records, such as %s = "namespace".`, name, name)
	}
	if p == nil {
		return nil, d
	}
	return &Key{Prog: p, Source: src}, d
}

// Fields reads `NAME = { field = "expr", ... }`: named expressions, each
// compiled at its value. reserved names may not be used (the caller sets
// them itself). It returns nil when the attribute is absent.
func (b *Block) Fields(name string, reserved ...string) (*Fields, hcl.Diagnostics) {
	a, ok := b.Attrs[name]
	if !ok {
		return nil, nil
	}
	pairs, diags := hcl.ExprMap(a.Expr)
	if diags.HasErrors() {
		return nil, decode.Errorf(a.Expr.Range(), "Invalid "+name, `Write %s = { name = "EXPR", ... }: each value an expression over the record's fields, such as { image = "images[0]" }.`, name)
	}
	type item struct {
		name string
		prog *vm.Program
		src  string
	}
	var items []item
	seen := map[string]bool{}
	for _, kv := range pairs {
		var key string
		if d := gohcl.DecodeExpression(kv.Key, b.Ctx, &key); d.HasErrors() {
			// A bare word key ({ image = ... }) is a traversal; take its name.
			if k := hcl.ExprAsKeyword(kv.Key); k != "" {
				key = k
			} else {
				diags = append(diags, d...)
				continue
			}
		}
		if slices.Contains(reserved, key) {
			diags = append(diags, decode.Errorf(kv.Key.Range(), "Reserved field "+key, "The transform sets %s itself; give this field another name.", strings.Join(reserved, ", "))...)
			continue
		}
		if seen[key] {
			diags = append(diags, decode.Errorf(kv.Key.Range(), "Duplicate field "+key, "Each field is named once.")...)
			continue
		}
		seen[key] = true
		var src string
		if d := gohcl.DecodeExpression(kv.Value, b.Ctx, &src); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		p, d := Compile(src, kv.Value.Range(), b.Selector.Schema)
		diags = append(diags, d...)
		if p != nil {
			items = append(items, item{key, p, src})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
	f := &Fields{}
	for _, it := range items {
		f.Names = append(f.Names, it.name)
		f.Progs = append(f.Progs, it.prog)
		f.Srcs = append(f.Srcs, it.src)
	}
	return f, diags
}

// Strings reads an optional list of strings.
func (b *Block) Strings(name string, out *[]string) hcl.Diagnostics {
	a, ok := b.Attrs[name]
	if !ok {
		return nil
	}
	return gohcl.DecodeExpression(a.Expr, b.Ctx, out)
}

// Blocks splits a body into its attributes (decoded by DecodeBlock) and
// its nested blocks of the given types.
func Blocks(body hcl.Body, types ...string) (hcl.Body, hcl.Blocks, hcl.Diagnostics) {
	var hs []hcl.BlockHeaderSchema
	for _, t := range types {
		hs = append(hs, hcl.BlockHeaderSchema{Type: t})
	}
	content, rest, diags := body.PartialContent(&hcl.BodySchema{Blocks: hs})
	return rest, content.Blocks, diags
}

// Fingerprint hashes the text of the settings a saved state depends on
// (keys, conditions, fields), so that a state saved under other settings
// is not taken for this one's.
func Fingerprint(settings string) string {
	h := fnv.New64a()
	h.Write([]byte(settings))
	return strconv.FormatUint(h.Sum64(), 16)
}

// Rejects makes a component's dead letters and counts them per reason
// (octoagent_component_dead_lettered_records_total).
type Rejects struct {
	set    agent.Settings
	schema *schema.Schema
	byWhy  map[string]prometheus.Counter
}

// NewRejects returns the dead-letter maker of set's component; s (may be
// nil) is named in the dead letters of step "schema".
func NewRejects(set agent.Settings, s *schema.Schema) *Rejects {
	return &Rejects{set: set, schema: s, byWhy: map[string]prometheus.Counter{}}
}

// Make turns r into a dead letter of step and reason, and counts it. It is
// not safe for concurrent use: call it under the component's lock.
func (d *Rejects) Make(r *agent.Record, step, reason string, errs []agent.FieldError) agent.Record {
	c, ok := d.byWhy[reason]
	if !ok {
		c = d.set.Metrics.DeadLetter(reason)
		d.byWhy[reason] = c
	}
	c.Inc()
	dl := agent.DeadLetter{Component: d.set.ID, Step: step, Reason: reason, Errors: errs}
	if d.schema != nil && step == "schema" {
		dl.Schema, dl.SchemaVersion = d.schema.Name, d.schema.Version
	}
	return agent.NewDeadLetter(r, dl)
}

// Msg is Make with one error message.
func (d *Rejects) Msg(r *agent.Record, step, reason, msg string) *agent.Record {
	dl := d.Make(r, step, reason, []agent.FieldError{{Error: msg}})
	return &dl
}
