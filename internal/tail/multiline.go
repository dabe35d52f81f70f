package tail

import (
	"bytes"
	"errors"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
)

// MultilineConfig is the optional `multiline` block: it joins consecutive
// lines (of one stream, for container logs) into one record. Either a
// preset, or start_pattern and/or a continuation rule
// (continuation_pattern, or condition_pattern with mode).
type MultilineConfig struct {
	Preset              string `hcl:"preset,optional"`
	StartPattern        string `hcl:"start_pattern,optional"`
	ContinuationPattern string `hcl:"continuation_pattern,optional"`
	ConditionPattern    string `hcl:"condition_pattern,optional"`
	Mode                string `hcl:"mode,optional"`
	MaxLines            int    `hcl:"max_lines,optional"`
	MaxBytes            int    `hcl:"max_bytes,optional"`
	Timeout             string `hcl:"timeout,optional"`

	m       *machine
	timeout time.Duration
}

// Multiline modes.
const (
	ModeContinueThrough = "continue_through"
	ModeContinuePast    = "continue_past"
	ModeHaltBefore      = "halt_before"
	ModeHaltWith        = "halt_with"
)

// Multiline limits' defaults.
const (
	DefaultMultilineMaxLines = 500
	DefaultMultilineMaxBytes = 1 << 20
	DefaultMultilineTimeout  = "1s"
)

// PresetNone is the value of the octoagent.io/multiline annotation that
// turns grouping off for a container.
const PresetNone = "none"

// Presets lists the preset names, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets()))
	for n := range presets() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// WithPreset returns a validated copy of m (its limits; the defaults if m
// is nil) that groups lines per the named preset, for a container that
// chose one with an annotation.
func (m *MultilineConfig) WithPreset(name string) (*MultilineConfig, error) {
	c := &MultilineConfig{Preset: name}
	if m != nil {
		c.MaxLines, c.MaxBytes, c.Timeout = m.MaxLines, m.MaxBytes, m.Timeout
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (m *MultilineConfig) validate() error {
	var errs []error
	re := func(attr, s string) *regexp.Regexp {
		if s == "" {
			return nil
		}
		r, err := regexp.Compile(s)
		if err != nil {
			errs = append(errs, agent.AttrErrorf("multiline."+attr, "Use Go (RE2) regular expression syntax.", "bad pattern: %v", err))
		}
		return r
	}
	start := re("start_pattern", m.StartPattern)
	cont := re("continuation_pattern", m.ContinuationPattern)
	cond := re("condition_pattern", m.ConditionPattern)
	mode := m.Mode
	switch {
	case m.Preset != "":
		p, ok := presets()[m.Preset]
		if !ok {
			errs = append(errs, agent.AttrErrorf("multiline.preset", decode.DidYouMean(m.Preset, Presets(), "presets"), "unknown preset %q", m.Preset))
		}
		if m.StartPattern != "" || m.ContinuationPattern != "" || m.ConditionPattern != "" || m.Mode != "" {
			errs = append(errs, agent.AttrErrorf("multiline.preset", "A preset sets the patterns itself: drop start_pattern, continuation_pattern, condition_pattern and mode, or drop preset.", "preset with patterns"))
		}
		m.m = p
	case m.ContinuationPattern != "" && (m.ConditionPattern != "" || m.Mode != ""):
		errs = append(errs, agent.AttrErrorf("multiline.continuation_pattern", `continuation_pattern is short for condition_pattern with mode = "continue_through": set one or the other.`, "continuation_pattern with condition_pattern or mode"))
	case m.StartPattern == "" && m.ContinuationPattern == "" && m.ConditionPattern == "":
		errs = append(errs, agent.AttrErrorf("multiline.start_pattern", `Set preset (`+joinNames(Presets())+`), start_pattern (a line that begins a record), continuation_pattern (a line that continues one), or condition_pattern and mode.`, "no preset and no pattern set"))
	case m.ContinuationPattern != "":
		cond, mode = cont, ModeContinueThrough
	case m.ConditionPattern != "":
		switch mode {
		case ModeContinueThrough, ModeContinuePast, ModeHaltBefore, ModeHaltWith:
		default:
			errs = append(errs, agent.AttrErrorf("multiline.mode", `Use "continue_through", "continue_past", "halt_before" or "halt_with".`, "unknown mode %q", m.Mode))
		}
	case m.Mode != "":
		errs = append(errs, agent.AttrErrorf("multiline.mode", "mode says what condition_pattern means; set condition_pattern too, or drop mode.", "mode without condition_pattern"))
	}
	if m.Preset == "" && len(errs) == 0 {
		m.m = patternMachine(start, cond, mode)
	}
	if m.MaxLines == 0 {
		m.MaxLines = DefaultMultilineMaxLines
	}
	if m.MaxLines < 1 {
		errs = append(errs, agent.AttrErrorf("multiline.max_lines", "The default is 500.", "must be at least 1, got %d", m.MaxLines))
	}
	if m.MaxBytes == 0 {
		m.MaxBytes = DefaultMultilineMaxBytes
	}
	if m.MaxBytes < 1 {
		errs = append(errs, agent.AttrErrorf("multiline.max_bytes", "The default is 1048576 (1 MiB).", "must be at least 1, got %d", m.MaxBytes))
	}
	if m.Timeout == "" {
		m.Timeout = DefaultMultilineTimeout
	}
	d, err := time.ParseDuration(m.Timeout)
	if err != nil || d <= 0 {
		errs = append(errs, agent.AttrErrorf("multiline.timeout", `Write a positive duration such as "1s".`, "%q is not a duration", m.Timeout))
	}
	m.timeout = d
	return errors.Join(errs...)
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + n + `"`)
	}
	return b.String()
}

