package correlate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/sinks/stdout"
)

func registry() *agent.Registry {
	return agent.NewRegistry(stdin.NewFactory(), NewFactory(), stdout.NewFactory())
}

// crashloopHCL is the shape of the pack's crashloop_context, on test
// records: rollouts remembered per namespace, crashloops answered once
// per pod.
const crashloopHCL = `
  kind          = "crashloop_context"
  save_interval = "1h" # the tests save by hand

  remember {
    kinds       = ["deployment_rollout"]
    when        = "direction == 'up'"
    key         = "namespace"
    fields      = { deployment = "deployment", image = "image" }
    max_per_key = 3
    max_age     = "24h"
  }

  trigger {
    kinds  = ["pod_crashloop"]
    key    = "namespace"
    once   = "pod"
    list   = "rollouts"
    fields = { namespace = "namespace", pod = "pod" }
    entity = ["namespace", "pod"]
  }
`

// load decodes a correlate block (its body given) in a whole config.
func load(t testing.TB, body string) (*Config, string) {
	t.Helper()
	cfg, diags := agenttest.LoadTransform(t, registry(), "correlate", "ctx", body)
	if cfg == nil {
		return nil, diags
	}
	return cfg.(*Config), ""
}

type harness struct {
	t       testing.TB
	cfg     *Config
	dir     string
	tr      *transform
	out     *agenttest.Capture
	dead    *agenttest.Capture
	metrics *agent.Metrics
}

func newHarness(t testing.TB, body, dir string) *harness {
	t.Helper()
	cfg, diags := load(t, body)
	if cfg == nil {
		t.Fatalf("config:\n%s", diags)
	}
	h := &harness{t: t, cfg: cfg, dir: dir}
	h.start()
	return h
}

// start builds the transform (again) over the same data directory.
func (h *harness) start() {
	var set agent.Settings
	set, h.out, h.dead, h.metrics = agenttest.TransformSettings("transform.ctx", "correlate", h.dir)
	h.tr = newTransform(set, h.cfg)
}

func (h *harness) process(b agent.Batch) {
	h.t.Helper()
	if err := h.tr.Process(context.Background(), b); err != nil {
		h.t.Fatal(err)
	}
}

// rec is one test record at position pos of one stream.
func rec(pos int, kind string, at time.Time, fields map[string]any) agent.Record {
	r := agent.Record{Time: at, Kind: kind, Origin: agent.Origin{Host: "h", Component: "source.test.in", Stream: "s", Offset: int64(pos), Rule: "transform.typed"}}
	r.SetFields(fields)
	return r
}

var t0 = time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)

func rollout(pos int, ns, dep, image string, at time.Time) agent.Record {
	return rec(pos, "deployment_rollout", at, map[string]any{"namespace": ns, "deployment": dep, "image": image, "direction": "up"})
}

func crash(pos int, ns, pod string, at time.Time) agent.Record {
	return rec(pos, "pod_crashloop", at, map[string]any{"namespace": ns, "pod": pod})
}

// wire is a record as a sink writes it.
func wire(r agent.Record) string { return string(agent.AppendJSON(nil, &r)) }

func rollouts(t testing.TB, r agent.Record) []string {
	t.Helper()
	l, _ := r.MaterializeFields()["rollouts"].([]any)
	var out []string
	for _, x := range l {
		m := x.(map[string]any)
		out = append(out, fmt.Sprintf("%s:%s", m["deployment"], m["image"]))
	}
	return out
}

