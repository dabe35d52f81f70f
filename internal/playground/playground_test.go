package playground_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/adapters/kafkasource"
	"github.com/octostore/agent/adapters/kubernetesevents"
	"github.com/octostore/agent/adapters/kuberneteslogs"
	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/ruletest"
	"github.com/octostore/agent/configs"
	"github.com/octostore/agent/internal/playground"
	"github.com/octostore/agent/transforms/assemble"
	"github.com/octostore/agent/transforms/correlate"
	"github.com/octostore/agent/transforms/rules"
)

const nginxLine = `203.0.113.9 - alice [21/Nov/2026:05:41:35 +0100] "GET /api/v1/items?page=2 HTTP/1.1" 200 5120 "https://www.example.com/" "curl/8.5.0"`

// panicky is a transform type whose Process panics: the server must
// catch it and say so.
type panicky struct{}

func (panicky) Process(context.Context, agent.Batch) error { panic("boom in process") }

func registry() *agent.Registry {
	return agent.NewRegistry(rules.NewFactory(), filesource.NewFactory(), stdin.NewFactory(), kafkasource.NewFactory(), kubernetesevents.NewFactory(), kuberneteslogs.NewFactory(),
		correlate.NewFactory(), assemble.NewFactory(), agent.NewTransformFactory(agent.FactorySpec[struct{}, agent.Transform]{
			Type: "panicky", Description: "panics", NewConfig: func() *struct{} { return &struct{}{} },
			Create: func(agent.Settings, *struct{}) (agent.Transform, error) { return panicky{}, nil },
		}))
}

func newServer(t testing.TB, lim playground.Limits) (*httptest.Server, *playground.Pack) {
	t.Helper()
	packs, err := playground.Packs(configs.FS)
	if err != nil {
		t.Fatal(err)
	}
	var nginx *playground.Pack
	for _, p := range packs {
		if p.Name == "nginx" {
			nginx = p
		}
	}
	if nginx == nil {
		t.Fatal("no nginx pack")
	}
	ts := httptest.NewServer(playground.New(playground.Options{Registry: registry(), Packs: packs, Limits: lim, Loopback: true}))
	t.Cleanup(ts.Close)
	return ts, nginx
}

func post(t *testing.T, url string, req playground.Request) (int, playground.Response) {
	t.Helper()
	b, _ := json.Marshal(req)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out playground.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func field(fs []playground.Field, name string) *playground.Field {
	for i := range fs {
		if fs[i].Name == name {
			return &fs[i]
		}
	}
	return nil
}

func TestEvalNginxPack(t *testing.T) {
	ts, nginx := newServer(t, playground.Limits{})
	lines := nginxLine + "\nnot an access line\n" + strings.Replace(nginxLine, " 200 ", " 999 ", 1) + "\n"
	code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: nginx.HCL, Lines: lines, Pack: "nginx", Trace: 1})
	if code != 200 || out.Error != "" {
		t.Fatalf("status %d, error %q, diagnostics %+v", code, out.Error, out.Diagnostics)
	}
	if out.Transform != "transform.nginx_access" || len(out.Results) != 3 {
		t.Fatalf("transform %q, %d results", out.Transform, len(out.Results))
	}
	r := out.Results[0]
	if len(r.Records) != 1 || r.Records[0].Kind != "http_request" {
		t.Fatalf("line 1: %+v", r)
	}
	st := field(r.Records[0].Fields, "status")
	if st == nil || st.Type != "int" || st.Declared != "int" || string(st.Value) != "200" {
		t.Fatalf("status field: %+v", st)
	}
	if tm := field(r.Records[0].Fields, "time"); tm == nil || tm.Type != "time" || string(tm.Value) != `"2026-11-21T04:41:35Z"` {
		t.Fatalf("time field: %+v", tm)
	}
	if d := out.Results[1].Dead; d == nil || d.Reason != "no_match" || d.Step != "parse.regex" {
		t.Fatalf("line 2: %+v", out.Results[1])
	}
	if d := out.Results[2].Dead; d == nil || d.Reason != "schema" || len(d.Errors) == 0 || d.Errors[0].Field != "status" {
		t.Fatalf("line 3: %+v", out.Results[2].Dead)
	}
	if s := out.Summary; s.Lines != 3 || s.Matched != 1 || s.DeadLetters != 2 || s.Slowest == nil {
		t.Fatalf("summary: %+v", s)
	}
	tr := out.Trace
	if tr == nil || tr.Line != 1 || len(tr.Steps) != 2 {
		t.Fatalf("trace: %+v", tr)
	}
	if p := tr.Steps[0]; p.Step != "parse.regex" || p.Pattern != 1 || !strings.HasPrefix(p.PatternText, "^(?P<client_ip>") || field(p.Fields, "status") == nil {
		t.Fatalf("trace step 1: %+v", p)
	}
	if p := tr.Steps[1]; p.Step != "timestamp" || p.Error != "" {
		t.Fatalf("trace step 2: %+v", p)
	}
}

