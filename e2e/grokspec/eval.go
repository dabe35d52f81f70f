package main

// An interpreter for the spec files: RSpec's example groups (describe,
// context, let, subject, it), the helpers of logstash-patterns-core's
// spec_helper.rb (describe_pattern, grok_match, build_grok, ...), and the
// matchers the specs use. Every expectation becomes a check on a case (a
// pattern, an ecs mode and a line) that the runner matched with our grok.

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

type sym string

// rhash is a Ruby hash: ordered keys.
type rhash struct {
	keys []any
	vals map[any]any
}

func newHash() *rhash { return &rhash{vals: map[any]any{}} }

func (h *rhash) set(k, v any) {
	k = hashKey(k)
	if _, ok := h.vals[k]; !ok {
		h.keys = append(h.keys, k)
	}
	h.vals[k] = v
}

func (h *rhash) get(k any) (any, bool) { v, ok := h.vals[hashKey(k)]; return v, ok }

func hashKey(k any) any {
	if f, ok := k.(*fieldRef); ok {
		return hashKey(f.v)
	}
	return k
}

type proc struct {
	blk   *blockNode
	scope *scope
	ex    *exCtx
	grp   *group // where a let was defined (for super)
	name  string
}

// hashIncluding is RSpec's hash_including matcher used as a value.
type hashIncluding struct{ h *rhash }

type matcher struct {
	name string
	args []any
}

// event is a Logstash event: the message and what grok set, with the case
// that produced it.
type event struct {
	fields map[string]any
	c      *caseResult
}

// grokFilter is LogStash::Filters::Grok.new(...): one pattern.
type grokFilter struct {
	pattern string
	mode    string
}

// fieldRef is a value read from an event, with its path: an expectation
// on it is an expected capture.
type fieldRef struct {
	c    *caseResult
	path []string
	v    any
}

type rangeVal struct{ lo, hi any }

type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) lookup(n string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[n]; ok {
			return v, true
		}
	}
	return nil, false
}

func (s *scope) assign(n string, v any) {
	for c := s; c != nil; c = c.parent {
		if _, ok := c.vars[n]; ok {
			c.vars[n] = v
			return
		}
	}
	s.vars[n] = v
}

// group is an RSpec example group.
type group struct {
	parent   *group
	desc     []any
	lets     map[string]*proc
	pattern  string // describe_pattern's name
	mode     string // "legacy", "ecs-v1" or "" (no mode: the plugin's default)
	modeSet  bool
	examples []*example
	children []*group
	line     int
}

type example struct {
	g       *group
	blk     *blockNode
	scope   *scope
	line    int
	pending bool
	desc    string
	shared  []any // include_examples 'top-level namespaces'
}

func (g *group) findLet(n string) (*proc, *group) {
	for c := g; c != nil; c = c.parent {
		if p, ok := c.lets[n]; ok {
			return p, c
		}
	}
	return nil, nil
}

func (g *group) getMode() (string, bool) {
	for c := g; c != nil; c = c.parent {
		if c.modeSet {
			return c.mode, true
		}
	}
	return "", false
}

func (g *group) describedPattern() (string, bool) {
	for c := g; c != nil; c = c.parent {
		if c.pattern != "" {
			return c.pattern, true
		}
	}
	return "", false
}

// exCtx is one example being run: its lets memoized.
type exCtx struct {
	g    *group
	memo map[string]any
	ex   *example
}

// interp holds what the files define and the runner.
type interp struct {
	file    string
	run     func(pattern, mode, line string) *caseResult
	top     *group
	consts  *scope
	tally   *tally
	shared  map[string]*proc
	evalErr func(ex *example, err error)
}

// errPending stops an example at RSpec's pending: what follows is a known
// failure of Logstash itself.
var errPending = &rbError{msg: "pending"}

type rbError struct {
	line int
	msg  string
}

