package rules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"sync"
	"time"

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
	// budget stops a record's run past its timeout (a program can loop).
	budget *deadline
	// native is the program compiled to Go when it is made only of the
	// common shapes (awk_native.go), run on a machine of its own; nil
	// when the interpreter runs it.
	native  *awkNative
	machine *awkMachine
	notes   []string // which runs the program, and why (octoagent validate)
	// plan stores the sets of the names written as literals, set("name",
	// ...), with their schema fields looked up once (see storePlanned).
	plan  capturePlan
	last  []int // per plan name, the position in cur of its last set
	guess []int // per set call, the plan name it had on the last line
}

type awkBlock struct {
	Field       *string `hcl:"field,optional"`
	RemoveField *bool   `hcl:"remove_field,optional"`
	Program     string  `hcl:"program"`
	Timeout     *string `hcl:"timeout,optional"`
}

var awkSetName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bset\(\s*"([^"]+)"`) })

func newAwkStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c awkBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	timeout, d := stepTimeout(blk, c.Timeout)
	if d.HasErrors() {
		return nil, d
	}
	s := &awkStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env), budget: newDeadline(timeout)}
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
	var why string
	rng := attrRange(blk, "program")
	if s.native, why = compileAwkNative(prog); s.native != nil {
		s.machine = newAwkMachine(s.native, s)
		s.notes = []string{fmt.Sprintf("%s:%d:%d: parse.awk: native (compiled to Go, without the interpreter)", rng.Filename, rng.Start.Line, rng.Start.Column)}
	} else {
		s.notes = []string{fmt.Sprintf("%s:%d:%d: parse.awk: GoAWK interpreter (not native: %s)", rng.Filename, rng.Start.Line, rng.Start.Column, why)}
	}
	s.config = &interp.Config{Stdin: &s.stdin, Output: io.Discard, Error: io.Discard, Funcs: funcs,
		NoExec: true, NoFileWrites: true, NoFileReads: true, Environ: []string{}}
	for _, m := range awkSetName().FindAllStringSubmatch(c.Program, -1) {
		s.names = append(s.names, m[1])
	}
	s.plan = newCapturePlan(s.names, env.schema)
	s.last = make([]int, len(s.plan.names))
	return s, nil
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func (s *awkStep) Name() string { return "parse.awk" }

// Notes says whether the program runs natively or on the interpreter.
func (s *awkStep) Notes() []string { return s.notes }

// Stuck implements stuckStep.
func (s *awkStep) Stuck(now time.Time) (time.Duration, time.Duration, bool) {
	return s.budget.stuck(now)
}

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
	if s.native != nil && awkFastLine(in) {
		s.native.run(s.machine, bytesString(in))
	} else {
		var over bool
		if err, over = s.exec(ctx, in); over {
			s.running = false
			return timeoutErr(s.field, s.budget.timeout)
		}
	}
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
	if !s.storePlanned(&c, cur) {
		for i, kv := range cur {
			if !laterSet(cur[i+1:], kv.name) {
				c.setString(kv.name, kv.value)
			}
		}
	}
	return c.done()
}

// storePlanned stores the sets as the loop over cur in Apply does (the last
// set of a name wins; schema errors in the order of those last sets), when
// every name set is one of the plan's: in the plan's order, with no lookup
// by name. It reports false, having stored nothing, for a line that set a
// name the plan does not know.
func (s *awkStep) storePlanned(c *captured, cur []awkSet) bool {
	last := s.last
	for k := range last {
		last[k] = -1
	}
	for i, kv := range cur {
		k := s.planIndex(i, kv.name)
		if k < 0 {
			return false
		}
		last[k] = i
	}
	for k, i := range last {
		if i >= 0 {
			c.setPlanned(&s.plan, k, cur[i].value)
		}
	}
	if len(c.errs) > 1 {
		sort.SliceStable(c.errs, func(a, b int) bool {
			return last[s.planIndex(-1, c.errs[a].Field)] < last[s.planIndex(-1, c.errs[b].Field)]
		})
	}
	return true
}

// planIndex returns the position of name in the plan, or -1. A program
// makes its set calls in the same order on most lines: the i'th call's
// name is first compared with the i'th call's of the line before (i < 0:
// no guess).
func (s *awkStep) planIndex(i int, name string) int {
	if i >= 0 && i < len(s.guess) {
		if k := s.guess[i]; s.plan.names[k] == name {
			return k
		}
	}
	for k, n := range s.plan.names {
		if n == name {
			switch {
			case i >= 0 && i < len(s.guess):
				s.guess[i] = k
			case i == len(s.guess) && i < 256:
				s.guess = append(s.guess, k)
			}
			return k
		}
	}
	return -1
}

// exec runs the program over in, within its budget; over reports that
// the budget stopped it.
func (s *awkStep) exec(ctx context.Context, in []byte) (err error, over bool) {
	s.stdin.Reset(in)
	bctx := s.budget.start(ctx)
	defer s.budget.stop()
	_, err = s.interp.ExecuteContext(bctx, s.config)
	return err, err != nil && bctx.Err() != nil && ctx.Err() == nil
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

// awkFastLine reports whether the native path gives what the interpreter
// would for this input: one non-empty record with no CR, shorter than
// the interpreter's longest record (it reads its input as lines, so a CR
// or LF, or no byte at all, changes what $0 and the records are, and a
// record of 10 MiB or more is an error).
func awkFastLine(in []byte) bool {
	return len(in) > 0 && len(in) < awkMaxLine && bytes.IndexByte(in, '\n') < 0 && bytes.IndexByte(in, '\r') < 0
}

// awkMaxLine bounds the lines the native path takes: GoAWK's
// maxRecordLength.
const awkMaxLine = 10 << 20
