package correlate

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
	"github.com/octostore/agent/internal/recexpr"
)

// Config is the `transform "correlate" "NAME"` block.
type Config struct {
	Kind    string
	Schema  *schema.Schema // checks what it emits, when set
	Forward string         // "answers" (default) or "all"

	Remember Remember
	Trigger  Trigger

	MaxEntries   int
	MaxBytes     int64
	MaxAnswers   int
	SaveInterval time.Duration
}

// Remember is the `remember` block: which records the window keeps, under
// which key, what of them, how many and for how long.
type Remember struct {
	recexpr.Selector
	Key       *recexpr.Key
	Fields    *recexpr.Fields // nil: every field
	MaxPerKey int
	MaxAge    time.Duration
}

// Trigger is the `trigger` block: which records are answered, with the
// remembered records of which key, and what the answer holds.
type Trigger struct {
	recexpr.Selector
	Key    *recexpr.Key
	Once   *recexpr.Key // at most one answer per value (per key), when set
	List   string
	Limit  int
	Fields *recexpr.Fields
	Entity []string
	Enrich bool
}

// Item keys every listed record has; remember fields may not use them.
var itemKeys = []string{"id", "kind", "time", "delay_s"}

// Defaults.
const (
	defaultMaxPerKey    = 10
	defaultMaxAge       = 24 * time.Hour
	defaultMaxEntries   = 100_000
	defaultMaxBytes     = 16 << 20
	defaultMaxAnswers   = 10_000
	defaultSaveInterval = time.Second
)

func newConfig() *Config {
	return &Config{Forward: "answers", MaxEntries: defaultMaxEntries, MaxBytes: defaultMaxBytes, MaxAnswers: defaultMaxAnswers,
		SaveInterval: defaultSaveInterval,
		Remember:     Remember{MaxPerKey: defaultMaxPerKey, MaxAge: defaultMaxAge},
		Trigger:      Trigger{List: "matches"}}
}

var topAttrs = []hcl.AttributeSchema{{Name: "kind"}, {Name: "schema"}, {Name: "forward"}, {Name: "max_entries"},
	{Name: "max_bytes"}, {Name: "max_answers"}, {Name: "save_interval"}}

// DecodeHCL decodes the block: its own attributes, then `remember` and
// `trigger` (one each), every expression compiled and type-checked here.
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, env *decode.Env) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{Attributes: topAttrs,
		Blocks: []hcl.BlockHeaderSchema{{Type: "remember"}, {Type: "trigger"}}})
	top := &recexpr.Block{Attrs: content.Attributes, Range: body.MissingItemRange(), Ctx: ctx}
	diags = append(diags, top.String("kind", &c.Kind)...)
	if a, ok := content.Attributes["schema"]; ok {
		s, d := env.SchemaRef(a)
		c.Schema = s
		diags = append(diags, d...)
	}
	diags = append(diags, top.String("forward", &c.Forward)...)
	if c.Forward != "answers" && c.Forward != "all" {
		diags = append(diags, decode.Errorf(content.Attributes["forward"].Expr.Range(), "Invalid forward",
			`%q is not a choice: "answers" passes on only what the transform makes; "all" also passes on every record it reads.`, c.Forward)...)
	}
	diags = append(diags, top.Int("max_entries", 1, &c.MaxEntries)...)
	diags = append(diags, top.Bytes("max_bytes", &c.MaxBytes)...)
	diags = append(diags, top.Int("max_answers", 1, &c.MaxAnswers)...)
	diags = append(diags, top.Duration("save_interval", &c.SaveInterval)...)

	var rem, trig []*hcl.Block
	for _, b := range content.Blocks {
		if b.Type == "remember" {
			rem = append(rem, b)
		} else {
			trig = append(trig, b)
		}
	}
	diags = append(diags, one(rem, "remember", body)...)
	diags = append(diags, one(trig, "trigger", body)...)
	if len(rem) > 0 {
		diags = append(diags, c.decodeRemember(rem[0], ctx, env)...)
	}
	if len(trig) > 0 {
		diags = append(diags, c.decodeTrigger(trig[0], ctx, env)...)
	}
	return diags
}

