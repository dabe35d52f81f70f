package rules_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/ruletest"
	"github.com/octostore/agent/internal/testfig"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

func registry() *agent.Registry {
	return agent.NewRegistry(stdin.NewFactory(), rules.NewFactory(), stdout.NewFactory())
}

func load(t *testing.T, paths ...string) (*config.Result, hcl.Diagnostics) {
	t.Helper()
	return config.Load(paths, registry())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(p, got, 0o644)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if intended):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// Four distinct mistakes give four diagnostics, each where it stands.
func TestFourMistakesFourDiagnostics(t *testing.T) {
	res, diags := load(t, "testdata/four_mistakes.hcl")
	var buf bytes.Buffer
	config.WriteDiagnostics(&buf, res.Files, diags)
	golden(t, "four_mistakes.golden", buf.Bytes())
	want := []struct {
		line, col int
		summary   string
	}{
		{6, 5, "Unsupported argument"}, // requried (did you mean required?)
		{15, 15, "Invalid regular expression"},
		{18, 13, "Invalid jq query"},
		{20, 11, "Invalid expression"}, // int + string
	}
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(want), buf.String())
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Subject.Start.Line < errs[j].Subject.Start.Line })
	for i, w := range want {
		s := errs[i].Subject.Start
		if s.Line != w.line || s.Column != w.col || errs[i].Summary != w.summary {
			t.Errorf("error %d: %s at %d:%d, want %s at %d:%d", i, errs[i].Summary, s.Line, s.Column, w.summary, w.line, w.col)
		}
	}
}

// A broken expectation fails with a readable diff.
func TestBrokenExpectationDiff(t *testing.T) {
	ruleTestGolden(t, "broken_expectation", 1, 1)
}

// ruleTestGolden runs the test blocks of testdata/NAME.hcl and compares
// the output with testdata/NAME.golden.
func ruleTestGolden(t *testing.T, name string, passed, failed int) {
	t.Helper()
	res, diags := load(t, "testdata/"+name+".hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var buf bytes.Buffer
	rep, d := ruletest.Run(res, &buf)
	if d.HasErrors() {
		t.Fatal(d)
	}
	if rep.Passed != passed || rep.Failed != failed {
		t.Fatalf("passed %d, failed %d:\n%s", rep.Passed, rep.Failed, buf.String())
	}
	golden(t, name+".golden", buf.Bytes())
}

// Every shipped rule pack passes its own tests.
func TestShippedPacks(t *testing.T) {
	for _, pack := range []string{"nginx", "apache", "json-app"} {
		t.Run(pack, func(t *testing.T) {
			res, diags := config.Load([]string{"../../configs/schemas", "../../configs/" + pack}, fullRegistry())
			for _, d := range diags {
				if d.Severity == hcl.DiagError || !strings.HasPrefix(d.Summary, "Unused") {
					t.Errorf("%s: %s: %s", d.Subject, d.Summary, d.Detail)
				}
			}
			var buf bytes.Buffer
			rep, d := ruletest.Run(res, &buf)
			if d.HasErrors() || rep.Failed > 0 || rep.Passed == 0 {
				t.Fatalf("passed %d, failed %d, %v:\n%s", rep.Passed, rep.Failed, d, buf.String())
			}
			testfig.Report(t, "pack %s: %d tests passed", pack, rep.Passed)
		})
	}
}

// The same nginx parse as regex (the pack), grok, split and awk (the pack's
// variants) gives identical records on the sample log, and the same lines
// as dead letters.
func TestNginxParsersAgree(t *testing.T) {
	sample, err := os.ReadFile("../../configs/samples/nginx_access.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(sample), "\n"), "\n")
	outputs := map[string][]string{}
	deadLines := map[string][]string{}
	variants := map[string]string{
		"regex": "../../configs/nginx/rules.hcl",
		"grok":  "../../configs/nginx/variants/grok.hcl",
		"split": "../../configs/nginx/variants/split.hcl",
		"awk":   "../../configs/nginx/variants/awk.hcl",
	}
	for name, file := range variants {
		res, diags := config.Load([]string{"../../configs/schemas", "testdata/nginx_source.hcl", file}, fullRegistry())
		if diags.HasErrors() {
			t.Fatalf("%s: %v", name, diags)
		}
		var c *config.Component
		for _, comp := range res.Components {
			if comp.ID == "transform.nginx_access" {
				c = comp
			}
		}
		out, dead := runTransform(t, c, lines)
		for i := range out {
			out[i].ID = ""
			outputs[name] = append(outputs[name], string(agent.AppendJSON(nil, &out[i])))
		}
		for i := range dead {
			deadLines[name] = append(deadLines[name], dead[i].MaterializeFields()["raw"].(string))
		}
		if len(out)+len(dead) != len(lines) {
			t.Errorf("%s: %d records + %d dead letters != %d lines", name, len(out), len(dead), len(lines))
		}
	}
	ref := outputs["regex"]
	if len(ref) < len(lines)*9/10 {
		t.Fatalf("regex typed only %d of %d lines", len(ref), len(lines))
	}
	for _, name := range []string{"grok", "split", "awk"} {
		got := outputs[name]
		if len(got) != len(ref) {
			t.Errorf("%s typed %d records, regex %d", name, len(got), len(ref))
			continue
		}
		for i := range ref {
			if got[i] != ref[i] {
				t.Errorf("%s record %d differs:\n%s\nregex:\n%s", name, i, got[i], ref[i])
				break
			}
		}
		if strings.Join(deadLines[name], "\n") != strings.Join(deadLines["regex"], "\n") {
			t.Errorf("%s dead-lettered other lines:\n%q\nregex:\n%q", name, deadLines[name], deadLines["regex"])
		}
	}
	testfig.Report(t, "sample %d lines: %d typed and %d dead letters, identical across regex, grok, split and awk", len(lines), len(ref), len(deadLines["regex"]))
}

type collect struct{ got agent.Batch }

func (c *collect) Emit(_ context.Context, b agent.Batch) error {
	c.got = append(c.got, b...)
	agent.AckAll(b, agent.Delivered)
	return nil
}

func runTransform(t *testing.T, c *config.Component, lines []string) (agent.Batch, agent.Batch) {
	t.Helper()
	b := make(agent.Batch, len(lines))
	for i, l := range lines {
		b[i] = agent.Record{Time: ruletest.Time, Raw: []byte(l), Origin: agent.Origin{Offset: int64(i)}}
	}
	tr, out, dead := createTransform(t, c)
	if err := tr.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return out.got, dead.got
}

// createTransform builds the transform c configures, with outputs that
// keep what they are given.
func createTransform(t testing.TB, c *config.Component) (tr agent.Transform, out, dead *collect) {
	t.Helper()
	out, dead = &collect{}, &collect{}
	m := agent.NewMetrics(nil)
	x, err := c.Factory.Create(agent.Settings{ID: c.ID, Name: c.Name, Metrics: m.For(c.ID), Out: out, DeadLetter: dead}, c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return x.(agent.Transform), out, dead
}

// loadComponent loads the config files at paths and returns the component
// id.
func loadComponent(t testing.TB, id string, paths ...string) *config.Component {
	t.Helper()
	res, diags := config.Load(paths, fullRegistry())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, comp := range res.Components {
		if comp.ID == id {
			return comp
		}
	}
	t.Fatalf("no %s in %v", id, paths)
	return nil
}
