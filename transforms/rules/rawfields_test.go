package rules

import (
	"context"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
)

// kafkaLike is a source's metadata held next to a raw line, as the Kafka
// source holds it (agent.RawFields).
type kafkaLike struct{}

func (kafkaLike) AddRawFields(m map[string]any) {
	m["kafka"] = map[string]any{"topic": "events", "offset": int64(42)}
}

func rawFieldsSteps(t *testing.T, body string) []Step {
	t.Helper()
	file, d := hclsyntax.ParseConfig([]byte(body), "t.hcl", hcl.InitialPos)
	if d.HasErrors() {
		t.Fatal(d)
	}
	c := &Config{}
	if d := c.DecodeHCL(file.Body, nil, &decode.Env{}); d.HasErrors() {
		t.Fatal(d)
	}
	return c.Steps
}

// A parse step takes a raw line with a source's raw fields on the typed
// fast path (the fields start afresh, without the metadata); a jq step
// before any parse sees the metadata as fields.
func TestRawFieldsParseAndJQ(t *testing.T) {
	line := []byte("WARN disk full")
	r := agent.Record{Raw: line}
	r.SetRawFields(kafkaLike{})
	s := rawFieldsSteps(t, `parse "regex" { pattern = "^(?P<level>[A-Z]+) (?P<msg>.*)$" }`)[0]
	if err := s.Apply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Typed() || string(r.AppendFieldsJSON(nil)) != `{"level":"WARN","msg":"disk full"}` {
		t.Errorf("parsed: typed %v, fields %s", r.Typed(), r.AppendFieldsJSON(nil))
	}

	r = agent.Record{Raw: line}
	r.SetRawFields(kafkaLike{})
	s = rawFieldsSteps(t, `jq = "{topic: .kafka.topic, offset: .kafka.offset, line: .message}"`)[0]
	if err := s.Apply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if got := string(r.AppendFieldsJSON(nil)); got != `{"line":"WARN disk full","offset":42,"topic":"events"}` {
		t.Errorf("jq output %s", got)
	}
}
