package config_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/sinks/filesink"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/diag")

// registry is the same list of components as cmd/octoagent links.
func registry() *agent.Registry {
	return agent.NewRegistry(
		filesource.NewFactory(),
		stdin.NewFactory(),
		rules.NewFactory(),
		stdout.NewFactory(),
		filesink.NewFactory(),
	)
}

// unsetEnv makes sure an environment variable is unset for the test, and
// restores it afterwards.
func unsetEnv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // registers the restore
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

func count(diags hcl.Diagnostics, sev hcl.DiagnosticSeverity) int {
	n := 0
	for _, d := range diags {
		if d.Severity == sev {
			n++
		}
	}
	return n
}

func render(res *config.Result, diags hcl.Diagnostics) string {
	var buf bytes.Buffer
	files := map[string]*hcl.File{}
	if res != nil {
		files = res.Files
	}
	config.WriteDiagnostics(&buf, files, diags)
	return buf.String()
}

// machineIndependent replaces the working directory in printed diagnostics
// (file() reports absolute paths) with <cwd>, so goldens hold on any machine.
func machineIndependent(t *testing.T, s string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(s, wd+string(filepath.Separator), "<cwd>/")
}

// goldenCases lists what each testdata/diag case must yield, besides its
// printed diagnostics. A case is a *.hcl file, or a directory whose *.hcl
// files are passed to Load as separate paths. Every case needs an entry, so
// that updating goldens cannot turn an error into silence. Counts marked
// "known issue" are today's; known_issues_test.go states the intended ones.
var goldenCases = map[string]struct{ errors, warnings int }{
	"http_addr_no_port": {1, 0},
	"six_mistakes":      {6, 0},
	"unknown_block":     {1, 0},
	"quoted_input":      {1, 0},
	"sink_as_input":     {1, 0},
	"env_unset":         {1, 0},
	"bad_duration":      {1, 0},
	"duplicate_agent":   {1, 0},
	"bad_regex":         {1, 0},
	"unused_source":     {0, 1},
	"file_missing":      {1, 0},
	"admin_addr_open":   {0, 1},
	"admin_addr_bad":    {1, 0},
}

func TestGoldenDiagnostics(t *testing.T) {
	unsetEnv(t, "OCTOAGENT_TEST_UNSET")
	entries, err := os.ReadDir("testdata/diag")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		var name string
		var paths []string
		switch {
		case e.IsDir():
			name = e.Name()
			paths, _ = filepath.Glob(filepath.Join("testdata/diag", name, "*.hcl"))
			sort.Strings(paths)
		case strings.HasSuffix(e.Name(), ".hcl"):
			name = strings.TrimSuffix(e.Name(), ".hcl")
			paths = []string{filepath.Join("testdata/diag", e.Name())}
		default:
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := goldenCases[name]
			if !ok {
				t.Fatalf("testdata/diag/%s has no entry in goldenCases", name)
			}
			res, diags := config.Load(paths, registry())
			got := machineIndependent(t, render(res, diags))
			golden := filepath.Join("testdata/diag", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantOut, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./agent/config -update to create it)", err)
			}
			if got != string(wantOut) {
				t.Errorf("diagnostics differ from %s (run with -update to accept):\n--- got\n%s--- want\n%s", golden, got, wantOut)
			}
			if n := count(diags, hcl.DiagError); n != want.errors {
				t.Errorf("got %d errors, want %d:\n%s", n, want.errors, got)
			}
			if n := count(diags, hcl.DiagWarning); n != want.warnings {
				t.Errorf("got %d warnings, want %d:\n%s", n, want.warnings, got)
			}
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Start.Line < 1 {
					t.Errorf("diagnostic %q has no position", d.Summary)
				}
			}
			if want.errors == 0 && len(res.Graph.Nodes) == 0 {
				t.Errorf("no errors, but the graph is empty")
			}
		})
	}
	for name := range goldenCases {
		if !seen[name] {
			t.Errorf("goldenCases lists %s, but testdata/diag has no such case", name)
		}
	}
}