func TestEvalDiagnostics(t *testing.T) {
	ts, nginx := newServer(t, playground.Limits{})
	broken := strings.Replace(nginx.HCL, `(?P<status>\\d{3})`, `(?P<status>\\d{3}`, 1)
	code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: broken, Lines: nginxLine, Pack: "nginx"})
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var line int
	for i, l := range strings.Split(broken, "\n") {
		if strings.Contains(l, "pattern =") {
			line = i + 1
		}
	}
	found := false
	for _, d := range out.Diagnostics {
		if d.Severity == "error" && d.InEditor && d.Line == line && d.Summary == "Invalid regular expression" {
			found = true
		}
	}
	if !found || len(out.Results) != 0 {
		t.Fatalf("want an error on line %d, got %+v (%d results)", line, out.Diagnostics, len(out.Results))
	}
	// Not HCL at all: diagnostics still, never a 500.
	code, out = post(t, ts.URL+"/api/eval", playground.Request{HCL: "transform \"x\" {\n  parse \"regex\" {\n", Lines: "a"})
	if code != 200 || len(out.Diagnostics) == 0 || out.Diagnostics[0].Line == 0 {
		t.Fatalf("status %d, diagnostics %+v", code, out.Diagnostics)
	}
}

func TestEvalLoopsAreStopped(t *testing.T) {
	ts, _ := newServer(t, playground.Limits{Timeout: 300 * time.Millisecond, Grace: 30 * time.Second})
	cases := map[string]string{
		"awk": `transform "loop" {
  parse "awk" {
    program = "{ while (1) { n++ } }"
    timeout = "1h"
  }
}`,
		"jq": `transform "loop" {
  jq {
    query   = "def f: f; f"
    timeout = "1h"
  }
}`,
	}
	for name, hcl := range cases {
		t.Run(name, func(t *testing.T) {
			code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: hcl, Lines: "a b c\nd e f"})
			if code != 200 || !out.Timeout || !strings.Contains(out.Error, "ran longer than 300ms") {
				t.Fatalf("status %d, timeout %v, error %q, diagnostics %+v", code, out.Timeout, out.Error, out.Diagnostics)
			}
			// The server goes on serving.
			code, out = post(t, ts.URL+"/api/eval", playground.Request{HCL: `transform "ok" {
  parse "regex" { pattern = "^(?P<word>\\S+)" }
}`, Lines: "hello world"})
			if code != 200 || out.Error != "" || len(out.Results) != 1 || len(out.Results[0].Records) != 1 {
				t.Fatalf("after the loop: status %d, %+v", code, out)
			}
		})
	}
}

func TestEvalPanicIsShown(t *testing.T) {
	ts, _ := newServer(t, playground.Limits{})
	code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: `transform "panicky" "p" {}`, Lines: "x"})
	if code != 200 || !strings.Contains(out.Error, "boom in process") || !strings.Contains(out.Panic, "goroutine") {
		t.Fatalf("status %d, error %q, panic %q", code, out.Error, out.Panic)
	}
}

func TestEvalLimits(t *testing.T) {
	ts, nginx := newServer(t, playground.Limits{MaxLines: 2, MaxBytes: 64 << 10, MaxConcurrent: 1, Timeout: 5 * time.Second, Grace: 30 * time.Second})
	_, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: nginx.HCL, Lines: "a\nb\nc", Pack: "nginx"})
	if !strings.Contains(out.Error, "at most 2") {
		t.Fatalf("lines: %q", out.Error)
	}
	code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: nginx.HCL, Lines: strings.Repeat("x", 70<<10)})
	if code != http.StatusRequestEntityTooLarge || out.Error == "" {
		t.Fatalf("bytes: %d %q", code, out.Error)
	}
	// One slot: an awk loop holds it while a second request is refused
	// (its own budget set past the playground's time limit).
	loop := `transform "loop" {
  parse "awk" {
    program = "{ while (1) { n++ } }"
    timeout = "1m"
  }
}`
	var wg sync.WaitGroup
	wg.Add(1)
	looped := make(chan bool, 1)
	go func() {
		defer wg.Done()
		for start := time.Now(); time.Since(start) < time.Minute; time.Sleep(10 * time.Millisecond) {
			code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: loop, Lines: "a"})
			if code != http.StatusTooManyRequests { // a quick request below had the slot
				looped <- out.Timeout
				return
			}
		}
		looped <- false
	}()
	quick := playground.Request{HCL: "transform \"w\" {\n  parse \"regex\" { pattern = \"^(?P<w>\\\\S+)\" }\n}", Lines: "a"}
	got429 := false
	for start := time.Now(); time.Since(start) < time.Minute && !got429; time.Sleep(5 * time.Millisecond) {
		code, _ := post(t, ts.URL+"/api/eval", quick)
		got429 = code == http.StatusTooManyRequests
	}
	wg.Wait()
	if !got429 || !<-looped {
		t.Fatal("no 429 while the only slot was taken by a loop stopped by the time limit")
	}
	// A request for another host (DNS rebinding) is refused.
	req, _ := http.NewRequest("GET", ts.URL+"/api/packs", nil)
	req.Host = "evil.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign host: %d", resp.StatusCode)
	}
}

