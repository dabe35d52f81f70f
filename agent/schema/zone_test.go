package schema

import (
	"strings"
	"testing"
)

// A schema layout with a zone abbreviation is refused at load: a schema
// has no timezone, and Go would read an unknown abbreviation as UTC.
func TestLayoutZoneAbbreviationRefused(t *testing.T) {
	_, d := decode(t, `schema "s" {
  field "t" {
    type   = "time"
    layout = "Jan _2 15:04:05 MST 2006"
  }
}`)
	if !d.HasErrors() || !strings.Contains(d.Error(), "Zone abbreviation in a schema layout") || d[0].Subject.Start.Line != 4 {
		t.Fatalf("diagnostics %v", d)
	}
	if _, d := decode(t, `schema "s" {
  field "t" {
    type   = "time"
    layout = "Jan _2 15:04:05 -0700 MST 2006"
  }
}`); d.HasErrors() {
		t.Fatalf("a numeric offset with the name: %v", d)
	}
}
