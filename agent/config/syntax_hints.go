package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// explainSyntax rewrites the HCL parser's diagnostics that patterns run
// into, in the terms of someone writing a regular expression or a grok
// pattern: a backslash escape HCL does not know (\d in a quoted string),
// and %{ (a template directive to HCL, a grok reference to the user). An
// unclosed %{ makes the parser report every later line as an "Invalid
// multi-line string"; those follow-on errors are left out.
func explainSyntax(src []byte, diags hcl.Diagnostics) hcl.Diagnostics {
	var template *hcl.Range // the first %{ problem: later cascades are dropped
	for _, d := range diags {
		if d.Subject != nil && isTemplateProblem(src, d) && template == nil {
			template = d.Subject
		}
	}
	out := diags[:0:0]
	hidden := 0
	for _, d := range diags {
		switch {
		case d.Subject == nil:
		case d.Summary == "Invalid escape sequence":
			c := *d
			c.Detail = escapeHint(src, d.Subject)
			d = &c
		case isTemplateProblem(src, d):
			if d.Subject != template {
				hidden++
				continue
			}
			c := *d
			c.Summary = "Unescaped %{ in a string"
			c.Detail = `In an HCL string, %{ starts a template directive (%{if ...}, %{for ...}), so a grok reference must be written with a doubled %: pattern = "%%{INT:status}" (also in a heredoc). Check that every %%{ has its closing }.`
			d = &c
		case template != nil && d.Subject.Filename == template.Filename && d.Subject.Start.Byte >= template.Start.Byte &&
			(d.Summary == "Invalid multi-line string" || d.Summary == "Unterminated template string" ||
				d.Summary == "Unexpected end of template" || d.Summary == "Unsupported argument"):
			hidden++
			continue
		}
		out = append(out, d)
	}
	if hidden > 0 && template != nil {
		for i, d := range out {
			if d.Subject == template {
				c := *d
				c.Detail += " (The errors this caused further down the file are not shown.)"
				out[i] = &c
			}
		}
	}
	return out
}

// isTemplateProblem says whether d is the parser tripping over a %{ that
// the user meant as a grok reference.
func isTemplateProblem(src []byte, d *hcl.Diagnostic) bool {
	switch d.Summary {
	case "Invalid template control keyword", "Unterminated template string", "Invalid template directive":
	default:
		return false
	}
	// The %{ is on the diagnostic's line, before its column.
	line := lineAt(src, d.Subject.Start.Byte)
	return strings.Contains(line, "%{")
}

func lineAt(src []byte, at int) string {
	if at > len(src) {
		at = len(src)
	}
	start := strings.LastIndexByte(string(src[:at]), '\n') + 1
	end := strings.IndexByte(string(src[at:]), '\n')
	if end < 0 {
		return string(src[start:])
	}
	return string(src[start : at+end])
}

func escapeHint(src []byte, r *hcl.Range) string {
	seq := `\?`
	if r.End.Byte <= len(src) && r.Start.Byte < r.End.Byte {
		seq = string(src[r.Start.Byte:r.End.Byte])
	}
	return seq + ` is not an escape HCL knows in a quoted string (it knows \n, \r, \t, \", \\ and \uNNNN). ` +
		`For a regular expression, write it in a heredoc, where a backslash is literal:` + "\n" +
		"  pattern = <<-EOT\n    ^(?P<id>\\d+) (?P<name>\\w+)$\n  EOT\n" +
		`or double each backslash in the quoted string: "` + strings.ReplaceAll(seq, `\`, `\\`) + `".`
}
