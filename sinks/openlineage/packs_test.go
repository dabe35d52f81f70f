package openlineage

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/adapters/kafkasource"
	"github.com/octostore/agent/adapters/kubernetesevents"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/transforms/assemble"
	"github.com/octostore/agent/transforms/correlate"
	"github.com/octostore/agent/transforms/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// packRun loads a rule pack with its openlineage folder, feeds each line
// to the pack's transforms (as the rule tests do: the line as a raw record)
// and maps what comes out with the pack's sink. It returns, per line, what
// became of it: the events, indented, or the dead letters and drops.
func packRun(t *testing.T, pack string, transforms []string, lines []string) string {
	t.Helper()
	t.Setenv("OPENLINEAGE_URL", "http://127.0.0.1:9") // never reached: the events are not sent
	t.Setenv("KAFKA_BROKERS", "127.0.0.1:9")
	root := filepath.Join("..", "..", "configs")
	paths := []string{filepath.Join(root, "schemas"), filepath.Join(root, pack), filepath.Join(root, pack, "openlineage")}
	res, diags := config.Load(paths, agent.NewRegistry(kafkasource.NewFactory(), kubernetesevents.NewFactory(), rules.NewFactory(), correlate.NewFactory(), assemble.NewFactory(), NewFactory()))
	if diags.HasErrors() {
		var buf bytes.Buffer
		config.WriteDiagnostics(&buf, res.Files, diags)
		t.Fatalf("the pack does not load:\n%s", buf.String())
	}
	comps := map[string]*config.Component{}
	var sinkCfg *Config
	for _, c := range res.Components {
		comps[c.ID] = c
		if cfg, ok := c.Config.(*Config); ok {
			sinkCfg = cfg
		}
	}
	s := startSink(t, sinkCfg, "")
	m := agent.NewMetrics(nil)
	var out strings.Builder
	for n, line := range lines {
		fmt.Fprintf(&out, "== line %d: %.100s\n", n+1, line)
		for _, id := range transforms {
			c := comps["transform."+id]
			got, dead := &agenttest.Capture{}, &agenttest.Capture{}
			tr, err := c.Factory.Create(agent.Settings{ID: c.ID, Kind: c.Kind, Name: c.Name, Metrics: m.For(c.ID), Host: "test",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: got, DeadLetter: dead}, c.Config)
			if err != nil {
				t.Fatal(err)
			}
			r := agent.Record{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Raw: []byte(line),
				Origin: agent.Origin{Host: "test", Component: "source.test", Stream: pack, Offset: int64(n)}}
			if err := tr.(agent.Transform).Process(context.Background(), agent.Batch{r}); err != nil {
				t.Fatal(err)
			}
			for _, d := range dead.Records() {
				f := d.MaterializeFields()
				fmt.Fprintf(&out, "%s: dead letter (%v): %v\n", id, f["reason"], f["errors"])
			}
			for _, rec := range got.Records() {
				data, _, dl := s.event(&rec)
				switch {
				case dl != nil:
					f := dl.MaterializeFields()
					fmt.Fprintf(&out, "%s: sink dead letter (%v): %v\n", id, f["reason"], f["errors"])
				case data == nil:
					fmt.Fprintf(&out, "%s: no event\n", id)
				default:
					var buf bytes.Buffer
					_ = json.Indent(&buf, data, "", "  ")
					fmt.Fprintf(&out, "%s:\n%s\n", id, buf.String())
				}
			}
		}
	}
	return out.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("the events differ from %s (run with -update if intended):\n%s", p, got)
	}
}

