package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// How Logstash's grok reads references and converts captures, with lines
// written from each format's documentation. Measured against Logstash's own
// spec lines by e2e/grokspec (see internal/grok/README.md).
var logstashReadingCases = []struct {
	name    string
	ecs     string
	pattern string
	line    string
	want    map[string]any // dotted paths for nested fields
}{
	// Logstash reads %{NAME ...} as %{NAME}: after the name and a space,
	// the rest of the reference is skipped (Nagios "SERVICE ALERT" log
	// line: [epoch] SERVICE ALERT: host;service;state;state type;attempt;output).
	{"text after the name is skipped", "disabled", "%{NAGIOSLOGLINE - service alerts}",
		`[1700000000] SERVICE ALERT: web01;HTTP;WARNING;SOFT;2;HTTP WARNING: HTTP/1.1 403 Forbidden`,
		map[string]any{"nagios_epoch": "1700000000", "nagios_type": "SERVICE ALERT", "nagios_hostname": "web01", "nagios_service": "HTTP",
			"nagios_state": "WARNING", "nagios_statelevel": "SOFT", "nagios_attempt": "2", "nagios_message": "HTTP WARNING: HTTP/1.1 403 Forbidden"}},
}

func runGrokCase(t *testing.T, ecs, pattern, line string) (map[string]any, bool) {
	t.Helper()
	tr, out, dl := build(t, fmt.Sprintf("parse \"grok\" {\n  pattern = %s\n  ecs_compatibility = %q\n}\n", hclString(pattern), ecs))
	if err := tr.Process(context.Background(), raw(line)); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 {
		t.Errorf("%s %s: %d records, dead letters %v", ecs, pattern, len(out.got), dl.got)
		return nil, false
	}
	return out.got[0].MaterializeFields(), true
}

func TestGrokReadsReferencesAndConvertsAsLogstash(t *testing.T) {
	for _, c := range logstashReadingCases {
		fields, ok := runGrokCase(t, c.ecs, c.pattern, c.line)
		if !ok {
			continue
		}
		for k, v := range c.want {
			if got, ok := lookupPath(fields, k); !ok || got != v {
				t.Errorf("%s: %s = %#v (present %v), want %#v", c.name, k, got, ok, v)
			}
		}
	}
	// Only a space ends the name: anything else is still an error.
	_, d := decodeRules(t, "parse \"grok\" {\n  pattern = \"%%{IP-ADDR}\"\n}\n")
	if !d.HasErrors() || !strings.Contains(d.Error(), "invalid pattern name") {
		t.Errorf("%%{IP-ADDR}: %v", d)
	}
}
