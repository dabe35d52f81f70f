package flb

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "plugin.hcl")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readOut(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// waitFor polls cond until it holds, for up to a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

func TestFlushToFile(t *testing.T) {
	dir := t.TempDir()
	out, dead := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "dead.jsonl")
	cfg := writeConfig(t, fmt.Sprintf(`
schema "line" {
  field "log" {
    type     = "string"
    required = true
  }
}
transform "in" {
  inputs = [source.fluentbit.input]
  schema = schema.line
}
sink "file" "out" {
  inputs = [transform.in]
  path   = %q
}
sink "file" "dead" {
  inputs = [transform.in.dead_letter]
  path   = %q
}
`, out, dead))
	in, err := Open(Options{Config: cfg, Transform: "in", Logger: quiet, BufferPath: filepath.Join(dir, "buf"), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1763701200, 0).UTC()
	chunk, _ := Encode([]Event{
		{Time: ts, Fields: map[string]any{"log": "one"}},
		{Time: ts, Fields: map[string]any{"nolog": "two"}},
		{Time: ts.Add(time.Second), Fields: map[string]any{"log": "three"}},
	}, true)
	if st := in.Flush("app", chunk); st != OK {
		t.Fatalf("flush: %v", st)
	}
	// OK means durable in the disk buffer; the pipeline delivers after.
	waitFor(t, "2 records and 1 dead letter", func() bool { return countLines(out) == 2 && countLines(dead) == 1 })
	got := readOut(t, out)
	o := got[0]["origin"].(map[string]any)
	if o["component"] != SourceID || !strings.HasPrefix(fmt.Sprint(o["stream"]), "app#") || o["offset"] != float64(ts.UnixNano()) {
		t.Errorf("origin %v", o)
	}
	if st := in.Flush("app", nil); st != OK {
		t.Errorf("empty chunk: %v", st)
	}
	if st := in.Flush("app", []byte{0xc1}); st != Error {
		t.Errorf("a chunk that is not msgpack: %v, want Error", st)
	}
	in.Close()
	if st := in.Flush("app", chunk); st != Retry {
		t.Errorf("a flush after exit: %v, want Retry", st)
	}
}

// ingest is a test HTTP receiver for sink "http" (ndjson): it answers 503
// while down and otherwise counts every record it receives by id.
type ingest struct {
	mu       sync.Mutex
	down     bool
	ids      map[string]int
	requests int
}

func newIngest(t *testing.T) (*ingest, *httptest.Server) {
	in := &ingest{ids: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.requests++
		down := in.down
		in.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(nil, 1<<20)
		var ids []string
		for sc.Scan() {
			var rec struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.ID == "" {
				http.Error(w, "bad record", http.StatusBadRequest)
				return
			}
			ids = append(ids, rec.ID)
		}
		in.mu.Lock()
		for _, id := range ids {
			in.ids[id]++
		}
		in.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return in, srv
}

func (in *ingest) setDown(d bool) { in.mu.Lock(); in.down = d; in.mu.Unlock() }

// counts returns distinct ids received and the duplicates among them.
func (in *ingest) counts() (distinct, dups int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, n := range in.ids {
		distinct++
		dups += n - 1
	}
	return distinct, dups
}

func httpConfig(t *testing.T, url string) string {
	return writeConfig(t, fmt.Sprintf(`
agent {
  shutdown_timeout = "30s" # the plugin caps it at 3s
}
transform "in" {
  inputs = [source.fluentbit.input]
}
sink "http" "store" {
  inputs                = [transform.in]
  url                   = %q
  compression           = "none"
  batch_max_wait        = "10ms"
  retry_initial_backoff = "50ms"
  retry_max_backoff     = "200ms"
}
`, url))
}

func events(from, n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Time: time.Unix(1763701200, int64(from+i)).UTC(), Fields: map[string]any{"log": fmt.Sprintf("line %06d", from+i)}}
	}
	return evs
}

// With the store down, a flush answers FLB_OK as soon as its chunk is in
// the disk buffer; exit leaves the undelivered records there, bounded in
// time; the next start delivers every one of them once the store is up.
func TestFlushStoreDownThenRestart(t *testing.T) {
	store, srv := newIngest(t)
	store.setDown(true)
	cfg := httpConfig(t, srv.URL)
	bufDir := filepath.Join(t.TempDir(), "buf")
	opt := Options{Config: cfg, Transform: "in", Logger: quiet, BufferPath: bufDir, Timeout: 10 * time.Second}
	in, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	const chunks, per = 20, 50
	var slowest time.Duration
	for c := 0; c < chunks; c++ {
		chunk, _ := Encode(events(c*per, per), c%2 == 0)
		start := time.Now()
		if st := in.Flush("app", chunk); st != OK {
			t.Fatalf("flush %d with the store down: %v, want OK (durable in the buffer)", c, st)
		}
		slowest = max(slowest, time.Since(start))
	}
	waitFor(t, "the sink to try the store", func() bool { store.mu.Lock(); defer store.mu.Unlock(); return store.requests > 0 })
	start := time.Now()
	in.Close()
	exit := time.Since(start)
	if exit > exitBound+5*time.Second {
		t.Errorf("exit took %v with the store down; the bound is %v", exit, exitBound)
	}
	if d, _ := store.counts(); d != 0 {
		t.Fatalf("the store took %d records while down", d)
	}
	// A second instance may not share the directory while one runs; the
	// first has exited, so the next start gets it.
	store.setDown(false)
	in2, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(opt); err == nil || !strings.Contains(err.Error(), "in use by another instance") {
		t.Errorf("a second instance on the same Buffer_Path: %v, want an error", err)
	}
	waitFor(t, "every record delivered after the restart", func() bool { d, _ := store.counts(); return d == chunks*per })
	in2.Close()
	d, dups := store.counts()
	t.Logf("flushes with the store down: slowest %v; exit %v; after restart %d records delivered, %d duplicates (same ids)", slowest, exit, d, dups)
}

