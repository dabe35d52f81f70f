package rules

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itchyny/gojq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
)

// The jq step hands a query only the fields it reads, runs the commonest
// queries without gojq, and keeps output objects as typed fields. These
// tests hold it to the plain way, the reference: the whole record
// converted to a map, the query run on gojq, each output normalized and
// set as the record's fields map. Fields (with their Go types) and wire
// bytes must be the same, and so must errors.

// jqReference runs src the plain way on a copy of r, and returns the
// records made, or the error's text.
func jqReference(t testing.TB, src string, r agent.Record) ([]agent.Record, string) {
	t.Helper()
	q, err := gojq.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	iter := code.RunWithContext(context.Background(), jqInput(&r))
	var out []agent.Record
	for {
		v, ok := iter.Next()
		if !ok {
			return out, ""
		}
		if err, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return out, ""
			}
			return nil, stepErr("jq", "", "%v", err).Error()
		}
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, stepErr("jq", "", "the query output %s, not an object", jqType(v)).Error()
		}
		c := r
		c.SetFields(agent.Normalize(m).(map[string]any))
		out = append(out, c)
	}
}

// jqOptimized runs src through the step on a copy of r.
func jqOptimized(t testing.TB, src string, r agent.Record) ([]agent.Record, string) {
	t.Helper()
	st, d := newJQ(src, time.Second, hcl.Range{})
	if d.HasErrors() {
		t.Fatal(d)
	}
	objs, err := st.(*jqStep).ApplyMulti(context.Background(), &r)
	if err != nil {
		return nil, err.Error()
	}
	var out []agent.Record
	for _, o := range objs {
		c := r
		o.setOn(&c)
		out = append(out, c)
	}
	return out, ""
}

// sameJQ fails t when src gives different results on r the two ways.
func sameJQ(t testing.TB, src string, r agent.Record) {
	t.Helper()
	want, werr := jqReference(t, src, r.Clone())
	got, gerr := jqOptimized(t, src, r.Clone())
	if werr != gerr {
		t.Fatalf("%s on %s:\n  error %q\n  want  %q", src, fieldsJSON(&r), gerr, werr)
	}
	if len(got) != len(want) {
		t.Fatalf("%s on %s: %d records, want %d", src, fieldsJSON(&r), len(got), len(want))
	}
	for i := range want {
		g, w := fieldsJSON(&got[i]), fieldsJSON(&want[i])
		if g != w {
			t.Fatalf("%s on %s: record %d\n  got  %s\n  want %s", src, fieldsJSON(&r), i, g, w)
		}
		gm, wm := goValues(&got[i]), goValues(&want[i])
		if !reflect.DeepEqual(gm, wm) {
			t.Fatalf("%s on %s: record %d's values\n  got  %#v\n  want %#v", src, fieldsJSON(&r), i, gm, wm)
		}
		if got[i].IsRaw() != want[i].IsRaw() || got[i].NumFields() != want[i].NumFields() {
			t.Fatalf("%s: record %d's shape differs", src, i)
		}
	}
}

// goValues are a record's fields with their Go types (printed, so that
// NaN equals NaN).
func goValues(r *agent.Record) map[string]string {
	m := map[string]string{}
	for k, v := range r.All() {
		m[k] = fmt.Sprintf("%T %#v", v, v)
	}
	return m
}

func fieldsJSON(r *agent.Record) string { return string(r.AppendFieldsJSON(nil)) }

