package rules

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"sync"

	"github.com/benhoyt/goawk/interp"
	"github.com/benhoyt/goawk/parser"
	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
)

// awk runs a real AWK program (github.com/benhoyt/goawk), compiled once,
// over the line. The program sets record fields with set(name, value) and
// can reject the line with fail(reason):
//
//	{ set("client_ip", $1); set("status", $9) }
//	$9 !~ /^[0-9]+$/ { fail("status is not a number") }
type awkStep struct {
	input
	mu      sync.Mutex // the interpreter and cur are used by one record at a time
	interp  *interp.Interpreter
	config  *interp.Config
	cur     []awkSet // the set() calls of the record being run, in order
	running bool
	failure string
	names   []string
	stdin   bytes.Reader
}

type awkBlock struct {
	Field       *string `hcl:"field,optional"`
	RemoveField *bool   `hcl:"remove_field,optional"`
	Program     string  `hcl:"program"`
}

var awkSetName = regexp.MustCompile(`\bset\(\s*"([^"]+)"`)

func newAwkStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c awkBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	s := &awkStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env)}
	funcs := map[string]any{
		"set": func(name, value string) {
			if s.running {
				s.cur = append(s.cur, awkSet{name, value})
			}
		},
		"fail": func(reason string) {
			if s.failure == "" {
				s.failure = reason
			}
		},
	}
	prog, err := parser.ParseProgram([]byte(c.Program), &parser.ParserConfig{Funcs: funcs})
	if err != nil {
		var pe *parser.ParseError
		detail := err.Error()
		if errors.As(err, &pe) {
			detail = "awk program, line " + itoa(pe.Position.Line) + " column " + itoa(pe.Position.Column) + ": " + pe.Message
		}
		return nil, diag(attrRange(blk, "program"), "Invalid awk program", "%s. Fields are set with set(\"name\", value); fail(\"reason\") dead-letters the line.", detail)
	}
	it, err := interp.New(prog)
	if err != nil {
		return nil, diag(attrRange(blk, "program"), "Invalid awk program", "%v", err)
	}
	s.interp = it
	s.config = &interp.Config{Stdin: &s.stdin, Output: io.Discard, Error: io.Discard, Funcs: funcs,
		NoExec: true, NoFileWrites: true, NoFileReads: true, Environ: []string{}}
	for _, m := range awkSetName.FindAllStringSubmatch(c.Program, -1) {
		s.names = append(s.names, m[1])
	}
	return s, nil
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func (s *awkStep) Name() string { return "parse.awk" }

// Produces lists the names set with a literal: set("name", ...). A program
// that computes names is not seen.
func (s *awkStep) Produces() ([]string, bool) { return s.names, false }

func (s *awkStep) Apply(ctx context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.running = s.cur[:0], true
	s.failure = ""
	s.stdin.Reset(in)
	_, err = s.interp.ExecuteContext(ctx, s.config)
	cur, failure := s.cur, s.failure
	s.running = false
	if err != nil {
		return stepErr("awk_error", s.field, "awk: %v", err)
	}
	if failure != "" {
		return stepErr("awk_fail", s.field, "%s", failure)
	}
	if len(cur) == 0 {
		return stepErr("no_match", s.field, "the awk program set no field")
	}
	// The last set() of a name wins, as in a map.
	var c captured
	s.begin(&c, r, len(cur))
	for i, kv := range cur {
		if !laterSet(cur[i+1:], kv.name) {
			c.setString(kv.name, kv.value)
		}
	}
	return c.done()
}

// awkSet is one set(name, value) call.
type awkSet struct{ name, value string }

func laterSet(rest []awkSet, name string) bool {
	for _, kv := range rest {
		if kv.name == name {
			return true
		}
	}
	return false
}
