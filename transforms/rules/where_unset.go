package rules

import (
	"sort"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/octostore/agent/agent"
)

// A where condition that reads a field the record does not have (or has
// as null) is false: the record is dropped, as when the condition is
// false, not dead-lettered. `status >= 400` keeps no record without a
// status, and `status == nil || status < 400` keeps them. Only an error on
// fields that are all set (comparing a string with a number) dead-letters
// the record, with reason where_error.

// readFields lists the top-level names an expression reads.
func readFields(p *vm.Program) []string {
	v := &identVisitor{seen: map[string]bool{}}
	node := p.Node()
	ast.Walk(&node, v)
	sort.Strings(v.names)
	return v.names
}

type identVisitor struct {
	seen  map[string]bool
	names []string
}

func (v *identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && !v.seen[id.Value] {
		v.seen[id.Value] = true
		v.names = append(v.names, id.Value)
	}
}

// anyUnset says whether one of the names is not set in r, or null.
func anyUnset(r *agent.Record, names []string) bool {
	for _, n := range names {
		if v, ok := r.Get(n); !ok || v == nil {
			return true
		}
	}
	return false
}