// jqDiffRecords are records of each shape a jq step meets: typed (as
// parse steps and the schema make them), fields maps with nested values,
// and raw lines.
func jqDiffRecords() []agent.Record {
	at := time.Date(2026, 11, 21, 5, 41, 35, 120000000, time.UTC)
	typed := func(fs ...agent.Field) agent.Record {
		var r agent.Record
		r.StartTyped(len(fs))
		for _, f := range fs {
			r.SetValue(f.Key, f.Value)
		}
		return r
	}
	f := func(k string, v agent.Value) agent.Field { return agent.Field{Key: k, Value: v} }
	return []agent.Record{
		typed(f("client_ip", agent.StringValue("203.0.113.9")), f("method", agent.StringValue("GET")),
			f("path", agent.StringValue("/api")), f("status", agent.IntValue(200)), f("bytes", agent.IntValue(5120)),
			f("time", agent.TimeValue(at)), f("user", agent.StringValue("alice"))),
		typed(f("client_ip", agent.StringValue("10.0.0.1")), f("method", agent.StringValue("POST")),
			f("status", agent.IntValue(503)), f("bytes", agent.IntValue(228455)), f("time", agent.TimeValue(at.Add(time.Nanosecond)))),
		typed(f("a", agent.IntValue(math.MaxInt64)), f("b", agent.IntValue(math.MinInt64)), f("s", agent.StringValue("")),
			f("f", agent.FloatValue(1.5)), f("g", agent.FloatValue(-0.0)), f("t", agent.BoolValue(true)), f("u", agent.BoolValue(false))),
		typed(f("a", agent.FloatValue(2)), f("b", agent.IntValue(2)), f("s", agent.StringValue("é\"\n<")), f("f", agent.FloatValue(1e300)),
			f("n", agent.FloatValue(math.NaN())), f("status", agent.StringValue("200")), f("bytes", agent.FloatValue(100000.5))),
		typed(),
		agent.Record{}.WithFields(map[string]any{"a": int64(3), "b": "x", "nested": map[string]any{"k": []any{int64(1), "two", nil}},
			"list": []any{int64(1), 2.5}, "null": nil, "status": int64(404), "t": at}),
		agent.Record{}.WithFields(map[string]any{}),
		{Raw: []byte(`raw line with "quotes"`)},
	}
}

// jqDiffQueries cover the fast path, the fields-read path, and queries
// that need the whole record.
var jqDiffQueries = []string{
	// the fast path
	`{client_ip, method, path, status, bytes, slow: (.bytes > 100000)}`,
	`select(.status >= 500) | {client_ip, status}`,
	`select(.status >= 500)`,
	`select(.method == "GET") | select(.bytes < 10000) | {path}`,
	`{a, "b": .b, "c": (.a == .b), d: (.f != 1.5), e: (.s < "a"), g: (.t and .u), h: (.t or .u), i: (.missing // "x")}`,
	`{x: (.status | not), y: (.missing | not), z: (.a >= .b), w: (.a <= .f), v: (.b > .n), u: (.n < .b), q: (.n == .n)}`,
	`{k: .["client_ip"], l: ."method", m: 1, n: 1.0, o: 1e3, p: -1, q: true, r: false, s: "lit"}`,
	`{missing}`, `{a: null}`, `{time}`, `{t: .time, later: (.time > "2026")}`, `.`, `{}`, `(select(.a) | {a})`,
	`{a: 1, a: 2}`, `{a: 100000000000000000000}`, `{x: (.status > 100000000000000000000)}`,
	`{m: (.method | ascii_downcase), u: (.method | ascii_upcase), s: (.status | tostring), line: "\(.method) \(.path) \(.status)"}`,
	`{class: (if .status >= 500 then "server" elif .status >= 400 then "client" else "ok" end), t: (.t | tostring), x: "\(.u)/\(.b)"}`,
	`{x: (.f | tostring), y: (.a | ascii_downcase), z: "\(.f)", w: (.s | ascii_upcase), v: "\(.missing)", n: (.n | tostring)}`,
	`{x: (if .missing then 1 else .s end), y: (if .t then .missing else 2 end), z: (.time | ascii_downcase)}`,
	// only the fields read, on gojq
	`{client_ip, n: (.bytes + 1), m: (.status * 2), d: (.bytes / 3), s: "\(.method) \(.path)"}`,
	`{a: .nested.k, b: .list[0], c: .nested["k"][1:]}`, `{x: .list[.a]}`, `.a as $x | {$x, b}`,
	`if .status >= 500 then {bad: true} elif .status >= 400 then . else {status} end`,
	`if .status then . end`, `try error(.b) catch {e: .}`, `try {x: (.a + "s")} catch {e: .}`,
	`{x: (.a | tostring)}`, `{x: (.s | length)}`, `{(.b): 1}`, `{x: [.a, .b]}`, `{x: has("a"), y: has("zz")}`,
	`reduce (.list // [])[] as $v (0; . + $v) | {sum: .}`, `{a} + {b: 1}`, `label $out | {a}`,
	`.a, .b | {x: .}`, `{a}, {b}`, `., .`, `select(.a) // {z: 1}`, `{a: (.missing.x)}`, `{x: .a.b}`,
	`{x: (now | type)}`, `empty`, `{x: (.list | .[0])}`, `{a: -.a}`, `halt`, `error("x")`,
	`{x: .null}`, `.status`, `[.a]`, `{x: ("\(.a)" | ascii_downcase)}`, `{x: (.nested | keys)}`,
	// the whole record
	`keys`, `to_entries | map(select(.key != "b")) | from_entries`, `del(.b)`, `. + {x: 1}`, `.a = 1`,
	`{x: tojson}`, `{x: length}`, `[paths] | {n: length}`, `{x: [..] | length}`, `with_entries(.value |= tostring)`,
	`{x: .[]}`, `. as $r | {a: $r.a}`, `{x: .[.b]}`, `def f: .a; {x: f}`, `{x: (. == {})}`, `{"\(.b)"}`,
	`.a |= 1`, `{x: getpath(["a"])}`, `{x: (.[] | type)}`, `{x: @json}`, `{x: @base64 "\(.)"}`,
}

