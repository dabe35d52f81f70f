package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/internal/testfig"
)

// hclString writes s as an HCL string literal (grok's %{ doubled).
func hclString(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "%{", "%%{", "${", "$${").Replace(s)
	return `"` + s + `"`
}

// lookupPath reads a dotted path in nested fields.
func lookupPath(fields map[string]any, p string) (any, bool) {
	var cur any = fields
	for _, k := range strings.Split(p, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// The family samples through parse "grok" as Logstash runs them
// (unanchored), with the captures Logstash gives.
func TestGrokFamiliesCaptureWhatLogstashCaptures(t *testing.T) {
	want, equal := 0, 0
	for _, c := range familyCases {
		tr, out, dl := build(t, fmt.Sprintf("parse \"grok\" {\n  pattern = %s\n  ecs_compatibility = %q\n}\n", hclString(c.pattern), c.ecs))
		if err := tr.Process(context.Background(), raw(c.line)); err != nil {
			t.Fatal(err)
		}
		if len(out.got) != 1 {
			t.Errorf("%s %s: %d records, %d dead letters (%v)", c.ecs, c.pattern, len(out.got), len(dl.got), dl.got)
			want += len(c.want)
			continue
		}
		fields := out.got[0].MaterializeFields()
		for k, v := range c.want {
			want++
			got, ok := lookupPath(fields, k)
			if !ok || got != v {
				t.Errorf("%s %s: %s = %#v (present %v), want %#v", c.ecs, c.pattern, k, got, ok, v)
				continue
			}
			equal++
		}
	}
	testfig.Report(t, "grok family samples: %d lines, %d of %d expected captures equal", len(familyCases), equal, want)
}

// ECS references give nested fields; legacy names are flat; a match with
// no capture passes the record on.
func TestGrokECSAndLegacyNames(t *testing.T) {
	line := `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "curl/8"`
	tr, out, _ := build(t, `parse "grok" { pattern = "%%{HTTPD_COMBINEDLOG}" }`)
	if err := tr.Process(context.Background(), raw(line)); err != nil {
		t.Fatal(err)
	}
	f := out.got[0].MaterializeFields()
	if v, _ := lookupPath(f, "source.address"); v != "127.0.0.1" {
		t.Fatalf("ecs: %v", f)
	}
	if v, _ := lookupPath(f, "http.response.status_code"); v != int64(200) {
		t.Fatalf("ecs status: %#v", v)
	}
	if _, ok := lookupPath(f, "http.request.referrer"); ok {
		t.Fatalf("a \"-\" referrer is not captured: %v", f)
	}
	tr, out, _ = build(t, `parse "grok" {
  pattern           = "%%{HTTPD_COMBINEDLOG}"
  ecs_compatibility = "disabled"
}`)
	if err := tr.Process(context.Background(), raw(line)); err != nil {
		t.Fatal(err)
	}
	f = out.got[0].MaterializeFields()
	if f["clientip"] != "127.0.0.1" || f["response"] != "200" || f["verb"] != "GET" {
		t.Fatalf("legacy: %v", f)
	}
	tr, out, dl := build(t, `parse "grok" {
  pattern     = "%%{LOGLEVEL} %%{WORD:[a][b-c]} (?<[x][y]>\\d+) %%{INT:n:int}"
}`)
	if err := tr.Process(context.Background(), raw("WARN word 42 7", "nothing here")); err != nil {
		t.Fatal(err)
	}
	f = out.got[0].MaterializeFields()
	if v, _ := lookupPath(f, "a.b-c"); v != "word" {
		t.Fatalf("dash: %v", f)
	}
	if v, _ := lookupPath(f, "x.y"); v != "42" || f["n"] != int64(7) {
		t.Fatalf("definition group and :int: %v", f)
	}
	if len(dl.got) != 1 || dl.got[0].MaterializeFields()["reason"] != "no_match" {
		t.Fatalf("dead letters %v", dl.got)
	}
	tr, out, dl = build(t, `parse "grok" { pattern = "%%{LOGLEVEL}" }`)
	if err := tr.Process(context.Background(), raw("ERROR disk full")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || len(dl.got) != 0 {
		t.Fatalf("a match without captures is a match: %d records, %d dead letters", len(out.got), len(dl.got))
	}
}

// As in Logstash, an empty capture sets nothing, and a match whose
// captures are all empty passes the line on as it came (the typed path
// that parse "regex" shares, typedFresh, and the general one alike).
func TestGrokEmptyCapturesSetNothing(t *testing.T) {
	tr, out, dl := build(t, `parse "grok" { pattern = "^%%{DATA:a}-%%{DATA:b}$" }`)
	if err := tr.Process(context.Background(), raw("x-y", "-y", "-")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 3 || len(dl.got) != 0 {
		t.Fatalf("%d records, %d dead letters", len(out.got), len(dl.got))
	}
	for i, want := range []map[string]any{{"a": "x", "b": "y"}, {"b": "y"}, {"message": "-"}} {
		got := out.got[i].MaterializeFields()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("line %d: fields %v, want %v", i, got, want)
		}
	}
}

// Unreadable references are config errors at the attribute.
func TestGrokBadReferencesAreDiagnostics(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`pattern = "%%{IP:[source][address}"`, "unexpected \"[address\""},
		{`pattern = "%%{IP:[a]x}"`, "unexpected"},
		{`pattern = "%%{NOPE:x}"`, "unknown pattern %{NOPE}"},
		{`pattern = "%%{IPV4:x:long}"`, "unknown type :long"},
		{`pattern = "%%{IP:x"`, "unterminated reference"},
		{`pattern = "%%{IP:x}"
  ecs_compatibility = "v2"`, "Invalid ecs_compatibility"},
		{`pattern = "%%{HTTPDATE:t}"
  definitions = { LOOP = "%%{LOOP}" }
  patterns = ["%%{LOOP}"]`, "refers to itself"},
	} {
		_, d := decodeRules(t, "parse \"grok\" {\n  "+c.src+"\n}\n")
		if !d.HasErrors() || !strings.Contains(d.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.src, d, c.want)
			continue
		}
		if d[0].Subject == nil || d[0].Subject.Start.Line < 2 {
			t.Errorf("%s: diagnostic not at the attribute: %v", c.src, d[0].Subject)
		}
	}
}

