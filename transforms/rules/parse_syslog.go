package rules

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/common"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/octostore/agent/agent"
)

// parse "syslog": RFC 5424 and RFC 3164 (BSD) syslog lines, with
// github.com/leodido/go-syslog (MIT), a Ragel-generated parser of both
// RFCs. A line with a timestamp sets the record's time. The PRI is decoded into facility and severity names; RFC 5424's
// nil value "-" becomes null, and its structured data a map of maps.
type syslogStep struct {
	input
	format string // "auto", "rfc5424", "rfc3164"
	p5424  syslog.Machine
	p3164  syslog.Machine
	loc    *time.Location
}

type syslogBlock struct {
	Field       *string `hcl:"field,optional"`
	RemoveField *bool   `hcl:"remove_field,optional"`
	Format      *string `hcl:"format,optional"`
	Timezone    *string `hcl:"timezone,optional"`
}

// syslogFields are the fields parse "syslog" sets.
var syslogFields = []string{"format", "priority", "facility", "facility_code", "severity", "severity_code", "version",
	"timestamp", "hostname", "appname", "procid", "msgid", "structured_data", "message"}

func newSyslogStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c syslogBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	s := &syslogStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env), format: "auto", loc: time.UTC}
	if c.Format != nil {
		switch *c.Format {
		case "auto", "rfc5424", "rfc3164":
			s.format = *c.Format
		default:
			return nil, diag(attrRange(blk, "format"), "Invalid syslog format",
				"%q: use \"rfc5424\", \"rfc3164\" (BSD syslog), or \"auto\" (the default: RFC 5424 when the PRI is followed by a version, else RFC 3164).%s",
				*c.Format, didYouMean(*c.Format, []string{"auto", "rfc5424", "rfc3164"}, "formats"))
		}
	}
	if c.Timezone != nil {
		loc, err := time.LoadLocation(*c.Timezone)
		if err != nil {
			return nil, diag(attrRange(blk, "timezone"), "Unknown timezone", "%v. Use an IANA name such as \"Europe/Paris\" or \"UTC\".", err)
		}
		s.loc = loc
	}
	s.p5424 = rfc5424.NewParser()
	// Year 0: the year comes from the time the line was read (withYear),
	// and the zone from timezone, applied afterwards.
	s.p3164 = rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithYear(rfc3164.Year{YYYY: 0}),
		rfc3164.WithRFC3339(), rfc3164.WithSecondFractions(), rfc3164.WithLenientDay(), rfc3164.WithOptionalPriority())
	return s, nil
}

func (s *syslogStep) Name() string               { return "parse.syslog" }
func (s *syslogStep) Produces() ([]string, bool) { return syslogFields, false }

// is5424 says whether a line is RFC 5424: "<PRI>VERSION ".
func is5424(in []byte) bool {
	i := 0
	if i < len(in) && in[i] == '<' {
		for i = 1; i < len(in) && i < 5 && in[i] >= '0' && in[i] <= '9'; i++ {
		}
		if i >= len(in) || in[i] != '>' {
			return false
		}
		i++
	}
	// VERSION = NONZERO-DIGIT 0*2DIGIT, then a space.
	if i >= len(in) || in[i] < '1' || in[i] > '9' {
		return false
	}
	for j := i + 1; j < len(in) && j <= i+3; j++ {
		switch {
		case in[j] == ' ':
			return true
		case in[j] < '0' || in[j] > '9':
			return false
		}
	}
	return false
}

func (s *syslogStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	format := s.format
	if format == "auto" {
		format = "rfc3164"
		if is5424(in) {
			format = "rfc5424"
		}
	}
	var msg syslog.Message
	if format == "rfc5424" {
		msg, err = s.p5424.Parse(in)
	} else {
		msg, err = s.p3164.Parse(in)
	}
	var base *syslog.Base
	var sd *map[string]map[string]string
	var version uint16
	switch m := msg.(type) {
	case *rfc5424.SyslogMessage:
		base, sd, version = &m.Base, m.StructuredData, m.Version
	case *rfc3164.SyslogMessage:
		base = &m.Base
	}
	// A line with no valid PRI (or, for RFC 5424, version) is not syslog.
	if base == nil || !msg.Valid() || (format == "rfc5424" && version == 0) {
		if err == nil {
			err = fmt.Errorf("no valid PRI")
		}
		return stepErr("no_match", s.field, "not a syslog line (%s: %v)", format, err)
	}
	// RFC 5424 is strict. RFC 3164 was only ever a description of what
	// daemons wrote: what the best-effort parser read is kept when it
	// found at least the timestamp.
	if format == "rfc3164" && base.Timestamp == nil {
		if err == nil {
			err = fmt.Errorf("no timestamp")
		}
		return stepErr("no_match", s.field, "not an RFC 3164 line (no timestamp after the PRI, or no PRI and no timestamp): %v", err)
	}
	if err != nil && format == "rfc5424" {
		return stepErr("no_match", s.field, "%s: %v", format, err)
	}
	var c captured
	s.begin(&c, r, len(syslogFields))
	c.set("format", format)
	if base.Priority != nil {
		c.set("priority", int64(*base.Priority))
		c.set("facility", *base.FacilityLevel())
		c.set("facility_code", int64(*base.Facility))
		c.set("severity", common.SeverityLevelsShort[*base.Severity])
		c.set("severity_code", int64(*base.Severity))
	}
	if version != 0 {
		c.set("version", int64(version))
	}
	if base.Timestamp != nil {
		tm := *base.Timestamp
		if tm.Year() == 0 {
			tm = withYear(tm, r.Time, s.loc)
		}
		c.set("timestamp", tm)
		r.Time = tm // the record's time is the message's
	} else {
		c.setNull("timestamp")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"hostname", base.Hostname}, {"appname", base.Appname}, {"procid", base.ProcID}, {"msgid", base.MsgID}, {"message", base.Message}} {
		if f.v != nil {
			c.set(f.name, *f.v)
		} else if format == "rfc5424" {
			c.setNull(f.name) // the nil value "-"
		}
	}
	if format == "rfc5424" {
		if sd != nil {
			out := make(map[string]any, len(*sd))
			for id, params := range *sd {
				p := make(map[string]any, len(params))
				for k, v := range params {
					p[k] = v
				}
				out[id] = p
			}
			c.set("structured_data", out)
		} else {
			c.setNull("structured_data")
		}
	}
	return c.done()
}

// setNull stores null, a value the line says is absent ("-"): null
// without a schema; with one, no value (a schema stores no null).
func (c *captured) setNull(name string) {
	if c.in.schema != nil {
		if f, _ := c.in.schema.Field(name); f != nil {
			c.r.Delete(name)
			return
		}
	}
	c.r.Set(name, nil)
}

// withYear completes a time read without a year (syslog's "Nov 21
// 05:41:35"): the year the line was read (now), or the one before for a
// December line read in January; in loc, for a time without a zone.
func withYear(tm, now time.Time, loc *time.Location) time.Time {
	if now.IsZero() {
		now = time.Now()
	}
	out := time.Date(now.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), loc)
	if out.After(now.Add(24 * time.Hour)) {
		out = time.Date(now.Year()-1, tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), loc)
	}
	return out
}
