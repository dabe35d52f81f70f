package assemble

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/sinks/stdout"
)

// runHCL is the shape of the CI pack's assemble, on test records.
const runHCL = `
  kind          = "run_summary"
  key           = "workflow + '/' + run"
  entity        = ["workflow", "run"]
  settle        = "2s"
  timeout       = "1h"
  save_interval = "1h" # the tests save by hand

  header {
    kinds  = ["run"]
    fields = { workflow = "workflow", run = "run", status = "status", commit = "commit" }
  }

  part "steps" {
    kinds  = ["step"]
    id     = "name"
    fields = { name = "name", status = "status", duration_s = "duration_s" }
  }

  complete {
    kinds = ["run"]
    when  = "status in ['success', 'failure']"
  }
`

func registry() *agent.Registry {
	return agent.NewRegistry(stdin.NewFactory(), NewFactory(), stdout.NewFactory())
}

func load(t testing.TB, body string) (*Config, string) {
	t.Helper()
	cfg, diags := agenttest.LoadTransform(t, registry(), "assemble", "runs", body)
	if cfg == nil {
		return nil, diags
	}
	return cfg.(*Config), ""
}

// clock is a test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t       testing.TB
	cfg     *Config
	dir     string
	clock   *clock
	tr      *transform
	out     agent.Output
	cap     *agenttest.Capture
	dead    *agenttest.Capture
	metrics *agent.Metrics
}

func newHarness(t testing.TB, body, dir string) *harness {
	t.Helper()
	cfg, diags := load(t, body)
	if cfg == nil {
		t.Fatalf("config:\n%s", diags)
	}
	h := &harness{t: t, cfg: cfg, dir: dir, clock: &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}}
	h.start()
	return h
}

func (h *harness) start() {
	var set agent.Settings
	set, h.cap, h.dead, h.metrics = agenttest.TransformSettings("transform.runs", "assemble", h.dir)
	if h.out != nil { // a test's own output
		set.Out = h.out
	}
	h.tr = newTransform(set, h.cfg, h.clock.now)
	h.t.Cleanup(func() { h.tr.loop.Stop() })
}

func (h *harness) process(b agent.Batch) {
	h.t.Helper()
	if err := h.tr.Process(context.Background(), b); err != nil {
		h.t.Fatal(err)
	}
}

// tick runs the transform's loop once, at the test clock's time.
func (h *harness) tick() { h.tr.tick() }

var t0 = time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)

func rec(pos int, kind string, at time.Time, fields map[string]any) agent.Record {
	r := agent.Record{Time: at, Kind: kind, Origin: agent.Origin{Host: "h", Component: "source.test.in", Stream: "s", Offset: int64(pos), Rule: "transform.typed"}}
	r.SetFields(fields)
	return r
}

func run(pos int, wf, id, status string, at time.Time) agent.Record {
	return rec(pos, "run", at, map[string]any{"workflow": wf, "run": id, "status": status, "commit": "c" + id})
}

func step(pos int, wf, id, name, status string, dur float64, at time.Time) agent.Record {
	return rec(pos, "step", at, map[string]any{"workflow": wf, "run": id, "name": name, "status": status, "duration_s": dur})
}

func wire(r agent.Record) string { return string(agent.AppendJSON(nil, &r)) }

// one CI run: running, three steps (test first running, then success),
// the end.
func oneRun(wf, id string, base int, end string) agent.Batch {
	return agent.Batch{
		run(base, wf, id, "running", t0),
		step(base+1, wf, id, "checkout", "success", 3, t0.Add(time.Second)),
		step(base+2, wf, id, "test", "running", 0, t0.Add(4*time.Second)),
		step(base+3, wf, id, "test", "success", 186, t0.Add(4*time.Second)),
		step(base+4, wf, id, "image", "failure", 105, t0.Add(190*time.Second)),
		run(base+5, wf, id, end, t0),
	}
}

func steps(r agent.Record) string {
	var out []string
	l, _ := r.MaterializeFields()["steps"].([]any)
	for _, x := range l {
		m := x.(map[string]any)
		out = append(out, fmt.Sprintf("%s=%s/%v", m["name"], m["status"], m["duration_s"]))
	}
	return strings.Join(out, ",")
}

