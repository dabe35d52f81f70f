// Command grokspec measures our grok against Logstash's own pattern specs
// (logstash-patterns-core's spec/patterns/*_spec.rb): it reads every case
// it can from the RSpec files (pattern, ecs mode, line, expected captures,
// should match or not), runs each through parse "grok" as a rule runs it
// (unanchored %{PATTERN}, the shipped sets, ecs_compatibility per case),
// and prints how many lines match and how many expected captures are
// equal, per set and per spec file.
//
// The spec lines stay outside the project: point -spec at a checkout of
// logstash-patterns-core or at its git directory.
//
//	go run ./e2e/grokspec -spec ~/src/logstash-patterns-core
//	go run ./e2e/grokspec -spec /path/to/repo.git -rev v4.3.1 -v
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/transforms/rules"
)

func main() {
	spec := flag.String("spec", "", "a checkout of logstash-patterns-core, or its git directory")
	rev := flag.String("rev", "HEAD", "the revision to read when -spec is a git directory")
	verbose := flag.Bool("v", false, "list every capture that differs and every example not read")
	only := flag.String("file", "", "read only spec files whose name contains this")
	flag.Parse()
	if *spec == "" {
		fmt.Fprintln(os.Stderr, "grokspec: -spec DIR (a checkout of logstash-patterns-core, or its git directory) is required")
		os.Exit(2)
	}
	files, err := readSpecs(*spec, *rev)
	if err != nil {
		fmt.Fprintln(os.Stderr, "grokspec:", err)
		os.Exit(1)
	}
	var names []string
	for n := range files {
		if strings.Contains(n, *only) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	r := newRunner()
	t := measure(names, files, r)
	var out strings.Builder
	fmt.Fprintf(&out, "%d spec files, %d examples run (%d pending in the spec), %d expectations, %d cases\n\n", len(names), t.examples, t.pending, t.expectations, len(t.cases))
	t.print(&out, true)
	out.WriteString("\n")
	t.printUnread(&out, *verbose)
	if *verbose {
		t.printDiffs(&out)
	}
	fmt.Print(out.String())
}

// measure reads and runs the spec files.
func measure(names []string, files map[string]string, r *runner) *tally {
	t := newTally()
	for _, name := range names {
		in := &interp{file: name, tally: t, consts: &scope{vars: map[string]any{"Array": "Array", "Hash": "Hash", "String": "String", "Integer": "Integer", "Float": "Float"}}}
		in.run = func(expr, mode, line string) *caseResult { return r.run(name, expr, mode, line, t) }
		in.evalErr = func(ex *example, err error) {
			mode, _ := ex.g.getMode()
			t.unread = append(t.unread, unread{file: name, line: ex.line, set: setOf(mode), why: err.Error()})
		}
		if err := in.loadFile(files[name]); err != nil {
			t.unread = append(t.unread, unread{file: name, set: "legacy", why: "file not read: " + err.Error()})
			t.unread = append(t.unread, unread{file: name, set: "ecs-v1", why: "file not read: " + err.Error()})
			continue
		}
		in.runAll(in.top)
	}
	return t
}

func setOf(mode string) string {
	if mode == "ecs-v1" {
		return "ecs-v1"
	}
	return "legacy" // "" is the plugin's default of the specs' era: legacy names
}

func (t *tally) printUnread(w *strings.Builder, verbose bool) {
	byWhy := map[string]int{}
	for _, u := range t.unread {
		why := u.why
		if i := strings.Index(why, ": "); i >= 0 && strings.HasPrefix(why, "line ") {
			why = why[i+2:]
		}
		byWhy[why]++
		if verbose {
			fmt.Fprintf(w, "not read: %s:%d (%s): %s\n", u.file, u.line, u.set, u.why)
		}
	}
	if len(t.unread) == 0 {
		w.WriteString("Every example was read.\n")
		return
	}
	fmt.Fprintf(w, "%d examples not read (counted in no row above), by reason:\n", len(t.unread))
	var whys []string
	for k := range byWhy {
		whys = append(whys, k)
	}
	sort.Slice(whys, func(i, j int) bool { return byWhy[whys[i]] > byWhy[whys[j]] })
	for _, k := range whys {
		fmt.Fprintf(w, "  %3d  %s\n", byWhy[k], k)
	}
}

func (t *tally) printDiffs(w *strings.Builder) {
	for _, f := range t.failed {
		fmt.Fprintln(w, f)
	}
	for _, c := range t.cases {
		if c.shouldMatch && !c.matched {
			fmt.Fprintf(w, "NO MATCH %s (%s) %s %q %s\n", c.file, c.set, c.expr, c.line, c.err)
			continue
		}
		if c.shouldNot && !c.shouldMatch && c.matched {
			fmt.Fprintf(w, "MATCHED BUT SHOULD NOT %s (%s) %s %q\n", c.file, c.set, c.expr, c.line)
		}
		var keys []string
		for k, l := range c.leaves {
			if !l.equal {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			l := c.leaves[k]
			fmt.Fprintf(w, "DIFF %s:%d (%s) %s: %s = %s (present %v), want %s\n", c.file, l.specLine, c.set, c.expr, l.path, inspect(l.got), l.present, inspect(l.expected))
		}
	}
}

// readSpecs reads spec/patterns/*_spec.rb from a checkout or a git dir.
func readSpecs(dir, rev string) (map[string]string, error) {
	out := map[string]string{}
	if st, err := os.Stat(filepath.Join(dir, "spec", "patterns")); err == nil && st.IsDir() {
		paths, _ := filepath.Glob(filepath.Join(dir, "spec", "patterns", "*_spec.rb"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			out[filepath.Base(p)] = string(b)
		}
	} else {
		ls, err := exec.Command("git", "--git-dir", dir, "ls-tree", "--name-only", rev, "spec/patterns/").Output()
		if err != nil {
			return nil, fmt.Errorf("%s is neither a checkout (no spec/patterns) nor a git directory with %s: %v", dir, rev, err)
		}
		for _, p := range strings.Fields(string(ls)) {
			if !strings.HasSuffix(p, "_spec.rb") {
				continue
			}
			b, err := exec.Command("git", "--git-dir", dir, "show", rev+":"+p).Output()
			if err != nil {
				return nil, fmt.Errorf("git show %s:%s: %v", rev, p, err)
			}
			out[filepath.Base(p)] = string(b)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no spec/patterns/*_spec.rb under %s", dir)
	}
	return out, nil
}

// runner runs lines through parse "grok", one transform per pattern and
// mode.
type runner struct {
	steps map[string]agent.Transform
	errs  map[string]error
	cases map[string]*caseResult
	out   *collect
	dead  *collect
}

type collect struct{ got agent.Batch }

func (c *collect) Emit(_ context.Context, b agent.Batch) error {
	for i := range b {
		b[i].MaterializeFields()
	}
	c.got = append(c.got, b...)
	agent.AckAll(b, agent.Delivered)
	return nil
}

func newRunner() *runner {
	return &runner{steps: map[string]agent.Transform{}, errs: map[string]error{}, cases: map[string]*caseResult{}, out: &collect{}, dead: &collect{}}
}

// hclString writes s as an HCL string literal (grok's %{ doubled).
func hclString(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "%{", "%%{", "${", "$${").Replace(s)
	return `"` + s + `"`
}

func ecsOf(mode string) string {
	if mode == "ecs-v1" {
		return "v1"
	}
	return "disabled"
}

func (r *runner) transform(expr, mode string) (agent.Transform, error) {
	key := mode + "\x00" + expr
	if tr, ok := r.steps[key]; ok || r.errs[key] != nil {
		return tr, r.errs[key]
	}
	src := fmt.Sprintf("parse \"grok\" {\n  pattern = %s\n  ecs_compatibility = %q\n}\n", hclString(expr), ecsOf(mode))
	tr, err := buildRules(src, r.out, r.dead)
	r.steps[key], r.errs[key] = tr, err
	return tr, err
}

// BuildRules compiles a rules transform from its HCL body.
func buildRules(src string, out, dead agent.Output) (agent.Transform, error) {
	f, d := hclsyntax.ParseConfig([]byte(src), "grokspec.hcl", hcl.InitialPos)
	if d.HasErrors() {
		return nil, d
	}
	c := &rules.Config{}
	if d := c.DecodeHCL(f.Body, nil, &decode.Env{}); d.HasErrors() {
		return nil, d
	}
	m := agent.NewMetrics(nil)
	tr, err := rules.NewFactory().Create(agent.Settings{ID: "transform.grokspec", Metrics: m.For("transform.grokspec"), Out: out, DeadLetter: dead}, c)
	if err != nil {
		return nil, err
	}
	return tr.(agent.Transform), nil
}

func (r *runner) run(file, expr, mode, line string, t *tally) *caseResult {
	key := file + "\x00" + mode + "\x00" + expr + "\x00" + line
	if c, ok := r.cases[key]; ok {
		return c
	}
	c := &caseResult{file: file, set: setOf(mode), mode: mode, expr: expr, line: line}
	r.cases[key] = c
	t.cases = append(t.cases, c)
	c.fields = map[string]any{"message": line, "@version": "1"}
	fail := func(tag, why string) {
		c.fields["tags"] = []any{tag}
		c.err = why
	}
	tr, err := r.transform(expr, mode)
	if err != nil {
		fail("_grokparsefailure", "config: "+err.Error())
		return c
	}
	r.out.got, r.dead.got = nil, nil
	acks := agent.NewAcks()
	rec := agent.Record{Raw: []byte(line), Origin: agent.Origin{Component: "source.grokspec", Offset: int64(len(r.cases))}}
	rec.SetToken(acks.NewToken(1, nil))
	if err := tr.Process(context.Background(), agent.Batch{rec}); err != nil {
		fail("_grokparsefailure", "process: "+err.Error())
		return c
	}
	if len(r.dead.got) > 0 {
		dl := r.dead.got[0].MaterializeFields()
		reason, _ := dl["reason"].(string)
		if reason == "timeout" {
			fail("_groktimeout", reason)
		} else {
			fail("_grokparsefailure", fmt.Sprint(reason, " ", dl["errors"]))
		}
		return c
	}
	if len(r.out.got) != 1 {
		fail("_grokparsefailure", fmt.Sprintf("%d records out", len(r.out.got)))
		return c
	}
	c.matched = true
	for k, v := range r.out.got[0].MaterializeFields() {
		if k == "message" {
			// the event's message was the line: a capture adds to it
			if l, ok := v.([]any); ok {
				v = append([]any{line}, l...)
			} else {
				v = []any{line, v}
			}
		}
		c.fields[k] = v
	}
	return c
}
