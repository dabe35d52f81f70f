// Package diff compares two records of one kind (two workflow run
// summaries, two crashloop contexts) and lists their differences in a
// stable order: fields added, removed and changed, with typed deltas
// (numbers as a difference and a ratio, times and durations as a
// duration), list items matched by their name (steps added, removed,
// reordered), the status first. It knows the declared field types and the
// fields a schema marks volatile (ids, times), which it leaves out unless
// asked. `octoagent diff` is its command line; the text and JSON forms are
// written by Result.Text and Result.JSON.
package diff

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/schema"
)

// Op is what happened to a value from A to B.
type Op string

// The operations.
const (
	Added     Op = "added"
	Removed   Op = "removed"
	Changed   Op = "changed"
	Reordered Op = "reordered"
)

// Difference is one difference between A and B, at a path such as
// "status", "parameters.target" or "steps[test].duration_s" (list items
// with a name are named, others numbered).
type Difference struct {
	Path string `json:"path"`
	Op   Op     `json:"op"`
	// A and B are the values (absent on the side that has none). For a
	// reordered list, they are the item names in each order.
	A any `json:"a,omitempty"`
	B any `json:"b,omitempty"`
	// Type is the type the values were compared as: number, time,
	// duration, string, bool, list, map, or mixed.
	Type string `json:"type,omitempty"`
	// Delta is B - A: a number for numbers, a Go duration ("1m30s",
	// "-2s") for times and durations, with DeltaS its seconds. Ratio is
	// B / A for numbers and durations (absent when A is 0).
	Delta  any      `json:"delta,omitempty"`
	DeltaS *float64 `json:"delta_s,omitempty"`
	Ratio  *float64 `json:"ratio,omitempty"`
}

// Side names one record compared.
type Side struct {
	ID   string    `json:"id"`
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
}

// Result is the comparison of two records.
type Result struct {
	A           Side         `json:"a"`
	B           Side         `json:"b"`
	Same        bool         `json:"same"`
	Differences []Difference `json:"differences"`
	// Ignored lists the volatile fields left out (without --all).
	Ignored []string `json:"ignored,omitempty"`
}

// Options say what to compare.
type Options struct {
	// Schema gives the fields' types and which are volatile. nil: types
	// are inferred (RFC 3339 strings are times) and nothing is volatile.
	Schema *schema.Schema
	// All compares volatile fields too, and the records' time and entity.
	All bool
	// Ignore lists paths to leave out; * stands for any name or index
	// within one part of the path: "steps[*].exit_code", "parameters.*".
	Ignore []string
}

// KindError is returned for two records of different kinds.
type KindError struct{ A, B string }

func (e *KindError) Error() string {
	return fmt.Sprintf("the records are of different kinds (%s and %s); compare two records of one kind", e.A, e.B)
}

// Records compares a and b.
func Records(a, b *agent.Record, opt Options) (*Result, error) {
	if a.Kind != b.Kind {
		return nil, &KindError{a.Kind, b.Kind}
	}
	ign, err := compileIgnore(opt.Ignore)
	if err != nil {
		return nil, err
	}
	c := &comparer{opt: opt, ignore: ign}
	res := &Result{A: Side{a.EnsureID(), a.Kind, a.Time}, B: Side{b.EnsureID(), b.Kind, b.Time}}
	if opt.All {
		if !a.Time.Equal(b.Time) {
			c.value("time", a.Time, b.Time, schema.Time)
		}
		c.value("entity", entityMap(a.Entity), entityMap(b.Entity), schema.Map)
	}
	fa, fb := fieldsOf(a), fieldsOf(b)
	for _, k := range keys(fa, fb) {
		typ := schema.Type("")
		if opt.Schema != nil {
			if f, ok := opt.Schema.Field(k); ok {
				typ = f.Type
				if f.Volatile && !opt.All {
					if _, in := fa[k]; in {
						res.Ignored = append(res.Ignored, k)
					} else if _, in := fb[k]; in {
						res.Ignored = append(res.Ignored, k)
					}
					continue
				}
			}
		}
		va, ina := fa[k]
		vb, inb := fb[k]
		switch {
		case !inb:
			c.add(Difference{Path: k, Op: Removed, A: va, Type: typeOf(va, typ)})
		case !ina:
			c.add(Difference{Path: k, Op: Added, B: vb, Type: typeOf(vb, typ)})
		default:
			c.value(k, va, vb, typ)
		}
	}
	res.Differences = c.out
	if res.Differences == nil {
		res.Differences = []Difference{}
	}
	res.Same = len(res.Differences) == 0
	return res, nil
}

