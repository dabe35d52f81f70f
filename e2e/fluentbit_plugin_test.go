package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/testenv"
	"github.com/octostore/agent/internal/testfig"
)

// Tests of the Fluent Bit output plugin (cmd/fluent-bit-octostore), loaded
// by a C host that calls it the way Fluent Bit does (fluentbit_host_test.go).

// fbRecord is one Fluent Bit record: a time and string fields.
type fbRecord struct {
	ts     time.Time
	fields map[string]string
}

// mpStr appends a msgpack str.
func mpStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 256:
		b = append(b, 0xd9, byte(n))
	default:
		b = append(b, 0xda, byte(n>>8), byte(n))
	}
	return append(b, s...)
}

// fbChunk encodes records as Fluent Bit does: [EventTime, map] per record
// (classic), or [[EventTime, {}], map] (v2, Fluent Bit 2.1+).
func fbChunk(recs []fbRecord, v2 bool) []byte {
	var b []byte
	for _, r := range recs {
		b = append(b, 0x92) // fixarray 2
		if v2 {
			b = append(b, 0x92)
		}
		b = append(b, 0xd7, 0x00) // fixext8, type 0: EventTime
		b = binary.BigEndian.AppendUint32(b, uint32(r.ts.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(r.ts.Nanosecond()))
		if v2 {
			b = append(b, 0x80) // empty metadata map
		}
		keys := make([]string, 0, len(r.fields))
		for k := range r.fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, 0x80|byte(len(keys)))
		for _, k := range keys {
			b = mpStr(mpStr(b, k), r.fields[k])
		}
	}
	return b
}

func fbRecords(prefix string, from, n int, ts time.Time) []fbRecord {
	var out []fbRecord
	for i := from; i < from+n; i++ {
		out = append(out, fbRecord{ts: ts.Add(time.Duration(i) * time.Millisecond), fields: map[string]string{
			"level": "info", "message": fmt.Sprintf("%s %04d", prefix, i), "stream": "stdout",
		}})
	}
	return out
}

// storeConfig: records enter transform "app", typed by a schema, go to the
// store; the transform's and the store sink's dead letters go to a file.
func fbStoreConfig(endpoint, deadPath string) string {
	return fmt.Sprintf(`agent {
  shutdown_timeout = "2s"
}

schema "fb_log" {
  version        = "1"
  unknown_fields = "allow"
  field "level" {
    type     = "enum"
    values   = ["debug", "info", "warn", "error"]
    required = true
  }
  field "message" {
    type     = "string"
    required = true
  }
}

transform "app" {
  inputs = [source.fluentbit.input]
  schema = schema.fb_log
}

sink "octostore" "central" {
  inputs                = [transform.app]
  endpoint              = %s
  healthcheck           = false
  batch_max_wait        = "50ms"
  retry_initial_backoff = "100ms"
  retry_max_backoff     = "500ms"
}

sink "file" "dead" {
  inputs = [transform.app.dead_letter, sink.octostore.central.dead_letter]
  path   = %s
}
`, hclString(endpoint), hclString(deadPath))
}

// fbFileConfig: a second pipeline, with another transform, to a file.
func fbFileConfig(outPath string) string {
	return fmt.Sprintf(`transform "audit" {
  inputs = [source.fluentbit.input]
  kind   = "audit_event"
}

sink "file" "out" {
  inputs = [transform.audit]
  path   = %s
}
`, hclString(outPath))
}