// The pack's question: the rollouts of the namespace before the crashloop,
// newest first, at most 3, only "up" ones, with the delay; other
// namespaces and later rollouts are not listed; one answer per pod.
func TestAnswersWithTheRolloutsBefore(t *testing.T) {
	h := newHarness(t, crashloopHCL, t.TempDir())
	down := rollout(3, "shop", "api", "api:0", t0.Add(3*time.Minute))
	down.Set("direction", "down")
	h.process(agent.Batch{
		rollout(0, "shop", "web", "web:1", t0),
		rollout(1, "shop", "api", "api:1", t0.Add(time.Minute)),
		rollout(2, "other", "db", "db:9", t0.Add(90*time.Second)),
		down,
		rollout(4, "shop", "api", "api:2", t0.Add(4*time.Minute)),
		rollout(5, "shop", "web", "web:2", t0.Add(5*time.Minute)),
	})
	h.process(agent.Batch{
		crash(6, "shop", "api-1", t0.Add(6*time.Minute)),
		crash(7, "shop", "api-1", t0.Add(7*time.Minute)), // the same pod again
		rollout(8, "shop", "api", "api:3", t0.Add(8*time.Minute)),
		crash(9, "shop", "api-2", t0.Add(10*time.Minute)),
	})
	got := h.out.Records()
	if len(got) != 2 {
		t.Fatalf("%d answers, want 2 (one per pod):\n%v", len(got), got)
	}
	if r := rollouts(t, got[0]); !reflect.DeepEqual(r, []string{"web:web:2", "api:api:2", "api:api:1"}) {
		t.Errorf("first answer lists %v", r)
	}
	if r := rollouts(t, got[1]); !reflect.DeepEqual(r, []string{"api:api:3", "web:web:2", "api:api:2"}) {
		t.Errorf("second answer lists %v", r)
	}
	f := got[0].MaterializeFields()
	first := f["rollouts"].([]any)[0].(map[string]any)
	if first["delay_s"] != 60.0 || !first["time"].(time.Time).Equal(t0.Add(5*time.Minute)) || first["kind"] != "deployment_rollout" {
		t.Errorf("first listed rollout = %v", first)
	}
	if got[0].Kind != "crashloop_context" || fmt.Sprint(got[0].Entity) != "[{namespace shop} {pod api-1}]" || f["pod"] != "api-1" {
		t.Errorf("answer kind %q entity %v fields %v", got[0].Kind, got[0].Entity, f)
	}
	trig := crash(6, "shop", "api-1", t0.Add(6*time.Minute))
	if f["trigger_id"] != trig.EnsureID() {
		t.Errorf("trigger_id %v, want the crashloop record's id %s", f["trigger_id"], trig.EnsureID())
	}
	want := trig.Origin
	want.Derive("transform.ctx", 0)
	if got[0].Origin != want || got[0].EnsureID() != want.ComputeID() {
		t.Errorf("origin %+v, want the trigger's, derived: %+v", got[0].Origin, want)
	}
	if n := agenttest.Metric(h.metrics, "octoagent_correlate_suppressed_total"); n != 1 {
		t.Errorf("suppressed = %v, want 1", n)
	}
}

// Remembered records hold their sources' commits until the window is
// saved: a position is committed only once the state that holds its
// records is on disk.
func TestHoldsCommitsUntilSaved(t *testing.T) {
	h := newHarness(t, crashloopHCL, t.TempDir())
	acks := agent.NewAcks()
	committed := -1
	tr := agent.NewTracker(acks, func(p int) { committed = p }, nil)
	b := agent.Batch{rollout(0, "shop", "api", "api:1", t0), crash(1, "shop", "p", t0.Add(time.Minute)), rec(2, "other_kind", t0, map[string]any{})}
	tok := tr.Track(len(b), 2)
	for i := range b {
		b[i].SetToken(tok)
	}
	h.process(b)
	if committed != -1 {
		t.Fatalf("committed %d before the window was saved", committed)
	}
	if err := h.tr.save(); err != nil {
		t.Fatal(err)
	}
	if committed != 2 {
		t.Fatalf("committed %d after the save, want 2", committed)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "state", "transform.ctx.json")); err != nil {
		t.Fatal(err)
	}
	if acks.OverAcked() != 0 || acks.InFlight() != 0 {
		t.Errorf("over-acked %d, in flight %d", acks.OverAcked(), acks.InFlight())
	}
}

// A restart (Close, then a new transform on the same data directory)
// gives a trigger the answer an uninterrupted run gives, with the same id;
// the trigger read again gets its first answer again; rollouts read again
// are not listed twice.
func TestRestartSameAnswerSameID(t *testing.T) {
	recs := agent.Batch{
		rollout(0, "shop", "api", "api:1", t0),
		rollout(1, "shop", "api", "api:2", t0.Add(time.Minute)),
		rollout(2, "shop", "api", "api:3", t0.Add(2*time.Minute)),
		crash(3, "shop", "api-1", t0.Add(3*time.Minute)),
	}
	ref := newHarness(t, crashloopHCL, t.TempDir())
	ref.process(agenttest.Clones(recs))
	want := ref.out.Records()

	h := newHarness(t, crashloopHCL, t.TempDir())
	h.process(agenttest.Clones(recs[:3]))
	if err := h.tr.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.process(agenttest.Clones(recs[1:3])) // read again: replaced, not duplicated
	h.process(agenttest.Clones(recs[3:]))
	got := h.out.Records()
	if len(got) != 1 || wire(got[0]) != wire(want[0]) {
		t.Fatalf("after a restart:\n%v\nwant\n%v", got, want)
	}
	h.tr.Close()
	h.start()
	h.process(agenttest.Clones(recs[3:])) // the trigger read again
	again := h.out.Records()
	if len(again) != 1 || wire(again[0]) != wire(want[0]) {
		t.Fatalf("the trigger read again got:\n%v\nwant\n%v", again, want)
	}
	if n := agenttest.Metric(h.metrics, "octoagent_correlate_replayed_total"); n != 1 {
		t.Errorf("replayed = %v, want 1", n)
	}
}

