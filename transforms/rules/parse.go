package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/scan"
	"github.com/octostore/agent/agent/schema"
)

// parseCommon is what every parse step takes.
type parseCommon struct {
	Field       *string `hcl:"field,optional"`
	RemoveField *bool   `hcl:"remove_field,optional"`
}

// input is the shared part of parse steps: which field they read, and how
// the values they capture become fields (coerced to the schema's types as
// soon as they are captured, so later steps see typed values).
type input struct {
	field  string
	remove bool
	schema *schema.Schema
	// slab is where the typed fields of the records this step starts are
	// carved from.
	slab fieldSlab
	// room is how many fields the steps after this one and the schema's
	// defaults may add to a record this step starts (sizeRooms); a record
	// that gets more moves its fields to a larger array.
	room int
}

// defaultRoom is the room left for later fields when the steps after a
// parse step are not known.
const defaultRoom = 4

// setRoom sets the room for later fields (see sizeRooms).
func (in *input) setRoom(n int) { in.room = n }

func newInput(c parseCommon, env *stepEnv) input {
	in := input{field: "message", schema: env.schema, room: defaultRoom}
	if c.Field != nil {
		in.field = *c.Field
	}
	if c.RemoveField != nil {
		in.remove = *c.RemoveField && in.field != "message"
	}
	return in
}

// removed is the field the step removes (remove_field), or "".
func (in *input) removed() string {
	if in.remove {
		return in.field
	}
	return ""
}

// read returns the bytes to parse: the raw line for "message" when no step
// put a message field, else the field as a string.
func (in *input) read(r *agent.Record) ([]byte, error) {
	if in.field == "message" && r.Raw != nil && r.IsRaw() {
		return r.Raw, nil // a line no step has parsed yet
	}
	v, ok := r.Lookup(in.field)
	if !ok {
		x, present := r.Get(in.field)
		if !present {
			if in.field == "message" && r.Raw != nil {
				return r.Raw, nil
			}
			return nil, stepErr("missing_field", in.field, "required by the parser, missing")
		}
		return nil, stepErr("wrong_type", in.field, "expects string, got %T", x)
	}
	if v.Kind() != agent.KindString {
		return nil, stepErr("wrong_type", in.field, "expects string, got %T", v.Any())
	}
	// Strings are immutable and parse steps never write to their input,
	// so the field's bytes are parsed in place.
	return unsafe.Slice(unsafe.StringData(v.Str()), len(v.Str())), nil
}

// slabRecords is how many records' typed fields one allocation holds. A
// slab lives on while any of its records does, so it stays small next to
// the queues.
const slabRecords = 64

// fieldSlab hands out the typed fields of records, carved from one
// allocation for many records. Steps run on their transform's goroutine
// only, so a step keeps its own.
//
// A slab is reused once every record it gave fields to has an outcome:
// each token whose records took fields from it holds a reference
// (agent.Token.OnRelease drops it), and the step holds one while it
// carves. A record's fields never outlive its outcome (no component
// touches a record after it; a copy that lives on, a fan-out clone or a
// dead letter, copies the fields), so the slab is dead when the last
// reference goes (docs/architecture.md, "Recycled memory"). A record
// without a token cannot say when it is done: a slab that gave fields to
// one is left to the collector.
type fieldSlab struct {
	free agent.TypedFields
	cur  *slabMem     // what free is carved from
	tok  *agent.Token // the last token that took a reference to cur
	pool *sync.Pool   // slabs released, for this step to reuse
}

// slabMem is one allocation of a fieldSlab and its references.
type slabMem struct {
	fields agent.TypedFields
	refs   atomic.Int32
	keep   bool // a record without a token took fields: never reused
	home   *sync.Pool
}

// unref drops a reference; the last one clears the slab (so it keeps no
// string it pointed to alive) and returns it to its step's pool.
func (m *slabMem) unref() {
	if m.refs.Add(-1) != 0 || m.keep {
		return
	}
	clear(m.fields)
	m.home.Put(m)
}

// take returns n cleared typed fields (length and capacity n) for a
// record that carries tok; callers reslice to what they fill. A record
// that grows past n moves its fields out instead of into its neighbour's.
func (s *fieldSlab) take(n int, tok *agent.Token) agent.TypedFields {
	if cap(s.free)-len(s.free) < n {
		s.next(n * slabRecords)
	}
	if tok != s.tok {
		if tok == nil {
			s.cur.keep = true
		} else {
			s.cur.refs.Add(1)
			tok.OnRelease(s.cur.unref)
		}
		s.tok = tok
	}
	end := len(s.free) + n
	fs := s.free[len(s.free):end:end]
	s.free = s.free[:end]
	return fs
}