// fieldsOf returns r's fields as the wire form has them (times as RFC 3339
// strings), so that a record read from a file and one made in memory
// compare alike.
func fieldsOf(r *agent.Record) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.AppendFieldsJSON(nil), &m)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func entityMap(kv []agent.KV) map[string]any {
	m := map[string]any{}
	for _, e := range kv {
		m[e.Key] = e.Value
	}
	return m
}

// keys returns the keys of both maps: "status" first (the change people
// look for first), then the others in order.
func keys(a, b map[string]any) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool {
		if (ks[i] == "status") != (ks[j] == "status") {
			return ks[i] == "status"
		}
		return ks[i] < ks[j]
	})
	return ks
}

type comparer struct {
	opt    Options
	ignore []*regexp.Regexp
	out    []Difference
}

func (c *comparer) add(d Difference) {
	for _, re := range c.ignore {
		if re.MatchString(d.Path) {
			return
		}
	}
	c.out = append(c.out, d)
}

// value compares two values at path; typ is the declared type ("" when
// none).
func (c *comparer) value(path string, a, b any, typ schema.Type) {
	if reflect.DeepEqual(a, b) {
		return
	}
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			for _, k := range keys(av, bv) {
				p := path + "." + k
				va, ina := av[k]
				vb, inb := bv[k]
				switch {
				case !inb:
					c.add(Difference{Path: p, Op: Removed, A: va, Type: typeOf(va, "")})
				case !ina:
					c.add(Difference{Path: p, Op: Added, B: vb, Type: typeOf(vb, "")})
				default:
					c.value(p, va, vb, "")
				}
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			c.list(path, av, bv)
			return
		}
	}
	c.add(changed(path, a, b, typ))
}

// changed describes a scalar change, with its delta when the values are
// numbers, times or durations.
func changed(path string, a, b any, typ schema.Type) Difference {
	d := Difference{Path: path, Op: Changed, A: a, B: b, Type: "mixed"}
	if ta, tb := typeOf(a, typ), typeOf(b, typ); ta == tb {
		d.Type = ta
	}
	switch d.Type {
	case "number":
		x, y := a.(float64), b.(float64)
		delta := y - x
		if delta == math.Trunc(delta) && math.Abs(delta) < 1<<53 {
			d.Delta = int64(delta)
		} else {
			d.Delta = delta
		}
		d.Ratio = ratio(x, y)
	case "time":
		x, _ := asTime(a)
		y, _ := asTime(b)
		dd := y.Sub(x)
		d.Delta, d.DeltaS = dd.String(), ptr(dd.Seconds())
	case "duration":
		x, _ := time.ParseDuration(a.(string))
		y, _ := time.ParseDuration(b.(string))
		dd := y - x
		d.Delta, d.DeltaS = dd.String(), ptr(dd.Seconds())
		d.Ratio = ratio(x.Seconds(), y.Seconds())
	}
	return d
}

func ratio(a, b float64) *float64 {
	if a == 0 {
		return nil
	}
	return ptr(b / a)
}

func ptr(f float64) *float64 { return &f }

// typeOf names the type a value compares as: the declared one when it
// fits, else what the value is.
func typeOf(v any, typ schema.Type) string {
	switch t := v.(type) {
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "map"
	case []any:
		return "list"
	case nil:
		return "null"
	case string:
		switch {
		case typ == schema.Duration:
			if _, err := time.ParseDuration(t); err == nil {
				return "duration"
			}
		case typ == schema.Time || typ == "":
			if _, ok := asTime(t); ok {
				return "time"
			}
		}
		return "string"
	}
	return "mixed"
}

func asTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok || len(s) < 20 || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// identity is the key list items are matched by, when every item of both
// lists is an object with a distinct string under it.
var identity = []string{"name", "step", "id", "key"}