// The CI pack's sample events and a few more (a step's start, a retry, a
// scheduled run, a deploy naming its image) become the RunEvents in
// testdata/kafka-ci-events.golden; each is valid, and every workflow_step
// event's parent is its workflow run.
func TestKafkaCIEventsPack(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("..", "..", "configs", "kafka-ci-events", "sample-ci-events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sample)), "\n")
	lines = append(lines,
		`{"type":"workflow_step","run_id":9003,"pipeline":"build-api","step":"test","status":"running","started_at":"2026-11-21T06:00:04Z","runner":"ci-runner-2"}`,
		`{"type":"workflow_step","run_id":"d-77","pipeline":"deploy-api","step":"rollout","status":"running","started_at":"2026-11-21T05:11:03Z","attempt":2}`,
		`{"type":"workflow_run","run_id":9004,"pipeline":"nightly","status":"queued","started_at":"2026-11-22T00:00:03Z","scheduled_at":"2026-11-22T00:00:00Z"}`,
		`{"type":"workflow_run","run_id":9005,"pipeline":"build-web","status":"cancelled","started_at":"2026-11-22T01:00:00Z","finished_at":"2026-11-22T01:00:09Z"}`,
	)
	got := packRun(t, "kafka-ci-events", []string{"workflow_run", "workflow_step"}, lines)
	golden(t, "kafka-ci-events.golden", got)
	for _, want := range []string{
		`"runId": "` + RunID("ci", "build-api", "9001") + `"`,            // the run of build-api #9001
		`"runId": "` + RunID("ci", "deploy-api.rollout", "d-77#2") + `"`, // attempt 2 of the rollout step
		`"nominalStartTime": "2026-11-22T00:00:00Z"`,
		`"message": "step rollout failed with exit code 1"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the events lack %s", want)
		}
	}
}

// The Kubernetes pack's deployment_rollout records become runs of the job
// NAMESPACE/DEPLOYMENT, one per ReplicaSet (revision), with the images as
// outputs of the scale-ups and the event type from what the event says.
func TestKubernetesEventsPack(t *testing.T) {
	t.Setenv("K8S_CLUSTER_NAME", "prod-eu-1")
	ev := func(typ, note, last string, images string) string {
		return `{"api_version":"events.k8s.io/v1","uid":"u-` + last + `","namespace":"shop","name":"web.18a1","resource_version":"1","reason":"ScalingReplicaSet","type":"` + typ +
			`","note":"` + note + `","regarding":{"api_version":"apps/v1","kind":"Deployment","namespace":"shop","name":"web","uid":"r-1"},"reporting_controller":"deployment-controller","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:` + last + `Z"` +
			images + `}`
	}
	withImages := `,"owners":[],"images":["registry.example.com/web:2.1.0","docker.io/envoyproxy/envoy:v1.31"],"workload_kind":"Deployment","workload_name":"web"`
	lines := []string{
		ev("Normal", "Scaled up replica set web-6b9f from 0 to 1", "01", withImages),
		ev("Normal", "Scaled down replica set web-5d4f from 3 to 2", "02", withImages),
		ev("Normal", "Scaled up replica set web-6b9f from 1 to 3", "03", withImages),
		ev("Normal", "Scaled down replica set web-5d4f from 1 to 0", "04", withImages),
		ev("Normal", "Scaled up replica set web-7c1a to 2", "05", ""),
		ev("Warning", "Scaled up replica set web-8d2b from 0 to 1", "06", ""),
	}
	got := packRun(t, "kubernetes-events", []string{"k8s_deployment_rollout"}, lines)
	golden(t, "kubernetes-events.golden", got)
	for _, want := range []string{
		`"namespace": "kubernetes://prod-eu-1"`,
		`"name": "shop/web"`,
		`"runId": "` + RunID("kubernetes://prod-eu-1", "shop/web", "web-6b9f") + `"`,
		`"datasetVersion": "2.1.0"`,
		`"eventType": "COMPLETE"`,
		`"eventType": "FAIL"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the events lack %s", want)
		}
	}
}

// The worked example of the README is what the CI pack makes of its input.
func TestREADMEWorkedExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(name string) string {
		_, rest, ok := strings.Cut(string(readme), "<!-- worked-example:"+name+" -->\n```json\n")
		body, _, ok2 := strings.Cut(rest, "```\n<!-- /worked-example:"+name+" -->")
		if !ok || !ok2 {
			t.Fatalf("README.md has no worked-example:%s block", name)
		}
		return body
	}
	var in any
	if err := json.Unmarshal([]byte(block("input")), &in); err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(in)
	got := packRun(t, "kafka-ci-events", []string{"workflow_run"}, []string{string(line)})
	_, event, ok := strings.Cut(got, "workflow_run:\n")
	if !ok {
		t.Fatalf("no event:\n%s", got)
	}
	var want, have any
	if err := json.Unmarshal([]byte(block("event")), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(event), &have); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("the README's event is not what the pack makes of its input; it makes:\n%s", event)
	}
}
