// Package assemble is `transform "assemble" "NAME"`: it gathers the
// records of one group (the steps of a workflow run, keyed by the run)
// into one summary record, emitted when the group's terminal record
// arrives (after a short settle for parts still on their way), or, marked
// incomplete, when a timeout passes without it. Its groups live in the
// data directory, saved in step with the source positions
// (internal/durable): a restart in the middle of a run neither loses its
// steps nor emits it twice.
package assemble

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

// NewFactory returns the factory of `transform "assemble" "NAME"`.
func NewFactory() *agent.Factory {
	return agent.NewTransformFactory(agent.FactorySpec[Config, agent.Transform]{
		Type:        "assemble",
		Description: "Gathers the records of a group (the steps of a workflow run) into one summary record, emitted when the group's terminal record arrives or, marked incomplete, after a timeout; checkpointed, so a restart neither loses parts nor emits a group twice.",
		Example:     example,
		NewConfig:   newConfig,
		Create: func(set agent.Settings, cfg *Config) (agent.Transform, error) {
			return newTransform(set, cfg, time.Now), nil
		},
	})
}

type transform struct {
	cfg  *Config
	set  agent.Settings
	kind string
	now  func() time.Time

	mu      sync.Mutex // guards gs, stopped and the saver's holds
	gs      *groups
	saver   *durable.Saver
	loop    *durable.Loop
	stopped bool // flushed: the input ended; nothing more is emitted

	evicted    *prometheus.CounterVec
	summaries  *prometheus.CounterVec
	absorbed   prometheus.Counter
	retries    prometheus.Counter
	unselected prometheus.Counter
	openG      prometheus.Gauge
	pendingG   prometheus.Gauge
	bytesG     prometheus.Gauge
	rejects    *recexpr.Rejects
}

func newTransform(set agent.Settings, cfg *Config, now func() time.Time) *transform {
	if set.Logger == nil { // rule tests
		set.Logger = slog.Default()
	}
	t := &transform{cfg: cfg, set: set, kind: cfg.Kind, now: now, rejects: recexpr.NewRejects(set, cfg.Schema)}
	if t.kind == "" {
		t.kind = set.Name
	}
	m := set.Metrics
	t.evicted = m.CounterVec("assemble_evicted_total", "What an assemble transform let go to stay within its limits, per reason (max_groups and max_bytes: open groups, summarized as incomplete; max_parts: parts of a group; done_*: summarized groups forgotten; pending: summaries given up).", "reason")
	t.summaries = m.CounterVec("assemble_summaries_total", "Summaries an assemble transform made, per outcome (complete, timeout, evicted).", "outcome")
	t.absorbed = m.Counter("assemble_absorbed_total", "Records read again (after a restart) that the groups already held: they change nothing.")
	t.retries = m.Counter("assemble_retries_total", "Summaries emitted again because a sink did not take them.")
	t.unselected = m.Drop("unselected")
	t.openG = m.Gauge("assemble_open_groups", "Groups an assemble transform is gathering.")
	t.pendingG = m.Gauge("assemble_pending_summaries", "Summaries made and not yet acknowledged by every sink.")
	t.bytesG = m.Gauge("assemble_bytes", "Estimated memory of an assemble transform's groups (bounded by max_bytes).")
	t.gs = newGroups(func(reason string) { t.evicted.WithLabelValues(reason).Inc() })
	t.saver = durable.New(set, cfg.fingerprint(), &t.mu, func() (any, error) { return t.gs.save(), nil })
	var s saved
	if t.saver.Load(&s) {
		t.gs.load(&s)
		set.Logger.Info("assemble groups restored", "open", len(t.gs.open), "pending", len(t.gs.pend), "done", len(t.gs.done), "path", t.saver.Path())
	}
	t.gauges()
	t.loop = durable.Every(tick(cfg), func(time.Time) { t.tick() })
	return t
}

// tick is how often the loop looks for summaries due and saves: the save
// interval, or the settle if shorter.
func tick(cfg *Config) time.Duration {
	d := cfg.SaveInterval
	if cfg.Settle > 0 && cfg.Settle/2 < d {
		d = cfg.Settle / 2
	}
	if d < 10*time.Millisecond {
		d = 10 * time.Millisecond
	}
	return d
}

func (t *transform) gauges() {
	t.openG.Set(float64(len(t.gs.open)))
	t.pendingG.Set(float64(len(t.gs.pend)))
	t.bytesG.Set(float64(t.gs.bytes))
}