func one(blocks []*hcl.Block, name string, body hcl.Body) hcl.Diagnostics {
	switch {
	case len(blocks) == 0:
		return decode.Errorf(body.MissingItemRange(), "Missing "+name+" block",
			"A correlate transform has one remember block (the records it keeps) and one trigger block (the records it answers).")
	case len(blocks) > 1:
		return decode.Errorf(blocks[1].DefRange, "Duplicate "+name+" block", "Write one %s block; its kinds and when choose every record it takes.", name)
	}
	return nil
}

func (c *Config) decodeRemember(blk *hcl.Block, ctx *hcl.EvalContext, env *decode.Env) hcl.Diagnostics {
	b, diags := recexpr.DecodeBlock(blk.Body, blk.DefRange, ctx, env,
		hcl.AttributeSchema{Name: "key"}, hcl.AttributeSchema{Name: "fields"}, hcl.AttributeSchema{Name: "max_per_key"}, hcl.AttributeSchema{Name: "max_age"})
	r := &c.Remember
	r.Selector = b.Selector
	var d hcl.Diagnostics
	r.Key, d = b.Key("key", true)
	diags = append(diags, d...)
	r.Fields, d = b.Fields("fields", itemKeys...)
	diags = append(diags, d...)
	diags = append(diags, b.Int("max_per_key", 1, &r.MaxPerKey)...)
	diags = append(diags, b.Duration("max_age", &r.MaxAge)...)
	return diags
}

func (c *Config) decodeTrigger(blk *hcl.Block, ctx *hcl.EvalContext, env *decode.Env) hcl.Diagnostics {
	b, diags := recexpr.DecodeBlock(blk.Body, blk.DefRange, ctx, env,
		hcl.AttributeSchema{Name: "key"}, hcl.AttributeSchema{Name: "once"}, hcl.AttributeSchema{Name: "list"},
		hcl.AttributeSchema{Name: "limit"}, hcl.AttributeSchema{Name: "fields"}, hcl.AttributeSchema{Name: "entity"},
		hcl.AttributeSchema{Name: "enrich"})
	t := &c.Trigger
	t.Selector = b.Selector
	var d hcl.Diagnostics
	t.Key, d = b.Key("key", true)
	diags = append(diags, d...)
	t.Once, d = b.Key("once", false)
	diags = append(diags, d...)
	diags = append(diags, b.String("list", &t.List)...)
	if t.List == "" {
		t.List = "matches"
	}
	diags = append(diags, b.Int("limit", 1, &t.Limit)...)
	t.Fields, d = b.Fields("fields", t.List, "trigger_id")
	diags = append(diags, d...)
	if a, ok := b.Attrs["entity"]; ok {
		diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, &t.Entity)...)
	}
	diags = append(diags, b.Bool("enrich", &t.Enrich)...)
	return diags
}

// limit is the most records an answer lists.
func (c *Config) limit() int {
	if c.Trigger.Limit > 0 {
		return c.Trigger.Limit
	}
	return c.Remember.MaxPerKey
}

// windowPrint is the fingerprint of what the saved window depends on:
// which records are remembered, how they are keyed and what is kept of
// them. answerPrint is that of the saved answers: how triggers are chosen
// and answered. Limits may change freely: the state is trimmed to them.
func (c *Config) windowPrint() string {
	r := &c.Remember
	return recexpr.Fingerprint(fmt.Sprintf("remember:%s;key=%s;fields=%s;", r.Selector.Source, keySrc(r.Key), r.Fields.Source()))
}

func (c *Config) answerPrint() string {
	t := &c.Trigger
	return recexpr.Fingerprint(fmt.Sprintf("kind=%s;schema=%s;trigger:%s;key=%s;once=%s;list=%s;fields=%s;entity=%s;enrich=%t;",
		c.Kind, schemaName(c.Schema), t.Selector.Source, keySrc(t.Key), keySrc(t.Once), t.List, t.Fields.Source(), strings.Join(t.Entity, ","), t.Enrich))
}

func keySrc(k *recexpr.Key) string {
	if k == nil {
		return ""
	}
	return k.Source
}

func schemaName(s *schema.Schema) string {
	if s == nil {
		return ""
	}
	return s.Name
}
