package main

import (
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

// TestUnknownTypeListsEveryType checks that the hint of an unknown source,
// transform or sink type lists every type octoagent links, not a fixed
// subset: a user who mistypes "kafka" learns that it exists.
func TestUnknownTypeListsEveryType(t *testing.T) {
	reg := components()
	for _, kind := range []agent.Kind{agent.KindSource, agent.KindTransform, agent.KindSink} {
		src := string(kind) + ` "nosuchtype" "x" {}` + "\n"
		if kind != agent.KindSource {
			src = string(kind) + ` "nosuchtype" "x" { inputs = [] }` + "\n"
		}
		_, diags := config.LoadSources([]config.Source{{Name: "t.hcl", Data: []byte(src)}}, reg)
		var hint string
		for _, d := range diags {
			if strings.HasPrefix(d.Summary, "Unknown "+string(kind)+" type") {
				hint = d.Detail
				if d.Subject == nil || d.Subject.Start.Line != 1 || d.Subject.Start.Column <= 1 {
					t.Errorf("%s: diagnostic at %v, want the type label on line 1", kind, d.Subject)
				}
			}
		}
		if hint == "" {
			t.Fatalf("%s: no unknown-type diagnostic in %v", kind, diags)
		}
		types := reg.Types(kind)
		if len(types) == 0 {
			t.Fatalf("no %s types registered", kind)
		}
		want := "Known " + string(kind) + " types: " + strings.Join(types, ", ") + "."
		if !strings.Contains(hint, want) {
			t.Errorf("%s hint = %q, want it to contain %q", kind, hint, want)
		}
	}
}
