package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Kind is the role of a component in the graph.
type Kind string

// The three kinds of component.
const (
	KindSource    Kind = "source"
	KindTransform Kind = "transform"
	KindSink      Kind = "sink"
)

// DeadLetterPort is the name of the second output of transforms and sinks.
const DeadLetterPort = "dead_letter"

// Output is where a component sends records. Emit blocks while downstream
// is full: that is the backpressure. The wait is bounded by the agent's
// drain deadline, not by ctx, so records already read are handed on while
// the pipeline drains. Emit takes ownership of b: if it fails (the drain
// deadline passed), it has resolved the records as Failed.
type Output interface {
	Emit(ctx context.Context, b Batch) error
}

// Router is an Output that can hand a batch to some of its consumers only.
// The outputs the runtime hands components implement it; a source that
// routes records by what it knows of them (kubernetes_logs and its
// octoagent.io/rules annotation) uses it.
type Router interface {
	Output
	// Consumers lists the IDs of the components that read this output.
	Consumers() []string
	// EmitTo is Emit to the listed consumers only. If none of them reads
	// this output, the records are counted as unconsumed and dropped, as
	// on an output nobody reads.
	EmitTo(ctx context.Context, consumers []string, b Batch) error
}

var _ Router = (*fanout)(nil)

// Settings is what the runtime hands a component when it builds it. The
// outputs are passed in, so a component never looks up its neighbours.
type Settings struct {
	ID      string // "source.file.nginx", "transform.nginx_access", "sink.stdout.out"
	Kind    Kind
	Type    string
	Name    string
	Logger  *slog.Logger
	Metrics *ComponentMetrics
	DataDir string
	Host    string
	// Once: sources stop at the end of their input (run --once).
	Once bool
	// Acks creates tokens; sources use it (through Tracker) to follow their
	// batches.
	Acks *Acks
	// Checkpoints is the source's own part of the checkpoint store.
	Checkpoints *SourceCheckpoints
	// Out is the main output; DeadLetter the dead-letter output (sources
	// send lines they cannot pass on, such as over-long ones; transforms
	// records their rules reject; sinks records the destination refused).
	// Both are never nil: with no consumer, records sent to them are
	// counted, logged, and resolved.
	Out        Output
	DeadLetter Output
	// Conditions reports the state of what the component reads or writes
	// (a file it may not read), shown by /healthz. May be nil outside a
	// runtime; its methods accept that.
	Conditions *ComponentConditions
	// Recycle: every component the records of this one reach keeps
	// nothing of a record (no string viewing its bytes) past the
	// record's outcome, so a source may reuse the memory its records'
	// bytes were read into once their token resolves (see "Recycled
	// memory" in docs/architecture.md).
	Recycle bool
}

// Source reads records and emits them to Settings.Out.
type Source interface {
	// Run reads until ctx ends (stop intake) or, when Settings.Once is set,
	// until the end of its input. It returns once it emits nothing more.
	// Bad input is counted and reported, never a reason to return an error;
	// an error means the source cannot run at all.
	Run(ctx context.Context) error
}

// Transform turns batches into batches. It must resolve (Ack) every record
// it does not pass on to an output, and add to the token of every extra
// record it makes.
type Transform interface {
	Process(ctx context.Context, b Batch) error
}

// Flusher is implemented by transforms that hold something once their input
// has ended: state to save, acknowledgements held until that state is on
// disk, records they emit late (a run summary waiting for its last steps).
// The runtime calls Flush after the transform's last Process, before its
// consumers' queues close; rule tests call it after their input. If ctx ends
// first, what is left must be resolved (as Failed, or kept for the next
// start).
type Flusher interface {
	Flush(ctx context.Context) error
}

// Sink writes records out. It resolves every record it is given: Delivered
// once written, DeadLettered (through Settings.DeadLetter) for records the
// destination rejects for good, Failed for records it gave up on.
type Sink interface {
	// Consume takes a batch. It may block (backpressure) and may hold
	// records to batch them; it must not keep a reference to b itself.
	Consume(ctx context.Context, b Batch) error
	// Flush writes out everything held, when the input has ended. If ctx
	// ends first, what is left is resolved as Failed.
	Flush(ctx context.Context) error
}

