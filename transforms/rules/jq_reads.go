package rules

import (
	"slices"

	"github.com/itchyny/gojq"
)

// jqReads is what a jq query reads of its input (the record's fields),
// found once when the step loads by walking the query's syntax tree:
// the top-level keys it indexes by a constant name (.a, .a.b, .["a"],
// {a}, has("a")). The step then hands the query an object of those keys
// alone, which it cannot tell from the whole record: it never sees the
// input as a value, so the keys it does not name cannot change what it
// computes. whole is set when the query may observe the input otherwise
// (., .[], keys, to_entries, tojson, .. , an assignment to the input, a
// computed key, a variable bound to the input, a function of its own, a
// builtin given the input), and the step then converts the whole record.
//
// The one use of the input as a value that is allowed is output: a query
// may output its input unchanged (select(.status >= 500), if ... then .
// else ... end). mayOutput says so, and the step recognises that output
// (the very object it passed in) and stands the whole record in for it.
type jqReads struct {
	keys      []string // sorted, unique
	whole     bool
	mayOutput bool
}

// analyseJQ finds what q reads of its input.
func analyseJQ(q *gojq.Query) jqReads {
	a := &jqAnalysis{}
	out := a.query(q, true)
	if a.whole {
		return jqReads{whole: true}
	}
	slices.Sort(a.keys)
	return jqReads{keys: slices.Compact(a.keys), mayOutput: out}
}

type jqAnalysis struct {
	keys  []string
	whole bool
}

// query walks q, run on the record (root) or on another value, and
// returns whether its outputs may be the record itself.
func (a *jqAnalysis) query(q *gojq.Query, root bool) bool {
	if q == nil || !root || a.whole {
		// On a value other than the record, a query cannot reach the
		// record: no variable holds it (binding it makes the query whole)
		// and no function of the query's own is defined where it runs.
		return false
	}
	if q.Meta != nil || len(q.Imports) > 0 || len(q.FuncDefs) > 0 {
		a.whole = true
		return false
	}
	if q.Term != nil {
		return a.term(q.Term)
	}
	switch q.Op {
	case gojq.OpPipe:
		if len(q.Patterns) > 0 {
			// E as $x | F: F runs on the same input, $x must not hold it.
			if len(q.Patterns) != 1 || q.Patterns[0].Name == "" || a.query(q.Left, true) {
				a.whole = true
				return false
			}
			return a.query(q.Right, true)
		}
		return a.query(q.Right, a.query(q.Left, true))
	case gojq.OpComma, gojq.OpAlt:
		// Both sides' outputs are outputs; // reads the left's only for
		// truth, and the record (an object) is always true.
		l := a.query(q.Left, true)
		return a.query(q.Right, true) || l
	case gojq.OpAnd, gojq.OpOr:
		a.query(q.Left, true) // read for truth only
		a.query(q.Right, true)
		return false
	case gojq.OpAdd, gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod,
		gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe:
		a.value(q.Left)
		a.value(q.Right)
		return false
	}
	// Assignments (=, |=, +=, ...) output the record changed.
	a.whole = true
	return false
}

// value walks a query whose outputs are used as values (compared, added,
// stored in an object): the record must not be one of them.
func (a *jqAnalysis) value(q *gojq.Query) {
	if a.query(q, true) {
		a.whole = true
	}
}

// constKey returns the key of an index by a constant string (.a, ."a",
// .["a"]).
func constKey(ix *gojq.Index) (string, bool) {
	switch {
	case ix.IsSlice || ix.End != nil:
		return "", false
	case ix.Name != "":
		return ix.Name, true
	case ix.Str != nil:
		return ix.Str.Str, ix.Str.Queries == nil
	case ix.Start != nil:
		if t := ix.Start.Term; t != nil && t.Type == gojq.TermTypeString && len(t.SuffixList) == 0 &&
			t.Str.Queries == nil && len(ix.Start.FuncDefs) == 0 {
			return t.Str.Str, true
		}
	}
	return "", false
}

// index walks the queries inside an index (.[E], .[E:F], ."\(E)"), which
// run on the input of the term the index belongs to: the record.
func (a *jqAnalysis) index(ix *gojq.Index) {
	if ix.Str != nil {
		a.str(ix.Str)
	}
	a.value(ix.Start)
	a.value(ix.End)
}

func (a *jqAnalysis) str(s *gojq.String) {
	for _, q := range s.Queries {
		a.value(q)
	}
}

