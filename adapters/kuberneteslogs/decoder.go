package kuberneteslogs

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/k8smeta"
	"github.com/octostore/agent/internal/lines"
	"github.com/octostore/agent/internal/tail"
)

var streamNames = [2]string{"stdout", "stderr"}

const unknownStream = 2

// decoder decodes one container log file, line by line: CRI
// (`<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <message>`) or docker
// json-file (`{"log":"...\n","stream":"stdout","time":"..."}`), detected per
// line. Partial lines are joined per stream, then the messages of each
// stream are grouped per the multiline settings (the source's block, or
// the preset the pod's octoagent.io/multiline annotation picks). A
// record's offset is its first part's, and the commit position never
// passes the first part of a record still being joined or grouped on
// either stream.
type decoder struct {
	s        *source
	ref      PodRef
	timeout  time.Duration
	maxBytes int
	c        *counters
	entity   [3][]agent.KV
	parts    [2]partial

	ml    [2]*tail.Joiner // per stream; nil without multiline
	mlCfg *tail.MultilineConfig

	// The pod metadata the entities were built from.
	gen     uint64
	looked  bool
	pod     *k8smeta.Pod
	missing string
	ctl     control
}

// partial is a record being joined on one stream.
type partial struct {
	active bool
	buf    []byte
	offset int64
	end    int64
	time   time.Time
	since  time.Time
}

func (s *source) newDecoder(ref PodRef) *decoder {
	d := &decoder{s: s, ref: ref, timeout: s.cfg.partialTimeout, maxBytes: s.cfg.MaxMessageBytes, c: s.c}
	d.setMultiline(s.cfg.Tail.Multiline, nil)
	d.build()
	if s.pods != nil {
		d.refresh(nil)
	}
	return d
}

// refresh rebuilds the entities and controls when the pod metadata
// changed since the last line (one atomic load otherwise). Records a
// multiline change emits go to out.
func (d *decoder) refresh(out []tail.Entry) []tail.Entry {
	g := d.s.pods.Gen()
	if g == d.gen && d.looked {
		return out
	}
	d.gen, d.looked = g, true
	pod := d.s.pods.Lookup(d.ref.UID, d.ref.Namespace, d.ref.Pod)
	missing := ""
	switch {
	case pod != nil:
	case !d.s.pods.Synced():
		missing = MissingNotSynced
	default:
		missing = MissingUnknownPod
		d.s.unknownPod(d.ref)
	}
	if pod == d.pod && missing == d.missing {
		return out
	}
	d.pod, d.missing = pod, missing
	d.ctl = d.s.controlOf(pod, d.ref.Container)
	ml := d.s.cfg.Tail.Multiline
	switch {
	case d.ctl.noML:
		ml = nil
	case d.ctl.multiline != nil:
		ml = d.ctl.multiline
	}
	if ml != d.mlCfg && !(ml != nil && d.mlCfg != nil && ml.Preset != "" && ml.Preset == d.mlCfg.Preset) {
		out = d.setMultiline(ml, out)
	}
	d.build()
	return out
}

// setMultiline flushes the groups held and groups with ml from now on.
func (d *decoder) setMultiline(ml *tail.MultilineConfig, out []tail.Entry) []tail.Entry {
	for i := range d.ml {
		if d.ml[i] != nil {
			n := len(out)
			out = d.ml[i].Flush(out)
			d.tag(out[n:], i)
		}
		d.ml[i] = nil
		if ml != nil {
			d.ml[i] = tail.NewJoiner(ml, d.c.mlTruncated)
		}
	}
	d.mlCfg = ml
	return out
}