// ReadinessReporter is implemented by components that can tell they are
// stuck (a user's program that did not stop at its budget): while Ready
// returns an error, /readyz answers 503 with the component and the error.
type ReadinessReporter interface {
	Ready() error
}

// Closer is implemented by components that hold resources to release after
// the pipeline stopped.
type Closer interface {
	Close() error
}

// Validator is implemented by configs that check themselves after decoding.
// Return AttrErrors (joined with errors.Join) so the loader can point at
// the attribute concerned.
type Validator interface {
	Validate() error
}

// AttrError is a config error about one attribute. The loader turns it into
// a diagnostic at that attribute's position.
type AttrError struct {
	Attr string // attribute name, as written in HCL
	Err  error
	Hint string // how to fix it
}

func (e *AttrError) Error() string { return e.Attr + ": " + e.Err.Error() }
func (e *AttrError) Unwrap() error { return e.Err }

// AttrErrorf builds an AttrError.
func AttrErrorf(attr, hint, format string, args ...any) error {
	return &AttrError{Attr: attr, Err: fmt.Errorf(format, args...), Hint: hint}
}

// Factory describes one component type: its kind and type name, its
// default config, how to build it, and its example config (the same text
// its README shows and a test decodes). Build one with NewSourceFactory,
// NewTransformFactory or NewSinkFactory: they are generic over the config
// type, so the compiler checks that what the loader decodes is what Create
// takes, and that Create returns a component of the factory's kind.
type Factory struct {
	Kind        Kind
	Type        string
	Description string
	// Example is a complete, valid config using this component.
	Example string

	newConfig func() any
	create    func(set Settings, cfg any) (any, error)
	claims    func(cfg any) []string
	forgets   func(cfg any) bool
	pkg       func() string // the import path of the declaring package, looked up on first use (it reads the binary's function table)
}

// FactorySpec is what a component package declares about its type. C is
// its config struct (decoded with gohcl tags, or by its DecodeHCL method),
// T the contract it implements (Source, Transform or Sink).
type FactorySpec[C any, T any] struct {
	Type        string
	Description string
	Example     string
	// NewConfig returns the default config, into which the loader decodes
	// the block. nil means the zero C.
	NewConfig func() *C
	// Create builds the component from a decoded, validated config.
	Create func(set Settings, cfg *C) (T, error)
	// Claims lists resources the config claims exclusively (ports, files
	// written), so that conflicts fail at load. Optional.
	Claims func(cfg *C) []string
	// Forgets reports whether the component, so configured, reads
	// nothing of a record (no string viewing its bytes, no field) past
	// the record's outcome: a cache, a remembered value, a route or a
	// label taken from a record would be. Only when every component a
	// source's records reach forgets them may the source recycle the
	// memory their bytes are in (Settings.Recycle). nil: not known to.
	Forgets func(cfg *C) bool
}

// NewSourceFactory returns the factory of a source type.
func NewSourceFactory[C any](s FactorySpec[C, Source]) *Factory {
	return newFactory(KindSource, s)
}

// NewTransformFactory returns the factory of a transform type.
func NewTransformFactory[C any](s FactorySpec[C, Transform]) *Factory {
	return newFactory(KindTransform, s)
}

// NewSinkFactory returns the factory of a sink type.
func NewSinkFactory[C any](s FactorySpec[C, Sink]) *Factory {
	return newFactory(KindSink, s)
}

func newFactory[C any, T any](kind Kind, s FactorySpec[C, T]) *Factory {
	if s.Type == "" || s.Create == nil {
		panic(fmt.Sprintf("%s factory without a type or a Create function", kind))
	}
	f := &Factory{Kind: kind, Type: s.Type, Description: s.Description, Example: s.Example, pkg: sync.OnceValue(func() string { return funcPackage(s.Create) })}
	f.newConfig = func() any {
		if s.NewConfig == nil {
			return new(C)
		}
		return s.NewConfig()
	}
	f.create = func(set Settings, cfg any) (any, error) {
		if cfg == nil {
			cfg = f.newConfig()
		}
		c, ok := cfg.(*C)
		if !ok {
			return nil, fmt.Errorf("%s %q takes a %T config, not %T", kind, s.Type, (*C)(nil), cfg)
		}
		return s.Create(set, c)
	}
	if s.Claims != nil {
		f.claims = func(cfg any) []string {
			if c, ok := cfg.(*C); ok {
				return s.Claims(c)
			}
			return nil
		}
	}
	if s.Forgets != nil {
		f.forgets = func(cfg any) bool {
			c, ok := cfg.(*C)
			return ok && s.Forgets(c)
		}
	}
	return f
}

