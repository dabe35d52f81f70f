package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in e2e/testdata")

// golden compares got with e2e/testdata/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join(moduleRoot(t), "e2e", "testdata", name)
	if *updateGolden {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test ./e2e -run %s -update writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from e2e/testdata/%s (-update rewrites it if the change is intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// Two CI runs of one workflow, the second with a slower step, a failed
// step and a changed parameter, arrive on the Kafka broker. The shipped
// kafka-ci-events pack (its rules, schemas and assemble.hcl) turns each
// into one workflow_run_summary; the agent is killed (SIGKILL) in the
// middle of the second run and started again, and the second summary
// still has every step, once. The summaries and `octoagent diff` between
// them (text and JSON) match golden files.
func TestKafkaWorkflowRunSummaries(t *testing.T) {
	root := moduleRoot(t)
	b := kafkatest.Start(t, 0, 1, []string{"ci-events"})
	msgs := func(lines ...string) []kafkatest.Msg {
		var out []kafkatest.Msg
		for _, l := range lines {
			out = append(out, kafkatest.Msg{Value: l})
		}
		return out
	}
	run100 := msgs(
		`{"type":"workflow_run","run_id":100,"pipeline":"build-api","status":"running","commit":"3f9c2ab","inputs":{"branch":"main","target":"linux/amd64"},"started_at":"2026-11-21T05:00:00Z","triggered_by":"push:alice"}`,
		`{"type":"workflow_step","run_id":100,"pipeline":"build-api","step":"checkout","status":"success","started_at":"2026-11-21T05:00:01Z","finished_at":"2026-11-21T05:00:04Z","exit_code":0}`,
		`{"type":"workflow_step","run_id":100,"pipeline":"build-api","step":"test","status":"running","inputs":{"shards":4},"started_at":"2026-11-21T05:00:04Z"}`,
		`{"type":"workflow_step","run_id":100,"pipeline":"build-api","step":"test","status":"success","inputs":{"shards":4},"started_at":"2026-11-21T05:00:04Z","finished_at":"2026-11-21T05:03:10Z","exit_code":0}`,
		`{"type":"workflow_step","run_id":100,"pipeline":"build-api","step":"image","status":"success","started_at":"2026-11-21T05:03:10Z","finished_at":"2026-11-21T05:04:55Z","exit_code":0,"outputs":{"digest":"sha256:4f2a"}}`,
		`{"type":"workflow_run","run_id":100,"pipeline":"build-api","status":"success","commit":"3f9c2ab","inputs":{"branch":"main","target":"linux/amd64"},"outputs":{"images":["registry.example.com/api:3f9c2ab"]},"started_at":"2026-11-21T05:00:00Z","finished_at":"2026-11-21T05:04:56Z","duration_s":296,"triggered_by":"push:alice"}`,
	)
	run101a := msgs(
		`{"type":"workflow_run","run_id":101,"pipeline":"build-api","status":"running","commit":"8d1e4f0","inputs":{"branch":"main","target":"linux/arm64"},"started_at":"2026-11-21T06:00:00Z","triggered_by":"push:bob"}`,
		`{"type":"workflow_step","run_id":101,"pipeline":"build-api","step":"checkout","status":"success","started_at":"2026-11-21T06:00:01Z","finished_at":"2026-11-21T06:00:04Z","exit_code":0}`,
		`{"type":"workflow_step","run_id":101,"pipeline":"build-api","step":"test","status":"running","inputs":{"shards":4},"started_at":"2026-11-21T06:00:04Z"}`,
	)
	run101b := msgs(
		`{"type":"workflow_step","run_id":101,"pipeline":"build-api","step":"test","status":"success","inputs":{"shards":4},"started_at":"2026-11-21T06:00:04Z","finished_at":"2026-11-21T06:04:09Z","exit_code":0}`,
		`{"type":"workflow_step","run_id":101,"pipeline":"build-api","step":"image","status":"failure","started_at":"2026-11-21T06:04:09Z","finished_at":"2026-11-21T06:05:47Z","exit_code":1}`,
		`{"type":"workflow_run","run_id":101,"pipeline":"build-api","status":"failure","commit":"8d1e4f0","inputs":{"branch":"main","target":"linux/arm64"},"started_at":"2026-11-21T06:00:00Z","finished_at":"2026-11-21T06:05:48Z","duration_s":348,"triggered_by":"push:bob"}`,
	)
	kafkatest.Produce(t, b.Addr, "ci-events", append(run100, run101a...))

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	summaries, steps, dead := filepath.Join(dir, "summaries.jsonl"), filepath.Join(dir, "steps.jsonl"), filepath.Join(dir, "dead.jsonl")
	cfg := filepath.Join(dir, "agent.hcl")
	// The pack's source, with the short group timings of the Kafka
	// tests, so that the group rebalances in seconds after the SIGKILL.
	writeFile(t, cfg, `
agent {
  data_dir            = `+hclString(data)+`
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "200ms"
  shutdown_timeout    = "20s"
}

`+kafkaSourceHCL("ci", b.Addr, "ci-summaries", "ci-events")+`
sink "file" "summaries" {
  inputs = [transform.workflow_run_summary]
  path   = `+hclString(summaries)+`
}

sink "file" "steps" {
  inputs = [transform.workflow_step]
  path   = `+hclString(steps)+`
}

sink "file" "dead" {
  inputs = [transform.ci_events.dead_letter, transform.workflow_run.dead_letter, transform.workflow_step.dead_letter, transform.workflow_run_summary.dead_letter]
  path   = `+hclString(dead)+`
}
`)
	pack := filepath.Join(root, "configs/kafka-ci-events")
	start := func() *agentProc {
		p := startAgent(t, "", "run", "-c", cfg, "-c", filepath.Join(pack, "rules.hcl"), "-c", filepath.Join(pack, "schemas.hcl"), "-c", filepath.Join(pack, "assemble.hcl"))
		p.WaitHTTPAddr(t)
		return p
	}
	p := start()

	// Run 100 is summarized (5 s after its end), and its summary is taken
	// by the sink and forgotten by the saved state; the agent has read the
	// first half of run 101 (its test step is running).
	waitFor(t, kafkaDeadline, "the summary of run 100", func() bool { return countLines(t, summaries) >= 1 })
	state := filepath.Join(data, "state", "transform.workflow_run_summary.json")
	waitFor(t, kafkaDeadline, "the saved state to hold run 100 as done, with nothing pending", func() bool {
		var s struct {
			State struct {
				Done    []struct{ Key string } `json:"done"`
				Pending []json.RawMessage      `json:"pending"`
			} `json:"state"`
		}
		raw, err := os.ReadFile(state)
		return err == nil && json.Unmarshal(raw, &s) == nil && len(s.State.Pending) == 0 && len(s.State.Done) == 1
	})
	waitFor(t, kafkaDeadline, "the running test step of run 101", func() bool {
		return strings.Contains(readFileString(t, steps), `"run_id":"101","started_at":"2026-11-21T06:00:04Z","status":"running","step":"test"`)
	})
	// kill -9 in the middle of run 101, wherever the agent stands: the
	// state may or may not hold the step yet; either way the Kafka offset
	// was not committed past what the state lacks.
	if err := p.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.WaitExit(t, exitDeadline)

	p = start()
	kafkatest.Produce(t, b.Addr, "ci-events", run101b)
	waitFor(t, kafkaDeadline, "the summary of run 101", func() bool { return countLines(t, summaries) >= 2 })
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("agent exited %d", code)
	}

	recs := readJSONLines(t, summaries)
	got := readFileString(t, summaries)
	if len(recs) != 2 || recs[0].Fields["run_id"] != "100" || recs[1].Fields["run_id"] != "101" {
		t.Fatalf("summaries (want one per run, in order):\n%s", got)
	}
	if st, _ := recs[1].Fields["steps"].([]any); len(st) != 3 {
		t.Errorf("run 101 has %d steps, want 3 (checkout, test, image)", len(st))
	}
	if n := countLines(t, dead); n != 0 {
		t.Errorf("%d dead letters:\n%s", n, readFileString(t, dead))
	}
	golden(t, "workflow_run_summaries.jsonl", []byte(got))

	// octoagent diff between the two, schema-aware (the pack's schema
	// leaves run_id, started_at and finished_at out): text and JSON.
	code, out, errb := runAgent(t, "", "diff", "-c", "configs/schemas", "-c", "configs/kafka-ci-events", "--in", summaries, recs[0].ID, recs[1].ID)
	if code != 1 {
		t.Fatalf("diff exited %d, want 1 (different):\n%s\n%s", code, out, errb)
	}
	golden(t, "workflow_run_diff.txt", out)
	code, js, errb := runAgent(t, "", "diff", "--json", "-c", "configs/schemas", "-c", "configs/kafka-ci-events", "--in", summaries, recs[0].ID[:8], recs[1].ID[:8])
	if code != 1 {
		t.Fatalf("diff --json exited %d:\n%s", code, errb)
	}
	golden(t, "workflow_run_diff.json", js)
	testfig.Report(t, "2 CI runs over Kafka, SIGKILL mid-run: %d summaries (run 101: 3 steps), %d dead letters; octoagent diff: %d lines", len(recs), countLines(t, dead), len(splitLines(out)))
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}