// A machine groups lines. With no group open, the first of starts that
// matches a line opens a group with it (in the transition's state); if
// none matches, the line is a record of its own. With a group open, the
// first transition of its state that matches the line adds the line to
// it; if none matches, the group is emitted and the line is tested
// against starts. A transition to stateEnd adds the line and emits the
// group.
type machine struct {
	starts []transition
	next   [][]transition // by state
}

type transition struct {
	re  *regexp.Regexp // nil matches every line
	not bool           // the line must not match re
	to  int
}

const stateEnd = -1

func (t *transition) match(b []byte) bool {
	return t.re == nil || t.re.Match(b) != t.not
}

func first(ts []transition, b []byte) (int, bool) {
	for i := range ts {
		if ts[i].match(b) {
			return ts[i].to, true
		}
	}
	return 0, false
}

// patternMachine expresses start_pattern and condition_pattern with mode
// (continuation_pattern is continue_through) as a machine of one state.
func patternMachine(start, cond *regexp.Regexp, mode string) *machine {
	const g = 0
	any := transition{to: g}
	if cond == nil { // start_pattern only: every other line joins
		return &machine{starts: []transition{any}, next: [][]transition{{{re: start, not: true, to: g}}}}
	}
	var next []transition
	switch mode {
	case ModeContinueThrough:
		next = []transition{{re: cond, to: g}}
	case ModeHaltBefore:
		next = []transition{{re: cond, not: true, to: g}}
	case ModeContinuePast:
		next = []transition{{re: cond, to: g}, {to: stateEnd}}
	case ModeHaltWith:
		next = []transition{{re: cond, to: stateEnd}, {to: g}}
	}
	m := &machine{next: [][]transition{next}}
	switch {
	case start != nil:
		// Only a line matching start_pattern begins a record; the others
		// outside a record pass alone.
		m.starts = []transition{{re: start, to: g}}
	case mode == ModeContinuePast || mode == ModeHaltWith:
		// With no start_pattern, the first line of a record is a line
		// like any other: it may end it at once.
		m.starts = next
	default:
		m.starts = []transition{any}
	}
	return m
}

// Joiner joins the consecutive messages of one stream into records per a
// multiline block. A record's offset is its first message's and its commit
// position past its last one. A record that would pass max_lines or
// max_bytes is emitted as it is, and the lines that continue it make the
// next record: each such piece carries fields.multiline_truncated = true.
// Trailing empty lines of a record of several lines are left out of its
// text (their bytes still count as read).
type Joiner struct {
	cfg       *MultilineConfig
	truncated prometheus.Counter

	open   bool // a group is open (with no line yet right after a cut)
	cut    bool // the open group continues one cut at a limit
	state  int
	n      int
	first  []byte // the first line, while it is the only one (no copy yet)
	buf    []byte
	offset int64
	end    int64
	time   time.Time
	last   time.Time
}

