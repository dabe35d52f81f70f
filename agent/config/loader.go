// Package config loads HCL config files into a validated agent.Graph. Every
// problem becomes an hcl.Diagnostic with a file:line:col subject, a summary
// and, where one helps, a hint on how to fix it (in Detail).
package config

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
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
	// agentBlock is the agent block, if there is one (for Preflight's
	// positions).
	agentBlock *hcl.Block
}

// Component is one decoded component block.
type Component struct {
	ID         string
	Kind       agent.Kind
	Type       string
	Name       string
	Factory    *agent.Factory
	Config     any
	Inputs     []Input
	Queue      int
	QueueBytes int // a memory buffer's max_bytes
	Buffer     agent.BufferSpec
	DefRange   hcl.Range
	Body       hcl.Body
	inputsAt   *hcl.Range
}

// Input is one resolved reference in an inputs list.
type Input struct {
	ID    string // output ID: "source.file.nginx", "transform.x.dead_letter"
	Range hcl.Range
}

// DefaultTransformType is the type of a transform written with its name
// alone: transform "NAME" is transform "rules" "NAME".
const DefaultTransformType = "rules"

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
	// Untrusted text (the rule playground's editor) may not read the
	// host: env() and file() fail, and config_dir is ".".
	Untrusted bool
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
		l.diags = append(l.diags, explainSyntax(src.Data, d)...)
		if f == nil {
			continue
		}
		ctx := evalContext(src.Name)
		if src.Untrusted {
			ctx = untrustedContext()
		}
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
			res.agentBlock = blk
			l.decodeAgent(blk, ctx, &res.Graph.Agent)
		default:
			l.decodeComponent(blk, ctx)
		}
	}
	l.resolveTests(res.Tests)
	l.resolveInputs()
	l.checkCycles()
	l.checkUnused()
	l.checkClaims()
	var secrets []agent.Secret
	res.Files, secrets = redactFiles(l.parser.Files(), secretNames(reg))
	scrubDiags(l.diags, secrets)
	res.Components = l.comps
	res.Schemas = l.env.Schemas
	if !l.diags.HasErrors() {
		for _, c := range l.comps {
			spec := agent.NodeSpec{ID: c.ID, Type: c.Type, Name: c.Name, Kind: c.Kind, Factory: c.Factory, Config: c.Config, QueueCapacity: c.Queue, QueueBytes: c.QueueBytes, Buffer: c.Buffer}
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
