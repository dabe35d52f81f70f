package main

import (
	"fmt"
	"sort"
	"strings"
)

// caseResult is one (pattern, mode, line) as our grok ran it, and what the
// specs expect of it.
type caseResult struct {
	file, set, mode string
	expr, line      string
	fields          map[string]any // the Logstash event: message, captures, tags
	matched         bool
	err             string // a dead letter's reason other than no_match

	shouldMatch, shouldNot bool
	leaves                 map[string]*leaf
}

type leaf struct {
	path     string
	expected any
	got      any
	present  bool
	equal    bool
	specLine int
}

// tally counts per set and per file.
type tally struct {
	cases    []*caseResult
	other    func(c *caseResult, ok bool)
	otherN   map[string][2]int // set -> ok, total
	failed   []string
	examples int
	pending  int
	// expectations counts the expect/should statements run
	expectations int
	unread       []unread
	fileLine     string
}

type unread struct {
	file string
	line int
	set  string
	why  string
}

func newTally() *tally {
	t := &tally{otherN: map[string][2]int{}}
	t.other = func(c *caseResult, ok bool) {
		set := "(none)"
		if c != nil {
			set = c.set
		}
		n := t.otherN[set]
		n[1]++
		if ok {
			n[0]++
		}
		t.otherN[set] = n
	}
	return t
}

func (in *interp) check(actual any, m *matcher, positive bool, ex *exCtx, at node) {
	in.tally.expectations++
	c := caseOf(actual)
	switch m.name {
	case "pass":
		ev, ok := actual.(*event)
		if !ok || ev.c == nil {
			fail(at, "pass on a %T", actual)
		}
		in.matchCheck(ev.c, positive, at)
		return
	case "match":
		label, ok := unwrap(actual).(string)
		if !ok || len(m.args) != 1 {
			fail(at, "match on a %T", actual)
		}
		ev := in.grokMatch(label, m.args[0], false, ex, at)
		in.matchCheck(ev.c, positive, at)
		return
	case "include":
		for _, a := range m.args {
			in.include(actual, a, positive, at)
		}
		return
	case "eq", "eql", "equal", "be":
		if len(m.args) != 1 {
			fail(at, "%s with %d arguments", m.name, len(m.args))
		}
		// the event's own message (the line) is not a capture
		if ref, ok := actual.(*fieldRef); ok && positive && m.args[0] != nil && !(len(ref.path) == 1 && ref.path[0] == "message" && m.args[0] == ref.c.line) {
			in.leaves(ref.c, ref.path, m.args[0], ref.v, ref.v != nil, at)
			return
		}
		in.other(c, equal(m.args[0], actual) == positive, at)
		return
	case "be_nil":
		in.other(c, (unwrap(actual) == nil) == positive, at)
		return
	case "be_truthy", "be_falsey":
		in.other(c, truthy(actual) == (positive == (m.name == "be_truthy")), at)
		return
	case "start_with", "end_with":
		s, _ := unwrap(actual).(string)
		w := toS(m.args[0])
		ok := strings.HasPrefix(s, w)
		if m.name == "end_with" {
			ok = strings.HasSuffix(s, w)
		}
		in.other(c, ok == positive, at)
		return
	case "be_a", "be_an", "be_kind_of":
		want := toS(m.args[0])
		is := map[string]bool{"Array": false, "Hash": false, "String": false, "Integer": false, "Float": false}
		switch unwrap(actual).(type) {
		case []any:
			is["Array"] = true
		case map[string]any, *rhash:
			is["Hash"] = true
		case string:
			is["String"] = true
		case int64:
			is["Integer"] = true
		case float64:
			is["Float"] = true
		}
		if ref, ok := actual.(*fieldRef); ok && positive && want != "Hash" && want != "Array" {
			// a typed capture: its type is what is expected of it
			in.leaves(ref.c, ref.path, typeOf(want), typeName(ref.v), ref.v != nil, at)
			return
		}
		in.other(c, is[want] == positive, at)
		return
	case "have_key":
		_, ok := lookup(actual, toS(m.args[0]))
		in.other(c, ok == positive, at)
		return
	}
	fail(at, "matcher %s", m.name)
}

