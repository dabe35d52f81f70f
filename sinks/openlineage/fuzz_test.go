package openlineage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/octostore/agent/agent"
)

// fuzzMapping reads every fuzzed field into some part of the event.
const fuzzMapping = `
  mapping "workflow_step" {
    event_type    = "len(status) % 7 == 6 ? upper(status) : ['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'][len(status) % 7]"
    event_time    = "$env['finished_at']"
    job_namespace = "pipeline"
    job_name      = "pipeline + '.' + step"
    run_key       = "run_id"
    parent {
      job_namespace = "pipeline"
      job_name      = "step == '' ? nil : pipeline"
      run_key       = "run_id"
    }
    error_message {
      message              = "message"
      programming_language = "step"
    }
    job_type {
      processing_type = "'BATCH'"
      integration     = "pipeline"
      job_type        = "step"
    }
    processing_engine {
      version = "string(n)"
      name    = "message"
    }
    nominal_time {
      start = "scheduled"
      end   = "$env['finished_at']"
    }
    input "topic" {
      dataset = "kafka_dataset(broker, step)"
    }
    output "artifacts" {
      for_each = "artifacts"
      dataset  = "url_dataset(each)"
    }
    output "image" {
      dataset = "image_dataset(image)"
    }
    output "table" {
      namespace = "pipeline"
      name      = "message"
      version   = "run_id"
    }
  }`

// No record makes the sink emit an event the OpenLineage schema rejects (or
// that is not UTF-8):
// every record ends as exactly one of a valid event, a dead letter or a
// drop, never a crash, and the same record gives the same bytes. The
// check is independent of the sink's validator: the whole
// OpenLineage.json (its oneOf of the three event kinds) and each facet
// against the definition its _schemaURL names, compiled here.
func FuzzEvent(f *testing.F) {
	f.Add("success", "build-api", "test", "9001", "2026-11-21T05:00:00Z", "s3://b/k", "registry.example.com/api:1", "boom", "kafka:9092", int64(1700000000), 3.5, true)
	f.Add("running", "ci", "", "d-77", "", "https://h/p", "nginx", "", "k", int64(0), 0.0, false)
	f.Add("FAIL", "", "x", "", "yesterday", "relative", "a b", "\x00\xff", "", int64(-62135596801), -1e300, true)
	f.Add("complete", "ns/ü", "step\"", "0", "2026-02-30T25:00:00Z", "kafka://k/t", "ghcr.io/o/a@sha256:00", "m", "b1,b2", int64(253402300800), 1e-9, false)
	s := newTestSink(f, fuzzMapping)
	check := independentChecker(f)
	var outcomes [3]int // dropped, event, dead letter
	defer func() {
		f.Logf("outcomes in this process: %d events, %d dead letters, %d dropped", outcomes[1], outcomes[2], outcomes[0])
	}()
	f.Fuzz(func(t *testing.T, status, pipeline, step, runID, scheduled, artifact, image, message, broker string, n int64, x float64, flag bool) {
		mk := func() agent.Record {
			r := record("workflow_step", n, map[string]any{
				"status": status, "pipeline": pipeline, "step": step, "run_id": runID, "scheduled": scheduled,
				"artifacts": []any{artifact, artifact + "/x"}, "image": image, "message": message, "broker": broker,
				"n": n, "x": x, "flag": flag, "nested": map[string]any{message: []any{x, flag, nil}},
			})
			r.Time = time.Unix(n, 0)
			if flag {
				r.Set("finished_at", time.Unix(n/2, int64(x)%1e9).UTC())
			}
			return r
		}
		r := mk()
		data, _, dead := s.event(&r)
		outcomes[min(len(data), 1)+2*btoi(dead != nil)]++
		switch {
		case dead != nil && data != nil:
			t.Fatal("both an event and a dead letter")
		case dead != nil:
			if dead.Kind != agent.KindDeadLetter {
				t.Fatalf("dead letter of kind %q", dead.Kind)
			}
			return
		case data == nil:
			return // dropped: event_type gave nil (it cannot here, upper gives a string)
		}
		if !utf8.Valid(data) {
			t.Fatalf("the event is not valid UTF-8: %q", data)
		}
		if problems := check(data); len(problems) > 0 {
			t.Fatalf("the sink emitted an event the schema rejects: %v\n%s", problems, data)
		}
		again := mk()
		if d2, _, _ := s.event(&again); !bytes.Equal(d2, data) {
			t.Fatalf("the same record gave two events:\n%s\n%s", data, d2)
		}
	})
}

// independentChecker compiles the embedded schemas afresh: the root of
// OpenLineage.json (any of RunEvent, DatasetEvent, JobEvent, exactly one),
// and each facet's definition when asked for by its _schemaURL.
func independentChecker(t testing.TB) func([]byte) []string {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	err := fs.WalkDir(SpecFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		b, _ := fs.ReadFile(SpecFS(), p)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return err
		}
		return c.AddResource(doc.(map[string]any)["$id"].(string), doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	root, err := c.Compile(SchemaURL)
	if err != nil {
		t.Fatal(err)
	}
	facets := map[string]*jsonschema.Schema{}
	return func(data []byte) []string {
		var problems []string
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return []string{err.Error()}
		}
		if err := root.Validate(doc); err != nil {
			problems = append(problems, err.Error())
		}
		var walk func(at string, v any)
		walk = func(at string, v any) {
			switch t := v.(type) {
			case map[string]any:
				if u, ok := t["_schemaURL"].(string); ok && at != "" {
					sch, ok := facets[u]
					if !ok {
						sch, _ = c.Compile(u) // nil: not one of the embedded files
						facets[u] = sch
					}
					if sch == nil {
						problems = append(problems, at+": facet schema "+u+" is not one of the embedded files")
					} else if err := sch.Validate(t); err != nil {
						problems = append(problems, at+": "+err.Error())
					}
				}
				for k, e := range t {
					walk(at+"/"+k, e)
				}
			case []any:
				for i, e := range t {
					walk(fmt.Sprintf("%s/%d", at, i), e)
				}
			}
		}
		walk("", doc)
		var ev RunEvent
		if err := json.Unmarshal(data, &ev); err != nil || ev.Run.RunID == "" {
			problems = append(problems, "not a RunEvent")
		}
		return problems
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
