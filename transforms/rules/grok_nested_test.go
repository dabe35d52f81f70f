package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
)

const combinedLine = `10.0.0.7 - frank [21/Nov/2026:05:00:00 +0000] "GET /a?b=c HTTP/1.1" 200 2326 "https://example.com/" "curl/8.5.0"`

// buildWithSchema is build with a schema the transform names as
// schema.NAME.
func buildWithSchema(t *testing.T, src string, s *schema.Schema) (*transform, *collect, *collect) {
	t.Helper()
	f, d := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
	if d.HasErrors() {
		t.Fatal(d)
	}
	c := &Config{}
	if d := c.DecodeHCL(f.Body, nil, &decode.Env{Schemas: map[string]*schema.Schema{s.Name: s}}); d.HasErrors() {
		t.Fatal(d)
	}
	out, dl := &collect{}, &collect{}
	m := agent.NewMetrics(nil)
	tr, err := NewFactory().Create(agent.Settings{ID: "transform.t", Metrics: m.For("transform.t"), Out: out, DeadLetter: dl}, c)
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*transform), out, dl
}

// ECS captures are stored as typed fields keyed by their paths, no map
// per record, and encode as the nested objects the map made.
func TestGrokECSCapturesStayTyped(t *testing.T) {
	c, d := decodeRules(t, `parse "grok" { pattern = "%%{HTTPD_COMBINEDLOG}" }`)
	if d.HasErrors() {
		t.Fatal(d)
	}
	r := agent.Record{Raw: []byte(combinedLine)}
	if err := c.Steps[0].Apply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if !r.HoldsTyped() || r.Typed() {
		t.Fatalf("ECS captures left the typed fields (holds typed %v)", r.HoldsTyped())
	}
	want := `{"http":{"request":{"method":"GET","referrer":"https://example.com/"},"response":{"body":{"bytes":2326},"status_code":200},"version":"1.1"},"source":{"address":"10.0.0.7"},"timestamp":"21/Nov/2026:05:00:00 +0000","url":{"original":"/a?b=c"},"user":{"name":"frank"},"user_agent":{"original":"curl/8.5.0"}}`
	if got := string(r.AppendFieldsJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A :int capture that is not a number dead-letters with the fields
	// set before it, in the pattern's order, as before.
	tr, out, dl := build(t, `parse "grok" { pattern = "%%{WORD:[a][w]} %%{NOTSPACE:[a][n]:int} %%{WORD:z}" }`)
	if err := tr.Process(context.Background(), raw("x 12 y", "x abc y")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || len(dl.got) != 1 {
		t.Fatalf("%d records, %d dead letters", len(out.got), len(dl.got))
	}
	if v, _ := lookupPath(out.got[0].MaterializeFields(), "a.n"); v != int64(12) {
		t.Fatalf("a.n = %#v", v)
	}
	f := dl.got[0].MaterializeFields()
	if f["reason"] != "no_match" || !strings.Contains(string(agent.AppendValue(nil, f)), `"fields":{"a":{"w":"x"}}`) {
		t.Fatalf("dead letter %v", f)
	}
}

// A schema declares a nested field by its path, [a][b]: the capture is
// typed and checked straight from the line's bytes, and a missing
// required one or a bad value is reported under that name.
func TestGrokSchemaDeclaresFieldByPath(t *testing.T) {
	maxStatus := 499.0
	s, err := schema.New(&schema.Schema{Name: "ecs", Fields: []*schema.Field{
		{Name: "[http][response][status_code]", Type: schema.Int, Max: &maxStatus},
		{Name: "[http][response][body][bytes]", Type: schema.Int},
		{Name: "[http][version]", Type: schema.Float},
		{Name: "[source][address]", Type: schema.IP, Required: true},
		{Name: "[event][dataset]", Type: schema.String, Default: "nginx.access"},
		{Name: "timestamp", Type: schema.Time, Layout: "02/Jan/2006:15:04:05 -0700"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tr, out, dl := buildWithSchema(t, `schema = schema.ecs
parse "grok" { pattern = "%%{HTTPD_COMBINEDLOG}" }`, s)
	bad := strings.Replace(combinedLine, `" 200 `, `" 503 `, 1)
	noAddr := strings.Replace(combinedLine, "10.0.0.7", "web-1.example.com", 1)
	if err := tr.Process(context.Background(), raw(combinedLine, bad, noAddr)); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || len(dl.got) != 2 {
		t.Fatalf("%d records, %d dead letters %v", len(out.got), len(dl.got), dl.got)
	}
	got := string(agent.AppendValue(nil, out.got[0].MaterializeFields()))
	for _, want := range []string{`"version":1.1`, `"status_code":200`, `"event":{"dataset":"nginx.access"}`, `"timestamp":"2026-11-21T05:00:00Z"`, `"source":{"address":"10.0.0.7"}`} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s in %s", want, got)
		}
	}
	for i, want := range []string{`"field":"[http][response][status_code]"`, `"field":"[source][address]"`} {
		dead := string(agent.AppendValue(nil, dl.got[i].MaterializeFields()))
		if !strings.Contains(dead, want) || !strings.Contains(dead, `"reason":"schema"`) {
			t.Errorf("dead letter %d: no %s in %s", i, want, dead)
		}
	}

	// unknown_fields = "reject" knows the top-level keys of declared paths.
	s2, err := schema.New(&schema.Schema{Name: "ecs", UnknownFields: schema.UnknownReject, Fields: []*schema.Field{
		{Name: "[source][address]", Type: schema.String},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tr, out, dl = buildWithSchema(t, `schema = schema.ecs
parse "grok" { pattern = "%%{IP:[source][address]} %%{WORD:other}" }`, s2)
	if err := tr.Process(context.Background(), raw("10.0.0.1 x")); err != nil {
		t.Fatal(err)
	}
	if len(dl.got) != 1 || !strings.Contains(string(agent.AppendValue(nil, dl.got[0].MaterializeFields())), `{"error":"not declared in schema ecs","field":"other"}`) {
		t.Fatalf("reject: %d records, dead letters %v", len(out.got), dl.got)
	}
}

// jq and expr read nested ECS fields of typed records as they read the
// objects of a fields map.
func TestGrokECSFieldsReadByJQAndExpr(t *testing.T) {
	tr, out, dl := build(t, `parse "grok" { pattern = "%%{HTTPD_COMBINEDLOG}" }
where = "http.response.status_code < 400 && source.address == '10.0.0.7'"
set {
  method = "http.request.method"
}
jq = "{m: .method, ua: .user_agent.original, code: .http.response.status_code, keys: (.http | keys)}"`)
	notFound := strings.Replace(combinedLine, `" 200 `, `" 404 `, 1)
	if err := tr.Process(context.Background(), raw(combinedLine, notFound)); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || len(dl.got) != 0 {
		t.Fatalf("%d records, %d dead letters %v", len(out.got), len(dl.got), dl.got)
	}
	got := string(agent.AppendValue(nil, out.got[0].MaterializeFields()))
	if want := `{"code":200,"keys":["request","response","version"],"m":"GET","ua":"curl/8.5.0"}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
