package schema

import (
	"math"
	"slices"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/dottedquad"
)

// captureKind is what CaptureString's fast path does with a field's
// strings, decided once per field by prepare.
type captureKind uint8

const (
	captureGeneral   captureKind = iota // no fast path: captureString
	captureString                       // string or enum, kept as it is
	captureInt                          // a short decimal integer
	captureCommonLog                    // a time in the common-log layout
	captureIP                           // an address, taken as it is when canonical
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
		if n, ok := agent.ShortInt(x); ok && float64(n) >= p.min && float64(n) <= p.max {
			return agent.IntValue(n), false, nil
		}
	case captureCommonLog:
		if sec, _, ok := commonLogUnix(x); ok {
			return agent.UnixValue(sec, 0), false, nil
		}
	case captureIP:
		if (canonicalIPv4(x) || canonicalIPv6(x)) && (!p.pattern || f.matchPattern(x)) {
			return agent.StringValue(x), false, nil
		}
	}
	return f.captureString(x)
}

// canonicalIPv4 reports whether s is an IPv4 address in the one spelling
// netip.ParseAddr accepts: four decimal parts of 0 to 255, no leading
// zeros.
//
// dottedquad.Canonical, a word at a time: about as many instructions as
// the table DFA (one load a byte) it replaced, 116 -> 120 a line of the
// split bench and a call (callgrind, 100k lines), but no chain of
// dependent loads: CaptureString, the DFA inlined, took 5.6% of the split
// run (perf, 1M lines), now 3.2% and Match 0.5%. The DFA had replaced a
// loop that counted parts, digits and the value (251 -> 121 instructions
// a line).
func canonicalIPv4(s string) bool { return dottedquad.Match(dottedquad.Canonical, s) }

// canonicalIPv6 reports whether s is an IPv6 address spelled as
// netip.Addr.String spells it (RFC 5952): lowercase hex groups without
// leading zeros, the first longest run of two or more zero groups as
// "::", no zone, not an IPv4-mapped address (those are spelled with a
// dotted quad, which this leaves to netip). The parse and the format it
// saves took 1,950 instructions an address (BenchmarkNginxPackGen/split,
// callgrind; a tenth of the bench's clients are IPv6).
func canonicalIPv6(s string) bool {
	if len(s) < 2 || len(s) > 39 {
		return false
	}
	var g [8]uint16
	n, gap := 0, -1 // groups read; the group "::" stands before, if any
	i := 0
	if s[0] == ':' {
		if s[1] != ':' {
			return false
		}
		gap, i = 0, 2
	}
	for i < len(s) {
		if n == 8 {
			return false
		}
		start, v := i, 0
		for ; i < len(s) && i-start < 5; i++ {
			h := hexLower[s[i]]
			if h < 0 {
				break
			}
			v = v<<4 | int(h)
		}
		if d := i - start; d == 0 || d > 4 || (d > 1 && s[start] == '0') {
			return false // no digit, five, or a leading zero
		}
		g[n] = uint16(v)
		n++
		if i == len(s) {
			break
		}
		if s[i] != ':' || i+1 == len(s) {
			return false // not a colon, or one at the end
		}
		i++
		if s[i] == ':' {
			if gap >= 0 {
				return false // a second "::"
			}
			gap = n
			i++
		}
	}
	var full [8]uint16
	zeros := 0 // the groups "::" stands for
	if gap < 0 {
		if n != 8 {
			return false
		}
		full = g
	} else {
		if zeros = 8 - n; zeros < 2 {
			return false // "::" for one group, or none
		}
		copy(full[:gap], g[:gap])
		copy(full[gap+zeros:], g[gap:n])
	}
	// The run netip compresses: the first longest of two or more zeros.
	runStart, runLen := 0, 0
	for k := 0; k < 8; {
		if full[k] != 0 {
			k++
			continue
		}
		e := k
		for e < 8 && full[e] == 0 {
			e++
		}
		if e-k >= 2 && e-k > runLen {
			runStart, runLen = k, e-k
		}
		k = e
	}
	if gap < 0 {
		return runLen == 0
	}
	if full[5] == 0xffff && full[0]|full[1]|full[2]|full[3]|full[4] == 0 {
		return false // IPv4-mapped: netip writes ::ffff:1.2.3.4
	}
	return runStart == gap && runLen == zeros
}

// hexLower is the value of each lowercase hex digit, -1 for other bytes.
var hexLower = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range "0123456789abcdef" {
		t[c] = int8(i)
	}
	return t
}()
