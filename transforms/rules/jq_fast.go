package rules

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itchyny/gojq"

	"github.com/octostore/agent/agent"
)

// jqFast runs the commonest shape of jq query straight on a record's
// fields (typed ones without boxing a value), without gojq: leading
// select(COND)s, then an object of constant keys, or the input itself,
//
//	select(.status >= 500) | {client_ip, path, slow: (.bytes > 100000)}
//
// where each value and condition is a field (.a, .["a"]), a literal, a
// comparison, and, or, //, not, or parentheses. Anything else keeps the
// query on gojq. The values are jq's: a missing field is null, times are
// RFC 3339 strings (as the query sees them on gojq), and comparisons
// follow gojq.Compare. Where the outcome would not be a record of typed
// fields (a null value in the object), the record runs on gojq instead,
// so the fast path never has to be right about anything but the happy
// case; TestJQFastMatchesGojq holds it to gojq's results.
type jqFast struct {
	selects []jqExpr
	// keys and vals are the output object's, sorted by key; identity
	// outputs the input instead.
	keys     []string
	vals     []jqExpr
	identity bool
	// names are the fields the query reads, by slot; at is where each
	// was in the last record's typed fields; vs holds their values while
	// a record runs.
	names []string
	at    []int
	vs    []agent.Value
	// slab is where the object of each record is made, with room for the
	// steps after the jq step to add fields: the record keeps it, and it
	// is reused once the record's token resolves (fieldSlab).
	slab fieldSlab
}

// jqExpr evaluates to a value on the values of the fields the query
// reads (by slot, see jqFast.field); ok is false when the record must run
// on gojq instead.
type jqExpr func(vs []agent.Value) (v agent.Value, ok bool)

// compileJQFast returns the fast path of q, or nil when q is not of its
// shape.
func compileJQFast(q *gojq.Query) *jqFast {
	f := &jqFast{}
	if !f.pipeline(q) {
		return nil
	}
	f.at = make([]int, len(f.names))
	f.vs = make([]agent.Value, len(f.names))
	return f
}

// pipeline reads select(C) | ... | select(C) | OUTPUT.
func (f *jqFast) pipeline(q *gojq.Query) bool {
	if !plainQuery(q) {
		return false
	}
	if q.Op == gojq.OpPipe && len(q.Patterns) == 0 {
		c := f.selectCond(q.Left)
		if c == nil {
			return false
		}
		f.selects = append(f.selects, c)
		return f.pipeline(q.Right)
	}
	t := q.Term
	if t == nil || len(t.SuffixList) > 0 {
		return false
	}
	switch t.Type {
	case gojq.TermTypeQuery:
		return f.pipeline(t.Query)
	case gojq.TermTypeIdentity:
		f.identity = true
		return true
	case gojq.TermTypeFunc:
		c := f.selectCond(q)
		if c == nil {
			return false
		}
		f.selects = append(f.selects, c)
		f.identity = true
		return true
	case gojq.TermTypeObject:
		return f.object(t.Object)
	}
	return false
}

// plainQuery: no definitions, imports or module of its own.
func plainQuery(q *gojq.Query) bool {
	return q != nil && q.Meta == nil && len(q.Imports) == 0 && len(q.FuncDefs) == 0
}

// selectCond returns the condition of select(C), or nil.
func (f *jqFast) selectCond(q *gojq.Query) jqExpr {
	if !plainQuery(q) || q.Term == nil || q.Term.Type != gojq.TermTypeFunc || len(q.Term.SuffixList) > 0 {
		return nil
	}
	fn := q.Term.Func
	if fn.Name != "select" || len(fn.Args) != 1 {
		return nil
	}
	return f.fastExpr(fn.Args[0])
}

