// Package schema holds typed record schemas: the `schema "NAME"` blocks.
// A schema declares fields with a type and constraints; Apply coerces the
// captured values of a record to the declared types and reports every
// problem per field, such as `status: expects int, got string "abc"`.
package schema

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/scan"
)

// Type is a field type.
type Type string

// The field types.
const (
	String   Type = "string"
	Int      Type = "int"
	Float    Type = "float"
	Bool     Type = "bool"
	Time     Type = "time"
	Duration Type = "duration"
	IP       Type = "ip"
	URL      Type = "url"
	Enum     Type = "enum"
	List     Type = "list"
	Map      Type = "map"
)

// Types lists every field type, for hints.
var Types = []Type{String, Int, Float, Bool, Time, Duration, IP, URL, Enum, List, Map}

// Unknown-field policies.
const (
	UnknownAllow  = "allow"
	UnknownDrop   = "drop"
	UnknownReject = "reject"
)

// Schema is a decoded, compiled `schema` block.
type Schema struct {
	Name          string
	Version       string
	UnknownFields string // allow (default), drop, reject
	Fields        []*Field
	byName        map[string]*Field // by Key (and by Name, for a path)
	sorted        []int             // indexes of Fields, by Key
	sortedKeys    []string          // the Key of each of sorted, in its order
	sortedNeeded  []bool            // each of sorted has a default or is required
	heads         map[string]bool   // the top-level keys of the declared paths
}

// ParsePath reads a nested field's name in Logstash's form,
// "[http][request][method]", as its path; ok is false for any other name
// (a top-level key, dots included: "k8s.pod.name" is one key).
func ParsePath(name string) (path []string, ok bool) {
	if len(name) < 3 || name[0] != '[' || name[len(name)-1] != ']' {
		return nil, false
	}
	for _, part := range strings.Split(name[1:len(name)-1], "][") {
		if part == "" || strings.ContainsAny(part, "[]\x00") {
			return nil, false
		}
		path = append(path, part)
	}
	return path, true
}

// Field is one declared field.
type Field struct {
	// Name is the field's declared name: a top-level key ("status"), or
	// a nested field's path in Logstash's form ("[http][request][method]",
	// the field method of the object request of the object http).
	Name string
	// Key is the field's key in a record: Name, or the path key
	// (agent.PathKey) of a path. New sets it.
	Key        string
	Type       Type
	Required   bool
	Pattern    *regexp.Regexp
	scanner    *scan.Scanner // Pattern in one pass, when it has the shape
	Values     []string      // enum values
	Min, Max   *float64      // numbers: value; strings, lists: length
	Default    any           // already of the field's type
	Layout     string        // time: layout of string values (default RFC 3339)
	Items      Type          // list: element type ("" = any)
	NullValues []string      // strings that mean "no value" (such as "-")
	// Volatile marks a field that differs from one record to the next by
	// nature (an id, a time): octoagent diff leaves it out unless asked.
	Volatile bool

	// plan is how CaptureString types a string for this field, decided
	// once by New (see prepare).
	plan capturePlan
}

// New finishes a schema built by hand or by the decoder: it indexes the
// fields and checks their settings.
func New(s *Schema) (*Schema, error) {
	if s.UnknownFields == "" {
		s.UnknownFields = UnknownAllow
	}
	s.byName = make(map[string]*Field, len(s.Fields))
	s.sorted = make([]int, len(s.Fields))
	for i := range s.sorted {
		s.sorted[i] = i
	}
	s.heads = map[string]bool{}
	for _, f := range s.Fields {
		f.Key = f.Name
		if path, ok := ParsePath(f.Name); ok {
			f.Key = agent.PathKey(path...)
			s.heads[path[0]] = true
		}
		if _, dup := s.byName[f.Key]; dup {
			return nil, fmt.Errorf("field %q declared twice", f.Name)
		}
		s.byName[f.Key] = f
		if f.Key != f.Name {
			s.byName[f.Name] = f
		}
		if f.Pattern != nil {
			f.scanner = scan.Compile(f.Pattern)
		}
		if f.Default != nil {
			v, err := f.coerce(f.Default)
			if err != nil {
				return nil, fmt.Errorf("field %q: default: %v", f.Name, err)
			}
			f.Default = v
		}
		f.prepare()
	}
	sort.Slice(s.sorted, func(a, b int) bool { return s.Fields[s.sorted[a]].Key < s.Fields[s.sorted[b]].Key })
	s.sortedKeys = make([]string, len(s.sorted))
	s.sortedNeeded = make([]bool, len(s.sorted))
	for k, i := range s.sorted {
		f := s.Fields[i]
		s.sortedKeys[k] = f.Key
		s.sortedNeeded[k] = f.Default != nil || f.Required
	}
	return s, nil
}

