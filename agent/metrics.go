package agent

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the agent's Prometheus collectors, on a registry of its own
// (no global state: two agents in one test process do not collide).
type Metrics struct {
	Registry *prometheus.Registry

	RecordsIn          *prometheus.CounterVec
	RecordsOut         *prometheus.CounterVec
	Delivered          *prometheus.CounterVec
	DeadLettered       *prometheus.CounterVec
	Dropped            *prometheus.CounterVec
	Failed             *prometheus.CounterVec
	Errors             *prometheus.CounterVec
	QueueDepth         *prometheus.GaugeVec
	QueueBytes         *prometheus.GaugeVec
	QueueCapacity      *prometheus.GaugeVec
	QueueCapacityBytes *prometheus.GaugeVec
	CheckpointErrors   *prometheus.CounterVec
	StuckStreams       *prometheus.CounterVec
	Unconsumed         *prometheus.CounterVec
	TokensInFlight     prometheus.GaugeFunc

	mu     sync.Mutex
	extras map[string]prometheus.Collector
	acks   atomic.Pointer[Acks] // the running runtime's, for TokensInFlight
}

// NewMetrics registers the agent's collectors on a new registry. acks may be
// nil; when set, the tokens in flight are exported as a gauge.
//
// One Metrics may serve several runtimes in turn (Options.Metrics: the
// runtimes a reload replaces), so that counters stay monotonic across
// reloads, as Prometheus expects of a process that did not restart.
func NewMetrics(acks *Acks) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "octoagent", Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "octoagent", Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	m := &Metrics{
		Registry:           reg,
		RecordsIn:          c("component_received_records_total", "Records a component received.", "component"),
		RecordsOut:         c("component_sent_records_total", "Records a component passed on, per output.", "component", "output"),
		Delivered:          c("component_delivered_records_total", "Records a sink delivered.", "component"),
		DeadLettered:       c("component_dead_lettered_records_total", "Records a component sent to its dead-letter output, per reason.", "component", "reason"),
		Dropped:            c("component_dropped_records_total", "Records a component dropped on purpose, per reason.", "component", "reason"),
		Failed:             c("component_failed_records_total", "Records a sink could not deliver; their source does not commit past them.", "component"),
		Errors:             c("component_errors_total", "Errors per component and kind.", "component", "kind"),
		QueueDepth:         g("component_queue_records", "Records waiting in a component's input queue.", "component"),
		QueueBytes:         g("component_queue_bytes", "Approximate bytes held in a component's input queue.", "component"),
		QueueCapacity:      g("component_queue_capacity_records", "Capacity of a component's input queue, in records.", "component"),
		QueueCapacityBytes: g("component_queue_capacity_bytes", "Capacity of a component's input queue, in bytes (0: records only).", "component"),
		CheckpointErrors:   c("checkpoint_errors_total", "Checkpoint files or entries that could not be read or written.", "component", "kind"),
		StuckStreams:       c("source_stuck_streams_total", "Streams whose commits froze for the run because a record failed.", "component"),
		Unconsumed:         c("component_unconsumed_records_total", "Records sent to an output nothing reads: dropped (default output) or counted as dead-lettered (dead_letter).", "component", "output"),
	}
	m.TokensInFlight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "octoagent", Name: "acks_in_flight_batches",
		Help: "Source batches not yet resolved at every sink.",
	}, func() float64 {
		if a := m.acks.Load(); a != nil {
			return float64(a.InFlight())
		}
		return 0
	})
	reg.MustRegister(m.TokensInFlight)
	m.acks.Store(acks)
	return m
}

// attach hands m to a new runtime: its in-flight gauge follows acks, and
// the gauges (queue depths, a component's state) start empty, so that a
// component the new config dropped leaves no stale value. Counters keep
// counting.
func (m *Metrics) attach(acks *Acks) {
	m.acks.Store(acks)
	m.QueueDepth.Reset()
	m.QueueBytes.Reset()
	m.QueueCapacity.Reset()
	m.QueueCapacityBytes.Reset()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.extras {
		if g, ok := c.(*prometheus.GaugeVec); ok {
			g.Reset()
		}
	}
}