func TestJQFieldsReadMatchWholeRecord(t *testing.T) {
	for _, q := range jqDiffQueries {
		for _, r := range jqDiffRecords() {
			sameJQ(t, q, r)
		}
	}
}

func TestJQReads(t *testing.T) {
	for _, c := range []struct {
		q    string
		want string
	}{
		{`{client_ip, method, path, status, bytes, slow: (.bytes > 100000)}`, "bytes client_ip method path status"},
		{`select(.status >= 500)`, "status +out"},
		{`.a as $x | {$x, b: .c.d[.e]}`, "a c e"},
		{`{x: has("a")}`, "a"},
		{`{a: 1}`, ""},
		{`.a | keys`, "a"},
		{`keys`, "whole"},
		{`. + {x: 1}`, "whole"},
		{`.[.k]`, "whole"},
		{`def f: .; f`, "whole"},
		{`. as $r | $r.a`, "whole"},
		{`{"\(.a)"}`, "whole"},
		{`.a = 1`, "whole"},
		{`..`, "whole"},
	} {
		q, err := gojq.Parse(c.q)
		if err != nil {
			t.Fatal(err)
		}
		r := analyseJQ(q)
		got := strings.Join(r.keys, " ")
		if r.mayOutput {
			got += " +out"
		}
		if r.whole {
			got = "whole"
		}
		if got != c.want {
			t.Errorf("%s: reads %q, want %q", c.q, got, c.want)
		}
	}
}

func TestJQFastPathTaken(t *testing.T) {
	for q, want := range map[string]bool{
		`{client_ip, method, path, status, bytes, slow: (.bytes > 100000)}`: true,
		`select(.status >= 500) | {client_ip}`:                              true,
		`select(.a) | select(.b)`:                                           true,
		`{a: (.x // "d"), b: (.y | not), c: (.z and .w)}`:                   true,
		`{a: (.x + 1)}`:    false,
		`{a: .x.y}`:        false,
		`{a: 1, a: 2}`:     false,
		`{(.k): 1}`:        false,
		`{a} | {b: .a}`:    false,
		`def f: 1; {a: f}`: false,
		`{a: 1e1000}`:      true, // a float, as on gojq
		`{a: (.x | ascii_downcase), b: "\(.y)-\(.z)", c: (if .s then .x elif .t then 1 else "z" end), d: (.n | tostring)}`: true,
		`{a: (if .x then 1 end)}`: false,
		`{a: (.x | length)}`:      false,
		`.a as $x | {a: 1}`:       false,
	} {
		p, err := gojq.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		if got := compileJQFast(p) != nil; got != want {
			t.Errorf("%s: fast path %v, want %v", q, got, want)
		}
	}
}

