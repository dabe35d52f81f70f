package agent_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/octostore/agent/internal/testfig"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

// countingSource emits total records in batches of size, each batch ending
// at position (index of its last record)+1, and checks every commit.
type countingSource struct {
	set      agent.Settings
	total    int
	size     int
	emitted  atomic.Int64
	inEmit   atomic.Bool
	onCommit func(pos int)
}

func (s *countingSource) Run(ctx context.Context) error {
	tr := agent.NewTracker(s.set.Acks, s.onCommit, nil)
	for off := 0; off < s.total; off += s.size {
		n := min(s.size, s.total-off)
		tok := tr.Track(n, off+n)
		b := make(agent.Batch, n)
		for i := range b {
			b[i].Origin = agent.Origin{Component: s.set.ID, Stream: "s", Offset: int64(off + i)}
			b[i].SetToken(tok)
		}
		s.inEmit.Store(true)
		err := s.set.Out.Emit(ctx, b)
		s.inEmit.Store(false)
		if err != nil {
			return nil
		}
		s.emitted.Add(int64(n))
	}
	return nil
}

// funcSink hands each batch to a function.
type funcSink struct {
	consume func(ctx context.Context, b agent.Batch)
	flush   func(ctx context.Context)
}

func (s *funcSink) Consume(ctx context.Context, b agent.Batch) error { s.consume(ctx, b); return nil }
func (s *funcSink) Flush(ctx context.Context) error {
	if s.flush != nil {
		s.flush(ctx)
	}
	return nil
}

func sourceFactory(build func(set agent.Settings) agent.Source) *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[struct{}, agent.Source]{Type: "test",
		Create: func(set agent.Settings, _ *struct{}) (agent.Source, error) { return build(set), nil }})
}

func sinkFactory(typ string, build func(set agent.Settings) agent.Sink) *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: typ,
		Create: func(set agent.Settings, _ *struct{}) (agent.Sink, error) { return build(set), nil }})
}

func graph(t *testing.T, nodes ...agent.NodeSpec) agent.Graph {
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir = t.TempDir()
	g.Agent.HTTPAddr = ""
	g.Agent.CheckpointInterval = 10 * time.Millisecond
	g.Nodes = nodes
	return g
}

