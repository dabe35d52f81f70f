package flb

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zeebo/xxh3"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/sinks/filesink"
	"github.com/octostore/agent/sinks/httpsink"
	"github.com/octostore/agent/sinks/octostore"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

// SourceID is the component the records of Fluent Bit come from. The
// plugin declares it itself; transforms read it with
// inputs = [source.fluentbit.input].
const SourceID = "source.fluentbit.input"

// builtin is the config the plugin adds to the user's: the source.
const builtin = `source "fluentbit" "input" {}
`

// builtinName is the file name diagnostics give the built-in config.
const builtinName = "<fluent-bit-octostore built-in>"

// Status is what a flush returns to Fluent Bit.
type Status int

// The statuses, with fluent-bit-go's values (FLB_ERROR, FLB_OK, FLB_RETRY).
const (
	Error Status = 0
	OK    Status = 1
	Retry Status = 2
)

func (s Status) String() string {
	switch s {
	case OK:
		return "FLB_OK"
	case Retry:
		return "FLB_RETRY"
	}
	return "FLB_ERROR"
}

// DefaultTimeout bounds one flush: the time it may wait for its chunk to
// be durable in the disk buffer before it answers FLB_RETRY.
const DefaultTimeout = 100 * time.Millisecond

// DefaultBufferMaxBytes bounds an instance's disk buffer.
const DefaultBufferMaxBytes = 256 << 20

// maxDrain bounds the pipeline's drain at exit (the config's
// shutdown_timeout, if shorter): what it does not deliver in time stays in
// the disk buffer for the next start, so waiting longer only delays
// Fluent Bit's exit.
const maxDrain = 3 * time.Second

// exitBound bounds Close as a whole, whatever a component does.
const exitBound = 8 * time.Second

// Registry lists what the plugin links: the transform and the sinks, not
// the sources of octoagent (no client-go, no Kafka).
func Registry() *agent.Registry {
	return agent.NewRegistry(
		sourceFactory(),
		rules.NewFactory(),
		octostore.NewFactory(),
		httpsink.NewFactory(),
		filesink.NewFactory(),
		stdout.NewFactory(),
	)
}

