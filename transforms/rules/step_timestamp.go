package rules

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/schema"
)

// timestamp parses a field into the record's time.
type timestampStep struct {
	field  string
	layout string
	unit   time.Duration // for unix layouts
	loc    *time.Location
	// zoneNamed: the layout reads a zone abbreviation (MST); one that is
	// not the timezone's (nor UTC/GMT) dead-letters the record: zones.go.
	zoneNamed bool
	tzName    string
	// commonUTC: the layout is common_log, in UTC: most lines (+0000)
	// are read without time.Parse.
	commonUTC bool
	// at is where the field was in the last record (see lookup).
	at int
	// last is the last time read with commonUTC: lines come in time
	// order, most in the second of the line before (BenchmarkGrokHTTPDGen:
	// 300 -> 75 instructions a line, callgrind).
	last timeMemo
}

type timestampBlock struct {
	Field    string  `hcl:"field"`
	Layout   string  `hcl:"layout"`
	Timezone *string `hcl:"timezone,optional"`
}

// namedLayouts are the layouts that have a name.
var namedLayouts = map[string]string{
	"rfc3339":     time.RFC3339Nano,
	"rfc3339nano": time.RFC3339Nano,
	"common_log":  "02/Jan/2006:15:04:05 -0700", // nginx and Apache access logs
	"rfc1123":     time.RFC1123,
	"syslog":      time.Stamp,
}

var unixLayouts = map[string]time.Duration{"unix": time.Second, "unix_ms": time.Millisecond, "unix_us": time.Microsecond, "unix_ns": time.Nanosecond}

func newTimestampStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c timestampBlock
	if d := gohcl.DecodeBody(blk.Body, ctx, &c); d.HasErrors() {
		return nil, d
	}
	s := &timestampStep{field: c.Field, layout: c.Layout, loc: time.UTC}
	if env.schema != nil {
		if f, ok := env.schema.Field(c.Field); ok && f.Key == c.Field {
			s.field = f.Key // the string parse steps key the field with: LookupAt finds it by pointer
		}
	}
	if l, ok := namedLayouts[c.Layout]; ok {
		s.layout = l
	} else if u, ok := unixLayouts[c.Layout]; ok {
		s.layout, s.unit = "", u
	} else if !strings.ContainsAny(c.Layout, "0123456789") {
		return nil, diag(attrRange(blk, "layout"), "Invalid layout",
			"%q is neither a named layout (rfc3339, common_log, rfc1123, syslog, unix, unix_ms, unix_us, unix_ns) nor a Go layout such as \"02/Jan/2006:15:04:05 -0700\".", c.Layout)
	}
	if c.Timezone != nil {
		loc, err := time.LoadLocation(*c.Timezone)
		if err != nil {
			return nil, diag(attrRange(blk, "timezone"), "Unknown timezone", "%v. Use an IANA name such as \"Europe/Paris\" or \"UTC\".", err)
		}
		s.loc = loc
		s.tzName = *c.Timezone
	}
	if d := s.checkZoneNames(c.Layout, attrRange(blk, "layout")); d.HasErrors() {
		return nil, d
	}
	s.commonUTC = s.layout == namedLayouts["common_log"] && s.loc == time.UTC
	return s, nil
}

func (s *timestampStep) Name() string { return "timestamp" }

// lookup is r.Lookup(s.field), first at the position the field had in the
// last record: records of one parse step have their fields in the same
// places. The step then keys its lookups with the record's own key
// string, which LookupAt compares by pointer: a parse step with no schema
// keys its fields with its own names, not with the config's string of the
// timestamp block (BenchmarkGrokHTTPDGen/httpd: LookupAt, and the
// compares of its binary search, 230 -> 90 instructions a line).
func (s *timestampStep) lookup(r *agent.Record) (agent.Value, bool) {
	if !r.HoldsTyped() {
		return r.Lookup(s.field)
	}
	fs := r.TypedFields()
	v, ok := fs.LookupAt(s.field, &s.at)
	if ok {
		s.field = fs[s.at].Key // keys are strings never written to
	}
	return v, ok
}

func (s *timestampStep) Apply(_ context.Context, r *agent.Record) error {
	if tv, ok := s.lookup(r); ok {
		switch tv.Kind() {
		case agent.KindTime:
			r.Time = tv.Time()
			return nil
		case agent.KindString:
			if s.commonUTC {
				if v, ok := s.last.get(tv.Str()); ok {
					r.Time = v.Time()
					return nil
				}
				if tm, ok := schema.ParseCommonLogUTC(tv.Str()); ok {
					r.Time = tm // read without boxing the string
					s.last.put(tv.Str(), agent.TimeValue(tm))
					return nil
				}
			}
		}
	}
	v, ok := r.Get(s.field)
	if !ok {
		return stepErr("timestamp", s.field, "required by timestamp, missing")
	}
	switch t := v.(type) {
	case time.Time:
		r.Time = t
		return nil
	case int64:
		if s.unit != 0 {
			r.Time = time.Unix(0, t*int64(s.unit)).UTC()
			return nil
		}
	case float64:
		if s.unit != 0 {
			r.Time = time.Unix(0, int64(t*float64(s.unit))).UTC()
			return nil
		}
	case string:
		if s.unit != 0 {
			n, err := strconv.ParseFloat(t, 64)
			if err != nil {
				return stepErr("timestamp", s.field, "expects a unix time, got %q", t)
			}
			r.Time = time.Unix(0, int64(n*float64(s.unit))).UTC()
			return nil
		}
		if s.commonUTC {
			if tm, ok := schema.ParseCommonLogUTC(t); ok {
				r.Time = tm
				return nil
			}
		}
		tm, err := time.ParseInLocation(s.layout, t, s.loc)
		if err != nil {
			return stepErr("timestamp", s.field, "expects time in layout %q, got %q", s.layout, t)
		}
		if s.zoneNamed {
			if err := s.checkZone(tm); err != nil {
				return err
			}
		}
		if tm.Year() == 0 {
			// A layout with no year (syslog): parse_syslog.go's withYear.
			tm = withYear(tm, r.Time, tm.Location())
		}
		r.Time = tm
		return nil
	}
	return stepErr("timestamp", s.field, "expects a time, got %T", v)
}