func caseOf(v any) *caseResult {
	switch x := v.(type) {
	case *event:
		return x.c
	case *fieldRef:
		return x.c
	}
	return nil
}

func lookup(actual any, k string) (any, bool) {
	switch x := actual.(type) {
	case *event:
		v, ok := x.fields[k]
		return v, ok
	case *fieldRef:
		return lookup(x.v, k)
	case map[string]any:
		v, ok := x[k]
		return v, ok
	case *rhash:
		return x.get(k)
	}
	return nil, false
}

func (in *interp) matchCheck(c *caseResult, positive bool, at node) {
	if positive {
		c.shouldMatch = true
	} else {
		c.shouldNot = true
	}
	in.other(c, c.matched == positive, at)
}

// include is RSpec's include matcher.
func (in *interp) include(actual, want any, positive bool, at node) {
	c := caseOf(actual)
	var base []string
	var v any
	switch x := actual.(type) {
	case *event:
		v = x.fields
	case *fieldRef:
		base, v = x.path, x.v
	default:
		v = x
	}
	switch w := want.(type) {
	case *rhash:
		if _, ok := v.(map[string]any); !ok && c != nil && v != nil {
			fail(at, "include of a hash in a %T", v)
		}
		for _, k := range w.keys {
			ks, ok := k.(string)
			if !ok {
				fail(at, "key %v", k)
			}
			got, present := lookup(v, ks)
			if !positive {
				in.other(c, !(present && equal(w.vals[k], got)), at)
				continue
			}
			if c == nil {
				in.other(nil, present && equal(w.vals[k], got), at)
				continue
			}
			in.leaves(c, append(append([]string{}, base...), ks), w.vals[k], got, present, at)
		}
	default:
		ws := unwrap(w)
		var ok bool
		switch a := unwrap(v).(type) {
		case map[string]any:
			_, ok = a[toS(ws)]
			if c != nil && len(base) == 0 && ws == "tags" && !positive {
				// to_not include("tags"): no _grokparsefailure, a match
				in.matchCheck(c, true, at)
				return
			}
		case []any:
			for _, e := range a {
				if equal(ws, e) {
					ok = true
				}
			}
			if c != nil && len(base) == 1 && base[0] == "tags" && ws == "_grokparsefailure" {
				in.matchCheck(c, !positive, at)
				return
			}
		case string:
			ok = strings.Contains(a, toS(ws))
		case nil:
			fail(at, "include on nil")
		default:
			fail(at, "include on a %T", a)
		}
		in.other(c, ok == positive, at)
	}
}

// leaves records the expected captures under path: one per leaf of a
// nested hash; an exact nested hash also checks that nothing else is
// there.
func (in *interp) leaves(c *caseResult, path []string, expected, got any, present bool, at node) {
	if len(path) == 1 && path[0] == "tags" {
		in.matchCheck(c, false, at)
		return
	}
	var h *rhash
	exact := false
	switch e := expected.(type) {
	case *rhash:
		h, exact = e, true
	case *hashIncluding:
		h = e.h
	}
	if h != nil {
		m, _ := unwrap(got).(map[string]any)
		for _, k := range h.keys {
			ks := toS(k)
			gv, ok := m[ks]
			in.leaves(c, append(append([]string{}, path...), ks), h.vals[k], gv, ok, at)
		}
		if exact && m != nil {
			in.other(c, len(m) == len(h.keys), at)
		}
		return
	}
	c.shouldMatch = true
	p := strings.Join(path, ".")
	key := p + "\x00" + inspect(expected)
	if c.leaves == nil {
		c.leaves = map[string]*leaf{}
	}
	if _, dup := c.leaves[key]; dup {
		return
	}
	c.leaves[key] = &leaf{path: p, expected: expected, got: unwrap(got), present: present, equal: present && equal(expected, got), specLine: at.pos()}
}

