package playground

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/ruletest"
	"github.com/octostore/agent/agent/schema"
)

// EditorFile is the name the editor's text has in diagnostics.
const EditorFile = "playground.hcl"

// Request is one evaluation: the editor's text, the sample lines, the
// transform to feed them to and the line to trace.
type Request struct {
	HCL   string `json:"hcl"`
	Lines string `json:"lines"`
	// Pack names the pack whose source blocks load beside the text.
	Pack string `json:"pack"`
	// Transform is "transform.NAME"; empty for the first in the text.
	Transform string `json:"transform"`
	// Trace is the number (from 1) of the line whose steps are traced; 0
	// for none.
	Trace int `json:"trace"`
	// TestName names the test block "make a test" writes.
	TestName string `json:"test_name"`
}

// Diagnostic is a config problem at file:line:col.
type Diagnostic struct {
	Severity string `json:"severity"` // "error" or "warning"
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	EndLine  int    `json:"end_line,omitempty"`
	EndCol   int    `json:"end_col,omitempty"`
	// InEditor says the position is in the editor's text.
	InEditor bool `json:"in_editor"`
}

// Field is one field of a record, with the type of its value and the
// type its schema declares, if any.
type Field struct {
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Declared string          `json:"declared,omitempty"`
	Value    json.RawMessage `json:"value"`
}

// Record is a typed record as the page shows it.
type Record struct {
	Kind   string     `json:"kind"`
	ID     string     `json:"id"`
	Time   string     `json:"time"`
	Entity []agent.KV `json:"entity,omitempty"`
	Fields []Field    `json:"fields"`
}

// DeadLetter is why a line became a dead letter.
type DeadLetter struct {
	Reason string       `json:"reason"`
	Step   string       `json:"step"`
	Errors []FieldError `json:"errors"`
	// Fields are those parsed before the failure.
	Fields []Field `json:"fields"`
}

// FieldError is one reason for a dead letter, at a field where there is
// one.
type FieldError struct {
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// LineResult is what came out of one input line.
type LineResult struct {
	Line    int         `json:"line"`
	Input   string      `json:"input"`
	Records []Record    `json:"records"`
	Dead    *DeadLetter `json:"dead,omitempty"`
	Dropped bool        `json:"dropped"`
}

// TraceStep is one step's work on the traced line.
type TraceStep struct {
	Index       int     `json:"index"`
	Step        string  `json:"step"`
	Fields      []Field `json:"fields"`
	Made        int     `json:"made,omitempty"`
	Pattern     int     `json:"pattern,omitempty"`
	PatternText string  `json:"pattern_text,omitempty"`
	TookNS      int64   `json:"took_ns"`
	Error       string  `json:"error,omitempty"`
	Dropped     bool    `json:"dropped,omitempty"`
	Panic       string  `json:"panic,omitempty"`
}

// Trace is the steps of one line.
type Trace struct {
	Line  int         `json:"line"`
	Input string      `json:"input"`
	Steps []TraceStep `json:"steps"`
}

// StepTime is the time one step took over all lines.
type StepTime struct {
	Index   int    `json:"index"`
	Step    string `json:"step"`
	Runs    int    `json:"runs"`
	TotalNS int64  `json:"total_ns"`
	MaxNS   int64  `json:"max_ns"`
}

// Summary counts the outcomes and names the slowest step.
type Summary struct {
	Lines       int        `json:"lines"`
	Matched     int        `json:"matched"`
	Records     int        `json:"records"`
	DeadLetters int        `json:"dead_letters"`
	Dropped     int        `json:"dropped"`
	Slowest     *StepTime  `json:"slowest,omitempty"`
	Steps       []StepTime `json:"steps"`
}

// Response is the outcome of an evaluation.
type Response struct {
	Diagnostics []Diagnostic `json:"diagnostics"`
	Transforms  []string     `json:"transforms"`
	Transform   string       `json:"transform,omitempty"`
	Results     []LineResult `json:"results"`
	Trace       *Trace       `json:"trace,omitempty"`
	Summary     Summary      `json:"summary"`
	// Error says why the evaluation stopped or did not run (a limit, the
	// time limit, a panic).
	Error   string `json:"error,omitempty"`
	Timeout bool   `json:"timeout,omitempty"`
	Panic   string `json:"panic,omitempty"`
	TookNS  int64  `json:"took_ns"`
	// Test is the test block "make a test" wrote.
	Test string `json:"test,omitempty"`
}

// loaded is the editor's text loaded with the config loader, as octoagent
// run and test load it.
type loaded struct {
	res   *config.Result
	comp  *config.Component
	trs   []string
	diags []Diagnostic
	bad   bool
}

func (s *Server) load(req *Request) loaded {
	var srcs []config.Source
	if p := s.pack(req.Pack); p != nil {
		srcs = append(srcs, p.Sources...)
	}
	// The page's text may not read the host's environment or files.
	srcs = append(srcs, config.Source{Name: EditorFile, Data: []byte(req.HCL), Untrusted: true})
	if d := readsHost([]byte(req.HCL)); d.HasErrors() {
		return loaded{res: &config.Result{}, bad: true, diags: toDiagnostics(d)}
	}
	res, diags := config.LoadSources(srcs, s.reg)
	diags = withoutMissingInputs(config.WithoutUnused(diags))
	l := loaded{res: res, bad: diags.HasErrors(), diags: toDiagnostics(diags)}
	for _, c := range res.Components {
		if c.Kind != agent.KindTransform || c.DefRange.Filename != EditorFile {
			continue
		}
		l.trs = append(l.trs, c.ID)
		if l.comp == nil || c.ID == req.Transform {
			l.comp = c
		}
	}
	return l
}

// readsHost refuses, in the editor's text, what would make the server
// read its host for the page: source, sink and agent blocks (files,
// sockets, credentials: the pack's sources come from the operator's
// files instead) and grok's patterns_dir (directories). env() and file()
// are refused by the loader (config.Source.Untrusted).
func readsHost(src []byte) hcl.Diagnostics {
	// A text with syntax errors is still decoded as far as it goes: the
	// loader reports the errors; what parsed is checked here.
	f, _ := hclsyntax.ParseConfig(src, EditorFile, hcl.InitialPos)
	if f == nil {
		return nil
	}
	body, _ := f.Body.(*hclsyntax.Body)
	if body == nil {
		return nil
	}
	var out hcl.Diagnostics
	for _, b := range body.Blocks {
		switch b.Type {
		case "source", "sink", "agent":
			out = append(out, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No " + b.Type + " blocks in the playground",
				Detail:  "The editor takes schema, transform and test blocks: the page feeds its lines to a transform itself, and does not configure what reads or writes the host. Sources come with the pack or the -c files.",
				Subject: b.DefRange().Ptr()})
		case "transform":
			_ = hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
				if a, ok := n.(*hclsyntax.Attribute); ok && a.Name == "patterns_dir" {
					out = append(out, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No patterns_dir in the playground",
						Detail:  "patterns_dir reads directories of the host; here, give the patterns with definitions = { NAME = \"regex\" }.",
						Subject: a.SrcRange.Ptr()})
				}
				return nil
			})
		}
	}
	return out
}

