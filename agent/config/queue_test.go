package config_test

import (
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

// The queues are bounded in bytes as well as records: agent.queue_bytes for
// all of them, a memory buffer's max_bytes for one.
func TestQueueBytes(t *testing.T) {
	res, diags := loadString("q.hcl", `
agent {
  queue_bytes = "2MiB"
}
source "stdin" "in" {}
sink "stdout" "a" {
  inputs = [source.stdin.in]
  buffer {
    max_records = 100
    max_bytes   = "256KiB"
  }
}
sink "file" "b" {
  inputs = [source.stdin.in]
  path   = "/tmp/out.jsonl"
}
`)
	wantCounts(t, res, diags, 0, 0)
	if got := res.Graph.Agent.QueueBytes; got != 2<<20 {
		t.Errorf("agent.QueueBytes = %d, want 2 MiB", got)
	}
	for _, n := range res.Graph.Nodes {
		want := map[string]int{"sink.stdout.a": 256 << 10, "sink.file.b": 0, "source.stdin.in": 0}[n.ID]
		if n.QueueBytes != want {
			t.Errorf("%s: QueueBytes = %d, want %d", n.ID, n.QueueBytes, want)
		}
	}

	res, diags = loadString("q.hcl", "agent {\n  queue_bytes = \"off\"\n}\n")
	wantCounts(t, res, diags, 0, 0)
	if got := res.Graph.Agent.QueueBytes; got != -1 {
		t.Errorf(`queue_bytes = "off": QueueBytes = %d, want -1 (records only)`, got)
	}
	if got := agent.DefaultAgentSettings().QueueBytes; got != agent.DefaultQueueBytes {
		t.Errorf("default QueueBytes = %d", got)
	}

	for _, bad := range []string{`"lots"`, `"1KiB"`} {
		res, diags = loadString("q.hcl", "agent {\n  queue_bytes = "+bad+"\n}\n")
		wantCounts(t, res, diags, 1, 0)
		if len(diags) > 0 {
			d := diags[0]
			if d.Summary != "Invalid queue_bytes" || d.Subject == nil || d.Subject.Start.Line != 2 || !strings.Contains(d.Detail, "the default is "+agent.FormatBytes(agent.DefaultQueueBytes)) {
				t.Errorf("queue_bytes = %s: got %s %q at %v", bad, d.Summary, d.Detail, d.Subject)
			}
		}
	}
}
