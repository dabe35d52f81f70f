package rules

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itchyny/gojq"

	"github.com/octostore/agent/agent"
)

// The jq fast path makes its object in the step's own memory, and the
// transform then moves it where the input's typed fields were. These
// tests run whole transforms over many records in a row (so the step's
// memory is reused, and fields are looked for where the last record had
// them) and hold every record made, dead letter and drop to the plain
// way (jqReference).

// jqTransform is a transform of the one jq step of src.
func jqTransform(t testing.TB, src string) (*transform, *collect, *collect) {
	t.Helper()
	st, d := newJQ(src, time.Second, hcl.Range{})
	if d.HasErrors() {
		t.Fatal(d)
	}
	out, dl := &collect{}, &collect{}
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: "transform.t", Metrics: m.For("transform.t"), Out: out, DeadLetter: dl}
	tr, err := NewFactory().Create(set, &Config{Steps: []Step{st}})
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*transform), out, dl
}

// jqBatch makes n records of g, their typed fields carved from one
// allocation as a parse step's slab carves them (a record writing past
// its own would write into its neighbour's), some with room to spare and
// some without, some as fields maps.
func (g *jqGen) batch(n int) agent.Batch {
	b := make(agent.Batch, n)
	var slab agent.TypedFields
	for i := range b {
		r := g.record()
		if fs := r.TypedFields(); fs != nil && r.Typed() {
			room := len(fs) + g.rnd.IntN(3)
			if cap(slab)-len(slab) < room {
				slab = make(agent.TypedFields, 0, 64)
			}
			own := slab[len(slab) : len(slab) : len(slab)+room]
			slab = slab[:len(slab)+room]
			r.SetTyped(append(own, fs...))
		}
		r.Origin = agent.Origin{Component: "source.x", Offset: int64(i)}
		b[i] = r
	}
	return b
}

// sameJQTransform runs src's transform over b and checks each input gave
// what the plain way gives: its records' fields, a drop, or a dead letter
// with the same error and the input's fields.
func sameJQTransform(t testing.TB, src string, b agent.Batch) {
	t.Helper()
	type want struct {
		recs []string
		err  string
	}
	wants := make([]want, len(b))
	inputs := make([]string, len(b))
	for i := range b {
		recs, err := jqReference(t, src, b[i].Clone())
		wants[i].err = err
		for j := range recs {
			wants[i].recs = append(wants[i].recs, fieldsJSON(&recs[j])+fmt.Sprint(goValues(&recs[j])))
		}
		c := b[i].Clone()
		inputs[i] = fieldsJSON(&c)
	}
	tr, out, dl := jqTransform(t, src)
	if err := tr.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range out.got {
		got = append(got, fieldsJSON(&out.got[i])+fmt.Sprint(goValues(&out.got[i])))
	}
	var wantRecs []string
	var wantDead []string
	for i, w := range wants {
		if w.err != "" {
			wantDead = append(wantDead, fmt.Sprintf("%d %s", i, w.err))
			continue
		}
		wantRecs = append(wantRecs, w.recs...)
	}
	if !slices.Equal(got, wantRecs) {
		for i := range max(len(got), len(wantRecs)) {
			g, w := "(none)", "(none)"
			if i < len(got) {
				g = got[i]
			}
			if i < len(wantRecs) {
				w = wantRecs[i]
			}
			if g != w {
				t.Fatalf("%s: record %d of %d\n  got  %s\n  want %s", src, i, len(wantRecs), g, w)
			}
		}
	}
	var gotDead []string
	for _, d := range dl.got {
		f := d.MaterializeFields()
		errs := f["errors"].([]any)
		gotDead = append(gotDead, fmt.Sprintf("%d %s", d.Origin.Offset, errs[0].(map[string]any)["error"]))
		// The dead letter carries the input's fields as they came.
		in := agent.Record{}.WithFields(f["fields"].(map[string]any))
		if wantIn := inputs[d.Origin.Offset]; fieldsJSON(&in) != wantIn {
			t.Fatalf("%s: dead letter of record %d has fields %s, want %s", src, d.Origin.Offset, fieldsJSON(&in), wantIn)
		}
	}
	if !slices.Equal(gotDead, wantDead) {
		t.Fatalf("%s: dead letters\n  got  %q\n  want %q", src, gotDead, wantDead)
	}
}

