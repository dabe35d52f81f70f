package schema

import (
	"math"
	"slices"

	"github.com/octostore/agent/agent"
)

// captureKind is what CaptureString's fast path does with a field's
// strings, decided once per field by prepare.
type captureKind uint8

const (
	captureGeneral   captureKind = iota // no fast path: captureString
	captureString                       // string or enum, kept as it is
	captureInt                          // a short decimal integer
	captureCommonLog                    // a time in the common-log layout
	captureIP                           // an address, canonical IPv4 taken as it is
)

// capturePlan is a field's fast path for captured strings: the common
// types and constraints, checked without a type switch on the field's
// settings per value. Anything the fast path does not take for sure (an
// error above all) goes to the general path, which decides and words the
// error, so both give the same answers.
type capturePlan struct {
	kind captureKind
	// nulls is how many null values there are; null is the first.
	nulls int
	null  string
	// enum: the value must be one of the field's values.
	enum bool
	// pattern: a string must match the field's pattern.
	pattern bool
	// bounded: min or max apply (to an int's value; a string's length
	// goes to the general path).
	bounded  bool
	min, max float64 // -Inf, +Inf when unset
	// defaultValue is Default as a typed value, when it is a scalar.
	defaultValue agent.Value
	defaultOK    bool
}

// prepare decides the field's capture plan from its settings (New calls
// it, after Default is coerced).
func (f *Field) prepare() {
	p := capturePlan{nulls: len(f.NullValues), min: negInf, max: posInf}
	if p.nulls > 0 {
		p.null = f.NullValues[0]
	}
	p.defaultValue, p.defaultOK = agent.ValueOf(f.Default)
	p.pattern = f.Pattern != nil
	p.bounded = f.Min != nil || f.Max != nil
	if f.Min != nil {
		p.min = *f.Min
	}
	if f.Max != nil {
		p.max = *f.Max
	}
	switch f.Type {
	case String:
		p.kind = captureString
	case Enum:
		p.kind, p.enum = captureString, true
	case Int:
		p.kind = captureInt
	case Time:
		if f.Layout == commonLog {
			p.kind = captureCommonLog
		}
	case IP:
		p.kind = captureIP
	}
	if p.bounded && p.kind != captureInt {
		p.kind = captureGeneral // a string's length, or a time: rare
	}
	if p.pattern && p.kind != captureString && p.kind != captureIP {
		p.kind = captureGeneral
	}
	f.plan = p
}

var negInf, posInf = math.Inf(-1), math.Inf(1)

// AsIs reports whether CaptureString keeps every string as it is, but
// null when hasNull (skipped): a parse step then stores such captures
// without the call (the nginx packs' user, path, referer and user agent).
func (f *Field) AsIs() (null string, hasNull, ok bool) {
	p := &f.plan
	if p.kind != captureString || p.enum || p.pattern || p.nulls > 1 {
		return "", false, false
	}
	return p.null, p.nulls == 1, true
}

// CaptureString types a string captured for this field (see Capture); a
// parse step looks its fields up once, when the config loads.
func (f *Field) CaptureString(x string) (out agent.Value, skip bool, err error) {
	p := &f.plan
	switch {
	case p.nulls == 0:
	case x == p.null:
		return agent.Value{}, true, nil
	case p.nulls > 1 && slices.Contains(f.NullValues[1:], x):
		return agent.Value{}, true, nil
	}
	switch p.kind {
	case captureString:
		if (!p.enum || slices.Contains(f.Values, x)) && (!p.pattern || f.matchPattern(x)) {
			return agent.StringValue(x), false, nil
		}
	case captureInt:
		if n, ok := atoi(x); ok && float64(n) >= p.min && float64(n) <= p.max {
			return agent.IntValue(n), false, nil
		}
	case captureCommonLog:
		if sec, _, ok := commonLogUnix(x); ok {
			return agent.UnixValue(sec, 0), false, nil
		}
	case captureIP:
		if canonicalIPv4(x) && (!p.pattern || f.matchPattern(x)) {
			return agent.StringValue(x), false, nil
		}
	}
	return f.captureString(x)
}

// canonicalIPv4 reports whether s is an IPv4 address in the one spelling
// netip.ParseAddr accepts: four decimal parts of 0 to 255, no leading
// zeros.
func canonicalIPv4(s string) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	parts, digits, v := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if digits == 0 || parts == 3 {
				return false
			}
			parts++
			digits, v = 0, 0
			continue
		}
		if c < '0' || c > '9' || (digits == 1 && v == 0) {
			return false // not a digit, or a leading zero
		}
		v = v*10 + int(c-'0')
		digits++
		if v > 255 {
			return false
		}
	}
	return parts == 3 && digits > 0
}
