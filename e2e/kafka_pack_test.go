package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

// The kafka-ci-events rule pack passes its own tests.
func TestKafkaCIEventsPackTests(t *testing.T) {
	code, out, errb := runAgent(t, "", "test", "-c", "configs/schemas", "-c", "configs/kafka-ci-events")
	if code != 0 || !strings.Contains(string(out), " passed, 0 failed") {
		t.Fatalf("octoagent test exited %d:\n%s\n%s", code, out, errb)
	}
	testfig.Report(t, "%s", strings.TrimSpace(splitLines(out)[len(splitLines(out))-1]))
}

// Kafka in, rules, Kafka out: the pack's sample topic payload is read by
// `source "kafka" "ci"` (brokers from KAFKA_BROKERS) in a run --once,
// typed by the pack's rules, and published by `sink "kafka"` keyed by
// entity; malformed events end as dead letters; the group's offsets are
// committed to the end.
func TestKafkaCIEventsEndToEnd(t *testing.T) {
	root := moduleRoot(t)
	sample, err := os.ReadFile(filepath.Join(root, "configs/kafka-ci-events/sample-ci-events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(sample)
	b := kafkatest.Start(t, 0, 1, []string{"ci-events"}, kfake.SeedTopics(3, "metadata-changes"))
	var msgs []kafkatest.Msg
	for _, l := range lines {
		msgs = append(msgs, kafkatest.Msg{Value: l})
	}
	kafkatest.Produce(t, b.Addr, "ci-events", msgs)

	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.jsonl")
	extra := filepath.Join(dir, "sinks.hcl")
	writeFile(t, extra, `
agent {
  data_dir = `+hclString(filepath.Join(dir, "data"))+`
}

sink "kafka" "changes" {
  inputs  = [transform.workflow_run, transform.workflow_step]
  brokers = [env("KAFKA_BROKERS")]
  topic   = "metadata-changes"
}

sink "file" "dead" {
  inputs = [transform.ci_events.dead_letter, transform.workflow_run.dead_letter, transform.workflow_step.dead_letter, sink.kafka.changes.dead_letter]
  path   = `+hclString(dead)+`
}
`)
	t.Setenv("KAFKA_BROKERS", b.Addr)
	t.Setenv("KAFKA_GROUP_ID", "ci-e2e")
	code, _, errb := runAgent(t, "", "run", "--once", "-c", "configs/schemas", "-c", "configs/kafka-ci-events", "-c", extra, "--http-addr", "off")
	if code != 0 {
		t.Fatalf("run --once exited %d:\n%s", code, tail(string(errb), 6000))
	}

	got := kafkatest.ReadAll(t, b.Addr, "metadata-changes", 3)
	kinds := map[string]int{}
	partOf := map[string]int{}
	for _, m := range got {
		var w struct {
			Kind   string `json:"kind"`
			Entity []struct{ Key, Value string }
		}
		if err := json.Unmarshal(m.Value, &w); err != nil {
			t.Fatalf("not a wire record: %s", m.Value)
		}
		kinds[w.Kind]++
		var parts []string
		for _, kv := range w.Entity {
			parts = append(parts, kv.Key+"="+kv.Value)
		}
		if want := strings.Join(parts, ","); m.Key != want {
			t.Errorf("key %q, want the entity %q", m.Key, want)
		}
		if p, ok := partOf[m.Key]; ok && p != m.Partition {
			t.Errorf("key %s on partitions %d and %d", m.Key, p, m.Partition)
		}
		partOf[m.Key] = m.Partition
	}
	deadRecs := readJSONLines(t, dead)
	reasons := map[string]int{}
	for _, d := range deadRecs {
		reasons[d.Fields["reason"].(string)]++
	}
	if kinds["workflow_run"] != 4 || kinds["workflow_step"] != 5 || len(got) != 9 {
		t.Errorf("published %v (%d messages), want 4 workflow_run and 5 workflow_step", kinds, len(got))
	}
	if reasons["bad_json"] != 1 || reasons["schema"] != 1 || len(deadRecs) != 2 {
		t.Errorf("dead letters by reason %v, want 1 bad_json and 1 schema", reasons)
	}
	c := kafkatest.Committed(t, b.Addr, "ci-e2e", "ci-events", 1)
	if c[0] != int64(len(lines)) {
		t.Errorf("committed %d, want %d", c[0], len(lines))
	}
	testfig.Report(t, "%d sample events: published %d workflow_run + %d workflow_step keyed by entity, %d dead letters, 1 dropped, committed %d",
		len(lines), kinds["workflow_run"], kinds["workflow_step"], len(deadRecs), c[0])
}
