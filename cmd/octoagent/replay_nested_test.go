package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

// TestReplayDeadLetterWithNestedFields: the dead letter of a record whose
// ECS captures were held typed under their paths (a schema rejected it)
// carries them as objects, replays, and the fixed rule's record has the
// nested fields and the id the first read would have given it.
func TestReplayDeadLetterWithNestedFields(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.hcl")
	src := `agent {
  data_dir = "` + filepath.Join(dir, "data") + `"
}
source "stdin" "in" {}
transform "web" {
  inputs = [source.stdin.in]
  parse "grok" { pattern = "%%{HTTPD_COMBINEDLOG}" }
}
sink "file" "records" {
  inputs = [transform.web]
  path   = "` + filepath.Join(dir, "records.jsonl") + `"
}
`
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	line := `10.0.0.7 - - [21/Nov/2026:05:00:00 +0000] "GET /a HTTP/1.1" 503 12 "-" "curl/8.5.0"`
	in := agent.Record{Raw: []byte(line), Origin: agent.Origin{Host: "h", Component: "source.stdin.in", Stream: "stdin:1", Offset: 7}}
	in.StartTyped(4)
	in.AppendPathInOrder(agent.PathKey("http", "request", "method"), agent.StringValue("GET"))
	in.AppendPathInOrder(agent.PathKey("http", "response", "status_code"), agent.IntValue(503))
	in.AppendPathInOrder(agent.PathKey("source", "address"), agent.StringValue("10.0.0.7"))
	dl := agent.NewDeadLetter(&in, agent.DeadLetter{Component: "transform.web", Step: "schema", Reason: "schema",
		Errors: []agent.FieldError{{Field: "[http][response][status_code]", Error: "value 503 is above the maximum 499"}}})
	dead := string(agent.AppendJSON(nil, &dl))
	if !strings.Contains(dead, `"fields":{"http":{"request":{"method":"GET"},"response":{"status_code":503}},"source":{"address":"10.0.0.7"}}`) {
		t.Fatalf("dead letter %s", dead)
	}
	code, out, errs := replayRun(t, dead+"\n", "-c", cfg, "-")
	if code != 0 || !strings.Contains(out, "replayed 1: 1 records, 0 still dead letters, 0 errors") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	recs, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	if err != nil || !strings.Contains(string(recs), `"http":{"request":{"method":"GET"},"response":{"body":{"bytes":12},"status_code":503},"version":"1.1"}`) {
		t.Fatalf("records: %s %v", recs, err)
	}
	var w agent.WireRecord
	if err := json.Unmarshal(bytes.TrimSpace(recs), &w); err != nil {
		t.Fatal(err)
	}
	want := agent.Origin{Host: "h", Component: "source.stdin.in", Stream: "stdin:1", Offset: 7, Rule: "transform.web"}
	if w.ID != want.ComputeID() {
		t.Errorf("id %s, want %s (origin %+v)", w.ID, want.ComputeID(), w.Origin)
	}
}