// parsed is what one record brings to its group, worked out before the
// group changes, so that a record that fails changes nothing.
type parsed struct {
	key      string
	header   *item
	parts    []*item // PID set, one per part block it matched (parallel to names)
	names    []string
	complete bool
}

// Process gathers each record into its group. Records read again are
// absorbed; records of a group already summarized are dead-lettered as
// late; the others change the state and are held until it is saved.
func (t *transform) Process(ctx context.Context, b agent.Batch) error {
	now := t.now()
	var dead agent.Batch
	t.mu.Lock()
	for i := range b {
		r := &b[i]
		p, dl := t.parse(r)
		switch {
		case dl != nil:
			dead = append(dead, *dl)
			continue
		case p == nil:
			t.unselected.Inc()
			r.Ack(agent.Dropped)
			continue
		}
		id := r.EnsureID()
		if d := t.gs.done[p.key]; d != nil {
			if d.members[id] {
				t.absorbed.Inc()
				r.Ack(agent.Delivered)
				continue
			}
			dead = append(dead, t.deadLetter(r, "group", "late", fmt.Sprintf(
				"the group %q was summarized already (summary %s); a record that comes later is not added. Raise settle if parts arrive after the terminal record, or put what tells reruns apart (an attempt) in key", p.key, d.Summary)))
			continue
		}
		g := t.gs.open[p.key]
		if g == nil {
			g = &group{Key: p.key, Seq: t.gs.next(), First: r.Origin, FirstTime: r.Time.UTC(), Entity: r.Entity}
			t.gs.add(g)
			t.limitGroups(now)
		}
		if !g.member(id) {
			t.absorbed.Inc()
			r.Ack(agent.Delivered)
			continue
		}
		if p.header != nil {
			p.header.Seq = t.gs.next()
			g.setHeader(p.header, r.Entity)
		}
		for j, it := range p.parts {
			it.Seq = t.gs.next()
			if n := g.setPart(p.names[j], it, t.cfg.MaxParts); n > 0 {
				t.evicted.WithLabelValues("max_parts").Add(float64(n))
			}
		}
		if p.complete && g.Complete == nil {
			g.Complete = &completion{Origin: r.Origin, Time: r.Time.UTC(), At: now}
		}
		g.LastAt = now
		t.gs.resize(g)
		t.limitBytes(now)
		t.saver.Hold(r.Token())
		r.Ack(agent.Delivered)
	}
	var out agent.Batch
	if t.cfg.Settle == 0 {
		out = t.due(now, false)
	}
	t.gauges()
	t.mu.Unlock()
	t.saver.Throttle(ctx)
	if len(dead) > 0 {
		if err := t.set.DeadLetter.Emit(ctx, dead); err != nil {
			return err
		}
	}
	return t.emit(ctx, out)
}

// parse works out what r brings: nil if no block takes it, a dead letter
// if a block takes it but it does not fit.
func (t *transform) parse(r *agent.Record) (*parsed, *agent.Record) {
	p := &parsed{}
	took := false
	fail := func(step, reason, msg string) (*parsed, *agent.Record) {
		dl := t.deadLetter(r, step, reason, msg)
		return nil, &dl
	}
	if h := t.cfg.Header; h != nil {
		ok, errs := h.Match(r)
		if errs != nil {
			dl := t.deadLetterErrs(r, "header", "schema", errs)
			return nil, &dl
		}
		if ok {
			took = true
			fields := map[string]any{}
			if h.Fields != nil {
				var err error
				if fields, err = h.Fields.Eval(r); err != nil {
					return fail("header.fields", "expr_error", err.Error())
				}
			}
			p.header = &item{ID: r.EnsureID(), Time: r.Time.UTC(), Fields: fields}
		}
	}
	for _, pb := range t.cfg.Parts {
		ok, errs := pb.Match(r)
		if errs != nil {
			dl := t.deadLetterErrs(r, "part."+pb.Name, "schema", errs)
			return nil, &dl
		}
		if !ok {
			continue
		}
		took = true
		pid, err := pb.ID.Of(r)
		if err != nil {
			return fail("part."+pb.Name+".id", "no_key", "id: "+err.Error())
		}
		var fields map[string]any
		if pb.Fields != nil {
			if fields, err = pb.Fields.Eval(r); err != nil {
				return fail("part."+pb.Name+".fields", "expr_error", err.Error())
			}
		} else {
			fields = agent.CloneMap(r.MaterializeFields())
		}
		p.parts = append(p.parts, &item{PID: pid, ID: r.EnsureID(), Time: r.Time.UTC(), Fields: fields})
		p.names = append(p.names, pb.Name)
	}
	if c := t.cfg.Complete; c != nil {
		ok, errs := c.Match(r)
		if errs != nil {
			dl := t.deadLetterErrs(r, "complete", "schema", errs)
			return nil, &dl
		}
		if ok {
			took, p.complete = true, true
		}
	}
	if !took {
		return nil, nil
	}
	key, err := t.cfg.Key.Of(r)
	if err != nil {
		return fail("key", "no_key", "key: "+err.Error())
	}
	p.key = key
	return p, nil
}

