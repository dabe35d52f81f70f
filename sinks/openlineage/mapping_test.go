package openlineage

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
)

// stepMapping maps workflow_step records the way configs/kafka-ci-events
// does, with every facet the sink knows.
const stepMapping = `
  mapping "workflow_step" {
    event_type    = "status == 'running' ? 'START' : status == 'success' ? 'COMPLETE' : status == 'failure' ? 'FAIL' : status == 'cancelled' ? 'ABORT' : nil"
    event_time    = "finished_at ?? started_at"
    job_namespace = "'ci'"
    job_name      = "pipeline + '.' + step"
    run_key       = "run_id"
    parent {
      job_namespace = "'ci'"
      job_name      = "pipeline"
      run_key       = "run_id"
    }
    error_message {
      message              = "status == 'failure' ? 'exit code ' + string(exit_code) : nil"
      programming_language = "'shell'"
    }
    job_type {
      processing_type = "'BATCH'"
      integration     = "'OCTOAGENT'"
      job_type        = "'STEP'"
    }
    processing_engine {
      name    = "'ci-runner'"
      version = "$env['runner_version']"
    }
    nominal_time {
      start = "$env['scheduled_at']"
    }
    input "topic" {
      dataset = "kafka_dataset('kafka-1:9092,kafka-2:9092', 'ci-events')"
    }
    output "artifacts" {
      for_each = "artifacts"
      dataset  = "url_dataset(each)"
    }
    output "image" {
      for_each = "images"
      dataset  = "image_dataset(each)"
    }
  }
`

func stepRecord(status string, off int64) agent.Record {
	f := map[string]any{
		"pipeline": "build-api", "run_id": "9001", "step": "image", "status": status,
		"started_at": time.Date(2026, 11, 21, 5, 3, 10, 0, time.UTC), "exit_code": int64(0),
		"artifacts": []any{"s3://ci-artifacts/build-api/9001/api.tar.gz"},
		"images":    []any{"registry.example.com/api:3f9c2ab", "nginx"},
		"runner":    "ci-runner-7",
	}
	switch status {
	case "success", "failure":
		f["finished_at"] = time.Date(2026, 11, 21, 5, 4, 55, 0, time.UTC)
	}
	if status == "failure" {
		f["exit_code"] = int64(2)
	}
	r := record("workflow_step", off, f)
	r.Entity = []agent.KV{{Key: "pipeline", Value: "build-api"}, {Key: "run_id", Value: "9001"}, {Key: "step", Value: "image"}}
	return r
}

