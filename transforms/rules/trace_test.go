package rules

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

type traced struct {
	step    string
	index   int
	pattern int
	fields  string
	err     string
	made    int
	offset  int64
	panicky bool
}

func traceAll(t *testing.T, src string, lines ...string) ([]traced, *collect, *collect) {
	t.Helper()
	tr, out, dl := build(t, src)
	var got []traced
	tr.Trace(func(ev agent.StepEvent) {
		x := traced{step: ev.Step, index: ev.Index, pattern: ev.Pattern, made: len(ev.Made), offset: ev.Record.Origin.Offset, panicky: ev.Panic != ""}
		var fs []string
		for k, v := range ev.Record.All() {
			fs = append(fs, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(fs)
		x.fields = strings.Join(fs, " ")
		if ev.Err != nil {
			x.err = ev.Err.Error()
		}
		if ev.Took < 0 {
			t.Errorf("negative time: %v", ev.Took)
		}
		got = append(got, x)
	})
	if err := tr.Process(context.Background(), raw(lines...)); err != nil {
		t.Fatal(err)
	}
	return got, out, dl
}

func TestTraceSteps(t *testing.T) {
	got, out, dl := traceAll(t, `
parse "regex" {
  patterns = ["^(?P<a>x+)$", "^(?P<b>\\w+) (?P<c>\\d+)$"]
}
set {
  d = "int(c) * 2"
}
where = "d > 10"
`, "word 7", "word 3", "!!")
	want := []traced{
		{step: "parse.regex", index: 1, pattern: 2, fields: "b=word c=7", offset: 0},
		{step: "set", index: 2, fields: "b=word c=7 d=14", offset: 0},
		{step: "where", index: 3, fields: "b=word c=7 d=14", offset: 0},
		{step: "parse.regex", index: 1, pattern: 2, fields: "b=word c=3", offset: 1},
		{step: "set", index: 2, fields: "b=word c=3 d=6", offset: 1},
		{step: "where", index: 3, fields: "b=word c=3 d=6", err: "dropped by where", offset: 1},
		{step: "parse.regex", index: 1, fields: "message=!!", err: "message: no pattern matched (2 tried)", offset: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("trace:\n got %+v\nwant %+v", got, want)
	}
	if len(out.got) != 1 || len(dl.got) != 1 {
		t.Fatalf("%d records, %d dead letters", len(out.got), len(dl.got))
	}
}

func TestTraceJQFanOut(t *testing.T) {
	got, out, _ := traceAll(t, `
parse "json" {}
jq = ".items[] | {name: .}"
set {
  n = "len(name)"
}
`, `{"items": ["ab", "cde"]}`)
	if len(got) != 4 || got[1].step != "jq" || got[1].made != 2 || got[2].fields != "n=2 name=ab" || got[3].fields != "n=3 name=cde" {
		t.Fatalf("trace: %+v", got)
	}
	if len(out.got) != 2 {
		t.Fatalf("%d records", len(out.got))
	}
}

func TestTraceOff(t *testing.T) {
	tr, _, _ := build(t, `parse "regex" { pattern = "^(?P<a>.+)$" }`)
	loaded := tr.cfg.Steps[0]
	tr.Trace(func(agent.StepEvent) {})
	if _, ok := tr.cfg.Steps[0].(*tracedStep); !ok {
		t.Fatalf("traced step is %T", tr.cfg.Steps[0])
	}
	tr.Trace(nil)
	if tr.cfg.Steps[0] != loaded {
		t.Fatalf("untraced step is %T", tr.cfg.Steps[0])
	}
}

type panicStep struct{}

func (panicStep) Name() string                               { return "boom" }
func (panicStep) Apply(context.Context, *agent.Record) error { panic("step exploded") }

// TestTracePanic: a step that panics is told to the tracer, with its
// stack, before the panic goes on.
func TestTracePanic(t *testing.T) {
	tr, _, _ := build(t, `parse "regex" { pattern = "^(?P<a>.+)$" }`)
	tr.cfg.Steps = append(tr.cfg.Steps, panicStep{})
	var got []agent.StepEvent
	tr.Trace(func(ev agent.StepEvent) { ev.Record = nil; got = append(got, ev) })
	func() {
		defer func() {
			if p := recover(); p != "step exploded" {
				t.Errorf("recovered %v", p)
			}
		}()
		_ = tr.Process(context.Background(), raw("x"))
	}()
	if len(got) != 2 || got[1].Step != "boom" || got[1].Index != 2 || !strings.HasPrefix(got[1].Panic, "step exploded\n") || !strings.Contains(got[1].Panic, "goroutine") {
		t.Fatalf("events: %+v", got)
	}
}