// withoutMissingInputs leaves out the loader's error about a transform
// written without inputs: the page feeds its lines to the transform, so
// inputs = [...] may be left out while trying rules.
func withoutMissingInputs(diags hcl.Diagnostics) hcl.Diagnostics {
	out := diags[:0:0]
	for _, d := range diags {
		if d.Summary == "Missing required argument" && strings.Contains(d.Detail, `"inputs"`) && d.Subject != nil && d.Subject.Filename == EditorFile {
			continue
		}
		out = append(out, d)
	}
	return out
}

func toDiagnostics(diags hcl.Diagnostics) []Diagnostic {
	out := make([]Diagnostic, 0, len(diags))
	for _, d := range diags {
		x := Diagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			x.Severity = "warning"
		}
		if r := d.Subject; r != nil {
			x.File, x.Line, x.Col, x.EndLine, x.EndCol = r.Filename, r.Start.Line, r.Start.Column, r.End.Line, r.End.Column
			x.InEditor = r.Filename == EditorFile
		}
		out = append(out, x)
	}
	return out
}

// splitLines returns the sample's lines; a final newline ends the last
// line rather than starting an empty one.
func splitLines(text string) []string {
	text = strings.TrimSuffix(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// tracer collects the steps' work: the time of each step over all lines,
// the steps of the traced line, and the last step seen (where a timeout
// or a panic happened). It is called on the evaluation's goroutine and
// read by the handler's, hence the lock.
type tracer struct {
	traceOffset int64 // -1: no line traced
	sc          *schema.Schema

	mu    sync.Mutex
	times map[int]*StepTime
	steps []TraceStep
	last  agent.StepEvent
	line  int64
	panic string
}

func (t *tracer) event(ev agent.StepEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.times[ev.Index]
	if st == nil {
		st = &StepTime{Index: ev.Index, Step: ev.Step}
		t.times[ev.Index] = st
	}
	st.Runs++
	st.TotalNS += int64(ev.Took)
	st.MaxNS = max(st.MaxNS, int64(ev.Took))
	t.last, t.line = ev, ev.Record.Origin.Offset
	t.last.Record = nil
	if ev.Panic != "" && t.panic == "" {
		t.panic = fmt.Sprintf("step %d (%s) panicked on line %d: %s", ev.Index, ev.Step, ev.Record.Origin.Offset+1, ev.Panic)
	}
	if ev.Record.Origin.Offset != t.traceOffset {
		return
	}
	ts := TraceStep{Index: ev.Index, Step: ev.Step, Fields: fieldsOf(ev.Record, t.sc), Made: len(ev.Made),
		Pattern: ev.Pattern, PatternText: ev.PatternText, TookNS: int64(ev.Took), Panic: ev.Panic}
	if ev.Err != nil {
		ts.Error = ev.Err.Error()
		ts.Dropped = ts.Error == "dropped by where"
	}
	t.steps = append(t.steps, ts)
}

// where names the last step seen, for a timeout; call it with mu held.
func (t *tracer) where() string {
	if t.last.Step == "" {
		return ""
	}
	return fmt.Sprintf(" (in step %d, %s, on line %d)", t.last.Index, t.last.Step, t.line+1)
}

// evaluate loads the editor's text and feeds the lines to the chosen
// transform with ruletest.Feed (what octoagent test runs), under the
// time limit. A panic anywhere is caught and reported. release frees the
// evaluation's slot; it is called once the evaluation's goroutine ends,
// which may be after evaluate returns (a step that ignores its context).
func (s *Server) evaluate(ctx context.Context, req *Request, release func(), makeTest bool) (resp Response) {
	start := time.Now()
	released := false
	defer func() {
		if p := recover(); p != nil {
			resp.Error = fmt.Sprintf("internal error: %v", p)
			resp.Panic = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
		if !released {
			release()
		}
		resp.TookNS = int64(time.Since(start))
	}()
	resp.Results, resp.Summary.Steps = []LineResult{}, []StepTime{}
	l := s.load(req)
	resp.Diagnostics, resp.Transforms = l.diags, l.trs
	if resp.Transforms == nil {
		resp.Transforms = []string{}
	}
	if l.bad {
		return resp
	}
	if l.comp == nil {
		resp.Error = `No transform in the editor: write one, such as transform "my_rules" { parse "regex" { pattern = "^(?P<word>\\S+)" } }.`
		return resp
	}
	resp.Transform = l.comp.ID
	lines := splitLines(req.Lines)
	if len(lines) > s.lim.MaxLines {
		resp.Error = fmt.Sprintf("%d lines: the playground takes at most %d at a time (--max-lines).", len(lines), s.lim.MaxLines)
		return resp
	}
	batch := make(agent.Batch, len(lines))
	for i, line := range lines {
		batch[i] = agent.Record{Time: ruletest.Time, Raw: []byte(line)}
	}
	tr := &tracer{traceOffset: int64(req.Trace) - 1, sc: schemaOf(l.res, l.comp), times: map[int]*StepTime{}}

	type outcome struct {
		fed ruletest.Fed
		err error
	}
	evalCtx, cancel := context.WithTimeout(ctx, s.lim.Timeout)
	defer cancel()
	done := make(chan outcome, 1)
	released = true // the goroutine releases the slot
	go func() {
		defer release()
		defer func() {
			if p := recover(); p != nil {
				tr.mu.Lock()
				if tr.panic == "" {
					tr.panic = fmt.Sprintf("%v\n%s", p, debug.Stack())
				}
				tr.mu.Unlock()
				done <- outcome{err: errPanic}
			}
		}()
		fed, err := ruletest.Feed(evalCtx, l.comp, "playground", batch, tr.event)
		done <- outcome{fed, err}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-time.After(s.lim.Timeout + s.lim.Grace):
		tr.mu.Lock()
		defer tr.mu.Unlock()
		resp.Timeout = true
		resp.Error = fmt.Sprintf("The evaluation ran longer than %s and did not stop%s: a program that loops without checking its time limit. The server goes on serving.",
			s.lim.Timeout, tr.where())
		return resp
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.panic != "" {
		resp.Panic = tr.panic
		resp.Error = "A step panicked: " + firstLine(tr.panic) + ". The records below are those made before it."
	}
	if evalCtx.Err() != nil && ctx.Err() == nil {
		resp.Timeout = true
		resp.Error = fmt.Sprintf("The evaluation ran longer than %s and was stopped%s: a jq or awk program that loops? The results are partial.",
			s.lim.Timeout, tr.where())
	}
	if out.err != nil && !errors.Is(out.err, errPanic) {
		resp.Error = strings.TrimSpace(resp.Error + " " + out.err.Error())
	}
	resp.Results = results(lines, out.fed, tr.sc)
	resp.Summary = summarize(resp.Results, tr.times)
	if req.Trace > 0 && req.Trace <= len(lines) {
		resp.Trace = &Trace{Line: req.Trace, Input: lines[req.Trace-1], Steps: tr.steps}
	}
	if makeTest && resp.Error == "" {
		name := req.TestName
		if name == "" {
			name = "playground_" + l.comp.Name
		}
		b, err := ruletest.MakeTest(name, l.comp.Name, lines, out.fed)
		if err != nil {
			resp.Error = "cannot write the test: " + err.Error()
		}
		if len(l.comp.Inputs) == 0 {
			// octoagent test loads the config as octoagent run does.
			b = append([]byte(fmt.Sprintf("# %s has no inputs here: give it inputs = [source.TYPE.NAME] before octoagent test.\n", l.comp.ID)), b...)
		}
		resp.Test = string(b)
	}
	return resp
}

var errPanic = errors.New("panic")

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// schemaOf returns the schema a component names with schema = schema.X.
func schemaOf(res *config.Result, c *config.Component) *schema.Schema {
	content, _, _ := c.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "schema"}}})
	a, ok := content.Attributes["schema"]
	if !ok {
		return nil
	}
	t, d := hcl.AbsTraversalForExpr(a.Expr)
	if d.HasErrors() || len(t) != 2 {
		return nil
	}
	if at, ok := t[1].(hcl.TraverseAttr); ok {
		return res.Schemas[at.Name]
	}
	return nil
}

