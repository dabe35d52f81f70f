package rules

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
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

func (s *splitStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	var buf [32][2]int
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
		c.setPlanned(&s.plan, k, bytesString(in[toks[i][0]:toks[i][1]]))
	}
	return c.done()
}

// splitTokens returns the [start, end) of each field of line. A field that
// starts with '"' runs to the next unescaped '"'; one that starts with '['
// runs to the next ']'. The quotes and brackets are not part of the field.
func splitTokens(line []byte, sep byte, collapse bool, out [][2]int) ([][2]int, error) {
	i, n := 0, len(line)
	for i <= n {
		if collapse {
			for i < n && line[i] == sep {
				i++
			}
			if i == n {
				break
			}
		}
		if i == n {
			out = append(out, [2]int{i, i}) // a trailing empty field
			break
		}
		switch line[i] {
		case '"':
			j := closingQuote(line, i+1)
			if j < 0 {
				return out, fmt.Errorf("unterminated quote at byte %d", i)
			}
			out = append(out, [2]int{i + 1, j})
			i = j + 1
		case '[':
			j := bytes.IndexByte(line[i+1:], ']')
			if j < 0 {
				return out, fmt.Errorf("unterminated [ at byte %d", i)
			}
			j += i + 1
			out = append(out, [2]int{i + 1, j})
			i = j + 1
		default:
			j := bytes.IndexByte(line[i:], sep)
			if j < 0 {
				j = n
			} else {
				j += i
			}
			out = append(out, [2]int{i, j})
			i = j
		}
		if i < n && line[i] != sep {
			return out, fmt.Errorf("separator expected at byte %d", i)
		}
		i++ // skip the separator
		if i > n {
			break
		}
	}
	return out, nil
}

// closingQuote returns the index of the '"' that closes a quoted field
// whose content starts at from, skipping backslash-escaped bytes, or -1.
func closingQuote(line []byte, from int) int {
	for j := from; j < len(line); {
		q := bytes.IndexByte(line[j:], '"')
		if q < 0 {
			return -1
		}
		b := bytes.IndexByte(line[j:j+q], '\\')
		if b < 0 {
			return j + q // no escape before it
		}
		j += b + 2 // skip the backslash and the byte it escapes
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