// next starts carving a slab of size fields (or more), one released
// earlier when there is one, and lets go of the current one.
func (s *fieldSlab) next(size int) {
	if s.cur != nil {
		s.cur.unref()
	}
	if s.pool == nil {
		s.pool = new(sync.Pool)
	}
	m, _ := s.pool.Get().(*slabMem)
	if m == nil || len(m.fields) < size {
		m = &slabMem{fields: make(agent.TypedFields, size), home: s.pool}
	}
	m.refs.Store(1)
	s.cur, s.tok, s.free = m, unattached, m.fields[:0]
}

// unattached is fieldSlab.tok while no record took fields from its slab:
// no record's token is it, not even nil.
var unattached = new(agent.Token)

// captured holds what a parse step found until it is stored: values are
// typed by the schema as they are captured, and the errors of all fields
// are reported together.
type captured struct {
	in    *input
	r     *agent.Record
	errs  []agent.FieldError
	fresh bool // the step started r's typed fields: planned captures append
	// pend holds the planned captures into fields that were there before
	// the step (a second parse step): done merges them in one pass.
	pend  [8]agent.Field
	npend int
}

// begin starts storing captures into r. A step that parsed the raw line
// starts the record's fields afresh, as typed fields with room for n: the
// line stays in Raw (dead letters carry it) and is not repeated as
// fields.message.
func (in *input) begin(c *captured, r *agent.Record, n int) {
	fresh := false
	if r.IsRaw() {
		r.StartTypedIn(in.slab.take(n+in.room, r.Token())) // room for later steps and schema defaults
		fresh = true
	}
	if in.remove {
		r.Delete(in.field)
	}
	if !fresh {
		r.GrowFields(n)
	}
	c.in, c.r, c.fresh = in, r, fresh
}

// set stores a captured value, typed where the schema declares the field.
func (c *captured) set(name string, v any) {
	if s, ok := v.(string); ok {
		c.setString(name, s)
		return
	}
	if c.in.schema != nil {
		out, skip, err := c.in.schema.Capture(name, v)
		if err != nil {
			c.errs = append(c.errs, agent.FieldError{Field: name, Error: err.Error()})
			return
		}
		if skip {
			c.r.Delete(name)
			return
		}
		v = out
	}
	c.r.Set(name, v)
}

// setString stores a captured string, typed where the schema declares the
// field, without boxing it.
func (c *captured) setString(name, s string) {
	if c.in.schema == nil {
		c.r.SetValue(name, agent.StringValue(s))
		return
	}
	v, skip, err := c.in.schema.CaptureString(name, s)
	switch {
	case err != nil:
		c.errs = append(c.errs, agent.FieldError{Field: name, Error: err.Error()})
	case skip:
		c.r.Delete(name)
	default:
		c.r.SetValue(name, v)
	}
}

// done stores what is pending and reports the schema errors of the
// captured fields, if any.
func (c *captured) done() error {
	if c.npend > 0 {
		c.r.MergeSorted(c.pend[:c.npend]) // planned captures come sorted and unique
	}
	if len(c.errs) == 0 {
		return nil
	}
	return &StepError{Reason: "schema", Errors: c.errs}
}

func decodeStep(blk *hcl.Block, ctx *hcl.EvalContext, into any) hcl.Diagnostics {
	return gohcl.DecodeBody(blk.Body, ctx, into)
}

// regex

type regexStep struct {
	input
	patterns []*regexp.Regexp
	scanners []*scan.Scanner // nil where the pattern needs regexp
	names    [][]string
	plans    []capturePlan
	// loc is the scanners' match, kept here rather than cleared on the
	// stack for each line (a step runs on its transform's goroutine).
	loc [64]int
}

type regexBlock struct {
	Pattern     *string  `hcl:"pattern,optional"`
	Patterns    []string `hcl:"patterns,optional"`
	Field       *string  `hcl:"field,optional"`
	RemoveField *bool    `hcl:"remove_field,optional"`
}

func newRegexStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c regexBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	pats, ranges := patternList(blk, c.Pattern, c.Patterns)
	if len(pats) == 0 {
		return nil, diag(blk.DefRange, "Missing pattern",
			`parse "regex" needs pattern = "..." (or patterns = [...], tried in order), with named captures such as (?P<status>\d+).`)
	}
	s := &regexStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env)}
	var diags hcl.Diagnostics
	for i, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			diags = append(diags, diag(ranges[i], "Invalid regular expression", "%s", explainRegexError(err))...)
			continue
		}
		s.patterns = append(s.patterns, re)
		s.scanners = append(s.scanners, scan.Compile(re))
		s.names = append(s.names, re.SubexpNames())
		s.plans = append(s.plans, newCapturePlan(re.SubexpNames(), env.schema))
	}
	return s, diags
}