// FuzzJQ generates queries and records from the fuzzer's bytes (a jq
// grammar of fields, literals, comparisons, logic, arithmetic, strings,
// objects and the functions that need the whole record) and checks both
// ways agree.
func FuzzJQ(f *testing.F) {
	for i := range 64 {
		f.Add(uint64(i), uint64(i*7919))
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		g := &jqGen{rnd: rand.New(rand.NewPCG(s1, s2))}
		q := g.query()
		if _, err := gojq.Parse(q); err != nil {
			t.Fatalf("generated %q: %v", q, err)
		}
		sameJQ(t, q, g.record())
	})
}

type jqGen struct {
	rnd   *rand.Rand
	depth int
}

var jqGenKeys = []string{"a", "b", "s", "f", "t", "u", "n", "status", "missing", "time"}

func (g *jqGen) pick(xs ...string) string { return xs[g.rnd.IntN(len(xs))] }

func (g *jqGen) key() string { return jqGenKeys[g.rnd.IntN(len(jqGenKeys))] }

func (g *jqGen) query() string {
	switch g.rnd.IntN(10) {
	case 0:
		return "select(" + g.expr() + ")"
	case 1, 2:
		return "select(" + g.expr() + ") | " + g.object()
	case 3:
		return g.pick(".", "keys | {n: length}", "del(."+g.key()+")", ". + "+g.object(), "."+g.key()+" = "+g.expr(),
			"if "+g.expr()+" then . else "+g.object()+" end", g.object()+", "+g.object(), "."+g.key()+" as $v | {$v}")
	}
	return g.object()
}

