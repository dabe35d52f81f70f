package assemble

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
	"github.com/octostore/agent/internal/recexpr"
)

// Config is the `transform "assemble" "NAME"` block.
type Config struct {
	Kind   string
	Schema *schema.Schema // checks what it emits, when set
	Key    *recexpr.Key
	Entity []string

	Header   *Header
	Parts    []*Part
	Complete *recexpr.Selector

	Settle       time.Duration
	Timeout      time.Duration
	MaxGroups    int
	MaxParts     int
	MaxDone      int
	MaxBytes     int64
	SaveInterval time.Duration
}

// Header is the `header` block: the records whose fields become the
// summary's own (a run's events: queued, running, its end); the latest
// one's fields win.
type Header struct {
	recexpr.Selector
	Fields *recexpr.Fields
}

// Part is a `part "LIST"` block: records gathered in the summary's list
// LIST, one per id (the latest of an id wins: a step's running, then its
// success), in the order of their times.
type Part struct {
	Name string
	recexpr.Selector
	ID     *recexpr.Key
	Fields *recexpr.Fields
}

// Reserved fields: the summary sets them itself.
var reserved = []string{"complete", "incomplete_reason"}

// Defaults.
const (
	defaultSettle       = 2 * time.Second
	defaultTimeout      = 6 * time.Hour
	defaultMaxGroups    = 10_000
	defaultMaxParts     = 1_000
	defaultMaxDone      = 100_000
	defaultMaxBytes     = 16 << 20
	defaultSaveInterval = time.Second
)

func newConfig() *Config {
	return &Config{Settle: defaultSettle, Timeout: defaultTimeout, MaxGroups: defaultMaxGroups, MaxParts: defaultMaxParts,
		MaxDone: defaultMaxDone, MaxBytes: defaultMaxBytes, SaveInterval: defaultSaveInterval}
}

var topAttrs = []hcl.AttributeSchema{{Name: "kind"}, {Name: "schema"}, {Name: "key"}, {Name: "entity"}, {Name: "settle"},
	{Name: "timeout"}, {Name: "max_groups"}, {Name: "max_parts"}, {Name: "max_done"}, {Name: "max_bytes"}, {Name: "save_interval"}}

// DecodeHCL decodes the block: its attributes, then the header, part and
// complete blocks, every expression compiled and type-checked here.
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, env *decode.Env) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{Attributes: topAttrs, Blocks: []hcl.BlockHeaderSchema{
		{Type: "header"}, {Type: "part", LabelNames: []string{"list"}}, {Type: "complete"}}})
	top := &recexpr.Block{Attrs: content.Attributes, Range: body.MissingItemRange(), Ctx: ctx}
	diags = append(diags, top.String("kind", &c.Kind)...)
	if a, ok := content.Attributes["schema"]; ok {
		s, d := env.SchemaRef(a)
		c.Schema = s
		diags = append(diags, d...)
	}
	var d hcl.Diagnostics
	c.Key, d = top.Key("key", true)
	diags = append(diags, d...)
	diags = append(diags, top.Strings("entity", &c.Entity)...)
	if _, ok := content.Attributes["settle"]; ok {
		var s string
		diags = append(diags, top.String("settle", &s)...)
		if s == "0" || s == "0s" {
			c.Settle = 0
		} else {
			diags = append(diags, top.Duration("settle", &c.Settle)...)
		}
	}
	diags = append(diags, top.Duration("timeout", &c.Timeout)...)
	diags = append(diags, top.Int("max_groups", 1, &c.MaxGroups)...)
	diags = append(diags, top.Int("max_parts", 1, &c.MaxParts)...)
	diags = append(diags, top.Int("max_done", 1, &c.MaxDone)...)
	diags = append(diags, top.Bytes("max_bytes", &c.MaxBytes)...)
	diags = append(diags, top.Duration("save_interval", &c.SaveInterval)...)

	names := map[string]hcl.Range{}
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "header":
			if c.Header != nil {
				diags = append(diags, decode.Errorf(blk.DefRange, "Duplicate header block", "Write one header block; its kinds and when choose every record it takes.")...)
				continue
			}
			b, d := recexpr.DecodeBlock(blk.Body, blk.DefRange, ctx, env, hcl.AttributeSchema{Name: "fields"})
			diags = append(diags, d...)
			h := &Header{Selector: b.Selector}
			h.Fields, d = b.Fields("fields", reserved...)
			diags = append(diags, d...)
			c.Header = h
		case "part":
			name := blk.Labels[0]
			if prev, dup := names[name]; dup {
				diags = append(diags, decode.Errorf(blk.LabelRanges[0], "Duplicate part "+name,
					"Part %q is already defined at %s:%d; name each list once.", name, prev.Filename, prev.Start.Line)...)
				continue
			}
			names[name] = blk.DefRange
			b, d := recexpr.DecodeBlock(blk.Body, blk.DefRange, ctx, env, hcl.AttributeSchema{Name: "id"}, hcl.AttributeSchema{Name: "fields"})
			diags = append(diags, d...)
			p := &Part{Name: name, Selector: b.Selector}
			p.ID, d = b.Key("id", true)
			diags = append(diags, d...)
			p.Fields, d = b.Fields("fields")
			diags = append(diags, d...)
			c.Parts = append(c.Parts, p)
		case "complete":
			if c.Complete != nil {
				diags = append(diags, decode.Errorf(blk.DefRange, "Duplicate complete block", "Write one complete block: the records that end a group.")...)
				continue
			}
			b, d := recexpr.DecodeBlock(blk.Body, blk.DefRange, ctx, env)
			diags = append(diags, d...)
			c.Complete = &b.Selector
		}
	}
	if c.Header == nil && len(c.Parts) == 0 && !diags.HasErrors() {
		diags = append(diags, decode.Errorf(body.MissingItemRange(), "Nothing to assemble",
			`An assemble transform has a header block (the records that give the summary its fields) and/or part "LIST" blocks (the records it lists).`)...)
	}
	if c.Header != nil && c.Header.Fields != nil {
		for _, p := range c.Parts {
			for _, n := range c.Header.Fields.Names {
				if n == p.Name {
					diags = append(diags, decode.Errorf(names[p.Name], "Part "+p.Name+" hides a header field",
						"The header sets a field %q and the part list has the same name; rename one.", n)...)
				}
			}
		}
	}
	return diags
}

// fingerprint names what the saved groups depend on: how records are
// keyed and selected and what is kept of them. Limits and timings may
// change freely.
func (c *Config) fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kind=%s;key=%s;entity=%s;", c.Kind, c.Key.Source, strings.Join(c.Entity, ","))
	if c.Schema != nil {
		b.WriteString("schema=" + c.Schema.Name + ";")
	}
	if c.Header != nil {
		fmt.Fprintf(&b, "header:%s;fields=%s;", c.Header.Selector.Source, c.Header.Fields.Source())
	}
	for _, p := range c.Parts {
		fmt.Fprintf(&b, "part %s:%s;id=%s;fields=%s;", p.Name, p.Selector.Source, p.ID.Source, p.Fields.Source())
	}
	if c.Complete != nil {
		fmt.Fprintf(&b, "complete:%s;", c.Complete.Source)
	}
	return recexpr.Fingerprint(b.String())
}
