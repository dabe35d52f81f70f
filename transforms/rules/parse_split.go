package rules

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/schema"
)

// split: awk-like field splitting, the fast path for space-separated logs.
// "quoted strings" and [bracketed] runs count as one field (without their
// quotes or brackets); names map fields in order, "-" or "" skips one.
type splitStep struct {
	input
	sep      byte
	collapse bool
	names    []string
	plan     capturePlan
	// chain, when set, fuses this step with the next (see splitChain).
	chain *splitChain
	// doneFor is the record the step before, chained to this one, has
	// already done this step's work on: this step then leaves it as is.
	doneFor *agent.Record
}

type splitBlock struct {
	Field       *string  `hcl:"field,optional"`
	RemoveField *bool    `hcl:"remove_field,optional"`
	Separator   *string  `hcl:"separator,optional"`
	Fields      []string `hcl:"fields"`
}

func newSplitStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c splitBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	s := &splitStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env), sep: ' ', collapse: true, names: c.Fields, plan: newCapturePlan(c.Fields, env.schema)}
	if c.Separator != nil {
		if len(*c.Separator) != 1 {
			return nil, diag(attrRange(blk, "separator"), "Invalid separator",
				"The separator is one byte, such as \" \", \",\" or \"\\t\"; got %q.", *c.Separator)
		}
		s.sep = (*c.Separator)[0]
		s.collapse = s.sep == ' '
	}
	if len(c.Fields) == 0 {
		return nil, diag(attrRange(blk, "fields"), "No field names",
			`fields names the fields in order, with "-" to skip one: fields = ["client_ip", "-", "user"].`)
	}
	return s, nil
}

func (s *splitStep) Name() string { return "parse.split" }

func (s *splitStep) Produces() ([]string, bool) { return namedFields(s.names), false }

// namedFields are the names a step sets: "" and "-" skip a value.
func namedFields(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && n != "-" {
			out = append(out, n)
		}
	}
	return out
}

func (s *splitStep) Apply(ctx context.Context, r *agent.Record) error {
	if s.doneFor != nil {
		done := s.doneFor == r
		s.doneFor = nil
		if done {
			return nil
		}
	}
	if s.chain != nil && s.chain.apply(s, r) {
		s.chain.next.doneFor = r
		return nil
	}
	return s.applyAlone(ctx, r)
}

// applyAlone is the step's own work, never chained to the next: traces
// show each step's work on its own.
func (s *splitStep) applyAlone(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	var buf [32]span
	toks, err := splitTokens(in, s.sep, s.collapse, buf[:0])
	if err != nil {
		return stepErr("no_match", s.field, "%v", err)
	}
	if len(toks) != len(s.names) {
		return stepErr("no_match", s.field, "expected %d fields, got %d", len(s.names), len(toks))
	}
	var c captured
	s.begin(&c, r, len(s.plan.idx))
	for k, i := range s.plan.idx {
		c.setPlanned(&s.plan, k, bytesString(in[toks[i].start:toks[i].end]))
	}
	return c.done()
}

// splitChain fuses a split step with the next one when that one splits
// again a field the first captures as a plain string (the nginx split
// variant splits the request line into method, path and protocol). Both
// are tokenized from the line and the fields of both are stored in one
// sorted pass, as one regex's would be, instead of storing the field,
// looking it up, removing it and merging the second step's fields in. A
// line that either step fails on, or with a value the schema rejects or
// skips, is parsed by the two steps one after the other instead: records
// and dead letters are the same either way.
type splitChain struct {
	next  *splitStep
	tok   int         // the token of the first step that the next splits
	order []chainPart // the fields both steps store, sorted by name
	// toks are the tokens of the line, then those of the field split
	// again (moved to the line's offsets), kept here rather than cleared
	// on the stack for each line (a step runs on its transform's
	// goroutine).
	toks [2 * maxChained]span
}

// chainPart is one field a chain stores.
type chainPart struct {
	tok   int // in splitChain.toks: the next step's tokens follow the first's
	name  string
	field *schema.Field // nil: stored as a string
	time  *timeMemo     // a time field's memo (its step's), else nil
	asIs  asIsCapture   // its step's plan's
}