// TestSixMistakes checks each diagnostic of six_mistakes.hcl by position,
// independently of the golden file.
func TestSixMistakes(t *testing.T) {
	const path = "testdata/diag/six_mistakes.hcl"
	want := []struct {
		mistake   string
		line, col int
		summary   string
		detail    string // a part of it
	}{
		{"a: unknown type", 9, 8, `Unknown source type "fiel"`, `Did you mean "file"?`},
		{"e: wrong type", 15, 11, "Unsuitable value type", "list of string required, but have number"},
		{"c: duplicate name", 33, 1, "Duplicate sink stdout.out", "sink.stdout.out was already defined at " + path + ":28:1."},
		{"f: missing attribute", 38, 23, "Missing required argument", `"path" is required`},
		{"b: unknown reference", 29, 13, "Unknown reference source.file.ngnix", `Did you mean "source.file.nginx"?`},
		{"d: cycle", 24, 13, "Cycle in the component graph", "transform.a → transform.b → transform.a"},
	}
	_, diags := config.Load([]string{path}, registry())
	var buf bytes.Buffer
	config.WriteDiagnostics(&buf, nil, diags)
	if n := count(diags, hcl.DiagError); n != len(want) || len(diags) != len(want) {
		t.Fatalf("got %d errors (%d diagnostics), want exactly %d:\n%s", n, len(diags), len(want), buf.String())
	}
	used := map[int]bool{}
	for _, w := range want {
		found := false
		for i, d := range diags {
			if used[i] || d.Subject == nil || d.Subject.Start.Line != w.line || d.Subject.Start.Column != w.col {
				continue
			}
			used[i], found = true, true
			if d.Subject.Filename != path {
				t.Errorf("%s: file %q, want %q", w.mistake, d.Subject.Filename, path)
			}
			if d.Severity != hcl.DiagError {
				t.Errorf("%s: severity %v, want error", w.mistake, d.Severity)
			}
			if d.Summary != w.summary {
				t.Errorf("%s at %d:%d: summary %q, want %q", w.mistake, w.line, w.col, d.Summary, w.summary)
			}
			if !strings.Contains(d.Detail, w.detail) {
				t.Errorf("%s at %d:%d: detail %q does not contain %q", w.mistake, w.line, w.col, d.Detail, w.detail)
			}
			break
		}
		if !found {
			t.Errorf("%s: no diagnostic at %s:%d:%d:\n%s", w.mistake, path, w.line, w.col, buf.String())
		}
	}
}

func TestValidConfigs(t *testing.T) {
	paths, _ := filepath.Glob("testdata/valid/*.hcl")
	if len(paths) == 0 {
		t.Fatal("no testdata/valid/*.hcl")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			res, diags := config.Load([]string{p}, registry())
			if len(diags) > 0 {
				t.Fatalf("want no diagnostics:\n%s", render(res, diags))
			}
			if len(res.Graph.Nodes) == 0 || len(res.Graph.Nodes) != len(res.Components) {
				t.Fatalf("graph has %d nodes for %d components", len(res.Graph.Nodes), len(res.Components))
			}
		})
	}
}

func TestPipelineSummaryAndSettings(t *testing.T) {
	res, diags := config.Load([]string{"testdata/valid/pipeline.hcl"}, registry())
	if diags.HasErrors() {
		t.Fatal(render(res, diags))
	}
	want := "valid: 2 sources, 2 transforms, 2 sinks; " +
		"source.file.nginx → transform.nginx_access, " +
		"source.file.app → transform.app_events, " +
		"transform.nginx_access → sink.file.archive, " +
		"transform.app_events → sink.file.archive, " +
		"source.file.nginx.dead_letter → sink.stdout.rejects, " +
		"transform.nginx_access.dead_letter → sink.stdout.rejects, " +
		"transform.app_events.dead_letter → sink.stdout.rejects, " +
		"sink.file.archive.dead_letter → sink.stdout.rejects"
	if got := config.Summary(res.Graph); got != want {
		t.Errorf("Summary:\n got %s\nwant %s", got, want)
	}

	a := res.Graph.Agent
	if a.DataDir != "/var/lib/octoagent" || a.HTTPAddr != "127.0.0.1:9598" || a.Host != "node-1" ||
		a.ShutdownTimeout.String() != "10s" || a.CheckpointInterval.String() != "500ms" || a.QueueCapacity != 4096 {
		t.Errorf("agent settings: %+v", a)
	}
	for _, n := range res.Graph.Nodes {
		wantQ := 0
		if n.ID == "sink.file.archive" {
			wantQ = 1000
		}
		if n.QueueCapacity != wantQ {
			t.Errorf("%s: queue capacity %d, want %d", n.ID, n.QueueCapacity, wantQ)
		}
	}
	var sink *filesink.Config
	for _, c := range res.Components {
		if c.ID == "sink.file.archive" {
			sink = c.Config.(*filesink.Config)
		}
	}
	if sink == nil || sink.Path != "/var/lib/octoagent/archive.jsonl" || !sink.Fsync {
		t.Errorf("sink.file.archive config: %+v", sink)
	}
}

