package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/schema"
)

// awkStepWith builds an interpreted awk step (no native path) storing
// into sc; planned=false turns the capture plan off, so every set goes
// through the by-name path.
func awkStepWith(t testing.TB, prog string, sc *schema.Schema, planned bool) *awkStep {
	t.Helper()
	c, d := decodeRules(t, `parse "awk" { program = `+hclQuote(prog)+` }`)
	if d.HasErrors() {
		t.Fatal(d)
	}
	s := c.Steps[0].(*awkStep)
	s.native = nil
	s.schema = sc
	s.plan = newCapturePlan(s.names, sc)
	if !planned {
		s.plan = capturePlan{}
	}
	s.last = make([]int, len(s.plan.names))
	return s
}

func httpRequestSchema(t *testing.T) *schema.Schema {
	t.Helper()
	res, d := config.Load([]string{"../../configs/schemas"}, agent.NewRegistry())
	if d.HasErrors() {
		t.Fatal(d)
	}
	return res.Schemas["http_request"]
}

// The capture plan stores what the by-name path stores: the last set of a
// name wins, names the plan does not know (computed) still land, schema
// errors come in the order of the sets, and set calls in a different order
// from one line to the next are matched.
func TestAwkPlannedSetsMatchByName(t *testing.T) {
	sc := httpRequestSchema(t)
	progs := []string{
		// the nginx pack's shape, with a repeated name
		`{ n = split($0, a, " "); set("client_ip", a[1]); set("status", a[2]); set("bytes", a[3]); set("status", a[4]); set("method", a[5]) }`,
		// order of the sets depends on the line
		`$1 == "r" { set("method", $3); set("status", $2); next } { set("status", $2); set("method", $3) }`,
		// a computed name among literal ones
		`{ set("status", $2); set("x_" $1, $3); set("method", $3) }`,
		// schema errors on several fields: their order is the sets'
		`{ set("status", $2); set("client_ip", $1); set("bytes", $3); set("method", $4) }`,
		// numbers converted with CONVFMT, a missing argument is ""
		`BEGIN { CONVFMT = "%.2g" } { set("ratio", $2 / 3); set("empty"); set("status", $2 + 0) }`,
	}
	lines := []string{
		"10.0.0.1 200 512 404 GET", "r 201 POST", "q 202 PUT", "bad abc xyz NOPE", "", "10.0.0.2 -5 7 GET",
		"10.0.0.1 200 512 404 GET", "r 201 POST",
	}
	for _, p := range progs {
		planned, byName := awkStepWith(t, p, sc, true), awkStepWith(t, p, sc, false)
		for _, l := range lines {
			if a, b := awkResult(planned, []byte(l)), awkResult(byName, []byte(l)); a != b {
				t.Errorf("%s\n  line %q: planned %s, by name %s", p, l, a, b)
			}
		}
	}
	// The order of several schema errors is the order of the sets.
	s := awkStepWith(t, progs[3], sc, true)
	got := awkResult(s, []byte("bad abc xyz NOPE"))
	if i, j := strings.Index(got, "status"), strings.Index(got, "client_ip"); i < 0 || j < 0 || i > j {
		t.Errorf("errors %s: want status's before client_ip's", got)
	}
}

// A program keeps the state it has today across lines: each line is one
// run of the program (BEGIN and END run for every line, NR and FNR are 1),
// its variables and arrays are kept from line to line, and getline finds
// no more input.
func TestAwkStateAcrossLines(t *testing.T) {
	s := awkStepWith(t, `
BEGIN { begins++ }
{ seen[$1]++; total += $2
  r = getline more
  set("begins", begins); set("nr", NR); set("fnr", FNR); set("seen", seen[$1]); set("total", total)
  set("getline", r); set("more", more); set("ends", ends) }
END { ends++ }`, nil, true)
	want := []string{
		`{"begins":"1","ends":"","fnr":"1","getline":"0","more":"","nr":"1","seen":"1","total":"2"}`,
		`{"begins":"2","ends":"1","fnr":"1","getline":"0","more":"","nr":"1","seen":"1","total":"5"}`,
		`{"begins":"3","ends":"2","fnr":"1","getline":"0","more":"","nr":"1","seen":"2","total":"9"}`,
	}
	for i, l := range []string{"a 2", "b 3", "a 4"} {
		if got := awkResult(s, []byte(l)); got != want[i] {
			t.Errorf("line %d %q: got %s, want %s", i+1, l, got, want[i])
		}
	}
}