// A run's records become one summary once its end came and settle passed:
// the header's latest fields, each step's latest event in time order, the
// end record's origin.
func TestSummaryAfterSettle(t *testing.T) {
	h := newHarness(t, runHCL, t.TempDir())
	h.process(oneRun("build", "1", 0, "failure"))
	h.tick()
	if n := len(h.cap.Records()); n != 0 {
		t.Fatalf("%d summaries before settle", n)
	}
	h.clock.add(2 * time.Second)
	h.tick()
	got := h.cap.Records()
	if len(got) != 1 {
		t.Fatalf("%d summaries, want 1", len(got))
	}
	s := got[0]
	f := s.MaterializeFields()
	if s.Kind != "run_summary" || f["status"] != "failure" || f["complete"] != true || f["commit"] != "c1" || f["incomplete_reason"] != nil {
		t.Errorf("summary %s", wire(s))
	}
	if st := steps(s); st != "checkout=success/3,test=success/186,image=failure/105" {
		t.Errorf("steps %s", st)
	}
	want := run(5, "build", "1", "failure", t0).Origin
	want.Derive("transform.runs", 0)
	if s.Origin != want || fmt.Sprint(s.Entity) != "[{workflow build} {run 1}]" || !s.Time.Equal(t0) {
		t.Errorf("origin %+v entity %v time %v", s.Origin, s.Entity, s.Time)
	}
	if got := agenttest.Metric(h.metrics, "octoagent_assemble_summaries_total"); got != 1 {
		t.Errorf("summaries_total %v", got)
	}
	// Read again, the run's records change nothing; a new one is late.
	h.process(oneRun("build", "1", 0, "failure"))
	h.process(agent.Batch{step(9, "build", "1", "deploy", "success", 1, t0.Add(time.Hour))})
	h.clock.add(time.Minute)
	h.tick()
	if n := len(h.cap.Records()); n != 1 {
		t.Errorf("%d summaries after the records were read again, want 1", n)
	}
	dead := h.dead.Records()
	if len(dead) != 1 || dead[0].MaterializeFields()["reason"] != "late" {
		t.Fatalf("dead letters %v, want one late", dead)
	}
	if agenttest.Metric(h.metrics, "octoagent_assemble_absorbed_total") != 6 {
		t.Errorf("absorbed %v, want 6", agenttest.Metric(h.metrics, "octoagent_assemble_absorbed_total"))
	}
}

// A run with no end is summarized, incomplete, after timeout; its end
// arriving later is late.
func TestTimeoutIncomplete(t *testing.T) {
	h := newHarness(t, runHCL, "")
	b := oneRun("build", "2", 0, "success")
	h.process(b[:5])
	h.clock.add(59 * time.Minute)
	h.tick()
	if n := len(h.cap.Records()); n != 0 {
		t.Fatalf("%d summaries before the timeout", n)
	}
	h.clock.add(time.Minute)
	h.tick()
	got := h.cap.Records()
	if len(got) != 1 {
		t.Fatalf("%d summaries, want 1", len(got))
	}
	f := got[0].MaterializeFields()
	if f["complete"] != false || f["incomplete_reason"] != "timeout" || f["status"] != "running" {
		t.Errorf("summary %s", wire(got[0]))
	}
	want := b[0].Origin // the group's first record
	want.Derive("transform.runs", 0)
	if got[0].Origin != want {
		t.Errorf("origin %+v, want %+v", got[0].Origin, want)
	}
	h.process(b[5:])
	if d := h.dead.Records(); len(d) != 1 || d[0].MaterializeFields()["reason"] != "late" {
		t.Errorf("the end after the timeout: dead letters %v", d)
	}
}

// A restart in the middle of a run neither loses its steps nor emits it
// twice: the summary is the uninterrupted run's, id included.
func TestRestartMidRun(t *testing.T) {
	ref := newHarness(t, runHCL, "")
	ref.process(oneRun("build", "3", 0, "success"))
	ref.clock.add(3 * time.Second)
	ref.tick()
	want := ref.cap.Records()

	h := newHarness(t, runHCL, t.TempDir())
	b := oneRun("build", "3", 0, "success")
	h.process(b[:3])
	if err := h.tr.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.process(oneRun("build", "3", 0, "success")[1:3]) // read again
	h.process(b[3:])
	h.clock.add(3 * time.Second)
	h.tick()
	got := h.cap.Records()
	if len(want) != 1 || len(got) != 1 || wire(got[0]) != wire(want[0]) {
		t.Fatalf("after a restart:\n%v\nwant\n%v", got, want)
	}
}

