package e2e

import (
	"github.com/octostore/agent/internal/testfig"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

var idRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestQuickstart runs the quickstart as `make run` does and checks what it
// prints: one record per sample line, typed or dead-lettered, with unique,
// deterministic IDs; and that a restart on the same data dir resumes at the
// end instead of reading the sample again.
func TestQuickstart(t *testing.T) {
	root := moduleRoot(t)
	sample, err := os.ReadFile(filepath.Join(root, "configs", "samples", "nginx_access.log"))
	if err != nil {
		t.Fatal(err)
	}
	sampleLines := splitLines(sample)
	if len(sampleLines) == 0 {
		t.Fatal("the sample log is empty")
	}
	isSample := map[string]bool{}
	for _, l := range sampleLines {
		isSample[l] = true
	}

	quickstart := func(dataDir string) []agent.WireRecord {
		t.Helper()
		code, stdout, stderr := runAgent(t, root, "run", "--once", "-c", "configs/quickstart.hcl",
			"-c", "configs/schemas", "-c", "configs/nginx/rules.hcl", "--data-dir", dataDir, "--http-addr", "off", "--log-level", "warn")
		if code != 0 {
			t.Fatalf("octoagent run --once exited with %d; stderr:\n%s", code, stderr)
		}
		return decodeJSONLines(t, stdout)
	}

	// Run 1: every line comes out once, typed or as a dead letter.
	recs := quickstart(t.TempDir())
	if len(recs) != len(sampleLines) {
		t.Fatalf("got %d records, want one per sample line (%d)", len(recs), len(sampleLines))
	}
	var typed, dead int
	ids := map[string]bool{}
	for i, r := range recs {
		if !idRe.MatchString(r.ID) {
			t.Errorf("record %d: id %q is not 32 hex characters", i, r.ID)
		}
		if ids[r.ID] {
			t.Errorf("record %d: id %s appears twice", i, r.ID)
		}
		ids[r.ID] = true
		switch r.Kind {
		case "http_request":
			typed++
			checkTyped(t, r)
		case agent.KindDeadLetter:
			dead++
			raw, _ := r.Fields["raw"].(string)
			if !isSample[raw] {
				t.Errorf("dead letter %s: fields.raw %q is not a line of the sample", r.ID, raw)
			}
			if errs, _ := r.Fields["errors"].([]any); len(errs) == 0 {
				t.Errorf("dead letter %s: fields.errors is %v, want a non-empty list", r.ID, r.Fields["errors"])
			}
		default:
			t.Errorf("record %s has kind %q, want http_request or dead_letter", r.ID, r.Kind)
		}
	}
	if typed+dead != len(recs) {
		t.Errorf("http_request (%d) + dead_letter (%d) = %d, want %d", typed, dead, typed+dead, len(recs))
	}
	testfig.Report(t, "sample lines: %d; http_request: %d; dead_letter: %d", len(sampleLines), typed, dead)

	// Run 2, from a fresh data dir: the same IDs, for the same records.
	dataDir := t.TempDir()
	again := quickstart(dataDir)
	if len(again) != len(recs) {
		t.Fatalf("second run: got %d records, want %d", len(again), len(recs))
	}
	want := map[string]agent.WireRecord{}
	for _, r := range recs {
		want[r.ID] = r
	}
	for _, r := range again {
		w, ok := want[r.ID]
		if !ok {
			t.Errorf("second run: id %s (kind %s, offset %d) was not produced by the first run", r.ID, r.Kind, r.Origin.Offset)
			continue
		}
		if w.Kind != r.Kind || w.Origin.Offset != r.Origin.Offset || w.Origin.Stream != r.Origin.Stream {
			t.Errorf("second run: id %s is %s at offset %d of %s, first run had %s at offset %d of %s",
				r.ID, r.Kind, r.Origin.Offset, r.Origin.Stream, w.Kind, w.Origin.Offset, w.Origin.Stream)
		}
	}
	idsOf := func(rs []agent.WireRecord) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.ID
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(idsOf(recs), idsOf(again)) {
		t.Errorf("the two runs produced different ID sets")
	}

	// Run 3, on run 2's data dir: the checkpoint is at the end of the sample.
	if rest := quickstart(dataDir); len(rest) != 0 {
		t.Errorf("third run on the same data dir printed %d records, want 0 (it should resume at the checkpoint); first: %+v", len(rest), rest[0])
	}
}

// checkTyped checks that the nginx pack typed a record: int status and
// bytes, an IP client, and the time from the line (also the record's time).
func checkTyped(t *testing.T, r agent.WireRecord) {
	t.Helper()
	status, ok := r.Fields["status"].(float64)
	if !ok || status != float64(int(status)) || status < 100 || status > 599 {
		t.Errorf("http_request %s: status %v is not an int in 100..599", r.ID, r.Fields["status"])
	}
	if b, ok := r.Fields["bytes"].(float64); !ok || b != float64(int64(b)) || b < 0 {
		t.Errorf("http_request %s: bytes %v is not a non-negative int", r.ID, r.Fields["bytes"])
	}
	if ip, _ := r.Fields["client_ip"].(string); net.ParseIP(ip) == nil {
		t.Errorf("http_request %s: client_ip %q is not an IP", r.ID, ip)
	}
	if p, _ := r.Fields["path"].(string); !strings.HasPrefix(p, "/") {
		t.Errorf("http_request %s: path %q", r.ID, p)
	}
	ts, _ := r.Fields["time"].(string)
	lineTime, err := time.Parse(time.RFC3339, ts)
	if err != nil || !lineTime.Equal(r.Time) || r.Time.Year() != 2026 {
		t.Errorf("http_request %s: fields.time %q and record time %v should be the line's time", r.ID, ts, r.Time)
	}
}