// Field returns a declared field by name.
func (s *Schema) Field(name string) (*Field, bool) {
	f, ok := s.byName[name]
	return f, ok
}

// ExprEnv returns each declared field with a value of its type (zero, or
// empty), for type-checking expressions against the schema when they
// compile: with it, `status + "x"` fails at load when status is an int.
func (s *Schema) ExprEnv() map[string]any {
	env := map[string]any{}
	if s == nil {
		return env
	}
	for _, f := range s.Fields {
		if head, _, nested := strings.Cut(f.Key, agent.PathSep); nested {
			if _, ok := env[head]; !ok {
				env[head] = map[string]any{} // a nested field: an object
			}
			continue
		}
		switch f.Type {
		case Int:
			env[f.Name] = int64(0)
		case Float:
			env[f.Name] = 0.0
		case Bool:
			env[f.Name] = false
		case Time:
			env[f.Name] = time.Time{}
		case List:
			env[f.Name] = []any{}
		case Map:
			env[f.Name] = map[string]any{}
		default:
			env[f.Name] = ""
		}
	}
	return env
}

// Required lists the names of the required fields.
func (s *Schema) Required() []string {
	var out []string
	for _, f := range s.Fields {
		if f.Required {
			out = append(out, f.Name)
		}
	}
	return out
}

// Apply validates fields in place: it coerces each declared field to its
// type, fills defaults, applies the unknown-field policy, and returns every
// problem found, one per field, in declaration order (unknown fields last,
// sorted). fields is only changed where a value was coerced, defaulted or
// dropped.
func (s *Schema) Apply(fields map[string]any) []agent.FieldError {
	var r agent.Record
	r.SetFields(fields)
	return s.ApplyRecord(&r, false)
}

// ApplyRecord is Apply on a record's fields, typed or not. captured says
// that every field of r was set through Capture or CaptureString of this
// schema (a parse step of this transform built the record from its raw
// line): the values are then already coerced and checked, and only the
// defaults, the required fields and the unknown-field policy remain.
func (s *Schema) ApplyRecord(r *agent.Record, captured bool) []agent.FieldError {
	if captured && r.HoldsTyped() {
		return s.applyCaptured(r)
	}
	var errs []agent.FieldError
	for _, f := range s.Fields {
		v, present := r.Get(f.Key)
		if present && f.isNull(v) {
			r.Delete(f.Key)
			present = false
		}
		if !present {
			switch {
			case f.Default != nil:
				r.Set(f.Key, f.Default)
			case f.Required:
				errs = append(errs, agent.FieldError{Field: f.Name, Error: "required, missing"})
			}
			continue
		}
		cv, err := f.coerce(v)
		if err != nil {
			errs = append(errs, agent.FieldError{Field: f.Name, Error: err.Error()})
			continue
		}
		if !sameScalar(v, cv) {
			r.Set(f.Key, cv)
		}
	}
	if s.UnknownFields != UnknownAllow {
		errs = append(errs, s.unknown(r)...)
	}
	return errs
}

