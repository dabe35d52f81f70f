package rules

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/grok"
)

// Logstash's grok pattern sets (logstash-patterns-core v4.3.1, Apache-2.0,
// see patterns/LICENSE and patterns/NOTICE.TXT): ecs-v1 for
// ecs_compatibility = "v1" (the default, as in Logstash 8), legacy for
// "disabled".
//
//go:embed patterns
var patternFiles embed.FS

// patternSets holds each of Logstash's sets, read on first use: a config
// reads only the set its steps name.
var patternSets = map[string]*patternSet{
	"v1":       {dir: "patterns/ecs-v1"},
	"disabled": {dir: "patterns/legacy"},
}

type patternSet struct {
	dir  string
	once sync.Once
	defs map[string]string
}

// LogstashPatterns returns Logstash's pattern set for an ecs_compatibility
// value ("v1" or "disabled").
func LogstashPatterns(ecs string) map[string]string {
	ps := patternSets[ecs]
	if ps == nil {
		return nil
	}
	ps.once.Do(func() {
		all := map[string]string{}
		ents, err := fs.ReadDir(patternFiles, ps.dir)
		if err != nil {
			panic(err)
		}
		for _, e := range ents {
			b, err := fs.ReadFile(patternFiles, path.Join(ps.dir, e.Name()))
			if err != nil {
				panic(err)
			}
			defs, err := grok.ParseDefinitions(string(b))
			if err != nil {
				panic(fmt.Sprintf("%s/%s: %v", ps.dir, e.Name(), err))
			}
			for k, v := range defs {
				all[k] = v
			}
		}
		ps.defs = all
	})
	return ps.defs
}

// Patterns is the grok library shipped with the agent, on top of
// Logstash's sets. The web-server patterns capture the flat field names of
// the http_request schema that the rule packs share.
var Patterns = map[string]string{
	"HTTP_REQUEST_LINE": `%{WORD:method} %{NOTSPACE:path} %{NOTSPACE:protocol}`,
	"APACHE_COMMON":     `%{IPORHOST:client_ip} %{NOTSPACE} %{NOTSPACE:user} \[%{HTTPDATE:time}\] "%{HTTP_REQUEST_LINE}" %{INT:status} (?:%{INT:bytes}|-)`,
	"APACHE_COMBINED":   `%{APACHE_COMMON} "%{DATA:referer}" "%{DATA:user_agent}"`,
	"NGINX_ACCESS":      `%{IPORHOST:client_ip} - %{NOTSPACE:user} \[%{HTTPDATE:time}\] "%{HTTP_REQUEST_LINE}" %{INT:status} (?:%{INT:bytes}|-) "%{DATA:referer}" "%{DATA:user_agent}"`,
	"NGINX_COMBINED":    `%{NGINX_ACCESS}`,
	"NGINX_MAIN":        `%{NGINX_ACCESS}(?: "%{DATA:forwarded_for}")?`,
	"NGINX_ERROR":       `%{DATA:time} \[%{LOGLEVEL:level}\] %{POSINT:pid}#%{NUMBER:tid}: (?:\*%{NUMBER:connection} )?%{GREEDYDATA:message}`,
}

// defaultGrokTimeout bounds the backtracking engine on one line.
const defaultGrokTimeout = 100 * time.Millisecond

type grokStep struct {
	input
	pats  []*grokPattern
	names []string
	notes []string
}

// grokPattern is one compiled pattern with how its captures become fields.
type grokPattern struct {
	p       *grok.Pattern
	m       *grok.Matcher
	slots   []int
	plan    *capturePlan  // one capture per field: typed straight into the schema
	vals    []agent.Value // the plan's converted captures (:int, ...), per line
	fields  []grokField   // one per field, in order: when there is no plan, or a conversion fails
	timeout time.Duration
}

// grokField is one field that captures set (several captures may name it).
type grokField struct {
	path []string
	typ  string
	caps []int // capture numbers - 1
}

type grokBlock struct {
	Field       *string           `hcl:"field,optional"`
	RemoveField *bool             `hcl:"remove_field,optional"`
	Pattern     *string           `hcl:"pattern,optional"`
	Patterns    []string          `hcl:"patterns,optional"`
	Definitions map[string]string `hcl:"definitions,optional"`
	// PatternDefinitions is Logstash's name for definitions.
	PatternDefinitions map[string]string `hcl:"pattern_definitions,optional"`
	PatternsDir        []string          `hcl:"patterns_dir,optional"`
	ECSCompatibility   *string           `hcl:"ecs_compatibility,optional"`
	Timeout            *string           `hcl:"timeout,optional"`
}

func newGrokStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c grokBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	pats, ranges := patternList(blk, c.Pattern, c.Patterns)
	if len(pats) == 0 {
		return nil, diag(blk.DefRange, "Missing pattern", `parse "grok" needs pattern = "%%{HTTPD_COMBINEDLOG}" (or patterns = [...], tried in order).`)
	}
	ecs := "v1"
	if c.ECSCompatibility != nil {
		switch *c.ECSCompatibility {
		case "v1", "v8":
		case "disabled":
			ecs = "disabled"
		default:
			return nil, diag(attrRange(blk, "ecs_compatibility"), "Invalid ecs_compatibility",
				"%q: use \"v1\" (Elastic Common Schema field names, the default) or \"disabled\" (Logstash's legacy names).%s",
				*c.ECSCompatibility, didYouMean(*c.ECSCompatibility, []string{"v1", "v8", "disabled"}, "values"))
		}
	}
	timeout := defaultGrokTimeout
	if c.Timeout != nil {
		d, err := time.ParseDuration(*c.Timeout)
		if err != nil || d <= 0 {
			return nil, diag(attrRange(blk, "timeout"), "Invalid timeout", "%q: a positive duration such as \"100ms\".", *c.Timeout)
		}
		timeout = d
	}
	if len(c.PatternDefinitions) > 0 {
		if c.Definitions == nil {
			c.Definitions = map[string]string{}
		}
		for k, v := range c.PatternDefinitions {
			if _, dup := c.Definitions[k]; dup {
				return nil, diag(attrRange(blk, "pattern_definitions"), "Pattern defined twice",
					"%s is in both definitions and pattern_definitions (two names for one setting): keep one.", k)
			}
			c.Definitions[k] = v
		}
	}
	dirDefs, d := readPatternsDirs(blk, c.PatternsDir)
	if d.HasErrors() {
		return nil, d
	}
	set := LogstashPatterns(ecs)
	lookup := func(name string) (string, bool) {
		if v, ok := c.Definitions[name]; ok {
			return v, true
		}
		if v, ok := dirDefs[name]; ok {
			return v, true
		}
		if v, ok := Patterns[name]; ok {
			return v, true
		}
		v, ok := set[name]
		return v, ok
	}
	s := &grokStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env)}
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for i, src := range pats {
		p, err := grok.Compile(src, grok.Options{Lookup: lookup, Budget: timeout})
		if err != nil {
			hint := "%v. Patterns are %%{NAME}, %%{NAME:field} or %%{NAME:[nested][field]}, optionally typed (%%{INT:status:int}); add your own with definitions = { NAME = \"regex\" } or patterns_dir."
			var unk *grok.UnknownPatternError
			if errors.As(err, &unk) {
				hint = "%v. " + nearestHint(unk.Name, allPatternNames(set, c.Definitions, dirDefs)) +
					" Logstash's patterns (ecs_compatibility = \"" + ecs + "\") and the agent's (" + strings.Join(sortedKeys(Patterns), ", ") + ") are built in; add your own with definitions or patterns_dir."
			}
			diags = append(diags, diag(ranges[i], "Invalid grok pattern", hint, err)...)
			continue
		}
		gp := &grokPattern{p: p, m: p.NewMatcher(), slots: make([]int, p.Slots()), timeout: timeout}
		gp.plan, gp.fields = grokFields(p, env)
		if gp.plan != nil && gp.plan.types != nil {
			gp.vals = make([]agent.Value, len(gp.plan.idx))
		}
		s.pats = append(s.pats, gp)
		s.notes = append(s.notes, fmt.Sprintf("%s:%d:%d: parse.grok pattern %d: %s engine (%s)", ranges[i].Filename, ranges[i].Start.Line, ranges[i].Start.Column, i+1, p.Engine, p.Reason))
		for _, cp := range p.Captures {
			if !seen[cp.Path[0]] && cp.Path[0] != metadataField {
				seen[cp.Path[0]] = true
				s.names = append(s.names, cp.Path[0])
			}
		}
	}
	return s, diags
}

func allPatternNames(maps ...map[string]string) []string {
	var out []string
	for _, m := range append(maps, Patterns) {
		for k := range m {
			out = append(out, k)
		}
	}
	return out
}