// TestMakeTestPasses: the block "make a test" writes passes octoagent
// test's runner against the same rules.
func TestMakeTestPasses(t *testing.T) {
	ts, nginx := newServer(t, playground.Limits{})
	lines := nginxLine + "\nnot an access line\n" + strings.Replace(nginxLine, " 200 ", " 999 ", 1)
	code, out := post(t, ts.URL+"/api/test", playground.Request{HCL: nginx.HCL, Lines: lines, Pack: "nginx", TestName: "from_playground"})
	if code != 200 || out.Error != "" || !strings.Contains(out.Test, `test "from_playground"`) {
		t.Fatalf("status %d, error %q, test:\n%s", code, out.Error, out.Test)
	}
	srcs := append(append([]config.Source{}, nginx.Sources...), config.Source{Name: "rules.hcl", Data: []byte(nginx.HCL)}, config.Source{Name: "tests.hcl", Data: []byte(out.Test)})
	res, diags := config.LoadSources(srcs, registry())
	if diags = config.WithoutUnused(diags); len(diags) > 0 {
		t.Fatalf("%v\n%s", diags, out.Test)
	}
	var buf bytes.Buffer
	rep, diags := ruletest.Run(res, &buf)
	if rep.Passed != 1 || rep.Failed != 0 || len(diags) > 0 {
		t.Fatalf("%+v %v\n%s\n%s", rep, diags, buf.String(), out.Test)
	}
}

// TestShippedPacksEvaluate: every shipped pack loads in the playground
// with no error and its samples give records.
func TestShippedPacksEvaluate(t *testing.T) {
	ts, _ := newServer(t, playground.Limits{Timeout: 30 * time.Second})
	packs, _ := playground.Packs(configs.FS)
	if len(packs) < 5 {
		t.Fatalf("%d packs", len(packs))
	}
	for _, p := range packs {
		if len(p.Samples) == 0 {
			t.Errorf("pack %s: no samples", p.Name)
			continue
		}
		s := p.Samples[0]
		code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: p.HCL, Lines: s.Text, Pack: p.Name, Transform: s.Transform})
		if code != 200 || out.Error != "" {
			t.Errorf("pack %s: status %d, error %q", p.Name, code, out.Error)
		}
		for _, d := range out.Diagnostics {
			if d.Severity == "error" {
				t.Errorf("pack %s: %s:%d:%d: %s: %s", p.Name, d.File, d.Line, d.Col, d.Summary, d.Detail)
			}
		}
		if out.Summary.Records == 0 {
			t.Errorf("pack %s, sample %s: no records (%+v)", p.Name, s.Name, out.Summary)
		}
	}
}

// TestMakeTestEscapes: lines and values with HCL template sequences,
// quotes, backslashes and non-ASCII text round-trip through the block.
func TestMakeTestEscapes(t *testing.T) {
	ts, _ := newServer(t, playground.Limits{})
	rulesHCL := `transform "words" {
  parse "regex" { pattern = "^(?P<a>\\S+) (?P<b>.*)$" }
}
`
	lines := "${x} %{y} \"q\" \\n é\n$${z} tab\there\nnomatch"
	code, out := post(t, ts.URL+"/api/test", playground.Request{HCL: rulesHCL, Lines: lines})
	if code != 200 || out.Error != "" || !strings.HasPrefix(out.Test, "# transform.words has no inputs here") {
		t.Fatalf("status %d, error %q, test:\n%s", code, out.Error, out.Test)
	}
	// As octoagent test loads it: with a source and inputs.
	withInputs := strings.Replace(rulesHCL, "{\n", "{\n  inputs = [source.stdin.in]\n", 1)
	res, diags := config.LoadSources([]config.Source{{Name: "source.hcl", Data: []byte(`source "stdin" "in" {}`)}, {Name: "rules.hcl", Data: []byte(withInputs)}, {Name: "tests.hcl", Data: []byte(out.Test)}}, registry())
	if diags = config.WithoutUnused(diags); len(diags) > 0 {
		t.Fatalf("%v\n%s", diags, out.Test)
	}
	var buf bytes.Buffer
	rep, diags := ruletest.Run(res, &buf)
	if rep.Passed != 1 || len(diags) > 0 {
		t.Fatalf("%+v %v\n%s\n%s", rep, diags, buf.String(), out.Test)
	}
}

