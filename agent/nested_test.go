package agent

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// nestedParts are path parts chosen to sort in every way that matters: a
// part that is a prefix of another ("http", "http_x", "http.a"), bytes
// below and above the letters, an empty-looking one.
var nestedParts = []string{"http", "http_x", "http.a", "a", "a-b", "a b", "b", "request", "method", "é", "Z", "~", "x\"y"}

// randomPaths returns n paths with no conflict (no path is a prefix of
// another), each of up to 4 parts.
func randomPaths(rng *rand.Rand, n int) [][]string {
	var out [][]string
	seen := map[string]bool{}
	for len(out) < n {
		p := make([]string, 1+rng.IntN(4))
		for i := range p {
			p[i] = nestedParts[rng.IntN(len(nestedParts))]
		}
		k := PathKey(p...)
		conflict := false
		for s := range seen {
			if s == k || strings.HasPrefix(s, k+PathSep) || strings.HasPrefix(k, s+PathSep) {
				conflict = true
				break
			}
		}
		if !conflict {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// TestNestedTypedEncodeAsMap: typed fields keyed by paths, set in any order
// (or appended in key order), encode to the same bytes as the nested maps
// parse "json" makes, with the same keys in the same order, and
// materialize to those maps.
func TestNestedTypedEncodeAsMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	when := time.Date(2026, 11, 21, 5, 0, 0, 120, time.UTC)
	vals := []Value{StringValue("v"), IntValue(-3), FloatValue(0.5), BoolValue(true), TimeValue(when), StringValue("a\u2028\"b")}
	for range 500 {
		paths := randomPaths(rng, 1+rng.IntN(12))
		want := map[string]any{}
		set := Record{Origin: Origin{Host: "h"}, Time: when}
		set.StartTyped(2)
		var fs TypedFields
		for i, p := range paths {
			v := vals[(i+rng.IntN(len(vals)))%len(vals)]
			setPathIn(want, PathKey(p...), v.Any())
			set.SetValue(PathKey(p...), v)
			fs = append(fs, Field{Key: PathKey(p...), Value: v})
		}
		slices.SortFunc(fs, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
		appended := Record{Origin: Origin{Host: "h"}, Time: when}
		appended.StartTyped(len(fs))
		for _, f := range fs {
			appended.AppendPathInOrder(f.Key, f.Value)
		}
		m := Record{Origin: Origin{Host: "h"}, Time: when}.WithFields(CloneMap(want))
		wantJSON := string(AppendJSON(nil, &m))
		var e Encoder
		for _, r := range []*Record{&set, &appended} {
			if got := string(AppendJSON(nil, r)); got != wantJSON {
				t.Fatalf("paths %q:\n got %s\nwant %s", paths, got, wantJSON)
			}
			if got := string(e.Append(nil, r)); got != wantJSON {
				t.Fatalf("encoder, paths %q:\n got %s\nwant %s", paths, got, wantJSON)
			}
			if got := string(r.AppendFieldsJSON(nil)); !strings.Contains(wantJSON, `"fields":`+got+`,"origin"`) {
				t.Fatalf("fields %s not in %s", got, wantJSON)
			}
			if r.NumFields() != len(want) {
				t.Fatalf("NumFields %d, want %d (%q)", r.NumFields(), len(want), paths)
			}
			c := r.Clone()
			if got := c.MaterializeFields(); !reflect.DeepEqual(got, want) {
				t.Fatalf("materialized %v, want %v", got, want)
			}
		}
	}
}

// ecsRecord is what parse "grok" makes of a combined log line with ECS
// names: typed fields keyed by paths.
func ecsRecord() Record {
	r := Record{Raw: []byte("line"), Kind: "k", Origin: Origin{Host: "h", Component: "source.file.x"}}
	r.StartTyped(8)
	r.AppendPathInOrder(PathKey("http", "request", "method"), StringValue("GET"))
	r.AppendPathInOrder(PathKey("http", "response", "status_code"), IntValue(200))
	r.AppendPathInOrder(PathKey("http", "version"), StringValue("1.1"))
	r.AppendPathInOrder(PathKey("source", "address"), StringValue("10.0.0.1"))
	r.AppendPathInOrder("timestamp", StringValue("21/Nov/2026:05:00:00 +0000"))
	r.AppendPathInOrder(PathKey("url", "original"), StringValue("/a"))
	return r
}

// TestNestedTypedGetSetDelete: Get by path and by top-level key, Lookup,
// Set and Delete on paths, and a later write to an object (a map write)
// that lands in the record as it would on a fields map.
func TestNestedTypedGetSetDelete(t *testing.T) {
	r := ecsRecord()
	if r.Typed() || !r.HoldsTyped() {
		t.Fatal("a record with nested typed fields must not be walked as flat typed fields")
	}
	if v, ok := r.Get(PathKey("http", "response", "status_code")); !ok || v != int64(200) {
		t.Fatalf("Get by path: %v %v", v, ok)
	}
	if v, ok := r.Lookup(PathKey("source", "address")); !ok || v.Str() != "10.0.0.1" {
		t.Fatalf("Lookup by path: %v %v", v, ok)
	}
	if _, ok := r.Lookup("http"); ok {
		t.Fatal("an object is not a scalar")
	}
	if _, ok := r.Get(PathKey("timestamp", "x")); ok {
		t.Fatal("a path through a scalar")
	}
	if v, ok := r.Get("timestamp"); !ok || v != "21/Nov/2026:05:00:00 +0000" || !r.HoldsTyped() {
		t.Fatalf("a top-level scalar is read without materializing: %v", v)
	}
	// Setting a path keeps the fields typed; a leaf replaces an object and
	// an object a leaf, as in a map.
	r.SetValue(PathKey("http", "request", "referrer"), StringValue("-"))
	r.Set(PathKey("url", "original", "x"), "leaf under a former leaf")
	r.Set(PathKey("source"), "flat now")
	if !r.HoldsTyped() {
		t.Fatal("scalars set by path left the typed fields")
	}
	want := `{"http":{"request":{"method":"GET","referrer":"-"},"response":{"status_code":200},"version":"1.1"},"source":"flat now","timestamp":"21/Nov/2026:05:00:00 +0000","url":{"original":{"x":"leaf under a former leaf"}}}`
	if got := string(r.AppendFieldsJSON(nil)); got != want {
		t.Fatalf("after sets:\n got %s\nwant %s", got, want)
	}
	r.Delete(PathKey("http", "request"))
	r.Delete("url")
	want = `{"http":{"response":{"status_code":200},"version":"1.1"},"source":"flat now","timestamp":"21/Nov/2026:05:00:00 +0000"}`
	if got := string(r.AppendFieldsJSON(nil)); got != want {
		t.Fatalf("after deletes:\n got %s\nwant %s", got, want)
	}

	// Get of an object gives the map the record holds from then on: a
	// write to it is a write to the record, merged with what was there.
	r = ecsRecord()
	obj, ok := r.Get("http")
	if !ok {
		t.Fatal("Get of an object")
	}
	obj.(map[string]any)["request"].(map[string]any)["body"] = "added"
	r.Set(PathKey("http", "response", "status_code"), int64(404))
	want = `{"http":{"request":{"body":"added","method":"GET"},"response":{"status_code":404},"version":"1.1"},"source":{"address":"10.0.0.1"},"timestamp":"21/Nov/2026:05:00:00 +0000","url":{"original":"/a"}}`
	if got := string(AppendJSON(nil, &r)); !strings.Contains(got, `"fields":`+want) {
		t.Fatalf("after a map write:\n got %s\nwant %s", got, want)
	}
	// A map written over a top-level key replaces the object.
	r = ecsRecord()
	r.Set("http", map[string]any{"other": int64(1)})
	if got := string(r.AppendFieldsJSON(nil)); !strings.HasPrefix(got, `{"http":{"other":1},"source":`) {
		t.Fatalf("map over an object: %s", got)
	}
	// All yields the objects, as a fields map would.
	r = ecsRecord()
	keys := []string{}
	for k, v := range r.All() {
		keys = append(keys, k)
		if k == "http" {
			if v.(map[string]any)["version"] != "1.1" {
				t.Fatalf("All: http = %v", v)
			}
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"http", "source", "timestamp", "url"}) {
		t.Fatalf("All keys %v", keys)
	}
	// A fields map takes path keys too.
	m := Record{}.WithFields(map[string]any{"a": map[string]any{"b": int64(1)}})
	if v, ok := m.Get(PathKey("a", "b")); !ok || v != int64(1) {
		t.Fatalf("map Get by path: %v", v)
	}
	m.SetValue(PathKey("a", "c", "d"), StringValue("x"))
	m.Delete(PathKey("a", "b"))
	if got := string(m.AppendFieldsJSON(nil)); got != `{"a":{"c":{"d":"x"}}}` {
		t.Fatalf("map set/delete by path: %s", got)
	}
}

// TestNestedTypedDeadLetter: a dead letter of a record with nested typed
// fields carries them as objects, as it carries a fields map's.
func TestNestedTypedDeadLetter(t *testing.T) {
	r := ecsRecord()
	m := ecsRecord()
	m.MaterializeFields()
	a := NewDeadLetter(&r, DeadLetter{Component: "transform.x", Step: "schema", Reason: "schema"})
	b := NewDeadLetter(&m, DeadLetter{Component: "transform.x", Step: "schema", Reason: "schema"})
	ga, gb := string(AppendJSON(nil, &a)), string(AppendJSON(nil, &b))
	if ga != gb || !strings.Contains(ga, `"fields":{"http":{"request":{"method":"GET"}`) {
		t.Fatalf("dead letters differ:\n%s\n%s", ga, gb)
	}
}

func BenchmarkEncoderNestedTyped(b *testing.B) {
	r := ecsRecord()
	benchEncoder(b, &r)
}

// TestEncoderPathStepsReuse: an encoder that keeps what it writes between
// nested fields (pathLayout) writes what AppendJSON writes, record after
// record: the same key strings with fields left out at random (grok's
// optional captures), the same keys at new addresses, and more keys than
// its layout holds.
func TestEncoderPathStepsReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	keys := []string{
		PathKey("http", "request", "method"), PathKey("http", "request", "referrer"),
		PathKey("http", "response", "body", "bytes"), PathKey("http", "response", "status_code"),
		PathKey("http", "version"), PathKey("source", "address"), "timestamp",
		PathKey("url", "original"), PathKey("user", "name"), PathKey("user_agent", "original"),
	}
	many := []string{""} // an empty key (prev "" not first); more keys than the layout holds
	for i := range maxLayoutKeys + 16 {
		many = append(many, PathKey("a", string(rune('a'+i%26)), strings.Repeat("x", i)))
	}
	slices.Sort(many)
	var e Encoder
	for round := range 3000 {
		set := keys
		switch round % 3 {
		case 1:
			set = make([]string, len(keys))
			for i, k := range keys {
				set[i] = strings.Clone(k) // the same keys at other addresses
			}
		case 2:
			set = many
		}
		r := Record{Origin: Origin{Host: "h"}, Kind: "k"}
		r.StartTyped(len(set))
		for _, k := range set {
			if rng.IntN(3) == 0 {
				continue
			}
			r.AppendPathInOrder(k, StringValue(k))
		}
		want := string(AppendJSON(nil, &r))
		if got := string(e.Append(nil, &r)); got != want {
			t.Fatalf("round %d:\n got %s\nwant %s", round, got, want)
		}
	}
}