// CounterVec returns the counter vector octoagent_<name>, labelled by
// component and the given labels, registering it on first use. Components
// use it for counters of their own (files rotated, lines cut).
func (m *Metrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.extras[name]; ok {
		return c.(*prometheus.CounterVec)
	}
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "octoagent", Name: name, Help: help}, append([]string{"component"}, labels...))
	m.Registry.MustRegister(v)
	if m.extras == nil {
		m.extras = map[string]prometheus.Collector{}
	}
	m.extras[name] = v
	return v
}

// GaugeVec is CounterVec for gauges.
func (m *Metrics) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.extras[name]; ok {
		return c.(*prometheus.GaugeVec)
	}
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "octoagent", Name: name, Help: help}, append([]string{"component"}, labels...))
	m.Registry.MustRegister(v)
	if m.extras == nil {
		m.extras = map[string]prometheus.Collector{}
	}
	m.extras[name] = v
	return v
}

// Counter returns this component's counter octoagent_<name>.
func (c *ComponentMetrics) Counter(name, help string) prometheus.Counter {
	return c.m.CounterVec(name, help).WithLabelValues(c.ID)
}

// Gauge returns this component's gauge octoagent_<name>.
func (c *ComponentMetrics) Gauge(name, help string) prometheus.Gauge {
	return c.m.GaugeVec(name, help).WithLabelValues(c.ID)
}

// StuckStream counts one stream whose commits froze for the run.
func (c *ComponentMetrics) StuckStream() { c.m.StuckStreams.WithLabelValues(c.ID).Inc() }

// ComponentMetrics are one component's counters, bound to its ID once so
// the hot path only adds.
type ComponentMetrics struct {
	ID        string
	m         *Metrics
	In        prometheus.Counter
	Out       prometheus.Counter
	Delivered prometheus.Counter
	Failed    prometheus.Counter
}

// For binds the counters of one component.
func (m *Metrics) For(id string) *ComponentMetrics {
	return &ComponentMetrics{
		ID: id, m: m,
		In:        m.RecordsIn.WithLabelValues(id),
		Out:       m.RecordsOut.WithLabelValues(id, "default"),
		Delivered: m.Delivered.WithLabelValues(id),
		Failed:    m.Failed.WithLabelValues(id),
	}
}

// DeadLetter returns the dead-letter counter for one reason. Cache the
// result where it is used per record.
func (c *ComponentMetrics) DeadLetter(reason string) prometheus.Counter {
	return c.m.DeadLettered.WithLabelValues(c.ID, reason)
}

// Drop returns the dropped counter for one reason.
func (c *ComponentMetrics) Drop(reason string) prometheus.Counter {
	return c.m.Dropped.WithLabelValues(c.ID, reason)
}

// Error counts one error of the given kind.
func (c *ComponentMetrics) Error(kind string) { c.m.Errors.WithLabelValues(c.ID, kind).Inc() }

// Output returns the sent counter for a named output.
func (c *ComponentMetrics) Output(name string) prometheus.Counter {
	return c.m.RecordsOut.WithLabelValues(c.ID, name)
}

// GaugeVec returns this component's gauge vector octoagent_<name>, with the
// component label already set: callers give the other labels only (a Kafka
// source's lag per topic and partition).
func (c *ComponentMetrics) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return c.m.GaugeVec(name, help, labels...).MustCurryWith(prometheus.Labels{"component": c.ID})
}

// CounterVec is GaugeVec for counters: this component's counter vector
// octoagent_<name>, labelled by the given labels (events sent per type,
// evictions per reason).
func (c *ComponentMetrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return c.m.CounterVec(name, help, labels...).MustCurryWith(prometheus.Labels{"component": c.ID})
}