// patternList merges pattern and patterns, with the range of each.
func patternList(blk *hcl.Block, one *string, many []string) ([]string, []hcl.Range) {
	var pats []string
	var ranges []hcl.Range
	if one != nil {
		pats = append(pats, trimHeredoc(*one))
		ranges = append(ranges, attrRange(blk, "pattern"))
	}
	if len(many) > 0 {
		elems := listElemRanges(blk, "patterns", len(many))
		for _, p := range many {
			pats = append(pats, trimHeredoc(p))
		}
		ranges = append(ranges, elems...)
	}
	return pats, ranges
}

// trimHeredoc removes the line end a heredoc leaves after a pattern: a
// line never ends in one (sources cut it off), so a pattern anchored with $
// would never match.
func trimHeredoc(p string) string {
	p = strings.TrimSuffix(p, "\n")
	return strings.TrimSuffix(p, "\r")
}

// listElemRanges returns the range of each element of a list attribute, or
// the attribute's range for each when the elements cannot be told apart.
func listElemRanges(blk *hcl.Block, name string, n int) []hcl.Range {
	out := make([]hcl.Range, n)
	r := attrRange(blk, name)
	for i := range out {
		out[i] = r
	}
	c, _, _ := blk.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	if c == nil {
		return out
	}
	if a, ok := c.Attributes[name]; ok {
		if exprs, d := hcl.ExprList(a.Expr); !d.HasErrors() && len(exprs) == n {
			for i, e := range exprs {
				out[i] = e.Range()
			}
		}
	}
	return out
}

func (s *regexStep) Name() string { return "parse.regex" }

func (s *regexStep) Produces() ([]string, bool) {
	var out []string
	for _, names := range s.names {
		for _, n := range names {
			if n != "" {
				out = append(out, n)
			}
		}
	}
	return out, false
}

func (s *regexStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	buf := &s.loc
	for i, re := range s.patterns {
		var m []int
		if sc := s.scanners[i]; sc != nil && 2*(sc.Groups+1) <= len(buf) {
			m = buf[:2*(sc.Groups+1)]
			if !sc.Match(in, m) {
				continue
			}
		} else if m = re.FindSubmatchIndex(in); m == nil {
			continue
		}
		p := &s.plans[i]
		if s.field == "message" && r.IsRaw() && s.typedFresh(r, p, in, m, false) {
			return nil
		}
		var c captured
		s.begin(&c, r, len(p.idx))
		for k, g := range p.idx {
			if m[2*g] >= 0 {
				c.setPlanned(p, k, bytesString(in[m[2*g]:m[2*g+1]]))
			}
		}
		return c.done()
	}
	return stepErr("no_match", s.field, "no pattern matched (%d tried)", len(s.patterns))
}

// json

type jsonStep struct{ input }

func newJSONStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c parseCommon
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	return &jsonStep{newInput(c, env)}, nil
}

func (s *jsonStep) Name() string               { return "parse.json" }
func (s *jsonStep) Produces() ([]string, bool) { return nil, true }

func (s *jsonStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	obj, err := decodeJSONObject(in)
	if err != nil {
		return stepErr("bad_json", s.field, "not a JSON object: %v", err)
	}
	var c captured
	s.begin(&c, r, len(obj))
	for k, v := range obj {
		c.set(k, v)
	}
	return c.done()
}

// decodeJSONObject decodes exactly one JSON object, with integral numbers
// as int64.
func decodeJSONObject(in []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var obj map[string]any
	err := dec.Decode(&obj)
	if err == nil && obj == nil {
		err = fmt.Errorf("got null")
	}
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = fmt.Errorf("trailing data after the object at byte %d", dec.InputOffset())
		}
	}
	if err != nil {
		return nil, err
	}
	for k, v := range obj {
		obj[k] = agent.Normalize(v)
	}
	return obj, nil
}

// capturePlan is how a parse step with fixed names stores its captures:
// sorted by name and unique (the later of two captures of one name wins, as
// it would in a map), each with its schema field looked up once. Captures
// stored in this order into fields the step just started are appended with
// no comparison: typed fields are kept sorted by key.
type capturePlan struct {
	idx    []int           // positions in the step's names
	names  []string        // the names, sorted: plain keys, or path keys (agent.PathKey)
	fields []*schema.Field // the schema's field for each name, or nil
	// types is the conversion of each capture (grok's :int, :float,
	// :bool; "" for none), or nil when none has one.
	types []string
	// paths is set when a name is a path key: captures into fields the
	// step just started keep the nested fields typed.
	paths bool
	// times holds the memo of each time field (see timeMemo), nil for the
	// others, or is nil when there is none.
	times []*timeMemo
	// asIs says, for each field, whether its captures are kept as they
	// are but a null value: no schema field, or one that keeps them so
	// (schema.Field.AsIs); not for a capture with a conversion.
	// typedFresh and the split chain then store them without calling the
	// schema (the nginx packs: 140 fewer instructions a line with regex,
	// 80 with split).
	asIs []asIsCapture
}

