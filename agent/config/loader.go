// Package config loads HCL config files into a validated agent.Graph. Every
// problem becomes an hcl.Diagnostic with a file:line:col subject, a summary
// and, where one helps, a hint on how to fix it (in Detail).
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
)

// Test is a `test "NAME"` block: rule unit tests, run by `octoagent test`.
type Test struct {
	Name      string
	Transform string // transform ID
	Body      hcl.Body
	DefRange  hcl.Range
	Ctx       *hcl.EvalContext
}

// Result is a loaded configuration.
type Result struct {
	Graph agent.Graph
	// Files maps file names to their sources, for printing diagnostics.
	Files map[string]*hcl.File
	// Components holds the decoded blocks, in the order written.
	Components []*Component
	// Schemas holds the schema blocks by name.
	Schemas map[string]*schema.Schema
	// Tests holds the test blocks, in the order written.
	Tests []*Test
}

// Component is one decoded component block.
type Component struct {
	ID       string
	Kind     agent.Kind
	Type     string
	Name     string
	Factory  *agent.Factory
	Config   any
	Inputs   []Input
	Queue    int
	Buffer   agent.BufferSpec
	DefRange hcl.Range
	Body     hcl.Body
	inputsAt *hcl.Range
}

// Input is one resolved reference in an inputs list.
type Input struct {
	ID    string // output ID: "source.file.nginx", "transform.x.dead_letter"
	Range hcl.Range
}

// DefaultTransformType is the type of a transform written with its name
// alone: transform "NAME" is transform "rules" "NAME".
const DefaultTransformType = "rules"

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "agent"},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "transform", LabelNames: []string{"name"}},
		{Type: "sink", LabelNames: []string{"type", "name"}},
		{Type: "schema", LabelNames: []string{"name"}},
		{Type: "test", LabelNames: []string{"name"}},
	},
}

// rootBlocks returns the top-level blocks of a file in the order written.
// A transform takes one label (its name: the type is "rules") or two (type
// and name); the schema above declares one, so Content refuses the
// two-label form, which is taken here from the syntax tree instead.
func rootBlocks(f *hcl.File, diags *hcl.Diagnostics) []*hcl.Block {
	content, d := f.Body.Content(rootSchema)
	blocks := content.Blocks
	sb, ok := f.Body.(*hclsyntax.Body)
	for _, x := range d {
		if ok && x.Summary == "Extraneous label for transform" && x.Subject != nil {
			if blk := blockAt(sb, "transform", *x.Subject); blk != nil && len(blk.Labels) == 2 {
				blocks = append(blocks, blk.AsHCLBlock())
				continue
			}
			x.Detail = `A transform takes a type and a name, transform "rules" "NAME", or its name alone, transform "NAME", for the rules type.`
		}
		*diags = append(*diags, x)
	}
	sort.SliceStable(blocks, func(i, j int) bool { return blocks[i].DefRange.Start.Byte < blocks[j].DefRange.Start.Byte })
	return blocks
}

// blockAt returns the block of type typ whose labels cover r.
func blockAt(sb *hclsyntax.Body, typ string, r hcl.Range) *hclsyntax.Block {
	for _, b := range sb.Blocks {
		if b.Type == typ && b.Range().Overlaps(r) {
			return b
		}
	}
	return nil
}

type agentBlock struct {
	DataDir            *string `hcl:"data_dir,optional"`
	HTTPAddr           *string `hcl:"http_addr,optional"`
	ShutdownTimeout    *string `hcl:"shutdown_timeout,optional"`
	CheckpointInterval *string `hcl:"checkpoint_interval,optional"`
	QueueCapacity      *int    `hcl:"queue_capacity,optional"`
	Host               *string `hcl:"host,optional"`
}

type bufferBlock struct {
	Type       string  `hcl:"type,optional"`
	MaxRecords *int    `hcl:"max_records,optional"`
	MaxBytes   *string `hcl:"max_bytes,optional"`
	WhenFull   string  `hcl:"when_full,optional"`
}

// ExpandPaths turns -c arguments into a list of files: a directory stands
// for the *.hcl files in it, in lexical order.
func ExpandPaths(paths []string) ([]string, hcl.Diagnostics) {
	var out []string
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	add := func(p string) {
		key := filepath.Clean(p)
		if abs, err := filepath.Abs(p); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "Cannot read config " + p,
				Detail:  err.Error() + ". Pass an existing file or directory with -c."})
			continue
		}
		if !st.IsDir() {
			add(p)
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(p, "*.hcl"))
		sort.Strings(matches)
		if len(matches) == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "No config files in " + p,
				Detail:  "A directory given with -c must hold *.hcl files."})
		}
		for _, m := range matches {
			add(m)
		}
	}
	return out, diags
}

