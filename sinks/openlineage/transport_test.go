package openlineage

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/kafkatest"
)

// receiver is an OpenLineage HTTP endpoint: it answers 500 to the first
// fail requests, 400 to events of the job "refused", and stores the rest.
type receiver struct {
	mu       sync.Mutex
	fail     int
	requests int
	events   []map[string]any
	bad      []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if r.Method != "POST" || r.URL.Path != "/api/v1/lineage" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("X-Tenant") != "ci" {
		rc.bad = append(rc.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		w.WriteHeader(400)
		return
	}
	if rc.fail > 0 {
		rc.fail--
		w.WriteHeader(500)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.bad = append(rc.bad, "not one JSON event: "+string(body))
		w.WriteHeader(400)
		return
	}
	if get(ev, "job", "name") == "refused" {
		w.WriteHeader(422)
		_, _ = w.Write([]byte(`{"code":422,"message":"job refused"}`))
		return
	}
	rc.events = append(rc.events, ev)
	w.WriteHeader(201)
}

const jobMapping = `
  mapping "k" {
    event_type    = "$env.type"
    job_namespace = "'ns'"
    job_name      = "job"
    run_key       = "run"
  }`

// HTTP: one event per POST to url + /api/v1/lineage, with the token and
// headers; 500s are retried (nothing lost, nothing twice, in order), an
// event the server refuses for good is a dead letter.
func TestHTTPTransport(t *testing.T) {
	rc := &receiver{fail: 3}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg := mustConfig(t, `
source "stdin" "in" {}
sink "openlineage" "ol" {
  inputs = [source.stdin.in]
  transport "http" {
    url                   = "`+srv.URL+`/"
    token                 = "s3cret"
    headers               = { "X-Tenant" = "ci" }
    retry_initial_backoff = "10ms"
    retry_max_backoff     = "40ms"
  }
`+jobMapping+`
}`)
	s := startSink(t, cfg, "")
	var recs []agent.Record
	for i, typ := range []string{"START", "RUNNING", "COMPLETE"} {
		recs = append(recs, record("k", int64(i), map[string]any{"type": typ, "job": "build", "run": "1"}))
	}
	recs = append(recs, record("k", 9, map[string]any{"type": "START", "job": "refused", "run": "2"}))
	b := make(agent.Batch, len(recs))
	copy(b, recs)
	failed := 0
	for i := range b {
		b[i].SetToken(s.acks.NewToken(1, func(f bool) {
			if f {
				failed++
			}
		}))
	}
	if err := s.Consume(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("bad requests: %v", rc.bad)
	}
	if failed != 0 || s.acks.InFlight() != 0 {
		t.Fatalf("%d failed, %d unresolved", failed, s.acks.InFlight())
	}
	var types []any
	for _, ev := range rc.events {
		types = append(types, ev["eventType"])
	}
	if len(types) != 3 || types[0] != "START" || types[1] != "RUNNING" || types[2] != "COMPLETE" {
		t.Errorf("received %v, want START, RUNNING, COMPLETE once each, in order", types)
	}
	if rc.requests != 3+3+1 {
		t.Errorf("%d requests, want 3 refused with 500, 3 events and 1 refused", rc.requests)
	}
	dead := s.dead.Records()
	if len(dead) != 1 {
		t.Fatalf("%d dead letters", len(dead))
	}
	f := dead[0].MaterializeFields()
	if f["step"] != "openlineage.http" || get(f, "fields", "job") != "refused" {
		t.Errorf("dead letter %v", f)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(f["raw"].(string)), &ev); err != nil || get(ev, "job", "name") != "refused" {
		t.Errorf("the dead letter's raw is not the event: %v", f["raw"])
	}
}

// Kafka: one message per event, keyed by the parent's job (else the
// job's own), so a workflow's events and its steps' share a partition, in
// order.
func TestKafkaTransport(t *testing.T) {
	b := kafkatest.Start(t, 0, 4, nil, kfake.SeedTopics(4, "openlineage"))
	cfg := mustConfig(t, `
source "stdin" "in" {}
sink "openlineage" "ol" {
  inputs = [source.stdin.in]
  transport "kafka" {
    brokers = ["`+b.Addr+`"]
    topic   = "openlineage"
    retry_backoff_min = "20ms"
  }
  mapping "k" {
    event_type    = "$env.type"
    job_namespace = "'ci'"
    job_name      = "step == nil ? pipeline : pipeline + '.' + step"
    run_key       = "run"
    parent {
      job_namespace = "'ci'"
      job_name      = "step == nil ? nil : pipeline"
      run_key       = "run"
    }
  }
}`)
	s := startSink(t, cfg, "")
	var recs []agent.Record
	seq := []map[string]any{
		{"type": "START", "pipeline": "build-api", "run": "1"},
		{"type": "START", "pipeline": "build-web", "run": "7"},
		{"type": "START", "pipeline": "build-api", "run": "1", "step": "test"},
		{"type": "COMPLETE", "pipeline": "build-api", "run": "1", "step": "test"},
		{"type": "COMPLETE", "pipeline": "build-web", "run": "7"},
		{"type": "COMPLETE", "pipeline": "build-api", "run": "1"},
	}
	for i, f := range seq {
		recs = append(recs, record("k", int64(i), f))
	}
	if failed := s.consume(t, recs...); failed != 0 {
		t.Fatalf("%d failed", failed)
	}
	got := kafkatest.ReadAll(t, b.Addr, "openlineage", 4)
	if len(got) != len(seq) {
		t.Fatalf("%d messages, want %d", len(got), len(seq))
	}
	byKey := map[string][]string{}
	partOf := map[string]int{}
	for _, m := range got {
		var ev map[string]any
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("not an event: %s", m.Value)
		}
		if p, ok := partOf[m.Key]; ok && p != m.Partition {
			t.Errorf("key %s on partitions %d and %d", m.Key, p, m.Partition)
		}
		partOf[m.Key] = m.Partition
		byKey[m.Key] = append(byKey[m.Key], get(ev, "job", "name").(string)+":"+ev["eventType"].(string))
	}
	want := map[string]string{
		"run:ci/build-api": "[build-api:START build-api.test:START build-api.test:COMPLETE build-api:COMPLETE]",
		"run:ci/build-web": "[build-web:START build-web:COMPLETE]",
	}
	for k, w := range want {
		if g := fmtList(byKey[k]); g != w {
			t.Errorf("key %s: %s, want %s", k, g, w)
		}
	}
}

func fmtList(l []string) string {
	b, _ := json.Marshal(l)
	s := string(b)
	r := []rune{}
	for _, c := range s {
		switch c {
		case '"':
		case ',':
			r = append(r, ' ')
		default:
			r = append(r, c)
		}
	}
	return string(r)
}
