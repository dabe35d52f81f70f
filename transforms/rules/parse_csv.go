package rules

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
)

// parse "csv": one CSV record (RFC 4180, with encoding/csv): quoted
// fields, "" inside quotes, line breaks inside quotes (a record joined by
// a multiline block). Names map columns in order; a record may have fewer
// columns than names (down to min_fields: the columns older versions of a
// format do not have), never more.
type csvStep struct {
	input
	comma     rune
	names     []string
	minFields int
	plan      capturePlan
}

type csvBlock struct {
	Field       *string  `hcl:"field,optional"`
	RemoveField *bool    `hcl:"remove_field,optional"`
	Separator   *string  `hcl:"separator,optional"`
	Fields      []string `hcl:"fields"`
	MinFields   *int     `hcl:"min_fields,optional"`
}

func newCSVStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c csvBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	if len(c.Fields) == 0 {
		return nil, diag(attrRange(blk, "fields"), "No field names",
			`fields names the columns in order, with "-" to skip one: fields = ["time", "-", "user"].`)
	}
	s := &csvStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env), comma: ',', names: c.Fields,
		minFields: len(c.Fields), plan: newCapturePlan(c.Fields, env.schema)}
	if c.Separator != nil {
		r, n := utf8.DecodeRuneInString(*c.Separator)
		if n == 0 || n != len(*c.Separator) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
			return nil, diag(attrRange(blk, "separator"), "Invalid separator",
				"The separator is one character other than a quote or a line break, such as \",\", \";\" or \"\\t\"; got %q.", *c.Separator)
		}
		s.comma = r
	}
	if c.MinFields != nil {
		if *c.MinFields < 1 || *c.MinFields > len(c.Fields) {
			return nil, diag(attrRange(blk, "min_fields"), "Invalid min_fields",
				"min_fields is between 1 and the number of names (%d); got %d.", len(c.Fields), *c.MinFields)
		}
		s.minFields = *c.MinFields
	}
	return s, nil
}

func (s *csvStep) Name() string { return "parse.csv" }

func (s *csvStep) Produces() ([]string, bool) { return namedFields(s.names), false }

func (s *csvStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	rd := csv.NewReader(bytes.NewReader(in))
	rd.Comma = s.comma
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = true
	cols, err := rd.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return stepErr("no_match", s.field, "empty")
		}
		return stepErr("no_match", s.field, "%v", err)
	}
	if _, err := rd.Read(); !errors.Is(err, io.EOF) {
		return stepErr("no_match", s.field, "more than one CSV record")
	}
	if len(cols) < s.minFields || len(cols) > len(s.names) {
		if s.minFields == len(s.names) {
			return stepErr("no_match", s.field, "expected %d columns, got %d", len(s.names), len(cols))
		}
		return stepErr("no_match", s.field, "expected %d to %d columns, got %d", s.minFields, len(s.names), len(cols))
	}
	var c captured
	s.begin(&c, r, len(s.plan.idx))
	for k, i := range s.plan.idx {
		if i < len(cols) {
			c.setPlanned(&s.plan, k, cols[i])
		}
	}
	return c.done()
}
