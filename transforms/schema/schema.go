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
	"github.com/octostore/agent/transforms/internal/scan"
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
	byName        map[string]*Field
}

// Field is one declared field.
type Field struct {
	Name       string
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
}

// New finishes a schema built by hand or by the decoder: it indexes the
// fields and checks their settings.
func New(s *Schema) (*Schema, error) {
	if s.UnknownFields == "" {
		s.UnknownFields = UnknownAllow
	}
	s.byName = make(map[string]*Field, len(s.Fields))
	for _, f := range s.Fields {
		if _, dup := s.byName[f.Name]; dup {
			return nil, fmt.Errorf("field %q declared twice", f.Name)
		}
		s.byName[f.Name] = f
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
	}
	return s, nil
}

// Field returns a declared field by name.
func (s *Schema) Field(name string) (*Field, bool) {
	f, ok := s.byName[name]
	return f, ok
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
	var errs []agent.FieldError
	for _, f := range s.Fields {
		v, present := fields[f.Name]
		if present && f.isNull(v) {
			delete(fields, f.Name)
			present = false
		}
		if !present {
			switch {
			case f.Default != nil:
				fields[f.Name] = f.Default
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
		fields[f.Name] = cv
	}
	if s.UnknownFields != UnknownAllow {
		var unknown []string
		for k := range fields {
			if _, ok := s.byName[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			if s.UnknownFields == UnknownDrop {
				delete(fields, k)
				continue
			}
			errs = append(errs, agent.FieldError{Field: k, Error: "not declared in schema " + s.Name})
		}
	}
	return errs
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
	switch t {
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case Enum:
		if s, ok := v.(string); ok {
			return s, nil
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
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
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
		case string:
			if n, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsNaN(n) && !math.IsInf(n, 0) {
				return n, nil
			}
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(x) {
			case "true", "yes", "on", "1":
				return true, nil
			case "false", "no", "off", "0":
				return false, nil
			}
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
	case Time:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
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
				return nil, fmt.Errorf("expects time (RFC 3339), got %s", describe(v))
			}
			return nil, fmt.Errorf("expects time in layout %q, got %s", layout, describe(v))
		case int64:
			return time.Unix(x, 0).UTC(), nil
		case float64:
			sec, frac := math.Modf(x)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
		}
	case Duration:
		switch x := v.(type) {
		case string:
			if d, err := time.ParseDuration(x); err == nil {
				return d.String(), nil
			}
		case int64:
			return (time.Duration(x) * time.Second).String(), nil
		case float64:
			return time.Duration(x * float64(time.Second)).String(), nil
		}
	case IP:
		if s, ok := v.(string); ok {
			if a, err := netip.ParseAddr(s); err == nil {
				if a.Is4() {
					return s, nil // already canonical: ParseAddr refuses other IPv4 spellings
				}
				return a.String(), nil
			}
		}
	case URL:
		if s, ok := v.(string); ok && s != "" {
			// An absolute URL (scheme and host), or a path reference.
			if u, err := url.Parse(s); err == nil && ((u.Scheme != "" && u.Host != "") || strings.HasPrefix(s, "/")) {
				return s, nil
			}
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

// check applies pattern, enum values, min/max and list item types.
func (f *Field) check(v any) error {
	if f.Type == Enum && !slices.Contains(f.Values, v.(string)) {
		return fmt.Errorf("expects one of %s, got %s", strings.Join(f.Values, ", "), describe(v))
	}
	if f.Pattern != nil {
		if s, ok := v.(string); ok && !f.matchPattern(s) {
			return fmt.Errorf("does not match pattern %s: %s", f.Pattern, describe(v))
		}
	}
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
	if f.Min == nil && f.Max == nil {
		return nil
	}
	var n float64
	what := "value"
	switch x := v.(type) {
	case int64:
		n = float64(x)
	case float64:
		n = x
	case string:
		n, what = float64(len(x)), "length"
	case []any:
		n, what = float64(len(x)), "length"
	default:
		return nil
	}
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

// Missing reports the required fields absent from fields (and with no
// default), except those already in errs.
func (s *Schema) Missing(fields map[string]any, errs []agent.FieldError) []agent.FieldError {
	var out []agent.FieldError
next:
	for _, f := range s.Fields {
		if !f.Required || f.Default != nil {
			continue
		}
		if _, ok := fields[f.Name]; ok {
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
