package rules_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

// The jq step of `make bench`'s nginx_regex_jq scenario, on the nginx
// pack's records of the generated log (testdata/nginx_gen.log, e2e/gen
// seed 1): the fast path, and gojq given the fields read, write the same
// bytes as gojq given the whole record (a query that binds the record to a
// variable gets it whole).
func TestJQOnNginxPackRecordsMatchesWholeRecord(t *testing.T) {
	c := loadComponent(t, "transform.nginx_access", "../../configs/schemas", "testdata/nginx_source.hcl", "../../configs/nginx/rules.hcl")
	data, err := os.ReadFile("testdata/nginx_gen.log")
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := runTransform(t, c, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"))
	if len(recs) < 250 {
		t.Fatalf("the pack made %d records", len(recs))
	}
	run := func(query string) []string {
		t.Helper()
		dir := t.TempDir()
		// The jq block with a long timeout: the default 100ms per record
		// dead-letters a record now and then on a loaded machine, and
		// the two runs compared would differ by it.
		hcl := "transform \"reshape\" {\n  inputs = [transform.nginx_access]\n  kind   = \"http_request\"\n  jq {\n    timeout = \"1m\"\n    query   = <<-EOT\n" + query + "\n    EOT\n  }\n}\n"
		if err := os.WriteFile(dir+"/jq.hcl", []byte(hcl), 0o644); err != nil {
			t.Fatal(err)
		}
		c := loadComponent(t, "transform.reshape", "../../configs/schemas", "testdata/nginx_source.hcl", "../../configs/nginx/rules.hcl", dir)
		tr, out, dead := createTransform(t, c)
		b := make(agent.Batch, len(recs))
		for i := range recs {
			b[i] = recs[i].Clone()
		}
		if err := tr.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, r := range append(out.got, dead.got...) {
			lines = append(lines, string(agent.AppendJSON(nil, &r)))
		}
		return lines
	}
	for _, q := range []string{
		"{client_ip, method, path, status, bytes, slow: (.bytes > 100000)}",
		"select(.status >= 400) | {client_ip, status, user}",
		"select(.method == \"GET\")",
		"{client_ip, method, path, status, bytes, kb: (.bytes / 1024), at: .time}",
	} {
		want := run(". as $r | $r | " + q)
		got := run(q)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("%s: record %d\n  got  %s\n  want %s", q, i, got[i], want[i])
				}
			}
			t.Fatalf("%s: %d records, want %d", q, len(got), len(want))
		}
		if len(got) == 0 {
			t.Fatalf("%s: no records", q)
		}
	}
}
