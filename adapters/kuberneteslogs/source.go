package kuberneteslogs

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/lines"
	"github.com/octostore/agent/internal/tail"
)

// PodRef names the container a log file belongs to, as its path says.
type PodRef struct {
	Namespace, Pod, UID, Container string
}

// parsePath reads namespace, pod, uid and container from
// <pods_dir>/<namespace>_<pod>_<uid>/<container>/<n>.log.
func parsePath(path string) (PodRef, bool) {
	dir := filepath.Dir(path)
	container := filepath.Base(dir)
	parts := strings.Split(filepath.Base(filepath.Dir(dir)), "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || container == "" || container == "." {
		return PodRef{}, false
	}
	return PodRef{Namespace: parts[0], Pod: parts[1], UID: parts[2], Container: container}, true
}

// filter says whether a name passes include (empty: all) and exclude globs.
func filter(name string, include, exclude []string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			if ok, _ := filepath.Match(g, name); ok {
				return true
			}
		}
		return false
	}
	return (len(include) == 0 || match(include)) && !match(exclude)
}

func newSource(set agent.Settings, cfg *Config) *tail.Tailer {
	m := set.Metrics
	counters := &counters{
		malformed: m.Counter("kubernetes_logs_malformed_lines_total", "Lines in neither CRI nor docker json-file format; passed on whole as the message."),
		joined:    m.Counter("kubernetes_logs_partial_lines_joined_total", "Partial lines (CRI P, docker without newline) joined into the record they belong to."),
		timedOut:  m.Counter("kubernetes_logs_partial_timeouts_total", "Records emitted with their last part missing, after partial_timeout or at max_message_bytes."),
	}
	hooks := tail.Hooks{
		Accept: func(path string) bool {
			ref, ok := parsePath(path)
			return ok && filter(ref.Namespace, cfg.IncludeNamespaces, cfg.ExcludeNamespaces) &&
				filter(ref.Pod, cfg.IncludePods, cfg.ExcludePods) &&
				filter(ref.Container, cfg.IncludeContainers, cfg.ExcludeContainers)
		},
		NewDecoder: func(path string) tail.Decoder {
			ref, _ := parsePath(path)
			base := []agent.KV{{Key: "namespace", Value: ref.Namespace}, {Key: "pod", Value: ref.Pod},
				{Key: "pod_uid", Value: ref.UID}, {Key: "container", Value: ref.Container}}
			d := &decoder{timeout: cfg.partialTimeout, maxBytes: cfg.MaxMessageBytes, c: counters}
			for i, name := range streamNames {
				e := append(append(make([]agent.KV, 0, len(base)+1), base...), agent.KV{Key: "stream", Value: name})
				d.entity[i] = e[:len(e):len(e)]
			}
			d.entity[unknownStream] = base[:len(base):len(base)]
			return d
		},
	}
	return tail.NewTailer(set, &cfg.Tail, hooks)
}

type counters struct {
	malformed, joined, timedOut prometheus.Counter
}

var streamNames = [2]string{"stdout", "stderr"}

const unknownStream = 2

// decoder decodes one container log file, line by line: CRI
// (`<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <message>`) or docker
// json-file (`{"log":"...\n","stream":"stdout","time":"..."}`), detected per
// line. Partial lines are joined per stream; a record's offset is its first
// part's, and the commit position never passes the first part of a record
// still being joined on the other stream.
type decoder struct {
	timeout  time.Duration
	maxBytes int
	c        *counters
	entity   [3][]agent.KV
	parts    [2]partial
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

// commitFor is where a restart may resume once a record ending at end is
// done: not past the first part of a record still being joined.
func (d *decoder) commitFor(end int64) int64 {
	for i := range d.parts {
		if d.parts[i].active && d.parts[i].offset < end {
			end = d.parts[i].offset
		}
	}
	return end
}

func (d *decoder) Add(l lines.Line, now time.Time, out []tail.Entry) []tail.Entry {
	if l.Cut {
		return append(out, tail.Entry{Raw: l.Bytes, Offset: l.Offset, Commit: d.commitFor(l.End), Cut: true})
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
		return append(out, tail.Entry{Raw: l.Bytes, Offset: l.Offset, Commit: d.commitFor(l.End), Entity: d.entity[unknownStream]})
	}
	s := &d.parts[p.stream]
	if !s.active && !p.partial {
		// The common case: a whole line, no copy.
		return append(out, tail.Entry{Raw: p.msg, Offset: l.Offset, Commit: d.commitFor(l.End), Time: p.time, Entity: d.entity[p.stream]})
	}
	if s.active && len(s.buf)+len(p.msg) > d.maxBytes {
		d.c.timedOut.Inc()
		out = d.finish(p.stream, out)
	}
	if !s.active {
		*s = partial{active: true, buf: append([]byte(nil), p.msg...), offset: l.Offset, time: p.time}
	} else {
		d.c.joined.Inc()
		s.buf = append(s.buf, p.msg...)
	}
	s.end, s.since = l.End, now
	if !p.partial {
		out = d.finish(p.stream, out)
	}
	return out
}

// finish emits the record being joined on stream i.
func (d *decoder) finish(i int, out []tail.Entry) []tail.Entry {
	s := &d.parts[i]
	if !s.active {
		return out
	}
	s.active = false
	out = append(out, tail.Entry{Raw: s.buf, Offset: s.offset, Commit: d.commitFor(s.end), Time: s.time, Entity: d.entity[i]})
	s.buf = nil
	return out
}

func (d *decoder) Tick(now time.Time, out []tail.Entry) []tail.Entry {
	for _, i := range d.order() {
		if now.Sub(d.parts[i].since) >= d.timeout {
			d.c.timedOut.Inc()
			out = d.finish(i, out)
		}
	}
	return out
}

func (d *decoder) Flush(out []tail.Entry) []tail.Entry {
	for _, i := range d.order() {
		out = d.finish(i, out)
	}
	return out
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