// readPatternsDirs reads every file of each directory (a path relative to
// the config file's directory, or absolute) as pattern definitions.
func readPatternsDirs(blk *hcl.Block, dirs []string) (map[string]string, hcl.Diagnostics) {
	out := map[string]string{}
	r := attrRange(blk, "patterns_dir")
	for _, dir := range dirs {
		if !filepath.IsAbs(dir) && blk.DefRange.Filename != "" {
			dir = filepath.Join(filepath.Dir(blk.DefRange.Filename), dir)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, diag(r, "Cannot read patterns_dir", "%v. patterns_dir lists directories of pattern files (one NAME REGEX a line), relative to this file's directory.", err)
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err == nil {
				var defs map[string]string
				defs, err = grok.ParseDefinitions(string(b))
				for k, v := range defs {
					out[k] = v
				}
			}
			if err != nil {
				return nil, diag(r, "Invalid pattern file", "%s: %v", filepath.Join(dir, n), err)
			}
		}
	}
	return out, nil
}

// metadataField is Logstash's [@metadata]: fields for the pipeline that
// never reach an output. The agent has no such side channel, so grok does
// not set them (ecs-v1 CISCOFW* keep ACL hash codes there).
const metadataField = "@metadata"

// grokFields plans how a pattern's captures become fields: always a field
// list, and a capture plan (typed straight into the schema, as parse
// "regex" does, nested fields kept typed under their path keys) when each
// field is set by one capture and none is "-" or [@metadata].
func grokFields(p *grok.Pattern, env *stepEnv) (*capturePlan, []grokField) {
	simple := true
	byField := map[string]int{}
	var fields []grokField
	for i, c := range p.Captures {
		key := strings.Join(c.Path, "\x00")
		if k, ok := byField[key]; ok {
			fields[k].caps = append(fields[k].caps, i)
			simple = false
			continue
		}
		byField[key] = len(fields)
		fields = append(fields, grokField{path: c.Path, typ: c.Type, caps: []int{i}})
		if c.Path[0] == "-" || c.Path[0] == metadataField {
			simple = false
		}
		for _, part := range c.Path {
			if agent.IsPathKey(part) {
				simple = false
			}
		}
	}
	if !simple {
		return nil, fields
	}
	names := make([]string, len(p.Captures)+1)
	typed := false
	for i, c := range p.Captures {
		names[i+1] = agent.PathKey(c.Path...)
		typed = typed || c.Type != ""
	}
	plan := newCapturePlan(names, env.schema)
	if typed {
		plan.types = make([]string, len(plan.idx))
		for k, g := range plan.idx {
			if plan.types[k] = p.Captures[g-1].Type; plan.types[k] != "" {
				plan.asIs[k] = asIsCapture{} // converted first
			}
		}
	}
	return &plan, fields
}

func (s *grokStep) Name() string               { return "parse.grok" }
func (s *grokStep) Produces() ([]string, bool) { return s.names, false }

// Notes says which engine runs each pattern, and why (octoagent validate).
func (s *grokStep) Notes() []string { return s.notes }

func (s *grokStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	for i, gp := range s.pats {
		ok, err := gp.m.Match(in, gp.slots)
		if err != nil && errors.Is(err, grok.ErrTimeout) { // errors.Is took 20 instructions a line on nil
			return stepErr("timeout", s.field, "pattern %d ran longer than %s on this line", i+1, gp.timeout)
		}
		if err != nil || !ok {
			continue
		}
		return s.store(r, gp, in)
	}
	return stepErr("no_match", s.field, "no pattern matched (%d tried)", len(s.pats))
}

// store sets the fields of a match. As in Logstash, a capture that took
// no part or is empty sets nothing, and a match without captures leaves
// the record as it is.
func (s *grokStep) store(r *agent.Record, gp *grokPattern, in []byte) error {
	m := gp.slots
	p := gp.plan
	if p == nil {
		return s.storeFields(r, gp, in)
	}
	if len(p.idx) > 0 && s.field == "message" && r.IsRaw() && s.typedFresh(r, p, in, m, true) {
		return nil
	}
	if p.types != nil {
		// Conversions first: one that fails sends the match to
		// storeFields before anything is set.
		for k, g := range p.idx {
			if p.types[k] == "" || m[2*g] < 0 || m[2*g+1] <= m[2*g] {
				continue
			}
			v, err := convertGrokValue(bytesString(in[m[2*g]:m[2*g+1]]), p.types[k])
			if err != nil {
				// Fields are set in the pattern's order up to the one
				// that fails, as the dead letter shows them.
				return s.storeFields(r, gp, in)
			}
			gp.vals[k] = v
		}
	}
	// The record's fields start at the first capture set, sized for all
	// (as parse "regex" sizes them): one pass, no count first.
	var c captured
	started := false
	for k, g := range p.idx {
		if m[2*g] < 0 || m[2*g+1] <= m[2*g] {
			continue
		}
		if !started {
			s.begin(&c, r, len(p.idx))
			started = true
		}
		if p.types != nil && p.types[k] != "" {
			c.setPlannedValue(p, k, gp.vals[k])
			continue
		}
		c.setPlanned(p, k, bytesString(in[m[2*g]:m[2*g+1]]))
	}
	if !started {
		return nil
	}
	return c.done()
}