// Options configure one plugin instance (one [OUTPUT] section).
type Options struct {
	Config    string // path of the HCL file (or directory of *.hcl)
	Transform string // the transform the records enter
	// Name names the instance in log lines, metrics and the default
	// buffer path; the Transform if empty.
	Name string
	// BufferPath is the instance's directory: its disk buffer and lock.
	// Default: $TMPDIR/fluent-bit-octostore/NAME.
	BufferPath string
	// BufferMaxBytes bounds the disk buffer; a flush answers FLB_RETRY
	// when the chunk does not fit. DefaultBufferMaxBytes if 0.
	BufferMaxBytes int64
	// MetricsAddr, if set, serves /metrics, /healthz and /readyz there.
	MetricsAddr string
	// Timeout bounds one flush; DefaultTimeout if 0.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Instance is one running pipeline.
type Instance struct {
	opt    Options
	log    *slog.Logger
	rt     *agent.Runtime
	src    *source
	cancel context.CancelFunc
	done   chan struct{}
	lock   *os.File
	q      *queue
	m      flushMetrics

	closeOnce sync.Once
}

// ConfigError is a config that does not load; Error() holds the
// diagnostics, one per line, as file:line:col.
type ConfigError struct{ Diagnostics string }

func (e *ConfigError) Error() string { return e.Diagnostics }

// Open loads the config, builds the pipeline and starts it.
func Open(opt Options) (*Instance, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.BufferMaxBytes <= 0 {
		opt.BufferMaxBytes = DefaultBufferMaxBytes
	}
	if opt.Config == "" {
		return nil, &ConfigError{Diagnostics: "the Config key is required: the path of an HCL file with the transforms, schemas and sinks"}
	}
	if opt.Transform == "" {
		return nil, &ConfigError{Diagnostics: "the Transform key is required: the name of the transform the records enter"}
	}
	if opt.Name == "" {
		opt.Name = opt.Transform
	}
	if opt.BufferPath == "" {
		opt.BufferPath = filepath.Join(os.TempDir(), "fluent-bit-octostore", opt.Name)
	}
	log := opt.Logger.With("instance", opt.Name)
	paths, diags := config.ExpandPaths([]string{opt.Config})
	srcs := []config.Source{{Name: builtinName, Data: []byte(builtin)}}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, &ConfigError{Diagnostics: fmt.Sprintf("%s: %v", p, err)}
		}
		srcs = append(srcs, config.Source{Name: p, Data: b})
	}
	var res *config.Result
	if !diags.HasErrors() {
		more := diags
		res, diags = config.LoadSources(srcs, Registry())
		diags = append(more, diags...)
	}
	if diags.HasErrors() {
		var buf bytes.Buffer
		var files map[string]*hcl.File
		if res != nil {
			files = res.Files
		}
		config.WriteDiagnostics(&buf, files, diags)
		return nil, &ConfigError{Diagnostics: strings.TrimSpace(buf.String())}
	}
	if len(diags) > 0 {
		var buf bytes.Buffer
		config.WriteDiagnostics(&buf, res.Files, diags)
		log.Warn("config warnings", "config", opt.Config, "diagnostics", strings.TrimSpace(buf.String()))
	}
	tid := "transform." + opt.Transform
	var found, reads bool
	var names []string
	for _, n := range res.Graph.Nodes {
		if n.Kind == agent.KindTransform {
			names = append(names, strings.TrimPrefix(n.ID, "transform."))
		}
		if n.ID != tid {
			continue
		}
		found = true
		for _, in := range n.Inputs {
			if in == SourceID {
				reads = true
			}
		}
	}
	if !found {
		return nil, &ConfigError{Diagnostics: fmt.Sprintf("%s: Transform = %q: no such transform in the config (it has: %s)", opt.Config, opt.Transform, strings.Join(names, ", "))}
	}
	if !reads {
		return nil, &ConfigError{Diagnostics: fmt.Sprintf("%s: transform %q does not read the Fluent Bit records: add %s to its inputs", opt.Config, opt.Transform, SourceID)}
	}
	// The instance's directory holds its disk buffer; a lock keeps a
	// second instance (in this Fluent Bit or another) out of it.
	lock, err := lockDir(opt.BufferPath)
	if err != nil {
		return nil, &ConfigError{Diagnostics: fmt.Sprintf("Buffer_Path %s: %v", opt.BufferPath, err)}
	}
	// Fluent Bit owns the process: no metrics server unless the instance
	// asks for one on its own port (instances would fight over one).
	g := res.Graph
	g.Agent.HTTPAddr = opt.MetricsAddr
	g.Agent.AdminAddr = agent.AdminOff
	g.Agent.DataDir = opt.BufferPath
	if g.Agent.ShutdownTimeout <= 0 || g.Agent.ShutdownTimeout > maxDrain {
		g.Agent.ShutdownTimeout = maxDrain
	}
	rt, err := agent.New(g, agent.Options{Logger: log})
	if err != nil {
		unlockDir(lock)
		return nil, err
	}
	src, _ := rt.Component(SourceID).(*source)
	if src == nil {
		unlockDir(lock)
		return nil, errors.New("the built-in source is missing")
	}
	in := &Instance{opt: opt, log: log, rt: rt, src: src, done: make(chan struct{}), lock: lock, m: newFlushMetrics(rt.Metrics(), opt.Name)}
	if in.q, err = newQueue(in); err != nil {
		unlockDir(lock)
		return nil, fmt.Errorf("Buffer_Path %s: %w", opt.BufferPath, err)
	}
	if err := rt.Listen(); err != nil {
		in.q.close()
		unlockDir(lock)
		return nil, &ConfigError{Diagnostics: fmt.Sprintf("Metrics_Addr %s: %v", opt.MetricsAddr, err)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go func() {
		defer close(in.done)
		if err := rt.Run(ctx); err != nil {
			log.Error("pipeline stopped with an error", "error", err)
		}
	}()
	log.Info("started", "config", opt.Config, "transform", opt.Transform, "buffer_path", opt.BufferPath, "buffer_max_bytes", opt.BufferMaxBytes)
	return in, nil
}

// Flush hands one chunk to the instance's disk buffer and answers within
// the timeout (100 ms): OK once the chunk is durable there (a background
// sender delivers it through the pipeline, with the sinks' retries);
// Retry when the buffer is full or the write did not finish in time, so
// Fluent Bit's own retry and storage take over (the records keep their
// ids, so a chunk written twice is stored once); Error when the chunk
// cannot be read, and never will be.
func (in *Instance) Flush(tag string, chunk []byte) Status {
	events, skipped, err := Decode(chunk)
	if skipped > 0 {
		in.log.Warn("skipped entries that are not records", "tag", tag, "entries", skipped)
	}
	if err != nil && len(events) == 0 {
		in.log.Error("dropping a chunk that is not msgpack", "tag", tag, "error", err)
		in.m.count(Error, 0)
		return Error
	}
	if err != nil {
		in.log.Error("chunk damaged; passing on the records before the damage", "tag", tag, "records", len(events), "error", err)
	}
	return in.FlushEvents(tag, events, int64(len(chunk)))
}

// FlushEvents is Flush over decoded events; size is about the bytes they
// took in the chunk.
func (in *Instance) FlushEvents(tag string, events []Event, size int64) Status {
	if len(events) == 0 {
		return OK
	}
	b := make(agent.Batch, len(events))
	for i, ev := range events {
		b[i] = agent.Record{
			Time:   ev.Time,
			Kind:   agent.KindRaw,
			Origin: Origin(in.src.set.Host, in.src.set.ID, tag, ev),
		}
		b[i].SetFields(ev.Fields)
	}
	st := in.q.put(b, size)
	in.m.count(st, len(events))
	return st
}

// Close stops the instance within a few seconds, whatever the store does:
// it stops taking chunks, lets the pipeline deliver what it holds for up
// to the config's shutdown_timeout (at most 3 s), and leaves the rest in
// the disk buffer, which the next start sends on with the same ids.
// Close may be called more than once, from several goroutines: every call
// returns once the instance has stopped.
func (in *Instance) Close() {
	in.closeOnce.Do(in.close)
}

func (in *Instance) close() {
	start := time.Now()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		in.q.stopWriting()
		in.cancel()
		<-in.done
		in.q.close()
	}()
	select {
	case <-finished:
		defer unlockDir(in.lock)
	case <-time.After(exitBound):
		in.log.Error("exit took too long; leaving what is in flight in the disk buffer", "waited", exitBound)
		// The buffer is still in use: a new instance on this directory
		// (Fluent Bit's hot reload) must wait until it is not.
		go func() { <-finished; unlockDir(in.lock) }()
	}
	recs, unread := in.q.left()
	if recs > 0 || unread > 0 {
		in.log.Warn("stopped; left in the disk buffer for the next start", "buffer_path", in.opt.BufferPath, "records_in_flight", recs, "unread_bytes", unread, "took", time.Since(start).Round(time.Millisecond))
	} else {
		in.log.Info("stopped; everything delivered", "took", time.Since(start).Round(time.Millisecond))
	}
}