// TestBuildPack: -c files become the editor's text (schema and transform
// blocks with the comments above them), the sources beside it, and the
// tests' inputs as samples; sinks are left out.
func TestBuildPack(t *testing.T) {
	files := []playground.File{{Name: "a.hcl", Data: []byte(`# the source
source "stdin" "in" {}

# my schema
schema "word" {
  field "w" { type = "string" }
}

sink "stdout" "out" {
  inputs = [transform.words]
}

# first comment
// second comment
transform "words" {
  inputs = [source.stdin.in]
  schema = schema.word
  parse "regex" { pattern = "^(?P<w>\\S+)" }
}
`)}, {Name: "t.hcl", Data: []byte(`test "one" {
  transform = transform.words
  inputs    = ["hello world", "bye"]
}
`)}}
	p, diags := playground.BuildPack("mine", files)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, want := range []string{"# my schema\nschema \"word\"", "# first comment\n// second comment\ntransform \"words\""} {
		if !strings.Contains(p.HCL, want) {
			t.Errorf("editor text lacks %q:\n%s", want, p.HCL)
		}
	}
	if strings.Contains(p.HCL, "sink") || strings.Contains(p.HCL, "source \"stdin\"") || strings.Contains(p.HCL, "the source") {
		t.Errorf("editor text holds more than schemas and transforms:\n%s", p.HCL)
	}
	if len(p.Sources) != 1 || !strings.Contains(string(p.Sources[0].Data), `source "stdin" "in"`) || len(p.SourceIDs) != 1 || p.SourceIDs[0] != "source.stdin.in" {
		t.Errorf("sources: %+v %v", p.Sources, p.SourceIDs)
	}
	if len(p.Samples) != 1 || p.Samples[0].Transform != "transform.words" || p.Samples[0].Text != "hello world\nbye\n" {
		t.Errorf("samples: %+v", p.Samples)
	}
}

// TestEditorCannotReadTheHost: env() and file() in the editor's text fail
// with a diagnostic instead of showing the server's environment or files.
func TestEditorCannotReadTheHost(t *testing.T) {
	ts, _ := newServer(t, playground.Limits{})
	t.Setenv("PLAYGROUND_SECRET", "s3cret")
	for _, call := range []string{`env("PLAYGROUND_SECRET")`, `env("PLAYGROUND_SECRET", "x")`, `file("/etc/hostname")`} {
		code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: "transform \"t\" {\n  kind = " + call + "\n}\n", Lines: "a"})
		b, _ := json.Marshal(out)
		if code != 200 || len(out.Diagnostics) == 0 || out.Diagnostics[0].Line != 2 || !strings.Contains(out.Diagnostics[0].Detail, "cannot read the host") || strings.Contains(string(b), "s3cret") {
			t.Errorf("%s: status %d, %s", call, code, b)
		}
	}
}

// TestEditorBlocksThatReadTheHost: sources, sinks and patterns_dir are
// refused in the editor with a diagnostic on their line.
func TestEditorBlocksThatReadTheHost(t *testing.T) {
	ts, _ := newServer(t, playground.Limits{})
	cases := map[string]int{
		"source \"file\" \"etc\" {\n  paths = [\"/etc/*\"]\n}\n":                                                       1,
		"transform \"t\" {}\nsink \"file\" \"f\" {\n  inputs = [transform.t]\n  path = \"/tmp/x\"\n}\n":                2,
		"transform \"t\" {\n  parse \"grok\" {\n    pattern = \"%%{WORD:w}\"\n    patterns_dir = [\"/etc\"]\n  }\n}\n": 4,
		"transform \"t\" {\n  parse \"grok\" {\n    pattern = \"%{WORD:w}\"\n    patterns_dir = [\"/etc\"]\n  }\n}\n":  4,
	}
	for hcl, line := range cases {
		code, out := post(t, ts.URL+"/api/eval", playground.Request{HCL: hcl, Lines: "a"})
		if code != 200 || len(out.Diagnostics) != 1 || out.Diagnostics[0].Line != line || !strings.HasPrefix(out.Diagnostics[0].Summary, "No ") || len(out.Results) != 0 {
			t.Errorf("%s: status %d, %+v", hcl, code, out)
		}
	}
}
