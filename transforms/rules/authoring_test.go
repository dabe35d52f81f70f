package rules_test

import (
	"strings"
	"testing"

	"github.com/octostore/agent/agent/config"
)

// loadString loads one in-memory config file with the test registry.
func loadString(t *testing.T, src string) (*config.Result, string) {
	t.Helper()
	res, diags := config.LoadSources([]config.Source{{Name: "t.hcl", Data: []byte(src)}}, registry())
	var b strings.Builder
	config.WriteDiagnostics(&b, res.Files, diags)
	return res, b.String()
}

func pipeline(body string) string {
	return "source \"stdin\" \"in\" {}\ntransform \"t\" {\n  inputs = [source.stdin.in]\n" + body +
		"\n}\nsink \"stdout\" \"o\" { inputs = [transform.t, transform.t.dead_letter] }\n"
}

// Pattern mistakes are explained in the user's terms, at the attribute's
// position, with the fix.
func TestPatternMistakesAreExplained(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // in the printed diagnostics
	}{
		{"hcl escape", `  parse "regex" { pattern = "^(?P<n>\d+)$" }`,
			[]string{"t.hcl:4:37: error: Invalid escape sequence", `\d is not an escape HCL knows`, "pattern = <<-EOT", `"\\d"`}},
		{"grok percent", `  parse "grok" { pattern = "%{INT:n} x" }`,
			[]string{"t.hcl:4:31: error: Unescaped %{ in a string", `"%%{INT:status}"`}},
		{"grok unclosed, cascades hidden", "  parse \"grok\" { pattern = \"%{INT:n\" }\n  where = \"n > 1\"",
			[]string{"Unescaped %{ in a string", "not shown"}},
		{"grok unclosed reference", `  parse "grok" { pattern = "%%{INT:n x" }`,
			[]string{"t.hcl:4:28: error: Invalid grok pattern", `unterminated reference "%{INT:n x"`}},
		{"unclosed group", `  parse "regex" { pattern = "^(?P<n>\\d+" }`,
			[]string{"t.hcl:4:29: error: Invalid regular expression", "is never closed", "heredoc"}},
		{"lookahead", `  parse "regex" { pattern = "a(?=b)" }`,
			[]string{"is a lookaround, which RE2", `parse "grok"`}},
		{"backwards range", `  parse "regex" { pattern = "[z-a]" }`, []string{"`z-a` runs backwards"}},
		{"nested repeat", `  parse "regex" { pattern = "a**" }`, []string{`repeats a repetition`}},
		{"unknown grok name", `  parse "grok" { pattern = "%%{SYSLOGBAS}" }`,
			[]string{"t.hcl:4:28: error: Invalid grok pattern", "Did you mean SYSLOGBASE,"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, out := loadString(t, pipeline(c.body))
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, out)
				}
			}
			if c.name == "grok unclosed, cascades hidden" && strings.Contains(out, "Invalid multi-line string") {
				t.Errorf("follow-on errors shown:\n%s", out)
			}
			if strings.Count(out, "Did you mean") > 1 || len(out) > 3000 {
				t.Errorf("diagnostic too long (%d bytes):\n%s", len(out), out)
			}
		})
	}
}

// A regex in a heredoc keeps its backslashes, and the heredoc's last line
// end is not part of the pattern.
func TestHeredocPattern(t *testing.T) {
	res, out := loadString(t, pipeline("  parse \"regex\" {\n    pattern = <<-EOT\n      ^(?P<n>\\d+) (?P<w>\\w+)$\n    EOT\n  }"))
	if out != "" {
		t.Fatal(out)
	}
	recs, dead := runTransform(t, component(t, res, "transform.t"), []string{"12 abc"})
	if len(dead) != 0 || len(recs) != 1 {
		t.Fatalf("records %d, dead letters %d", len(recs), len(dead))
	}
	if f := recs[0].MaterializeFields(); f["n"] != "12" || f["w"] != "abc" {
		t.Fatalf("fields %v", f)
	}
}

func component(t *testing.T, res *config.Result, id string) *config.Component {
	t.Helper()
	for _, c := range res.Components {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no component %s", id)
	return nil
}

// octoagent test runs chains of transforms, checks time, kind, several
// records from one line, dead letters by field and component, and prints a
// field-by-field diff on failure.
func TestRuleTestChains(t *testing.T) {
	ruleTestGolden(t, "chain_tests", 2, 1)
}
