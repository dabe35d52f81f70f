package replay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
)

// IDs of the nodes Graph adds. Their names hold a dot, which no name in a
// config can, so they never clash with the config's components.
const (
	InputID     = "source.replay.input"
	TransformID = "transform.octoagent.replay"
	TallyID     = "sink.replay.dry_run"
)

// MaxLine bounds one dead letter on the input (its raw line is at most the
// source's max_line_bytes, 100 KiB by default, plus its parsed fields).
const MaxLine = 16 << 20

// Stats counts what a replay read and could not replay. It is shared by the
// replay transform and the command that prints the summary.
type Stats struct {
	Read atomic.Int64

	mu      sync.Mutex
	errs    map[string]*Group
	targets map[string]int64
	log     func(pos string, err *Error)
}

// Group is one reason (of an error, or of a dead letter that still fails)
// with its count and a few examples.
type Group struct {
	Transform string   `json:"transform,omitempty"`
	Step      string   `json:"step,omitempty"`
	Reason    string   `json:"reason"`
	Count     int64    `json:"count"`
	Examples  []string `json:"examples"`
}

// Examples is how many examples a Group keeps.
const Examples = 3

// NewStats returns empty stats; log, if set, is called for every per-record
// error with the position of the dead letter on the input.
func NewStats(log func(pos string, err *Error)) *Stats {
	return &Stats{errs: map[string]*Group{}, targets: map[string]int64{}, log: log}
}

func (s *Stats) fail(pos string, e *Error) {
	s.mu.Lock()
	g := s.errs[e.Reason]
	if g == nil {
		g = &Group{Reason: e.Reason}
		s.errs[e.Reason] = g
	}
	g.Count++
	if len(g.Examples) < Examples {
		g.Examples = append(g.Examples, pos+": "+e.Msg)
	}
	s.mu.Unlock()
	if s.log != nil {
		s.log(pos, e)
	}
}

// Errors returns the per-record errors by reason, the most frequent first.
func (s *Stats) Errors() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortGroups(s.errs)
}

// ErrorCount is the number of per-record errors.
func (s *Stats) ErrorCount() int64 {
	var n int64
	for _, g := range s.Errors() {
		n += g.Count
	}
	return n
}

// Targets returns the transforms dead letters were replayed into, with how
// many each was given.
func (s *Stats) Targets() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.targets))
	for k, v := range s.targets {
		out[k] = v
	}
	return out
}

func sortGroups(m map[string]*Group) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Transform+out[i].Step+out[i].Reason < out[j].Transform+out[j].Step+out[j].Reason
	})
	return out
}

// router rebuilds dead letters and hands each rebuilt record to the
// transform it names (or to into, a renamed rule), with the place of its
// dead letter in its token: the input position is committed once the
// replayed record (or its new dead letter) reached its outcome. The replay
// stage (TransformFactory) is one, for dead letters any source read; the
// reader of a file or standard input (ReaderFactory) is one itself, so its
// lines are decoded where they are read, with no copy of each dead letter
// and no stage between it and the transforms.
type router struct {
	out   agent.Router
	into  string
	known []string
	stats *Stats
	dec   Decoder
	// targets is the target of each record of the batch being built.
	targets []string
}

func newRouter(set agent.Settings, stats *Stats, into string) (*router, error) {
	rt, ok := set.Out.(agent.Router)
	if !ok {
		return nil, fmt.Errorf("replay: the output cannot route")
	}
	return &router{out: rt, into: into, known: rt.Consumers(), stats: stats}, nil
}

// rebuild reads dead letter line and returns the record its transform was
// given and the transform to replay it into.
func (t *router) rebuild(line []byte) (agent.Record, string, error) {
	in, comp, err := t.dec.Decode(line)
	if err != nil {
		return agent.Record{}, "", err
	}
	target := comp
	if t.into != "" {
		target = t.into
	}
	if !slices.Contains(t.known, target) {
		return agent.Record{}, "", errorf(ReasonUnknownTransform, "dead letter %s: %s is not in the config; replay it into the rule that replaced it with --transform NAME. %s",
			deadLetterID(in.Origin, comp), target, decode.DidYouMean(target, t.known, "transforms"))
	}
	return in, target, nil
}

