package rules

import (
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

// TestTimeMemoMatchesCapture: a time captured through its memo is what
// the schema makes of it, whether the memo holds the string or not, and
// a string the schema rejects or skips leaves the memo as it was.
func TestTimeMemoMatchesCapture(t *testing.T) {
	res, diags := config.Load([]string{"../../configs/schemas"}, agent.NewRegistry())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan := newCapturePlan([]string{"client_ip", "time"}, res.Schemas["http_request"])
	m := plan.memo(1)
	if m == nil || plan.memo(0) != nil {
		t.Fatalf("memos %v: want one for time only", plan.times)
	}
	f := plan.fields[1]
	for _, s := range []string{
		"21/Nov/2026:05:00:00 +0000", "21/Nov/2026:05:00:00 +0000", "21/Nov/2026:05:00:01 +0000",
		"21/Nov/2026:05:00:01 +0200", "garbage", "21/Nov/2026:05:00:01 +0200", "",
		"21/Nov/2026:05:00:00 +0000", "2026-11-21T05:00:00Z", "21/Nov/2026:05:00:00 +0000",
		"Mon, 21 Nov 2026 05:00:00 +0000 and far too long for the memo", "21/Nov/2026:05:00:00 +0000",
	} {
		want, wantSkip, wantErr := f.CaptureString(s)
		got, skip, err := m.capture(f, s)
		if got != want || skip != wantSkip || (err == nil) != (wantErr == nil) {
			t.Errorf("%q: memo gives %v %v %v, the schema %v %v %v", s, got, skip, err, want, wantSkip, wantErr)
		}
	}
}
