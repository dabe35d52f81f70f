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
	"strings"
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

// DefaultTimeout bounds one flush.
const DefaultTimeout = 30 * time.Second

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
	Config    string        // path of the HCL file (or directory of *.hcl)
	Transform string        // the transform the records enter
	Timeout   time.Duration // bound on one flush; DefaultTimeout if 0
	Logger    *slog.Logger
}

// Instance is one running pipeline.
type Instance struct {
	opt     Options
	rt      *agent.Runtime
	src     *source
	cancel  context.CancelFunc
	done    chan struct{}
	dataDir string
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
	if opt.Config == "" {
		return nil, &ConfigError{Diagnostics: "the Config key is required: the path of an HCL file with the transforms, schemas and sinks"}
	}
	if opt.Transform == "" {
		return nil, &ConfigError{Diagnostics: "the Transform key is required: the name of the transform the records enter"}
	}
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
		opt.Logger.Warn("config warnings", "config", opt.Config, "diagnostics", strings.TrimSpace(buf.String()))
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
	// Fluent Bit owns the process: no metrics server (instances would
	// fight over the port), and a private data dir (the source keeps no
	// checkpoints: Fluent Bit keeps the chunks until a flush says OK).
	dir, err := os.MkdirTemp("", "fluent-bit-octostore-")
	if err != nil {
		return nil, err
	}
	g := res.Graph
	g.Agent.HTTPAddr = ""
	g.Agent.DataDir = dir
	rt, err := agent.New(g, agent.Options{Logger: opt.Logger})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	src, _ := rt.Component(SourceID).(*source)
	if src == nil {
		os.RemoveAll(dir)
		return nil, errors.New("the built-in source is missing")
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &Instance{opt: opt, rt: rt, src: src, cancel: cancel, done: make(chan struct{}), dataDir: dir}
	go func() {
		defer close(in.done)
		if err := rt.Run(ctx); err != nil {
			opt.Logger.Error("pipeline stopped with an error", "error", err)
		}
	}()
	return in, nil
}

// Flush runs one chunk through the pipeline and waits until every record
// reached an outcome, for up to the timeout. OK: all delivered or
// dead-lettered. Retry: some failed or are still unresolved (the store is
// unavailable); Fluent Bit sends the chunk again, and the same records get
// the same ids, so the store keeps one copy. Error: the chunk cannot be
// read, and never will be.
func (in *Instance) Flush(tag string, chunk []byte) Status {
	events, skipped, err := Decode(chunk)
	if skipped > 0 {
		in.opt.Logger.Warn("skipped entries that are not records", "tag", tag, "entries", skipped)
	}
	if err != nil && len(events) == 0 {
		in.opt.Logger.Error("dropping a chunk that is not msgpack", "tag", tag, "error", err)
		return Error
	}
	if err != nil {
		in.opt.Logger.Error("chunk damaged; passing on the records before the damage", "tag", tag, "records", len(events), "error", err)
	}
	return in.FlushEvents(tag, events)
}

// FlushEvents is Flush over decoded events.
func (in *Instance) FlushEvents(tag string, events []Event) Status {
	if len(events) == 0 {
		return OK
	}
	deadline := time.NewTimer(in.opt.Timeout)
	defer deadline.Stop()
	result := make(chan bool, 1)
	tok := in.src.set.Acks.NewToken(len(events), func(failed bool) { result <- failed })
	b := make(agent.Batch, len(events))
	for i, ev := range events {
		b[i] = agent.Record{
			Time:   ev.Time,
			Kind:   agent.KindRaw,
			Origin: Origin(in.src.set.Host, in.src.set.ID, tag, ev),
		}
		b[i].SetFields(ev.Fields)
		b[i].SetToken(tok)
	}
	select {
	case in.src.in <- b:
	case <-deadline.C:
		// The pipeline did not take the batch: nothing of it is in flight.
		agent.AckAll(b, agent.Failed)
		<-result
		return Retry
	case <-in.done:
		agent.AckAll(b, agent.Failed)
		<-result
		return Retry
	}
	select {
	case failed := <-result:
		if failed {
			return Retry
		}
		return OK
	case <-deadline.C:
		in.opt.Logger.Warn("records not final within the flush timeout; Fluent Bit will retry the chunk", "tag", tag, "records", len(events), "timeout", in.opt.Timeout)
		return Retry
	}
}

// Close stops the pipeline: it drains what is in flight for up to the
// config's shutdown_timeout, then returns.
func (in *Instance) Close() {
	in.cancel()
	<-in.done
	os.RemoveAll(in.dataDir)
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
	set agent.Settings
	in  chan agent.Batch
}

func sourceFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[sourceConfig, agent.Source]{
		Type:        "fluentbit",
		Description: "The records Fluent Bit flushes to the plugin (declared by the plugin itself).",
		Example:     builtin,
		Create: func(set agent.Settings, _ *sourceConfig) (agent.Source, error) {
			return &source{set: set, in: make(chan agent.Batch)}, nil
		},
	})
}

// Run emits the batches flushes hand it until ctx ends.
func (s *source) Run(ctx context.Context) error {
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