// Records are held until the state is saved.
func TestHoldsCommitsUntilSaved(t *testing.T) {
	h := newHarness(t, runHCL, t.TempDir())
	acks := agent.NewAcks()
	committed := -1
	tr := agent.NewTracker(acks, func(p int) { committed = p }, nil)
	b := oneRun("build", "4", 0, "success")
	tok := tr.Track(len(b), 5)
	for i := range b {
		b[i].SetToken(tok)
	}
	h.process(b)
	if committed != -1 {
		t.Fatalf("committed %d before the save", committed)
	}
	h.tick() // not settled yet: saves the groups
	if committed != 5 {
		t.Fatalf("committed %d after the save, want 5", committed)
	}
}

// failing is an output whose consumer fails the first n records it gets.
type failing struct {
	mu   sync.Mutex
	n    int
	next *agenttest.Capture
}

func (f *failing) Emit(ctx context.Context, b agent.Batch) error {
	f.mu.Lock()
	fail := f.n > 0
	if fail {
		f.n--
	}
	f.mu.Unlock()
	if fail {
		agent.AckAll(b, agent.Failed)
		return nil
	}
	return f.next.Emit(ctx, b)
}

// A summary a sink fails is emitted again, with the same id, until one
// takes it; once taken it is not kept.
func TestSummaryRetriedUntilDelivered(t *testing.T) {
	cfg, _ := load(t, runHCL)
	h := &harness{t: t, cfg: cfg, dir: t.TempDir(), clock: &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}}
	f := &failing{n: 1, next: &agenttest.Capture{}}
	h.out = f
	h.start()
	h.process(oneRun("build", "5", 0, "success"))
	h.clock.add(3 * time.Second)
	h.tick()
	if n := len(f.next.Records()); n != 0 {
		t.Fatalf("%d delivered, want 0 (the first try fails)", n)
	}
	h.clock.add(3 * time.Second)
	h.tick()
	got := f.next.Records()
	if len(got) != 1 || agenttest.Metric(h.metrics, "octoagent_assemble_retries_total") != 1 {
		t.Fatalf("delivered %d, retries %v", len(got), agenttest.Metric(h.metrics, "octoagent_assemble_retries_total"))
	}
	h.tr.mu.Lock()
	pend := len(h.tr.gs.pend)
	h.tr.mu.Unlock()
	if pend != 0 {
		t.Errorf("%d summaries still pending", pend)
	}
}

// At the end of the input (run --once, shutdown), complete groups are
// summarized at once; open ones stay for the next start.
func TestFlushSummarizesComplete(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, runHCL, dir)
	h.process(oneRun("build", "6", 0, "success"))
	h.process(oneRun("build", "7", 10, "success")[:3])
	if err := h.tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.cap.Records(); len(got) != 1 || got[0].MaterializeFields()["run"] != "6" {
		t.Fatalf("flush emitted %v", got)
	}
	h.tr.Close()
	h.start()
	h.process(oneRun("build", "7", 10, "success")[3:])
	h.tr.Flush(context.Background())
	got := h.cap.Records()
	if len(got) != 1 || steps(got[0]) != "checkout=success/3,test=success/186,image=failure/105" {
		t.Fatalf("after a restart, run 7: %v", got)
	}
}

// Config mistakes are diagnostics, with a hint.
func TestConfigDiagnostics(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`key = "a"`, "Nothing to assemble"},
		{`part "steps" {
  id = "name"
}`, "Missing key"},
		{`key = "a"
part "steps" {
  kinds = ["step"]
}`, "Missing id"},
		{`key = "a"
header {
  fields = { complete = "x" }
}`, "Reserved field complete"},
		{`key = "a"
settle = "later"
header {}`, "Invalid settle"},
		{`key = "a"
header {
  fields = { steps = "x" }
}
part "steps" {
  id = "n"
}`, "hides a header field"},
	} {
		_, diags := load(t, c.body)
		if !strings.Contains(diags, c.want) {
			t.Errorf("config\n%s\ngave\n%s\nwant %q", c.body, diags, c.want)
		}
	}
}
