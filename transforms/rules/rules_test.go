package rules

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
)

type collect struct{ got agent.Batch }

func (c *collect) Emit(_ context.Context, b agent.Batch) error {
	for i := range b {
		b[i].MaterializeFields() // the tests read the fields map
	}
	c.got = append(c.got, b...)
	agent.AckAll(b, agent.Delivered)
	return nil
}

func decodeRules(t testing.TB, src string) (*Config, hcl.Diagnostics) {
	t.Helper()
	f, d := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
	if d.HasErrors() {
		t.Fatal(d)
	}
	c := &Config{}
	return c, c.DecodeHCL(f.Body, nil, &decode.Env{})
}

func build(t *testing.T, src string) (*transform, *collect, *collect) {
	t.Helper()
	c, d := decodeRules(t, src)
	if d.HasErrors() {
		t.Fatal(d)
	}
	out, dl := &collect{}, &collect{}
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: "transform.t", Metrics: m.For("transform.t"), Out: out, DeadLetter: dl}
	tr, err := NewFactory().Create(set, c)
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*transform), out, dl
}

func raw(lines ...string) agent.Batch {
	acks := agent.NewAcks()
	tok := acks.NewToken(len(lines), nil)
	b := make(agent.Batch, len(lines))
	for i, l := range lines {
		b[i] = agent.Record{Raw: []byte(l), Origin: agent.Origin{Component: "source.stdin.in", Offset: int64(i)}}
		b[i].SetToken(tok)
	}
	return b
}

