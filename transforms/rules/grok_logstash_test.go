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
	// :float and :int take the number at the start of the capture, as
	// Logstash's Ruby to_f and to_i do: legacy CLOUDFRONT_ACCESS_LOG's
	// time_taken is a GREEDYDATA that runs over the fields after it
	// (CloudFront standard log, fields as AWS documents them: date, time,
	// x-edge-location, sc-bytes, c-ip, ..., time-taken, x-forwarded-for,
	// ssl-protocol, ssl-cipher, x-edge-response-result-type, ...).
	{"float of a greedy capture", "disabled", "%{CLOUDFRONT_ACCESS_LOG}",
		"2026-11-21\t05:41:35\tFRA2\t1045\t198.51.100.7\tGET\td1abcdefexample.cloudfront.net\t/img/logo.png\t200\t-\tcurl/8.4.0\t-\t-\tMiss\tAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefGHIJKL==\tcdn.example.org\thttps\t41\t0.002\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tMiss\tHTTP/2.0\t-\t-\t50412\t0.002\tMiss\timage/png\t1045\t-\t-",
		map[string]any{"x_edge_location": "FRA2", "sc_bytes": int64(1045), "clientip": "198.51.100.7", "sc_status": int64(200), "cs_bytes": int64(41), "time_taken": 0.002}},
}

// Logstash's :int and :float are Ruby's String#to_i and #to_f: leading
// whitespace is skipped, the number at the start is read and what follows
// it ignored.
func TestGrokConversionsReadTheLeadingNumber(t *testing.T) {
	for _, c := range []struct {
		in, typ string
		want    any
	}{
		{"42", "int", int64(42)}, {" 42 ms", "int", int64(42)}, {"+7", "int", int64(7)}, {"-7", "int", int64(-7)},
		{"12.7", "int", int64(12)}, {"1_000", "int", int64(1000)}, {"1e3", "int", int64(1)},
		{"0.25", "float", 0.25}, {"0.25\t-\tx", "float", 0.25}, {"1.5e3s", "float", 1500.0}, {"7", "float", 7.0}, {"5.", "float", 5.0},
	} {
		got, err := convertGrok(c.in, c.typ)
		if err != nil || got != c.want {
			t.Errorf("%q:%s = %#v, %v; want %#v", c.in, c.typ, got, err, c.want)
		}
	}
	for _, in := range []string{"", "abc", "-", ".5x"} {
		if _, err := convertGrok(in, "int"); err == nil {
			t.Errorf("%q:int: no error", in)
		}
	}
}

// Captures into [@metadata] are Logstash's pipeline-only fields, never
// output: grok does not set them. A Cisco ASA 106023 message (Cisco's
// syslog message guide: "Deny protocol src [interface_name:source_address/
// source_port] dst interface_name:dest_address/dest_port by access-group
// acl_ID [0xhash, 0xhash]").
func TestGrokDoesNotOutputMetadata(t *testing.T) {
	fields, ok := runGrokCase(t, "v1", "%{CISCOFW106023}", `Deny udp src dmz:203.0.113.9/5353 dst outside:192.0.2.77/53 by access-group "dmz_in" [0x5e1f7a2b, 0x0]`)
	if !ok {
		return
	}
	if _, ok := fields["@metadata"]; ok {
		t.Errorf("@metadata set: %v", fields)
	}
	if v, _ := lookupPath(fields, "cisco.asa.rule_name"); v != "dmz_in" {
		t.Errorf("rule_name = %#v in %v", v, fields)
	}
	if v, _ := lookupPath(fields, "destination.port"); v != int64(53) {
		t.Errorf("destination.port = %#v", v)
	}
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
