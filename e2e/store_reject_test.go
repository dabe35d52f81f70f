package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testfig"
)

// TestStoreRejects: the store rejects every record whose line holds a
// marker, with a reason by field; the store also answers 413 to large
// batches and 503/429 now and then. Rejected records land in the sink's
// dead-letter output (a file sink) with the store's reasons, the others in
// the store, and the source commits past all of them: a second run reads
// nothing.
func TestStoreRejects(t *testing.T) {
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{RejectMarker: "REJECT-ME", MaxRecords: 300, Status: 503, StatusCount: 3, TooManyCount: 2, RetryAfter: 1})
	db := pgConn(t, pg.DSN())

	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	const n = 2000
	var b strings.Builder
	for i := 1; i <= n; i++ {
		line := seqLine(i)
		if i%10 == 0 {
			line += " REJECT-ME"
		}
		b.WriteString(line + "\n")
	}
	writeFile(t, logPath, b.String())
	deadPath := filepath.Join(dir, "dead.jsonl")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, storeAgentConfig(filepath.Join(dir, "data"), logPath, st.URL(), "")+fmt.Sprintf(`
sink "file" "rejected" {
  inputs = [sink.octostore.central.dead_letter]
  path   = %s
}
`, hclString(deadPath)))

	code, _, stderr := runAgent(t, "", "run", "--once", "-c", cfg, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("run --once: exit code %d\n%s", code, stderr)
	}
	dead := readJSONLines(t, deadPath)
	records, deliveries := storedCounts(t, db)
	testfig.Report(t, "lines=%d stored=%d dead_lettered=%d duplicates=%d store_requests=%d faults=%d", n, records, len(dead), deliveries-records, st.stats(t).Requests, st.stats(t).Faults)
	if records != n-n/10 {
		t.Errorf("stored %d records, want %d", records, n-n/10)
	}
	if len(dead) != n/10 {
		t.Fatalf("%d dead letters, want %d", len(dead), n/10)
	}
	for _, d := range dead {
		raw, _ := d.Fields["raw"].(string)
		if d.Kind != "dead_letter" || !strings.HasSuffix(raw, "REJECT-ME") {
			t.Fatalf("dead letter for the wrong record: %+v", d)
		}
		if d.Fields["reason"] != "rejected" || d.Fields["component"] != "sink.octostore.central" || d.Fields["step"] != "octostore.ingest" {
			t.Fatalf("dead letter without the sink's reason: %+v", d.Fields)
		}
		errs, _ := d.Fields["errors"].([]any)
		if len(errs) != 1 {
			t.Fatalf("dead letter errors: %v", d.Fields["errors"])
		}
		e, _ := errs[0].(map[string]any)
		if e["field"] != "fields.message" || !strings.Contains(fmt.Sprint(e["error"]), "forbidden marker") {
			t.Fatalf("dead letter without the store's reason by field: %v", e)
		}
	}
	// The source committed past everything: a second run sends nothing.
	before := st.stats(t).Requests
	code, _, stderr = runAgent(t, "", "run", "--once", "-c", cfg, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("second run --once: exit code %d\n%s", code, stderr)
	}
	if after := st.stats(t).Requests; after != before {
		t.Errorf("the second run sent %d requests; the source should have committed past every record", after-before)
	}
	if got := len(readJSONLines(t, deadPath)); got != n/10 {
		t.Errorf("the second run added dead letters: %d, want %d", got, n/10)
	}
	_ = os.Remove
}