func TestRegexPatternsTriedInOrderAndDeadLetters(t *testing.T) {
	tr, out, dl := build(t, `
kind = "http_request"
parse "regex" {
  patterns = ["^(?P<status>\\d{3}) (?P<path>\\S+)$", "^(?P<path>\\S+) only$"]
}`)
	if err := tr.Process(context.Background(), raw("200 /a", "/b only", "garbage")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 2 || len(dl.got) != 1 {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	if f := out.got[0].MaterializeFields(); f["status"] != "200" || f["path"] != "/a" || out.got[0].Kind != "http_request" {
		t.Fatalf("first record %v %q", f, out.got[0].Kind)
	}
	if _, has := out.got[1].MaterializeFields()["status"]; has || out.got[1].MaterializeFields()["path"] != "/b" {
		t.Fatalf("second record %v", out.got[1].MaterializeFields())
	}
	if _, has := out.got[0].MaterializeFields()["message"]; has {
		t.Fatal("a parsed record repeats the raw line as fields.message")
	}
	if out.got[0].Origin.Rule != "transform.t" {
		t.Fatalf("rule %q", out.got[0].Origin.Rule)
	}
	d := dl.got[0]
	if d.Kind != agent.KindDeadLetter || d.MaterializeFields()["raw"] != "garbage" || d.MaterializeFields()["reason"] != "no_match" || d.MaterializeFields()["step"] != "parse.regex" {
		t.Fatalf("dead letter %v", d.MaterializeFields())
	}
	errs := d.MaterializeFields()["errors"].([]any)
	if e := errs[0].(map[string]any); e["field"] != "message" || e["error"] != "no pattern matched (2 tried)" {
		t.Fatalf("errors %v", errs)
	}
}

func TestJSONParseTypesNumbers(t *testing.T) {
	tr, out, dl := build(t, `parse "json" {}`)
	tr.Process(context.Background(), raw(`{"status":404,"ratio":0.5,"tags":["a"],"n":{"x":1}}`, `{"broken":`))
	if len(out.got) != 1 || len(dl.got) != 1 {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	f := out.got[0].MaterializeFields()
	if f["status"] != int64(404) || f["ratio"] != 0.5 || f["n"].(map[string]any)["x"] != int64(1) {
		t.Fatalf("fields %#v", f)
	}
	if dl.got[0].MaterializeFields()["reason"] != "bad_json" {
		t.Fatalf("dead letter %v", dl.got[0].MaterializeFields())
	}
}

func TestBadRegexIsADiagnosticAtTheAttribute(t *testing.T) {
	_, d := decodeRules(t, "parse \"regex\" {\n  pattern = \"(?P<x>[a-\"\n}\n")
	if !d.HasErrors() || d[0].Subject == nil || d[0].Subject.Start.Line != 2 || d[0].Subject.Start.Column != 13 {
		t.Fatalf("diagnostics %v", d)
	}
}

func BenchmarkRegexStep(b *testing.B) {
	c := &Config{}
	f, _ := hclsyntax.ParseConfig([]byte(`parse "regex" {
  pattern = "^(?P<client_ip>\\S+) \\S+ (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\"$"
}`), "b.hcl", hcl.InitialPos)
	if d := c.DecodeHCL(f.Body, nil, &decode.Env{}); d.HasErrors() {
		b.Fatal(d)
	}
	line := []byte(`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 512 "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"`)
	step := c.Steps[0]
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := agent.Record{Raw: line}
		if err := step.Apply(context.Background(), &r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestJQMakesSeveralRecordsThatShareTheToken(t *testing.T) {
	tr, out, dl := build(t, `
parse "json" {}
jq = ".items[] | {name: .}"
set {
  upper = "upper(name)"
}
where = "name != 'skip'"
`)
	acks := agent.NewAcks()
	done := 0
	tok := acks.NewToken(1, func(bool) { done++ })
	b := agent.Batch{{Raw: []byte(`{"items":["a","skip","b"]}`), Origin: agent.Origin{Component: "source.x", Offset: 7}}}
	b[0].SetToken(tok)
	if err := tr.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 2 || len(dl.got) != 0 {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	if out.got[1].MaterializeFields()["upper"] != "B" || out.got[1].Origin.Index != 2 || out.got[1].Origin.Rule != "transform.t" {
		t.Fatalf("second record %v %+v", out.got[1].MaterializeFields(), out.got[1].Origin)
	}
	if out.got[0].EnsureID() == out.got[1].EnsureID() {
		t.Fatal("records made from one input share an id")
	}
	if done != 1 || acks.InFlight() != 0 {
		t.Fatalf("token done %d times, in flight %d", done, acks.InFlight())
	}
}

// TestOutputOrderAcrossFanOutsDropsAndDeadLetters checks the in-place
// compaction of a batch: records come out in input order whatever mix of
// one-to-one, dropped, dead-lettered and fanned-out inputs the batch holds.
func TestOutputOrderAcrossFanOutsDropsAndDeadLetters(t *testing.T) {
	tr, out, dl := build(t, `
parse "json" {}
jq = ".items[] | {name: .}"
where = "name != 'skip'"
`)
	lines := []string{`{"items":["a"]}`, `not json`, `{"items":["skip"]}`, `{"items":["b","c","d"]}`, `{"items":["e"]}`, `{"items":[]}`, `{"items":["f","g"]}`, `{"items":["h"]}`}
	if err := tr.Process(context.Background(), raw(lines...)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range out.got {
		names = append(names, r.MaterializeFields()["name"].(string))
	}
	if got := strings.Join(names, ""); got != "abcdefgh" || len(dl.got) != 1 {
		t.Fatalf("got %q and %d dead letters, want abcdefgh and 1", got, len(dl.got))
	}
}

func TestWhereDropsAreAcknowledged(t *testing.T) {
	tr, out, _ := build(t, `
parse "regex" { pattern = "^(?P<n>\\d+)$" }
where = "int(n) > 5"
`)
	acks := agent.NewAcks()
	var results []bool
	tok := acks.NewToken(2, func(failed bool) { results = append(results, failed) })
	b := agent.Batch{{Raw: []byte("3")}, {Raw: []byte("9")}}
	b[0].SetToken(tok)
	b[1].SetToken(tok)
	tr.Process(context.Background(), b)
	if len(out.got) != 1 || len(results) != 1 || results[0] {
		t.Fatalf("out %d, token results %v", len(out.got), results)
	}
}

// TestJQTimeoutPerRecord checks the one-timer deadline: a query that loops
// on some records is stopped after its timeout and dead-lettered, and the
// records around it, typed fields included, still run.
func TestJQTimeoutPerRecord(t *testing.T) {
	tr, out, dl := build(t, `
parse "regex" { pattern = "^(?P<n>\\d+)$" }
jq {
  query   = "if .n == \"0\" then last(repeat(1)) else {n, twice: (.n + .n)} end"
  timeout = "50ms"
}
`)
	start := time.Now()
	if err := tr.Process(context.Background(), raw("1", "0", "2", "0", "3")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.got {
		got = append(got, r.MaterializeFields()["twice"].(string))
	}
	if strings.Join(got, ",") != "11,22,33" || len(dl.got) != 2 {
		t.Fatalf("records %v, dead letters %d", got, len(dl.got))
	}
	for _, d := range dl.got {
		if d.MaterializeFields()["reason"] != "timeout" {
			t.Fatalf("dead letter reason %v", d.MaterializeFields()["reason"])
		}
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("two 50ms timeouts took %v", el)
	}
}
