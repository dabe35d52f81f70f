package rules

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Zone abbreviations (MST in a Go layout: PST, CEST, IST) name no single
// offset: CST is US Central, China and Cuba. Go reads an abbreviation it
// does not know in the location given as UTC, without an error. So a
// layout that reads one needs timezone, the IANA zone the log is written
// in: its own abbreviations (PST and PDT for America/Los_Angeles) are read
// with their offsets, UTC and GMT as UTC, and any other is an error (the
// record is dead-lettered), never read as UTC. The named layout rfc1123
// (HTTP dates, always GMT) needs no timezone: without one it accepts only
// UTC and GMT.

// readsZoneName says whether a Go layout reads a zone abbreviation and no
// numeric offset (with one, the offset gives the time and the name is only
// a label).
func readsZoneName(layout string) bool {
	return strings.Contains(layout, "MST") && !strings.Contains(layout, "-07") && !strings.Contains(layout, "Z07")
}

func (s *timestampStep) checkZoneNames(given string, at hcl.Range) hcl.Diagnostics {
	if !readsZoneName(s.layout) {
		return nil
	}
	s.zoneNamed = true
	if s.tzName != "" || given == "rfc1123" {
		return nil
	}
	return diag(at, "Zone abbreviation without a timezone",
		"The layout %q reads a zone abbreviation (MST), and abbreviations are ambiguous (CST is US Central, China and Cuba time): "+
			"read without a timezone they would be taken as UTC. Set timezone to the IANA zone the log is written in "+
			"(timezone = \"America/Los_Angeles\" reads PST and PDT with their offsets; any other abbreviation is then dead-lettered), "+
			"or use a layout with a numeric offset (-0700 or Z07:00) if the log has one.", given)
}

// checkZone refuses a time whose abbreviation the timezone does not have:
// time.ParseInLocation gave it a made-up zone with offset 0.
func (s *timestampStep) checkZone(tm time.Time) error {
	if tm.Location() == s.loc {
		return nil
	}
	name, off := tm.Zone()
	if off == 0 && (name == "UTC" || name == "GMT" || name == "Z") {
		return nil
	}
	tz := s.tzName
	if tz == "" {
		tz = "UTC"
	}
	return stepErr("timestamp", s.field, "zone abbreviation %q is not one of timezone %s's: it is not read as UTC; set timezone to the zone the log is written in", name, tz)
}
