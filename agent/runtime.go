package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AgentSettings are the agent-wide settings (the `agent` block).
type AgentSettings struct {
	DataDir  string
	HTTPAddr string // "" disables the HTTP server
	// AdminAddr is where Options.AdminHandlers (octoagent's /tap and
	// /-/reload) are served: "" (the default) on the HTTP server when it
	// listens on a loopback address and nowhere otherwise, AdminOff
	// nowhere, HTTPAddr on the HTTP server whatever its address, anything
	// else on a listener of its own. See http.go.
	AdminAddr          string
	ShutdownTimeout    time.Duration
	QueueCapacity      int // default input queue capacity of transforms and sinks, in records
	QueueBytes         int // and in bytes (Batch.Bytes' estimate); <= 0 after defaults: no byte bound
	CheckpointInterval time.Duration
	Host               string // node name used in record IDs; default NODE_NAME or the host name
}

// DefaultAgentSettings returns the defaults the config loader starts from.
func DefaultAgentSettings() AgentSettings {
	return AgentSettings{
		DataDir:            "/var/lib/octoagent",
		HTTPAddr:           "127.0.0.1:9598",
		ShutdownTimeout:    30 * time.Second,
		QueueCapacity:      DefaultQueueCapacity,
		QueueBytes:         DefaultQueueBytes,
		CheckpointInterval: time.Second,
	}
}

// NodeSpec is one component of the graph, decoded and validated.
type NodeSpec struct {
	ID, Type, Name string
	Kind           Kind
	// Inputs are output IDs: "source.file.nginx", "transform.x.dead_letter".
	Inputs        []string
	Factory       *Factory
	Config        any
	QueueCapacity int // 0: the agent's default
	QueueBytes    int // 0: the agent's default
	// Buffer is the sink's buffer block; Type "" or "memory" is the input
	// queue alone, any other type is built by Options.Buffers.
	Buffer BufferSpec
}

// BufferSpec is a `buffer { ... }` block.
type BufferSpec struct {
	Type       string // "memory" (default) or "disk"
	MaxRecords int    // memory: queue capacity in records (0: the agent's default)
	MaxBytes   int64  // disk: size bound
	WhenFull   string // "block" (default) or "drop_newest"
}

// BufferFactory puts a buffer of one type in front of a sink: the returned
// Sink takes the records (and resolves them once they are safe in the
// buffer) and hands them on to next.
type BufferFactory func(set Settings, spec BufferSpec, next Sink) (Sink, error)

// Graph is a whole validated configuration.
type Graph struct {
	Agent AgentSettings
	Nodes []NodeSpec
}

// Options are the run-time choices that are not part of the config.
type Options struct {
	Logger *slog.Logger
	// Once: sources stop at the end of their input, and Run returns when
	// everything read has reached an outcome.
	Once bool
	// Buffers builds the buffer types other than "memory", by type name.
	// Each binary lists the ones it links.
	Buffers map[string]BufferFactory
	// Handlers are extra routes of the HTTP server (by pattern), beside
	// /metrics, /healthz and /readyz.
	Handlers map[string]http.Handler
	// AdminHandlers are the routes that change state or show record
	// contents; they are served where AgentSettings.AdminAddr says, never
	// on a network address unless it says so.
	AdminHandlers map[string]http.Handler
	// AdminToken returns the token the admin routes require (a bearer
	// token: Authorization: Bearer TOKEN), read from a file or the
	// environment, never from the config. With no token (nil, or an empty
	// one), the admin routes are open on a loopback address and refused on
	// any other. See http.go.
	AdminToken func() (Secret, error)
	// Metrics, when set, are the collectors the runtime counts on, kept
	// from a runtime to the next (octoagent's reloads), so that counters
	// stay monotonic; nil gives the runtime collectors of its own.
	Metrics *Metrics
}