// split() refills its array in place only where that cannot be seen: the
// parts of a shorter split replace all of a longer one's, keys that are not
// numbers go, a for-in loop over the array being split sees the array it
// started with, an array passed to a function is split in the caller's,
// and a split over 256 parts gets its own map.
func TestAwkSplitArrays(t *testing.T) {
	s := awkStepWith(t, `
function parts(s, arr) { return split(s, arr, ",") }
{
  a["x"] = "keep?"
  n1 = split("p q r s t", a)
  n2 = split("u v", a)
  out = n1 "/" n2 ":" length(a) ":" a[1] a[2] ("3" in a) ("x" in a)
  # a for-in over b while b is split again: the loop sees the old keys
  split("1 2 3", b); visited = 0
  for (k in b) { visited++; split("only", b) }
  out = out ":" visited ":" length(b) b[1]
  # a local array parameter
  m = parts("i,j,,k", c); out = out ":" m c[3] "|" c[4]
  # a big split, then a small one into the same array
  big = ""; for (i = 1; i <= 300; i++) big = big i " "
  nb = split(big, d); ns = split("z", d)
  out = out ":" nb "/" ns "/" length(d) d[1] d[300]
  # separators: a single byte, one of several bytes (a regex), Unicode white space
  out = out ":" split("a|b||c", e, "|") e[3] "" e[4] ":" split("a1b22c", f, /[0-9]+/) f[3] ":" split("x\u2003y z", g) g[2]
  set("out", out)
}`, nil, true)
	want := `{"out":"5/2:2:uv00:3:1only:4|k:300/1/1z:4c:3c:3y"}`
	for i := 0; i < 3; i++ { // the same on every line: nothing left from the last
		if got := awkResult(s, []byte("line")); got != want {
			t.Fatalf("run %d: got %s, want %s", i+1, got, want)
		}
	}
}

// FuzzAwkSplit: split() on the patched interpreter splits as
// strings.Fields (FS " ") and strings.Split (a one-byte separator) do, on
// any line the interpreter reads as one record.
func FuzzAwkSplit(f *testing.F) {
	for _, s := range append(fuzzSeeds, "a b  c", " lead", "x,,y,", "é\u2003ü ß,\u00a0", "\t\v\f", ",") {
		f.Add(s)
	}
	s := awkStepWith(f, `{
  out = ""; n = split($0, a); for (i = 1; i <= n; i++) out = out "[" a[i] "]"
  out = out n "/"; n = split($0, b, ","); for (i = 1; i <= n; i++) out = out "[" b[i] "]"
  set("out", out n)
}`, nil, true)
	f.Fuzz(func(t *testing.T, line string) {
		if line == "" || strings.ContainsAny(line, "\r\n") {
			return // not one record: $0 is not the line
		}
		var want strings.Builder
		for _, p := range strings.Fields(line) {
			want.WriteString("[" + p + "]")
		}
		fmt.Fprintf(&want, "%d/", len(strings.Fields(line)))
		for _, p := range strings.Split(line, ",") {
			want.WriteString("[" + p + "]")
		}
		fmt.Fprintf(&want, "%d", len(strings.Split(line, ",")))
		r := agent.Record{Raw: []byte(line)}
		if err := s.Apply(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		if got := r.MaterializeFields()["out"]; got != want.String() {
			t.Fatalf("%q: split gives %q, want %q", line, got, want.String())
		}
	})
}
