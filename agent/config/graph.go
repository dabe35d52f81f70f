package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
)

// Checks across blocks: inputs and tests' transforms resolve, no cycles, no
// unused outputs, no resource claimed twice.

// outputs lists every output a component can be fed from.
func (l *loader) outputs() []string {
	var out []string
	for _, c := range l.comps {
		if c.Kind != agent.KindSink {
			out = append(out, c.ID)
		}
		out = append(out, c.ID+"."+agent.DeadLetterPort)
	}
	return out
}

func (l *loader) resolveInputs() {
	valid := map[string]bool{}
	outs := l.outputs()
	for _, o := range outs {
		valid[o] = true
	}
	for _, c := range l.comps {
		for _, in := range c.Inputs {
			if valid[in.ID] {
				if in.ID == c.ID || in.ID == c.ID+"."+agent.DeadLetterPort {
					l.errorf(in.Range, "Component reads its own output", "%s cannot be an input of itself.", in.ID)
				}
				continue
			}
			if p, ok := l.byID[in.ID]; ok && p.Kind == agent.KindSink {
				l.errorf(in.Range, "A sink is not an input", "%s writes records out and has no output of its own. Did you mean %s.dead_letter, the records it rejected?", in.ID, in.ID)
				continue
			}
			if pid, _ := agent.SplitOutputID(in.ID); l.broken[pid] || l.broken[in.ID] {
				continue // the block itself is already reported
			}
			l.errorf(in.Range, fmt.Sprintf("Unknown reference %s", in.ID), "%s", decode.DidYouMean(in.ID, outs, "outputs"))
		}
	}
}

// checkCycles reports each cycle once, at the inputs of one of its members.
func (l *loader) checkCycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(c *Component)
	visit = func(c *Component) {
		color[c.ID] = grey
		stack = append(stack, c.ID)
		for _, in := range c.Inputs {
			pid, port := agent.SplitOutputID(in.ID)
			p, ok := l.byID[pid]
			if !ok || pid == c.ID || (p.Kind == agent.KindSink && port == "") {
				continue
			}
			switch color[pid] {
			case white:
				visit(p)
			case grey:
				i := len(stack) - 1
				for i > 0 && stack[i] != pid {
					i--
				}
				cycle := append(append([]string(nil), stack[i:]...), pid)
				l.errorf(in.Range, "Cycle in the component graph",
					"The inputs form a loop: %s. Records would circle forever; break the loop by removing one of these inputs.",
					strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[c.ID] = black
	}
	for _, c := range l.comps {
		if color[c.ID] == white {
			visit(c)
		}
	}
}

func (l *loader) checkUnused() {
	if l.inputsIncomplete {
		return
	}
	used := map[string]bool{}
	for _, c := range l.comps {
		for _, in := range c.Inputs {
			id, _ := agent.SplitOutputID(in.ID)
			used[id] = true
		}
	}
	for _, c := range l.comps {
		if c.Kind != agent.KindSink && !used[c.ID] {
			l.warnf(c.DefRange, "Unused "+string(c.Kind),
				"No transform or sink reads %s, so its records are counted and dropped. Add it to the inputs of a sink.", c.ID)
		}
	}
}

func (l *loader) checkClaims() {
	owner := map[string]*Component{}
	for _, c := range l.comps {
		if c.Config == nil {
			continue
		}
		for _, r := range c.Factory.Claims(c.Config) {
			if prev, ok := owner[r]; ok {
				l.errorf(c.DefRange, "Resource claimed twice",
					"%s and %s (at %s) both claim %s. Two components cannot own one resource; give each its own.", c.ID, prev.ID, pos(prev.DefRange), r)
				continue
			}
			owner[r] = c
		}
	}
}

// resolveTests checks each test's `transform = transform.NAME` reference.
func (l *loader) resolveTests(tests []*Test) {
	seen := map[string]hcl.Range{}
	for _, t := range tests {
		if prev, dup := seen[t.Name]; dup {
			l.errorf(t.DefRange, "Duplicate test "+t.Name, "Test %q was already defined at %s.", t.Name, pos(prev))
		}
		seen[t.Name] = t.DefRange
		content, _, d := t.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "transform", Required: true}}})
		l.diags = append(l.diags, d...)
		a, ok := content.Attributes["transform"]
		if !ok {
			continue
		}
		tr, d := hcl.AbsTraversalForExpr(a.Expr)
		if d.HasErrors() || len(tr) != 2 || tr.RootName() != "transform" {
			l.errorf(a.Expr.Range(), "Invalid transform reference", "Write transform = transform.NAME, without quotes.")
			continue
		}
		id := "transform." + tr[1].(hcl.TraverseAttr).Name
		if c, ok := l.byID[id]; !ok || c.Kind != agent.KindTransform {
			if l.broken[id] {
				continue
			}
			var names []string
			for _, c := range l.comps {
				if c.Kind == agent.KindTransform {
					names = append(names, c.ID)
				}
			}
			l.errorf(a.Expr.Range(), "Unknown transform "+id, "%s", decode.DidYouMean(id, names, "transforms"))
			continue
		}
		t.Transform = id
	}
}