// results groups what came out by input line (records carry their
// input's offset).
func results(lines []string, fed ruletest.Fed, sc *schema.Schema) []LineResult {
	out := make([]LineResult, len(lines))
	for i, l := range lines {
		out[i] = LineResult{Line: i + 1, Input: l, Records: []Record{}}
	}
	at := func(r *agent.Record) *LineResult {
		if o := r.Origin.Offset; o >= 0 && int(o) < len(out) {
			return &out[o]
		}
		return nil
	}
	for i := range fed.Out {
		r := &fed.Out[i]
		if lr := at(r); lr != nil {
			lr.Records = append(lr.Records, Record{Kind: r.Kind, ID: r.EnsureID(), Time: r.Time.UTC().Format(time.RFC3339Nano),
				Entity: r.Entity, Fields: fieldsOf(r, sc)})
		}
	}
	for i := range fed.Dead {
		r := &fed.Dead[i]
		lr := at(r)
		if lr == nil {
			continue
		}
		f := r.MaterializeFields()
		d := &DeadLetter{Errors: []FieldError{}}
		d.Reason, _ = f["reason"].(string)
		d.Step, _ = f["step"].(string)
		if list, ok := f["errors"].([]any); ok {
			for _, e := range list {
				m, _ := e.(map[string]any)
				fe := FieldError{}
				fe.Field, _ = m["field"].(string)
				fe.Error, _ = m["error"].(string)
				d.Errors = append(d.Errors, fe)
			}
		}
		if parsed, ok := f["fields"].(map[string]any); ok {
			var pr agent.Record
			pr.SetFields(parsed)
			d.Fields = fieldsOf(&pr, sc)
		}
		lr.Dead = d
	}
	for i := range out {
		out[i].Dropped = len(out[i].Records) == 0 && out[i].Dead == nil
	}
	return out
}

func summarize(res []LineResult, times map[int]*StepTime) Summary {
	s := Summary{Lines: len(res), Steps: []StepTime{}}
	for _, r := range res {
		switch {
		case r.Dead != nil:
			s.DeadLetters++
		case r.Dropped:
			s.Dropped++
		default:
			s.Matched++
		}
		s.Records += len(r.Records)
	}
	for _, st := range times {
		s.Steps = append(s.Steps, *st)
	}
	sort.Slice(s.Steps, func(i, j int) bool { return s.Steps[i].Index < s.Steps[j].Index })
	for i := range s.Steps {
		if s.Slowest == nil || s.Steps[i].TotalNS > s.Slowest.TotalNS {
			s.Slowest = &s.Steps[i]
		}
	}
	return s
}

// fieldsOf lists a record's fields by name, with their types.
func fieldsOf(r *agent.Record, sc *schema.Schema) []Field {
	out := []Field{}
	for k, v := range r.All() {
		f := Field{Name: k, Type: typeOf(v), Value: json.RawMessage(agent.AppendValue(nil, v))}
		if sc != nil {
			if sf, ok := sc.Field(k); ok {
				f.Declared = string(sf.Type)
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case time.Time:
		return "time"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