// other counts a check that is not a capture; a failed one is listed
// with -v.
func (in *interp) other(c *caseResult, ok bool, at node) {
	in.tally.other(c, ok)
	if !ok {
		line := 0
		if at != nil {
			line = at.pos()
		}
		set, expr, text := "", "", ""
		if c != nil {
			set, expr, text = c.set, c.expr, c.line
		}
		in.tally.failed = append(in.tally.failed, fmt.Sprintf("CHECK FAILED %s:%d (%s) %s %q", in.file, line, set, expr, text))
	}
}

// Summaries.

type row struct {
	shouldMatch, matched       int
	shouldNot, notMatched      int
	captures, equal            int
	otherOK, other, unreadRows int
}

func (t *tally) rows() (map[string]*row, map[string]map[string]*row) {
	bySet := map[string]*row{}
	byFile := map[string]map[string]*row{}
	get := func(set, file string) (*row, *row) {
		if bySet[set] == nil {
			bySet[set] = &row{}
		}
		if byFile[set] == nil {
			byFile[set] = map[string]*row{}
		}
		if byFile[set][file] == nil {
			byFile[set][file] = &row{}
		}
		return bySet[set], byFile[set][file]
	}
	for _, c := range t.cases {
		a, b := get(c.set, c.file)
		for _, r := range []*row{a, b} {
			if c.shouldMatch {
				r.shouldMatch++
				if c.matched {
					r.matched++
				}
			} else if c.shouldNot {
				r.shouldNot++
				if !c.matched {
					r.notMatched++
				}
			}
			for _, l := range c.leaves {
				r.captures++
				if l.equal {
					r.equal++
				}
			}
		}
	}
	for set, n := range t.otherN {
		if bySet[set] == nil {
			bySet[set] = &row{}
		}
		bySet[set].otherOK, bySet[set].other = n[0], n[1]
	}
	for _, u := range t.unread {
		a, b := get(u.set, u.file)
		a.unreadRows++
		b.unreadRows++
	}
	return bySet, byFile
}

func pct(a, b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

func (t *tally) print(w *strings.Builder, perFile bool) {
	bySet, byFile := t.rows()
	sets := []string{"legacy", "ecs-v1"}
	fmt.Fprintf(w, "| set | lines that should match | matched | expected captures equal | lines that should not match | not matched | other checks passed | examples not read |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	for _, s := range sets {
		r := bySet[s]
		if r == nil {
			r = &row{}
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d of %d (%s) | %d | %d | %d of %d | %d |\n", s, r.shouldMatch, r.matched, r.equal, r.captures, pct(r.equal, r.captures), r.shouldNot, r.notMatched, r.otherOK, r.other, r.unreadRows)
	}
	if !perFile {
		return
	}
	for _, s := range sets {
		fmt.Fprintf(w, "\n%s, per spec file:\n\n| file | should match | matched | captures equal | should not match | not matched | not read |\n|---|---|---|---|---|---|---|\n", s)
		var files []string
		for f := range byFile[s] {
			files = append(files, f)
		}
		sort.Strings(files)
		for _, f := range files {
			r := byFile[s][f]
			fmt.Fprintf(w, "| %s | %d | %d | %d of %d (%s) | %d | %d | %d |\n", f, r.shouldMatch, r.matched, r.equal, r.captures, pct(r.equal, r.captures), r.shouldNot, r.notMatched, r.unreadRows)
		}
	}
}

type typeOf string

func typeName(v any) typeOf {
	switch unwrap(v).(type) {
	case string:
		return "String"
	case int64:
		return "Integer"
	case float64:
		return "Float"
	}
	return "?"
}
