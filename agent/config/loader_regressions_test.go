package config_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent/config"
)

// Regression tests for loader problems found by review and fuzzing.

func loadString(name, src string) (*config.Result, hcl.Diagnostics) {
	return config.LoadSources([]config.Source{{Name: name, Data: []byte(src)}}, registry())
}

func wantCounts(t *testing.T, res *config.Result, diags hcl.Diagnostics, errors, warnings int) {
	t.Helper()
	if count(diags, hcl.DiagError) != errors || count(diags, hcl.DiagWarning) != warnings {
		t.Errorf("want %d error(s) and %d warning(s), got:\n%s", errors, warnings, render(res, diags))
	}
}

// A failing env() or file() call yields a second error, "Unsuitable value
// type: value must be known", from gohcl decoding the unknown result.
func TestRegressionFunctionErrorCascade(t *testing.T) {
	unsetEnv(t, "OCTOAGENT_TEST_UNSET")
	for _, p := range []string{"testdata/diag/env_unset.hcl", "testdata/diag/file_missing.hcl"} {
		res, diags := config.Load([]string{p}, registry())
		wantCounts(t, res, diags, 1, 0)
	}
}

// A block of an unknown type is not registered, so every reference to it is
// a second error.
func TestRegressionUnknownTypeCascade(t *testing.T) {
	res, diags := loadString("x.hcl", `
source "fiel" "x" {}
sink "stdout" "out" {
  inputs = [source.fiel.x]
}
`)
	wantCounts(t, res, diags, 1, 0)
}

// An input written as a string is an error, and the source it names is
// then reported as unused as well.
func TestRegressionInvalidInputUnusedCascade(t *testing.T) {
	res, diags := config.Load([]string{"testdata/diag/quoted_input.hcl"}, registry())
	wantCounts(t, res, diags, 1, 0)
}

// A config that failed Validate still has its claims checked: two file sinks
// with an empty path "both claim" the working directory.
func TestRegressionClaimsOfInvalidConfigs(t *testing.T) {
	res, diags := loadString("x.hcl", `
source "stdin" "in" {}
sink "file" "a" {
  inputs = [source.stdin.in]
  path   = ""
}
sink "file" "b" {
  inputs = [source.stdin.in]
  path   = ""
}
`)
	wantCounts(t, res, diags, 2, 0)
	for _, d := range diags {
		if d.Summary == "Resource claimed twice" {
			t.Errorf("cascade: %s: %s", d.Summary, d.Detail)
		}
	}
}

// A component named dead_letter passes the loader, but its ID reads as a
// dead-letter port: agent.New then fails with "unknown input".
func TestRegressionDeadLetterName(t *testing.T) {
	for _, src := range []string{`
source "stdin" "in" {}
transform "dead_letter" {
  inputs = [source.stdin.in]
}
sink "stdout" "out" {
  inputs = [transform.dead_letter]
}
`, `
source "stdin" "dead_letter" {}
sink "stdout" "out" {
  inputs = [source.stdin.dead_letter]
}
`} {
		res, diags := loadString("x.hcl", src)
		if !diags.HasErrors() {
			t.Errorf("want an error for the name dead_letter, got %d node(s) and:\n%s", len(res.Graph.Nodes), render(res, diags))
		}
	}
}

// The same file given twice (or a file and its directory) is read twice,
// and each block is reported as a duplicate of itself.
func TestRegressionSameFileTwice(t *testing.T) {
	for _, paths := range [][]string{
		{"testdata/valid/minimal.hcl", "testdata/valid/minimal.hcl"},
		{"testdata/merge/10-source.hcl", "testdata/merge"},
	} {
		res, diags := config.Load(paths, registry())
		if diags.HasErrors() {
			t.Errorf("Load(%v):\n%s", paths, render(res, diags))
		}
	}
}

// A sink used as an input is reported, and then again as a cycle.
func TestRegressionSinkInputCycleCascade(t *testing.T) {
	res, diags := loadString("x.hcl", `
source "stdin" "in" {}
transform "t" {
  inputs = [source.stdin.in, sink.stdout.out]
}
sink "stdout" "out" {
  inputs = [transform.t]
}
`)
	wantCounts(t, res, diags, 1, 0)
}

// env() takes one name and an optional default; more arguments are ignored.
func TestRegressionEnvExtraArguments(t *testing.T) {
	unsetEnv(t, "OCTOAGENT_TEST_UNSET")
	res, diags := loadString("x.hcl", `
source "file" "a" {
  paths = [env("OCTOAGENT_TEST_UNSET", "/a.log", "/b.log")]
}
sink "stdout" "out" {
  inputs = [source.file.a]
}
`)
	wantCounts(t, res, diags, 1, 0)
}

// WriteDiagnostics slices the line with a column counted in characters as
// if it were bytes, so after a non-ASCII character the caret is too far left.
func TestRegressionCaretAfterNonASCII(t *testing.T) {
	const line = `  inputs = ["été", source.stdin.ni]`
	res, diags := loadString("x.hcl", "source \"stdin\" \"in\" {}\nsink \"stdout\" \"out\" {\n"+line+"\n}\n")
	out := render(res, diags)
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasSuffix(l, "| "+line) || i+1 >= len(lines) || !strings.Contains(lines[i-1], "Unknown reference") {
			continue
		}
		bar := strings.Index(l, "| ")
		caret := lines[i+1]
		// Compare in runes: what a terminal shows.
		got := utf8.RuneCountInString(caret[:strings.Index(caret, "^")]) - utf8.RuneCountInString(l[:bar+2])
		want := utf8.RuneCountInString(line[:strings.Index(line, "source.stdin.ni")])
		if got != want {
			t.Errorf("caret at rune %d, want %d:\n%s\n%s", got, want, l, caret)
		}
		return
	}
	t.Fatalf("no snippet for the unknown reference:\n%s", out)
}

// transforms/rules: when a block has both pattern and patterns, a bad regex
// in patterns is reported at pattern.
func TestRegressionRegexPatternsPosition(t *testing.T) {
	_, diags := loadString("x.hcl", `
source "stdin" "in" {}
transform "t" {
  inputs = [source.stdin.in]
  parse "regex" {
    pattern  = "ok"
    patterns = ["(bad"]
  }
}
sink "stdout" "out" {
  inputs = [transform.t]
}
`)
	if len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Start.Line != 7 {
		t.Errorf("want one error on line 7 (patterns), got %v", diags)
	}
}

// A Validate that joins the errors its parts joined (the file source's
// tailing attributes and its multiline block) has every one reported at
// its attribute, not only the first.
func TestRegressionNestedValidateErrors(t *testing.T) {
	res, diags := loadString("x.hcl", `
source "file" "x" {
  paths    = ["/var/log/x.log"]
  start_at = "middle"
  multiline {
    preset  = "jav"
    timeout = "soon"
  }
}
sink "stdout" "out" {
  inputs = [source.file.x]
}
`)
	wantCounts(t, res, diags, 3, 0)
	for _, want := range []string{"x.hcl:4:", "x.hcl:6:", "x.hcl:7:"} {
		if !strings.Contains(render(res, diags), want) {
			t.Errorf("no diagnostic at %s:\n%s", want, render(res, diags))
		}
	}
}