// term walks a term run on the record, and returns whether it may output
// the record.
func (a *jqAnalysis) term(t *gojq.Term) bool {
	out := false
	switch t.Type {
	case gojq.TermTypeIdentity:
		out = true
	case gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse, gojq.TermTypeNumber, gojq.TermTypeBreak:
	case gojq.TermTypeIndex:
		k, ok := constKey(t.Index)
		if !ok {
			a.whole = true
			return false
		}
		a.keys = append(a.keys, k)
	case gojq.TermTypeFunc:
		out = a.fn(t.Func)
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			a.objectEntry(kv)
		}
	case gojq.TermTypeArray:
		a.value(t.Array.Query)
	case gojq.TermTypeUnary:
		if a.term(t.Unary.Term) {
			a.whole = true
		}
	case gojq.TermTypeFormat:
		if t.Str == nil { // @base64 alone formats the input
			a.whole = true
			return false
		}
		a.str(t.Str)
	case gojq.TermTypeString:
		a.str(t.Str)
	case gojq.TermTypeIf:
		a.query(t.If.Cond, true) // read for truth only
		out = a.query(t.If.Then, true)
		for _, e := range t.If.Elif {
			a.query(e.Cond, true)
			out = a.query(e.Then, true) || out
		}
		if t.If.Else == nil {
			out = true // if without else outputs its input
		} else {
			out = a.query(t.If.Else, true) || out
		}
	case gojq.TermTypeTry:
		// The catch runs on the error's message, which holds no record:
		// every error that could show the record makes the query whole.
		out = a.query(t.Try.Body, true)
	case gojq.TermTypeReduce:
		a.fold(t.Reduce.Query, t.Reduce.Patterns, t.Reduce.Start)
	case gojq.TermTypeForeach:
		a.fold(t.Foreach.Query, t.Foreach.Patterns, t.Foreach.Start)
	case gojq.TermTypeLabel:
		out = a.query(t.Label.Body, true)
	case gojq.TermTypeQuery:
		out = a.query(t.Query, true)
	default: // .. and anything new
		a.whole = true
		return false
	}
	for _, s := range t.SuffixList {
		switch {
		case s.Index != nil:
			if out {
				k, ok := constKey(s.Index)
				if !ok {
					a.whole = true
					return false
				}
				a.keys = append(a.keys, k)
			} else {
				a.index(s.Index)
			}
			out = false
		case s.Iter:
			if out {
				a.whole = true
				return false
			}
		}
	}
	return out
}

// fold walks reduce and foreach: the source and the start run on the
// record and must not output it; the update and extract run on the state.
func (a *jqAnalysis) fold(src *gojq.Query, pats []*gojq.Pattern, start *gojq.Query) {
	if len(pats) != 1 || pats[0].Name == "" {
		a.whole = true
		return
	}
	a.value(src)
	a.value(start)
}

func (a *jqAnalysis) objectEntry(kv *gojq.ObjectKeyVal) {
	switch {
	case kv.KeyQuery != nil:
		a.value(kv.KeyQuery)
	case kv.KeyString != nil:
		a.str(kv.KeyString)
	}
	if kv.Val != nil {
		a.value(kv.Val)
		return
	}
	switch {
	case kv.Key != "" && kv.Key[0] == '$': // {$x}
	case kv.Key != "" && kv.Key[0] != '@': // {a} is {a: .a}
		a.keys = append(a.keys, kv.Key)
	case kv.KeyString != nil && kv.KeyString.Queries == nil: // {"a"}
		a.keys = append(a.keys, kv.KeyString.Str)
	default: // {"\(E)"} indexes the record by a computed key
		a.whole = true
	}
}

// fn walks a function call run on the record: only those that never look
// at their input (or only at its truth, or at one named key) are allowed.
func (a *jqAnalysis) fn(f *gojq.Func) bool {
	if f.Name != "" && f.Name[0] == '$' {
		return false // a variable; none holds the record
	}
	switch len(f.Args) {
	case 0:
		switch f.Name {
		case "empty", "not", "now", "env", "input_line_number", "halt", "infinite", "nan",
			"builtins", "input_filename":
			return false
		}
	case 1:
		switch f.Name {
		case "select":
			a.query(f.Args[0], true) // read for truth only
			return true
		case "error":
			a.value(f.Args[0])
			return false
		case "has":
			if t := f.Args[0].Term; t != nil && t.Type == gojq.TermTypeString && t.Str.Queries == nil &&
				len(t.SuffixList) == 0 && len(f.Args[0].FuncDefs) == 0 {
				a.keys = append(a.keys, t.Str.Str)
				return false
			}
		}
	}
	a.whole = true
	return false
}
