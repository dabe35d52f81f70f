package rules

import (
	"testing"

	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

// TestSplitChainTakesUsualLines: the nginx split variant's two steps are
// chained, and the chain itself (not the two steps it falls back to)
// parses a usual line, user and referer "-" (null values the schema
// skips) included, into the fields the two steps give.
func TestSplitChainTakesUsualLines(t *testing.T) {
	paths := []string{"../../configs/schemas", "../../configs/nginx/source.hcl", "../../configs/nginx/variants/split.hcl"}
	res, diags := config.Load(paths, agent.NewRegistry(NewFactory(), filesource.NewFactory()))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var c *Config
	for _, comp := range res.Components {
		if comp.ID == "transform.nginx_access" {
			c = comp.Config.(*Config)
		}
	}
	first, ok := c.Steps[0].(*splitStep)
	if !ok || first.chain == nil || first.chain.next != c.Steps[1] {
		t.Fatalf("the first split step is not chained to the second: %#v", c.Steps[0])
	}
	r := agent.Record{Raw: []byte(`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /api HTTP/1.1" 200 512 "-" "curl/8.5.0"`)}
	if !first.chain.apply(first, &r) {
		t.Fatal("the chain left a usual line to the steps one by one")
	}
	var keys []string
	for _, f := range r.TypedFields() {
		keys = append(keys, f.Key)
	}
	want := []string{"bytes", "client_ip", "method", "path", "protocol", "status", "time", "user_agent"} // user and referer "-": null values
	if len(keys) != len(want) {
		t.Fatalf("fields %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("fields %v, want %v", keys, want)
		}
	}
}

// TestAsIsKept: kept compares a one-byte null value byte to byte, and a
// longer or empty one as a string; each way, a value is skipped exactly
// when it is the null value.
func TestAsIsKept(t *testing.T) {
	for _, null := range []string{"-", "n/a", ""} {
		c := asIsCapture{ok: true, hasNull: true, null: null}
		for _, s := range []string{"-", "--", "n/a", "n/b", "", "x"} {
			if got, want := c.kept(s), s != null; got != want {
				t.Errorf("null %q: kept(%q) = %v, want %v", null, s, got, want)
			}
		}
	}
	if c := (asIsCapture{ok: true}); !c.kept("-") {
		t.Error("no null value: kept(\"-\") = false")
	}
}
