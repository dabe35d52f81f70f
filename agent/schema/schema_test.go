package schema

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func decode(t testing.TB, src string) (*Schema, hcl.Diagnostics) {
	t.Helper()
	f, d := hclsyntax.ParseConfig([]byte(src), "s.hcl", hcl.InitialPos)
	if d.HasErrors() {
		t.Fatal(d)
	}
	c, _, _ := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "schema", LabelNames: []string{"name"}}}})
	return Decode(c.Blocks[0], nil)
}

const all = `schema "all" {
  version        = "2"
  unknown_fields = "reject"
  field "s"   { type = "string" }
  field "i"   {
    type = "int"
    required = true
    min = 0
    max = 10
  }
  field "f"   { type = "float" }
  field "b"   { type = "bool" }
  field "t"   { type = "time" }
  field "tl"  {
    type = "time"
    layout = "02/Jan/2006:15:04:05 -0700"
  }
  field "d"   { type = "duration" }
  field "ip"  { type = "ip" }
  field "u"   { type = "url" }
  field "e"   {
    type = "enum"
    values = ["GET", "POST"]
  }
  field "l"   {
    type = "list"
    items = "int"
  }
  field "m"   { type = "map" }
  field "p"   {
    type = "string"
    pattern = "^[a-z]+$"
  }
  field "dash" {
    type = "int"
    null_values = ["-"]
    default = 7
  }
}`

func TestCoercesEveryType(t *testing.T) {
	s, d := decode(t, all)
	if d.HasErrors() {
		t.Fatal(d)
	}
	f := map[string]any{
		"s": int64(5), "i": "7", "f": "2.5", "b": "true", "t": "2026-11-21T05:00:00Z",
		"tl": "21/Nov/2026:05:41:35 +0100", "d": "1m30s", "ip": "2001:db8::1", "u": "https://x.example/a?b",
		"e": "GET", "l": []any{"1", int64(2)}, "m": map[string]any{"k": "v"}, "p": "abc", "dash": "-",
	}
	if errs := s.Apply(f); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]any{"s": "5", "i": int64(7), "f": 2.5, "b": true, "d": "1m30s", "ip": "2001:db8::1", "e": "GET", "dash": int64(7)}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %#v, want %#v", k, f[k], v)
		}
	}
	if tm := f["tl"].(time.Time); !tm.Equal(time.Date(2026, 11, 21, 4, 41, 35, 0, time.UTC)) {
		t.Errorf("tl = %v", tm)
	}
	if l := f["l"].([]any); l[0] != int64(1) || l[1] != int64(2) {
		t.Errorf("l = %#v", l)
	}
}

func TestFieldErrorsArePrecise(t *testing.T) {
	s, _ := decode(t, all)
	f := map[string]any{
		"s": "x", "f": "NaN?", "b": "maybe", "t": "yesterday", "tl": "2026-11-21", "d": "soon", "ip": "999.1.1.1",
		"e": "BREW", "l": []any{"x"}, "m": "not a map", "p": "ABC", "extra": 1,
	}
	errs := s.Apply(f)
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Field + ": " + e.Error
	}
	want := []string{
		`i: required, missing`,
		`f: expects float, got string "NaN?"`,
		`b: expects bool, got string "maybe"`,
		`t: expects time (RFC 3339), got string "yesterday"`,
		`tl: expects time in layout "02/Jan/2006:15:04:05 -0700", got string "2026-11-21"`,
		`d: expects duration, got string "soon"`,
		`ip: expects ip, got string "999.1.1.1"`,
		`e: expects one of GET, POST, got string "BREW"`,
		`l: item 0: expects int, got string "x"`,
		`m: expects map, got string "not a map"`,
		`p: does not match pattern ^[a-z]+$: string "ABC"`,
		`extra: not declared in schema all`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	errs = s.Apply(map[string]any{"i": "abc"})
	if len(errs) != 1 || errs[0].Field+": "+errs[0].Error != `i: expects int, got string "abc"` {
		t.Fatalf("got %v", errs)
	}
	errs = s.Apply(map[string]any{"i": int64(11)})
	if len(errs) != 1 || errs[0].Error != "value 11 is above the maximum 10" {
		t.Fatalf("got %v", errs)
	}
}

func TestUnknownFieldsDrop(t *testing.T) {
	s, d := decode(t, `schema "x" {
  unknown_fields = "drop"
  field "a" { type = "string" }
}`)
	if d.HasErrors() {
		t.Fatal(d)
	}
	f := map[string]any{"a": "1", "b": "2"}
	if errs := s.Apply(f); len(errs) != 0 || len(f) != 1 {
		t.Fatalf("errs %v, fields %v", errs, f)
	}
}

func TestDecodeDiagnostics(t *testing.T) {
	for name, c := range map[string]struct {
		src, summary string
		line, col    int
	}{
		"unknown type":   {"schema \"x\" {\n  field \"a\" { type = \"integer\" }\n}", "Unknown field type", 2, 22},
		"bad pattern":    {"schema \"x\" {\n  field \"a\" {\n    type = \"string\"\n    pattern = \"(\"\n  }\n}", "Invalid pattern", 4, 15},
		"enum no values": {"schema \"x\" {\n  field \"a\" { type = \"enum\" }\n}", "Enum without values", 2, 3},
		"bad policy":     {"schema \"x\" {\n  unknown_fields = \"keep\"\n}", "Invalid unknown_fields", 2, 20},
		"bad default":    {"schema \"x\" {\n  field \"a\" {\n    type = \"int\"\n    default = \"z\"\n  }\n}", "Invalid schema x", 1, 1},
		"duplicate":      {"schema \"x\" {\n  field \"a\" { type = \"int\" }\n  field \"a\" { type = \"int\" }\n}", "Duplicate field a", 3, 3},
	} {
		t.Run(name, func(t *testing.T) {
			_, d := decode(t, c.src)
			if !d.HasErrors() {
				t.Fatal("no error")
			}
			e := d[0]
			if e.Summary != c.summary || e.Subject.Start.Line != c.line || e.Subject.Start.Column != c.col {
				t.Fatalf("got %q at %d:%d (%s), want %q at %d:%d", e.Summary, e.Subject.Start.Line, e.Subject.Start.Column, e.Detail, c.summary, c.line, c.col)
			}
		})
	}
}