// Message is one message a Joiner takes: a line, or a container log
// message after the CRI or docker partial lines were joined.
type Message struct {
	Bytes       []byte
	Offset, End int64
	// Time is the message's own time (zero: the time it was read).
	Time time.Time
}

// NewJoiner returns a joiner for a validated multiline block; truncated
// (optional) counts the records cut at a limit.
func NewJoiner(cfg *MultilineConfig, truncated prometheus.Counter) *Joiner {
	return &Joiner{cfg: cfg, truncated: truncated}
}

// Add takes the next message and appends the records it finished.
func (j *Joiner) Add(msg Message, now time.Time, out []Entry) []Entry {
	m := j.cfg.m
	if j.open {
		if to, ok := first(m.next[j.state], msg.Bytes); ok {
			return j.push(msg, now, to, out)
		}
		out = j.emit(out)
	}
	to, ok := first(m.starts, msg.Bytes)
	if !ok {
		return append(out, Entry{Raw: msg.Bytes, Offset: msg.Offset, Commit: msg.End, Time: msg.Time})
	}
	j.open, j.cut = true, false
	return j.push(msg, now, to, out)
}

// push adds msg to the open group, then in state to.
func (j *Joiner) push(msg Message, now time.Time, to int, out []Entry) []Entry {
	if j.n > 0 && (j.n >= j.cfg.MaxLines || j.size()+1+len(msg.Bytes) > j.cfg.MaxBytes) {
		if j.truncated != nil {
			j.truncated.Inc()
		}
		out = j.emitPiece(out, true)
		j.cut = true
	}
	switch j.n {
	case 0:
		j.first, j.offset, j.time = msg.Bytes, msg.Offset, msg.Time
	case 1:
		j.buf = append(append(append(j.buf[:0:0], j.first...), '\n'), msg.Bytes...)
		j.first = nil
	default:
		j.buf = append(append(j.buf, '\n'), msg.Bytes...)
	}
	j.n++
	j.end, j.last, j.state = msg.End, now, to
	if to == stateEnd {
		return j.emit(out)
	}
	return out
}

func (j *Joiner) size() int {
	if j.n == 1 {
		return len(j.first)
	}
	return len(j.buf)
}

// emit emits the open group and closes it.
func (j *Joiner) emit(out []Entry) []Entry {
	out = j.emitPiece(out, j.cut)
	j.open, j.cut = false, false
	return out
}

// emitPiece emits the lines of the open group, if any; the group stays
// open.
func (j *Joiner) emitPiece(out []Entry, truncated bool) []Entry {
	if j.n == 0 {
		return out
	}
	raw := j.first
	if j.n > 1 {
		raw = bytes.TrimRight(j.buf, "\n")
		j.buf = nil // the entry owns it now
	}
	e := Entry{Raw: raw, Offset: j.offset, Commit: j.end, Time: j.time}
	if truncated {
		e.Fields = map[string]any{"message": string(raw), "multiline_truncated": true}
	}
	j.first, j.n = nil, 0
	return append(out, e)
}

// Tick emits the group if no line came for the timeout.
func (j *Joiner) Tick(now time.Time, out []Entry) []Entry {
	if j.open && now.Sub(j.last) >= j.cfg.timeout {
		out = j.emit(out)
	}
	return out
}

// Flush emits the open group: end of input, rotation, truncation.
func (j *Joiner) Flush(out []Entry) []Entry {
	if j.open {
		out = j.emit(out)
	}
	return out
}

// Held returns the offset of the first line held in an unfinished group.
func (j *Joiner) Held() (int64, bool) {
	return j.offset, j.n > 0
}

// presets are the built-in machines, by name. Each begins a record at a
// line that can begin one (any line, where the trace follows a log
// message) and takes the lines a trace is made of.
// They are compiled on first use, so a config with no preset pays nothing.
var presets = sync.OnceValue(func() map[string]*machine {
	return map[string]*machine{
		"java":       javaPreset(),
		"go":         goPreset(),
		"python":     pythonPreset(),
		"postgresql": postgresqlPreset(),
	}
})

func res(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}