// storeFields sets the fields of a match one by one, in the pattern's
// order: a field captured several times becomes a list, and nested fields
// are objects of the fields map.
func (s *grokStep) storeFields(r *agent.Record, gp *grokPattern, in []byte) error {
	m := gp.slots
	var c captured
	started := false
	for _, f := range gp.fields {
		var vals []any
		for _, ci := range f.caps {
			a, b := m[2*(ci+1)], m[2*(ci+1)+1]
			if a < 0 || b <= a {
				continue
			}
			text := string(in[a:b])
			v, err := convertGrok(text, f.typ)
			if err != nil {
				return stepErr("no_match", strings.Join(f.path, "."), "%v", err)
			}
			vals = append(vals, v)
		}
		if len(vals) == 0 || f.path[0] == "-" || f.path[0] == metadataField {
			continue
		}
		if !started {
			s.begin(&c, r, len(gp.fields))
			started = true
		}
		var v any = vals[0]
		if len(vals) > 1 {
			v = vals // several captures of one field: a list, as in Logstash
		}
		if len(f.path) == 1 {
			c.set(f.path[0], v)
			continue
		}
		setNested(r, f.path, v)
	}
	if !started {
		return nil
	}
	return c.done()
}

// setNested sets a field inside nested objects, creating them: the shape
// parse "json" gives to {"a":{"b":1}}.
func setNested(r *agent.Record, p []string, v any) {
	top, _ := r.Get(p[0])
	obj, ok := top.(map[string]any)
	if !ok {
		obj = map[string]any{}
		r.Set(p[0], obj)
	}
	for _, k := range p[1 : len(p)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[k] = next
		}
		obj = next
	}
	obj[p[len(p)-1]] = v
}

// convertGrok applies a :int, :float or :bool suffix. As Logstash's :int
// and :float do (Ruby's to_i and to_f), the number at the start of the
// capture is taken and the rest ignored ("0.25 ms" is 0.25, "12.7" as an
// int is 12). A capture with no number at its start is an error (Logstash
// would give 0).
func convertGrok(s, typ string) (any, error) {
	if typ == "" {
		return s, nil
	}
	v, err := convertGrokValue(s, typ)
	if err != nil {
		return nil, err
	}
	return v.Any(), nil
}

// convertGrokValue is convertGrok, unboxed: an integer of plain digits
// (the usual capture) is read with nothing built.
func convertGrokValue(s, typ string) (agent.Value, error) {
	switch typ {
	case "int":
		if n, ok := agent.ShortInt(s); ok { // most: ParseInt took 240 instructions
			return agent.IntValue(n), nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return agent.IntValue(n), nil // [+-]digits: what numberPrefix would read
		}
		if n, err := strconv.ParseInt(numberPrefix(s, false), 10, 64); err == nil {
			return agent.IntValue(n), nil
		}
		return agent.Value{}, fmt.Errorf("cannot convert %q to int", s)
	case "float":
		f, err := strconv.ParseFloat(numberPrefix(s, true), 64)
		if err != nil {
			return agent.Value{}, fmt.Errorf("cannot convert %q to float", s)
		}
		return agent.FloatValue(f), nil
	case "bool":
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return agent.Value{}, fmt.Errorf("cannot convert %q to bool", s)
		}
		return agent.BoolValue(b), nil
	}
	return agent.StringValue(s), nil
}

// numberPrefix returns the number Ruby's to_i (or to_f) reads at the start
// of s: leading whitespace skipped, a sign, digits with single underscores
// between them, and for a float a fraction and an exponent; "" if none.
func numberPrefix(s string, float bool) string {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	var b strings.Builder
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		b.WriteByte(s[i])
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) {
			if s[i] >= '0' && s[i] <= '9' {
				b.WriteByte(s[i])
				i++
				n++
			} else if s[i] == '_' && n > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				i++
			} else {
				break
			}
		}
		return n
	}
	if digits() == 0 {
		return ""
	}
	if !float {
		return b.String()
	}
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		b.WriteByte('.')
		i++
		digits()
	}
	if i+1 < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			b.WriteString(s[i:j])
			i = j
			digits()
		}
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
