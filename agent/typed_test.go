package agent

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAppendRFC3339MatchesTimeFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []time.Time{
		time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-1, 999999999), time.Unix(1, 100),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 500000000, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 21, 5, 0, 0, 120000, time.FixedZone("x", 3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for range 200000 {
		sec := rng.Int64N(253402300800+62135596800) - 62135596800
		ns := int64(0)
		switch rng.IntN(3) {
		case 1:
			ns = rng.Int64N(1e9)
		case 2:
			ns = rng.Int64N(1000) * 1e6
		}
		cases = append(cases, time.Unix(sec, ns))
	}
	for _, tm := range cases {
		want := tm.UTC().Format(time.RFC3339Nano)
		got := string(appendRFC3339(nil, tm.Unix(), int32(tm.Nanosecond())))
		if got != want {
			t.Fatalf("%v: got %s, want %s", tm, got, want)
		}
	}
}

// TestTypedFieldsEncodeAsMap checks that a record with typed fields writes
// the same bytes as the same record with a fields map, whatever order the
// fields were set in.
func TestTypedFieldsEncodeAsMap(t *testing.T) {
	when := time.Date(2026, 11, 21, 5, 0, 0, 0, time.FixedZone("x", -7200))
	values := map[string]any{
		"status": int64(200), "path": "/a\"b", "ratio": 0.25, "big": 1e300, "ok": true, "no": false,
		"time": when, "user_agent": "Mozilla/5.0 \u2028 é", "client_ip": "10.0.0.1", "z": "",
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		typed := Record{Raw: []byte("line"), Origin: Origin{Host: "h"}}
		typed.StartTyped(4)
		for _, k := range keys {
			typed.Set(k, values[k])
		}
		typed.Delete("z")
		typed.Set("status", int64(201))
		if !typed.Typed() {
			t.Fatal("scalars made the record leave its typed fields")
		}
		m := Record{Raw: []byte("line"), Origin: Origin{Host: "h"}}.WithFields(CloneMap(values))
		delete(m.fields, "z")
		m.fields["status"] = int64(201)
		if a, b := string(AppendJSON(nil, &typed)), string(AppendJSON(nil, &m)); a != b {
			t.Fatalf("typed fields encode differently:\n%s\n%s", a, b)
		}
		c := typed.Clone()
		c.Set("status", int64(500))
		if v, _ := typed.Lookup("status"); v.Int() != 201 {
			t.Fatal("a clone shares its typed fields")
		}
		got := typed.MaterializeFields()
		if typed.Typed() || got["status"] != int64(201) || !got["time"].(time.Time).Equal(when) || len(got) != len(values)-1 {
			t.Fatalf("materialized %v", got)
		}
	}
}

func TestTypedFieldsLeaveForNonScalars(t *testing.T) {
	r := Record{}
	r.StartTyped(2)
	r.SetValue("a", IntValue(1))
	r.Set("list", []any{"x"})
	if r.Typed() || r.fields["a"] != int64(1) || len(r.fields["list"].([]any)) != 1 {
		t.Fatalf("got typed=%v fields %v", r.Typed(), r.fields)
	}
	f := FloatValue(math.Inf(1))
	if string(f.AppendJSON(nil)) != "null" {
		t.Fatal("an infinite float is not null")
	}
}

