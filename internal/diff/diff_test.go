package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/schema"
)

func summary(id string, at time.Time, f map[string]any) *agent.Record {
	r := &agent.Record{ID: id, Kind: "workflow_run_summary", Time: at}
	r.SetFields(f)
	return r
}

func steps(l ...map[string]any) []any {
	out := make([]any, len(l))
	for i, m := range l {
		out[i] = m
	}
	return out
}

var t0 = time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)

func runs() (*agent.Record, *agent.Record) {
	a := summary("a1", t0, map[string]any{
		"run_id": "100", "status": "success", "duration_s": int64(296), "commit": "3f9c2ab",
		"started_at": t0, "parameters": map[string]any{"target": "amd64", "branch": "main"},
		"steps": steps(
			map[string]any{"name": "checkout", "status": "success", "duration_s": int64(3)},
			map[string]any{"name": "test", "status": "success", "duration_s": int64(186)},
			map[string]any{"name": "image", "status": "success", "duration_s": int64(105)},
			map[string]any{"name": "lint", "status": "success", "duration_s": int64(5)}),
		"images": []any{"api:1", "api:base"},
	})
	b := summary("b2", t0.Add(time.Hour), map[string]any{
		"run_id": "101", "status": "failure", "duration_s": 412.5, "commit": "3f9c2ab",
		"started_at": t0.Add(time.Hour), "parameters": map[string]any{"target": "arm64", "branch": "main", "debug": true},
		"steps": steps(
			map[string]any{"name": "checkout", "status": "success", "duration_s": int64(3)},
			map[string]any{"name": "image", "status": "failure", "duration_s": int64(98)},
			map[string]any{"name": "test", "status": "success", "duration_s": int64(245)},
			map[string]any{"name": "scan", "status": "success", "duration_s": int64(9)}),
		"images": []any{"api:base", "api:2"},
	})
	return a, b
}

func paths(r *Result) string {
	var out []string
	for _, d := range r.Differences {
		out = append(out, string(d.Op)+" "+d.Path)
	}
	return strings.Join(out, "\n")
}

// Every kind of difference, in order: the status first, then the fields
// by name; list items by name (reordered, then in B's order, then those
// removed); scalar lists as sets.
func TestDifferencesInOrder(t *testing.T) {
	a, b := runs()
	res, err := Records(a, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `changed status
changed duration_s
removed images[]
added images[]
added parameters.debug
changed parameters.target
changed run_id
changed started_at
reordered steps
changed steps[image].status
changed steps[image].duration_s
changed steps[test].duration_s
added steps[scan]
removed steps[lint]`
	if got := paths(res); got != want {
		t.Fatalf("differences:\n%s\nwant\n%s", got, want)
	}
	byPath := map[string]Difference{}
	for _, d := range res.Differences {
		byPath[string(d.Op)+" "+d.Path] = d
	}
	d := byPath["changed steps[test].duration_s"]
	if d.Type != "number" || d.Delta != int64(59) || d.Ratio == nil || *d.Ratio < 1.317 || *d.Ratio > 1.318 {
		t.Errorf("test duration: %+v", d)
	}
	d = byPath["changed duration_s"]
	if d.Delta != 116.5 {
		t.Errorf("run duration delta %v", d.Delta)
	}
	d = byPath["changed started_at"]
	if d.Type != "time" || d.Delta != "1h0m0s" || *d.DeltaS != 3600 {
		t.Errorf("started_at: %+v", d)
	}
	d = byPath["reordered steps"]
	if names(d.A) != "checkout, test, image, lint" || names(d.B) != "checkout, image, test, scan" {
		t.Errorf("order: %v -> %v", d.A, d.B)
	}
	if res.Same {
		t.Error("same")
	}
}

// A schema types the fields and leaves its volatile ones out, unless All;
// Ignore leaves paths out.
func TestSchemaVolatileAndIgnore(t *testing.T) {
	s, err := schema.New(&schema.Schema{Name: "workflow_run_summary", Fields: []*schema.Field{
		{Name: "run_id", Type: schema.String, Volatile: true},
		{Name: "started_at", Type: schema.Time, Volatile: true},
		{Name: "took", Type: schema.Duration},
	}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := runs()
	a.Set("took", "1m30s")
	b.Set("took", "2m")
	res, _ := Records(a, b, Options{Schema: s, Ignore: []string{"steps[*].duration_s", "images"}})
	got := paths(res)
	for _, p := range []string{"run_id", "started_at", "steps[test].duration_s", "images[]"} {
		if strings.Contains(got, p) {
			t.Errorf("%s not left out:\n%s", p, got)
		}
	}
	if strings.Join(res.Ignored, ",") != "run_id,started_at" {
		t.Errorf("ignored %v", res.Ignored)
	}
	var took Difference
	for _, d := range res.Differences {
		if d.Path == "took" {
			took = d
		}
	}
	if took.Type != "duration" || took.Delta != "30s" || *took.DeltaS != 30 || *took.Ratio < 1.33 || *took.Ratio > 1.34 {
		t.Errorf("took: %+v", took)
	}
	all, _ := Records(a, b, Options{Schema: s, All: true})
	if p := paths(all); !strings.Contains(p, "changed run_id") || !strings.Contains(p, "changed time") {
		t.Errorf("--all:\n%s", p)
	}
}

// The same record: no difference. Two kinds: an error.
func TestSameAndKinds(t *testing.T) {
	a, _ := runs()
	res, err := Records(a, a, Options{})
	if err != nil || !res.Same || len(res.Differences) != 0 {
		t.Fatalf("same record: %+v, %v", res, err)
	}
	var buf bytes.Buffer
	res.Text(&buf, false)
	if !strings.HasSuffix(buf.String(), "no differences\n") {
		t.Errorf("text: %q", buf.String())
	}
	c := &agent.Record{Kind: "crashloop_context"}
	c.SetFields(map[string]any{})
	var ke *KindError
	if _, err := Records(a, c, Options{}); !errors.As(err, &ke) || !strings.Contains(err.Error(), "different kinds (workflow_run_summary and crashloop_context)") {
		t.Errorf("two kinds: %v", err)
	}
}

// The text form: one line per difference with its delta; colour only when
// asked. The JSON form decodes to the same list.
func TestRender(t *testing.T) {
	a, b := runs()
	res, _ := Records(a, b, Options{})
	var plain, color, js bytes.Buffer
	res.Text(&plain, false)
	res.Text(&color, true)
	for _, line := range []string{
		`~ status: "success" -> "failure"`,
		`~ steps[test].duration_s: 186 -> 245 (+59, x1.32)`,
		`~ started_at: "2026-11-21T05:00:00Z" -> "2026-11-21T06:00:00Z" (+1h0m0s)`,
		`* steps: order checkout, test, image, lint -> checkout, image, test, scan`,
		`+ steps[scan]: {"duration_s":9,"name":"scan","status":"success"}`,
		`- steps[lint]: {"duration_s":5,"name":"lint","status":"success"}`,
		"14 differences",
	} {
		if !strings.Contains(plain.String(), line+"\n") {
			t.Errorf("text lacks %q:\n%s", line, plain.String())
		}
	}
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(color.String(), "\x1b[33m~ status") {
		t.Errorf("colour: plain has escapes, or colour has none")
	}
	if err := res.JSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Differences) != len(res.Differences) || back.Same {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
}