// maxChained bounds the fields of a chain and of each of its steps, and
// sizes its token buffer (a line with more tokens is split into a larger
// one, and given up on).
const maxChained = 32

// chainSplits chains each split step that reads the line to a next split
// step that splits one of its fields, where newSplitChain allows it.
func chainSplits(steps []Step) {
	for i := 0; i+1 < len(steps); i++ {
		a, ok := steps[i].(*splitStep)
		b, ok2 := steps[i+1].(*splitStep)
		if !ok || !ok2 {
			continue
		}
		if a.chain = newSplitChain(a, b); a.chain != nil {
			i++ // b is done by a: it does not chain on
		}
	}
}

// newSplitChain returns the chain of a and b, or nil when b is not a
// split of a plain string field of a that a alone captures, or when the
// two steps would set a field in common.
func newSplitChain(a, b *splitStep) *splitChain {
	if a.field != "message" || b.field == "message" || a.schema != b.schema || len(a.names) > maxChained || len(b.names) > maxChained {
		return nil
	}
	ch := &splitChain{next: b, tok: -1}
	for k, i := range a.plan.idx {
		if a.names[i] != b.field {
			continue
		}
		if a.plan.fields[k] != nil || slices.Index(a.names, b.field) != i {
			return nil // typed by the schema, or captured twice
		}
		ch.tok = i
	}
	if ch.tok < 0 {
		return nil
	}
	seen := map[string]bool{}
	for k, i := range a.plan.idx {
		if b.remove && i == ch.tok {
			continue
		}
		seen[a.plan.names[k]] = true
		ch.order = append(ch.order, chainPart{tok: i, name: a.plan.names[k], field: a.plan.fields[k], time: a.plan.memo(k), asIs: a.plan.asIs[k]})
	}
	for k, i := range b.plan.idx {
		if seen[b.plan.names[k]] {
			return nil
		}
		ch.order = append(ch.order, chainPart{tok: len(a.names) + i, name: b.plan.names[k], field: b.plan.fields[k], time: b.plan.memo(k), asIs: b.plan.asIs[k]})
	}
	if len(ch.order) > maxChained {
		return nil
	}
	sort.Slice(ch.order, func(i, j int) bool { return ch.order[i].name < ch.order[j].name })
	return ch
}

// apply does the work of a, the chain's first step, and of the next on a
// raw record, and reports whether it did; r is unchanged when it did not.
func (ch *splitChain) apply(a *splitStep, r *agent.Record) bool {
	if r.Raw == nil || !r.IsRaw() {
		return false
	}
	line := r.Raw
	toks, err := splitTokens(line, a.sep, a.collapse, ch.toks[:0:maxChained])
	if err != nil || len(toks) != len(a.names) {
		return false
	}
	b := ch.next
	at := toks[ch.tok]
	toks, err = splitTokens(line[at.start:at.end], b.sep, b.collapse, ch.toks[len(toks):len(toks)])
	if err != nil || len(toks) != len(b.names) {
		return false
	}
	for k := range toks {
		toks[k].start += at.start
		toks[k].end += at.start
	}
	toks = ch.toks[:] // the parts' tokens: the first step's, then the next's
	str := bytesString(line)
	// The values go straight into the fields the record will hold, and
	// become its fields only once all are known good; a value the schema
	// skips (a null value such as "-") is not stored, as neither step
	// would store it (the first starts the fields, the second's names are
	// not among them). A line given up on leaves its room unused.
	fs := a.slab.take(len(ch.order)+b.room, r.Token())[:0]
	order := ch.order // a local: not reloaded and bounds-checked after each call (45 instructions a line)
	for k := range order {
		p := &order[k]
		t := toks[p.tok]
		v := str[t.start:t.end]
		typed := agent.StringValue(v)
		if p.asIs.ok {
			if !p.asIs.kept(v) {
				continue
			}
		} else if p.field != nil {
			var skip bool
			if p.time != nil {
				typed, skip, err = p.time.capture(p.field, v)
			} else {
				typed, skip, err = p.field.CaptureString(v)
			}
			switch {
			case err != nil:
				return false // the steps one by one report it
			case skip:
				continue
			}
		}
		n := len(fs)
		fs = fs[:n+1]
		f := &fs[n]
		f.Key, f.Value = p.name, typed // field by field: see agent.Field.setTo
	}
	r.SetTypedFlat(fs)
	return true
}