// asIsCapture is a field whose captures are kept as they are, but null
// (skipped) when hasNull.
type asIsCapture struct {
	ok, hasNull bool
	null        string
}

// kept reports whether c keeps s (else it skips it), for ok. A null value
// of one byte (the usual "-") is compared without a call to memequal.
func (c *asIsCapture) kept(s string) bool {
	if !c.hasNull || len(s) != len(c.null) {
		return true
	}
	if len(s) == 1 {
		return s[0] != c.null[0]
	}
	return s != c.null
}

// timeMemo is the last time a field captured, and the string it came
// from: lines come in time order, most in the same second as the one
// before (99% of the nginx bench's), and a time is the costliest of the
// usual types to capture (the nginx split pack: 280 of its 6000
// instructions a line, callgrind). A step runs on its transform's
// goroutine, so a plan keeps its own.
type timeMemo struct {
	n  int // length of the string in in; 0: none yet
	in [32]byte
	v  agent.Value
}

// capture is f.CaptureString(s), taken from the memo when s is the string
// the memo holds.
func (m *timeMemo) capture(f *schema.Field, s string) (agent.Value, bool, error) {
	if v, ok := m.get(s); ok {
		return v, false, nil
	}
	v, skip, err := f.CaptureString(s)
	if err == nil && !skip && v.Kind() == agent.KindTime {
		m.put(s, v)
	}
	return v, skip, err
}

// get returns the time the memo holds for s, if it holds s.
func (m *timeMemo) get(s string) (agent.Value, bool) {
	if m.n > 0 && string(m.in[:m.n]) == s {
		return m.v, true
	}
	return agent.Value{}, false
}

// put keeps v, the time read from s (a longer s is not kept).
func (m *timeMemo) put(s string, v agent.Value) {
	if len(s) <= len(m.in) {
		m.n, m.v = copy(m.in[:], s), v
	}
}

// memo is the time memo of the k'th capture of p, or nil.
func (p *capturePlan) memo(k int) *timeMemo {
	if p.times == nil {
		return nil
	}
	return p.times[k]
}

func newCapturePlan(names []string, sc *schema.Schema) capturePlan {
	last := map[string]int{}
	for i, n := range names {
		if n != "" && n != "-" {
			last[n] = i
		}
	}
	var p capturePlan
	for _, i := range last {
		p.idx = append(p.idx, i)
	}
	sort.Slice(p.idx, func(a, b int) bool { return names[p.idx[a]] < names[p.idx[b]] })
	for _, i := range p.idx {
		name := names[i]
		var f *schema.Field
		if sc != nil {
			if f, _ = sc.Field(name); f != nil {
				name = f.Key // the same string: the schema's checks compare it in one step
			}
		}
		p.names = append(p.names, name)
		p.fields = append(p.fields, f)
		p.paths = p.paths || agent.IsPathKey(name)
	}
	p.asIs = make([]asIsCapture, len(p.fields))
	for k, f := range p.fields {
		if a := &p.asIs[k]; f != nil {
			a.null, a.hasNull, a.ok = f.AsIs()
		} else {
			a.ok = true
		}
		if f != nil && f.Type == schema.Time {
			if p.times == nil {
				p.times = make([]*timeMemo, len(p.fields))
			}
			p.times[k] = new(timeMemo)
		}
	}
	return p
}