// limitGroups summarizes the oldest open groups, as incomplete, while
// there are more than max_groups.
func (t *transform) limitGroups(now time.Time) {
	for len(t.gs.open) > t.cfg.MaxGroups {
		g := t.gs.order.Front().Value.(*group)
		t.summarize(g, now, "evicted")
		t.evicted.WithLabelValues("max_groups").Inc()
	}
}

// limitBytes lets go of what is oldest while the groups (open and
// summarized) are over max_bytes: summarized groups first (their records
// read again would then be taken as late), then open groups (summarized
// as incomplete). Summaries waiting for a sink are bounded in number, by
// max_groups.
func (t *transform) limitBytes(now time.Time) {
	for t.gs.bytes-t.gs.pbytes > t.cfg.MaxBytes {
		if e := t.gs.doneL.Front(); e != nil {
			t.gs.dropDone(e.Value.(*doneGroup), "done_max_bytes")
			continue
		}
		e := t.gs.order.Front()
		if e == nil {
			break
		}
		t.summarize(e.Value.(*group), now, "evicted")
		t.evicted.WithLabelValues("max_bytes").Inc()
	}
}

// summarize makes g's summary (complete unless reason is set), queues it,
// and closes g. Called with the lock held.
func (t *transform) summarize(g *group, now time.Time, reason string) {
	if g.Complete != nil {
		reason = "" // its end came: complete, even when a limit hurries it
	}
	fields := map[string]any{}
	tm := g.FirstTime
	if g.Header != nil {
		for k, v := range g.Header.Fields {
			fields[k] = v
		}
		tm = g.Header.Time
	}
	for _, pb := range t.cfg.Parts {
		l := g.Parts[pb.Name]
		list := make([]any, len(l))
		for i, it := range l {
			list[i] = agent.CloneMap(it.Fields)
		}
		fields[pb.Name] = list
	}
	fields["complete"] = reason == ""
	if reason != "" {
		fields["incomplete_reason"] = reason
	}
	if g.Dropped > 0 {
		fields["dropped_parts"] = int64(g.Dropped)
	}
	origin := g.First
	if reason == "" {
		origin = g.Complete.Origin
	}
	out := agent.Record{Time: tm, Kind: t.kind, Origin: origin, Entity: g.Entity}
	out.SetFields(fields)
	out.Origin.Derive(t.set.ID, 0)
	dead := t.finish(&out)
	out.ID = ""
	id := out.EnsureID()
	t.gs.addPending(&pending{Key: g.Key, ID: id, Dead: dead != nil, Record: agent.AppendJSON(nil, pick(&out, dead)), Due: now})
	t.gs.close(g, id)
	for len(t.gs.done) > t.cfg.MaxDone {
		t.gs.dropDone(t.gs.doneL.Front().Value.(*doneGroup), "done_max_done")
	}
	// Pending summaries wait for their sinks; beyond max_groups of them
	// (the sinks have been refusing for long), the oldest are given up.
	for len(t.gs.pend) > t.cfg.MaxGroups {
		p := t.gs.pendL.Front().Value.(*pending)
		t.gs.removePending(p)
		t.evicted.WithLabelValues("pending").Inc()
		t.set.Logger.Error("a summary was never taken by the sinks and is given up (pending summaries beyond max_groups)", "key", p.Key, "id", p.ID)
	}
	outcome := "complete"
	if reason != "" {
		outcome = reason
	}
	t.summaries.WithLabelValues(outcome).Inc()
	t.saver.Dirty()
}

func pick(r, dead *agent.Record) *agent.Record {
	if dead != nil {
		return dead
	}
	return r
}

