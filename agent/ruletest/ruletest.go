// Package ruletest runs the config's `test "NAME"` blocks (octoagent test):
// it feeds each test's input lines to the transform the test names, as a
// source would hand them on, and compares the records and dead letters
// that come out with the test's expectations. It works on any transform
// type: a test sees only the Transform contract.
package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

// Time is the time input records get in rule tests, so that results
// are the same on every run.
var Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type testBlock struct {
	Input   *string       `hcl:"input,optional"`
	Inputs  []string      `hcl:"inputs,optional"`
	Records cty.Value     `hcl:"records,optional"`
	Dropped *int          `hcl:"dropped,optional"`
	Expect  []expectBlock `hcl:"expect,block"`
	Dead    []deadBlock   `hcl:"expect_dead_letter,block"`
	// Transform was resolved by the loader (config.Test.Transform).
	Transform hcl.Expression `hcl:"transform"`
}

type expectBlock struct {
	Kind      *string   `hcl:"kind,optional"`
	Time      *string   `hcl:"time,optional"`
	Condition *string   `hcl:"condition,optional"`
	Fields    cty.Value `hcl:"fields,optional"`
	Entity    cty.Value `hcl:"entity,optional"`
}

type deadBlock struct {
	Reason *string `hcl:"reason,optional"`
	Step   *string `hcl:"step,optional"`
	Error  *string `hcl:"error,optional"`
	// Errors maps a field to a text its error contains: { status = "above the maximum" }.
	Errors map[string]string `hcl:"errors,optional"`
	// Component is the transform that dead-lettered it, in a chain.
	Component *string `hcl:"component,optional"`
}

// Report is the outcome of Run.
type Report struct {
	Passed, Failed int
}

// Run runs every `test` block of a loaded config against its
// transform and writes a line per test, with a readable diff for each
// failure.
func Run(res *config.Result, w io.Writer) (Report, hcl.Diagnostics) {
	var rep Report
	var diags hcl.Diagnostics
	comps := map[string]*config.Component{}
	for _, c := range res.Components {
		comps[c.ID] = c
	}
	for _, t := range res.Tests {
		var tb testBlock
		d := gohcl.DecodeBody(t.Body, t.Ctx, &tb)
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		c := comps[t.Transform]
		if c == nil || c.Config == nil {
			continue // the loader reported it
		}
		inputs := tb.Inputs
		if tb.Input != nil {
			inputs = append([]string{*tb.Input}, inputs...)
		}
		batch := make(agent.Batch, len(inputs))
		for i, line := range inputs {
			batch[i] = agent.Record{Time: Time, Raw: []byte(line)}
		}
		if !tb.Records.IsNull() {
			recs, err := typedRecords(tb.Records)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid test records",
					Detail: err.Error() + `. Write records = [{ kind = "k", time = "2026-01-01T00:00:00Z", fields = { a = 1 }, entity = { ns = "x" } }].`, Subject: t.DefRange.Ptr()})
				continue
			}
			batch = append(batch, recs...)
		}
		if len(batch) == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Test without input",
				Detail: `A test gives input = "a line", inputs = ["line 1", "line 2"], or typed records = [{ kind = "k", fields = { a = 1 } }].`, Subject: t.DefRange.Ptr()})
			continue
		}
		chained := len(inputs) > 0 && tb.Records.IsNull()
		problems, err := runOne(t, c, comps, batch, &tb, chained)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid test " + t.Name, Detail: err.Error(), Subject: t.DefRange.Ptr()})
			continue
		}
		where := fmt.Sprintf("%s:%d", t.DefRange.Filename, t.DefRange.Start.Line)
		if len(problems) == 0 {
			rep.Passed++
			fmt.Fprintf(w, "PASS %s (%s)\n", t.Name, where)
			continue
		}
		rep.Failed++
		fmt.Fprintf(w, "FAIL %s (%s)\n", t.Name, where)
		for _, p := range problems {
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(p, "\n", "\n  "))
		}
	}
	return rep, diags
}

type collector struct{ got agent.Batch }

func (c *collector) Emit(_ context.Context, b agent.Batch) error {
	c.got = append(c.got, b...)
	agent.AckAll(b, agent.Delivered)
	return nil
}

