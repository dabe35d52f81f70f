package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

// TestAwkLoopIsStopped is issue 22's hang: `{ while (1) { x++ } }` passed
// validate and then held the agent at 100% CPU forever. Each record is now
// stopped at its budget and dead-lettered with reason timeout and the step
// named; the records around it go on.
func TestAwkLoopIsStopped(t *testing.T) {
	tr, out, dl := build(t, `
parse "awk" {
  program = "$1 == \"loop\" { while (1) { x++ } } { set(\"n\", $2) }"
  timeout = "50ms"
}
`)
	processWithinAMinute(t, tr, raw("ok 1", "loop 2", "ok 3", "loop 4", "ok 5"))
	var got []string
	for _, r := range out.got {
		got = append(got, fmt.Sprint(r.MaterializeFields()["n"]))
	}
	if strings.Join(got, ",") != "1,3,5" || len(dl.got) != 2 {
		t.Fatalf("records %v, dead letters %d", got, len(dl.got))
	}
	for _, d := range dl.got {
		f := d.MaterializeFields()
		if f["reason"] != "timeout" || f["step"] != "parse.awk" {
			t.Fatalf("dead letter reason %v step %v, want timeout at parse.awk", f["reason"], f["step"])
		}
	}
}

// The default budget applies without a timeout attribute.
func TestAwkDefaultBudget(t *testing.T) {
	tr, _, dl := build(t, `parse "awk" { program = "{ while (1) { x++ } }" }`)
	if err := tr.Process(context.Background(), raw("a")); err != nil {
		t.Fatal(err)
	}
	if len(dl.got) != 1 || dl.got[0].MaterializeFields()["reason"] != "timeout" {
		t.Fatalf("dead letters %v", dl.got)
	}
}

// awkPair builds the same program as a fast step and as an interpreted
// one (the fast path turned off).
func awkPair(t testing.TB, prog string) (fast, slow *awkStep) {
	mk := func() *awkStep {
		c, d := decodeRules(t, `parse "awk" { program = `+hclQuote(prog)+` }`)
		if d.HasErrors() {
			t.Fatal(d)
		}
		return c.Steps[0].(*awkStep)
	}
	fast, slow = mk(), mk()
	if fast.native == nil {
		t.Fatalf("%q does not take the native path", prog)
	}
	slow.native = nil
	return fast, slow
}

func hclQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "${", "$${").Replace(s) + `"`
}

// awkResult is what a step made of a line: its fields, or its error.
func awkResult(s Step, line []byte) string {
	r := agent.Record{Raw: line}
	if err := s.Apply(context.Background(), &r); err != nil {
		return "error: " + err.Error()
	}
	return string(r.AppendFieldsJSON(nil))
}

// TestAwkFastPathMatchesInterpreter: the fast path gives what the
// interpreter gives, on the lines where they could differ.
func TestAwkFastPathMatchesInterpreter(t *testing.T) {
	fast, slow := awkPair(t, `{ set("a", $1); set("c", $3); set("whole", $0); set("far", $12); set("a", $2) }`)
	for _, line := range []string{
		`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 5`,
		"  lead and trail  ", "tab\tsep\t\tx", "one", " ", "\v\fx\vy", "a\u00a0b c\u2003d e", "é ü ß", "\xff\xfe x",
		"", "cr\r", "two\nlines", "nul\x00byte here",
	} {
		if f, s := awkResult(fast, []byte(line)), awkResult(slow, []byte(line)); f != s {
			t.Errorf("%q: fast path %s, interpreter %s", line, f, s)
		}
	}
	for _, p := range []string{`{ set("a", $1) }`, "{\n  set(\"a\", $1);\n  set(\"b\", $10)\n}\n", `{set("x",$0)}`,
		`{ set("a", $1 $2) }`, `NF > 2 { set("a", $1) }`, `{ set("a\"b", $1) }`, `{ set("a", $NF) }`} {
		if nativeProgram(t, p) == nil {
			t.Errorf("%q should take the native path", p)
		}
	}
}

// FuzzAwkFast compares the fast path with the interpreter on any line.
func FuzzAwkFast(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	fast, slow := awkPair(f, `{ set("a", $1); set("b", $2); set("z", $0); set("n", $9) }`)
	f.Fuzz(func(t *testing.T, line []byte) {
		if fr, sr := awkResult(fast, line), awkResult(slow, line); fr != sr {
			t.Fatalf("%q: fast path %s, interpreter %s", line, fr, sr)
		}
	})
}

// An expression cannot run long either: expr has no loop but its
// builtins over lists, and its budget bounds them. Over budget, the record
// is dead-lettered with reason timeout, the step named.
func TestExprBudget(t *testing.T) {
	tr, out, dl := build(t, `
parse "awk" { program = "{ set(\"n\", $1) }" }
where = "n == \"2\" ? all(1..999999, {all(1..999999, {true})}) : true"
`)
	processWithinAMinute(t, tr, raw("1", "2", "3"))
	if len(out.got) != 2 || len(dl.got) != 1 {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	if f := dl.got[0].MaterializeFields(); f["reason"] != "timeout" || f["step"] != "where" {
		t.Fatalf("dead letter %v", f)
	}
}

// processWithinAMinute runs a batch through tr, failing the test if it has
// not returned after a minute (a generous bound: the budgets stop each
// record within milliseconds).
func processWithinAMinute(t *testing.T, tr *transform, b agent.Batch) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tr.Process(context.Background(), b) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the transform still runs the batch after a minute")
	}
}