// A catastrophic pattern on the backtracking engine is stopped by the
// budget (a timeout dead letter), and the next line is parsed. The same
// pattern without the construct that needs backtracking runs on the linear
// engine, which has no catastrophe.
func TestGrokBudgetStopsCatastrophicBacktracking(t *testing.T) {
	long := strings.Repeat("a", 10*1024) + "!"
	tr, out, dl := build(t, `parse "grok" {
  pattern = "(?<x>(a+)+(?!bc)$)"
  timeout = "50ms"
}`)
	if n := tr.cfg.Steps[0].(*grokStep).notes[0]; !strings.Contains(n, "backtracking") {
		t.Fatalf("engine note %q", n)
	}
	start := time.Now()
	if err := tr.Process(context.Background(), raw(long, "aaa")); err != nil {
		t.Fatal(err)
	}
	if len(dl.got) != 1 || dl.got[0].MaterializeFields()["reason"] != "timeout" {
		t.Fatalf("dead letters %v", dl.got)
	}
	if len(out.got) != 1 || out.got[0].MaterializeFields()["x"] != "aaa" {
		t.Fatalf("records %v", out.got)
	}
	testfig.Report(t, "grok budget: (a+)+ on a 10 KiB line stopped after %v (budget 50ms), next line parsed", time.Since(start).Round(time.Millisecond))

	tr, out, dl = build(t, `parse "grok" { pattern = "(?<x>(a+)+$)" }`)
	if n := tr.cfg.Steps[0].(*grokStep).notes[0]; !strings.Contains(n, "linear") {
		t.Fatalf("engine note %q", n)
	}
	if err := tr.Process(context.Background(), raw(long, "aaa")); err != nil {
		t.Fatal(err)
	}
	if len(dl.got) != 1 || dl.got[0].MaterializeFields()["reason"] != "no_match" || len(out.got) != 1 {
		t.Fatalf("linear: %d records, dead letters %v", len(out.got), dl.got)
	}
}