// finish sets the summary's entity and checks it against the schema. A
// summary that does not fit becomes a dead letter, returned.
func (t *transform) finish(out *agent.Record) *agent.Record {
	var errs []agent.FieldError
	if len(t.cfg.Entity) > 0 {
		out.Entity = make([]agent.KV, 0, len(t.cfg.Entity))
		for _, k := range t.cfg.Entity {
			v, ok := out.Get(k)
			if !ok || v == nil {
				errs = append(errs, agent.FieldError{Field: k, Error: "entity field missing"})
				continue
			}
			out.Entity = append(out.Entity, agent.KV{Key: k, Value: fmt.Sprint(v)})
		}
	}
	step := "entity"
	if len(errs) == 0 && t.cfg.Schema != nil {
		errs, step = t.cfg.Schema.ApplyRecord(out, false), "schema"
	}
	if len(errs) == 0 {
		return nil
	}
	dl := t.deadLetterErrs(out, step, step, errs)
	return &dl
}

// due summarizes the groups whose time has come (their settle passed; no
// terminal record within timeout, unless final) and returns the pending
// summaries to emit. final (the input ended) summarizes every complete
// group at once. Called with the lock held.
func (t *transform) due(now time.Time, final bool) agent.Batch {
	for e := t.gs.order.Front(); e != nil; {
		g := e.Value.(*group)
		e = e.Next()
		switch {
		case g.Complete != nil && (final || !now.Before(g.Complete.At.Add(t.cfg.Settle))):
			t.summarize(g, now, "")
		case g.Complete == nil && !now.Before(g.LastAt.Add(t.cfg.Timeout)):
			t.summarize(g, now, "timeout")
		}
	}
	var out agent.Batch
	for e := t.gs.pendL.Front(); e != nil; e = e.Next() {
		p := e.Value.(*pending)
		if p.inflight || now.Before(p.Due) {
			continue
		}
		r, err := agent.ParseJSON(p.Record)
		if err != nil {
			t.gs.removePending(p) // cannot happen: we wrote it
			continue
		}
		if p.tries > 0 {
			t.retries.Inc()
		}
		p.inflight = true
		r.SetToken(t.set.Acks.NewToken(1, func(failed bool) { t.resolved(p, failed) }))
		out = append(out, r)
	}
	return out
}

// resolved is called when every sink is done with a summary: delivered,
// it is forgotten; failed, it is emitted again later, with the same id.
func (t *transform) resolved(p *pending, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.inflight = false
	if failed {
		p.tries++
		back := time.Duration(1<<min(p.tries, 6)) * time.Second
		p.Due = t.now().Add(back)
		return
	}
	t.gs.removePending(p)
	t.saver.Dirty()
	t.gauges()
}

// emit hands summaries on: to the main output, and those that did not fit
// the schema (dead letters: summaries never have that kind) to
// dead_letter.
func (t *transform) emit(ctx context.Context, b agent.Batch) error {
	if len(b) == 0 {
		return nil
	}
	var main, dead agent.Batch
	for _, r := range b {
		if r.Kind == agent.KindDeadLetter {
			dead = append(dead, r)
		} else {
			main = append(main, r)
		}
	}
	if len(dead) > 0 {
		if err := t.set.DeadLetter.Emit(ctx, dead); err != nil {
			return err
		}
	}
	if len(main) > 0 {
		return t.set.Out.Emit(ctx, main)
	}
	return nil
}

// tick emits what is due and saves the state.
func (t *transform) tick() {
	now := t.now()
	t.mu.Lock()
	var out agent.Batch
	if !t.stopped {
		out = t.due(now, false)
	}
	t.gauges()
	t.mu.Unlock()
	if err := t.emit(context.Background(), out); err != nil {
		t.set.Logger.Warn("cannot hand summaries on; they are emitted again later", "error", err)
	}
	t.save()
}

func (t *transform) save() error { return t.saver.SaveOrLog(t.set) }

func (t *transform) deadLetter(r *agent.Record, step, reason, msg string) agent.Record {
	return *t.rejects.Msg(r, step, reason, msg)
}

func (t *transform) deadLetterErrs(r *agent.Record, step, reason string, errs []agent.FieldError) agent.Record {
	return t.rejects.Make(r, step, reason, errs)
}

// Flush is the end of the input: every complete group is summarized at
// once (nothing more can arrive in this run), what is pending is handed
// on, and the state is saved. Open groups stay for the next start.
func (t *transform) Flush(ctx context.Context) error {
	now := t.now()
	t.mu.Lock()
	out := t.due(now, true)
	t.stopped = true
	t.gauges()
	t.mu.Unlock()
	err := t.emit(ctx, out)
	if serr := t.save(); err == nil {
		err = serr
	}
	return err
}

// Close stops the loop and saves once more (summaries acknowledged since
// the flush are forgotten).
func (t *transform) Close() error {
	t.loop.Stop()
	return t.save()
}