// typedRecords reads a test's records attribute: typed records, as a
// transform before the tested one would hand them on (kind, time, fields,
// entity), for transforms that read records rather than lines.
func typedRecords(v cty.Value) (agent.Batch, error) {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var list []map[string]any
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("records must be a list of objects")
	}
	out := make(agent.Batch, 0, len(list))
	for i, m := range list {
		r := agent.Record{Time: Time, Kind: agent.KindRaw}
		for k, x := range m {
			switch k {
			case "kind":
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("record %d: kind must be a string", i+1)
				}
				r.Kind = s
			case "time":
				s, _ := x.(string)
				tm, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					return nil, fmt.Errorf("record %d: time must be RFC 3339, such as \"2026-01-01T00:00:00Z\"", i+1)
				}
				r.Time = tm.UTC()
			case "fields":
				f, ok := agent.Normalize(x).(map[string]any)
				if !ok {
					return nil, fmt.Errorf("record %d: fields must be an object", i+1)
				}
				r.SetFields(f)
			case "entity":
				e, ok := x.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("record %d: entity must be an object", i+1)
				}
				keys := make([]string, 0, len(e))
				for k := range e {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					r.Entity = append(r.Entity, agent.KV{Key: k, Value: fmt.Sprint(e[k])})
				}
			default:
				return nil, fmt.Errorf("record %d: unknown attribute %q (kind, time, fields, entity)", i+1, k)
			}
		}
		if r.IsRaw() {
			r.SetFields(map[string]any{})
		}
		out = append(out, r)
	}
	return out, nil
}

// Fed is what came out of a transform fed by Feed.
type Fed struct {
	Out, Dead agent.Batch
	// Dropped counts the inputs that gave nothing: no record, no dead
	// letter.
	Dropped int
}

// Feed creates the transform of c with its factory, as octoagent run
// does, hands it batch as one batch of the source stream "test.STREAM"
// (record i at offset i), flushes and closes it, and returns what came
// out. trace, when not nil, is given every step's work on every record
// (agent.Traceable): the rule playground uses it. ctx bounds the work of
// the steps that take one (jq, awk).
func Feed(ctx context.Context, c *config.Component, stream string, batch agent.Batch, trace agent.StepTracer) (Fed, error) {
	out, dead := &collector{}, &collector{}
	n := startStream(batch, stream)
	if err := process(ctx, c, batch, trace, out, dead); err != nil {
		return Fed{}, err
	}
	return Fed{Out: out.got, Dead: dead.got, Dropped: dropped(n, out.got, dead.got)}, nil
}

// startStream gives batch the origins and tokens of a source stream
// "test.STREAM", record i at offset i, and returns its length.
func startStream(batch agent.Batch, stream string) int {
	acks := agent.NewAcks()
	for i := range batch {
		batch[i].Origin = agent.Origin{Host: "test", Component: "test." + stream, Stream: stream, Offset: int64(i)}
		batch[i].SetToken(acks.NewToken(1, nil))
	}
	return len(batch)
}

// dropped counts the inputs of n that gave nothing (no record, no dead
// letter); records carry their input's offset.
func dropped(n int, batches ...agent.Batch) int {
	seen := map[int64]bool{}
	for _, b := range batches {
		for i := range b {
			seen[b[i].Origin.Offset] = true
		}
	}
	return n - len(seen)
}

