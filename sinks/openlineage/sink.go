package openlineage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
)

// NewFactory returns the factory of `sink "openlineage"`.
func NewFactory() *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[Config, agent.Sink]{
		Type:        "openlineage",
		Description: "Turns records into OpenLineage RunEvents with a mapping per kind (HCL + expr), checks each against the OpenLineage schema, and sends them over HTTP (Marquez, DataHub), to Kafka or to a file.",
		Example:     example,
		NewConfig:   defaultConfig,
		Create: func(set agent.Settings, c *Config) (agent.Sink, error) {
			return New(set, c)
		},
		Claims: claims,
	})
}

// validator is compiled once per process: the schemas do not change.
var validator = sync.OnceValues(NewValidator)

// Sink maps records to events, validates them and hands the valid ones to
// its transport.
type Sink struct {
	set agent.Settings
	cfg *Config
	opt options
	v   *Validator
	t   transport

	// Consume's (one goroutine).
	buf bytes.Buffer
	enc *json.Encoder

	// skipValidation is for the benchmark that measures what validation
	// costs; nothing else sets it.
	skipValidation bool

	events     *prometheus.CounterVec
	validation prometheus.Counter
	warned     map[string]bool
}

// New builds the sink from a decoded, validated config.
func New(set agent.Settings, c *Config) (*Sink, error) {
	v, err := validator()
	if err != nil {
		return nil, fmt.Errorf("compile the OpenLineage schema: %w", err)
	}
	if set.Logger == nil {
		set.Logger = slog.Default()
	}
	t, err := newTransport(set, c)
	if err != nil {
		return nil, err
	}
	s := &Sink{set: set, cfg: c, v: v, t: t, warned: map[string]bool{},
		opt: options{producer: c.Producer, recordFacet: c.RecordFacet, unmapped: c.RecordFacetFields == "unmapped"},
		events: set.Metrics.CounterVec("openlineage_events_total",
			"OpenLineage events a sink built, found valid and handed to its transport, by eventType.", "event_type"),
		validation: set.Metrics.Counter("openlineage_validation_seconds_total",
			"Time spent checking events against the OpenLineage schema (wall clock, on the sink's goroutine)."),
	}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s, nil
}

// Consume turns each record into its event and hands the valid events to
// the transport, which resolves them. A record without a mapping, one its
// mapping cannot use, and one whose event fails the schema are dead
// letters; one whose event_type gives nil is dropped (counted).
func (s *Sink) Consume(ctx context.Context, b agent.Batch) error {
	out := make(agent.Batch, 0, len(b))
	keys := make([]string, 0, len(b))
	var dead agent.Batch
	for i := range b {
		r := &b[i]
		data, key, dl := s.event(r)
		switch {
		case dl != nil:
			dead = append(dead, *dl)
		case data == nil:
			s.set.Metrics.Drop("no_event").Inc()
			r.Ack(agent.Dropped)
		default:
			r.Raw = data
			out = append(out, *r)
			keys = append(keys, key)
		}
	}
	if len(dead) > 0 {
		_ = s.set.DeadLetter.Emit(ctx, dead)
	}
	if len(out) == 0 {
		return nil
	}
	return s.t.send(ctx, out, keys)
}

// event returns the encoded event of r and its Kafka key; nil data and no
// dead letter when the mapping makes no event of it.
func (s *Sink) event(r *agent.Record) (data []byte, key string, dead *agent.Record) {
	m := s.cfg.mappings[r.Kind]
	if m == nil {
		return nil, "", s.deadLetter(r, "openlineage.map", "no_mapping", nil, []agent.FieldError{{Field: "kind",
			Error: fmt.Sprintf("no mapping for records of kind %q; the sink maps %s", r.Kind, strings.Join(s.cfg.Kinds(), ", "))}})
	}
	ev, err := m.build(r, &s.opt)
	if err != nil {
		fe := agent.FieldError{Error: err.Error()}
		if me, ok := err.(*mappingError); ok {
			fe = me.FieldError
		}
		return nil, "", s.deadLetter(r, "openlineage.map", "mapping", nil, []agent.FieldError{fe})
	}
	if ev == nil {
		return nil, "", nil
	}
	s.buf.Reset()
	if err := s.enc.Encode(ev); err != nil {
		return nil, "", s.deadLetter(r, "openlineage.map", "mapping", nil, []agent.FieldError{{Error: "encode the event: " + err.Error()}})
	}
	data = bytes.Clone(bytes.TrimSuffix(s.buf.Bytes(), []byte{'\n'}))
	if !s.skipValidation {
		start := time.Now()
		errs := s.v.Validate(data)
		s.validation.Add(time.Since(start).Seconds())
		if len(errs) > 0 {
			return nil, "", s.deadLetter(r, "openlineage.validate", "invalid_event", data, errs)
		}
	}
	s.events.WithLabelValues(ev.EventType).Inc()
	return data, kafkaKey(ev), nil
}

// kafkaKey is the message key of an event: its parent's job when it has a
// parent, else its own ("run:NAMESPACE/NAME", as the OpenLineage clients
// key them), so that a job's events, and a workflow's with its steps',
// stay on one partition, in order.
func kafkaKey(ev *RunEvent) string {
	if p, ok := ev.Run.Facets["parent"].(*ParentRunFacet); ok {
		return "run:" + p.Job.Namespace + "/" + p.Job.Name
	}
	return "run:" + ev.Job.Namespace + "/" + ev.Job.Name
}

// deadLetter makes r a dead letter (which resolves r when it is
// acknowledged), counted by reason, with the event when there is one.
func (s *Sink) deadLetter(r *agent.Record, step, reason string, event []byte, errs []agent.FieldError) *agent.Record {
	s.set.Metrics.DeadLetter(reason).Inc()
	if !s.warned[reason] {
		s.warned[reason] = true
		s.set.Logger.Warn("a record becomes a dead letter instead of an OpenLineage event (logged once per reason; see the dead-letter output and octoagent_component_dead_lettered_records_total)",
			"reason", reason, "kind", r.Kind, "errors", fmt.Sprint(errs))
	}
	dl := agent.NewDeadLetter(r, agent.DeadLetter{Component: s.set.ID, Step: step, Reason: reason, Errors: errs})
	if event != nil {
		var ev any
		if json.Unmarshal(event, &ev) == nil {
			dl.Set("event", ev)
		}
	}
	return &dl
}

// Flush writes out what the transport holds.
func (s *Sink) Flush(ctx context.Context) error { return s.t.Flush(ctx) }

// Close releases the transport.
func (s *Sink) Close() error { return s.t.Close() }