// Load reads, merges and validates the config files at paths (files or
// directories).
func Load(paths []string, reg *agent.Registry) (*Result, hcl.Diagnostics) {
	files, diags := ExpandPaths(paths)
	srcs := make([]Source, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read config " + f, Detail: err.Error()})
			continue
		}
		srcs = append(srcs, Source{Name: f, Data: b})
	}
	if diags.HasErrors() {
		return &Result{Files: map[string]*hcl.File{}}, diags
	}
	res, more := LoadSources(srcs, reg)
	return res, append(diags, more...)
}

// Source is one config file's name and content.
type Source struct {
	Name string
	Data []byte
}

// LoadSources is Load over in-memory files.
func LoadSources(srcs []Source, reg *agent.Registry) (*Result, hcl.Diagnostics) {
	l := &loader{reg: reg, parser: hclparse.NewParser(), byID: map[string]*Component{}, broken: map[string]bool{},
		env: &decode.Env{Schemas: map[string]*schema.Schema{}}, schemaAt: map[string]hcl.Range{}}
	res := &Result{Graph: agent.Graph{Agent: agent.DefaultAgentSettings()}}
	var agentSeen *hcl.Range
	type fileBlock struct {
		blk *hcl.Block
		ctx *hcl.EvalContext
	}
	var blocks []fileBlock
	for _, src := range srcs {
		f, d := l.parser.ParseHCL(src.Data, src.Name)
		l.diags = append(l.diags, d...)
		if f == nil {
			continue
		}
		ctx := evalContext(src.Name)
		for _, blk := range rootBlocks(f, &l.diags) {
			blocks = append(blocks, fileBlock{blk, ctx})
		}
	}
	// Schemas first: components refer to them wherever they are written.
	for _, fb := range blocks {
		if fb.blk.Type == "schema" {
			l.decodeSchema(fb.blk, fb.ctx)
		}
	}
	for _, fb := range blocks {
		blk, ctx := fb.blk, fb.ctx
		{
			switch blk.Type {
			case "schema":
			case "test":
				res.Tests = append(res.Tests, &Test{Name: blk.Labels[0], Body: blk.Body, DefRange: blk.DefRange, Ctx: ctx})
			case "agent":
				if agentSeen != nil {
					l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError,
						Summary: "Duplicate agent block",
						Detail:  "The agent block was already defined at " + pos(*agentSeen) + ". Merge the two into one.",
						Subject: blk.DefRange.Ptr()})
					continue
				}
				agentSeen = blk.DefRange.Ptr()
				l.decodeAgent(blk, ctx, &res.Graph.Agent)
			default:
				l.decodeComponent(blk, ctx)
			}
		}
	}
	l.resolveTests(res.Tests)
	l.resolveInputs()
	l.checkCycles()
	l.checkUnused()
	l.checkClaims()
	res.Files = l.parser.Files()
	res.Components = l.comps
	res.Schemas = l.env.Schemas
	if !l.diags.HasErrors() {
		for _, c := range l.comps {
			spec := agent.NodeSpec{ID: c.ID, Type: c.Type, Name: c.Name, Kind: c.Kind, Factory: c.Factory, Config: c.Config, QueueCapacity: c.Queue, Buffer: c.Buffer}
			for _, in := range c.Inputs {
				spec.Inputs = append(spec.Inputs, in.ID)
			}
			res.Graph.Nodes = append(res.Graph.Nodes, spec)
		}
	}
	return res, l.diags
}

type loader struct {
	reg    *agent.Registry
	parser *hclparse.Parser
	diags  hcl.Diagnostics
	comps  []*Component
	byID   map[string]*Component
	// broken holds the IDs of blocks that could not be registered (unknown
	// type, reserved name): references to them are not reported again.
	broken map[string]bool
	// inputsIncomplete: some inputs could not be read, so "unused" warnings
	// would be guesses.
	inputsIncomplete bool
	env              *decode.Env
	schemaAt         map[string]hcl.Range
}