func BenchmarkAppendJSONTyped(b *testing.B) {
	r := benchTypedRecord()
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendJSON(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkEncoderTyped is what a sink pays per record: an Encoder reuses
// the encoded origin, kind and second.
func BenchmarkEncoderTyped(b *testing.B) {
	r := benchTypedRecord()
	benchEncoder(b, &r)
}

// BenchmarkEncoderTypedMixed is BenchmarkEncoderTyped over records whose
// keys vary as the nginx pack's do: a user on one record in four, no
// referer on one in three.
func BenchmarkEncoderTypedMixed(b *testing.B) {
	rs := make([]Record, 12)
	for i := range rs {
		r := benchTypedRecord()
		if i%4 == 0 {
			r.SetValue("user", StringValue("alice"))
		}
		if i%3 == 0 {
			r.Delete("referer")
		}
		rs[i] = r
	}
	var e Encoder
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = e.Append(buf[:0], &rs[i%len(rs)])
	}
	b.SetBytes(int64(len(buf)))
}

// benchEncoder encodes r with one Encoder, as a sink does.
func benchEncoder(b *testing.B, r *Record) {
	var e Encoder
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = e.Append(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func benchTypedRecord() Record {
	r := Record{Time: time.Now(), Kind: "http_request", Origin: Origin{Host: "node-1", Component: "source.file.nginx", Stream: "65024:5309593:3286dd5c70ca1ed0", Offset: 123456, Rule: "transform.nginx_access", Path: "/var/log/nginx/access.log", Device: 65024, Inode: 5309593}}
	r.StartTyped(11)
	r.SetValue("bytes", IntValue(228455))
	r.SetValue("client_ip", StringValue("10.90.132.230"))
	r.SetValue("method", StringValue("POST"))
	r.SetValue("path", StringValue("/logout"))
	r.SetValue("protocol", StringValue("HTTP/1.1"))
	r.SetValue("referer", StringValue("https://shop.example.com/cart"))
	r.SetValue("status", IntValue(403))
	r.SetValue("time", TimeValue(time.Now()))
	r.SetValue("user_agent", StringValue("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"))
	return r
}

// TestMergeSortedAsSetOneByOne compares MergeSorted with setting the same
// fields one at a time, on random existing and added keys.
func TestMergeSortedAsSetOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	for range 20000 {
		var a, b Record
		a.StartTyped(rng.IntN(12))
		b.StartTyped(0)
		for _, k := range keys {
			if rng.IntN(2) == 0 {
				a.SetValue(k, StringValue("old"+k))
				b.SetValue(k, StringValue("old"+k))
			}
		}
		var add []Field
		for i, k := range keys {
			if rng.IntN(3) == 0 {
				add = append(add, Field{Key: k, Value: IntValue(int64(i))})
			}
		}
		a.MergeSorted(add)
		for _, f := range add {
			b.SetValue(f.Key, f.Value)
		}
		if x, y := string(AppendJSON(nil, &a)), string(AppendJSON(nil, &b)); x != y {
			t.Fatalf("merge %v:\n%s\n%s", add, x, y)
		}
	}
}

type testRawFields struct{ topic string }

func (x *testRawFields) AddRawFields(m map[string]any) {
	m["src"] = map[string]any{"topic": x.topic, "offset": int64(7)}
}

// A raw record with a source's RawFields stays raw (the parse fast path),
// reads, encodes and dead-letters as if its fields map held message and
// the source's fields, and drops them once its fields start afresh.
func TestRawFieldsBuiltOnDemand(t *testing.T) {
	r := Record{Raw: []byte("GET /"), Origin: Origin{Host: "h", Component: "source.kafka.k", Stream: "t/0", Offset: 7}}
	r.SetRawFields(&testRawFields{topic: "t"})
	if !r.IsRaw() || !r.HasRawFields() || r.NumFields() != 2 {
		t.Fatalf("raw %v, raw fields %v, %d fields", r.IsRaw(), r.HasRawFields(), r.NumFields())
	}
	if v, ok := r.Get("src"); !ok || v.(map[string]any)["topic"] != "t" {
		t.Errorf("Get(src) = %v, %v", v, ok)
	}
	if m, _ := r.Get("message"); m != "GET /" {
		t.Errorf("Get(message) = %v", m)
	}
	var enc Encoder
	want := `"fields":{"message":"GET /","src":{"offset":7,"topic":"t"}}`
	if got := string(enc.Append(nil, &r)); !strings.Contains(got, want) {
		t.Errorf("wire form %s, want it to hold %s", got, want)
	}
	if !r.IsRaw() {
		t.Error("reading and encoding built the fields map")
	}
	dl := NewDeadLetter(&r, DeadLetter{Component: "transform.x", Step: "parse.regex", Reason: "no_match"})
	if f, _ := dl.Get("fields"); f.(map[string]any)["src"] == nil || f.(map[string]any)["message"] != nil {
		t.Errorf("dead letter fields = %v", f)
	}
	c := r
	c.StartTyped(2)
	c.AppendInOrder("status", IntValue(200))
	if got := string(c.AppendFieldsJSON(nil)); got != `{"status":200}` {
		t.Errorf("parsed fields = %s", got)
	}
	m := r.MaterializeFields()
	if len(m) != 2 || m["message"] != "GET /" || m["src"] == nil || r.HasRawFields() {
		t.Errorf("materialized %v", m)
	}
}

// TestEncoderKeyLayout encodes records whose keys come and go, with one
// Encoder, and checks each against AppendJSON, which writes every key
// afresh: keys skipped, added between others, too long to keep, needing
// escapes, equal in content but not in address, and more than a layout
// keeps.
func TestEncoderKeyLayout(t *testing.T) {
	pool := []string{"", "a", "bytes", "client_ip", "k\"q", "status", "t\u00e9", "user_agent",
		strings.Repeat("long", 10), strings.Repeat("x", 29), strings.Repeat("y", 30)}
	for i := range 80 {
		pool = append(pool, fmt.Sprintf("f%02d", i))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var e Encoder
	for range 3000 {
		var keys []string
		for _, k := range pool[:11+rng.IntN(len(pool)-10)] {
			if rng.IntN(3) > 0 {
				if rng.IntN(4) == 0 {
					k = strings.Clone(k) // same key, another address
				}
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		r := Record{Kind: "k", Origin: Origin{Host: "h"}}
		r.StartTyped(len(keys))
		for i, k := range keys {
			r.AppendInOrder(k, IntValue(int64(i)))
		}
		if got, want := string(e.Append(nil, &r)), string(AppendJSON(nil, &r)); got != want {
			t.Fatalf("keys %q:\n%s\nwant\n%s", keys, got, want)
		}
	}
	if len(e.keys) != maxLayoutKeys {
		t.Fatalf("the layout holds %d keys, want %d", len(e.keys), maxLayoutKeys)
	}
}

// TestLookupAtMatchesLookup: LookupAt finds what Lookup finds wherever
// the field moved since the last call, whether its key is the string the
// fields were keyed with or an equal one, and keeps where it found it.
func TestLookupAtMatchesLookup(t *testing.T) {
	keys := []string{"a", "b", "bytes", "c", "d", "e", "f", "g", "h", "time", "u", "v", "w", "x", "y", "z"}
	same := keys[9]
	other := strings.Clone(same)
	rng := rand.New(rand.NewPCG(3, 4))
	at := 0
	for n := 0; n < 2000; n++ {
		var fs TypedFields
		for i, k := range keys {
			if rng.IntN(3) > 0 || k == same && n%7 == 0 {
				fs = append(fs, Field{Key: k, Value: IntValue(int64(i))})
			}
		}
		key := same
		if n%2 == 1 {
			key = other
		}
		want, wantOK := fs.Lookup(key)
		got, ok := fs.LookupAt(key, &at)
		if got != want || ok != wantOK {
			t.Fatalf("fields %v, key %q at %d: LookupAt gives %v %v, Lookup %v %v", fs, key, at, got, ok, want, wantOK)
		}
		if ok && fs[at].Key != key {
			t.Fatalf("fields %v: at %d after finding %q", fs, at, key)
		}
	}
}