func itemKey(a, b []any) string {
	for _, k := range identity {
		ok := true
		for _, l := range [][]any{a, b} {
			seen := map[string]bool{}
			for _, x := range l {
				m, isMap := x.(map[string]any)
				s, isStr := m[k].(string)
				if !isMap || !isStr || seen[s] {
					ok = false
					break
				}
				seen[s] = true
			}
		}
		if ok && len(a)+len(b) > 0 {
			return k
		}
	}
	return ""
}

// list compares two lists: items matched by name when they have one
// (added, removed, reordered, changed), scalars as sets (added, removed,
// reordered), others by position.
func (c *comparer) list(path string, a, b []any) {
	if k := itemKey(a, b); k != "" {
		name := func(x any) string { return x.(map[string]any)[k].(string) }
		ia, ib := map[string]any{}, map[string]any{}
		var orderA, orderB []any
		for _, x := range a {
			ia[name(x)] = x
		}
		for _, x := range b {
			ib[name(x)] = x
		}
		var commonA, commonB []string
		for _, x := range a {
			orderA = append(orderA, name(x))
			if _, ok := ib[name(x)]; ok {
				commonA = append(commonA, name(x))
			}
		}
		for _, x := range b {
			orderB = append(orderB, name(x))
			if _, ok := ia[name(x)]; ok {
				commonB = append(commonB, name(x))
			}
		}
		if !slices.Equal(commonA, commonB) {
			c.add(Difference{Path: path, Op: Reordered, A: orderA, B: orderB, Type: "list"})
		}
		for _, x := range b {
			p := path + "[" + name(x) + "]"
			if xa, ok := ia[name(x)]; ok {
				c.value(p, xa, x, "")
			} else {
				c.add(Difference{Path: p, Op: Added, B: x, Type: "map"})
			}
		}
		for _, x := range a {
			if _, ok := ib[name(x)]; !ok {
				c.add(Difference{Path: path + "[" + name(x) + "]", Op: Removed, A: x, Type: "map"})
			}
		}
		return
	}
	if scalars(a) && scalars(b) {
		ca, cb := counts(a), counts(b)
		for _, x := range a {
			if s := enc(x); cb[s] > 0 {
				cb[s]--
			} else {
				c.add(Difference{Path: path + "[]", Op: Removed, A: x, Type: typeOf(x, "")})
			}
		}
		for _, x := range b {
			if s := enc(x); ca[s] > 0 {
				ca[s]--
			} else {
				c.add(Difference{Path: path + "[]", Op: Added, B: x, Type: typeOf(x, "")})
			}
		}
		if len(a) == len(b) && sameMultiset(a, b) {
			c.add(Difference{Path: path, Op: Reordered, A: a, B: b, Type: "list"})
		}
		return
	}
	for i := 0; i < max(len(a), len(b)); i++ {
		p := path + "[" + strconv.Itoa(i) + "]"
		switch {
		case i >= len(b):
			c.add(Difference{Path: p, Op: Removed, A: a[i], Type: typeOf(a[i], "")})
		case i >= len(a):
			c.add(Difference{Path: p, Op: Added, B: b[i], Type: typeOf(b[i], "")})
		default:
			c.value(p, a[i], b[i], "")
		}
	}
}

func scalars(l []any) bool {
	for _, x := range l {
		switch x.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

func enc(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

func counts(l []any) map[string]int {
	m := map[string]int{}
	for _, x := range l {
		m[enc(x)]++
	}
	return m
}

func sameMultiset(a, b []any) bool {
	ca := counts(a)
	for _, x := range b {
		ca[enc(x)]--
	}
	for _, n := range ca {
		if n != 0 {
			return false
		}
	}
	return true
}

// compileIgnore turns path patterns into expressions: * matches a name or
// an index within one part of a path.
func compileIgnore(pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range pats {
		var b strings.Builder
		b.WriteString("^")
		for i, part := range strings.Split(p, "*") {
			if i > 0 {
				b.WriteString(`[^.\[\]]*`)
			}
			b.WriteString(regexp.QuoteMeta(part))
		}
		b.WriteString(`(\.|\[|$)`)
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("--ignore %q: %v", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}
