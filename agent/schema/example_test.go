package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

// The example in the README (example.hcl) loads cleanly, and a record
// written as a build system would log it passes it.
func TestExampleLoads(t *testing.T) {
	res, diags := config.Load([]string{"example.hcl"}, agent.NewRegistry())
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			t.Errorf("%s: %s: %s", d.Subject, d.Summary, d.Detail)
		}
	}
	if diags.HasErrors() {
		t.FailNow()
	}
	s, ok := res.Schemas["ci_job"]
	if !ok {
		t.Fatalf("schema ci_job is not in res.Schemas (got %d schemas)", len(res.Schemas))
	}
	if s.Version != "3" || s.UnknownFields != "reject" || len(s.Fields) != 15 {
		t.Fatalf("version %q, unknown_fields %q, %d fields", s.Version, s.UnknownFields, len(s.Fields))
	}
	if f, _ := s.Field("job_id"); f == nil || !f.Volatile {
		t.Errorf("job_id is not volatile")
	}

	fields := map[string]any{
		"job_id": "build-4711-a", "pipeline": "agent/main", "status": "success",
		"exit_code": "-", "cpu_seconds": "12.5", "started_at": "2026-11-21T05:00:00Z",
		"finished_at": "21/Nov/2026:05:01:30 +0000", "duration": int64(90), "runner_ip": "10.0.0.7",
		"log_url": "https://ci.example.com/jobs/4711", "tags": []any{"linux", "amd64"},
		"step_exit_codes": []any{"0", int64(0)}, "env": map[string]any{"GOOS": "linux"},
	}
	if errs := s.Apply(fields); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if fields["attempt"] != int64(1) || fields["cached"] != false || fields["duration"] != "1m30s" || fields["cpu_seconds"] != 12.5 {
		t.Errorf("coerced fields: %v", fields)
	}
	if _, has := fields["exit_code"]; has {
		t.Errorf("exit_code %v: a null value is left out", fields["exit_code"])
	}
	if d := fields["finished_at"].(time.Time).Sub(fields["started_at"].(time.Time)); d != 90*time.Second {
		t.Errorf("finished_at - started_at = %v", d)
	}

	errs := s.Apply(map[string]any{"job_id": "X", "pipeline": "p", "status": "ok", "started_at": "now", "extra": 1})
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Field + ": " + e.Error
	}
	want := []string{
		`job_id: does not match pattern ^[a-z0-9-]{8,64}$: string "X"`,
		`status: expects one of success, failed, canceled, skipped, got string "ok"`,
		`started_at: expects time (RFC 3339), got string "now"`,
		`extra: not declared in schema ci_job`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
