package agent

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	r := Record{
		Time:   time.Date(2026, 11, 21, 5, 41, 35, 123456789, time.FixedZone("x", 3600)),
		Kind:   "http_request",
		Entity: []KV{{"namespace", "prod"}, {"deployment", "api"}},
		Origin: Origin{Host: "node-1", Component: "source.file.nginx", Stream: "1:2:ab", Offset: 42, Rule: "transform.x", Path: "/var/log/a.log", Device: 1, Inode: 2},
	}.WithFields(map[string]any{
		"status": int64(404), "ratio": 0.25, "ok": true, "none": nil,
		"path": "/a?b=\"c\"&d=<e>\n\t\\", "bad_utf8": "a\xffb", "sep": "a\u2028b",
		"list": []any{int64(1), "two", map[string]any{"z": 1.5e300, "a": "x"}},
		"at":   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	b := AppendJSON(nil, &r)
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var w WireRecord
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if w.ID != r.Origin.ComputeID() || len(w.ID) != 32 {
		t.Errorf("id %q", w.ID)
	}
	if !w.Time.Equal(r.Time) || w.Kind != "http_request" || len(w.Entity) != 2 || w.Entity[1].Value != "api" {
		t.Errorf("header decoded as %+v", w)
	}
	if w.Fields["path"] != r.fields["path"] || w.Fields["bad_utf8"] != "a\ufffdb" || w.Fields["sep"] != "a\u2028b" {
		t.Errorf("strings decoded as %q %q %q", w.Fields["path"], w.Fields["bad_utf8"], w.Fields["sep"])
	}
	if w.Fields["status"] != 404.0 || w.Fields["ok"] != true || w.Fields["none"] != nil || w.Fields["at"] != "2026-01-02T03:04:05Z" {
		t.Errorf("values decoded as %v", w.Fields)
	}
	if w.Origin.Offset != 42 || w.Origin.Inode != 2 || w.Origin.Rule != "transform.x" {
		t.Errorf("origin %+v", w.Origin)
	}
	// Same record, same bytes (sorted keys).
	if string(AppendJSON(nil, &r)) != string(b) {
		t.Error("encoding is not deterministic")
	}
}

func TestRawRecordCarriesLineAsMessage(t *testing.T) {
	r := Record{Raw: []byte("GET / \"x\""), Origin: Origin{Component: "source.stdin.in"}}
	var w WireRecord
	if err := json.Unmarshal(AppendJSON(nil, &r), &w); err != nil {
		t.Fatal(err)
	}
	if w.Kind != KindRaw || w.Fields["message"] != "GET / \"x\"" {
		t.Fatalf("raw record encoded as %+v", w)
	}
}

func TestIDsAreDeterministicAndDistinct(t *testing.T) {
	base := Origin{Host: "h", Component: "source.file.a", Stream: "1:2:ff", Offset: 100}
	ids := map[string]string{}
	add := func(name string, o Origin) {
		id := o.ComputeID()
		if prev, dup := ids[id]; dup {
			t.Fatalf("%s and %s share id %s", name, prev, id)
		}
		ids[id] = name
	}
	add("base", base)
	o := base
	o.Offset = 101
	add("offset", o)
	o = base
	o.Host = "h2"
	add("host", o)
	o = base
	o.Derive("transform.x", 0)
	add("rule", o)
	o.Derive("transform.y", 0)
	add("chain", o)
	o = base
	o.Derive("transform.x", 1)
	add("index", o)
	o = base
	o.Path = "/rotated/elsewhere"
	if o.ComputeID() != base.ComputeID() {
		t.Fatal("the path changed the id; a rotated file must keep its ids")
	}
}

func TestAppendStringFuzzyAgainstStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.IntN(40))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		s := string(b)
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, out, err)
		}
		var want strings.Builder
		for _, c := range s { // ranging a string yields U+FFFD per invalid byte
			want.WriteRune(c)
		}
		if back != want.String() {
			t.Fatalf("%q round-tripped as %q, want %q", s, back, want.String())
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := Record{Time: time.Now(), Kind: "http_request", Origin: Origin{Host: "node-1", Component: "source.file.nginx", Stream: "1:2:ab", Offset: 4096, Rule: "transform.nginx_access"}}.WithFields(map[string]any{
		"client_ip": "203.0.113.9", "user": "-", "method": "GET", "path": "/api/v1/items?page=2",
		"protocol": "HTTP/1.1", "status": int64(200), "bytes": int64(5120), "referer": "-",
		"user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
	})
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.ID = ""
		buf = AppendJSON(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}

// TestEncoderReusesOnlyWhatRepeats checks that an Encoder, which caches the
// encoded origin, kind, entity and second, writes exactly what AppendJSON
// writes across records whose origin, kind, entity and time change or
// stay (an entity of the same length in another slice, a sub-slice of the
// same array).
func TestEncoderReusesOnlyWhatRepeats(t *testing.T) {
	base := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	origins := []Origin{
		{Host: "a", Component: "source.file.x", Stream: "1:2:3", Path: "/var/log/x.log", Device: 1, Inode: 2},
		{Host: "a", Component: "source.file.x", Stream: "1:2:3", Path: "/var/log/x.log.1", Device: 1, Inode: 2},
		{Host: "a", Component: "source.file.x", Stream: "1:2:4", Rule: "transform.t", Index: 2},
		{Host: "b", Component: "source.kafka.k", Stream: "t/0", Topic: "t", Partition: 3},
		{Host: "b", Component: "source.kafka.k", Stream: "t/0", Topic: "t", Partition: 4},
	}
	ents := [][]KV{
		{{Key: "k8s.pod.name", Value: "api-1"}, {Key: "log.iostream", Value: "stdout"}},
		{{Key: "k8s.pod.name", Value: "api-2"}, {Key: "log.iostream", Value: "stdout"}},
		nil,
		{{Key: "k8s.pod.name", Value: "api-1"}, {Key: "log.iostream", Value: "stderr"}, {Key: "k8s.pod.label.app", Value: "a\"b"}},
	}
	ents = append(ents, ents[3][:2])
	var e Encoder
	var got, want []byte
	for i := range 200 {
		r := Record{
			Time:   base.Add(time.Duration(i%7) * 400 * time.Millisecond),
			Kind:   []string{"", "http_request", "dead_letter"}[i%3],
			Origin: origins[(i/3)%len(origins)],
			Raw:    []byte("line \"" + string(rune('a'+i%26)) + "\""),
			Entity: ents[(i/2)%len(ents)],
		}
		r.Origin.Offset = int64(i * 100)
		if r.Origin.Rule != "" {
			r.Origin.Index = i % 5 // the ID key's last bytes
		}
		if i%13 == 0 {
			r.ID = "given"
		}
		if i%4 == 0 {
			r.StartTyped(2)
			r.SetValue("at", TimeValue(base.Add(time.Duration(i)*time.Second)))
			r.SetValue("n", IntValue(int64(i)))
		}
		if i%11 == 0 {
			r.Time = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC) // outside the fast formatter's years
		}
		got = e.Append(got[:0], &r)
		want = AppendJSON(want[:0], &r)
		if string(got) != string(want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestPlainWordIsExact compares the word-at-a-time check with the byte
// definition on random words made of the bytes around each boundary.
func TestPlainWordIsExact(t *testing.T) {
	edges := []byte{0, 1, 0x1f, 0x20, 0x21, '"' - 1, '"', '"' + 1, '\\' - 1, '\\', '\\' + 1, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 'a', 'Z'}
	rng := rand.New(rand.NewPCG(5, 6))
	var w [8]byte
	for range 2000000 {
		plain := true
		for i := range w {
			w[i] = edges[rng.IntN(len(edges))]
			if rng.IntN(3) == 0 {
				w[i] = byte(rng.IntN(256))
			}
			c := w[i]
			plain = plain && c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
		}
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 | uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if plainWord(x) != plain {
			t.Fatalf("plainWord(% x) = %v, want %v", w, !plain, plain)
		}
	}
}

// ParseJSON reads back what AppendJSON wrote, byte for byte when written
// again, and says why a line is not a record.
func TestParseJSONRoundTrip(t *testing.T) {
	r := Record{Time: time.Date(2026, 11, 21, 5, 0, 0, 1500, time.UTC), Kind: "k", Entity: []KV{{"ns", "shop"}},
		Origin: Origin{Host: "h", Component: "c", Stream: "s", Offset: 7, Rule: "transform.x", Index: 2, Topic: "t", Partition: 3}}
	r.SetFields(map[string]any{"n": int64(3), "f": 2.5, "whole": 3.0, "s": "x", "l": []any{int64(1), "a"}, "m": map[string]any{"b": true}, "t": time.Unix(100, 0).UTC(), "nil": nil})
	line := AppendJSON(nil, &r)
	back, err := ParseJSON(line)
	if err != nil {
		t.Fatal(err)
	}
	if again := AppendJSON(nil, &back); string(again) != string(line) || back.ID != r.EnsureID() {
		t.Fatalf("round trip:\n%s\n%s", line, again)
	}
	if v, _ := back.Get("n"); v != int64(3) {
		t.Errorf("n = %T %v, want int64 3", v, v)
	}
	for _, c := range []struct{ in, want string }{
		{`not json`, "not a JSON record"},
		{`{"kind":"k","fields":{}} {}`, "more than one value"},
		{`{"fields":{}}`, `no "kind"`},
		{`{"kind":"k","fields":[1]}`, `"fields" is not an object`},
	} {
		if _, err := ParseJSON([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
}

// nginxLine is a line of the bench input: six quotes to escape.
const nginxLine = `10.90.132.230 - - [21/Nov/2026:05:00:00 +0000] "POST /logout HTTP/1.1" 403 228455 "https://shop.example.com/cart" "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"`

// BenchmarkEncoderRaw is the raw passthrough's cost per record: a line as
// a file source reads it, written by a sink's Encoder.
func BenchmarkEncoderRaw(b *testing.B) {
	r := Record{Time: time.Now(), Raw: []byte(nginxLine), Origin: Origin{Host: "node-1", Component: "source.file.in",
		Stream: "65024:9994641:3286dd5c70ca1ed0", Path: "/var/log/nginx/access.log", Device: 65024, Inode: 9994641}}
	var e Encoder
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Origin.Offset = int64(i) * 200
		buf = e.Append(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"short", "GET"},
		{"plain", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15"},
		{"nginx", nginxLine},
		{"utf8", "Grüße aus Köln — 東京 ✓ " + nginxLine[:60]},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf []byte
			for i := 0; i < b.N; i++ {
				buf = AppendString(buf[:0], c.s)
			}
			b.SetBytes(int64(len(c.s)))
		})
	}
}

// FuzzAppendInt checks appendInt against strconv, after bytes already in
// dst and with no room to spare.
func FuzzAppendInt(f *testing.F) {
	for _, v := range []int64{0, 1, 9, 10, 99, 100, 403, 228455, 99999999, 1e8, 1e8 + 1, 189000000, 1e15, 1e16 - 1, 1e16, -1, math.MinInt64, math.MaxInt64} {
		f.Add(v, uint8(3))
	}
	f.Fuzz(func(t *testing.T, v int64, pre uint8) {
		dst := bytes.Repeat([]byte{'x'}, int(pre))
		dst = dst[:len(dst):len(dst)]
		want := strconv.AppendInt(bytes.Repeat([]byte{'x'}, int(pre)), v, 10)
		if got := appendInt(dst, v); !bytes.Equal(got, want) {
			t.Fatalf("appendInt(%d) = %q, want %q", v, got, want)
		}
	})
}

func TestAppendIntDigits(t *testing.T) {
	// Every value below 10^4 in each lane, and the powers of ten around
	// each length.
	for v := int64(0); v < 1e4; v++ {
		for _, x := range []int64{v, v * 1e4, v*1e4 + 9999, v * 1e8, v*1e12 + v} {
			if got, want := string(appendInt(nil, x)), strconv.FormatInt(x, 10); got != want {
				t.Fatalf("appendInt(%d) = %s", x, got)
			}
		}
	}
	for p := int64(1); p > 0 && p <= 1e18; p *= 10 {
		for _, x := range []int64{p - 1, p, p + 1} {
			if got, want := string(appendInt(nil, x)), strconv.FormatInt(x, 10); got != want {
				t.Fatalf("appendInt(%d) = %s", x, got)
			}
		}
	}
}
