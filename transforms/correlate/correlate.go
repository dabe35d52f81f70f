// Package correlate is `transform "correlate" "NAME"`: a bounded,
// checkpointed join over a window of records. It remembers the records a
// `remember` block selects, under a key (the namespace, the cluster), at
// most max_per_key per key and for max_age; for each record a `trigger`
// block selects, it emits a new record (or enriches the trigger) listing
// the remembered records of the trigger's key, newest first, with the
// fields the config selects. The window lives in the data directory and is
// saved in step with the source positions (internal/durable), so a restart
// or a reload gives the same trigger the same answer, with the same id.
package correlate

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/durable"
	"github.com/octostore/agent/internal/recexpr"
)

//go:embed example.hcl
var example string

// NewFactory returns the factory of `transform "correlate" "NAME"`.
func NewFactory() *agent.Factory {
	return agent.NewTransformFactory(agent.FactorySpec[Config, agent.Transform]{
		Type:        "correlate",
		Description: "A bounded, checkpointed join: remembers selected records per key (count and age) and answers each trigger record with the remembered records of its key, newest first (which rollouts came before this crashloop).",
		Example:     example,
		NewConfig:   newConfig,
		Create: func(set agent.Settings, cfg *Config) (agent.Transform, error) {
			return newTransform(set, cfg), nil
		},
	})
}

type transform struct {
	cfg  *Config
	set  agent.Settings
	kind string

	mu     sync.Mutex // guards w and the saver's holds
	w      *window
	saver  *durable.Saver
	loop   *durable.Loop
	aprint string

	evicted    *prometheus.CounterVec
	answers    prometheus.Counter
	replayed   prometheus.Counter
	suppressed prometheus.Counter
	unselected prometheus.Counter
	entriesG   prometheus.Gauge
	answersG   prometheus.Gauge
	bytesG     prometheus.Gauge
	rejects    *recexpr.Rejects
}

func newTransform(set agent.Settings, cfg *Config) *transform {
	if set.Logger == nil { // rule tests
		set.Logger = slog.Default()
	}
	t := &transform{cfg: cfg, set: set, kind: cfg.Kind, aprint: cfg.answerPrint(), rejects: recexpr.NewRejects(set, cfg.Schema)}
	if t.kind == "" {
		t.kind = set.Name
	}
	m := set.Metrics
	t.evicted = m.CounterVec("correlate_evicted_total", "Remembered records and answers a correlate transform let go to stay within its limits, per reason (max_per_key, max_age, max_entries, max_bytes, answer_max_answers, answer_max_age, answer_max_bytes).", "reason")
	t.answers = m.Counter("correlate_answers_total", "Answers a correlate transform made (new records, or triggers enriched).")
	t.replayed = m.Counter("correlate_replayed_total", "Triggers read again (after a restart or a re-list) and given their first answer again, with its id.")
	t.suppressed = m.Counter("correlate_suppressed_total", "Triggers not answered because their once value was answered already.")
	t.unselected = m.Drop("unselected")
	t.entriesG = m.Gauge("correlate_entries", "Records a correlate transform remembers.")
	t.answersG = m.Gauge("correlate_answers", "Answers a correlate transform keeps to give them again to a trigger read again.")
	t.bytesG = m.Gauge("correlate_bytes", "Estimated memory of a correlate transform's window and answers (bounded by max_bytes).")
	t.w = newWindow(limits{maxPerKey: cfg.Remember.MaxPerKey, maxAge: cfg.Remember.MaxAge, maxEntries: cfg.MaxEntries,
		maxBytes: cfg.MaxBytes, maxAnswers: cfg.MaxAnswers}, func(reason string) { t.evicted.WithLabelValues(reason).Inc() })
	t.saver = durable.New(set, cfg.windowPrint(), &t.mu, func() (any, error) { return t.w.save(t.aprint), nil })
	var s saved
	if t.saver.Load(&s) {
		t.w.load(&s, t.aprint)
		n, a, _ := t.w.size()
		set.Logger.Info("correlate window restored", "entries", n, "answers", a, "path", t.saver.Path())
	}
	t.gauges()
	if t.saver.Durable() {
		t.loop = durable.Every(cfg.SaveInterval, func(time.Time) { t.save() })
	}
	return t
}