func (e *rbError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func fail(n node, f string, a ...any) {
	line := 0
	if n != nil && !reflect.ValueOf(n).IsNil() {
		line = n.pos()
	}
	panic(&rbError{line, fmt.Sprintf(f, a...)})
}

// loadFile reads a spec file's groups (examples are run by runAll).
func (in *interp) loadFile(src string) error {
	nodes, err := parseRuby(src)
	if err != nil {
		return err
	}
	in.top = &group{lets: map[string]*proc{}}
	return catch(func() {
		in.body(nodes, in.consts, nil, in.top)
	})
}

func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*rbError)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	f()
	return nil
}

func (in *interp) body(nodes []node, sc *scope, ex *exCtx, g *group) any {
	var last any
	for _, n := range nodes {
		last = in.eval(n, sc, ex, g)
	}
	return last
}

// runAll runs every example of every group.
func (in *interp) runAll(g *group) {
	for _, e := range g.examples {
		if e.pending {
			in.tally.pending++
			continue
		}
		ex := &exCtx{g: e.g, memo: map[string]any{}, ex: e}
		err := catch(func() {
			if e.shared != nil {
				in.topLevelNamespaces(e, ex)
				return
			}
			in.body(e.blk.body, &scope{vars: map[string]any{}, parent: e.scope}, ex, e.g)
		})
		in.tally.examples++
		if err == errPending {
			in.tally.pending++
		} else if err != nil {
			in.evalErr(e, err)
		}
	}
	for _, c := range g.children {
		in.runAll(c)
	}
}

func (in *interp) topLevelNamespaces(e *example, ex *exCtx) {
	allowed, opts := e.shared[0], e.shared[1]
	if h, ok := opts.(*rhash); ok {
		if cond, ok := h.get(sym("if")); ok {
			if !truthy(in.callProc(cond.(*proc), nil, ex)) {
				return
			}
		}
	}
	ev, ok := in.name("subject", nil, ex, e.g, nil).(*event)
	if !ok {
		fail(nil, "top-level namespaces without an event subject")
	}
	list, _ := unwrap(allowed).([]any)
	okAll := true
	for k := range ev.fields {
		if k == "message" || k == "@timestamp" || k == "@version" {
			continue
		}
		found := false
		for _, a := range list {
			if a == k {
				found = true
			}
		}
		okAll = okAll && found
	}
	in.other(ev.c, okAll, &numNode{line: e.line})
}

func (in *interp) eval(n node, sc *scope, ex *exCtx, g *group) any {
	switch n := n.(type) {
	case *strNode:
		var sb strings.Builder
		for i, p := range n.parts {
			if n.exprs[i] != nil {
				sb.WriteString(toS(in.eval(n.exprs[i], sc, ex, g)))
			} else {
				sb.WriteString(p.lit)
			}
		}
		return sb.String()
	case *numNode:
		return n.v
	case *symNode:
		return sym(n.name)
	case *arrayNode:
		return in.values(n.elems, sc, ex, g)
	case *hashNode:
		h := newHash()
		for _, p := range n.pairs {
			h.set(unwrap(in.eval(p.k, sc, ex, g)), in.eval(p.v, sc, ex, g))
		}
		return h
	case *assignNode:
		v := in.eval(n.x, sc, ex, g)
		if n.name[0] >= 'A' && n.name[0] <= 'Z' {
			in.consts.vars[n.name] = v
		} else {
			sc.assign(n.name, v)
		}
		return v
	case *lambdaNode:
		return &proc{blk: n.blk, scope: sc, ex: ex, grp: g}
	case *ifNode:
		c := truthy(in.eval(n.cond, sc, ex, g))
		if n.negate {
			c = !c
		}
		if c {
			return in.body(n.then, sc, ex, g)
		}
		return in.body(n.els, sc, ex, g)
	case *unNode:
		v := in.eval(n.x, sc, ex, g)
		switch n.op {
		case "!":
			return !truthy(v)
		case "-":
			switch x := unwrap(v).(type) {
			case int64:
				return -x
			case float64:
				return -x
			}
		case "*":
			return toList(v, n)
		}
		fail(n, "cannot apply %s", n.op)
	case *binNode:
		return in.binary(n, sc, ex, g)
	case *indexNode:
		recv := in.eval(n.recv, sc, ex, g)
		var args []any
		for _, a := range n.args {
			args = append(args, in.eval(a, sc, ex, g))
		}
		return index(recv, args, n)
	case *callNode:
		return in.call(n, sc, ex, g)
	}
	fail(n, "cannot evaluate %T", n)
	return nil
}