// Runtime runs a graph: it builds every component with its outputs wired to
// the input queues of its consumers, runs them, and shuts them down in order.
type Runtime struct {
	g       Graph
	opt     Options
	log     *slog.Logger
	metrics *Metrics
	acks    *Acks
	ckpt    *Checkpoints
	nodes   []*node // producers before consumers
	byID    map[string]*node
	ready   atomic.Bool
	closed  atomic.Bool
	// drainCtx ends when the drain deadline passes after a shutdown signal
	// (or when Run returns). Pushes into queues wait on it, not on the
	// signal: a batch a component already holds is handed on while the
	// pipeline drains, instead of being failed and read again.
	drainCtx    context.Context
	cancelDrain context.CancelFunc
	httpLn      net.Listener
	adminLn     net.Listener // admin_addr's own listener
	adminOnHTTP bool         // the admin handlers are served on httpLn
	listened    bool         // Listen succeeded
	tap         atomic.Pointer[TapFunc]
	conditions  Conditions
}

// TapFunc sees every batch a component hands on, on port "" or
// "dead_letter", before its consumers get it. It must not keep or modify
// the records, and must return quickly.
type TapFunc func(component, port string, b Batch)

// SetTap installs fn on every output (nil removes it).
func (rt *Runtime) SetTap(fn TapFunc) { rt.tap.Store(&fn) }

type node struct {
	spec     NodeSpec
	comp     any
	queue    *Queue
	outputs  map[string]*fanout // by port
	settings Settings

	mu            sync.Mutex
	producersLeft int
}

// New builds every component of g. Nothing runs until Run.
func New(g Graph, opt Options) (*Runtime, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if g.Agent.QueueCapacity <= 0 {
		g.Agent.QueueCapacity = DefaultAgentSettings().QueueCapacity
	}
	if g.Agent.QueueBytes == 0 {
		g.Agent.QueueBytes = DefaultQueueBytes
	}
	if g.Agent.CheckpointInterval <= 0 {
		g.Agent.CheckpointInterval = time.Second
	}
	if g.Agent.ShutdownTimeout <= 0 {
		g.Agent.ShutdownTimeout = DefaultAgentSettings().ShutdownTimeout
	}
	if g.Agent.Host == "" {
		g.Agent.Host = DefaultHost()
	}
	rt := &Runtime{g: g, opt: opt, log: opt.Logger, acks: NewAcks(), byID: map[string]*node{}}
	rt.drainCtx, rt.cancelDrain = context.WithCancel(context.Background())
	if opt.Metrics != nil {
		rt.metrics = opt.Metrics
		rt.metrics.attach(rt.acks)
	} else {
		rt.metrics = NewMetrics(rt.acks)
	}
	ckpt, err := NewCheckpoints(g.Agent.DataDir, rt.log, rt.metrics)
	if err != nil {
		return nil, err
	}
	rt.ckpt = ckpt

	order, err := topoSort(g.Nodes)
	if err != nil {
		return nil, err
	}
	for i := range order {
		spec := order[i]
		n := &node{spec: spec, outputs: map[string]*fanout{}}
		if spec.Kind != KindSource {
			capacity := spec.QueueCapacity
			if capacity <= 0 {
				capacity = g.Agent.QueueCapacity
			}
			depth := rt.metrics.QueueDepth.WithLabelValues(spec.ID)
			bytes := rt.metrics.QueueBytes.WithLabelValues(spec.ID)
			maxBytes := spec.QueueBytes
			if maxBytes == 0 {
				maxBytes = g.Agent.QueueBytes
			}
			rt.metrics.QueueCapacity.WithLabelValues(spec.ID).Set(float64(capacity))
			rt.metrics.QueueCapacityBytes.WithLabelValues(spec.ID).Set(float64(max(maxBytes, 0)))
			n.queue = NewQueue(capacity, func(d, b int) { depth.Set(float64(d)); bytes.Set(float64(b)) }).LimitBytes(maxBytes)
		}
		rt.nodes = append(rt.nodes, n)
		rt.byID[spec.ID] = n
	}
	// Wire outputs to the queues of their consumers.
	for _, n := range rt.nodes {
		cm := rt.metrics.For(n.spec.ID)
		n.outputs[""] = &fanout{id: n.spec.ID, port: "", counter: cm.Out, log: rt.log, drain: rt.drainCtx, tap: &rt.tap,
			unconsumed: rt.metrics.Unconsumed.WithLabelValues(n.spec.ID, "default")}
		n.outputs[DeadLetterPort] = &fanout{id: n.spec.ID, port: DeadLetterPort, counter: cm.Output(DeadLetterPort), log: rt.log, drain: rt.drainCtx, tap: &rt.tap,
			unconsumed: rt.metrics.Unconsumed.WithLabelValues(n.spec.ID, DeadLetterPort)}
	}
	for _, n := range rt.nodes {
		seen := map[*node]bool{}
		for _, in := range n.spec.Inputs {
			cid, port := SplitOutputID(in)
			p, ok := rt.byID[cid]
			if !ok {
				return nil, fmt.Errorf("%s: unknown input %q", n.spec.ID, in)
			}
			fo := p.outputs[port]
			fo.queues = append(fo.queues, n.queue)
			fo.consumers = append(fo.consumers, n)
			if !seen[p] {
				seen[p] = true
				n.producersLeft++
			}
		}
	}
	for _, n := range rt.nodes {
		set := Settings{
			ID: n.spec.ID, Kind: n.spec.Kind, Type: n.spec.Type, Name: n.spec.Name,
			Logger:  rt.log.With("component", n.spec.ID),
			Metrics: rt.metrics.For(n.spec.ID),
			DataDir: g.Agent.DataDir, Host: g.Agent.Host, Once: opt.Once, Acks: rt.acks,
			Out: n.outputs[""], DeadLetter: n.outputs[DeadLetterPort],
			Conditions: rt.conditions.For(n.spec.ID),
			Recycle:    n.spec.Kind == KindSource && rt.forgotten(n, map[*node]bool{}),
		}
		if n.spec.Kind == KindSource {
			set.Checkpoints = rt.ckpt.For(n.spec.ID)
		}
		comp, err := n.spec.Factory.Create(set, n.spec.Config)
		if err != nil {
			rt.closeAll()
			return nil, fmt.Errorf("%s: %w", n.spec.ID, err)
		}
		if bt := n.spec.Buffer.Type; bt != "" && bt != "memory" {
			bf, ok := opt.Buffers[bt]
			sk, isSink := comp.(Sink)
			if !ok || !isSink {
				if c, ok := comp.(Closer); ok {
					c.Close()
				}
				rt.closeAll()
				return nil, fmt.Errorf("%s: buffer type %q is not available here", n.spec.ID, bt)
			}
			if comp, err = bf(set, n.spec.Buffer, sk); err != nil {
				if c, ok := sk.(Closer); ok {
					c.Close()
				}
				rt.closeAll()
				return nil, fmt.Errorf("%s: buffer: %w", n.spec.ID, err)
			}
		}
		ok := false
		switch n.spec.Kind {
		case KindSource:
			_, ok = comp.(Source)
		case KindTransform:
			_, ok = comp.(Transform)
		case KindSink:
			_, ok = comp.(Sink)
		}
		if !ok {
			rt.closeAll()
			return nil, fmt.Errorf("%s: factory returned %T, not a %s", n.spec.ID, comp, n.spec.Kind)
		}
		n.comp, n.settings = comp, set
	}
	return rt, nil
}