// fail counts the dead letter at pos that cannot be replayed.
func (t *router) fail(pos string, err error) {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Reason: ReasonNotDeadLetter, Msg: err.Error()}
	}
	t.stats.fail(pos, e)
}

// emit hands each record of b to its target (t.targets, one per record),
// in order: the whole batch when they all have the same, as they mostly
// do, else a batch per target. It leaves t.targets empty.
func (t *router) emit(ctx context.Context, b agent.Batch) error {
	targets := t.targets
	defer func() { t.targets = targets[:0] }()
	if len(b) == 0 {
		return nil
	}
	first := targets[0]
	if !slices.ContainsFunc(targets[1:], func(s string) bool { return s != first }) {
		t.stats.mu.Lock()
		t.stats.targets[first] += int64(len(b))
		t.stats.mu.Unlock()
		return t.out.EmitTo(ctx, targets[:1], b)
	}
	var order []string
	groups := map[string]agent.Batch{}
	for i, target := range targets {
		if _, ok := groups[target]; !ok {
			order = append(order, target)
		}
		groups[target] = append(groups[target], b[i])
	}
	t.stats.mu.Lock()
	for _, target := range order {
		t.stats.targets[target] += int64(len(groups[target]))
	}
	t.stats.mu.Unlock()
	var err error
	for _, target := range order {
		if e := t.out.EmitTo(ctx, []string{target}, groups[target]); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// transform is the replay stage: it reads each dead letter (a JSON line,
// whatever source read it) and routes what it rebuilds (see router).
type transform struct {
	*router
}

// TransformFactory returns the factory of the replay stage. into, if not
// empty, is the transform every dead letter goes to (a renamed rule).
func TransformFactory(stats *Stats, into string) *agent.Factory {
	type config struct{}
	return agent.NewTransformFactory(agent.FactorySpec[config, agent.Transform]{
		Type:      "replay",
		NewConfig: func() *config { return &config{} },
		Create: func(set agent.Settings, _ *config) (agent.Transform, error) {
			r, err := newRouter(set, stats, into)
			if err != nil {
				return nil, err
			}
			return transform{r}, nil
		},
	})
}

// Process rebuilds the records of b in place: the batch goes on with the
// rebuilt records, without those that could not be replayed (resolved as
// Dropped).
func (t transform) Process(ctx context.Context, b agent.Batch) error {
	t.stats.Read.Add(int64(len(b)))
	n := 0
	for i := range b {
		r := &b[i]
		in, target, err := t.rebuild(r.Message())
		if err != nil {
			t.fail(position(r), err)
			r.Ack(agent.Dropped)
			continue
		}
		in.SetToken(r.Token())
		b[n] = in
		t.targets = append(t.targets, target)
		n++
	}
	clear(b[n:])
	return t.emit(ctx, b[:n])
}

// deadLetterID is the id of the dead letter comp made of a record from o.
func deadLetterID(o agent.Origin, comp string) string {
	o.Derive(comp+".dead_letter", 0)
	return o.ComputeID()
}

// position names where a dead letter was read: a line of the input, a
// Kafka offset.
func position(r *agent.Record) string {
	if r.Origin.Topic != "" {
		return fmt.Sprintf("%s/%d@%d", r.Origin.Topic, r.Origin.Partition, r.Origin.Offset)
	}
	return linePosition(r.Origin.Offset)
}

// linePosition names line n (from 0) of the input.
func linePosition(n int64) string { return "line " + strconv.FormatInt(n+1, 10) }

// ReaderFactory returns the factory of a source that reads dead letters, one
// JSON object a line, from rd until its end, and routes what it rebuilds
// of them itself (see router: stats and into as for TransformFactory; in
// the graph, the transforms read it, with no stage between, see Graph).
// Each record's token holds its line number from 0; progress, if set, is
// told the bytes read so far. It keeps no checkpoint: replaying the same
// input again gives the same ids, so the store keeps one copy.
func ReaderFactory(rd io.Reader, progress func(bytes int64), stats *Stats, into string) *agent.Factory {
	type config struct{}
	return agent.NewSourceFactory(agent.FactorySpec[config, agent.Source]{
		Type:      "replay_input",
		NewConfig: func() *config { return &config{} },
		Create: func(set agent.Settings, _ *config) (agent.Source, error) {
			r, err := newRouter(set, stats, into)
			if err != nil {
				return nil, err
			}
			return &reader{router: r, set: set, rd: rd, progress: progress}, nil
		},
	})
}

type reader struct {
	*router
	set      agent.Settings
	rd       io.Reader
	progress func(int64)
}

// ErrLineTooLong is returned by the reader's Run for a line over MaxLine.
var ErrLineTooLong = bufio.ErrTooLong

func (s *reader) Run(ctx context.Context) error {
	sc := bufio.NewScanner(s.rd)
	sc.Buffer(make([]byte, 0, 256<<10), MaxLine)
	const batch = 512
	var (
		recs  = make(agent.Batch, 0, batch)
		read  int // lines of the batch
		line  int64
		bytes int64
	)
	tracker := agent.NewTracker(s.set.Acks, func(int64) {}, func() { s.set.Metrics.StuckStream() })
	emit := func() {
		s.stats.Read.Add(int64(read))
		read = 0
		if len(recs) > 0 {
			tok := tracker.Track(len(recs), line)
			for i := range recs {
				recs[i].SetToken(tok)
			}
			_ = s.emit(ctx, recs)
			recs = make(agent.Batch, 0, batch)
		}
		if s.progress != nil {
			s.progress(bytes)
		}
	}
	for sc.Scan() {
		b := sc.Bytes()
		bytes += int64(len(b)) + 1
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		if len(b) == 0 {
			line++
			continue
		}
		// The record rebuilt owns what it holds: b is the scanner's, for
		// this line only.
		in, target, err := s.rebuild(b)
		if err != nil {
			s.fail(linePosition(line), err)
		} else {
			recs = append(recs, in)
			s.targets = append(s.targets, target)
		}
		line++
		if read++; read == batch {
			emit()
			if ctx.Err() != nil {
				return nil
			}
		}
	}
	emit()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

// Tally is the sink of a dry run: it counts what the transforms made of the
// replayed dead letters, the records by transform and the dead letters by
// transform, step and reason, with a few examples of each, and sends
// nothing anywhere. It resolves what it counts as failed, so that no input
// position is committed.
type Tally struct {
	mu      sync.Mutex
	records map[string]*Group // by transform
	dead    map[string]*Group // by transform, step, reason
}

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{records: map[string]*Group{}, dead: map[string]*Group{}}
}

// Factory returns the factory of the tally sink.
func (t *Tally) Factory() *agent.Factory {
	type config struct{}
	return agent.NewSinkFactory(agent.FactorySpec[config, agent.Sink]{
		Type:      "replay_dry_run",
		NewConfig: func() *config { return &config{} },
		Create:    func(agent.Settings, *config) (agent.Sink, error) { return t, nil },
	})
}

// Consume counts b.
func (t *Tally) Consume(_ context.Context, b agent.Batch) error {
	var enc agent.Encoder
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range b {
		r := &b[i]
		if r.Kind == agent.KindDeadLetter {
			comp, _ := fieldString(r, "component")
			step, _ := fieldString(r, "step")
			reason, _ := fieldString(r, "reason")
			key := comp + "\x00" + step + "\x00" + reason
			g := t.dead[key]
			if g == nil {
				g = &Group{Transform: comp, Step: step, Reason: reason}
				t.dead[key] = g
			}
			g.Count++
			if len(g.Examples) < Examples {
				g.Examples = append(g.Examples, string(enc.Append(nil, r)))
			}
		} else {
			comp := lastRule(r.Origin.Rule)
			g := t.records[comp]
			if g == nil {
				g = &Group{Transform: comp, Reason: "parsed"}
				t.records[comp] = g
			}
			g.Count++
			if len(g.Examples) < Examples {
				g.Examples = append(g.Examples, string(enc.Append(nil, r)))
			}
		}
		// Failed, not Delivered: a dry run commits nothing, so a Kafka
		// group's offsets stay where they were for the real replay.
		r.Ack(agent.Failed)
	}
	return nil
}

// Flush does nothing: nothing is held.
func (t *Tally) Flush(context.Context) error { return nil }

// Records returns the records made, by transform.
func (t *Tally) Records() []Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortGroups(t.records)
}

// DeadLetters returns the dead letters made, by transform, step and reason.
func (t *Tally) DeadLetters() []Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortGroups(t.dead)
}