// TestJQFastTransformMatchesGojq: every fast-path query of the
// differential list and many generated ones, each over a few hundred
// generated records in a row.
func TestJQFastTransformMatchesGojq(t *testing.T) {
	var queries []string
	for _, q := range jqDiffQueries {
		p, err := gojq.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		if compileJQFast(p) != nil {
			queries = append(queries, q)
		}
	}
	g := &jqGen{rnd: rand.New(rand.NewPCG(23, 3))}
	for len(queries) < 400 {
		q := g.query()
		p, err := gojq.Parse(q)
		if err != nil {
			t.Fatalf("generated %q: %v", q, err)
		}
		if compileJQFast(p) != nil {
			queries = append(queries, q)
		}
	}
	if testing.Short() {
		queries = queries[:100]
	}
	for _, q := range queries {
		sameJQTransform(t, q, g.batch(200))
	}
}

// FuzzJQTransform is FuzzJQ through a whole transform, on a batch.
func FuzzJQTransform(f *testing.F) {
	for i := range 32 {
		f.Add(uint64(i), uint64(i*104729))
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		g := &jqGen{rnd: rand.New(rand.NewPCG(s1, s2))}
		sameJQTransform(t, g.query(), g.batch(16))
	})
}

// TestJQFastPathAllocatesNothing: a record whose object fits where its
// fields were, or that a select lets through, is made without an
// allocation.
func TestJQFastPathAllocatesNothing(t *testing.T) {
	for q, want := range map[string]string{
		`select(.status >= 300) | {client_ip, status, slow: (.bytes > 100000)}`: `{"client_ip":"10.0.0.1","slow":true,"status":500}`,
		`select(.status >= 300)`: `{"bytes":495000,"client_ip":"10.0.0.1","path":"/","status":500}`,
	} {
		st, d := newJQ(q, time.Second, hcl.Range{})
		if d.HasErrors() {
			t.Fatal(d)
		}
		m := agent.NewMetrics(nil)
		tr, err := NewFactory().Create(agent.Settings{ID: "transform.t", Metrics: m.For("transform.t"), Out: discardOut{}, DeadLetter: discardOut{}},
			&Config{Steps: []Step{st}})
		if err != nil {
			t.Fatal(err)
		}
		const runs = 100
		batches := make([]agent.Batch, runs+1)
		for i := range batches {
			var r agent.Record
			r.StartTyped(4)
			r.SetValue("bytes", agent.IntValue(int64(i*5000)))
			r.SetValue("client_ip", agent.StringValue("10.0.0.1"))
			r.SetValue("path", agent.StringValue("/"))
			r.SetValue("status", agent.IntValue(int64(200+i%4*100)))
			batches[i] = agent.Batch{r}
		}
		n := 0
		allocs := testing.AllocsPerRun(runs, func() {
			if err := tr.(agent.Transform).Process(context.Background(), batches[n]); err != nil {
				t.Fatal(err)
			}
			n++
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per record", q, allocs)
		}
		r := batches[runs-1][0]
		if got := fieldsJSON(&r); got != want {
			t.Errorf("%s: record %s, want %s", q, got, want)
		}
	}
}

type discardOut struct{}

func (discardOut) Emit(_ context.Context, b agent.Batch) error {
	agent.AckAll(b, agent.Delivered)
	return nil
}

// TestJQNotes: octoagent validate says how a jq step runs.
func TestJQNotes(t *testing.T) {
	for q, want := range map[string]string{
		`select(.status >= 500) | {client_ip, slow: (.bytes > 100000)}`: "jq: native (run on the typed fields without gojq;",
		`{client_ip, kb: (.bytes / 1024)}`:                              "jq: gojq, given only the fields it reads (bytes, client_ip)",
		`del(.user)`:                                                    "jq: gojq, given the whole record (",
	} {
		c, d := decodeRules(t, `jq = `+hclQuote(q))
		if d.HasErrors() {
			t.Fatal(d)
		}
		notes := c.Notes()
		if len(notes) != 1 || !strings.HasPrefix(notes[0], "t.hcl:1:6: ") || !strings.Contains(notes[0], want) {
			t.Errorf("%s: notes %q, want one with %q", q, notes, want)
		}
	}
}