// A deliberately slow sink: the queue never holds more than its capacity,
// and the source is held in Emit while the queue is full.
func TestSlowSinkPausesSourceWithinQueueCapacity(t *testing.T) {
	const capacity, batch, total = 500, 100, 5000
	var src *countingSource
	release := make(chan struct{})
	var consumed atomic.Int64
	g := graph(t,
		agent.NodeSpec{ID: "source.test.gen", Kind: agent.KindSource, Type: "test", Name: "gen",
			Factory: sourceFactory(func(set agent.Settings) agent.Source {
				src = &countingSource{set: set, total: total, size: batch, onCommit: func(int) {}}
				return src
			})},
		agent.NodeSpec{ID: "sink.slow.out", Kind: agent.KindSink, Type: "slow", Name: "out",
			Inputs: []string{"source.test.gen"}, QueueCapacity: capacity,
			Factory: sinkFactory("slow", func(agent.Settings) agent.Sink {
				return &funcSink{consume: func(_ context.Context, b agent.Batch) {
					<-release
					consumed.Add(int64(len(b)))
					agent.AckAll(b, agent.Delivered)
				}}
			})},
	)
	rt, err := agent.New(g, agent.Options{Once: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rt.Run(context.Background()) }()
	q := rt.Queue("sink.slow.out")

	// The sink holds one batch and waits; the queue fills to capacity (a
	// batch less if the sink took its batch from a full queue: a waiting
	// source is woken only once the queue drained to a quarter, see
	// Queue.Pop); the source must then sit in Emit, having emitted exactly
	// what the queue holds and the batch in the sink's hands.
	waitFor(t, func() bool { return q.Depth() >= capacity-batch && src.inEmit.Load() })
	time.Sleep(50 * time.Millisecond) // give a runaway source the chance to show itself
	if got, depth := src.emitted.Load(), q.Depth(); depth > capacity || got != int64(depth+batch) {
		t.Fatalf("source emitted %d records while the sink was stalled, the queue holds %d; want the queue within its capacity %d, and the records emitted what it holds + the batch in the sink's hands", got, depth, capacity)
	}
	if !src.inEmit.Load() {
		t.Fatal("source is not paused in Emit while the queue is full")
	}
	// Let the sink go slowly, checking the bound as records flow.
	go func() {
		for {
			select {
			case release <- struct{}{}:
			case <-done:
				return
			}
		}
	}()
	for consumed.Load() < total {
		if d := q.Depth(); d > capacity {
			t.Fatalf("queue depth %d > capacity %d", d, capacity)
		}
		if e, c := src.emitted.Load(), consumed.Load(); e-c > capacity+2*batch {
			t.Fatalf("source ran %d records ahead of the sink; bound is %d", e-c, capacity+2*batch)
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, func() bool { return rt.Acks().InFlight() == 0 })
	if m := q.MaxDepth(); m > capacity {
		t.Fatalf("max queue depth %d > capacity %d", m, capacity)
	}
	testfig.Report(t, "capacity %d, max depth %d, records %d", capacity, q.MaxDepth(), consumed.Load())
}

// One source fans out to two sinks; one delivers everything late and out of
// order, the other fails some records. The committed position never passes
// a record that is not final at both sinks.
func TestFanOutCommitNeverPassesUnfinalRecord(t *testing.T) {
	for _, failEvery := range []int{0, 977} {
		t.Run(fmt.Sprintf("fail_every_%d", failEvery), func(t *testing.T) {
			const total, batch = 5000, 50
			var mu sync.Mutex
			final := map[string][]bool{"a": make([]bool, total), "b": make([]bool, total)}
			var lastCommit atomic.Int64
			firstFailed := total
			if failEvery > 0 {
				firstFailed = failEvery
			}
			var violations atomic.Int64
			onCommit := func(pos int) {
				mu.Lock()
				defer mu.Unlock()
				for i := 0; i < pos; i++ {
					if !final["a"][i] || !final["b"][i] {
						violations.Add(1)
						t.Errorf("committed %d but record %d is not final at both sinks (a=%v b=%v)", pos, i, final["a"][i], final["b"][i])
						return
					}
				}
				lastCommit.Store(int64(pos))
			}
			mark := func(which string, r *agent.Record) {
				mu.Lock()
				final[which][r.Origin.Offset] = true
				mu.Unlock()
			}
			rng := rand.New(rand.NewPCG(7, 7))
			var rngMu sync.Mutex
			var held sync.WaitGroup
			g := graph(t,
				agent.NodeSpec{ID: "source.test.gen", Kind: agent.KindSource, Type: "test", Name: "gen",
					Factory: sourceFactory(func(set agent.Settings) agent.Source {
						return &countingSource{set: set, total: total, size: batch, onCommit: onCommit}
					})},
				agent.NodeSpec{ID: "sink.late.a", Kind: agent.KindSink, Type: "late", Name: "a",
					Inputs: []string{"source.test.gen"}, QueueCapacity: 400,
					Factory: sinkFactory("late", func(agent.Settings) agent.Sink {
						return &funcSink{consume: func(_ context.Context, b agent.Batch) {
							for i := range b {
								r := b[i]
								rngMu.Lock()
								d := time.Duration(rng.IntN(300)) * time.Microsecond
								rngMu.Unlock()
								held.Add(1)
								time.AfterFunc(d, func() { mark("a", &r); r.Ack(agent.Delivered); held.Done() })
							}
						}, flush: func(context.Context) { held.Wait() }}
					})},
				agent.NodeSpec{ID: "sink.flaky.b", Kind: agent.KindSink, Type: "flaky", Name: "b",
					Inputs: []string{"source.test.gen"}, QueueCapacity: 400,
					Factory: sinkFactory("flaky", func(agent.Settings) agent.Sink {
						return &funcSink{consume: func(_ context.Context, b agent.Batch) {
							for i := range b {
								off := int(b[i].Origin.Offset)
								if failEvery > 0 && off%failEvery == 0 && off > 0 {
									b[i].Ack(agent.Failed)
									continue
								}
								mark("b", &b[i])
								b[i].Ack(agent.Delivered)
							}
						}}
					})},
			)
			rt, err := agent.New(g, agent.Options{Once: true})
			if err != nil {
				t.Fatal(err)
			}
			err = rt.Run(context.Background())
			if failEvery == 0 && err != nil {
				t.Fatal(err)
			}
			if failEvery > 0 && !errors.Is(err, agent.ErrUndelivered) {
				t.Fatalf("a once run with failed records returned %v, want ErrUndelivered", err)
			}
			want := int64(total)
			if failEvery > 0 {
				want = int64(firstFailed / batch * batch) // the start of the failed record's batch
			}
			if got := lastCommit.Load(); got != want || violations.Load() != 0 {
				t.Fatalf("last commit %d, want %d (violations %d)", got, want, violations.Load())
			}
			if rt.Acks().InFlight() != 0 || rt.Acks().OverAcked() != 0 {
				t.Fatalf("in flight %d, over-acked %d", rt.Acks().InFlight(), rt.Acks().OverAcked())
			}
			testfig.Report(t, "records %d, batches %d, last commit %d", total, total/batch, lastCommit.Load())
		})
	}
}

// Each consumer of a fanned-out output gets its own copy: one changing its
// records does not show in the other's.
func TestFanOutClonesRecords(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{}
	sinkOf := func(name string, mutate bool) *agent.Factory {
		return sinkFactory(name, func(agent.Settings) agent.Sink {
			return &funcSink{consume: func(_ context.Context, b agent.Batch) {
				for i := range b {
					f := b[i].MaterializeFields()
					if mutate {
						f["message"] = "changed by " + name
					}
					mu.Lock()
					seen[name] = append(seen[name], f["message"].(string))
					mu.Unlock()
				}
				agent.AckAll(b, agent.Delivered)
			}}
		})
	}
	src := sourceFactory(func(set agent.Settings) agent.Source { return &rawSource{set: set, lines: []string{"one", "two"}} })
	g := graph(t,
		agent.NodeSpec{ID: "source.test.raw", Kind: agent.KindSource, Type: "test", Name: "raw", Factory: src},
		agent.NodeSpec{ID: "sink.m.a", Kind: agent.KindSink, Type: "m", Name: "a", Inputs: []string{"source.test.raw"}, Factory: sinkOf("m", true)},
		agent.NodeSpec{ID: "sink.k.b", Kind: agent.KindSink, Type: "k", Name: "b", Inputs: []string{"source.test.raw"}, Factory: sinkOf("k", false)},
	)
	rt, err := agent.New(g, agent.Options{Once: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(seen["k"]); got != "[one two]" {
		t.Fatalf("the second consumer saw %s; the first one's edits leaked into it", got)
	}
}

type rawSource struct {
	set   agent.Settings
	lines []string
}

func (s *rawSource) Run(ctx context.Context) error {
	tok := s.set.Acks.NewToken(len(s.lines), nil)
	b := make(agent.Batch, len(s.lines))
	for i, l := range s.lines {
		b[i].Raw = []byte(l)
		b[i].SetToken(tok)
	}
	return s.set.Out.Emit(ctx, b)
}

// On shutdown with a sink that never finishes, the drain deadline fails
// what is in flight and Run still returns.
func TestShutdownDeadlineFailsStuckRecords(t *testing.T) {
	var failedSeen atomic.Bool
	g := graph(t,
		agent.NodeSpec{ID: "source.test.gen", Kind: agent.KindSource, Type: "test", Name: "gen",
			Factory: sourceFactory(func(set agent.Settings) agent.Source {
				return &countingSource{set: set, total: 1 << 30, size: 10, onCommit: func(int) {}}
			})},
		agent.NodeSpec{ID: "sink.stuck.x", Kind: agent.KindSink, Type: "stuck", Name: "x",
			Inputs: []string{"source.test.gen"}, QueueCapacity: 50,
			Factory: sinkFactory("stuck", func(agent.Settings) agent.Sink {
				return &funcSink{consume: func(ctx context.Context, b agent.Batch) {
					<-ctx.Done() // never delivers
					failedSeen.Store(true)
					agent.AckAll(b, agent.Failed)
				}}
			})},
	)
	g.Agent.ShutdownTimeout = 100 * time.Millisecond
	rt, err := agent.New(g, agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	waitFor(t, func() bool { return rt.Queue("sink.stuck.x").Depth() >= 40 }) // full, but for the batch the sink holds
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the drain deadline")
	}
	if !failedSeen.Load() || rt.Acks().InFlight() != 0 {
		t.Fatalf("failed seen %v, in flight %d", failedSeen.Load(), rt.Acks().InFlight())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(time.Millisecond)
	}
}

// holdingTransform keeps every record it is given and hands them all on
// in Flush, as a transform that emits late (a summary) does.
type holdingTransform struct {
	set     agent.Settings
	held    agent.Batch
	flushed atomic.Bool
	late    atomic.Bool // Process called after Flush
}

func (h *holdingTransform) Process(_ context.Context, b agent.Batch) error {
	if h.flushed.Load() {
		h.late.Store(true)
	}
	h.held = append(h.held, b...)
	return nil
}

func (h *holdingTransform) Flush(ctx context.Context) error {
	h.flushed.Store(true)
	return h.set.Out.Emit(ctx, h.held)
}

// A transform that implements Flusher is flushed after its last Process
// and before its consumers' queues close: what it held reaches the sink,
// and the source commits to the end.
func TestTransformFlushedAtEndOfInput(t *testing.T) {
	const total = 1000
	var tr *holdingTransform
	var delivered atomic.Int64
	var committed atomic.Int64
	g := graph(t,
		agent.NodeSpec{ID: "source.test.gen", Kind: agent.KindSource, Type: "test", Name: "gen",
			Factory: sourceFactory(func(set agent.Settings) agent.Source {
				return &countingSource{set: set, total: total, size: 100, onCommit: func(p int) { committed.Store(int64(p)) }}
			})},
		agent.NodeSpec{ID: "transform.hold", Kind: agent.KindTransform, Type: "hold", Name: "hold",
			Inputs: []string{"source.test.gen"},
			Factory: agent.NewTransformFactory(agent.FactorySpec[struct{}, agent.Transform]{Type: "hold",
				Create: func(set agent.Settings, _ *struct{}) (agent.Transform, error) {
					tr = &holdingTransform{set: set}
					return tr, nil
				}})},
		agent.NodeSpec{ID: "sink.count.out", Kind: agent.KindSink, Type: "count", Name: "out",
			Inputs: []string{"transform.hold"},
			Factory: sinkFactory("count", func(agent.Settings) agent.Sink {
				return &funcSink{consume: func(_ context.Context, b agent.Batch) {
					delivered.Add(int64(len(b)))
					agent.AckAll(b, agent.Delivered)
				}}
			})},
	)
	rt, err := agent.New(g, agent.Options{Once: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if delivered.Load() != total || committed.Load() != total || tr.late.Load() || rt.Acks().InFlight() != 0 {
		t.Fatalf("delivered %d, committed %d (want %d each), Process after Flush %v, in flight %d", delivered.Load(), committed.Load(), total, tr.late.Load(), rt.Acks().InFlight())
	}
}

// EmitTo hands a batch to the listed consumers only; to none of them, the
// records are counted as unconsumed and resolved (dropped).
func TestRouterEmitTo(t *testing.T) {
	caps := map[string]*agenttest.Capture{"a": {}, "b": {}, "c": {}}
	var consumers []string
	src := sourceFactory(func(set agent.Settings) agent.Source {
		return sourceFunc(func(ctx context.Context) error {
			r := set.Out.(agent.Router)
			consumers = r.Consumers()
			emit := func(to []string, lines ...string) {
				tok := set.Acks.NewToken(len(lines), nil)
				b := make(agent.Batch, len(lines))
				for i, l := range lines {
					b[i].Raw = []byte(l)
					b[i].SetToken(tok)
				}
				if err := r.EmitTo(ctx, to, b); err != nil {
					t.Error(err)
				}
			}
			emit([]string{"sink.capture.a"}, "to a")
			emit([]string{"sink.capture.b", "sink.capture.c"}, "to b and c")
			emit(nil, "to nobody")
			return nil
		})
	})
	nodes := []agent.NodeSpec{{ID: "source.test.r", Kind: agent.KindSource, Type: "test", Name: "r", Factory: src}}
	for _, n := range []string{"a", "b", "c"} {
		nodes = append(nodes, agent.NodeSpec{ID: "sink.capture." + n, Kind: agent.KindSink, Type: "capture", Name: n, Inputs: []string{"source.test.r"}, Factory: caps[n].Factory("capture")})
	}
	rt, err := agent.New(graph(t, nodes...), agent.Options{Once: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(consumers) != "[sink.capture.a sink.capture.b sink.capture.c]" {
		t.Errorf("Consumers() = %v", consumers)
	}
	for n, want := range map[string]string{"a": "[to a]", "b": "[to b and c]", "c": "[to b and c]"} {
		var got []string
		for _, r := range caps[n].Records() {
			got = append(got, string(r.Raw))
		}
		if fmt.Sprint(got) != want {
			t.Errorf("%s got %v, want %s", n, got, want)
		}
	}
	if n := testutil.ToFloat64(rt.Metrics().Unconsumed.WithLabelValues("source.test.r", "default")); n != 1 {
		t.Errorf("unconsumed = %v, want 1", n)
	}
	if rt.Acks().InFlight() != 0 {
		t.Errorf("%d batches unresolved", rt.Acks().InFlight())
	}
}

type sourceFunc func(ctx context.Context) error

func (f sourceFunc) Run(ctx context.Context) error { return f(ctx) }

// A source may recycle its records' memory (Settings.Recycle) only when
// every component its records reach, on any output, forgets them past
// their outcome, and no sink among them holds them in a disk buffer.
func TestRecycleOnlyWhenEveryConsumerForgets(t *testing.T) {
	sink := func(typ string, forgets bool) *agent.Factory {
		return agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: typ,
			Create: func(agent.Settings, *struct{}) (agent.Sink, error) {
				return &funcSink{consume: func(_ context.Context, b agent.Batch) { agent.AckAll(b, agent.Delivered) }}, nil
			},
			Forgets: func(*struct{}) bool { return forgets }})
	}
	pass := func(forgets bool) *agent.Factory {
		return agent.NewTransformFactory(agent.FactorySpec[struct{}, agent.Transform]{Type: "pass",
			Create: func(set agent.Settings, _ *struct{}) (agent.Transform, error) {
				return &holdingTransform{set: set}, nil
			},
			Forgets: func(*struct{}) bool { return forgets }})
	}
	for _, c := range []struct {
		name  string
		nodes []agent.NodeSpec
		want  bool
	}{
		{"forgetting sink", []agent.NodeSpec{{ID: "sink.f.a", Kind: agent.KindSink, Type: "f", Name: "a", Inputs: []string{"source.test.s"}, Factory: sink("f", true)}}, true},
		{"sink not known to forget", []agent.NodeSpec{{ID: "sink.k.a", Kind: agent.KindSink, Type: "k", Name: "a", Inputs: []string{"source.test.s"}, Factory: sink("k", false)}}, false},
		{"disk buffer", []agent.NodeSpec{{ID: "sink.f.a", Kind: agent.KindSink, Type: "f", Name: "a", Inputs: []string{"source.test.s"}, Factory: sink("f", true), Buffer: agent.BufferSpec{Type: "disk"}}}, false},
		{"behind a transform", []agent.NodeSpec{
			{ID: "transform.pass.t", Kind: agent.KindTransform, Type: "pass", Name: "t", Inputs: []string{"source.test.s"}, Factory: pass(true)},
			{ID: "sink.f.a", Kind: agent.KindSink, Type: "f", Name: "a", Inputs: []string{"transform.pass.t"}, Factory: sink("f", true)},
			{ID: "sink.k.d", Kind: agent.KindSink, Type: "k", Name: "d", Inputs: []string{"transform.pass.t.dead_letter"}, Factory: sink("k", false)},
		}, false},
		{"dead letters", []agent.NodeSpec{
			{ID: "sink.f.a", Kind: agent.KindSink, Type: "f", Name: "a", Inputs: []string{"source.test.s"}, Factory: sink("f", true)},
			{ID: "sink.k.d", Kind: agent.KindSink, Type: "k", Name: "d", Inputs: []string{"source.test.s.dead_letter"}, Factory: sink("k", false)},
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got *bool
			src := sourceFactory(func(set agent.Settings) agent.Source {
				got = &set.Recycle
				return sourceFunc(func(context.Context) error { return nil })
			})
			nodes := append([]agent.NodeSpec{{ID: "source.test.s", Kind: agent.KindSource, Type: "test", Name: "s", Factory: src}}, c.nodes...)
			disk := func(_ agent.Settings, _ agent.BufferSpec, next agent.Sink) (agent.Sink, error) { return next, nil }
			rt, err := agent.New(graph(t, nodes...), agent.Options{Once: true, Buffers: map[string]agent.BufferFactory{"disk": disk}})
			if err != nil {
				t.Fatal(err)
			}
			rt.Close()
			if got == nil || *got != c.want {
				t.Fatalf("Recycle = %v, want %v", got != nil && *got, c.want)
			}
		})
	}
}
