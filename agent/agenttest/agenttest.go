// Package agenttest holds test helpers shared by the tests of several
// packages: the record's shape, a capturing sink, metrics, configs, and
// random batches for property tests.
package agenttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

// FullOrigin returns an Origin with every field set to a distinct non-zero
// value, found by reflection: a test that round-trips it through a writer
// and a reader fails when a field added to Origin is forgotten by either.
func FullOrigin() agent.Origin {
	var o agent.Origin
	v := reflect.ValueOf(&o).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("%s-%d \"é\"", name, i))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(2000 + i))
		default:
			panic(fmt.Sprintf("agenttest.FullOrigin: Origin.%s is a %s; teach FullOrigin (and the writers) about it", name, f.Kind()))
		}
	}
	return o
}

// Capture is a sink (and an output) that keeps every record it is given and
// acknowledges it as delivered: what a test reads back a pipeline with.
type Capture struct {
	mu   sync.Mutex
	recs agent.Batch
}

// Consume keeps copies of the batch's records (agent.Record.Keep) and
// resolves them as delivered.
func (c *Capture) Consume(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	for i := range b {
		c.recs = append(c.recs, b[i].Keep()) // b's memory is reused once acked
	}
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}

// Emit is Consume, so a Capture can stand for a component's output.
func (c *Capture) Emit(ctx context.Context, b agent.Batch) error { return c.Consume(ctx, b) }

// Flush has nothing to write.
func (c *Capture) Flush(context.Context) error { return nil }

// Records returns a copy of what was captured so far.
func (c *Capture) Records() agent.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(agent.Batch(nil), c.recs...)
}

// Factory returns a sink factory of type typ that hands out c, for a graph
// built by hand.
func (c *Capture) Factory(typ string) *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: typ,
		Create: func(agent.Settings, *struct{}) (agent.Sink, error) { return c, nil }})
}

// Metric returns the value of one metric of m, summed over its labels (0
// when it has none): counters and gauges.
func Metric(m *agent.Metrics, name string) float64 {
	mfs, _ := m.Registry.Gather()
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, x := range mf.GetMetric() {
			if c := x.GetCounter(); c != nil {
				sum += c.GetValue()
			}
			if g := x.GetGauge(); g != nil {
				sum += g.GetValue()
			}
		}
	}
	return sum
}

// LoadConfig loads one config file's text with reg and returns the decoded
// config of component id, or nil and the diagnostics as printed.
func LoadConfig(t testing.TB, reg *agent.Registry, src, id string) (any, string) {
	t.Helper()
	res, diags := config.LoadSources([]config.Source{{Name: "test.hcl", Data: []byte(src)}}, reg)
	if diags.HasErrors() {
		var buf bytes.Buffer
		config.WriteDiagnostics(&buf, res.Files, diags)
		return nil, buf.String()
	}
	for _, c := range res.Components {
		if c.ID == id {
			return c.Config, ""
		}
	}
	t.Fatalf("no component %s in the config", id)
	return nil, ""
}

// PropertyCases is the number of random cases a property test runs:
// OCTOAGENT_PROPERTY_CASES, else def.
func PropertyCases(def int) int {
	if n, err := strconv.Atoi(os.Getenv("OCTOAGENT_PROPERTY_CASES")); err == nil && n > 0 {
		return n
	}
	return def
}

// Clones returns copies of b's records (each holds its own share of its
// token, as fan-out's copies do).
func Clones(b agent.Batch) agent.Batch {
	c := make(agent.Batch, len(b))
	for i := range b {
		c[i] = b[i].Clone()
	}
	return c
}