// span is a field's [start, end) in a line. A struct and not a [2]int:
// the compiler keeps a struct of two words in registers, where it builds
// an array in memory and copies it from there (BenchmarkNginxPackGen/split,
// callgrind: 140 fewer instructions a line, 90 of them in
// splitChain.apply).
type span struct{ start, end int }

// splitTokens returns the [start, end) of each field of line. A field that
// starts with '"' runs to the next unescaped '"'; one that starts with '['
// runs to the next ']'. The quotes and brackets are not part of the field.
//
// Each field's end is one search for one byte (the separator, '"' or
// ']'), eight bytes at a time in a register, written out here: most
// fields are a few words long, and a call to bytes.IndexByte for each
// (its setup, and the values of this loop spilled around it) cost more
// time than the words, though about as many instructions (1,483 and
// 1,497 a line of BenchmarkNginxPackGen/split, callgrind; the first split
// alone, BenchmarkSplitTokensNginx: 72 to 56 ns a line). Past nearBytes,
// bytes.IndexByte's vector loop takes over; a quote with a backslash
// before it goes to closingQuote, which counts the backslashes.
func splitTokens(line []byte, sep byte, collapse bool, out []span) ([]span, error) {
	i, n := 0, len(line)
	p := unsafe.Pointer(unsafe.SliceData(line))
	for i <= n { // i == n: a field may still start there (not when collapse)
		if collapse {
			for i < n && line[i] == sep {
				i++
			}
			if i == n {
				break
			}
		} else if i == n {
			out = append(out, span{i, i}) // a trailing empty field
			break
		}
		from, stop := i, sep
		switch line[i] {
		case '"':
			from, stop = i+1, '"'
		case '[':
			from, stop = i+1, ']'
		}
		// The field's end: eight bytes at a time up to nearBytes (or the
		// last whole word), then byte by byte in what is left of the line
		// if that is under a word, else with bytes.IndexByte.
		j, near := from, min(n, from+nearBytes)-8
		for x := lsb * uint64(stop); j <= near; j += 8 {
			// j+8 <= n: the word is in line (a bounds-checked load, 140
			// instructions a line more).
			w := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(p, j))[:]) ^ x
			if m := (w - lsb) &^ w & msb; m != 0 { // the lowest marked byte is exact
				j += bits.TrailingZeros64(m) >> 3
				goto found
			}
		}
		if n-j < 8 {
			for j < n && line[j] != stop {
				j++
			}
		} else if k := bytes.IndexByte(line[j:], stop); k >= 0 {
			j += k
		} else {
			j = n
		}
	found:
		if from == i && stop == sep {
			// A plain field ends at a separator or the end: nothing to
			// check after it.
			out = append(out, span{i, j})
			i = j + 1 // past the separator (or the end)
			continue
		}
		if stop == '"' && j < n && j > from && line[j-1] == '\\' {
			j = closingQuote(line, from) // an escaped quote (rare): count the backslashes
		}
		if j < 0 || j == n {
			if stop == '"' {
				return out, fmt.Errorf("unterminated quote at byte %d", i)
			}
			return out, fmt.Errorf("unterminated [ at byte %d", i)
		}
		out = append(out, span{from, j})
		i = j + 1
		if i < n && line[i] != sep {
			return out, fmt.Errorf("separator expected at byte %d", i)
		}
		i++ // skip the separator
	}
	return out, nil
}

// nearBytes is how far splitTokens looks for a field's end eight bytes at
// a time before bytes.IndexByte, whose vector loop is faster on long runs
// once past its setup (a long user agent). BenchmarkSplitTokensNginx: 16,
// 32, 64 and no limit took 58, 55, 53 and 52 ns a line; 64 bounds the cost
// of very long fields.
const nearBytes = 64

// lsb and msb are the lowest and the highest bit of each byte of a word.
const lsb, msb = 0x0101010101010101, 0x8080808080808080