func (g *jqGen) object() string {
	n := g.rnd.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		k := g.key()
		switch g.rnd.IntN(3) {
		case 0:
			parts[i] = k
		case 1:
			parts[i] = `"` + k + `": ` + g.expr()
		default:
			parts[i] = k + ": (" + g.expr() + ")"
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (g *jqGen) expr() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 3 {
		return g.leaf()
	}
	switch g.rnd.IntN(12) {
	case 0, 1, 2:
		return g.leaf()
	case 3, 4:
		return "(" + g.expr() + " " + g.pick("==", "!=", "<", "<=", ">", ">=") + " " + g.expr() + ")"
	case 5:
		return "(" + g.expr() + " " + g.pick("and", "or", "//") + " " + g.expr() + ")"
	case 6:
		return "(" + g.expr() + " | not)"
	case 7:
		return "(" + g.expr() + " " + g.pick("+", "-", "*", "/", "%") + " " + g.expr() + ")"
	case 8:
		return `"\(` + g.expr() + `)-x"`
	case 9:
		return "(" + g.expr() + " | " + g.pick("tostring", "type", "length", "tojson", "not", "floor", "ascii_downcase") + ")"
	case 10:
		return g.pick("has(\""+g.key()+"\")", "length", "(keys | length)", "."+g.key()+"?", "[."+g.key()+"][0]", "(.t | if . then 1 else 2 end)")
	}
	return "(if " + g.expr() + " then " + g.expr() + " else " + g.expr() + " end)"
}

func (g *jqGen) leaf() string {
	switch g.rnd.IntN(6) {
	case 0, 1, 2:
		return "." + g.key()
	case 3:
		return g.pick("0", "1", "-1", "2.5", "1e3", "100000", "9223372036854775807", "1e400")
	case 4:
		return g.pick(`""`, `"a"`, `"GET"`, `"2026"`, `"é"`)
	}
	return g.pick("null", "true", "false")
}

func (g *jqGen) record() agent.Record {
	var r agent.Record
	r.StartTyped(len(jqGenKeys))
	for _, k := range jqGenKeys {
		if k == "missing" || g.rnd.IntN(5) == 0 {
			continue
		}
		var v agent.Value
		switch g.rnd.IntN(7) {
		case 0:
			v = agent.StringValue(g.pick("", "a", "GET", "2026", "é", "ÉtÉ", "10", "\xff\xfeb", "a\x00b"))
		case 1:
			ints := []int64{0, 1, -1, 2, 100000, math.MaxInt64, math.MinInt64, 1<<53 + 1}
			v = agent.IntValue(ints[g.rnd.IntN(len(ints))])
		case 2:
			floats := []float64{0, 1, 2.5, -0.5, 1e300, 100000, math.NaN(), math.Copysign(0, -1), 1 << 53}
			v = agent.FloatValue(floats[g.rnd.IntN(len(floats))])
		case 3:
			v = agent.BoolValue(g.rnd.IntN(2) == 0)
		case 4:
			v = agent.TimeValue(time.Unix(int64(g.rnd.IntN(2e9)), int64(g.rnd.IntN(3))*500000000))
		default:
			v = agent.IntValue(int64(g.rnd.IntN(600)))
		}
		r.SetValue(k, v)
	}
	if g.rnd.IntN(8) == 0 {
		m := r.MaterializeFields() // the same fields, as a map
		// and what only a map holds: null, lists, objects
		for _, k := range jqGenKeys {
			if k == "missing" || g.rnd.IntN(4) != 0 {
				continue
			}
			m[k] = []any{nil, []any{int64(1), "x"}, map[string]any{"k": int64(2), "l": []any{}}, map[string]any{}}[g.rnd.IntN(4)]
		}
	}
	return r
}

// TestJQOneOutputMadeInPlace runs typed records through the jq step and
// the steps after it, on the fast path and on gojq: the record a query
// makes is sent in its input's place with the input's token, a select or a
// where drops it (acknowledged and counted), and a later step that fails
// dead-letters the input as it came, not the query's output.
func TestJQOneOutputMadeInPlace(t *testing.T) {
	for _, query := range []string{
		`select(.s != "drop") | {n, s, big: (.n > "5")}`,                    // the fast path
		`select(.s != "drop") | {n, s, big: (.n > "5"), x: ([1] | length)}`, // gojq, given n and s
	} {
		tr, out, dl := build(t, `
parse "regex" { pattern = "^(?P<n>\\d+) (?P<s>\\S+)$" }
jq = "`+strings.ReplaceAll(query, `"`, `\"`)+`"
where = "s != 'skip'"
set {
  y = "s == 'boom' ? int('zz') : 1"
}
`)
		acks := agent.NewAcks()
		done, failed := 0, false
		lines := []string{"1 a", "7 b", "2 drop", "3 skip", "4 boom", "9 c"}
		tok := acks.NewToken(len(lines), func(f bool) { done++; failed = f })
		b := make(agent.Batch, len(lines))
		for i, l := range lines {
			b[i] = agent.Record{Raw: []byte(l), Origin: agent.Origin{Component: "source.x", Offset: int64(i)}}
			b[i].SetToken(tok)
		}
		if err := tr.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range out.got {
			if r.Origin.Rule != "transform.t" || r.Origin.Index != 0 || r.Token() != tok {
				t.Fatalf("%s: record %s: origin %+v", query, fieldsJSON(&r), r.Origin)
			}
			got = append(got, fieldsJSON(&r))
		}
		want := `{"big":false,"n":"1","s":"a","y":1} {"big":true,"n":"7","s":"b","y":1} {"big":true,"n":"9","s":"c","y":1}`
		if strings.Contains(query, "length") {
			want = strings.ReplaceAll(want, `,"y":1}`, `,"x":1,"y":1}`)
		}
		if strings.Join(got, " ") != want {
			t.Fatalf("%s: records\n  %s\nwant\n  %s", query, strings.Join(got, " "), want)
		}
		if len(dl.got) != 1 {
			t.Fatalf("%s: %d dead letters", query, len(dl.got))
		}
		d := dl.got[0].MaterializeFields()
		if d["step"] != "set" || fmt.Sprint(d["fields"]) != "map[n:4 s:boom]" {
			t.Fatalf("%s: dead letter %v", query, d)
		}
		if n := testutil.ToFloat64(tr.drops); n != 1 {
			t.Fatalf("%s: %v dropped by where, want 1", query, n)
		}
		if n := testutil.ToFloat64(tr.jqEmpty); n != 1 {
			t.Fatalf("%s: %v made nothing, want 1", query, n)
		}
		if done != 1 || failed || acks.InFlight() != 0 {
			t.Fatalf("%s: token done %d times (failed %v), in flight %d", query, done, failed, acks.InFlight())
		}
	}
}