func (l *loader) decodeSchema(blk *hcl.Block, ctx *hcl.EvalContext) {
	name := blk.Labels[0]
	if prev, dup := l.schemaAt[name]; dup {
		l.errorf(blk.DefRange, "Duplicate schema "+name, "Schema %q was already defined at %s. Give each schema a distinct name.", name, pos(prev))
		return
	}
	l.schemaAt[name] = blk.DefRange
	s, d := schema.Decode(blk, ctx)
	l.diags = append(l.diags, d...)
	if s != nil {
		l.env.Schemas[name] = s
	}
}

// resolveTests checks each test's `transform = transform.NAME` reference.
func (l *loader) resolveTests(tests []*Test) {
	seen := map[string]hcl.Range{}
	for _, t := range tests {
		if prev, dup := seen[t.Name]; dup {
			l.errorf(t.DefRange, "Duplicate test "+t.Name, "Test %q was already defined at %s.", t.Name, pos(prev))
		}
		seen[t.Name] = t.DefRange
		content, _, d := t.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "transform", Required: true}}})
		l.diags = append(l.diags, d...)
		a, ok := content.Attributes["transform"]
		if !ok {
			continue
		}
		tr, d := hcl.AbsTraversalForExpr(a.Expr)
		if d.HasErrors() || len(tr) != 2 || tr.RootName() != "transform" {
			l.errorf(a.Expr.Range(), "Invalid transform reference", "Write transform = transform.NAME, without quotes.")
			continue
		}
		id := "transform." + tr[1].(hcl.TraverseAttr).Name
		if c, ok := l.byID[id]; !ok || c.Kind != agent.KindTransform {
			if l.broken[id] {
				continue
			}
			var names []string
			for _, c := range l.comps {
				if c.Kind == agent.KindTransform {
					names = append(names, c.ID)
				}
			}
			l.errorf(a.Expr.Range(), "Unknown transform "+id, "%s", decode.DidYouMean(id, names, "transforms"))
			continue
		}
		t.Transform = id
	}
}

func (l *loader) errorf(subject hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(detail, args...), Subject: subject.Ptr()})
}

func (l *loader) warnf(subject hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary,
		Detail: fmt.Sprintf(detail, args...), Subject: subject.Ptr()})
}

func (l *loader) decodeAgent(blk *hcl.Block, ctx *hcl.EvalContext, out *agent.AgentSettings) {
	var a agentBlock
	if d := dropUnknownCascade(gohcl.DecodeBody(blk.Body, ctx, &a)); d.HasErrors() {
		l.diags = append(l.diags, d...)
		return
	}
	if a.DataDir != nil {
		out.DataDir = *a.DataDir
	}
	if a.HTTPAddr != nil {
		out.HTTPAddr = *a.HTTPAddr
	}
	if a.Host != nil {
		out.Host = *a.Host
	}
	if a.QueueCapacity != nil {
		if *a.QueueCapacity < 1 {
			l.errorf(attrRange(blk.Body, "queue_capacity", blk.DefRange), "Invalid queue_capacity",
				"queue_capacity must be at least 1 record; the default is %d.", agent.DefaultAgentSettings().QueueCapacity)
		}
		out.QueueCapacity = *a.QueueCapacity
	}
	l.duration(blk, "shutdown_timeout", a.ShutdownTimeout, &out.ShutdownTimeout)
	l.duration(blk, "checkpoint_interval", a.CheckpointInterval, &out.CheckpointInterval)
}