// closingQuote returns the index of the '"' that closes a quoted field
// whose content starts at from, skipping backslash-escaped bytes, or -1.
//
// One search per field: a '"' is escaped exactly when the run of
// backslashes just before it is odd (a backslash escapes the byte after
// it, so each pair in the run escapes itself), so the backslashes are
// counted only where a quote has one before it, which is rare.
func closingQuote(line []byte, from int) int {
	for j := from; j < len(line); {
		q := bytes.IndexByte(line[j:], '"')
		if q < 0 {
			return -1
		}
		q += j
		b := q
		for b > from && line[b-1] == '\\' {
			b--
		}
		if (q-b)%2 == 0 {
			return q // not escaped
		}
		j = q + 1
	}
	return -1
}

// kv and logfmt: key=value pairs.
type kvStep struct {
	input
	name     string
	pairSep  byte
	valueSep byte
	logfmt   bool
}

type kvBlock struct {
	Field       *string `hcl:"field,optional"`
	RemoveField *bool   `hcl:"remove_field,optional"`
	FieldSplit  *string `hcl:"field_split,optional"`
	ValueSplit  *string `hcl:"value_split,optional"`
}

func newKVStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c kvBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	s := &kvStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env), name: "parse.kv", pairSep: ' ', valueSep: '='}
	for _, o := range []struct {
		attr string
		v    *string
		into *byte
	}{{"field_split", c.FieldSplit, &s.pairSep}, {"value_split", c.ValueSplit, &s.valueSep}} {
		if o.v == nil {
			continue
		}
		if len(*o.v) != 1 {
			return nil, diag(attrRange(blk, o.attr), "Invalid "+o.attr, "%s is one byte, such as \" \", \"&\" or \"=\"; got %q.", o.attr, *o.v)
		}
		*o.into = (*o.v)[0]
	}
	return s, nil
}

func newLogfmtStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c parseCommon
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	return &kvStep{input: newInput(c, env), name: "parse.logfmt", pairSep: ' ', valueSep: '=', logfmt: true}, nil
}

func (s *kvStep) Name() string               { return s.name }
func (s *kvStep) Produces() ([]string, bool) { return nil, true }

func (s *kvStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	pairs, err := parseKV(in, s.pairSep, s.valueSep, s.logfmt)
	if err != nil {
		return stepErr("no_match", s.field, "%v", err)
	}
	if len(pairs) == 0 {
		return stepErr("no_match", s.field, "no key%cvalue pairs", s.valueSep)
	}
	var c captured
	s.begin(&c, r, len(pairs))
	for _, p := range pairs {
		if p.bare {
			c.set(p.key, true)
			continue
		}
		c.set(p.key, p.value)
	}
	return c.done()
}

type kvPair struct {
	key, value string
	bare       bool
}

// parseKV reads `a=1 b="x y" c` (logfmt: bare keys are true, quoted values
// are unescaped).
func parseKV(in []byte, pairSep, valueSep byte, logfmt bool) ([]kvPair, error) {
	var out []kvPair
	i, n := 0, len(in)
	for i < n {
		for i < n && (in[i] == pairSep || (pairSep == ' ' && in[i] == '\t')) {
			i++
		}
		if i == n {
			break
		}
		ks := i
		for i < n && in[i] != valueSep && in[i] != pairSep {
			i++
		}
		key := string(in[ks:i])
		if key == "" {
			return out, fmt.Errorf("empty key at byte %d", ks)
		}
		if i == n || in[i] == pairSep {
			if !logfmt {
				return out, fmt.Errorf("key %q has no value", key)
			}
			out = append(out, kvPair{key: key, bare: true})
			continue
		}
		i++ // valueSep
		if i < n && in[i] == '"' {
			j := i + 1
			var b strings.Builder
			for j < n && in[j] != '"' {
				if in[j] == '\\' && j+1 < n {
					j++
					switch in[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(in[j])
					}
					j++
					continue
				}
				b.WriteByte(in[j])
				j++
			}
			if j >= n {
				return out, fmt.Errorf("unterminated quote in the value of %q", key)
			}
			out = append(out, kvPair{key: key, value: b.String()})
			i = j + 1
			continue
		}
		vs := i
		for i < n && in[i] != pairSep {
			i++
		}
		out = append(out, kvPair{key: key, value: string(in[vs:i])})
	}
	return out, nil
}