func TestLoadDirectoryMerges(t *testing.T) {
	res, diags := config.Load([]string{"testdata/merge"}, registry())
	if len(diags) > 0 {
		t.Fatal(render(res, diags))
	}
	want := "valid: 1 source, 0 transforms, 1 sink; source.file.nginx → sink.stdout.out"
	if got := config.Summary(res.Graph); got != want {
		t.Errorf("Summary:\n got %s\nwant %s", got, want)
	}
	var names []string
	for name := range res.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	wantNames := []string{"testdata/merge/10-source.hcl", "testdata/merge/20-sink.hcl"}
	if strings.Join(names, " ") != strings.Join(wantNames, " ") {
		t.Errorf("files %v, want %v", names, wantNames)
	}
	if res.Components[0].DefRange.Filename != wantNames[0] || res.Components[1].DefRange.Filename != wantNames[1] {
		t.Errorf("components not in file order: %s, %s", res.Components[0].DefRange, res.Components[1].DefRange)
	}
}

func TestLoadMissingPath(t *testing.T) {
	for _, p := range []string{"testdata/no_such.hcl", "testdata/diag/duplicate_agent/none"} {
		res, diags := config.Load([]string{p}, registry())
		if !diags.HasErrors() {
			t.Errorf("Load(%s): want an error", p)
		}
		if res == nil || res.Files == nil {
			t.Errorf("Load(%s): want a Result with Files for printing", p)
		}
	}
	// A directory with no *.hcl files is an error too.
	dir := t.TempDir()
	_, diags := config.Load([]string{dir}, registry())
	if !diags.HasErrors() || !strings.Contains(diags[0].Summary, "No config files in") {
		t.Errorf("empty directory: got %v", diags)
	}
}

func TestFunctions(t *testing.T) {
	t.Setenv("OCTOAGENT_TEST_HOST", "host-from-env")
	t.Setenv("OCTOAGENT_TEST_KIND", "kind_from_env")
	unsetEnv(t, "OCTOAGENT_TEST_UNSET")

	const path = "testdata/funcs/funcs.hcl"
	res, diags := config.Load([]string{path}, registry())
	if len(diags) > 0 {
		t.Fatal(render(res, diags))
	}
	abs, err := filepath.Abs(filepath.Join("testdata", "funcs"))
	if err != nil {
		t.Fatal(err)
	}
	// config_dir is absolute, so that it does not depend on the directory
	// the agent is started from.
	if want := filepath.Join(abs, "data"); res.Graph.Agent.DataDir != want {
		t.Errorf("${config_dir}/data = %q, want %q", res.Graph.Agent.DataDir, want)
	}
	if res.Graph.Agent.Host != "host-from-env" {
		t.Errorf(`env("OCTOAGENT_TEST_HOST") = %q`, res.Graph.Agent.Host)
	}
	byID := map[string]any{}
	for _, c := range res.Components {
		byID[c.ID] = c.Config
	}
	if k := byID["transform.with_env"].(*rules.Config).Kind; k != "kind_from_env" {
		t.Errorf(`env("OCTOAGENT_TEST_KIND", "unused default") = %q, want the variable`, k)
	}
	if k := byID["transform.with_default"].(*rules.Config).Kind; k != "fallback_kind" {
		t.Errorf(`env("OCTOAGENT_TEST_UNSET", "fallback_kind") = %q, want the default`, k)
	}
	if p := byID["sink.file.archive"].(*filesink.Config).Path; p != "/var/lib/octoagent/from-file.jsonl" {
		t.Errorf(`file("sub/path.txt") = %q`, p)
	}

	// A set but empty variable is a value, not a reason to use the default.
	t.Setenv("OCTOAGENT_TEST_KIND", "")
	res, diags = config.Load([]string{path}, registry())
	if len(diags) > 0 {
		t.Fatal(render(res, diags))
	}
	for _, c := range res.Components {
		if c.ID == "transform.with_env" {
			if k := c.Config.(*rules.Config).Kind; k != "" {
				t.Errorf("empty variable: kind = %q, want empty", k)
			}
		}
	}
}

// TestFunctionsInMemory covers LoadSources, where file() and ${config_dir}
// resolve against the directory in the source's name.
func TestFunctionsInMemory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pattern.txt"), []byte(`^(?P<word>\w+)`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := config.Source{Name: filepath.Join(dir, "main.hcl"), Data: []byte(`
agent {
  data_dir = "${config_dir}/state"
}
source "stdin" "in" {}
transform "t" {
  inputs = [source.stdin.in]
  parse "regex" {
    pattern = file("pattern.txt")
  }
}
sink "stdout" "out" {
  inputs = [transform.t]
}
`)}
	res, diags := config.LoadSources([]config.Source{src}, registry())
	if len(diags) > 0 {
		t.Fatal(render(res, diags))
	}
	if want := filepath.Join(dir, "state"); res.Graph.Agent.DataDir != want {
		t.Errorf("data_dir = %q, want %q", res.Graph.Agent.DataDir, want)
	}
	if n := len(res.Components[1].Config.(*rules.Config).Steps); n != 1 {
		t.Errorf("transform.t has %d steps, want 1", n)
	}
}
