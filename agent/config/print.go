package config

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
)

// WriteDiagnostics prints diagnostics as
//
//	file.hcl:3:8: error: Unknown source type "fiel"
//	    3 | source "fiel" "nginx" {
//	      |        ^^^^^^
//	  hint: Did you mean "file"? Known source types: file, kafka, kubernetes_events, kubernetes_logs, stdin.
//
// with the position first, so editors and CI logs link to it.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		where := "octoagent"
		if d.Subject != nil {
			where = fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		fmt.Fprintf(w, "%s: %s: %s\n", where, sev, d.Summary)
		if d.Subject != nil {
			if f, ok := files[d.Subject.Filename]; ok && f != nil {
				writeSnippet(w, f.Bytes, *d.Subject)
			}
		}
		if d.Detail != "" {
			fmt.Fprintf(w, "  hint: %s\n", strings.ReplaceAll(d.Detail, "\n", "\n        "))
		}
	}
}

func writeSnippet(w io.Writer, src []byte, r hcl.Range) {
	lines := strings.Split(string(src), "\n")
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	line := strings.TrimRight(lines[r.Start.Line-1], "\r")
	num := fmt.Sprintf("%d", r.Start.Line)
	pad := strings.Repeat(" ", len(num))
	// Columns count characters; slice the line with byte offsets.
	lineStart := 0
	for _, l := range lines[:r.Start.Line-1] {
		lineStart += len(l) + 1
	}
	start := min(max(r.Start.Byte-lineStart, 0), len(line))
	end := len(line)
	if r.End.Line == r.Start.Line {
		end = r.End.Byte - lineStart
	}
	end = min(max(end, start), len(line))
	line, start, end = unmask(line, start, end)
	fmt.Fprintf(w, "  %s | %s\n", num, line)
	width := max(utf8.RuneCountInString(line[start:end]), 1)
	// Keep tabs so the caret lines up under them.
	prefix := []rune(line[:start])
	for i, c := range prefix {
		if c != '\t' {
			prefix[i] = ' '
		}
	}
	fmt.Fprintf(w, "  %s | %s%s\n", pad, string(prefix), strings.Repeat("^", width))
}

// Summary describes a valid graph in one line: its counts and its edges.
func Summary(g agent.Graph) string {
	counts := map[agent.Kind]int{}
	var edges []string
	for _, n := range g.Nodes {
		counts[n.Kind]++
		for _, in := range n.Inputs {
			edges = append(edges, in+" → "+n.ID)
		}
	}
	plural := func(n int, s string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, s)
		}
		return fmt.Sprintf("%d %ss", n, s)
	}
	out := fmt.Sprintf("valid: %s, %s, %s; %s", plural(counts[agent.KindSource], "source"),
		plural(counts[agent.KindTransform], "transform"), plural(counts[agent.KindSink], "sink"), strings.Join(edges, ", "))
	// Components may say how they will run (a grok pattern's engine).
	for _, n := range g.Nodes {
		if c, ok := n.Config.(interface{ Notes() []string }); ok {
			for _, note := range c.Notes() {
				out += "\n  " + n.ID + ": " + note
			}
		}
	}
	return out
}

// unmask prints each masked run of line (a secret's value, see redact.go)
// as [REDACTED], and moves the byte offsets start and end with the text.
func unmask(line string, start, end int) (string, int, int) {
	if !strings.ContainsRune(line, mask) {
		return line, start, end
	}
	var b strings.Builder
	ns, ne := -1, -1
	for i := 0; i < len(line); {
		if i == start {
			ns = b.Len()
		}
		if i == end {
			ne = b.Len()
		}
		if line[i] != mask {
			b.WriteByte(line[i])
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] == mask {
			j++
		}
		if start > i && start < j {
			ns = b.Len()
		}
		b.WriteString(agent.Redacted)
		if end > i && end < j {
			ne = b.Len()
		}
		i = j
	}
	if ns < 0 {
		ns = b.Len()
	}
	if ne < 0 {
		ne = b.Len()
	}
	return b.String(), ns, max(ne, ns)
}
