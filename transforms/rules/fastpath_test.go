package rules_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/schema"
	"github.com/octostore/agent/transforms/rules"
)

// TestNginxPackFastPathsMatchGeneral runs the nginx pack (regex) and its
// split variant, whose records are typed as they are captured (the
// schema's per-field fast paths, captures appended in order, the split
// chain, the timestamp step's lookup), and the same steps without a schema
// followed by the schema's general path (Schema.Apply on the fields map),
// on generated lines and on lines with a field made wrong: the same fields
// and times, or the same errors.
func TestNginxPackFastPathsMatchGeneral(t *testing.T) {
	// Token index (split on spaces) -> replacements: each makes a field
	// wrong, null, or odd but valid.
	muts := map[int][]string{
		0:  {"999.1.1.1", "01.2.3.4", "::1", "2001:DB8::1", "10.0.0", "-"},
		2:  {"", "\"-\""},
		3:  {"[21/Xyz/2026:05:00:00", "[31/Nov/2026:05:00:00", "[21/Nov/2026:25:00:00"},
		4:  {"-0130]", "+2400]"},
		5:  {"\"FOO", "\"get", "\"-"},
		7:  {"HTTP/x\"", "HTTP/2.0\"", "SPDY/3\""},
		8:  {"700", "99", "2x0", "-", "0200"},
		9:  {"-", "x", "-5", "00", "123456789012345678901"},
		10: {"\"-\"", "\"\""},
	}
	var lines []string
	for i, b := range rules.NginxGenLines(t) {
		l := string(b)
		lines = append(lines, l)
		toks := strings.Split(l, " ")
		for k, subs := range muts {
			if k < len(toks) {
				m := append([]string(nil), toks...)
				m[k] = subs[i%len(subs)]
				lines = append(lines, strings.Join(m, " "))
			}
		}
	}
	sch := httpSchema(t)
	for _, v := range []struct{ name, file, from string }{
		{"regex", "../../configs/nginx/rules.hcl", `parse "regex"`},
		{"split", "../../configs/nginx/variants/split.hcl", `parse "split"`},
	} {
		t.Run(v.name, func(t *testing.T) {
			src, err := os.ReadFile(v.file)
			if err != nil {
				t.Fatal(err)
			}
			s := string(src)
			body := s[strings.Index(s, "  "+v.from):strings.LastIndex(s, "}")]
			fast, fastDead := runBody(t, body+"schema = schema.http_request\n", sch, lines)
			// The steps without the schema, nor the timestamp step (it
			// would reject a bad time before the schema does): general
			// sets the time from the typed field.
			plain, plainDead := runBody(t, body[:strings.Index(body, "  timestamp {")], nil, lines)
			var n, bad int
			for i := range lines {
				want, wantErrs := general(sch, plain[i], plainDead[i])
				if v.name == "split" && plainDead[i] == nil {
					wantErrs = splitStepByStep(wantErrs)
				}
				got, gotErrs := describeRecord(fast[i]), deadErrors(fastDead[i])
				if got != want || !reflect.DeepEqual(gotErrs, wantErrs) {
					t.Errorf("%q:\n fast:    %s %v\n general: %s %v", lines[i], got, gotErrs, want, wantErrs)
				}
				if got != "" {
					n++
				} else {
					bad++
				}
			}
			if n < len(lines)/3 || bad < len(lines)/4 {
				t.Errorf("%d records and %d dead letters of %d lines: the lines do not try both paths", n, bad, len(lines))
			}
		})
	}
}

// splitStepByStep is the errors of the split variant, given those of the
// schema on all its fields: a value its first step captures wrong stops
// the line there (a schema error of that step), before the second step
// captures method and path, which the error then lists as missing too.
func splitStepByStep(errs []string) []string {
	for _, e := range errs {
		if f, _, _ := strings.Cut(e, ":"); f != "method" && f != "path" && f != "protocol" {
			errs = append(errs, "method: required, missing", "path: required, missing")
			sort.Strings(errs)
			return errs
		}
	}
	return errs
}

// runBody runs each line through a transform of body and returns, per
// line, the record made (or nil) and the dead letter (or nil).
func runBody(t *testing.T, body string, s *schema.Schema, lines []string) ([]*agent.Record, []*agent.Record) {
	t.Helper()
	out, dead := &collect{}, &collect{}
	tr := newTransform(t, body, s, out, dead)
	recs, deads := make([]*agent.Record, len(lines)), make([]*agent.Record, len(lines))
	for i, l := range lines {
		out.got, dead.got = nil, nil
		if err := tr.Process(context.Background(), agent.Batch{{Raw: []byte(l)}}); err != nil {
			t.Fatal(err)
		}
		if len(out.got) == 1 {
			recs[i] = &out.got[0]
		}
		if len(dead.got) == 1 {
			deads[i] = &dead.got[0]
		}
	}
	return recs, deads
}

// general is what the schema's general path makes of the record or dead
// letter of the steps without a schema: a record, or the errors.
func general(s *schema.Schema, r, dead *agent.Record) (string, []string) {
	if dead != nil {
		return "", deadErrors(dead)
	}
	fields := r.MaterializeFields()
	if errs := s.Apply(fields); len(errs) > 0 {
		var out []string
		for _, e := range errs {
			out = append(out, e.Field+": "+e.Error)
		}
		sort.Strings(out)
		return "", out
	}
	r.Time = fields["time"].(time.Time)
	return describeRecord(r), nil
}

// describeRecord is a record's time and fields, times in UTC; "" for nil.
func describeRecord(r *agent.Record) string {
	if r == nil {
		return ""
	}
	fields := r.MaterializeFields()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "time=%s", r.Time.UTC().Format(time.RFC3339Nano))
	for _, k := range keys {
		v := fields[k]
		if tm, ok := v.(time.Time); ok {
			v = tm.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, " %s=%T:%v", k, v, v)
	}
	return b.String()
}

// deadErrors is a dead letter's errors, "field: error", sorted; nil for
// no dead letter.
func deadErrors(d *agent.Record) []string {
	if d == nil {
		return nil
	}
	var out []string
	errs, _ := d.MaterializeFields()["errors"].([]any)
	for _, e := range errs {
		m := e.(map[string]any)
		f, _ := m["field"].(string)
		out = append(out, f+": "+m["error"].(string))
	}
	sort.Strings(out)
	return out
}