// A full disk buffer answers FLB_RETRY, so Fluent Bit's own retry and
// storage take over, and FLB_OK again once the store drains it.
func TestFlushRetryWhenBufferFull(t *testing.T) {
	store, srv := newIngest(t)
	store.setDown(true)
	in, err := Open(Options{Config: httpConfig(t, srv.URL), Transform: "in", Logger: quiet,
		BufferPath: filepath.Join(t.TempDir(), "buf"), BufferMaxBytes: 64 << 10, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var retried []int
	for c := 0; c < 200 && len(retried) == 0; c++ {
		chunk, _ := Encode(events(c*20, 20), false)
		switch st := in.Flush("app", chunk); st {
		case OK:
		case Retry:
			retried = append(retried, c)
		default:
			t.Fatalf("flush %d: %v", c, st)
		}
	}
	if len(retried) == 0 {
		t.Fatal("a 64 KiB buffer took 200 chunks of 20 records with the store down: never FLB_RETRY")
	}
	c := retried[0]
	store.setDown(false)
	// Fluent Bit retries the chunk; the buffer drains and takes it.
	chunk, _ := Encode(events(c*20, 20), false)
	waitFor(t, "the retried chunk accepted once the store drains the buffer", func() bool { return in.Flush("app", chunk) == OK })
	waitFor(t, "every record delivered", func() bool { d, _ := store.counts(); return d == (c+1)*20 })
}

func TestOpenErrors(t *testing.T) {
	good := writeConfig(t, `
transform "in" {
  inputs = [source.fluentbit.input]
}
transform "other" {
  inputs = [transform.in]
}
sink "stdout" "out" {
  inputs = [transform.other]
}
`)
	bad := writeConfig(t, "transform \"in\" {\n  inputs = [source.fluentbit.input]\n  nope   = 1\n}\n")
	for _, c := range []struct {
		name, config, transform, want string
	}{
		{"no config", "", "in", "Config key is required"},
		{"no transform", good, "", "Transform key is required"},
		{"missing file", filepath.Join(t.TempDir(), "none.hcl"), "in", "Cannot read config"},
		{"HCL error", bad, "in", bad + ":3:3"},
		{"unknown transform", good, "nope", `no such transform in the config (it has: in, other)`},
		{"transform not reading Fluent Bit", good, "other", "add source.fluentbit.input to its inputs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := Open(Options{Config: c.config, Transform: c.transform, Logger: quiet, BufferPath: t.TempDir()})
			if err == nil {
				in.Close()
				t.Fatal("opened")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want a ConfigError holding %q", err, c.want)
			}
		})
	}
}

// Decode never panics, whatever the bytes.
func TestDecodeGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	valid, _ := Encode([]Event{{Time: time.Unix(5, 0), Fields: map[string]any{"a": "b", "n": int64(1)}}}, true)
	for i := 0; i < 5000; i++ {
		b := append([]byte(nil), valid...)
		for j := 0; j < 1+r.IntN(4); j++ {
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		b = b[:r.IntN(len(b)+1)]
		_, _, _ = Decode(b)
	}
}

// Metrics_Addr serves the instance's metrics, each with its name.
func TestInstanceMetrics(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	cfg := writeConfig(t, fmt.Sprintf(`
transform "in" {
  inputs = [source.fluentbit.input]
}
sink "file" "out" {
  inputs = [transform.in]
  path   = %q
}
`, out))
	in, err := Open(Options{Config: cfg, Transform: "in", Name: "apps", Logger: quiet, BufferPath: filepath.Join(dir, "buf"), MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	chunk, _ := Encode(events(0, 7), true)
	if st := in.Flush("app", chunk); st != OK {
		t.Fatalf("flush: %v", st)
	}
	if st := in.Flush("app", []byte{0xc1}); st != Error {
		t.Fatalf("flush of garbage: %v", st)
	}
	waitFor(t, "7 records written", func() bool { return countLines(out) == 7 })
	resp, err := http.Get("http://" + in.rt.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`octoagent_fluentbit_flushes_total{component="source.fluentbit.input",instance="apps",result="FLB_OK"} 1`,
		`octoagent_fluentbit_flushes_total{component="source.fluentbit.input",instance="apps",result="FLB_ERROR"} 1`,
		`octoagent_fluentbit_flush_records_total{component="source.fluentbit.input",instance="apps",result="FLB_OK"} 7`,
		`octoagent_buffer_written_records_total{component="source.fluentbit.input"} 7`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// BenchmarkFlush: one flush of a 100-record chunk, answered once durable
// in the disk buffer (one write and one fsync), the pipeline delivering to
// a file behind it.
func BenchmarkFlush(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "plugin.hcl")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(`
transform "in" {
  inputs = [source.fluentbit.input]
}
sink "file" "out" {
  inputs = [transform.in]
  path   = %q
}
`, filepath.Join(dir, "out.jsonl"))), 0o644); err != nil {
		b.Fatal(err)
	}
	in, err := Open(Options{Config: p, Transform: "in", Logger: quiet, BufferPath: filepath.Join(dir, "buf"), Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	chunks := make([][]byte, 64)
	for i := range chunks {
		chunks[i], _ = Encode(events(i*100, 100), true)
	}
	b.SetBytes(int64(len(chunks[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if st := in.Flush("app", chunks[i%len(chunks)]); st != OK {
			b.Fatalf("flush: %v", st)
		}
	}
}