func storedMessages(t *testing.T, db *pgx.Conn) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.Query(ctx, `SELECT message FROM records ORDER BY message`)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestFluentBitPlugin: two [OUTPUT] instances with different configs in one
// host; records in both chunk forms; transform and store dead letters;
// FLB_OK while the store is down (the chunk is in the instance's disk
// buffer) and delivery once it is back, each record stored once; a config
// error fails init with file:line:col.
func TestFluentBitPlugin(t *testing.T) {
	if _, err := store.FindPostgres(); err != nil {
		testenv.Missing(t, "postgresql", err.Error())
	}
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{RejectMarker: "REJECT-ME"})
	db := pgConn(t, pg.DSN())
	dir := t.TempDir()
	deadPath := filepath.Join(dir, "dead.jsonl")
	outPath := filepath.Join(dir, "audit.jsonl")
	cfgA := filepath.Join(dir, "store.hcl")
	cfgB := filepath.Join(dir, "audit.hcl")
	writeFile(t, cfgA, fbStoreConfig(st.URL(), deadPath))
	writeFile(t, cfgB, fbFileConfig(outPath))
	bad := filepath.Join(dir, "bad.hcl")
	writeFile(t, bad, "transform \"app\" {\n  inputs = [source.fluentbit.input]\n  bogus  = 1\n}\n")

	h := startFluentBitHost(t)

	// A config error: init fails, with the position.
	if rc, _ := h.Init("Config="+bad, "Transform=app"); rc != flbError {
		t.Fatalf("init with a bad config: %d, want FLB_ERROR", rc)
	}
	waitFor(t, 5*time.Second, "the diagnostic", func() bool { return strings.Contains(h.stderr.String(), bad+":3:3") })
	if rc, _ := h.Init("Config="+cfgA, "Transform=nope"); rc != flbError {
		t.Fatalf("init with an unknown transform: %d, want FLB_ERROR", rc)
	}

	rc, a := h.Init("Config="+cfgA, "Transform=app", "Buffer_Path="+filepath.Join(dir, "buf-a"))
	if rc != flbOK {
		t.Fatalf("init A: %d", rc)
	}
	rc, b := h.Init("Config="+cfgB, "Transform=audit", "Buffer_Path="+filepath.Join(dir, "buf-b"))
	if rc != flbOK {
		t.Fatalf("init B: %d", rc)
	}

	t0 := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	// Instance A, classic form: 20 records, one without level (the
	// transform dead-letters it) and one the store rejects.
	recs := fbRecords("kube.app", 1, 20, t0)
	delete(recs[4].fields, "level")
	recs[9].fields["message"] += " REJECT-ME"
	flushStart := time.Now()
	if rc := h.Flush(a, "kube.app", fbChunk(recs, false)); rc != flbOK {
		t.Fatalf("flush A: %d, want FLB_OK", rc)
	}
	firstFlush := time.Since(flushStart)
	// Instance B, v2 form.
	if rc := h.Flush(b, "audit.log", fbChunk(fbRecords("audit", 1, 5, t0), true)); rc != flbOK {
		t.Fatalf("flush B: %d, want FLB_OK", rc)
	}
	// FLB_OK: the chunk is in the instance's disk buffer; the pipeline
	// delivers it after.
	waitFor(t, 60*time.Second, "18 records stored", func() bool { r, _ := storedCounts(t, db); return r == 18 })
	if got := storedMessages(t, db); len(got) != 18 || got[0] != "kube.app 0001" {
		t.Fatalf("stored after the first flush: %d records %v, want 18", len(got), got)
	}
	waitFor(t, 60*time.Second, "2 dead letters", func() bool { return fileLines(deadPath) == 2 })
	dead := readJSONLines(t, deadPath)
	reasons := map[string]bool{}
	for _, d := range dead {
		reasons[fmt.Sprint(d.Fields["component"])] = true
	}
	if !reasons["transform.app"] || !reasons["sink.octostore.central"] {
		t.Fatalf("dead letters from %v, want transform.app and sink.octostore.central", reasons)
	}
	waitFor(t, 60*time.Second, "instance B's 5 records", func() bool { return fileLines(outPath) == 5 })
	audit := readJSONLines(t, outPath)
	if len(audit) != 5 {
		t.Fatalf("instance B wrote %d records, want 5", len(audit))
	}
	for _, r := range audit {
		if r.Kind != "audit_event" || !strings.HasPrefix(fmt.Sprint(r.Fields["message"]), "audit ") {
			t.Fatalf("instance B got a record that is not its own: %+v", r)
		}
	}
	for _, m := range storedMessages(t, db) {
		if strings.HasPrefix(m, "audit") {
			t.Fatalf("instance A stored B's record %q", m)
		}
	}

	// The same chunk again (a Fluent Bit retry): same ids, nothing new.
	if rc := h.Flush(a, "kube.app", fbChunk(recs, false)); rc != flbOK {
		t.Fatalf("second flush of the same chunk: %d", rc)
	}
	waitFor(t, 60*time.Second, "the chunk sent again", func() bool { _, d := storedCounts(t, db); return d >= 36 })
	if r, _ := storedCounts(t, db); r != 18 {
		t.Fatalf("the same chunk flushed twice stored %d records, want 18", r)
	}
	// Same content, another time or another tag: new records.
	same := fbRecords("kube.app", 1, 1, t0)
	later := []fbRecord{{ts: same[0].ts.Add(time.Second), fields: same[0].fields}}
	if rc := h.Flush(a, "kube.app", fbChunk(later, true)); rc != flbOK {
		t.Fatal("flush later")
	}
	if rc := h.Flush(a, "kube.other", fbChunk(same, false)); rc != flbOK {
		t.Fatal("flush other tag")
	}
	waitFor(t, 60*time.Second, "20 records: same content at another time or tag is another record", func() bool { r, _ := storedCounts(t, db); return r == 20 })

	// The store goes down: the flush does not wait for it. FLB_OK once
	// the chunk is in the disk buffer.
	addr := st.Addr
	st.Kill()
	outage := fbRecords("outage", 1, 10, t0.Add(time.Hour))
	chunk := fbChunk(outage, true)
	start := time.Now()
	if rc := h.Flush(a, "kube.app", chunk); rc != flbOK {
		t.Fatalf("flush while the store is down: %d, want FLB_OK (durable in the disk buffer)", rc)
	}
	downFlush := time.Since(start)
	if downFlush > 10*time.Second {
		t.Errorf("the flush returned after %v with the store down; it waits for the disk only", downFlush)
	}
	// The store is back: the buffer's sender delivers without a new flush.
	st = startStore(t, pg.DSN(), addr, store.Faults{})
	waitFor(t, 90*time.Second, "30 records after the outage (each outage record once)", func() bool { r, _ := storedCounts(t, db); return r == 30 })

	if rc := h.Exit(a); rc != flbOK {
		t.Fatalf("exit A: %d", rc)
	}
	if rc := h.Exit(b); rc != flbOK {
		t.Fatalf("exit B: %d", rc)
	}
	records, deliveries := storedCounts(t, db)
	if records != 30 {
		t.Fatalf("%d records after exit, want 30", records)
	}
	var soBytes int64
	if fi, err := os.Stat(filepath.Join(h.dir, "out_octostore.so")); err == nil {
		soBytes = fi.Size()
	}
	testfig.Report(t, "so_bytes=%d stored=%d deliveries=%d dead_lettered=%d first_flush_ms=%d store_down_flush_ms=%d",
		soBytes, records, deliveries, len(dead), firstFlush.Milliseconds(), downFlush.Milliseconds())
	_ = st
}