func (t *transform) gauges() {
	n, a, b := t.w.size()
	t.entriesG.Set(float64(n))
	t.answersG.Set(float64(a))
	t.bytesG.Set(float64(b))
}

// save expires old entries and writes the window if it changed.
func (t *transform) save() error {
	t.mu.Lock()
	t.w.expire()
	t.gauges()
	t.mu.Unlock()
	return t.saver.SaveOrLog(t.set)
}

// Process remembers what the remember block selects and answers what the
// trigger block selects. A record may be both: it is answered first (with
// what came before it), then remembered. Records that changed the window
// are held (their sources do not commit past them) until it is saved.
func (t *transform) Process(ctx context.Context, b agent.Batch) error {
	var out, dead agent.Batch
	t.mu.Lock()
	for i := range b {
		r := &b[i]
		trig, errs := t.cfg.Trigger.Match(r)
		if errs != nil {
			dead = append(dead, t.deadLetter(r, "trigger", "schema", errs))
			continue
		}
		rem, errs := t.cfg.Remember.Match(r)
		if errs != nil {
			dead = append(dead, t.deadLetter(r, "remember", "schema", errs))
			continue
		}
		// What is remembered of r is taken before r is answered (an
		// answer may enrich r), and added after (r is not listed in its
		// own answer).
		tok := r.Token()
		var e *entry
		if rem {
			var dl *agent.Record
			if e, dl = t.entry(r); dl != nil {
				dead = append(dead, *dl)
				continue
			}
		}
		var ans *agent.Record
		if trig {
			a, dl := t.answer(r)
			if dl != nil {
				dead = append(dead, *dl)
				continue
			}
			ans = a
		}
		if ans != nil {
			out = append(out, *ans)
		}
		if e != nil {
			t.w.remember(e)
			t.saver.Hold(tok)
		}
		switch {
		case ans != nil && t.cfg.Trigger.Enrich:
			// r went out enriched, with its token.
		case t.cfg.Forward == "all":
			out = append(out, *r)
		case trig || rem:
			r.Ack(agent.Delivered)
		default:
			t.unselected.Inc()
			r.Ack(agent.Dropped)
		}
	}
	t.gauges()
	t.mu.Unlock()
	t.saver.Throttle(ctx)
	if len(dead) > 0 {
		if err := t.set.DeadLetter.Emit(ctx, dead); err != nil {
			agent.AckAll(out, agent.Failed)
			return err
		}
	}
	return t.set.Out.Emit(ctx, out)
}

// entry is what the window keeps of r, under its key.
func (t *transform) entry(r *agent.Record) (*entry, *agent.Record) {
	rc := &t.cfg.Remember
	key, err := rc.Key.Of(r)
	if err != nil {
		dl := t.deadLetter(r, "remember.key", "no_key", []agent.FieldError{{Error: "key: " + err.Error()}})
		return nil, &dl
	}
	var fields map[string]any
	if rc.Fields != nil {
		if fields, err = rc.Fields.Eval(r); err != nil {
			dl := t.deadLetter(r, "remember.fields", "expr_error", []agent.FieldError{{Error: err.Error()}})
			return nil, &dl
		}
	} else {
		fields = agent.CloneMap(r.MaterializeFields())
	}
	return &entry{Key: key, ID: r.EnsureID(), Kind: r.Kind, Time: r.Time.UTC(), Fields: fields}, nil
}

