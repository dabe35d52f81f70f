package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
	"github.com/octostore/agent/sinks/openlineage"
)

// lineageReceiver is an OpenLineage HTTP endpoint (POST /api/v1/lineage,
// one event per request, as Marquez takes them). It checks every event
// against the spec, the whole OpenLineage.json compiled here from the
// repository's copy and each facet against its own schema (the sink's
// validator), and stores the valid ones; until outageEnd it answers 500.
type lineageReceiver struct {
	mu        sync.Mutex
	root      *jsonschema.Schema
	check     *openlineage.Validator
	phase     int       // which agent is running, for the record
	outageEnd time.Time // 500s until then
	refused   int       // requests answered 500
	firstOK   time.Time // first 2xx after the outage
	invalid   []string
	events    []receivedEvent
	byKey     map[string][]byte // runId + eventType → the payload first stored
	resent    int               // the same runId and eventType again, same payload
	conflicts []string          // the same runId and eventType again, another payload
}

type receivedEvent struct {
	phase int
	raw   []byte
	ev    map[string]any
}

func newLineageReceiver(t *testing.T) *lineageReceiver {
	t.Helper()
	specDir := filepath.Join(moduleRoot(t), "sinks", "openlineage", "spec")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	err := filepath.WalkDir(specDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		return c.AddResource(doc.(map[string]any)["$id"].(string), doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	root, err := c.Compile(openlineage.SchemaURL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := openlineage.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return &lineageReceiver{root: root, check: v, byKey: map[string][]byte{}}
}

func (rc *lineageReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/lineage" || r.Header.Get("Content-Type") != "application/json" {
		rc.invalid = append(rc.invalid, fmt.Sprintf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if time.Now().Before(rc.outageEnd) {
		rc.refused++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if rc.firstOK.IsZero() && !rc.outageEnd.IsZero() {
		rc.firstOK = time.Now()
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err == nil {
		err = rc.root.Validate(doc)
	}
	if err == nil {
		if errs := rc.check.Validate(body); len(errs) > 0 {
			err = fmt.Errorf("%v", errs)
		}
	}
	if err != nil {
		rc.invalid = append(rc.invalid, fmt.Sprintf("%v: %s", err, body))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev map[string]any
	_ = json.Unmarshal(body, &ev)
	key := fmt.Sprint(dig(ev, "run", "runId"), " ", ev["eventType"])
	if prev, ok := rc.byKey[key]; ok {
		if bytes.Equal(prev, body) {
			rc.resent++
		} else {
			rc.conflicts = append(rc.conflicts, key)
		}
		w.WriteHeader(http.StatusCreated)
		return
	}
	rc.byKey[key] = body
	rc.events = append(rc.events, receivedEvent{phase: rc.phase, raw: body, ev: ev})
	w.WriteHeader(http.StatusCreated)
}

func (rc *lineageReceiver) stored() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.events)
}

// ciEvent is one CI event of build-api, as the kafka-ci-events pack reads
// them.
func ciEvent(kind, run, step, status, started, finished string, extra string) kafkatest.Msg {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":%q,"run_id":%q,"pipeline":"build-api","status":%q,"started_at":%q`, kind, run, status, started)
	if step != "" {
		fmt.Fprintf(&b, `,"step":%q,"runner":"ci-runner-3"`, step)
	}
	if finished != "" {
		fmt.Fprintf(&b, `,"finished_at":%q`, finished)
	}
	b.WriteString(extra + "}")
	return kafkatest.Msg{Value: b.String()}
}

// Two CI runs of one workflow go from a Kafka topic through the agent (the
// kafka-ci-events pack and its openlineage folder) to an OpenLineage
// receiver that validates and stores every event. The agent is stopped
// (SIGTERM) between the START and the end of both runs and started again,
// and the receiver answers 500 for the first 20 s of the second agent's
// life. Every run gets exactly one START and one terminal event, under a
// runId that is the same across the restart (UUIDv5 of its job and key,
// computed here too); every step's parent link resolves to its workflow's
// run; nothing is lost, nothing arrives twice, nothing is invalid.
func TestOpenLineageCIEndToEnd(t *testing.T) {
	root := moduleRoot(t)
	b := kafkatest.Start(t, 0, 1, []string{"ci-events"})
	rc := newLineageReceiver(t)
	srv := httptest.NewServer(rc)
	defer srv.Close()

	dir := t.TempDir()
	// The pack's sink as shipped, but with retries capped at 2 s: with the
	// default 30 s cap the test would sit out a long backoff after the
	// outage, which proves nothing more.
	pack, err := os.ReadFile(filepath.Join(root, "configs", "kafka-ci-events", "openlineage", "openlineage.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	sinkCfg := strings.Replace(string(pack), `transport "http" {`, `transport "http" {`+"\n    retry_max_backoff = \"2s\"", 1)
	if sinkCfg == string(pack) {
		t.Fatal(`no transport "http" block in the pack's openlineage.hcl`)
	}
	writeFile(t, filepath.Join(dir, "openlineage.hcl"), sinkCfg)
	dead := filepath.Join(dir, "dead.jsonl")
	writeFile(t, filepath.Join(dir, "agent.hcl"), `
agent {
  data_dir         = `+hclString(filepath.Join(dir, "data"))+`
  shutdown_timeout = "20s"
}

sink "file" "dead" {
  inputs = [transform.ci_events.dead_letter, transform.workflow_run.dead_letter, transform.workflow_step.dead_letter, sink.openlineage.ci.dead_letter]
  path   = `+hclString(dead)+`
}
`)
	t.Setenv("KAFKA_BROKERS", b.Addr)
	t.Setenv("KAFKA_GROUP_ID", "lineage-e2e")
	t.Setenv("OPENLINEAGE_URL", srv.URL)
	args := []string{"run", "-c", "configs/schemas", "-c", "configs/kafka-ci-events", "-c", filepath.Join(dir, "openlineage.hcl"), "-c", filepath.Join(dir, "agent.hcl"), "--http-addr", "off"}

	const t0 = "2026-11-21T06:00:"
	part1 := []kafkatest.Msg{
		ciEvent("workflow_run", "9101", "", "running", t0+"00Z", "", `,"commit":"3f9c2ab"`),
		ciEvent("workflow_step", "9101", "checkout", "running", t0+"01Z", "", ""),
		ciEvent("workflow_step", "9101", "checkout", "success", t0+"01Z", t0+"04Z", `,"exit_code":0`),
		ciEvent("workflow_step", "9101", "test", "running", t0+"04Z", "", ""),
		ciEvent("workflow_run", "9102", "", "running", t0+"30Z", "", `,"scheduled_at":"2026-11-21T06:00:00Z"`),
		ciEvent("workflow_step", "9102", "checkout", "running", t0+"31Z", "", ""),
	}
	part2 := []kafkatest.Msg{
		ciEvent("workflow_step", "9101", "test", "success", t0+"04Z", t0+"20Z", `,"exit_code":0`),
		ciEvent("workflow_step", "9102", "checkout", "success", t0+"31Z", t0+"33Z", `,"exit_code":0`),
		{Value: `{"type":"runner_heartbeat","runner":"ci-runner-3"}`},
		ciEvent("workflow_step", "9101", "image", "running", t0+"20Z", "", ""),
		ciEvent("workflow_step", "9102", "test", "running", t0+"33Z", "", ""),
		{Value: `{"type":"workflow_step","run_id":"9102","pipeline":"build-api","step":"lint","status":"runn`},
		ciEvent("workflow_step", "9101", "image", "success", t0+"20Z", t0+"41Z", `,"exit_code":0`),
		ciEvent("workflow_step", "9102", "test", "failure", t0+"33Z", t0+"52Z", `,"exit_code":1`),
		ciEvent("workflow_run", "9101", "", "success", t0+"00Z", t0+"42Z", `,"commit":"3f9c2ab","outputs":{"artifacts":["s3://ci-artifacts/build-api/9101/api.tar.gz"],"images":["registry.example.com/api:3f9c2ab"]}`),
		ciEvent("workflow_run", "9102", "", "failure", t0+"30Z", t0+"53Z", `,"scheduled_at":"2026-11-21T06:00:00Z"`),
	}
	const wantPart1, wantAll = 6, 14

	// Each phase: messages in the topic, an agent started (with the
	// receiver answering 500 for the outage's first seconds), until the
	// receiver holds want events; then SIGTERM.
	phase := func(n int, msgs []kafkatest.Msg, outage time.Duration, want int) {
		kafkatest.Produce(t, b.Addr, "ci-events", msgs)
		rc.mu.Lock()
		rc.phase = n
		if outage > 0 {
			rc.outageEnd = time.Now().Add(outage)
		}
		rc.mu.Unlock()
		p := startAgent(t, "", args...)
		waitFor(t, outage+kafkaDeadline, fmt.Sprintf("%d events from agent %d", want, n), func() bool {
			if p.Exited() {
				t.Fatalf("agent %d exited:\n%s", n, tail(p.Stderr.String(), 4000))
			}
			return rc.stored() >= want
		})
		p.Signal(t, syscall.SIGTERM)
		if code := p.WaitExit(t, exitDeadline); code != 0 {
			t.Fatalf("agent %d exited %d:\n%s", n, code, tail(p.Stderr.String(), 4000))
		}
	}
	// The first agent sends the STARTs (and the checkout of 9101); the
	// second finds the receiver down (500) for 20 s.
	const outage = 20 * time.Second
	phase(1, part1, 0, wantPart1)
	phase(2, part2, outage, wantAll)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.invalid) > 0 {
		t.Fatalf("the receiver refused %d events:\n%s", len(rc.invalid), strings.Join(rc.invalid, "\n"))
	}
	if rc.resent > 0 || len(rc.conflicts) > 0 {
		t.Errorf("events received twice: %d identical, %d with another payload %v", rc.resent, len(rc.conflicts), rc.conflicts)
	}
	if len(rc.events) != wantAll {
		t.Errorf("%d events stored, want %d", len(rc.events), wantAll)
	}
	if rc.refused == 0 || rc.firstOK.Before(rc.outageEnd) {
		t.Errorf("the outage did not bite: %d requests refused, first success at %v (outage until %v)", rc.refused, rc.firstOK, rc.outageEnd)
	}

	// Runs: one START and one terminal event each, START first.
	type runInfo struct {
		job        string
		start, end *receivedEvent
	}
	runs := map[string]*runInfo{}
	for i := range rc.events {
		e := &rc.events[i]
		id := dig(e.ev, "run", "runId").(string)
		ri := runs[id]
		if ri == nil {
			ri = &runInfo{job: fmt.Sprint(dig(e.ev, "job", "namespace"), "/", dig(e.ev, "job", "name"))}
			runs[id] = ri
		}
		switch e.ev["eventType"] {
		case "START":
			if ri.start != nil {
				t.Errorf("run %s (%s): a second START", id, ri.job)
			}
			ri.start = e
		case "COMPLETE", "FAIL", "ABORT":
			if ri.end != nil {
				t.Errorf("run %s (%s): a second terminal event", id, ri.job)
			}
			if ri.start == nil {
				t.Errorf("run %s (%s): its end arrived before its START", id, ri.job)
			}
			ri.end = e
		default:
			t.Errorf("run %s: unexpected event type %v", id, e.ev["eventType"])
		}
	}
	// The run ids are the formula's: UUIDv5 of the job and the CI's ids.
	want := map[string]string{
		openlineage.RunID("ci", "build-api", "9101"):            "ci/build-api",
		openlineage.RunID("ci", "build-api", "9102"):            "ci/build-api",
		openlineage.RunID("ci", "build-api.checkout", "9101#1"): "ci/build-api.checkout",
		openlineage.RunID("ci", "build-api.test", "9101#1"):     "ci/build-api.test",
		openlineage.RunID("ci", "build-api.image", "9101#1"):    "ci/build-api.image",
		openlineage.RunID("ci", "build-api.checkout", "9102#1"): "ci/build-api.checkout",
		openlineage.RunID("ci", "build-api.test", "9102#1"):     "ci/build-api.test",
	}
	if len(runs) != len(want) {
		t.Errorf("%d runs, want %d", len(runs), len(want))
	}
	acrossRestart := 0
	for id, job := range want {
		ri := runs[id]
		if ri == nil || ri.job != job || ri.start == nil || ri.end == nil {
			t.Errorf("run %s of %s: %+v", id, job, ri)
			continue
		}
		if ri.start.phase == 1 && ri.end.phase == 2 {
			acrossRestart++
		}
	}
	if acrossRestart != 4 { // both workflow runs, 9101's test, 9102's checkout
		t.Errorf("%d runs started before the restart and ended after it, want 4", acrossRestart)
	}
	// Parent links resolve to a stored run of the parent job.
	steps := 0
	for _, e := range rc.events {
		parent, ok := dig(e.ev, "run", "facets", "parent").(map[string]any)
		if !ok {
			if !strings.Contains(dig(e.ev, "job", "name").(string), ".") {
				continue // a workflow run has no parent
			}
			t.Errorf("step event without parent: %s", e.raw)
			continue
		}
		steps++
		pr := runs[fmt.Sprint(dig(parent, "run", "runId"))]
		if pr == nil || pr.job != fmt.Sprint(dig(parent, "job", "namespace"), "/", dig(parent, "job", "name")) {
			t.Errorf("parent %v does not resolve", parent)
		}
	}
	// What the events carry besides.
	end9101, end9102 := runs[openlineage.RunID("ci", "build-api", "9101")], runs[openlineage.RunID("ci", "build-api", "9102")]
	if end9101 != nil && end9101.end != nil {
		if dig(end9101.end.ev, "outputs", 0, "namespace") != "s3://ci-artifacts" || dig(end9101.end.ev, "outputs", 1, "facets", "version", "datasetVersion") != "3f9c2ab" {
			t.Errorf("9101's COMPLETE lacks its outputs: %s", end9101.end.raw)
		}
	}
	if end9102 != nil && end9102.end != nil && end9102.start != nil {
		if end9102.end.ev["eventType"] != "FAIL" || dig(end9102.end.ev, "run", "facets", "errorMessage", "message") == nil {
			t.Errorf("9102's end is not a FAIL with an error message: %s", end9102.end.raw)
		}
		if dig(end9102.start.ev, "run", "facets", "nominalTime", "nominalStartTime") != "2026-11-21T06:00:00Z" {
			t.Errorf("9102's START lacks its nominal time: %s", end9102.start.raw)
		}
	}
	deadRecs := readJSONLines(t, dead)
	if len(deadRecs) != 1 || deadRecs[0].Fields["reason"] != "bad_json" {
		t.Errorf("dead letters: %v, want the one malformed event", deadRecs)
	}
	if c := kafkatest.Committed(t, b.Addr, "lineage-e2e", "ci-events", 1); c[0] != int64(len(part1)+len(part2)) {
		t.Errorf("committed offset %d, want %d", c[0], len(part1)+len(part2))
	}
	testfig.Report(t, "%d events of %d runs (%d step runs with parents), %d runs across a SIGTERM restart; receiver down (500) %v: %d requests refused, delivery resumed %.1fs after; %d invalid, %d lost, %d received twice",
		len(rc.events), len(runs), steps/2, acrossRestart, outage, rc.refused, rc.firstOK.Sub(rc.outageEnd).Seconds(), len(rc.invalid), wantAll-len(rc.events), rc.resent+len(rc.conflicts))
}