// process creates c afresh and runs batch through it, to the end of the
// input: a transform that holds records back (a summary waiting for its
// last parts) hands them on, as at the end of a run.
func process(ctx context.Context, c *config.Component, batch agent.Batch, trace agent.StepTracer, out, dead agent.Output) error {
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: c.ID, Kind: c.Kind, Name: c.Name, Metrics: m.For(c.ID), Host: "test", Out: out, DeadLetter: dead}
	comp, err := c.Factory.Create(set, c.Config)
	if err != nil {
		return err
	}
	tr, ok := comp.(agent.Transform)
	if !ok {
		return fmt.Errorf("%s is not a transform", c.ID)
	}
	if trace != nil {
		if t, ok := comp.(agent.Traceable); ok {
			t.Trace(trace)
		}
	}
	if cl, ok := comp.(agent.Closer); ok {
		defer cl.Close()
	}
	if len(batch) > 0 {
		if err := tr.Process(ctx, batch); err != nil {
			return err
		}
	}
	if f, ok := comp.(agent.Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

func runOne(t *config.Test, c *config.Component, comps map[string]*config.Component, batch agent.Batch, tb *testBlock, chained bool) ([]string, error) {
	n := startStream(batch, t.Name)
	r := &chainRun{comps: comps, dead: &collector{}, seen: map[string]bool{}}
	got, err := r.through(c, batch, chained)
	if err != nil {
		return nil, err
	}
	out, dead := &collector{got: got}, r.dead
	agent.AckAll(out.got, agent.Delivered)
	agent.AckAll(dead.got, agent.Delivered)
	droppedN := dropped(n, out.got, dead.got)
	var problems []string
	if len(out.got) != len(tb.Expect) {
		problems = append(problems, fmt.Sprintf("records: expected %d, got %d", len(tb.Expect), len(out.got)))
	}
	for i := 0; i < len(tb.Expect) && i < len(out.got); i++ {
		for _, p := range checkRecord(&tb.Expect[i], &out.got[i]) {
			problems = append(problems, fmt.Sprintf("record %d: %s", i+1, p))
		}
	}
	if len(dead.got) != len(tb.Dead) {
		problems = append(problems, fmt.Sprintf("dead letters: expected %d, got %d", len(tb.Dead), len(dead.got)))
		for i := len(tb.Dead); i < len(dead.got); i++ {
			problems = append(problems, fmt.Sprintf("unexpected dead letter %d: %s", i+1, deadSummary(&dead.got[i])))
		}
	}
	for i := 0; i < len(tb.Dead) && i < len(dead.got); i++ {
		for _, p := range checkDead(&tb.Dead[i], &dead.got[i]) {
			problems = append(problems, fmt.Sprintf("dead letter %d: %s", i+1, p))
		}
	}
	if tb.Dropped != nil && *tb.Dropped != droppedN {
		problems = append(problems, fmt.Sprintf("dropped: expected %d, got %d", *tb.Dropped, droppedN))
	}
	if len(problems) > 0 {
		for i := range out.got {
			problems = append(problems, fmt.Sprintf("got record %d: %s", i+1, agent.AppendJSON(nil, &out.got[i])))
		}
	}
	return problems, nil
}

// wire returns v as it appears in the wire form, decoded again: what a
// user writes in an expectation is compared with that.
func wire(v any) any {
	var out any
	_ = json.Unmarshal(agent.AppendValue(nil, v), &out)
	return out
}

func ctyWire(v cty.Value) (any, error) {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

func checkRecord(e *expectBlock, r *agent.Record) []string {
	var problems []string
	if e.Kind != nil && r.Kind != *e.Kind {
		problems = append(problems, fmt.Sprintf("kind: expected %q, got %q", *e.Kind, r.Kind))
	}
	if e.Time != nil {
		want, err := time.Parse(time.RFC3339Nano, *e.Time)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("time: the expectation %q is not RFC 3339, such as \"2026-11-21T04:41:35Z\"", *e.Time))
		case !want.Equal(r.Time):
			problems = append(problems, fmt.Sprintf("time: expected %s, got %s", want.UTC().Format(time.RFC3339Nano), r.Time.UTC().Format(time.RFC3339Nano)))
		}
	}
	fields := r.MaterializeFields()
	if !e.Fields.IsNull() {
		want, err := ctyWire(e.Fields)
		wm, ok := want.(map[string]any)
		if err != nil || !ok {
			return append(problems, "fields: the expectation must be an object, such as { status = 200 }")
		}
		got := wire(fields).(map[string]any)
		for _, k := range sortedKeys(wm) {
			gv, present := got[k]
			switch {
			case !present:
				problems = append(problems, fmt.Sprintf("fields.%s: expected %s, missing", k, js(wm[k])))
			case !reflect.DeepEqual(gv, wm[k]):
				problems = append(problems, fmt.Sprintf("fields.%s: expected %s, got %s", k, js(wm[k]), js(gv)))
			}
		}
	}
	if !e.Entity.IsNull() {
		want, _ := ctyWire(e.Entity)
		got := map[string]any{}
		for _, kv := range r.Entity {
			got[kv.Key] = kv.Value
		}
		if !reflect.DeepEqual(want, got) {
			problems = append(problems, fmt.Sprintf("entity: expected %s, got %s", js(want), js(got)))
		}
	}
	if e.Condition != nil {
		ok, err := expr.Eval(*e.Condition, fields)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("condition %q: %v", *e.Condition, err))
		case ok != true:
			problems = append(problems, fmt.Sprintf("condition %q is false", *e.Condition))
		}
	}
	return problems
}

func checkDead(e *deadBlock, r *agent.Record) []string {
	var problems []string
	f := r.MaterializeFields()
	if e.Reason != nil && f["reason"] != *e.Reason {
		problems = append(problems, fmt.Sprintf("reason: expected %q, got %q", *e.Reason, f["reason"]))
	}
	if e.Step != nil && f["step"] != *e.Step {
		problems = append(problems, fmt.Sprintf("step: expected %q, got %q", *e.Step, f["step"]))
	}
	if e.Component != nil && f["component"] != *e.Component {
		problems = append(problems, fmt.Sprintf("component: expected %q, got %q", *e.Component, f["component"]))
	}
	if len(e.Errors) > 0 {
		byField := fieldErrors(r)
		for _, k := range sortedKeys(e.Errors) {
			got, ok := byField[k]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("errors.%s: expected an error containing %q, the field has none (errors on %s)", k, e.Errors[k], js(sortedKeys(byField))))
			case !strings.Contains(strings.Join(got, "; "), e.Errors[k]):
				problems = append(problems, fmt.Sprintf("errors.%s: expected one containing %q, got %s", k, e.Errors[k], js(got)))
			}
		}
	}
	if e.Error != nil {
		errs := deadErrors(r)
		found := false
		for _, s := range errs {
			if strings.Contains(s, *e.Error) {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("error: expected one containing %q, got %s", *e.Error, js(errs)))
		}
	}
	return problems
}

