package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func (l *loader) errorf(subject hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(detail, args...), Subject: subject.Ptr()})
}

func (l *loader) warnf(subject hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary,
		Detail: fmt.Sprintf(detail, args...), Subject: subject.Ptr()})
}

// attrRange finds the value of an attribute ("paths", or "buffer.max_records"
// inside a nested block) in a native-syntax body; fallback otherwise.
func attrRange(body hcl.Body, name string, fallback hcl.Range) hcl.Range {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return fallback
	}
	parts := strings.Split(name, ".")
	for len(parts) > 1 {
		found := false
		for _, b := range sb.Blocks {
			if b.Type == parts[0] {
				sb, parts, found = b.Body, parts[1:], true
				break
			}
		}
		if !found {
			return fallback
		}
	}
	if a, ok := sb.Attributes[parts[0]]; ok {
		return a.Expr.Range()
	}
	return fallback
}

func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// dropUnknownCascade removes the "value must be known" errors gohcl adds
// when an expression failed to evaluate (env() of an unset variable, file()
// of a missing file): that failure is already reported, at the call.
func dropUnknownCascade(d hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, x := range d {
		if x.Severity == hcl.DiagError && x.Summary == "Unsuitable value type" && x.Detail == "Unsuitable value: value must be known" {
			continue
		}
		out = append(out, x)
	}
	if d.HasErrors() && !out.HasErrors() {
		return d // never turn a failure into a success
	}
	return out
}