// Forgets reports whether the component, configured with cfg, reads
// nothing of a record past its outcome (FactorySpec.Forgets).
func (f *Factory) Forgets(cfg any) bool {
	if cfg == nil && f.newConfig != nil {
		cfg = f.newConfig()
	}
	return f.forgets != nil && f.forgets(cfg)
}

// Package returns the import path of the package that declared the
// factory (the one whose Create function it holds): the component's folder,
// with its README and example config.
func (f *Factory) Package() string {
	if f.pkg == nil {
		return ""
	}
	return f.pkg()
}

// funcPackage returns the import path of the package fn is declared in,
// from its symbol name ("example.com/x/y.NewFactory.func1").
func funcPackage(fn any) string {
	rf := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if rf == nil {
		return ""
	}
	name := rf.Name()
	slash := strings.LastIndexByte(name, '/')
	if dot := strings.IndexByte(name[slash+1:], '.'); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}

// NewConfig returns a pointer to the type's default config.
func (f *Factory) NewConfig() any { return f.newConfig() }

// Create builds a component from a config that NewConfig returned (nil
// stands for the default config). The result is a Source, Transform or
// Sink according to f.Kind.
func (f *Factory) Create(set Settings, cfg any) (any, error) { return f.create(set, cfg) }

// Claims lists the resources cfg claims exclusively (none when the type
// declares no Claims).
func (f *Factory) Claims(cfg any) []string {
	if f.claims == nil {
		return nil
	}
	return f.claims(cfg)
}

// Registry lists the component types a binary links. Each binary builds its
// own from an explicit list; there is no global registry.
type Registry struct {
	byKey map[string]*Factory
}

// NewRegistry returns a registry of the given factories.
func NewRegistry(fs ...*Factory) *Registry {
	r := &Registry{byKey: map[string]*Factory{}}
	for _, f := range fs {
		k := string(f.Kind) + "." + f.Type
		if _, dup := r.byKey[k]; dup {
			panic("duplicate factory " + k)
		}
		r.byKey[k] = f
	}
	return r
}

// Lookup returns the factory of one kind and type.
func (r *Registry) Lookup(kind Kind, typ string) (*Factory, bool) {
	f, ok := r.byKey[string(kind)+"."+typ]
	return f, ok
}

// Types lists the registered types of one kind, sorted.
func (r *Registry) Types(kind Kind) []string {
	var out []string
	for _, f := range r.byKey {
		if f.Kind == kind {
			out = append(out, f.Type)
		}
	}
	sort.Strings(out)
	return out
}

// All returns every factory, sorted by kind and type.
func (r *Registry) All() []*Factory {
	out := make([]*Factory, 0, len(r.byKey))
	for _, f := range r.byKey {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// ComponentID returns the ID a component has in config, logs and metrics:
// "source.TYPE.NAME", "sink.TYPE.NAME", and "transform.NAME". A transform
// is named by what it makes, not by how: its ID (which is part of every
// record ID it derives, through Origin.Rule) does not change when the
// transform changes type, and references to it read transform.NAME.
func ComponentID(kind Kind, typ, name string) string {
	if !kind.TypedID() {
		return string(kind) + "." + name
	}
	return string(kind) + "." + typ + "." + name
}

// TypedID reports whether the IDs of this kind carry the component's type
// (sources and sinks do, transforms do not; see ComponentID).
func (k Kind) TypedID() bool { return k != KindTransform }

// SplitOutputID splits "transform.x.dead_letter" into the component ID and
// the port ("dead_letter"); the main output has port "".
func SplitOutputID(id string) (component, port string) {
	if c, ok := strings.CutSuffix(id, "."+DeadLetterPort); ok {
		return c, DeadLetterPort
	}
	return id, ""
}

// ErrStopped is returned by components asked to work after shutdown.
var ErrStopped = errors.New("stopped")