// sameScalar reports whether a and b are the same scalar of the same type:
// a field whose value the schema left as it was need not be set again
// (setting a field of a map boxes its value and writes the map).
func sameScalar(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x == y
	}
	return false
}

// unknown applies the unknown-field policy (drop or reject) to r.
func (s *Schema) unknown(r *agent.Record) []agent.FieldError {
	var unknown []string
	each := func(k string) {
		if _, ok := s.byName[k]; !ok && !s.heads[k] {
			unknown = append(unknown, k)
		}
	}
	if !r.IsRaw() {
		for k := range r.All() {
			each(k)
		}
	}
	sort.Strings(unknown)
	var errs []agent.FieldError
	for _, k := range unknown {
		if s.UnknownFields == UnknownDrop {
			r.Delete(k)
			continue
		}
		errs = append(errs, agent.FieldError{Field: k, Error: "not declared in schema " + s.Name})
	}
	return errs
}

// applyCaptured is ApplyRecord for typed fields that were all captured
// through this schema: it finds the declared fields that are missing in one
// walk over both sorted lists, then fills defaults and reports the required
// ones in declaration order.
//
// Only the missing fields with a default or required are listed, and most
// records miss none of those: the walk is then all, with no list of every
// field to clear and scan again, and each field is told by its key's
// pointer (the nginx split pack's records: 780 instructions a record
// before, 445 after; callgrind on BenchmarkNginxPackGen/split).
func (s *Schema) applyCaptured(r *agent.Record) []agent.FieldError {
	fs := r.TypedFields()
	var room [8]int
	missing := room[:0] // indexes into Fields
	j := 0
	for k, name := range s.sortedKeys {
		// Parse steps key their captures with the schema's own name
		// strings, so the next field is usually this one by pointer,
		// told without a call.
		if j < len(fs) && agent.SameData(fs[j].Key, name) {
			j++
			continue
		}
		var found bool
		if j, found = seekKey(fs, j, name); !found && s.sortedNeeded[k] {
			missing = append(missing, s.sorted[k]) // to default or report
		}
	}
	var errs []agent.FieldError
	if len(missing) > 0 {
		if len(missing) > 1 {
			slices.Sort(missing) // the order of declaration
		}
		for _, i := range missing {
			switch f := s.Fields[i]; {
			case f.plan.defaultOK:
				r.SetValue(f.Key, f.plan.defaultValue) // r.Set(f.Key, f.Default), not boxed again
			case f.Default != nil:
				r.Set(f.Key, f.Default)
			case f.Required:
				errs = append(errs, agent.FieldError{Field: f.Name, Error: "required, missing"})
			}
		}
	}
	if s.UnknownFields != UnknownAllow {
		// Rare: the general path sorts and reports them.
		return append(errs, s.unknown(r)...)
	}
	return errs
}

// seekKey moves j, in fields sorted by key, past the keys before name and
// past name itself if it is there.
func seekKey(fs agent.TypedFields, j int, name string) (int, bool) {
	for ; j < len(fs); j++ {
		if k := fs[j].Key; k == name {
			return j + 1, true
		} else if k > name {
			break
		}
	}
	return j, false
}

func (f *Field) isNull(v any) bool {
	if len(f.NullValues) == 0 {
		return false
	}
	s, ok := v.(string)
	return ok && slices.Contains(f.NullValues, s)
}