func (f *jqFast) object(o *gojq.Object) bool {
	type entry struct {
		key string
		val jqExpr
	}
	var es []entry
	for _, kv := range o.KeyVals {
		var e entry
		switch {
		case kv.KeyQuery != nil:
			return false
		case kv.KeyString != nil:
			if kv.KeyString.Queries != nil {
				return false
			}
			e.key = kv.KeyString.Str
		case kv.Key != "" && kv.Key[0] != '$' && kv.Key[0] != '@':
			e.key = kv.Key
		default:
			return false
		}
		if kv.Val == nil {
			e.val = f.fastField(e.key)
		} else if e.val = f.fastExpr(kv.Val); e.val == nil {
			return false
		}
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	if slices.ContainsFunc(es, func(e entry) bool { return agent.IsPathKey(e.key) }) {
		return false // a key with a NUL byte: left to gojq (setOn takes the keys as plain)
	}
	for i, e := range es {
		if i > 0 && es[i-1].key == e.key {
			return false // a key given twice: left to gojq
		}
		f.keys = append(f.keys, e.key)
		f.vals = append(f.vals, e.val)
	}
	return true
}

// fastExpr compiles a value or condition, or returns nil.
func (f *jqFast) fastExpr(q *gojq.Query) jqExpr {
	if !plainQuery(q) {
		return nil
	}
	if q.Term != nil {
		return f.fastTerm(q.Term)
	}
	if len(q.Patterns) > 0 {
		return nil
	}
	if q.Op == gojq.OpPipe {
		// E | not, E | tostring, ...
		if t := q.Right.Term; plainQuery(q.Right) && t != nil && t.Type == gojq.TermTypeFunc &&
			len(t.SuffixList) == 0 && len(t.Func.Args) == 0 && jqFilters[t.Func.Name] != nil {
			if e := f.fastExpr(q.Left); e != nil {
				filter := jqFilters[t.Func.Name]
				return func(vs []agent.Value) (agent.Value, bool) {
					v, ok := e(vs)
					if !ok {
						return v, false
					}
					return filter(v)
				}
			}
		}
		return nil
	}
	l, r := f.fastExpr(q.Left), f.fastExpr(q.Right)
	if l == nil || r == nil {
		return nil
	}
	switch q.Op {
	case gojq.OpAnd, gojq.OpOr:
		// The left side decides alone when its truth is this: false for
		// and, true for or.
		decides := q.Op == gojq.OpOr
		return func(vs []agent.Value) (agent.Value, bool) {
			v, ok := l(vs)
			if !ok || jqTruthy(v) == decides {
				return agent.BoolValue(decides), ok
			}
			v, ok = r(vs)
			return agent.BoolValue(jqTruthy(v)), ok
		}
	case gojq.OpAlt:
		return func(vs []agent.Value) (agent.Value, bool) {
			v, ok := l(vs)
			if !ok || jqTruthy(v) {
				return v, ok
			}
			return r(vs)
		}
	case gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe:
		test := jqCompareOps[q.Op]
		return func(vs []agent.Value) (agent.Value, bool) {
			a, ok := l(vs)
			if !ok {
				return a, false
			}
			b, ok := r(vs)
			return agent.BoolValue(test(jqCompare(a, b))), ok
		}
	}
	return nil
}

// jqFilters are the functions of no argument the fast path runs, as
// gojq runs them (gojq's func.go); ok is false where gojq would fail, or
// format a number (left to it).
var jqFilters = map[string]func(agent.Value) (agent.Value, bool){
	"not": func(v agent.Value) (agent.Value, bool) { return agent.BoolValue(!jqTruthy(v)), true },
	"tostring": func(v agent.Value) (agent.Value, bool) {
		s, ok := jqToString(v)
		return agent.StringValue(s), ok
	},
	"ascii_downcase": jqASCIICase('A', 'Z', 'a'-'A'),
	"ascii_upcase":   jqASCIICase('a', 'z', 'A'-'a'),
}

// jqASCIICase is ascii_downcase (A to Z moved by delta) or ascii_upcase,
// on strings only (anything else is an error on gojq), with strings.Map
// as gojq maps (an invalid UTF-8 byte becomes U+FFFD).
func jqASCIICase(lo, hi, delta rune) func(agent.Value) (agent.Value, bool) {
	return func(v agent.Value) (agent.Value, bool) {
		if v.Kind() != agent.KindString {
			return v, false
		}
		return agent.StringValue(strings.Map(func(r rune) rune {
			if lo <= r && r <= hi {
				return r + delta
			}
			return r
		}, v.Str())), true
	}
}

// jqToString is gojq's tostring, for the values whose text is plain: a
// string itself, an int's digits, true, false, null. Floats are left to
// gojq (its number formatting).
func jqToString(v agent.Value) (string, bool) {
	switch v.Kind() {
	case agent.KindString:
		return v.Str(), true
	case agent.KindInt:
		return strconv.FormatInt(v.Int(), 10), true
	case agent.KindBool:
		return strconv.FormatBool(v.Bool()), true
	case agent.KindNone:
		return "null", true
	}
	return "", false
}

var jqCompareOps = map[gojq.Operator]func(int) bool{
	gojq.OpEq: func(c int) bool { return c == 0 },
	gojq.OpNe: func(c int) bool { return c != 0 },
	gojq.OpGt: func(c int) bool { return c > 0 },
	gojq.OpLt: func(c int) bool { return c < 0 },
	gojq.OpGe: func(c int) bool { return c >= 0 },
	gojq.OpLe: func(c int) bool { return c <= 0 },
}

func (f *jqFast) fastTerm(t *gojq.Term) jqExpr {
	if len(t.SuffixList) > 0 {
		return nil
	}
	switch t.Type {
	case gojq.TermTypeIndex:
		if k, ok := constKey(t.Index); ok {
			return f.fastField(k)
		}
	case gojq.TermTypeQuery:
		return f.fastExpr(t.Query)
	case gojq.TermTypeNull:
		return fastConst(agent.Value{})
	case gojq.TermTypeTrue:
		return fastConst(agent.BoolValue(true))
	case gojq.TermTypeFalse:
		return fastConst(agent.BoolValue(false))
	case gojq.TermTypeString:
		if t.Str.Queries == nil {
			return fastConst(agent.StringValue(t.Str.Str))
		}
		return f.interpolation(t.Str)
	case gojq.TermTypeIf:
		return f.ifThen(t.If)
	case gojq.TermTypeNumber:
		// The number as gojq reads it (an int when it is one, else a
		// float; too big for either stays on gojq).
		code, err := gojq.Compile(&gojq.Query{Term: t})
		if err != nil {
			return nil
		}
		switch n, _ := code.Run(nil).Next(); n := n.(type) {
		case int:
			return fastConst(agent.IntValue(int64(n)))
		case float64:
			return fastConst(agent.FloatValue(n))
		}
	}
	return nil
}

// interpolation compiles "text \(E) text": each E's value through
// tostring, joined (as gojq compiles it: compileString).
func (f *jqFast) interpolation(s *gojq.String) jqExpr {
	parts := make([]jqExpr, len(s.Queries))
	for i, q := range s.Queries {
		if parts[i] = f.fastExpr(q); parts[i] == nil {
			return nil
		}
	}
	var buf []byte
	return func(vs []agent.Value) (agent.Value, bool) {
		buf = buf[:0]
		for _, p := range parts {
			v, ok := p(vs)
			if !ok {
				return v, false
			}
			s, ok := jqToString(v)
			if !ok {
				return v, false
			}
			buf = append(buf, s...)
		}
		return agent.StringValue(string(buf)), true
	}
}

// ifThen compiles if C then A elif C2 then B ... else Z end; without an
// else, it may output its input: left to gojq.
func (f *jqFast) ifThen(t *gojq.If) jqExpr {
	if t.Else == nil {
		return nil
	}
	conds := []jqExpr{f.fastExpr(t.Cond)}
	thens := []jqExpr{f.fastExpr(t.Then)}
	for _, e := range t.Elif {
		conds = append(conds, f.fastExpr(e.Cond))
		thens = append(thens, f.fastExpr(e.Then))
	}
	otherwise := f.fastExpr(t.Else)
	isNil := func(e jqExpr) bool { return e == nil }
	if otherwise == nil || slices.ContainsFunc(conds, isNil) || slices.ContainsFunc(thens, isNil) {
		return nil
	}
	return func(vs []agent.Value) (agent.Value, bool) {
		for i, c := range conds {
			v, ok := c(vs)
			if !ok {
				return v, false
			}
			if jqTruthy(v) {
				return thens[i](vs)
			}
		}
		return otherwise(vs)
	}
}

func fastConst(c agent.Value) jqExpr {
	return func([]agent.Value) (agent.Value, bool) { return c, true }
}

// fastField reads a field: its value is in the slot of its name, which
// resolve fills.
func (f *jqFast) fastField(key string) jqExpr {
	slot := slices.Index(f.names, key)
	if slot < 0 {
		slot = len(f.names)
		f.names = append(f.names, key)
	}
	return func(vs []agent.Value) (agent.Value, bool) { return vs[slot], true }
}

// resolve fills f.vs with the value of each field the query reads, as
// gojq would see it (null when missing, a time as its RFC 3339 string):
// from typed fields where the last record had them, else by a binary
// search. ok is
// false when a field is not a scalar (a list, an object).
func (f *jqFast) resolve(r *agent.Record) ([]agent.Value, bool) {
	if !r.Typed() {
		for slot, k := range f.names {
			x, present := r.Get(k)
			v, ok := agent.ValueOf(x)
			if !ok && present && x != nil {
				return nil, false
			}
			f.vs[slot] = jqSeen(v)
		}
		return f.vs, true
	}
	fs := r.TypedFields()
	for slot, k := range f.names {
		v, _ := fs.LookupAt(k, &f.at[slot]) // missing: null
		f.vs[slot] = jqSeen(v)
	}
	return f.vs, true
}

// jqSeen is a value as a query sees it: a time as its RFC 3339 string.
func jqSeen(v agent.Value) agent.Value {
	if v.Kind() == agent.KindTime {
		return agent.StringValue(v.Time().Format(time.RFC3339Nano))
	}
	return v
}

// jqTruthy is jq's truth: everything but null and false.
func jqTruthy(v agent.Value) bool {
	switch v.Kind() {
	case agent.KindNone:
		return false
	case agent.KindBool:
		return v.Bool()
	}
	return true
}

// jqOrder is the rank of a scalar's type in jq's order: null, false,
// true, numbers, strings.
func jqOrder(v agent.Value) int {
	switch v.Kind() {
	case agent.KindBool:
		if v.Bool() {
			return 2
		}
		return 1
	case agent.KindInt, agent.KindFloat:
		return 3
	case agent.KindString, agent.KindTime:
		return 4
	}
	return 0
}

// jqCompare is gojq.Compare on scalars.
func jqCompare(l, r agent.Value) int {
	lo, ro := jqOrder(l), jqOrder(r)
	switch {
	case lo != ro:
		return cmp.Compare(lo, ro)
	case lo == 4:
		return strings.Compare(l.Str(), r.Str())
	case lo != 3:
		return 0
	case l.Kind() == agent.KindInt && r.Kind() == agent.KindInt:
		return cmp.Compare(l.Int(), r.Int())
	}
	lf, _ := l.Number()
	rf, _ := r.Number()
	switch {
	case lf < rf || math.IsNaN(lf):
		return -1
	case lf == rf:
		return 0
	}
	return 1
}

// run evaluates the query on r's fields. It returns the object made
// (out=false when the selects drop the record), or ok=false when the
// record must run on gojq.
func (f *jqFast) run(r *agent.Record) (obj jqObject, out, ok bool) {
	vs, ok := f.resolve(r)
	if !ok {
		return jqObject{}, false, false
	}
	for _, c := range f.selects {
		v, ok := c(vs)
		if !ok {
			return jqObject{}, false, false
		}
		if !jqTruthy(v) {
			return jqObject{}, false, true
		}
	}
	if f.identity {
		if !r.Typed() {
			return jqWhole(r), true, true
		}
		// The record's fields as the query saw them, made where an
		// object would be (jqWhole without a copy on the heap).
		fs := r.TypedFields()
		made := f.slab.take(len(fs)+2, r.Token())[:len(fs)]
		for i := range fs {
			made[i] = agent.Field{Key: fs[i].Key, Value: jqSeen(fs[i].Value)}
		}
		return jqObject{typed: made, lender: f}, true, true
	}
	made := f.slab.take(len(f.keys)+2, r.Token())[:len(f.keys)] // room for later steps
	for i, k := range f.keys {
		v, ok := f.vals[i](vs)
		if !ok || v.Kind() == agent.KindNone {
			// A null value makes a fields map on gojq's path.
			return jqObject{}, false, false
		}
		made[i] = agent.Field{Key: k, Value: v}
	}
	return jqObject{typed: made, lender: f}, true, true
}