func (in *interp) binary(n *binNode, sc *scope, ex *exCtx, g *group) any {
	l := in.eval(n.l, sc, ex, g)
	switch n.op {
	case "||":
		if truthy(l) {
			return l
		}
		return in.eval(n.r, sc, ex, g)
	case "&&":
		if !truthy(l) {
			return l
		}
		return in.eval(n.r, sc, ex, g)
	}
	r := in.eval(n.r, sc, ex, g)
	lu, ru := unwrap(l), unwrap(r)
	switch n.op {
	case "==":
		return equal(lu, ru)
	case "!=":
		return !equal(lu, ru)
	case "..":
		return &rangeVal{lu, ru}
	case "<", ">", "<=", ">=":
		a, ok1 := lu.(int64)
		b, ok2 := ru.(int64)
		if ok1 && ok2 {
			return map[string]bool{"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[n.op]
		}
	case "+":
		switch a := lu.(type) {
		case string:
			if b, ok := ru.(string); ok {
				return a + b
			}
		case int64:
			if b, ok := ru.(int64); ok {
				return a + b
			}
		case []any:
			if b, ok := ru.([]any); ok {
				return append(append([]any{}, a...), b...)
			}
		}
	case "-":
		switch a := lu.(type) {
		case int64:
			if b, ok := ru.(int64); ok {
				return a - b
			}
		case []any:
			if b, ok := ru.([]any); ok {
				var out []any
				for _, x := range a {
					keep := true
					for _, y := range b {
						if equal(x, y) {
							keep = false
						}
					}
					if keep {
						out = append(out, x)
					}
				}
				return out
			}
		}
	case "*":
		switch a := lu.(type) {
		case string:
			if b, ok := ru.(int64); ok {
				return strings.Repeat(a, int(b))
			}
		case int64:
			if b, ok := ru.(int64); ok {
				return a * b
			}
		}
	}
	fail(n, "cannot apply %s to %T and %T", n.op, lu, ru)
	return nil
}

func index(recv any, args []any, n node) any {
	if len(args) != 1 {
		fail(n, "index with %d arguments", len(args))
	}
	k := unwrap(args[0])
	switch r := recv.(type) {
	case *event:
		ks, _ := k.(string)
		v, ok := r.fields[ks]
		if !ok {
			v = nil
		}
		return &fieldRef{c: r.c, path: []string{ks}, v: v}
	case *fieldRef:
		switch v := r.v.(type) {
		case map[string]any:
			ks, _ := k.(string)
			return &fieldRef{c: r.c, path: append(append([]string{}, r.path...), ks), v: v[ks]}
		case []any:
			i, x := at(v, k, n)
			return &fieldRef{c: r.c, path: append(append([]string{}, r.path...), strconv.Itoa(i)), v: x}
		case nil:
			fail(n, "undefined method `[]' for nil")
		}
		return index(r.v, args, n)
	case *rhash:
		v, _ := r.get(k)
		return v
	case map[string]any:
		ks, _ := k.(string)
		return r[ks]
	case []any:
		_, x := at(r, k, n)
		return x
	case string:
		if i, ok := k.(int64); ok && int(i) < len(r) {
			return r[i : i+1]
		}
	case nil:
		fail(n, "undefined method `[]' for nil")
	}
	fail(n, "cannot index %T", recv)
	return nil
}

// at is Ruby's array[k]: negative from the end, nil past it.
func at(l []any, k any, n node) (int, any) {
	i, ok := k.(int64)
	if !ok {
		fail(n, "array index %T", k)
	}
	if i < 0 {
		i += int64(len(l))
	}
	if i >= 0 && int(i) < len(l) {
		return int(i), l[i]
	}
	return int(i), nil
}

func unwrap(v any) any {
	if f, ok := v.(*fieldRef); ok {
		return f.v
	}
	return v
}

func truthy(v any) bool {
	v = unwrap(v)
	return v != nil && v != false
}

func toList(v any, n node) []any {
	switch x := unwrap(v).(type) {
	case []any:
		return x
	case *rangeVal:
		var out []any
		switch lo := x.lo.(type) {
		case string:
			hi, _ := x.hi.(string)
			if len(lo) != 1 || len(hi) != 1 {
				fail(n, "string range")
			}
			for c := lo[0]; c <= hi[0]; c++ {
				out = append(out, string(c))
			}
		case int64:
			hi, _ := x.hi.(int64)
			for i := lo; i <= hi; i++ {
				out = append(out, i)
			}
		default:
			fail(n, "range of %T", x.lo)
		}
		return out
	case nil:
		return nil
	}
	return []any{v}
}

func toS(v any) string {
	switch x := unwrap(v).(type) {
	case string:
		return x
	case sym:
		return string(x)
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return inspect(v)
}

func inspect(v any) string {
	switch x := unwrap(v).(type) {
	case string:
		return strconv.Quote(x)
	case sym:
		return ":" + string(x)
	case nil:
		return "nil"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = inspect(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *rhash:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			parts[i] = inspect(k) + "=>" + inspect(x.vals[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case map[string]any:
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		parts := make([]string, len(ks))
		for i, k := range ks {
			parts[i] = strconv.Quote(k) + "=>" + inspect(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *hashIncluding:
		return "hash_including(" + inspect(x.h) + ")"
	}
	return fmt.Sprint(unwrap(v))
}

// equal is Ruby's == between an expected value (from the spec) and an
// actual one (from the event), or between two spec values.
func equal(a, b any) bool {
	a, b = unwrap(a), unwrap(b)
	switch x := a.(type) {
	case *hashIncluding:
		return hashMatches(x.h, b, true)
	case *rhash:
		return hashMatches(x, b, false)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case float64:
			return float64(x) == y
		}
		return false
	case float64:
		switch y := b.(type) {
		case int64:
			return x == float64(y)
		case float64:
			return x == y
		}
		return false
	case sym:
		if y, ok := b.(sym); ok {
			return x == y
		}
		return false
	}
	switch b.(type) {
	case *rhash, *hashIncluding, []any, int64, float64:
		return equal(b, a)
	}
	return a == b
}

func hashMatches(h *rhash, actual any, partial bool) bool {
	switch m := actual.(type) {
	case map[string]any:
		if !partial && len(m) != len(h.keys) {
			return false
		}
		for _, k := range h.keys {
			ks, ok := k.(string)
			if !ok {
				return false
			}
			v, ok := m[ks]
			if !ok || !equal(h.vals[k], v) {
				return false
			}
		}
		return true
	case *rhash:
		if !partial && len(m.keys) != len(h.keys) {
			return false
		}
		for _, k := range h.keys {
			v, ok := m.get(k)
			if !ok || !equal(h.vals[k], v) {
				return false
			}
		}
		return true
	}
	return false
}

// name resolves a bare name: a local variable, a let, a helper.
func (in *interp) name(n string, sc *scope, ex *exCtx, g *group, at node) any {
	if sc != nil {
		if v, ok := sc.lookup(n); ok {
			return v
		}
	}
	if ex != nil {
		if v, ok := ex.memo[n]; ok {
			return v
		}
		if p, pg := ex.g.findLet(n); p != nil {
			v := in.callLet(p, pg, ex)
			ex.memo[n] = v
			return v
		}
		if v, ok := in.defaultLet(n, ex, at); ok {
			ex.memo[n] = v
			return v
		}
	}
	if v, ok := in.consts.lookup(n); ok {
		return v
	}
	fail(at, "undefined name %s", n)
	return nil
}

func (in *interp) callLet(p *proc, pg *group, ex *exCtx) any {
	sc := &scope{vars: map[string]any{}, parent: p.scope}
	sc.vars["\x00let"] = p
	sc.vars["\x00letgroup"] = pg
	return in.body(p.blk.body, sc, ex, ex.g)
}

// defaultLet gives describe_pattern's lets and RSpec's implicit subject.
func (in *interp) defaultLet(n string, ex *exCtx, at node) (any, bool) {
	pat, isPattern := ex.g.describedPattern()
	switch n {
	case "pattern":
		if isPattern {
			return pat, true
		}
	case "event":
		if isPattern {
			return in.grokMatch(in.name("pattern", nil, ex, ex.g, at), in.name("message", nil, ex, ex.g, at), false, ex, at), true
		}
	case "grok", "grok_result", "subject":
		if isPattern {
			if n == "subject" || n == "grok_result" {
				if p, pg := ex.g.findLet("grok"); p != nil {
					return in.callLet(p, pg, ex), true
				}
			}
			return in.name("event", nil, ex, ex.g, at), true
		}
		if n == "subject" {
			for c := ex.g; c != nil; c = c.parent {
				if len(c.desc) > 0 {
					return c.desc[0], true
				}
			}
		}
	}
	return nil, false
}

// grokMatch runs grok_match(label, message, exact) in the example's mode.
func (in *interp) grokMatch(label, msg any, exact bool, ex *exCtx, at node) *event {
	l, ok := unwrap(label).(string)
	if !ok {
		fail(at, "grok_match of a %T label", unwrap(label))
	}
	m, ok := unwrap(msg).(string)
	if !ok {
		fail(at, "grok_match of a %T message", unwrap(msg))
	}
	expr := "%{" + l + "}"
	if exact {
		expr = "^" + expr + "$"
	}
	mode, _ := ex.g.getMode()
	return in.filter(&grokFilter{pattern: expr, mode: mode}, m)
}

func (in *interp) filter(gf *grokFilter, msg string) *event {
	c := in.run(gf.pattern, gf.mode, msg)
	return &event{fields: c.fields, c: c}
}

func (in *interp) callProc(p *proc, args []any, ex *exCtx) any {
	sc := &scope{vars: map[string]any{}, parent: p.scope}
	for i, name := range p.blk.params {
		if i < len(args) {
			sc.vars[name] = args[i]
		} else {
			sc.vars[name] = nil
		}
	}
	if ex == nil {
		ex = p.ex
	}
	g := p.grp
	if ex != nil {
		g = ex.g
	}
	return in.body(p.blk.body, sc, ex, g)
}

func (in *interp) call(n *callNode, sc *scope, ex *exCtx, g *group) any {
	if n.recv == nil {
		return in.callSelf(n, sc, ex, g)
	}
	if c, ok := n.recv.(*callNode); ok && c.recv == nil && c.name == "LogStash" {
		fail(n, "LogStash::%s", n.name)
	}
	if c, ok := n.recv.(*callNode); ok && n.name == "new" && isGrokClass(c) {
		return in.newGrok(in.args(n, sc, ex, g), ex, n)
	}
	recv := in.eval(n.recv, sc, ex, g)
	args := in.args(n, sc, ex, g)
	switch n.name {
	case "to", "to_not", "not_to":
		if len(args) != 1 {
			fail(n, "%s with %d matchers", n.name, len(args))
		}
		m, ok := args[0].(*matcher)
		if !ok {
			fail(n, "%s of a %T", n.name, args[0])
		}
		exp, ok := recv.(*expectation)
		if !ok {
			fail(n, "%s without expect", n.name)
		}
		in.check(exp.actual, m, n.name == "to", ex, n)
		return nil
	case "should", "should_not":
		m, ok := args[0].(*matcher)
		if !ok {
			fail(n, "should of a %T", args[0])
		}
		in.check(recv, m, n.name == "should", ex, n)
		return nil
	}
	var blk *proc
	if n.block != nil {
		blk = &proc{blk: n.block, scope: sc, ex: ex, grp: g}
	}
	return in.method(recv, n.name, args, blk, ex, n)
}

func isGrokClass(c *callNode) bool {
	return c.name == "Grok" || c.name == "LogStash::Filters::Grok"
}

func (in *interp) args(n *callNode, sc *scope, ex *exCtx, g *group) []any {
	return in.values(n.args, sc, ex, g)
}

// values evaluates a list (arguments, an array's elements), splats
// (*list) spread.
func (in *interp) values(nodes []node, sc *scope, ex *exCtx, g *group) []any {
	out := make([]any, 0, len(nodes))
	for _, a := range nodes {
		if u, ok := a.(*unNode); ok && u.op == "*" {
			out = append(out, toList(in.eval(u.x, sc, ex, g), u)...)
			continue
		}
		out = append(out, in.eval(a, sc, ex, g))
	}
	return out
}

// newGrok is LogStash::Filters::Grok.new("match" => ["message", pattern]).
func (in *interp) newGrok(args []any, ex *exCtx, at node) *grokFilter {
	if len(args) != 1 {
		fail(at, "Grok.new with %d arguments", len(args))
	}
	h, ok := args[0].(*rhash)
	if !ok {
		fail(at, "Grok.new of a %T", args[0])
	}
	gf := &grokFilter{}
	if ex != nil {
		gf.mode, _ = ex.g.getMode()
	}
	for _, k := range h.keys {
		v := unwrap(h.vals[k])
		switch k {
		case "match":
			switch m := v.(type) {
			case []any:
				if len(m) != 2 || m[0] != "message" {
					fail(at, "match on another field than message")
				}
				gf.pattern, _ = unwrap(m[1]).(string)
			case *rhash:
				if len(m.keys) != 1 || m.keys[0] != "message" {
					fail(at, "match on another field than message")
				}
				gf.pattern, _ = unwrap(m.vals["message"]).(string)
			}
		case "ecs_compatibility":
			switch toS(v) {
			case "disabled":
				gf.mode = "legacy"
			case "v1", "v8":
				gf.mode = "ecs-v1"
			}
		case "timeout_millis":
		default:
			fail(at, "Grok option %v", k)
		}
	}
	if gf.pattern == "" {
		fail(at, "Grok.new without a pattern")
	}
	return gf
}

type expectation struct{ actual any }

func (in *interp) callSelf(n *callNode, sc *scope, ex *exCtx, g *group) any {
	if len(n.args) == 0 && n.block == nil && !n.parens {
		switch n.name {
		case "nil":
			return nil
		case "true":
			return true
		case "false":
			return false
		case "pending":
			panic(errPending)
		case "pass", "be_nil", "be_truthy", "be_falsey", "be_empty":
			return &matcher{name: n.name}
		case "ecs_compatibility?":
			mode, ok := g.getMode()
			if !ok || mode == "" {
				return nil
			}
			return mode != "legacy"
		case "ecs_compatibility":
			mode, _ := g.getMode()
			switch mode {
			case "legacy":
				return sym("disabled")
			case "ecs-v1":
				return sym("v1")
			}
			return nil
		case "super":
		default:
			if ex != nil || sc != nil {
				if v, ok := sc.lookup(n.name); ok {
					return v
				}
			}
			if ex != nil {
				return in.name(n.name, sc, ex, g, n)
			}
			if v, ok := in.consts.lookup(n.name); ok {
				return v
			}
		}
	}
	args := in.args(n, sc, ex, g)
	switch n.name {
	case "require", "before", "after":
		return nil
	case "super":
		p, _ := sc.lookup("\x00let")
		pg, _ := sc.lookup("\x00letgroup")
		if p == nil || pg == nil {
			fail(n, "super outside a let")
		}
		up, upg := pg.(*group).parent.findLet(p.(*proc).name)
		if up == nil {
			fail(n, "super without an outer let")
		}
		return in.callLet(up, upg, ex)
	case "describe_pattern":
		if ex != nil || n.block == nil || len(args) < 1 {
			fail(n, "describe_pattern")
		}
		modes := []any{nil}
		if len(args) > 1 {
			modes = toList(args[1], n)
		}
		for _, m := range modes {
			c := in.newGroup(g, args[:1], n)
			c.pattern = toS(args[0])
			c.modeSet = true
			c.mode, _ = unwrap(m).(string)
			in.body(n.block.body, &scope{vars: map[string]any{}, parent: sc}, nil, c)
		}
		return nil
	case "describe", "context", "RSpec.describe":
		if ex != nil || n.block == nil {
			fail(n, "%s inside an example", n.name)
		}
		c := in.newGroup(g, args, n)
		in.body(n.block.body, &scope{vars: map[string]any{}, parent: sc}, nil, c)
		return nil
	case "let", "let!", "subject":
		if ex != nil || n.block == nil {
			fail(n, "%s inside an example", n.name)
		}
		name := "subject"
		if len(args) > 0 {
			name = toS(args[0])
		}
		p := &proc{blk: n.block, scope: sc, grp: g, name: name}
		g.lets[name] = p
		if n.name == "subject" && name != "subject" {
			g.lets["subject"] = p
		}
		return nil
	case "it", "specify", "example", "xit", "pending":
		if ex != nil {
			if n.name == "pending" {
				panic(errPending)
			}
			fail(n, "%s inside an example", n.name)
		}
		if n.block == nil {
			fail(n, "%s without a block", n.name)
		}
		e := &example{g: g, blk: n.block, scope: sc, line: n.line, pending: n.name == "xit"}
		if len(args) > 0 {
			e.desc = toS(args[0])
		}
		g.examples = append(g.examples, e)
		return nil
	case "include_examples", "it_behaves_like":
		if len(args) < 2 || toS(args[0]) != "top-level namespaces" {
			fail(n, "shared examples %v", args)
		}
		opts := any(nil)
		if len(args) > 2 {
			opts = args[2]
		}
		g.examples = append(g.examples, &example{g: g, scope: sc, line: n.line, shared: []any{args[1], opts}})
		return nil
	case "expect":
		if len(args) != 1 {
			fail(n, "expect with %d arguments", len(args))
		}
		return &expectation{actual: args[0]}
	case "should", "should_not", "is_expected":
		subj := in.name("subject", sc, ex, g, n)
		if n.name == "is_expected" {
			return &expectation{actual: subj}
		}
		m, ok := args[0].(*matcher)
		if !ok {
			fail(n, "should of a %T", args[0])
		}
		in.check(subj, m, n.name == "should", ex, n)
		return nil
	case "include", "match", "eq", "eql", "equal", "be", "be_a", "be_an", "be_kind_of", "start_with", "end_with", "have_key", "a_hash_including":
		if n.name == "a_hash_including" {
			return &hashIncluding{h: args[0].(*rhash)}
		}
		return &matcher{name: n.name, args: args}
	case "hash_including":
		h := newHash()
		for _, a := range args {
			ah, ok := a.(*rhash)
			if !ok {
				fail(n, "hash_including of a %T", a)
			}
			for _, k := range ah.keys {
				h.set(k, ah.vals[k])
			}
		}
		return &hashIncluding{h: h}
	case "grok_match", "grok_match_event", "grok_exact_match":
		if ex == nil || len(args) < 2 {
			fail(n, "%s", n.name)
		}
		exact := n.name == "grok_exact_match" || (len(args) > 2 && truthy(args[2]))
		return in.grokMatch(args[0], args[1], exact, ex, n)
	case "build_grok":
		if ex == nil || len(args) < 1 {
			fail(n, "build_grok")
		}
		mode, _ := g.getMode()
		expr := "%{" + toS(args[0]) + "}"
		if len(args) > 1 && truthy(args[1]) {
			expr = "^" + expr + "$"
		}
		return &grokFilter{pattern: expr, mode: mode}
	case "build_event":
		return &event{fields: map[string]any{"message": toS(args[0])}}
	case "lambda", "proc":
		return &proc{blk: n.block, scope: sc, ex: ex}
	case "raise", "fail":
		fail(n, "raise %v", args)
	case "puts", "p", "pp":
		return nil
	}
	if len(args) == 0 && n.block == nil {
		return in.name(n.name, sc, ex, g, n)
	}
	fail(n, "unknown method %s", n.name)
	return nil
}

func (in *interp) newGroup(parent *group, desc []any, n node) *group {
	c := &group{parent: parent, desc: desc, lets: map[string]*proc{}, line: n.pos()}
	parent.children = append(parent.children, c)
	return c
}

// method calls a method on a value.
func (in *interp) method(recv any, name string, args []any, blk *proc, ex *exCtx, at node) any {
	if ev, ok := recv.(*event); ok {
		switch name {
		case "to_hash", "to_h":
			return ev
		case "get":
			return index(ev, []any{fieldPath(toS(args[0]))}, at)
		case "include?":
			_, ok := ev.fields[toS(args[0])]
			return ok
		case "keys":
			return keysOf(ev.fields)
		}
	}
	if gf, ok := recv.(*grokFilter); ok {
		switch name {
		case "register":
			return nil
		case "filter":
			ev, ok := args[0].(*event)
			if !ok {
				fail(at, "filter of a %T", args[0])
			}
			msg, _ := ev.fields["message"].(string)
			res := in.filter(gf, msg)
			ev.fields, ev.c = res.fields, res.c
			return nil
		}
	}
	if p, ok := recv.(*proc); ok && (name == "call" || name == "()") {
		return in.callProc(p, args, ex)
	}
	ref, isRef := recv.(*fieldRef)
	v := unwrap(recv)
	switch name {
	case "keys":
		switch m := v.(type) {
		case map[string]any:
			return keysOf(m)
		case *rhash:
			return m.keys
		}
	case "last", "first":
		if isRef && v != nil {
			if _, ok := v.([]any); !ok {
				// Ruby's NoMethodError: the test fails on this capture
				return &fieldRef{c: ref.c, path: append(append([]string{}, ref.path...), name), v: nil}
			}
		}
		if l, ok := v.([]any); ok {
			i := 0
			if name == "last" {
				i = len(l) - 1
			}
			if isRef {
				return index(ref, []any{int64(i)}, at)
			}
			if len(l) == 0 {
				return nil
			}
			return l[i]
		}
	case "inspect":
		return inspect(v)
	case "to_s":
		if isRef {
			if v == nil {
				return &fieldRef{c: ref.c, path: ref.path, v: ""}
			}
			return &fieldRef{c: ref.c, path: ref.path, v: toS(v)}
		}
		return toS(v)
	case "is_a?":
		want := toS(args[0])
		switch v.(type) {
		case []any:
			return want == "Array"
		case map[string]any, *rhash:
			return want == "Hash"
		case string:
			return want == "String"
		case int64:
			return want == "Integer"
		case float64:
			return want == "Float"
		}
		return false
	case "chr":
		if i, ok := v.(int64); ok {
			return string(rune(i))
		}
	case "join":
		sep := ""
		if len(args) > 0 {
			sep = toS(args[0])
		}
		var parts []string
		for _, e := range toList(v, at) {
			parts = append(parts, toS(e))
		}
		return strings.Join(parts, sep)
	case "map", "each", "each_with_index":
		list := toList(v, at)
		var out []any
		for i, e := range list {
			a := []any{e}
			if name == "each_with_index" {
				a = append(a, int64(i))
			}
			out = append(out, in.callProc(blk, a, ex))
		}
		if name == "map" {
			return out
		}
		return v
	case "sub", "gsub":
		s, ok := v.(string)
		pat, ok2 := unwrap(args[0]).(string)
		if ok && ok2 {
			if name == "sub" {
				return strings.Replace(s, pat, toS(args[1]), 1)
			}
			return strings.ReplaceAll(s, pat, toS(args[1]))
		}
	case "strip":
		return strings.TrimSpace(toS(v))
	case "chomp":
		return strings.TrimSuffix(toS(v), "\n")
	case "split":
		sep := " "
		if len(args) > 0 {
			sep = toS(args[0])
		}
		var out []any
		for _, p := range strings.Split(toS(v), sep) {
			out = append(out, p)
		}
		return out
	case "size", "length":
		switch x := v.(type) {
		case string:
			return int64(len([]rune(x)))
		case []any:
			return int64(len(x))
		}
	case "nil?":
		return v == nil
	case "to_i":
		var x any
		switch n := v.(type) {
		case int64:
			x = n
		case float64:
			x = int64(n)
		default:
			x, _ = strconv.ParseInt(toS(v), 10, 64)
		}
		if isRef && v != nil {
			return &fieldRef{c: ref.c, path: ref.path, v: x}
		}
		return x
	case "dup", "freeze", "to_a":
		return v
	}
	fail(at, "unknown method %T.%s", v, name)
	return nil
}

func fieldPath(s string) string {
	if strings.HasPrefix(s, "[") {
		fail(nil, "event.get of a nested path %s", s)
	}
	return s
}

func keysOf(m map[string]any) []any {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k
	}
	return out
}