// Java (and Kotlin, Scala) stack traces: a log line, the exception line
// (`java.lang.IllegalStateException: ...`, `Exception in thread "main"
// ...`), its indented message lines, `\tat` frames, `... N more`,
// `Caused by:` and `Suppressed:` sections.
func javaPreset() *machine {
	const head, exc, trace = 0, 1, 2
	r := res(
		`^(Exception in thread "[^"]*" )?([a-zA-Z_$][\w$]*\.)+[a-zA-Z_$][\w$]*(Exception|Error|Throwable)(: .*)?$`,
		`^\s+at\s`,
		`^\s+\.\.\. \d+ (more|common frames omitted)\s*$`,
		`^\s*(Caused by|Suppressed): `,
		`^\s+\S`,
	)
	header, frame, more, cause, indented := r[0], r[1], r[2], r[3], r[4]
	frames := []transition{{re: frame, to: trace}, {re: more, to: trace}, {re: cause, to: exc}}
	return &machine{
		starts: []transition{{to: head}},
		next: [][]transition{
			head:  append([]transition{{re: header, to: exc}}, frames...),
			exc:   append(frames, transition{re: indented, to: exc}),
			trace: frames,
		},
	}
}

// Go panics, fatal errors and goroutine dumps (SIGQUIT, debug.Stack,
// net/http's "http: panic serving"): from the panic line through the
// blank lines, goroutine headers, function lines, tab-indented file
// lines, `created by`, signal and register lines, to `exit status N`.
func goPreset() *machine {
	const g = 0
	r := res(
		`^(panic: |fatal error: |runtime: |SIG[A-Z]+: |unexpected fault address |fatal: morestack)|^(\S+ ){0,2}http: panic serving `,
		`^goroutine \d+ [^\[]*\[[^\]]*\]:$`,
		`^$`,
		`^\t`,
		`^[^\s(][^\s]*\(.*\)$`,
		`^(created by |\[signal |PC=0x|runtime: |runtime stack:$|\s*panic: |exit status \d+$|\.\.\.additional frames elided\.\.\.$|[a-z0-9]{2,6}\s+0x[0-9a-f]+$)`,
	)
	start, goroutine, blank, tabbed, fn, other := r[0], r[1], r[2], r[3], r[4], r[5]
	return &machine{
		starts: []transition{{re: start, to: g}, {re: goroutine, to: g}},
		next: [][]transition{
			g: {{re: blank, to: g}, {re: goroutine, to: g}, {re: tabbed, to: g}, {re: other, to: g}, {re: fn, to: g}},
		},
	}
}

// Python tracebacks: a log line (logging.exception), `Traceback (most
// recent call last):`, the indented frames and code, the exception line,
// and chained tracebacks ("During handling of the above exception...",
// "The above exception was the direct cause...").
func pythonPreset() *machine {
	const head, tb, last, blank, chain = 0, 1, 2, 3, 4
	r := res(
		`^Traceback \(most recent call last\):$`,
		`^\s+\S`,
		`^[A-Za-z_][\w.]*(: .*)?$`,
		`^\s*$`,
		`^(During handling of the above exception, another exception occurred|The above exception was the direct cause of the following exception):$`,
	)
	traceback, indented, exception, empty, chained := r[0], r[1], r[2], r[3], r[4]
	return &machine{
		starts: []transition{{re: traceback, to: tb}, {to: head}},
		next: [][]transition{
			head:  {{re: traceback, to: tb}},
			tb:    {{re: indented, to: tb}, {re: exception, to: last}},
			last:  {{re: empty, to: blank}},
			blank: {{re: chained, to: chain}},
			chain: {{re: empty, to: chain}, {re: traceback, to: tb}},
		},
	}
}

// PostgreSQL server logs: an ERROR (or any) line and the DETAIL, HINT,
// CONTEXT, STATEMENT, QUERY and LOCATION lines that follow it (whatever
// log_line_prefix puts before them), and the tab-indented continuation
// lines of a multi-line message or statement.
func postgresqlPreset() *machine {
	const head = 0
	r := res(`(^|\s)(DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):  `, `^\t`)
	return &machine{
		starts: []transition{{to: head}},
		next:   [][]transition{head: {{re: r[0], to: head}, {re: r[1], to: head}}},
	}
}
