package rules

import (
	"context"
	"strings"
	"testing"
	"time"
)

// An optional parse step lets a line it does not match go on with the
// fields it has; a step that is not optional dead-letters it.
func TestOptionalParseStep(t *testing.T) {
	for _, opt := range []string{"optional = true", `on_no_match = "keep"`} {
		tr, out, dl := build(t, `
parse "regex" { pattern = "^(?P<level>[A-Z]+) (?P<msg>.*)$" }
parse "regex" {
  field   = "msg"
  pattern = "^user=(?P<user>\\w+)"
  `+opt+`
}
parse "json" {
  field = "msg"
  on_no_match = "keep"
}
parse "regex" {
  field = "nosuchfield"
  pattern = "(?P<x>.)"
  optional = true
}`)
		if err := tr.Process(context.Background(), raw("INFO user=ann logged in", "WARN disk full", `ERROR {"code":7}`, "no level here")); err != nil {
			t.Fatal(err)
		}
		if len(out.got) != 3 || len(dl.got) != 1 {
			t.Fatalf("%s: out %d, dead letters %d", opt, len(out.got), len(dl.got))
		}
		if f := out.got[0].MaterializeFields(); f["user"] != "ann" || f["level"] != "INFO" {
			t.Errorf("%s: record 1 %v", opt, f)
		}
		if f := out.got[1].MaterializeFields(); f["msg"] != "disk full" || f["user"] != nil {
			t.Errorf("%s: record 2 %v", opt, f)
		}
		if f := out.got[2].MaterializeFields(); f["code"] != int64(7) {
			t.Errorf("%s: record 3 %v", opt, f)
		}
		if f := dl.got[0].MaterializeFields(); f["reason"] != "no_match" || f["step"] != "parse.regex" {
			t.Errorf("%s: dead letter %v", opt, f)
		}
	}
	_, d := decodeRules(t, `parse "regex" {
  pattern = "x"
  on_no_match = "skip"
}`)
	if !d.HasErrors() || !strings.Contains(d.Error(), `"skip": use "keep"`) || d[0].Subject.Start.Line != 3 {
		t.Errorf("bad on_no_match: %v", d)
	}
}

// where on a field that is not set (or null) is false: the record is
// dropped and counted, not dead-lettered. An error on fields that are set
// still dead-letters.
func TestWhereOnUnsetFieldIsFalse(t *testing.T) {
	tr, out, dl := build(t, `
parse "regex" { pattern = "^(?P<path>\\S+)(?: (?P<status>\\d+))?(?: (?P<word>[a-z]+))?$" }
set { code = "status == nil ? nil : int(status)" }
where = "code >= 400"
`)
	if err := tr.Process(context.Background(), raw("/a 500", "/b", "/c 200")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || len(dl.got) != 0 || out.got[0].MaterializeFields()["path"] != "/a" {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	tr, out, dl = build(t, `
parse "regex" { pattern = "^(?P<path>\\S+)(?: (?P<status>\\S+))?$" }
where = "status > 3"
`)
	if err := tr.Process(context.Background(), raw("/a x", "/b")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 0 || len(dl.got) != 1 || dl.got[0].MaterializeFields()["reason"] != "where_error" {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
}

// A layout with a zone abbreviation needs a timezone; with one, its
// abbreviations are read with their offsets and others are dead-lettered.
func TestTimestampZoneAbbreviations(t *testing.T) {
	_, d := decodeRules(t, `timestamp {
  field  = "t"
  layout = "2006-01-02 15:04:05 MST"
}`)
	if !d.HasErrors() || !strings.Contains(d.Error(), "Zone abbreviation without a timezone") || d[0].Subject.Start.Line != 3 {
		t.Fatalf("no timezone: %v", d)
	}
	tr, out, dl := build(t, `
parse "regex" { pattern = "^(?P<t>.*)$" }
timestamp {
  field    = "t"
  layout   = "2006-01-02 15:04:05 MST"
  timezone = "America/Los_Angeles"
}`)
	if err := tr.Process(context.Background(), raw("2026-01-10 08:00:00 PST", "2026-07-10 08:00:00 PDT", "2026-07-10 08:00:00 UTC", "2026-07-10 08:00:00 CEST")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 3 || len(dl.got) != 1 {
		t.Fatalf("out %d, dead letters %d", len(out.got), len(dl.got))
	}
	want := []time.Time{
		time.Date(2026, 1, 10, 16, 0, 0, 0, time.UTC),
		time.Date(2026, 7, 10, 15, 0, 0, 0, time.UTC),
		time.Date(2026, 7, 10, 8, 0, 0, 0, time.UTC),
	}
	for i, w := range want {
		if !out.got[i].Time.Equal(w) {
			t.Errorf("record %d: time %v, want %v", i, out.got[i].Time.UTC(), w)
		}
	}
	if e := dl.got[0].MaterializeFields(); !strings.Contains(e["errors"].([]any)[0].(map[string]any)["error"].(string), `zone abbreviation "CEST" is not one of timezone America/Los_Angeles's`) {
		t.Errorf("dead letter %v", e)
	}
	// rfc1123 (HTTP dates) needs no timezone, and takes only GMT and UTC.
	tr, out, dl = build(t, `
parse "regex" { pattern = "^(?P<t>.*)$" }
timestamp {
  field  = "t"
  layout = "rfc1123"
}`)
	if err := tr.Process(context.Background(), raw("Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 PST")); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || len(dl.got) != 1 || !out.got[0].Time.Equal(time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)) {
		t.Fatalf("rfc1123: out %d, dead letters %d", len(out.got), len(dl.got))
	}
}

// Inline definitions, under either name, are usable in the pattern; an
// unknown name points at the pattern with the nearest names.
func TestGrokInlineDefinitions(t *testing.T) {
	for _, attr := range []string{"definitions", "pattern_definitions"} {
		tr, out, dl := build(t, `parse "grok" {
  pattern = "^%%{ORDER:order} %%{INT:qty}$"
  `+attr+` = { ORDER = "ORD-[0-9]+" }
}`)
		if err := tr.Process(context.Background(), raw("ORD-12 3", "X-1 3")); err != nil {
			t.Fatal(err)
		}
		if len(out.got) != 1 || len(dl.got) != 1 || out.got[0].MaterializeFields()["order"] != "ORD-12" {
			t.Fatalf("%s: out %d, dead letters %d", attr, len(out.got), len(dl.got))
		}
	}
	_, d := decodeRules(t, `parse "grok" {
  pattern = "%%{ORDR:order}"
  definitions = { ORDER = "ORD-[0-9]+" }
}`)
	if !d.HasErrors() || !strings.Contains(d.Error(), "Did you mean ORDER") || d[0].Subject.Start.Line != 2 || d[0].Subject.Start.Column != 13 {
		t.Fatalf("diagnostics %v", d)
	}
}