// Split cuts b into batches of 1 to 8 records, at random.
func Split(rng *rand.Rand, b agent.Batch) []agent.Batch {
	var out []agent.Batch
	for len(b) > 0 {
		n := 1 + rng.IntN(min(len(b), 8))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// Run is one run of a component that keeps state across records, as
// CrashAnywhere drives it.
type Run struct {
	Process func(agent.Batch) // hand it a batch
	Save    func()            // save its state now (its own clock would)
	Close   func()            // end cleanly
	Kill    func()            // stop as kill -9 would: no save
	Out     func() agent.Batch
}

// CrashAnywhere feeds recs (one stream, offsets 0..n-1 in order) to runs
// that start returns, each killed at a random point, in random batches
// tracked like a source's, saving at random moments; the next run starts
// from a position the source had committed (at most what the
// acknowledgements let it: any of its commits, the checkpoint file may
// lag). The last run ends cleanly. It returns what came out of all the
// runs, by id and as written, and fails when one id came out twice with
// different content.
func CrashAnywhere(t testing.TB, rng *rand.Rand, recs agent.Batch, start func() Run) map[string]string {
	t.Helper()
	got := map[string]string{}
	next := 0
	for restarts := 0; next < len(recs); restarts++ {
		if restarts > 50 {
			t.Fatal("no progress after 50 restarts")
		}
		run := start()
		commits := []int{next - 1}
		tr := agent.NewTracker(agent.NewAcks(), func(p int) { commits = append(commits, p) }, nil)
		crashAt := next + rng.IntN(len(recs)-next+1)
		for _, b := range Split(rng, recs[next:crashAt]) {
			b = Clones(b)
			tok := tr.Track(len(b), int(b[len(b)-1].Origin.Offset))
			for i := range b {
				b[i].SetToken(tok)
			}
			run.Process(b)
			if rng.IntN(3) == 0 {
				run.Save()
			}
		}
		if crashAt == len(recs) {
			run.Close()
		}
		run.Kill()
		for _, r := range run.Out() {
			w := string(agent.AppendJSON(nil, &r))
			if prev, ok := got[r.EnsureID()]; ok && prev != w {
				t.Fatalf("id %s came out twice, differently:\n%s\n%s", r.ID, prev, w)
			}
			got[r.EnsureID()] = w
		}
		next = commits[rng.IntN(len(commits))] + 1
		if crashAt == len(recs) {
			next = len(recs)
		}
	}
	return got
}

// SameOutput fails t unless got (by id, as written) is exactly want.
func SameOutput(t testing.TB, want, got map[string]string) {
	t.Helper()
	for id, w := range want {
		if got[id] != w {
			t.Fatalf("record %s\nwant %s\ngot  %s", id, w, got[id])
		}
	}
	if len(got) != len(want) {
		var extra []string
		for id := range got {
			if _, ok := want[id]; !ok {
				extra = append(extra, got[id])
			}
		}
		t.Fatalf("%d records out, want %d; extra:\n%s", len(got), len(want), strings.Join(extra, "\n"))
	}
}

// TransformSettings returns the settings of a transform under test: its
// outputs captured, its own metrics, a discarded log.
func TransformSettings(id, typ, dataDir string) (set agent.Settings, out, dead *Capture, m *agent.Metrics) {
	out, dead, m = &Capture{}, &Capture{}, agent.NewMetrics(nil)
	name := strings.TrimPrefix(id, "transform.")
	set = agent.Settings{ID: id, Kind: agent.KindTransform, Type: typ, Name: name,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m.For(id),
		DataDir: dataDir, Host: "test", Out: out, DeadLetter: dead, Acks: agent.NewAcks()}
	return set, out, dead, m
}

// LoadTransform loads `transform "TYP" "NAME" { BODY }`, reading a stdin
// source and read with its dead letters by a stdout sink (reg must have
// both), and returns its decoded config, or nil and the diagnostics.
func LoadTransform(t testing.TB, reg *agent.Registry, typ, name, body string) (any, string) {
	t.Helper()
	id := "transform." + name
	return LoadConfig(t, reg, `source "stdin" "in" {}
transform "`+typ+`" "`+name+`" {
  inputs = [source.stdin.in]
`+body+`
}
sink "stdout" "out" {
  inputs = [`+id+`, `+id+`.dead_letter]
}
`, id)
}

// LogBuffer is an io.Writer for a logger that a test reads while the
// agent writes to it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
