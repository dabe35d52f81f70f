package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/term"

	"github.com/octostore/agent/adapters/kafkasource"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/diskbuffer"
	"github.com/octostore/agent/internal/replay"
)

const replayUsage = `Usage:
  octoagent replay -c PATH... [FILE|-] [--kafka-brokers HOST:PORT,... --kafka-topic TOPIC [--kafka-group GROUP]]
                   [--from SOURCE] [--transform NAME] [--dry-run] [--json] [--data-dir DIR]

Runs dead letters (the JSON lines a file sink wrote, standard input, or a
Kafka topic) again through the transform that rejected them, as the config
now defines it, and sends what it makes to that transform's sinks. A line
that now parses becomes the record a correct rule would have made on the
first read, with the same id; one that still fails becomes the same dead
letter again. --dry-run sends nothing and says what the rules would make.

Exit status: 0 every dead letter replayed (or still a dead letter), 1 some
could not be replayed or delivered, 2 bad flags, config or input.
`

// runReplay is `octoagent replay`.
func runReplay(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("octoagent replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	var cfgPaths paths
	fs.Var(&cfgPaths, "c", "config file or directory (repeatable), as for run")
	fs.Var(&cfgPaths, "config", "same as -c")
	brokers := fs.String("kafka-brokers", "", "read the dead letters from Kafka: the brokers, comma-separated")
	topic := fs.String("kafka-topic", "", "the topic of the dead letters")
	group := fs.String("kafka-group", "octoagent-replay", "the consumer group; its offsets are committed once the replayed records are acknowledged")
	from := fs.String("from", "", "read the dead letters with this source of the config (its id, e.g. source.kafka.dead_letters: for TLS or SASL)")
	into := fs.String("transform", "", "replay every dead letter into this transform (its name or id), e.g. a renamed rule")
	dry := fs.Bool("dry-run", false, "send nothing: say how many would now parse, how many would still fail and why, with examples")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	dataDir := fs.String("data-dir", "", "data directory of the replay (disk buffers); default: agent.data_dir/replay, apart from a running agent's")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the replay to this file")
	if err := fs.Parse(reorderArgs(args)); err != nil {
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "octoagent replay: "+format+"\n", a...)
		return 2
	}
	if len(cfgPaths) == 0 {
		return bad("no config given; pass -c PATH (the config the agent runs with, rules fixed)")
	}
	if fs.NArg() > 1 {
		return bad("one input at most, got %s", strings.Join(fs.Args(), " "))
	}
	file := fs.Arg(0)
	inputs := 0
	for _, set := range []bool{file != "", *brokers != "" || *topic != "", *from != ""} {
		if set {
			inputs++
		}
	}
	switch {
	case inputs > 1:
		return bad("give one input: a FILE (or - for standard input), --kafka-brokers with --kafka-topic, or --from SOURCE")
	case inputs == 0:
		return bad("no input: give a FILE of dead letters (as a file sink writes them), - for standard input, --kafka-brokers with --kafka-topic, or --from SOURCE")
	case (*brokers == "") != (*topic == ""):
		return bad("--kafka-brokers and --kafka-topic go together")
	}
	if *dry && !flagSet(fs, "log-level") {
		// A dry run resolves what it counts as failed (nothing is
		// committed): the warnings that would say so are noise.
		*logLevel = "error"
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return bad("%v", err)
	}

	res, diags := config.Load(cfgPaths, components())
	// The sources go: what read them may be left unread.
	if n := reportDiagnostics(stderr, res, config.WithoutUnused(diags)); n > 0 {
		return bad("config has %d error(s)", n)
	}
	g := res.Graph
	if *dataDir == "" {
		*dataDir = filepath.Join(g.Agent.DataDir, "replay")
	}
	g.Agent.DataDir = *dataDir
	g.Agent.HTTPAddr, g.Agent.AdminAddr = "", agent.AdminOff // never the running agent's port

	target := ""
	if *into != "" {
		target = *into
		if !strings.HasPrefix(target, "transform.") {
			target = "transform." + target
		}
		found := false
		var known []string
		for _, n := range g.Nodes {
			if n.Kind == agent.KindTransform {
				known = append(known, n.ID)
				found = found || n.ID == target
			}
		}
		if !found {
			return bad("--transform %s: no such transform in the config. %s", *into, decode.DidYouMean(target, known, "transforms"))
		}
	}

	stats := replay.NewStats(replayErrorLog(stderr))
	stage := replay.TransformFactory(stats, target)
	// The input.
	var input agent.NodeSpec
	var progress *progressLine
	switch {
	case *from != "":
		for _, n := range g.Nodes {
			if n.ID == *from && n.Kind == agent.KindSource {
				input = n
			}
		}
		if input.ID == "" {
			return bad("--from %s: no such source in the config", *from)
		}
	case *brokers != "":
		f := kafkasource.NewFactory()
		cfg := f.NewConfig().(*kafkasource.Config)
		cfg.Brokers = strings.Split(*brokers, ",")
		cfg.Topics = []string{*topic}
		cfg.GroupID = *group
		if err := cfg.Validate(); err != nil {
			return bad("kafka input: %v", err)
		}
		input = agent.NodeSpec{ID: "source.kafka.replay", Type: "kafka", Name: "replay", Kind: agent.KindSource, Factory: f, Config: cfg}
	default:
		rd := stdin
		var size int64
		if file != "-" {
			fh, err := os.Open(file)
			if err != nil {
				return bad("%v", err)
			}
			defer fh.Close()
			rd = fh
			if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
				// What is in the file now: the config may send the dead
				// letters that still fail to this very file.
				size = st.Size()
				rd = io.LimitReader(fh, size)
			}
		}
		progress = newProgressLine(stderr, size)
		// The reader decodes and routes the dead letters itself: no stage.
		f := replay.ReaderFactory(rd, progress.update, stats, target)
		input = agent.NodeSpec{ID: replay.InputID, Type: "replay_input", Name: "input", Kind: agent.KindSource, Factory: f, Config: f.NewConfig()}
		stage = nil
	}

	var tally *replay.Tally
	var tallyFactory *agent.Factory
	if *dry {
		tally = replay.NewTally()
		tallyFactory = tally.Factory()
	}
	rg := replay.Graph(g, input, stage, tallyFactory)
	var inputErr error
	rt, err := agent.New(rg, agent.Options{Logger: log, Once: true, Buffers: map[string]agent.BufferFactory{"disk": diskbuffer.New}})
	if err != nil {
		fmt.Fprintf(stderr, "octoagent replay: cannot start: %v\n", err)
		return 2
	}

	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return bad("%v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return bad("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	runErr := rt.Run(ctx)
	progress.done()
	if n, _ := counterValue(rt.Metrics().Errors, input.ID, "run"); n > 0 {
		inputErr = errors.New("the input could not be read to its end (see the log above)")
	}

	rep := replayReport{Read: stats.Read.Load(), Errors: stats.ErrorCount(), ErrorReasons: stats.Errors(), DryRun: *dry}
	if tally != nil {
		rep.Parsed = tally.Records()
		rep.StillFailing = tally.DeadLetters()
	} else {
		for t := range stats.Targets() {
			if n, ok := counterValue(rt.Metrics().RecordsOut, t, "default"); ok {
				rep.Records += n
			}
			if n, ok := counterValue(rt.Metrics().RecordsOut, t, agent.DeadLetterPort); ok {
				rep.DeadLetters += n
			}
		}
	}
	for _, g := range rep.Parsed {
		rep.Records += g.Count
	}
	for _, g := range rep.StillFailing {
		rep.DeadLetters += g.Count
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) && !(*dry && errors.Is(runErr, agent.ErrUndelivered)) {
		rep.Undelivered = runErr.Error()
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	rep.Summary = fmt.Sprintf("replayed %d: %d records, %d still dead letters, %d errors", rep.Read, rep.Records, rep.DeadLetters, rep.Errors)
	if *dry {
		rep.Summary += " (dry run: nothing sent)"
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		rep.print(stdout)
	}
	switch {
	case inputErr != nil:
		fmt.Fprintf(stderr, "octoagent replay: %v\n", inputErr)
		return 2
	case rep.Errors > 0 || rep.Undelivered != "" || rep.Interrupted:
		if rep.Undelivered != "" {
			fmt.Fprintf(stderr, "octoagent replay: %s\n", rep.Undelivered)
		}
		return 1
	}
	return 0
}

// replayReport is what a replay prints: as text, or with --json as is.
type replayReport struct {
	Summary      string         `json:"summary"`
	DryRun       bool           `json:"dry_run"`
	Read         int64          `json:"read"`
	Records      int64          `json:"records"`
	DeadLetters  int64          `json:"dead_letters"`
	Errors       int64          `json:"errors"`
	Parsed       []replay.Group `json:"parsed,omitempty"`
	StillFailing []replay.Group `json:"still_failing,omitempty"`
	ErrorReasons []replay.Group `json:"error_reasons,omitempty"`
	Undelivered  string         `json:"undelivered,omitempty"`
	Interrupted  bool           `json:"interrupted,omitempty"`
}

func (r *replayReport) print(w io.Writer) {
	if r.DryRun {
		fmt.Fprintf(w, "would now parse: %d\n", r.Records)
		for _, g := range r.Parsed {
			fmt.Fprintf(w, "  %d  %s\n", g.Count, g.Transform)
			for _, e := range g.Examples {
				fmt.Fprintf(w, "      e.g. %s\n", e)
			}
		}
		fmt.Fprintf(w, "would still fail: %d\n", r.DeadLetters)
		for _, g := range r.StillFailing {
			fmt.Fprintf(w, "  %d  %s  step %s  reason %s\n", g.Count, g.Transform, g.Step, g.Reason)
			for _, e := range g.Examples {
				fmt.Fprintf(w, "      e.g. %s\n", deadLetterExample(e))
			}
		}
	}
	if len(r.ErrorReasons) > 0 {
		fmt.Fprintf(w, "could not replay: %d\n", r.Errors)
		for _, g := range r.ErrorReasons {
			fmt.Fprintf(w, "  %d  %s\n", g.Count, g.Reason)
			for _, e := range g.Examples {
				fmt.Fprintf(w, "      e.g. %s\n", e)
			}
		}
	}
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted: what was not acknowledged is read again by the next replay (Kafka), or replay the input again: the ids are the same")
	}
	fmt.Fprintln(w, r.Summary)
}