func lastRule(rule string) string {
	for i := len(rule) - 1; i >= 0; i-- {
		if rule[i] == '>' {
			return rule[i+1:]
		}
	}
	return rule
}

// Graph rewrites the config's graph g for a replay. The config's sources
// go (except keep, a source of the config that reads the dead letters, when
// not empty); input, the source of the dead letters, feeds the replay stage
// (TransformFactory), and the stage feeds every transform of the config, so
// each dead letter reaches the transform it names and, from there, that
// transform's consumers as in `run`: disk buffers, acknowledgements and
// retries included. With stage nil, the input routes the dead letters
// itself (ReaderFactory) and feeds the transforms. A sink left reading
// nothing (it read a source only) goes too.
//
// With tally (a dry run) every sink goes: each transform reads the stage
// (or the input) alone, and the tally reads every transform's two outputs.
func Graph(g agent.Graph, input agent.NodeSpec, stage *agent.Factory, tally *agent.Factory) agent.Graph {
	sources := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Kind == agent.KindSource {
			sources[n.ID] = true // and input, if the config declares it: it feeds the stage alone
		}
	}
	out := agent.Graph{Agent: g.Agent}
	input.Inputs = nil
	out.Nodes = append(out.Nodes, input)
	feed := input.ID
	if stage != nil {
		out.Nodes = append(out.Nodes, agent.NodeSpec{ID: TransformID, Type: "replay", Name: "octoagent.replay", Kind: agent.KindTransform,
			Inputs: []string{input.ID}, Factory: stage, Config: stage.NewConfig()})
		feed = TransformID
	}
	var tallyInputs []string
	for _, n := range g.Nodes {
		switch {
		case n.Kind == agent.KindSource:
			continue
		case n.Kind == agent.KindTransform:
			ins := []string{feed}
			if tally == nil {
				for _, in := range n.Inputs {
					if id, _ := agent.SplitOutputID(in); !sources[id] {
						ins = append(ins, in)
					}
				}
			}
			n.Inputs = ins
			tallyInputs = append(tallyInputs, n.ID, n.ID+"."+agent.DeadLetterPort)
		case tally != nil:
			continue
		default:
			ins := n.Inputs[:0:0]
			for _, in := range n.Inputs {
				if id, _ := agent.SplitOutputID(in); !sources[id] {
					ins = append(ins, in)
				}
			}
			if len(ins) == 0 {
				continue
			}
			n.Inputs = ins
		}
		out.Nodes = append(out.Nodes, n)
	}
	out.Nodes = prune(out.Nodes)
	if tally != nil {
		out.Nodes = append(out.Nodes, agent.NodeSpec{ID: TallyID, Type: "replay_dry_run", Name: "dry_run", Kind: agent.KindSink,
			Inputs: tallyInputs, Factory: tally, Config: tally.NewConfig()})
	}
	return out
}

// prune drops the inputs that name no node, and the sinks left with no
// input, until none is left to drop (a sink reading the dead letters of a
// sink that went).
func prune(nodes []agent.NodeSpec) []agent.NodeSpec {
	for {
		ids := map[string]bool{}
		for _, n := range nodes {
			ids[n.ID] = true
		}
		changed := false
		kept := nodes[:0:0]
		for _, n := range nodes {
			ins := n.Inputs[:0:0]
			for _, in := range n.Inputs {
				if id, _ := agent.SplitOutputID(in); ids[id] {
					ins = append(ins, in)
				}
			}
			if len(ins) != len(n.Inputs) {
				changed = true
			}
			n.Inputs = ins
			if n.Kind == agent.KindSink && len(ins) == 0 {
				changed = true
				continue
			}
			kept = append(kept, n)
		}
		nodes = kept
		if !changed {
			return nodes
		}
	}
}
