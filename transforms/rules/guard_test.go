package rules

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

// nilMapStep panics on the line "boom".
type nilMapStep struct{}

func (nilMapStep) Name() string { return "test.panic" }
func (nilMapStep) Apply(_ context.Context, r *agent.Record) error {
	if string(r.Raw) == "boom" {
		var m map[string]int
		m["x"] = 1 // a real runtime panic: assignment to a nil map
	}
	return nil
}

// A step that panics dead-letters the record (reason panic, the step
// named); the records around it go on.
func TestPanicInStepIsDeadLettered(t *testing.T) {
	tr, out, dl := build(t, `parse "awk" { program = "{ set(\"n\", $1) }" }`)
	tr.cfg.Steps = append(tr.cfg.Steps, nilMapStep{})
	if err := tr.Process(context.Background(), raw("1", "boom", "3")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 2 || len(dl.got) != 1 {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	f := dl.got[0].MaterializeFields()
	if f["reason"] != "panic" || f["step"] != "test.panic" || !strings.Contains(fmt.Sprint(f["errors"]), "nil map") {
		t.Fatalf("dead letter %v", f)
	}
}

// killStep kills the process on the line "kill", as the kernel's OOM
// killer would in the middle of a runaway allocation.
type killStep struct{}

func (killStep) Name() string { return "test.kill" }
func (killStep) Apply(_ context.Context, r *agent.Record) error {
	if string(r.Raw) == "kill" {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	}
	return nil
}

func guardTransform(t *testing.T, dataDir string) (*transform, *collect, *collect) {
	c, d := decodeRules(t, `where = "true"`)
	if d.HasErrors() {
		t.Fatal(d)
	}
	c.Steps = append(c.Steps, killStep{})
	out, dl := &collect{}, &collect{}
	m := agent.NewMetrics(nil)
	tr, err := NewFactory().Create(agent.Settings{ID: "transform.t", DataDir: dataDir, Metrics: m.For("transform.t"), Out: out, DeadLetter: dl}, c)
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*transform), out, dl
}

func poisonLines() agent.Batch {
	b := raw("a", "kill", "c")
	for i := range b {
		b[i].Origin.Stream = "s1"
	}
	return b
}

// TestPoisonPill: a record that kills the process (SIGKILL, as the OOM
// killer sends) is run again once after the first death (a process may
// be killed for reasons of its own), and after the second death it is
// dead-lettered (reason crashed) instead of killing every start.
func TestPoisonPill(t *testing.T) {
	if dir := os.Getenv("OCTOAGENT_TEST_POISON_DIR"); dir != "" {
		tr, _, _ := guardTransform(t, dir)
		tr.Process(context.Background(), poisonLines())
		t.Fatal("the record did not kill the process")
	}
	dir := t.TempDir()
	for run := 1; run <= 2; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPoisonPill$", "-test.count=1")
		cmd.Env = append(os.Environ(), "OCTOAGENT_TEST_POISON_DIR="+dir)
		outb, err := cmd.CombinedOutput()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if err == nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: want the process killed by the record, got %v:\n%s", run, err, outb)
		}
	}
	tr, out, dl := guardTransform(t, dir)
	defer tr.Close()
	if err := tr.Process(context.Background(), poisonLines()); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 2 || len(dl.got) != 1 {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	f := dl.got[0].MaterializeFields()
	if f["reason"] != "crashed" || string(dl.got[0].Raw) != "kill" && f["raw"] != "kill" {
		t.Fatalf("dead letter %v", f)
	}
}

// One death on a record is not enough: it runs again.
func TestInFlightOneStrike(t *testing.T) {
	dir := t.TempDir()
	m, err := agent.OpenInFlight(dir, "transform.t", nil)
	if err != nil {
		t.Fatal(err)
	}
	o := agent.Origin{Component: "source.stdin.in", Stream: "s1", Offset: 7}
	m.Begin(&o) // and the process dies: no End, no Close
	m2, err := agent.OpenInFlight(dir, "transform.t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if m2.Poisoned(&o) || m2.Strikes(&o) != 1 {
		t.Fatalf("poisoned %v strikes %d after one death", m2.Poisoned(&o), m2.Strikes(&o))
	}
	// A clean stop between records clears the suspicion.
	m2.Close()
	m3, _ := agent.OpenInFlight(dir, "transform.t", nil)
	defer m3.Close()
	if m3.Strikes(&o) != 0 {
		t.Fatalf("strikes %d after a clean stop", m3.Strikes(&o))
	}
}

// blockStep ignores its budget's cancellation: it waits for release.
type blockStep struct {
	budget  *deadline
	release chan struct{}
	once    sync.Once
}

func (s *blockStep) Name() string { return "test.block" }
func (s *blockStep) Apply(ctx context.Context, _ *agent.Record) error {
	s.budget.start(ctx)
	defer s.budget.stop()
	<-s.release
	return nil
}
func (s *blockStep) Stuck(now time.Time) (time.Duration, time.Duration, bool) {
	return s.budget.stuck(now)
}

// Readiness reports a step stuck past its budget, and recovers after.
func TestReadyReportsStuckStep(t *testing.T) {
	tr, out, _ := build(t, `parse "awk" { program = "{ set(\"n\", $1) }" }`)
	bs := &blockStep{budget: newDeadline(10 * time.Millisecond), release: make(chan struct{})}
	tr.cfg.Steps = append(tr.cfg.Steps, bs)
	if err := tr.Ready(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { tr.Process(context.Background(), raw("1")); close(done) }()
	deadline := time.Now().Add(time.Minute)
	for tr.Ready() == nil {
		if time.Now().After(deadline) {
			t.Fatal("readiness never reported the stuck step")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := tr.Ready(); !strings.Contains(err.Error(), "test.block") || !strings.Contains(err.Error(), "budget of 10ms") {
		t.Fatalf("readiness says %v", err)
	}
	close(bs.release)
	<-done
	if err := tr.Ready(); err != nil || len(out.got) != 1 {
		t.Fatalf("after release: ready %v, records %d", err, len(out.got))
	}
}