// typedFresh stores the captures of plan p, at loc in line (the raw line
// of r), as r's fields, typed as they go, and reports whether it did: not
// when the schema rejects a value, which begin, setPlanned and done then
// report (r is unchanged; the room it took is left unused). It is their
// common case in one loop, with no call per capture but the schema's (the
// nginx pack, regex: 6390 to 6000 instructions a line outside the Go
// runtime, callgrind on BenchmarkNginxPackGen/regex).
//
// With emptyUnset (grok's rule, as in Logstash) an empty capture sets
// nothing, and a match that sets nothing leaves r as it is. Grok's
// conversions (:int) into fields the schema does not declare, and nested
// fields (path keys, kept typed), are stored here too: Logstash's
// %{HTTPD_COMBINEDLOG} with ECS names, no schema, whose general path
// (store, setPlanned, setPlannedValue, captured.store, ParseInt) took
// 2,360 instructions a line and typedFresh 1,110 (BenchmarkGrokHTTPDGen/httpd,
// callgrind; :int through agent.ShortInt).
func (in *input) typedFresh(r *agent.Record, p *capturePlan, line []byte, loc []int, emptyUnset bool) bool {
	fs := in.slab.take(len(p.idx)+in.room, r.Token())[:0]
	for k, g := range p.idx {
		a, b := loc[2*g], loc[2*g+1] // read once: each read is bounds-checked
		if a < 0 || emptyUnset && b <= a {
			continue
		}
		s := bytesString(line[a:b])
		v := agent.StringValue(s)
		if a := &p.asIs[k]; a.ok {
			if !a.kept(s) {
				continue
			}
		} else if p.types != nil && p.types[k] != "" {
			// A grok conversion (:int), into a field the schema does
			// not declare: a declared field, or a conversion that
			// fails, is left to the step's general path.
			var err error
			if p.fields[k] != nil {
				return false
			}
			if v, err = convertGrokValue(s, p.types[k]); err != nil {
				return false
			}
		} else if f := p.fields[k]; f != nil {
			var skip bool
			var err error
			if m := p.memo(k); m != nil {
				v, skip, err = m.capture(f, s)
			} else {
				v, skip, err = f.CaptureString(s)
			}
			switch {
			case err != nil:
				return false
			case skip:
				continue
			}
		}
		n := len(fs)
		fs = fs[:n+1]
		f := &fs[n]
		f.Key, f.Value = p.names[k], v // field by field: see agent.Field.setTo
	}
	if emptyUnset && len(fs) == 0 {
		return true
	}
	if p.paths {
		r.SetTypedNested(fs)
	} else {
		r.SetTypedFlat(fs)
	}
	return true
}

// setPlanned stores the k'th capture of plan p.
func (c *captured) setPlanned(p *capturePlan, k int, s string) {
	name := p.names[k]
	f := p.fields[k]
	v, skip, err := agent.StringValue(s), false, error(nil)
	if f != nil {
		if m := p.memo(k); m != nil {
			v, skip, err = m.capture(f, s)
		} else {
			v, skip, err = f.CaptureString(s)
		}
	}
	if c.fresh && !p.paths {
		// The common case, store and storeCaptured inline: plain keys
		// appended in order to the fields the step started.
		switch {
		case err != nil:
			c.errs = append(c.errs, agent.FieldError{Field: f.Name, Error: err.Error()})
		case !skip:
			c.r.AppendInOrder(name, v)
		}
		return
	}
	if f == nil {
		c.store(name, v, p.paths)
		return
	}
	c.storeCaptured(p, k, v, skip, err)
}

// setPlannedValue stores the k'th capture of plan p, converted to v (a
// grok :int, say): typed further where the schema declares the field.
func (c *captured) setPlannedValue(p *capturePlan, k int, v agent.Value) {
	if p.fields[k] == nil {
		c.store(p.names[k], v, p.paths)
		return
	}
	out, skip, err := c.in.schema.Capture(p.names[k], v.Any())
	if err == nil && !skip {
		var ok bool
		if v, ok = agent.ValueOf(out); !ok {
			err = fmt.Errorf("expects %s, got %T", p.fields[k].Type, out)
		}
	}
	c.storeCaptured(p, k, v, skip, err)
}

// storeCaptured stores what the schema made of the k'th capture of p.
func (c *captured) storeCaptured(p *capturePlan, k int, v agent.Value, skip bool, err error) {
	name := p.names[k]
	switch {
	case err != nil:
		c.errs = append(c.errs, agent.FieldError{Field: p.fields[k].Name, Error: err.Error()})
	case skip:
		if !c.fresh {
			c.r.Delete(name)
		}
	default:
		c.store(name, v, p.paths)
	}
}

// store stores a planned capture; paths says the plan's names may be
// path keys.
func (c *captured) store(name string, v agent.Value, paths bool) {
	switch {
	case c.fresh && paths:
		c.r.AppendPathInOrder(name, v)
	case c.fresh:
		c.r.AppendInOrder(name, v)
	case !paths && c.r.Typed() && c.npend < len(c.pend):
		c.pend[c.npend] = agent.Field{Key: name, Value: v}
		c.npend++
	default:
		c.r.SetValue(name, v)
	}
}

// bytesString views captured bytes as a string without copying. The input
// of a parse step is never written to: a record's Raw is immutable once a
// source emits it, and a field's bytes are a copy made for the step.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