// Metrics returns the runtime's metrics.
func (rt *Runtime) Metrics() *Metrics { return rt.metrics }

// Acks returns the runtime's in-flight counter.
func (rt *Runtime) Acks() *Acks { return rt.acks }

// Queue returns the input queue of a transform or sink, for tests.
func (rt *Runtime) Queue(id string) *Queue {
	if n, ok := rt.byID[id]; ok {
		return n.queue
	}
	return nil
}

// Conditions returns what the components report about their inputs and
// outputs (shown by /healthz).
func (rt *Runtime) Conditions() []Condition { return rt.conditions.List() }

// ComponentIDs returns the IDs of the graph's components, producers before
// consumers.
func (rt *Runtime) ComponentIDs() []string {
	ids := make([]string, len(rt.nodes))
	for i, n := range rt.nodes {
		ids[i] = n.spec.ID
	}
	return ids
}

// Component returns a built component, for tests.
func (rt *Runtime) Component(id string) any {
	if n, ok := rt.byID[id]; ok {
		return n.comp
	}
	return nil
}

// Run runs the pipeline until ctx ends (SIGTERM, SIGINT) or, in once mode,
// until every source reached the end of its input and every record read has
// reached an outcome. On ctx's end it stops intake, drains what is in flight
// for up to ShutdownTimeout, and saves the checkpoints.
func (rt *Runtime) Run(ctx context.Context) error {
	defer rt.closeAll()
	if err := rt.Listen(); err != nil {
		return err
	}
	stopServing := rt.serve()

	// nodeCtx is cancelled only when the drain deadline passes: the
	// shutdown timeout less a reserve for what follows (the components
	// giving up, the last checkpoint flush, the HTTP servers), so that the
	// whole shutdown ends within shutdown_timeout.
	nodeCtx, cancelNodes := rt.drainCtx, rt.cancelDrain
	defer cancelNodes()
	var shutdownBy atomic.Pointer[time.Time]
	var deadlinePassed atomic.Bool
	timeout := rt.g.Agent.ShutdownTimeout
	stopDeadline := context.AfterFunc(ctx, func() {
		rt.ready.Store(false)
		by := time.Now().Add(timeout)
		shutdownBy.Store(&by)
		rt.log.Info("shutting down: intake stopped, draining", "deadline", timeout)
		t := time.AfterFunc(timeout-shutdownReserve(timeout), func() {
			deadlinePassed.Store(true)
			cancelNodes()
		})
		context.AfterFunc(nodeCtx, func() { t.Stop() })
	})
	defer stopDeadline()
	// remaining is the time left before the shutdown deadline (def when
	// no shutdown was asked for: a once run that reached its end).
	remaining := func(def time.Duration) time.Duration {
		if by := shutdownBy.Load(); by != nil {
			return max(time.Until(*by), 10*time.Millisecond)
		}
		return def
	}

	// Periodic checkpoint flushes.
	flushDone := make(chan struct{})
	flushStop := make(chan struct{})
	go func() {
		defer close(flushDone)
		t := time.NewTicker(rt.g.Agent.CheckpointInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := rt.ckpt.Flush(); err != nil {
					rt.log.Error("checkpoint flush failed", "error", err)
				}
			case <-flushStop:
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for _, n := range rt.nodes {
		wg.Add(1)
		switch n.spec.Kind {
		case KindSource:
			go func() {
				defer wg.Done()
				if err := n.comp.(Source).Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					rt.log.Error("source stopped with an error", "component", n.spec.ID, "error", err)
					n.settings.Metrics.Error("run")
				}
				rt.producerDone(n)
			}()
		case KindTransform:
			go func() {
				defer wg.Done()
				rt.consume(nodeCtx, n, "process", n.comp.(Transform).Process)
				if f, ok := n.comp.(Flusher); ok {
					if err := f.Flush(nodeCtx); err != nil {
						rt.flushFailed(nodeCtx, n, "transform", err)
					}
				}
				rt.producerDone(n)
			}()
		case KindSink:
			go func() {
				defer wg.Done()
				s := n.comp.(Sink)
				rt.consume(nodeCtx, n, "consume", s.Consume)
				if err := s.Flush(nodeCtx); err != nil {
					rt.flushFailed(nodeCtx, n, "sink", err)
				}
				rt.producerDone(n)
			}()
		}
	}
	rt.ready.Store(true)
	wg.Wait()

	// Every component has stopped; whatever is still unresolved was lost to
	// the deadline and has been failed. Wait briefly for stragglers.
	waitCtx, cancel := context.WithTimeout(context.Background(), remaining(2*time.Second))
	unresolved := int64(0)
	if err := rt.acks.Wait(waitCtx); err != nil {
		unresolved = rt.acks.InFlight()
		if !deadlinePassed.Load() {
			rt.log.Warn("batches still unresolved at exit; their positions are not committed", "batches", unresolved)
		}
	}
	cancel()
	if deadlinePassed.Load() {
		rt.log.Warn("shutdown deadline passed: the records not delivered by then are left for the next start (their positions are not committed; they are read again, under the same ids)",
			"records", rt.acks.FailedRecords(), "batches", rt.acks.Failed(), "batches_unresolved", unresolved, "shutdown_timeout", timeout)
	}
	close(flushStop)
	<-flushDone
	ckErr := rt.ckpt.Flush()
	if ckErr != nil {
		rt.log.Error("final checkpoint flush failed", "error", ckErr)
	}
	if n := rt.acks.OverAcked(); n > 0 {
		rt.log.Error("records were acknowledged more than once (a bug)", "records", n)
	}
	stopServing(remaining(time.Second))
	rt.log.Info("stopped")
	if ckErr != nil {
		return ckErr
	}
	if n := rt.acks.Failed(); n > 0 && rt.opt.Once {
		return fmt.Errorf("%w: %d batches held records that were not delivered; their positions are not committed, so the next run reads them again", ErrUndelivered, n)
	}
	return nil
}

// shutdownReserve is the part of the shutdown timeout kept for what
// follows the drain deadline: a fifth of it, at most a second.
func shutdownReserve(timeout time.Duration) time.Duration {
	return min(timeout/5, time.Second)
}

// flushFailed reports a component's failed Flush. Past the drain deadline
// the failure is expected (the component gave up on what it held, which
// is read again at the next start) and the shutdown line counts it.
func (rt *Runtime) flushFailed(ctx context.Context, n *node, kind string, err error) {
	if ctx.Err() != nil {
		rt.log.Debug(kind+" flush stopped by the shutdown deadline", "component", n.spec.ID, "error", err)
		return
	}
	rt.log.Error(kind+" flush failed", "component", n.spec.ID, "error", err)
	n.settings.Metrics.Error("flush")
}

// consume pops batches from n's input queue and hands each to handle (a
// transform's Process, a sink's Consume) until the queue is closed and
// empty. Past the drain deadline (ctx), batches are failed instead: their
// sources read them again at the next start.
func (rt *Runtime) consume(ctx context.Context, n *node, op string, handle func(context.Context, Batch) error) {
	in := n.settings.Metrics.In
	for {
		b, ok := n.queue.Pop()
		if !ok {
			return
		}
		in.Add(float64(len(b)))
		if ctx.Err() != nil {
			n.settings.Metrics.Failed.Add(float64(len(b)))
			AckAll(b, Failed)
			continue
		}
		if err := handle(ctx, b); err != nil && ctx.Err() == nil {
			rt.log.Error(string(n.spec.Kind)+" failed on a batch", "component", n.spec.ID, "error", err)
			n.settings.Metrics.Error(op)
		}
	}
}

// producerDone closes the input queue of every consumer whose producers
// have all finished, so shutdown cascades from sources to sinks.
func (rt *Runtime) producerDone(p *node) {
	seen := map[*node]bool{}
	for _, fo := range p.outputs {
		for _, c := range fo.consumers {
			if seen[c] {
				continue
			}
			seen[c] = true
			c.mu.Lock()
			c.producersLeft--
			left := c.producersLeft
			c.mu.Unlock()
			if left == 0 {
				c.queue.Close()
			}
		}
	}
}

// forgotten reports whether every component n's records reach (through
// any output) forgets them past their outcome (FactorySpec.Forgets), and
// no sink among them holds them in a buffer other than its input queue.
func (rt *Runtime) forgotten(n *node, seen map[*node]bool) bool {
	for _, fo := range n.outputs {
		for _, c := range fo.consumers {
			if seen[c] {
				continue
			}
			seen[c] = true
			bt := c.spec.Buffer.Type
			if c.spec.Factory == nil || !c.spec.Factory.Forgets(c.spec.Config) || (bt != "" && bt != "memory") || !rt.forgotten(c, seen) {
				return false
			}
		}
	}
	return true
}

// Close releases what New built (open files, connections, listeners) for a
// runtime that will not Run; Run closes them itself.
func (rt *Runtime) Close() { rt.closeAll() }

func (rt *Runtime) closeAll() {
	if rt.closed.Swap(true) {
		return
	}
	for _, n := range rt.nodes {
		if c, ok := n.comp.(Closer); ok {
			if err := c.Close(); err != nil {
				rt.log.Warn("close failed", "component", n.spec.ID, "error", err)
			}
		}
	}
	rt.closeListeners()
}

// fanout is one output of one component: it hands each consumer its own
// copy of every batch (clones for all but the last).
type fanout struct {
	id, port   string
	queues     []*Queue
	consumers  []*node
	counter    prometheus.Counter
	unconsumed prometheus.Counter
	log        *slog.Logger
	warned     atomic.Bool
	drain      context.Context
	tap        *atomic.Pointer[TapFunc]
}

// Emit hands b to every consumer, waiting while a queue is full. The wait
// ends with an error only at the drain deadline, whatever the caller's ctx:
// a shutdown signal stops sources from reading, not from handing on what
// they already hold.
func (f *fanout) Emit(_ context.Context, b Batch) error {
	if len(b) == 0 {
		return nil
	}
	return f.deliver(f.queues, b)
}

// Consumers implements Router.
func (f *fanout) Consumers() []string {
	ids := make([]string, len(f.consumers))
	for i, c := range f.consumers {
		ids[i] = c.spec.ID
	}
	return ids
}

// EmitTo implements Router: Emit, to the listed consumers only.
func (f *fanout) EmitTo(_ context.Context, consumers []string, b Batch) error {
	if len(b) == 0 {
		return nil
	}
	var qs []*Queue
	for i, c := range f.consumers {
		if slices.Contains(consumers, c.spec.ID) {
			qs = append(qs, f.queues[i])
		}
	}
	return f.deliver(qs, b)
}

// deliver counts b, shows it to the tap, and pushes it to each queue of qs
// (clones for all but the last); with no queue, it resolves b (Dropped, or
// DeadLettered on the dead-letter port) and counts it as unconsumed.
func (f *fanout) deliver(qs []*Queue, b Batch) error {
	ctx := f.drain
	f.counter.Add(float64(len(b)))
	if f.tap != nil {
		if fn := f.tap.Load(); fn != nil && *fn != nil {
			(*fn)(f.id, f.port, b)
		}
	}
	switch len(qs) {
	case 0:
		f.unconsumed.Add(float64(len(b)))
		if f.port == DeadLetterPort {
			if !f.warned.Swap(true) {
				f.log.Warn("dead letters have no consumer: they are counted and logged at debug level only; add a sink with inputs = ["+f.id+".dead_letter]", "component", f.id)
			}
			if f.log.Enabled(context.Background(), slog.LevelDebug) {
				for i := range b {
					f.log.Debug("dead letter", "component", f.id, "fields", string(b[i].AppendFieldsJSON(nil)))
				}
			}
			AckAll(b, DeadLettered)
		} else {
			AckAll(b, Dropped)
		}
		return nil
	case 1:
		return pushOrFail(ctx, qs[0], b)
	}
	copies := make([]Batch, len(qs))
	last := len(qs) - 1
	for i := 0; i < last; i++ {
		c := make(Batch, len(b))
		for j := range b {
			c[j] = b[j].Clone()
		}
		copies[i] = c
	}
	copies[last] = b
	for i, q := range qs {
		if err := pushOrFail(ctx, q, copies[i]); err != nil {
			for _, rest := range copies[i+1:] {
				AckAll(rest, Failed)
			}
			return err
		}
	}
	return nil
}

func pushOrFail(ctx context.Context, q *Queue, b Batch) error {
	rest, err := q.Push(ctx, b)
	if err != nil {
		AckAll(rest, Failed)
	}
	return err
}

func topoSort(nodes []NodeSpec) ([]NodeSpec, error) {
	idx := map[string]int{}
	for i, n := range nodes {
		if _, dup := idx[n.ID]; dup {
			return nil, fmt.Errorf("duplicate component %s", n.ID)
		}
		idx[n.ID] = i
	}
	indeg := make([]int, len(nodes))
	next := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range n.Inputs {
			cid, _ := SplitOutputID(in)
			p, ok := idx[cid]
			if !ok {
				return nil, fmt.Errorf("%s: unknown input %q", n.ID, in)
			}
			next[p] = append(next[p], i)
			indeg[i]++
		}
	}
	var order []NodeSpec
	var ready []int
	for i := range nodes {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		order = append(order, nodes[i])
		for _, j := range next[i] {
			indeg[j]--
			if indeg[j] == 0 {
				ready = append(ready, j)
			}
		}
	}
	if len(order) != len(nodes) {
		return nil, errors.New("the component graph has a cycle")
	}
	return order, nil
}

// ErrUndelivered is returned by a once run that ended with records failed.
var ErrUndelivered = errors.New("records not delivered")

// DefaultHost returns NODE_NAME, else the host name.
func DefaultHost() string {
	if h := os.Getenv("NODE_NAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}