// build makes the entity of each stream: the path's names, the stream,
// then the pod's metadata and the container's image, or the marker of
// missing metadata.
func (d *decoder) build() {
	base := []agent.KV{{Key: KeyNamespace, Value: d.ref.Namespace}, {Key: KeyPod, Value: d.ref.Pod},
		{Key: KeyPodUID, Value: d.ref.UID}, {Key: KeyContainer, Value: d.ref.Container}}
	var meta []agent.KV
	switch {
	case d.pod != nil:
		meta = append(append(meta, d.pod.Container(d.ref.Container)...), d.pod.Resource...)
	case d.missing != "":
		meta = []agent.KV{{Key: KeyMetadataMissing, Value: d.missing}}
	}
	for i, name := range streamNames {
		e := make([]agent.KV, 0, len(base)+1+len(meta))
		e = append(append(append(e, base...), agent.KV{Key: KeyStream, Value: name}), meta...)
		d.entity[i] = e
	}
	e := append(append(make([]agent.KV, 0, len(base)+len(meta)), base...), meta...)
	d.entity[unknownStream] = e
}

// Output implements tail.Routed: excluded containers' records are
// dropped (and counted), routed ones go to their rules transform.
func (d *decoder) Output(main agent.Output) agent.Output {
	return d.s.output(d.ctl, main)
}

// tag sets the entity of entries of one stream (unknownStream for lines
// in neither format).
func (d *decoder) tag(es []tail.Entry, stream int) {
	for i := range es {
		es[i].Entity = d.entity[stream]
	}
}

// parsed is one decoded line.
type parsed struct {
	msg     []byte
	stream  int
	time    time.Time
	partial bool
}

func parseCRI(b []byte) (parsed, bool) {
	var p parsed
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return p, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return p, false
	}
	rest := b[i+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")):
		p.stream = 0
	case bytes.HasPrefix(rest, []byte("stderr ")):
		p.stream = 1
	default:
		return p, false
	}
	rest = rest[7:]
	tag := rest
	if j := bytes.IndexByte(rest, ' '); j >= 0 {
		tag, rest = rest[:j], rest[j+1:]
	} else {
		rest = rest[len(rest):]
	}
	if k := bytes.IndexByte(tag, ':'); k >= 0 {
		tag = tag[:k]
	}
	switch string(tag) {
	case "P":
		p.partial = true
	case "F":
	default:
		return p, false
	}
	p.msg, p.time = rest, t
	return p, true
}

type dockerLine struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func parseDocker(b []byte) (parsed, bool) {
	var p parsed
	var d dockerLine
	if err := json.Unmarshal(b, &d); err != nil {
		return p, false
	}
	switch d.Stream {
	case "stdout":
		p.stream = 0
	case "stderr":
		p.stream = 1
	default:
		return p, false
	}
	msg, full := strings.CutSuffix(d.Log, "\n")
	p.msg, p.time, p.partial = []byte(msg), d.Time, !full
	return p, true
}

// held returns the offset of the first line still held (a partial line,
// or a multiline group), on either stream.
func (d *decoder) held() (int64, bool) {
	min, any := int64(0), false
	take := func(o int64) {
		if !any || o < min {
			min, any = o, true
		}
	}
	for i := range d.parts {
		if d.parts[i].active {
			take(d.parts[i].offset)
		}
		if d.ml[i] != nil {
			if o, ok := d.ml[i].Held(); ok {
				take(o)
			}
		}
	}
	return min, any
}

// settle caps the commit positions of the entries made since n: a restart
// must not resume past a line still held. It counts those without
// metadata.
func (d *decoder) settle(out []tail.Entry, n int) []tail.Entry {
	if h, ok := d.held(); ok {
		for i := n; i < len(out); i++ {
			out[i].Commit = min(out[i].Commit, h)
		}
	}
	if d.missing != "" {
		for i := n; i < len(out); i++ {
			if !out[i].Cut {
				d.c.missing.Inc()
			}
		}
	}
	return out
}