// A step's START and FAIL become two valid events of one run, whose
// parent is the workflow's run, with the facets the mapping fills.
func TestStepRunEvents(t *testing.T) {
	s := newTestSink(t, stepMapping)
	if failed := s.consume(t, stepRecord("running", 1), stepRecord("failure", 2)); failed != 0 {
		t.Fatalf("%d failed", failed)
	}
	if d := s.dead.Records(); len(d) != 0 {
		t.Fatalf("dead letters: %s", agent.AppendJSON(nil, &d[0]))
	}
	evs := s.events(t)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	start, fail := evs[0], evs[1]
	runID := RunID("ci", "build-api.image", "9001")
	for _, c := range []struct {
		ev   map[string]any
		path []any
		want any
	}{
		{start, []any{"eventType"}, "START"},
		{fail, []any{"eventType"}, "FAIL"},
		{start, []any{"eventTime"}, "2026-11-21T05:03:10Z"},
		{fail, []any{"eventTime"}, "2026-11-21T05:04:55Z"},
		{start, []any{"producer"}, DefaultProducer},
		{start, []any{"schemaURL"}, RunEventSchemaURL},
		{start, []any{"job", "namespace"}, "ci"},
		{start, []any{"job", "name"}, "build-api.image"},
		{start, []any{"run", "runId"}, runID},
		{fail, []any{"run", "runId"}, runID},
		{fail, []any{"run", "facets", "parent", "run", "runId"}, RunID("ci", "build-api", "9001")},
		{fail, []any{"run", "facets", "parent", "job", "name"}, "build-api"},
		{fail, []any{"run", "facets", "parent", "_schemaURL"}, parentFacetURL},
		{fail, []any{"run", "facets", "errorMessage", "message"}, "exit code 2"},
		{fail, []any{"run", "facets", "errorMessage", "programmingLanguage"}, "shell"},
		{start, []any{"run", "facets", "errorMessage"}, nil},
		{start, []any{"run", "facets", "processing_engine"}, nil}, // no runner_version
		{start, []any{"run", "facets", "nominalTime"}, nil},       // no scheduled_at
		{start, []any{"job", "facets", "jobType", "processingType"}, "BATCH"},
		{start, []any{"job", "facets", "jobType", "jobType"}, "STEP"},
		{start, []any{"inputs", 0, "namespace"}, "kafka://kafka-1:9092"},
		{start, []any{"inputs", 0, "name"}, "ci-events"},
		{start, []any{"outputs", 0, "namespace"}, "s3://ci-artifacts"},
		{start, []any{"outputs", 0, "name"}, "build-api/9001/api.tar.gz"},
		{start, []any{"outputs", 1, "namespace"}, "oci://registry.example.com"},
		{start, []any{"outputs", 1, "name"}, "api"},
		{start, []any{"outputs", 1, "facets", "version", "datasetVersion"}, "3f9c2ab"},
		{start, []any{"outputs", 2, "namespace"}, "oci://docker.io"},
		{start, []any{"outputs", 2, "name"}, "library/nginx"},
		{start, []any{"outputs", 2, "facets", "version", "datasetVersion"}, "latest"},
		{start, []any{"run", "facets", "octoagent_record", "kind"}, "workflow_step"},
		{start, []any{"run", "facets", "octoagent_record", "entity", "step"}, "image"},
		{start, []any{"run", "facets", "octoagent_record", "fields", "runner"}, "ci-runner-7"},
		{start, []any{"run", "facets", "octoagent_record", "fields", "started_at"}, "2026-11-21T05:03:10Z"},
	} {
		if got := get(c.ev, c.path...); got != c.want {
			t.Errorf("%v: %v, want %v", c.path, got, c.want)
		}
	}
	r := stepRecord("running", 1)
	if id := get(start, "run", "facets", "octoagent_record", "id"); id != r.EnsureID() {
		t.Errorf("record facet id %v, want the record's id %s", id, r.EnsureID())
	}
	if n := testutil.ToFloat64(s.Sink.events.WithLabelValues("START")); n != 1 {
		t.Errorf("START events counted %v", n)
	}
}

// The same record gives the same bytes every time (a replay is identical),
// and run ids do not change from one version to the next: the runId of a
// run already sent must stay its runId.
func TestDeterministic(t *testing.T) {
	if got := RunID("ci", "build-api", "9001"); got != "154c6878-a8b9-57d7-ab55-10bfcbdabaeb" {
		t.Errorf("RunID changed: %s; runs already sent would get a second id", got)
	}
	a, b := newTestSink(t, stepMapping), newTestSink(t, stepMapping)
	a.consume(t, stepRecord("failure", 7))
	b.consume(t, stepRecord("failure", 7))
	if la, lb := a.lines(t), b.lines(t); len(la) != 1 || la[0] != lb[0] {
		t.Errorf("two sinks wrote\n%s\n%s", la, lb)
	}
}