// Origin is the origin of a Fluent Bit record. The ID derives from the
// host, the tag, the timestamp (Offset, in ns) and a hash of the record's
// content (in Stream, after the tag): the same record with the same
// timestamp and tag, flushed again (a retry, a restart replaying its
// storage), gets the same ID and the store keeps one copy; records that
// differ in any field, in time or in tag get different IDs.
func Origin(host, component, tag string, ev Event) agent.Origin {
	return agent.Origin{
		Host:      host,
		Component: component,
		Stream:    tag + "#" + ContentHash(ev.Fields),
		Offset:    ev.Time.UnixNano(),
	}
}

// ContentHash is the 64-bit XXH3 of the record's canonical JSON (keys
// sorted), in hex.
func ContentHash(fields map[string]any) string {
	b, err := json.Marshal(fields)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", fields))
	}
	h := xxh3.Hash(b)
	var s [8]byte
	for i := range s {
		s[i] = byte(h >> (56 - 8*i))
	}
	return hex.EncodeToString(s[:])
}

// The source: one batch per flush, fed by a channel.

type sourceConfig struct{}

type source struct {
	set     agent.Settings
	in      chan agent.Batch
	stopped chan struct{} // closed when Run returns
}

func sourceFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[sourceConfig, agent.Source]{
		Type:        "fluentbit",
		Description: "The records Fluent Bit flushes to the plugin (declared by the plugin itself).",
		Example:     builtin,
		Create: func(set agent.Settings, _ *sourceConfig) (agent.Source, error) {
			return &source{set: set, in: make(chan agent.Batch), stopped: make(chan struct{})}, nil
		},
	})
}

// Run emits the batches flushes hand it until ctx ends.
func (s *source) Run(ctx context.Context) error {
	defer close(s.stopped)
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-s.in:
			s.set.Metrics.In.Add(float64(len(b)))
			if err := s.set.Out.Emit(ctx, b); err != nil {
				s.set.Logger.Warn("batch not handed on", "error", err)
			}
		}
	}
}