// answer makes the answer to trigger r: the answer it was given before,
// if it was read before; nothing, if its once value was answered by
// another trigger; else the remembered records of its key. In enrich mode
// the answer is r itself.
func (t *transform) answer(r *agent.Record) (*agent.Record, *agent.Record) {
	tc := &t.cfg.Trigger
	tid := r.EnsureID()
	if a := t.w.answered(tid); a != nil {
		out, err := agent.ParseJSON(a.Record)
		if err == nil {
			t.replayed.Inc()
			return t.carry(r, out), nil
		}
	}
	key, err := tc.Key.Of(r)
	if err != nil {
		dl := t.deadLetter(r, "trigger.key", "no_key", []agent.FieldError{{Error: "key: " + err.Error()}})
		return nil, &dl
	}
	var once string
	if tc.Once != nil {
		v, err := tc.Once.Of(r)
		if err != nil {
			dl := t.deadLetter(r, "trigger.once", "no_key", []agent.FieldError{{Error: "once: " + err.Error()}})
			return nil, &dl
		}
		once = key + "\x00" + v
		if t.w.answeredOnce(once) != nil {
			t.suppressed.Inc()
			return nil, nil
		}
	}
	var fields map[string]any
	if tc.Fields != nil {
		if fields, err = tc.Fields.Eval(r); err != nil {
			dl := t.deadLetter(r, "trigger.fields", "expr_error", []agent.FieldError{{Error: err.Error()}})
			return nil, &dl
		}
	} else {
		fields = map[string]any{}
	}
	ms := t.w.matches(key, r.Time, t.cfg.limit())
	items := make([]any, len(ms))
	for i, e := range ms {
		item := make(map[string]any, len(e.Fields)+4)
		for k, v := range e.Fields {
			item[k] = v
		}
		item["id"] = e.ID
		item["kind"] = e.Kind
		item["time"] = e.Time
		item["delay_s"] = r.Time.Sub(e.Time).Seconds()
		items[i] = item
	}
	var out agent.Record
	if tc.Enrich {
		out = *r
		out.SetToken(nil)
		f := out.MaterializeFields()
		for k, v := range fields {
			f[k] = v
		}
		f[tc.List] = items
	} else {
		fields[tc.List] = items
		fields["trigger_id"] = tid
		out = agent.Record{Time: r.Time, Kind: t.kind, Origin: r.Origin, Entity: r.Entity}
		out.SetFields(fields)
	}
	if len(tc.Entity) > 0 {
		out.Entity = make([]agent.KV, 0, len(tc.Entity))
		for _, k := range tc.Entity {
			v, ok := out.Get(k)
			if !ok || v == nil {
				dl := t.deadLetter(r, "entity", "entity", []agent.FieldError{{Field: k, Error: "entity field missing"}})
				return nil, &dl
			}
			out.Entity = append(out.Entity, agent.KV{Key: k, Value: fmt.Sprint(v)})
		}
	}
	if t.cfg.Schema != nil {
		if errs := t.cfg.Schema.ApplyRecord(&out, false); len(errs) > 0 {
			dl := t.deadLetter(r, "schema", "schema", errs)
			return nil, &dl
		}
	}
	out.Origin.Derive(t.set.ID, 0)
	out.ID = ""
	out.EnsureID()
	t.answers.Inc()
	t.w.keep(&answer{Trigger: tid, Once: once, Time: r.Time.UTC(), Record: agent.AppendJSON(nil, &out)})
	t.saver.Hold(r.Token())
	return t.carry(r, out), nil
}

// carry gives the answer its trigger's place in the acknowledgements: the
// enriched trigger takes its token; a new record shares it.
func (t *transform) carry(r *agent.Record, out agent.Record) *agent.Record {
	tok := r.Token()
	if t.cfg.Trigger.Enrich {
		r.SetToken(nil)
	} else if tok != nil {
		tok.Add(1)
	}
	out.SetToken(tok)
	return &out
}

func (t *transform) deadLetter(r *agent.Record, step, reason string, errs []agent.FieldError) agent.Record {
	return t.rejects.Make(r, step, reason, errs)
}

// Flush saves the window at the end of the input, so the holds are
// released before the sources save their positions.
func (t *transform) Flush(context.Context) error { return t.save() }

// Close stops the save loop and saves once more.
func (t *transform) Close() error {
	t.loop.Stop()
	return t.save()
}