func deadErrors(r *agent.Record) []string {
	var out []string
	list, _ := r.MaterializeFields()["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		s, _ := m["error"].(string)
		if f, ok := m["field"].(string); ok && f != "" {
			s = f + ": " + s
		}
		out = append(out, s)
	}
	return out
}

func deadSummary(r *agent.Record) string {
	return fmt.Sprintf("%v at %v: %s (raw %q)", r.MaterializeFields()["reason"], r.MaterializeFields()["step"], strings.Join(deadErrors(r), "; "), r.MaterializeFields()["raw"])
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// fieldErrors groups a dead letter's errors by field ("" for the errors
// about no one field).
func fieldErrors(r *agent.Record) map[string][]string {
	out := map[string][]string{}
	list, _ := r.MaterializeFields()["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		s, _ := m["error"].(string)
		f, _ := m["field"].(string)
		out[f] = append(out[f], s)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// chainRun runs a test's lines through the tested transform and, when it
// reads other transforms rather than a source, through those first, as a
// run would: a test of the second transform of a chain gives it lines.
// The dead letters of every transform on the way are the test's.
type chainRun struct {
	comps map[string]*config.Component
	dead  *collector
	seen  map[string]bool // transforms on the current path: no cycles
}

// through runs c on what its inputs make of batch, and returns its main
// output. With chain unset, or when c reads a source (or nothing the
// config defines), batch goes to c as it is.
func (r *chainRun) through(c *config.Component, batch agent.Batch, chain bool) (agent.Batch, error) {
	in := batch
	if chain && r.readsTransformsOnly(c) {
		in = nil
		r.seen[c.ID] = true
		for i, inp := range c.Inputs {
			up, port := r.upstream(inp.ID)
			b := batch
			if i < len(c.Inputs)-1 {
				b = cloneBatch(batch)
			}
			out, dead, err := r.run(up, b)
			if err != nil {
				return nil, err
			}
			if port == agent.DeadLetterPort {
				in = append(in, dead...)
				agent.AckAll(out, agent.Dropped)
			} else {
				in = append(in, out...)
				r.dead.got = append(r.dead.got, dead...)
			}
		}
		delete(r.seen, c.ID)
	}
	out, dead, err := r.process(c, in)
	if err != nil {
		return nil, err
	}
	r.dead.got = append(r.dead.got, dead...)
	return out, nil
}

// run runs an upstream transform (itself chained) on batch, keeping its
// dead letters apart.
func (r *chainRun) run(c *config.Component, batch agent.Batch) (agent.Batch, agent.Batch, error) {
	saved := r.dead
	r.dead = &collector{}
	out, err := r.through(c, batch, true)
	dead := r.dead.got
	r.dead = saved
	return out, dead, err
}

func (r *chainRun) readsTransformsOnly(c *config.Component) bool {
	if len(c.Inputs) == 0 || r.seen[c.ID] {
		return false
	}
	for _, inp := range c.Inputs {
		up, _ := r.upstream(inp.ID)
		if up == nil || up.Kind != agent.KindTransform || r.seen[up.ID] {
			return false
		}
	}
	return true
}

// upstream finds the component of an output id, and the port.
func (r *chainRun) upstream(id string) (*config.Component, string) {
	if c, ok := r.comps[id]; ok {
		return c, ""
	}
	if base, ok := strings.CutSuffix(id, "."+agent.DeadLetterPort); ok {
		return r.comps[base], agent.DeadLetterPort
	}
	return nil, ""
}

// process runs c on batch and keeps what it emits, unacknowledged.
func (r *chainRun) process(c *config.Component, batch agent.Batch) (agent.Batch, agent.Batch, error) {
	out, dead := &passOn{}, &passOn{}
	err := process(context.Background(), c, batch, nil, out, dead)
	return out.got, dead.got, err
}

// passOn keeps what a transform emits, unacknowledged: the records go on
// to the next transform, or are acknowledged once the test has them.
type passOn struct{ got agent.Batch }

func (p *passOn) Emit(_ context.Context, b agent.Batch) error {
	p.got = append(p.got, b...)
	return nil
}

func cloneBatch(b agent.Batch) agent.Batch {
	out := make(agent.Batch, len(b))
	for i := range b {
		out[i] = b[i].Clone()
	}
	return out
}