// Optional facets appear when their values do; record_facet_fields =
// "unmapped" keeps only the fields no expression reads.
func TestOptionalFacetsAndUnmapped(t *testing.T) {
	s := newTestSink(t, `record_facet_fields = "unmapped"`+stepMapping)
	r := stepRecord("success", 3)
	r.Set("runner_version", "2.311.0")
	r.Set("scheduled_at", "2026-11-21T05:00:00Z")
	s.consume(t, r)
	evs := s.events(t)
	if len(evs) != 1 {
		t.Fatalf("%d events; dead letters %d", len(evs), len(s.dead.Records()))
	}
	ev := evs[0]
	if v := get(ev, "run", "facets", "processing_engine", "version"); v != "2.311.0" {
		t.Errorf("processing_engine.version %v", v)
	}
	if v := get(ev, "run", "facets", "nominalTime", "nominalStartTime"); v != "2026-11-21T05:00:00Z" {
		t.Errorf("nominalTime %v", v)
	}
	fields, _ := get(ev, "run", "facets", "octoagent_record", "fields").(map[string]any)
	if len(fields) != 1 || fields["runner"] != "ci-runner-7" {
		t.Errorf("unmapped fields %v, want only runner", fields)
	}
}

// A record its mapping gives no event type is dropped and counted; a
// record of a kind without mapping, and one the mapping cannot use, are
// dead letters that say why.
func TestDropsAndMappingDeadLetters(t *testing.T) {
	s := newTestSink(t, stepMapping)
	skipped := stepRecord("queued", 1)
	other := record("workflow_run", 2, map[string]any{"pipeline": "x"})
	bad := stepRecord("running", 3)
	bad.Set("pipeline", map[string]any{"a": "b"})
	s.consume(t, skipped, other, bad)
	if n := testutil.ToFloat64(s.set.Metrics.Drop("no_event")); n != 1 {
		t.Errorf("dropped %v, want 1", n)
	}
	if evs := s.events(t); len(evs) != 0 {
		t.Errorf("%d events written", len(evs))
	}
	dead := s.dead.Records()
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dead))
	}
	want := []struct{ reason, field, err string }{
		{"no_mapping", "kind", `no mapping for records of kind "workflow_run"; the sink maps workflow_step`},
		{"mapping", "job_name", "invalid operation"},
	}
	for i, w := range want {
		f := dead[i].MaterializeFields()
		errs := f["errors"].([]any)
		e := errs[0].(map[string]any)
		if f["reason"] != w.reason || e["field"] != w.field || !strings.Contains(e["error"].(string), w.err) {
			t.Errorf("dead letter %d: %v %v, want %s at %s: %s", i, f["reason"], e, w.reason, w.field, w.err)
		}
	}
}

// An event the schema rejects is never written: it is a dead letter with
// the JSON pointer and message of each problem, the event, and the
// record's fields, and it is counted.
func TestInvalidEventIsDeadLettered(t *testing.T) {
	s := newTestSink(t, stepMapping)
	r := stepRecord("running", 1)
	r.Set("scheduled_at", "yesterday at noon")
	good := stepRecord("running", 2)
	s.consume(t, r, good)
	if evs := s.events(t); len(evs) != 1 {
		t.Fatalf("%d events written, want only the valid one", len(evs))
	}
	dead := s.dead.Records()
	if len(dead) != 1 {
		t.Fatalf("%d dead letters", len(dead))
	}
	f := dead[0].MaterializeFields()
	e := f["errors"].([]any)[0].(map[string]any)
	if f["reason"] != "invalid_event" || f["step"] != "openlineage.validate" ||
		e["field"] != "/run/facets/nominalTime/nominalStartTime" || !strings.Contains(e["error"].(string), "date-time") {
		t.Errorf("dead letter %v", f)
	}
	if get(f["event"], "run", "facets", "nominalTime", "nominalStartTime") != "yesterday at noon" {
		t.Errorf("the dead letter does not carry the event: %v", f["event"])
	}
	if get(f["fields"], "pipeline") != "build-api" {
		t.Errorf("the dead letter does not carry the record's fields: %v", f["fields"])
	}
	if n := testutil.ToFloat64(s.set.Metrics.DeadLetter("invalid_event")); n != 1 {
		t.Errorf("invalid events counted %v", n)
	}
}