// Records that do not fit go to dead_letter with the reason: a key that is
// missing, a condition that fails to run.
func TestDeadLetters(t *testing.T) {
	h := newHarness(t, crashloopHCL, "")
	noNS := rollout(0, "", "api", "api:1", t0)
	h.process(agent.Batch{noNS, crash(1, "", "p", t0)})
	dead := h.dead.Records()
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dead))
	}
	for _, d := range dead {
		f := d.MaterializeFields()
		if f["reason"] != "no_key" || !strings.Contains(fmt.Sprint(f["errors"]), "namespace is empty") {
			t.Errorf("dead letter %v", f)
		}
	}
}

// enrich adds the list to the trigger itself; forward = "all" passes
// every record on.
func TestEnrichAndForwardAll(t *testing.T) {
	body := strings.Replace(crashloopHCL, `entity = ["namespace", "pod"]`, `enrich = true`, 1)
	body = strings.Replace(body, `save_interval = "1h"`, `save_interval = "1h"
  forward       = "all"`, 1)
	h := newHarness(t, body, "")
	h.process(agent.Batch{rollout(0, "shop", "api", "api:1", t0), crash(1, "shop", "p", t0.Add(time.Second)), rec(2, "other", t0, map[string]any{"a": int64(1)})})
	got := h.out.Records()
	if len(got) != 3 || got[0].Kind != "deployment_rollout" || got[1].Kind != "pod_crashloop" || got[2].Kind != "other" {
		t.Fatalf("forwarded %v", got)
	}
	if r := rollouts(t, got[1]); !reflect.DeepEqual(r, []string{"api:api:1"}) {
		t.Errorf("enriched trigger lists %v", r)
	}
	if got[1].Origin.Rule != "transform.typed>transform.ctx" {
		t.Errorf("enriched origin rule %q", got[1].Origin.Rule)
	}
}

// Config mistakes are diagnostics at the attribute, with a hint.
func TestConfigDiagnostics(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`trigger {
  key = "namespace"
}`, "Missing remember block"},
		{`remember {
  kinds = ["x"]
}
trigger {
  key = "ns"
}`, "Missing key"},
		{`remember {
  key  = "ns"
  when = "status +"
}
trigger {
  key = "ns"
}`, "test.hcl:6:10: error: Invalid expression"},
		{`remember {
  key    = "ns"
  fields = { id = "x" }
}
trigger {
  key = "ns"
}`, "Reserved field id"},
		{`forward = "some"
remember {
  key = "ns"
}
trigger {
  key = "ns"
}`, "Invalid forward"},
		{`remember {
  key     = "ns"
  max_age = "soon"
}
trigger {
  key = "ns"
}`, "Invalid max_age"},
		{`remember {
  key    = "ns"
  schema = schema.nope
}
trigger {
  key = "ns"
}`, "Unknown schema schema.nope"},
	} {
		_, diags := load(t, c.body)
		if !strings.Contains(diags, c.want) {
			t.Errorf("config\n%s\ngave\n%s\nwant %q", c.body, diags, c.want)
		}
	}
}

// A record both remembered and a trigger (the previous runs of a job) is
// answered with what came before it, never itself, then remembered; with
// enrich, what is remembered of it is taken before it is enriched.
func TestRememberedTrigger(t *testing.T) {
	for _, enrich := range []bool{false, true} {
		h := newHarness(t, fmt.Sprintf(`
  save_interval = "1h"
  remember {
    kinds  = ["job_run"]
    key    = "job"
    fields = { n = "n" }
  }
  trigger {
    kinds  = ["job_run"]
    key    = "job"
    list   = "previous"
    enrich = %t
  }`, enrich), t.TempDir())
		acks := agent.NewAcks()
		var b agent.Batch
		for i := 0; i < 3; i++ {
			r := rec(i, "job_run", t0.Add(time.Duration(i)*time.Minute), map[string]any{"job": "nightly", "n": int64(i)})
			r.SetToken(acks.NewToken(1, nil))
			b = append(b, r)
		}
		h.process(b)
		got := h.out.Records()
		if len(got) != 3 {
			t.Fatalf("enrich=%v: %d answers", enrich, len(got))
		}
		for i, r := range got {
			prev, _ := r.MaterializeFields()["previous"].([]any)
			var ns []string
			for _, p := range prev {
				ns = append(ns, fmt.Sprint(p.(map[string]any)["n"]))
				if _, nested := p.(map[string]any)["previous"]; nested {
					t.Errorf("enrich=%v: a remembered run holds its own answer", enrich)
				}
			}
			want := []string{"1", "0"}[2-i:]
			if i == 0 {
				want = nil
			}
			if !reflect.DeepEqual(ns, want) {
				t.Errorf("enrich=%v: run %d lists %v, want %v", enrich, i, ns, want)
			}
		}
		if acks.InFlight() != 3 {
			t.Errorf("enrich=%v: %d records resolved before the save", enrich, 3-acks.InFlight())
		}
		h.tr.save()
		if acks.InFlight() != 0 || acks.OverAcked() != 0 {
			t.Errorf("enrich=%v: after the save, %d in flight, %d over-acked", enrich, acks.InFlight(), acks.OverAcked())
		}
	}
}