func (l *loader) duration(blk *hcl.Block, name string, s *string, out *time.Duration) {
	if s == nil {
		return
	}
	d, err := time.ParseDuration(*s)
	if err != nil || d <= 0 {
		l.errorf(attrRange(blk.Body, name, blk.DefRange), "Invalid duration for "+name,
			"%q is not a positive duration. Write it as a number with a unit, such as \"500ms\", \"30s\" or \"2m\".", *s)
		return
	}
	*out = d
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

// outputs lists every output a component can be fed from.
func (l *loader) outputs() []string {
	var out []string
	for _, c := range l.comps {
		if c.Kind != agent.KindSink {
			out = append(out, c.ID)
		}
		out = append(out, c.ID+"."+agent.DeadLetterPort)
	}
	return out
}

func (l *loader) resolveInputs() {
	valid := map[string]bool{}
	outs := l.outputs()
	for _, o := range outs {
		valid[o] = true
	}
	for _, c := range l.comps {
		for _, in := range c.Inputs {
			if valid[in.ID] {
				if in.ID == c.ID || in.ID == c.ID+"."+agent.DeadLetterPort {
					l.errorf(in.Range, "Component reads its own output", "%s cannot be an input of itself.", in.ID)
				}
				continue
			}
			if p, ok := l.byID[in.ID]; ok && p.Kind == agent.KindSink {
				l.errorf(in.Range, "A sink is not an input", "%s writes records out and has no output of its own. Did you mean %s.dead_letter, the records it rejected?", in.ID, in.ID)
				continue
			}
			if pid, _ := agent.SplitOutputID(in.ID); l.broken[pid] || l.broken[in.ID] {
				continue // the block itself is already reported
			}
			l.errorf(in.Range, fmt.Sprintf("Unknown reference %s", in.ID), "%s", decode.DidYouMean(in.ID, outs, "outputs"))
		}
	}
}

// checkCycles reports each cycle once, at the inputs of one of its members.
func (l *loader) checkCycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(c *Component)
	visit = func(c *Component) {
		color[c.ID] = grey
		stack = append(stack, c.ID)
		for _, in := range c.Inputs {
			pid, port := agent.SplitOutputID(in.ID)
			p, ok := l.byID[pid]
			if !ok || pid == c.ID || (p.Kind == agent.KindSink && port == "") {
				continue
			}
			switch color[pid] {
			case white:
				visit(p)
			case grey:
				i := len(stack) - 1
				for i > 0 && stack[i] != pid {
					i--
				}
				cycle := append(append([]string(nil), stack[i:]...), pid)
				l.errorf(in.Range, "Cycle in the component graph",
					"The inputs form a loop: %s. Records would circle forever; break the loop by removing one of these inputs.",
					strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[c.ID] = black
	}
	for _, c := range l.comps {
		if color[c.ID] == white {
			visit(c)
		}
	}
}

func (l *loader) checkUnused() {
	if l.inputsIncomplete {
		return
	}
	used := map[string]bool{}
	for _, c := range l.comps {
		for _, in := range c.Inputs {
			id, _ := agent.SplitOutputID(in.ID)
			used[id] = true
		}
	}
	for _, c := range l.comps {
		if c.Kind != agent.KindSink && !used[c.ID] {
			l.warnf(c.DefRange, "Unused "+string(c.Kind),
				"No transform or sink reads %s, so its records are counted and dropped. Add it to the inputs of a sink.", c.ID)
		}
	}
}

func (l *loader) checkClaims() {
	owner := map[string]*Component{}
	for _, c := range l.comps {
		if c.Config == nil {
			continue
		}
		for _, r := range c.Factory.Claims(c.Config) {
			if prev, ok := owner[r]; ok {
				l.errorf(c.DefRange, "Resource claimed twice",
					"%s and %s (at %s) both claim %s. Two components cannot own one resource; give each its own.", c.ID, prev.ID, pos(prev.DefRange), r)
				continue
			}
			owner[r] = c
		}
	}
}

// validationDiags turns a config's Validate errors into diagnostics at the
// attributes they concern.
func (l *loader) validationDiags(blk *hcl.Block, err error) {
	if err == nil {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ae *agent.AttrError
		if errors.As(e, &ae) {
			detail := ae.Err.Error()
			if ae.Hint != "" {
				detail += ". " + ae.Hint
			}
			l.errorf(attrRange(blk.Body, ae.Attr, blk.DefRange), "Invalid "+ae.Attr, "%s", detail)
			continue
		}
		l.errorf(blk.DefRange, "Invalid "+blk.Type, "%s", e.Error())
	}
}

// attrRange finds the value of an attribute ("paths", or "buffer.max_records"
// inside a nested block) in a native-syntax body; fallback otherwise.
func attrRange(body hcl.Body, name string, fallback hcl.Range) hcl.Range {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return fallback
	}
	parts := strings.Split(name, ".")
	for len(parts) > 1 {
		found := false
		for _, b := range sb.Blocks {
			if b.Type == parts[0] {
				sb, parts, found = b.Body, parts[1:], true
				break
			}
		}
		if !found {
			return fallback
		}
	}
	if a, ok := sb.Attributes[parts[0]]; ok {
		return a.Expr.Range()
	}
	return fallback
}

func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// dropUnknownCascade removes the "value must be known" errors gohcl adds
// when an expression failed to evaluate (env() of an unset variable, file()
// of a missing file): that failure is already reported, at the call.
func dropUnknownCascade(d hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, x := range d {
		if x.Severity == hcl.DiagError && x.Summary == "Unsuitable value type" && x.Detail == "Unsuitable value: value must be known" {
			continue
		}
		out = append(out, x)
	}
	if d.HasErrors() && !out.HasErrors() {
		return d // never turn a failure into a success
	}
	return out
}
