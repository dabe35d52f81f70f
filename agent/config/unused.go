package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WithoutUnused leaves out the warnings about unused sources and
// transforms: a rule pack tested alone (octoagent test) or tried in the
// playground has no sinks.
func WithoutUnused(diags hcl.Diagnostics) hcl.Diagnostics {
	out := diags[:0:0]
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning && strings.HasPrefix(d.Summary, "Unused ") {
			continue
		}
		out = append(out, d)
	}
	return out
}