// describe renders a value in an error message: its JSON type and, for
// scalars, the value itself (quoted and cut for strings).
func describe(v any) string {
	switch t := v.(type) {
	case string:
		if len(t) > 40 {
			t = t[:40] + "…"
		}
		return "string " + strconv.Quote(t)
	case int64, int:
		return fmt.Sprintf("int %d", t)
	case float64:
		return "float " + strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return fmt.Sprintf("bool %v", t)
	case nil:
		return "null"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	case time.Time:
		return "time " + t.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%T", v)
}

func mismatch(t Type, v any) error {
	return fmt.Errorf("expects %s, got %s", t, describe(v))
}

// coerce converts v to the field's type and checks its constraints.
func (f *Field) coerce(v any) (any, error) {
	out, err := coerceTo(f.Type, f.Layout, v)
	if err != nil {
		return nil, err
	}
	return out, f.check(out)
}

func coerceTo(t Type, layout string, v any) (any, error) {
	if x, ok := v.(string); ok && t != List && t != Map {
		if t == String || t == Enum {
			return v, nil // as it is, not boxed again
		}
		if t == Time {
			tm, err := parseTime(layout, x)
			if err != nil {
				return nil, err
			}
			return tm, nil
		}
		out, err := coerceString(t, layout, x)
		if err != nil {
			return nil, err
		}
		return out.Any(), nil
	}
	switch t {
	case String:
		switch x := v.(type) {
		case int64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case Int:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		}
	case Float:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
	case Time:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case int64:
			return time.Unix(x, 0).UTC(), nil
		case float64:
			sec, frac := math.Modf(x)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		}
	case Duration:
		switch x := v.(type) {
		case int64:
			return (time.Duration(x) * time.Second).String(), nil
		case float64:
			return time.Duration(x * float64(time.Second)).String(), nil
		}
	case List:
		if l, ok := v.([]any); ok {
			return l, nil
		}
	case Map:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	return nil, mismatch(t, v)
}

// coerceString converts a string (what parse steps capture) to a scalar of
// type t, without boxing it. List and map types take no string.
func coerceString(t Type, layout string, x string) (agent.Value, error) {
	switch t {
	case String, Enum:
		return agent.StringValue(x), nil
	case Int:
		if n, ok := agent.ShortInt(x); ok {
			return agent.IntValue(n), nil
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return agent.IntValue(n), nil
		}
	case Float:
		if n, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsNaN(n) && !math.IsInf(n, 0) {
			return agent.FloatValue(n), nil
		}
	case Bool:
		switch strings.ToLower(x) {
		case "true", "yes", "on", "1":
			return agent.BoolValue(true), nil
		case "false", "no", "off", "0":
			return agent.BoolValue(false), nil
		}
	case Time:
		if layout == commonLog {
			if sec, _, ok := commonLogUnix(x); ok {
				return agent.UnixValue(sec, 0), nil
			}
		}
		tm, err := parseTime(layout, x)
		if err != nil {
			return agent.Value{}, err
		}
		return agent.TimeValue(tm), nil
	case Duration:
		if d, err := time.ParseDuration(x); err == nil {
			return agent.StringValue(d.String()), nil
		}
	case IP:
		if a, err := netip.ParseAddr(x); err == nil {
			if a.Is4() {
				return agent.StringValue(x), nil // already canonical: ParseAddr refuses other IPv4 spellings
			}
			var buf [64]byte
			if canon := a.AppendTo(buf[:0]); string(canon) != x {
				return agent.StringValue(string(canon)), nil // a.String()
			}
			return agent.StringValue(x), nil // already canonical: no copy

		}
	case URL:
		if x != "" {
			// An absolute URL (scheme and host), or a path reference.
			if u, err := url.Parse(x); err == nil && ((u.Scheme != "" && u.Host != "") || strings.HasPrefix(x, "/")) {
				return agent.StringValue(x), nil
			}
		}
	}
	return agent.Value{}, mismatch(t, x)
}

// parseTime parses a time string in layout (RFC 3339 when empty).
func parseTime(layout, x string) (time.Time, error) {
	l := layout
	if l == "" {
		l = time.RFC3339Nano
	}
	if l == commonLog {
		if tm, ok := parseCommonLog(x); ok {
			return tm, nil
		}
	}
	if tm, err := time.Parse(l, x); err == nil {
		return tm, nil
	}
	if layout == "" {
		return time.Time{}, fmt.Errorf("expects time (RFC 3339), got %s", describe(x))
	}
	return time.Time{}, fmt.Errorf("expects time in layout %q, got %s", layout, describe(x))
}

// check applies pattern, enum values, min/max and list item types.
func (f *Field) check(v any) error {
	if f.Type == List && f.Items != "" {
		l := v.([]any)
		for i, e := range l {
			ce, err := coerceTo(f.Items, f.Layout, e)
			if err != nil {
				return fmt.Errorf("item %d: %v", i, err)
			}
			l[i] = ce
		}
	}
	if l, ok := v.([]any); ok {
		return f.checkRange(float64(len(l)), "length")
	}
	if sv, ok := agent.ValueOf(v); ok {
		return f.checkValue(sv)
	}
	return nil
}

// checkValue applies pattern, enum values and min/max to a scalar.
func (f *Field) checkValue(v agent.Value) error {
	if f.Type == Enum && !slices.Contains(f.Values, v.Str()) {
		return fmt.Errorf("expects one of %s, got %s", strings.Join(f.Values, ", "), describe(v.Any()))
	}
	if f.Pattern != nil && v.Kind() == agent.KindString && !f.matchPattern(v.Str()) {
		return fmt.Errorf("does not match pattern %s: %s", f.Pattern, describe(v.Any()))
	}
	if f.Min == nil && f.Max == nil {
		return nil
	}
	if n, ok := v.Number(); ok {
		return f.checkRange(n, "value")
	}
	if v.Kind() == agent.KindString {
		return f.checkRange(float64(len(v.Str())), "length")
	}
	return nil
}

func (f *Field) checkRange(n float64, what string) error {
	if f.Min != nil && n < *f.Min {
		return fmt.Errorf("%s %s is below the minimum %s", what, fmtNum(n), fmtNum(*f.Min))
	}
	if f.Max != nil && n > *f.Max {
		return fmt.Errorf("%s %s is above the maximum %s", what, fmtNum(n), fmtNum(*f.Max))
	}
	return nil
}

func (f *Field) matchPattern(s string) bool {
	if f.scanner != nil {
		return f.scanner.MatchString(s)
	}
	return f.Pattern.MatchString(s)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Missing reports the required fields absent from the record (and with no
// default), except those already in errs.
func (s *Schema) Missing(r *agent.Record, errs []agent.FieldError) []agent.FieldError {
	var out []agent.FieldError
next:
	for _, f := range s.Fields {
		if !f.Required || f.Default != nil {
			continue
		}
		if _, ok := r.Get(f.Key); ok {
			continue
		}
		for _, e := range errs {
			if e.Field == f.Name {
				continue next
			}
		}
		out = append(out, agent.FieldError{Field: f.Name, Error: "required, missing"})
	}
	return out
}

// Capture converts a value captured for field name as soon as it is
// captured, so that later steps see typed values. It returns the value to
// store (v itself when the field is not declared), skip=true for a null
// value (such as "-"), which is not stored, or the field's error.
func (s *Schema) Capture(name string, v any) (out any, skip bool, err error) {
	f, ok := s.byName[name]
	if !ok {
		return v, false, nil
	}
	if f.isNull(v) {
		return nil, true, nil
	}
	out, err = f.coerce(v)
	return out, false, err
}

// CaptureString is Capture for a captured string, typed without boxing.
// Undeclared fields stay strings.
func (s *Schema) CaptureString(name, x string) (out agent.Value, skip bool, err error) {
	f, ok := s.byName[name]
	if !ok {
		return agent.StringValue(x), false, nil
	}
	return f.CaptureString(x)
}

// captureString is CaptureString's general path: every type, every
// constraint, and the errors.
func (f *Field) captureString(x string) (out agent.Value, skip bool, err error) {
	if len(f.NullValues) > 0 && slices.Contains(f.NullValues, x) {
		return agent.Value{}, true, nil
	}
	if f.Type == List || f.Type == Map {
		return agent.Value{}, false, mismatch(f.Type, x)
	}
	out, err = coerceString(f.Type, f.Layout, x)
	if err != nil {
		return agent.Value{}, false, err
	}
	return out, false, f.checkValue(out)
}