func (d *decoder) Add(l lines.Line, now time.Time, out []tail.Entry) []tail.Entry {
	n := len(out)
	if d.s.pods != nil {
		out = d.refresh(out)
	}
	if l.Cut {
		out = append(out, tail.Entry{Raw: l.Bytes, Offset: l.Offset, Commit: l.End, Cut: true})
		return d.settle(out, n)
	}
	var p parsed
	ok := false
	if len(l.Bytes) > 0 && l.Bytes[0] == '{' {
		p, ok = parseDocker(l.Bytes)
	}
	if !ok {
		p, ok = parseCRI(l.Bytes)
	}
	if !ok {
		d.c.malformed.Inc()
		out = append(out, tail.Entry{Raw: l.Bytes, Offset: l.Offset, Commit: l.End, Entity: d.entity[unknownStream]})
		return d.settle(out, n)
	}
	s := &d.parts[p.stream]
	if !s.active && !p.partial {
		// The common case: a whole line, no copy.
		out = d.message(p.stream, tail.Message{Bytes: p.msg, Offset: l.Offset, End: l.End, Time: p.time}, now, out)
		return d.settle(out, n)
	}
	if s.active && len(s.buf)+len(p.msg) > d.maxBytes {
		d.c.timedOut.Inc()
		out = d.finish(p.stream, now, out)
	}
	if !s.active {
		*s = partial{active: true, buf: append([]byte(nil), p.msg...), offset: l.Offset, time: p.time}
	} else {
		d.c.joined.Inc()
		s.buf = append(s.buf, p.msg...)
	}
	s.end, s.since = l.End, now
	if !p.partial {
		out = d.finish(p.stream, now, out)
	}
	return d.settle(out, n)
}

// message hands a whole message of a stream on: to the stream's
// multiline joiner, or out as a record.
func (d *decoder) message(stream int, m tail.Message, now time.Time, out []tail.Entry) []tail.Entry {
	n := len(out)
	if j := d.ml[stream]; j != nil {
		out = j.Add(m, now, out)
	} else {
		out = append(out, tail.Entry{Raw: m.Bytes, Offset: m.Offset, Commit: m.End, Time: m.Time})
	}
	d.tag(out[n:], stream)
	return out
}

// finish hands on the message being joined on stream i.
func (d *decoder) finish(i int, now time.Time, out []tail.Entry) []tail.Entry {
	s := &d.parts[i]
	if !s.active {
		return out
	}
	s.active = false
	m := tail.Message{Bytes: s.buf, Offset: s.offset, End: s.end, Time: s.time}
	s.buf = nil
	return d.message(i, m, now, out)
}

func (d *decoder) Tick(now time.Time, out []tail.Entry) []tail.Entry {
	n := len(out)
	if d.s.pods != nil {
		out = d.refresh(out)
	}
	for _, i := range d.order() {
		if now.Sub(d.parts[i].since) >= d.timeout {
			d.c.timedOut.Inc()
			out = d.finish(i, now, out)
		}
	}
	for i, j := range d.ml {
		if j != nil {
			m := len(out)
			out = j.Tick(now, out)
			d.tag(out[m:], i)
		}
	}
	if len(out) == n {
		return out
	}
	return d.settle(out, n)
}

func (d *decoder) Flush(out []tail.Entry) []tail.Entry {
	n := len(out)
	now := time.Now()
	for _, i := range d.order() {
		out = d.finish(i, now, out)
	}
	for i, j := range d.ml {
		if j != nil {
			m := len(out)
			out = j.Flush(out)
			d.tag(out[m:], i)
		}
	}
	if len(out) == n {
		return out
	}
	return d.settle(out, n)
}

// order lists the active streams, the one that began first first.
func (d *decoder) order() []int {
	a, b := d.parts[0].active, d.parts[1].active
	switch {
	case a && b && d.parts[1].offset < d.parts[0].offset:
		return []int{1, 0}
	case a && b:
		return []int{0, 1}
	case a:
		return []int{0}
	case b:
		return []int{1}
	}
	return nil
}