// replayErrorLog prints the first per-record errors as they come, then
// only counts them (the report groups them all).
func replayErrorLog(w io.Writer) func(string, *replay.Error) {
	var mu sync.Mutex
	n := 0
	return func(pos string, e *replay.Error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		switch {
		case n <= 10:
			fmt.Fprintf(w, "octoagent replay: %s: %s: %s\n", pos, e.Reason, e.Msg)
		case n == 11:
			fmt.Fprintln(w, "octoagent replay: more dead letters could not be replayed; the report counts them by reason")
		}
	}
}

// counterValue reads the counter of vec with labels.
func counterValue(vec *prometheus.CounterVec, labels ...string) (int64, bool) {
	c, err := vec.GetMetricWithLabelValues(labels...)
	if err != nil {
		return 0, false
	}
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0, false
	}
	return int64(m.GetCounter().GetValue()), true
}

// reorderArgs moves flags before the positional arguments, so
// `replay dead.jsonl -c agent.hcl` works as well as the flags first.
func reorderArgs(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case a == "-" || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && !boolFlag(name) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

func boolFlag(name string) bool {
	return name == "dry-run" || name == "json" || name == "h" || name == "help"
}

// progressLine draws a one-line progress bar on a terminal for a large
// input (over 1 MiB), at most ten times a second.
type progressLine struct {
	w     io.Writer
	size  int64
	start time.Time
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgressLine(w io.Writer, size int64) *progressLine {
	f, ok := w.(*os.File)
	if !ok || size < 1<<20 || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressLine{w: w, size: size, start: time.Now()}
}

func (p *progressLine) update(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	frac := min(float64(n)/float64(p.size), 1)
	const width = 30
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	fmt.Fprintf(p.w, "\rreplaying [%s] %3.0f%%  %.1f/%.1f MB  %s ", bar, frac*100, float64(n)/1e6, float64(p.size)/1e6, now.Sub(p.start).Round(time.Second))
}

func (p *progressLine) done() {
	if p == nil || !p.drawn {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// deadLetterExample shows a dead letter (its wire form) by its line and its
// first error.
func deadLetterExample(wire string) string {
	var dl struct {
		Fields struct {
			Raw    string `json:"raw"`
			Errors []struct {
				Field string `json:"field"`
				Error string `json:"error"`
			} `json:"errors"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(wire), &dl); err != nil {
		return wire
	}
	out := strconv.Quote(dl.Fields.Raw)
	if len(dl.Fields.Errors) > 0 {
		e := dl.Fields.Errors[0]
		if e.Field != "" {
			out += "  " + e.Field + ":"
		}
		out += " " + e.Error
	}
	return out
}

// reportDiagnostics prints diags (with the source lines) and returns how
// many are errors.
func reportDiagnostics(w io.Writer, res *config.Result, diags hcl.Diagnostics) int {
	if len(diags) > 0 {
		config.WriteDiagnostics(w, res.Files, diags)
	}
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}
