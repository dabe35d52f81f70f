package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/diskbuffer"
)

// holdSink keeps the batches it is given unacknowledged for a while, as a
// sink waiting for its destination's results does (Kafka, HTTP), while
// later batches flow past it and the memory of the batches already
// acknowledged is reused (records slabs in the file source, typed fields
// in rules). When it lets a batch go it encodes every record again and
// compares the bytes with what they encoded to when they arrived: memory
// reused under a record still held would change them. It acknowledges
// some batches whole, others record by record in a random order.
type holdSink struct {
	mu      sync.Mutex
	rng     *rand.Rand
	hold    int // batches held at most
	fail    int // every fail-th batch let go is resolved as failed (0: none)
	lets    int
	held    []heldBatch
	seen    [][]byte // every record as it arrived
	checked int
	errs    []string
}

type heldBatch struct {
	b    agent.Batch
	snap [][]byte
}

func (h *holdSink) Consume(_ context.Context, b agent.Batch) error {
	hb := heldBatch{b: b, snap: make([][]byte, len(b))}
	for i := range b {
		hb.snap[i] = agent.AppendJSON(nil, &b[i])
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, hb.snap...)
	h.held = append(h.held, hb)
	for len(h.held) > h.hold {
		j := h.rng.Intn(len(h.held))
		h.let(h.held[j])
		h.held = slices.Delete(h.held, j, j+1)
	}
	return nil
}

// let checks a held batch and acknowledges it.
func (h *holdSink) let(hb heldBatch) {
	for i := range hb.b {
		if got := agent.AppendJSON(nil, &hb.b[i]); !bytes.Equal(got, hb.snap[i]) && len(h.errs) < 5 {
			h.errs = append(h.errs, fmt.Sprintf("record changed while held:\n was %s\n now %s", hb.snap[i], got))
		}
		h.checked++
	}
	if h.lets++; h.fail > 0 && h.lets%h.fail == 0 {
		agent.AckAll(hb.b, agent.Failed) // read again at the next start
		return
	}
	if h.rng.Intn(2) == 0 {
		agent.AckAll(hb.b, agent.Delivered)
		return
	}
	for _, i := range h.rng.Perm(len(hb.b)) {
		hb.b[i].Ack(agent.Delivered)
	}
}

func (h *holdSink) Flush(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hb := range h.held {
		h.let(hb)
	}
	h.held = nil
	return nil
}

// runHeld runs the config at cfg with the nginx pack's file pack, once,
// with holdSinks for its "hold" sinks (failing every fail-th batch they let
// go), and returns them by name with what Run returned.
func runHeld(t *testing.T, cfg, pack string, fail int) (map[string]*holdSink, error) {
	t.Helper()
	sinks := map[string]*holdSink{}
	var smu sync.Mutex
	hold := agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: "hold",
		Create: func(set agent.Settings, _ *struct{}) (agent.Sink, error) {
			smu.Lock()
			defer smu.Unlock()
			h := &holdSink{rng: rand.New(rand.NewSource(int64(len(sinks)))), hold: 12, fail: fail}
			sinks[set.Name] = h
			return h, nil
		},
		// It reads a record only until it lets it go: the file source
		// may recycle its read chunks when the rest of the pipeline
		// forgets records too.
		Forgets: func(*struct{}) bool { return true }})
	reg := agent.NewRegistry(append(components().All(), hold)...)
	root := filepath.Join("..", "..", "configs")
	res, diags := config.Load([]string{cfg, filepath.Join(root, "schemas"), filepath.Join(root, "nginx", pack)}, reg)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rt, err := agent.New(res.Graph, agent.Options{Once: true, Buffers: map[string]agent.BufferFactory{"disk": diskbuffer.New}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err = rt.Run(ctx)
	for name, h := range sinks {
		for _, e := range h.errs {
			t.Errorf("sink %s: %s", name, e)
		}
	}
	return sinks, err
}

// heldConfig writes n lines of input (recycleInput) and a config that
// reads them as the nginx pack's source, with sinks, into dir, and returns
// the config's path.
func heldConfig(t *testing.T, dir string, n int, sinks string) string {
	in := filepath.Join(dir, "access.log")
	recycleInput(t, in, n)
	cfg := filepath.Join(dir, "agent.hcl")
	src := fmt.Sprintf(`agent {
  data_dir  = %q
  http_addr = "off"
}
source "file" "nginx" {
  paths             = [%q]
  batch_max_records = 256
}
`, filepath.Join(dir, "data"), in) + sinks
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// recycleInput writes n nginx access lines, one in 50 malformed (a dead
// letter), with varied lengths and fields.
func recycleInput(t *testing.T, path string, n int) {
	rng := rand.New(rand.NewSource(7))
	var b strings.Builder
	methods := []string{"GET", "POST", "PUT", "HEAD"}
	for i := range n {
		if i%50 == 49 {
			fmt.Fprintf(&b, "garbage line %d %s\n", i, strings.Repeat("x", rng.Intn(300)))
			continue
		}
		fmt.Fprintf(&b, "10.%d.%d.%d - user%d [21/Nov/2026:05:%02d:%02d +0000] \"%s /p/%d?q=%s HTTP/1.1\" %d %d \"https://ref.example/%d\" \"agent-%s\"\n",
			rng.Intn(256), rng.Intn(256), rng.Intn(256), rng.Intn(9), (i/60)%60, i%60, methods[rng.Intn(len(methods))],
			i, strings.Repeat("a", rng.Intn(120)), 200+rng.Intn(300), rng.Intn(1<<20), rng.Intn(1000), strings.Repeat("b", rng.Intn(80)))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The memory of acknowledged batches is reused (the file source's record
// slabs, the rules transform's typed-field slabs) while sinks still hold
// other batches: records held unacknowledged across that reuse, their
// fan-out copies (written by a file sink) and their dead letters come out
// exactly as they went in, on the regex and the split packs. Run it with
// -race: a record read after its memory was handed on is a data race too.
func TestRecycledMemoryUnderHeldRecords(t *testing.T) {
	const correlate = `
transform "correlate" "recent" {
  inputs  = [transform.nginx_access]
  forward = "all"
  remember {
    key         = "method"
    fields      = { path = "path", status = "status" }
    max_per_key = 3
  }
  trigger {
    key   = "method"
    when  = "status >= 490"
    list  = "recent"
    limit = 3
  }
}
`
	// Through a disk buffer: records written to it are acknowledged (and
	// their memory reused) before the sink reads them back. Without one,
	// the file source recycles its read chunks too (every component
	// forgets records past their outcome): the records' Raw and the
	// fields viewing it are in reused memory.
	const disk = `
  buffer {
    type = "disk"
  }`
	for _, c := range []struct{ name, pack, extra, out, buffer string }{
		{"regex", "rules.hcl", "", "transform.nginx_access", disk},
		{"split", "variants/split.hcl", "", "transform.nginx_access", disk},
		{"regex, chunks recycled", "rules.hcl", "", "transform.nginx_access", ""},
		{"split, chunks recycled", "variants/split.hcl", "", "transform.nginx_access", ""},
		{"regex+correlate", "rules.hcl", correlate, "transform.recent", disk},
		// The jq fast path makes each object in memory of its own: a record
		// keeps it past the next record's run.
		{"regex+jq", "rules.hcl", `
transform "reshape" {
  inputs = [transform.nginx_access]
  kind   = "http_request"
  jq     = "{client_ip, method, path, status, bytes, slow: (.bytes > 100000)}"
}
`, "transform.reshape", disk},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			const lines = 30000
			cfg := heldConfig(t, dir, lines, fmt.Sprintf(`
sink "hold" "main" {
  inputs = [%[1]s]
}
sink "hold" "dead" {
  inputs = [transform.nginx_access.dead_letter]
}
sink "file" "copy" {
  inputs = [%[1]s]
  path   = %[2]q%[4]s
}
%[3]s`, c.out, filepath.Join(dir, "copy.jsonl"), c.extra, c.buffer))
			sinks, err := runHeld(t, cfg, c.pack, 0)
			if err != nil {
				t.Fatal(err)
			}
			main, dead := sinks["main"], sinks["dead"]
			answers := 0
			for _, r := range main.seen {
				if bytes.Contains(r, []byte(`"kind":"recent"`)) {
					answers++
				}
			}
			if c.extra == correlate && answers == 0 {
				t.Errorf("no answers from correlate")
			}
			if got := len(main.seen) - answers + len(dead.seen); got != lines || main.checked != len(main.seen) || dead.checked != len(dead.seen) {
				t.Fatalf("records %d (%d answers) + dead letters %d (checked %d, %d), want %d in all", len(main.seen), answers, len(dead.seen), main.checked, dead.checked, lines)
			}
			if len(dead.seen) != lines/50 {
				t.Errorf("dead letters: %d, want %d", len(dead.seen), lines/50)
			}
			// Each dead letter carries its line whole.
			for _, d := range dead.seen {
				if !bytes.Contains(d, []byte(`garbage line `)) {
					t.Fatalf("dead letter without its line: %s", d)
				}
			}
			// The file sink was given copies (fan-out) of the same records.
			copied, err := os.ReadFile(filepath.Join(dir, "copy.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(main.seen))
			for i, s := range main.seen {
				want[i] = string(s)
			}
			got := strings.Split(strings.TrimSuffix(string(copied), "\n"), "\n")
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("the file sink's copies differ from the held records (%d lines, %d held)", len(got), len(want))
			}
		})
	}
}

// Failed batches release their memory too, and are read again at the next
// start: a first run whose sink fails one batch in five, then a second that
// delivers, give every record, each identical (id and bytes) in both runs
// wherever both delivered it.
func TestRecycledMemoryFailedAndReadAgain(t *testing.T) {
	const lines = 20000
	cfg := heldConfig(t, t.TempDir(), lines, `
sink "hold" "main" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
}
`)
	first, err := runHeld(t, cfg, "rules.hcl", 5)
	if !errors.Is(err, agent.ErrUndelivered) {
		t.Fatalf("first run: %v, want %v", err, agent.ErrUndelivered)
	}
	second, err := runHeld(t, cfg, "rules.hcl", 0)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	byID := map[string]string{}
	norm := regexp.MustCompile(`"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"`) // dead letters' read times
	for _, run := range []*holdSink{first["main"], second["main"]} {
		for _, r := range run.seen {
			var rec struct{ ID string }
			if err := json.Unmarshal(r, &rec); err != nil {
				t.Fatal(err)
			}
			got := norm.ReplaceAllString(string(r), `"T"`)
			if was, ok := byID[rec.ID]; ok && was != got {
				t.Fatalf("record %s differs between runs:\n %s\n %s", rec.ID, was, got)
			}
			byID[rec.ID] = got
		}
	}
	if len(byID) != lines {
		t.Fatalf("%d distinct records over both runs, want %d", len(byID), lines)
	}
	if len(second["main"].seen) == 0 || len(second["main"].seen) == lines {
		t.Fatalf("second run read %d records: want those from the first failed batch on", len(second["main"].seen))
	}
}

// The octostore sink forgets records past their outcome, so the file
// source recycles its read chunks under it (agent.Settings.Recycle) while
// the sink holds batches for their answers. A fake store answers so that
// every path that runs after some of a batch's records are resolved is
// taken: records rejected (dead letters), left out of the answer (sent
// again, encoded anew from the batch's records), and a 413 (the batch
// split in two). Every record the store keeps is the file sink's copy of
// it, byte for byte, and every rejected one comes out as a dead letter.
// Run it with -tags chunkpoison: a string read after its chunk was reused
// shows as 0xA5 bytes.
func TestRecycledMemoryUnderOctostoreSink(t *testing.T) {
	var (
		mu       sync.Mutex
		stored   = map[string]string{} // id -> the record as the store got it
		rejected = map[string]bool{}
		omitted  = map[string]bool{}
		requests int
	)
	// verdict is the store's answer for a record seen for the first time:
	// one in 13 left out, one in 17 rejected (by the id's last byte, so
	// the same record gets the same verdict in any batch).
	verdict := func(id string) string {
		switch c := int(id[len(id)-1]); {
		case c%13 == 0:
			return "omit"
		case c%17 == 0:
			return "rejected"
		}
		return "accepted"
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req struct{ Records []json.RawMessage }
		if err := json.NewDecoder(zr).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(2 * time.Millisecond) // hold the batch while the source reads on
		mu.Lock()
		defer mu.Unlock()
		if requests++; requests%7 == 0 && len(req.Records) > 1 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		var out bytes.Buffer
		out.WriteString(`{"results":[`)
		n := 0
		for _, raw := range req.Records {
			var rec struct{ ID string }
			if err := json.Unmarshal(raw, &rec); err != nil || rec.ID == "" {
				http.Error(w, fmt.Sprintf("record without an id: %s", raw), http.StatusBadRequest)
				return
			}
			v := verdict(rec.ID)
			if v == "omit" && !omitted[rec.ID] {
				omitted[rec.ID] = true
				continue
			}
			if v == "omit" {
				v = "accepted"
			}
			if v == "rejected" {
				rejected[rec.ID] = true
			} else {
				stored[rec.ID] = string(raw)
			}
			if n++; n > 1 {
				out.WriteByte(',')
			}
			fmt.Fprintf(&out, `{"id":%q,"status":%q`, rec.ID, v)
			if v == "rejected" {
				out.WriteString(`,"errors":[{"field":"path","error":"refused"}]`)
			}
			out.WriteByte('}')
		}
		out.WriteString(`]}`)
		w.Header().Set("Content-Type", "application/json")
		w.Write(out.Bytes())
	}))
	defer srv.Close()

	dir := t.TempDir()
	const lines = 30000
	cfg := sinkConfig(t, dir, lines, fmt.Sprintf(`
sink "octostore" "store" {
  inputs            = [transform.nginx_access]
  endpoint          = %q
  healthcheck       = false`, srv.URL), `
sink "hold" "rejected" {
  inputs = [sink.octostore.store.dead_letter]
}`)
	sinks, err := runHeld(t, cfg, "rules.hcl", 0)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(filepath.Join(dir, "copy.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The file sink's records by id, and their fields by offset (a dead
	// letter has an id of its own).
	want, fieldsAt := map[string]string{}, map[int64]string{}
	for _, l := range strings.Split(strings.TrimSuffix(string(copied), "\n"), "\n") {
		var rec struct {
			ID     string
			Fields json.RawMessage
			Origin struct{ Offset int64 }
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("file sink line %q: %v", l, err)
		}
		want[rec.ID], fieldsAt[rec.Origin.Offset] = l, string(rec.Fields)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(want) != lines-lines/50 || len(stored)+len(rejected) != len(want) || len(omitted) == 0 || len(rejected) == 0 {
		t.Fatalf("file sink %d records, the store kept %d and rejected %d (%d left out once), want %d in all", len(want), len(stored), len(rejected), len(omitted), lines-lines/50)
	}
	for id, got := range stored {
		if got != want[id] {
			t.Fatalf("the store got record %s as\n %s\nthe file sink wrote\n %s", id, got, want[id])
		}
	}
	dead := sinks["rejected"]
	if len(dead.seen) != len(rejected) {
		t.Fatalf("dead letters: %d, want %d", len(dead.seen), len(rejected))
	}
	input, err := os.ReadFile(filepath.Join(dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dead.seen {
		var dl struct {
			Fields struct {
				Raw    string
				Fields json.RawMessage
				Errors []agent.FieldError
			}
			Origin struct{ Offset int64 }
		}
		if err := json.Unmarshal(d, &dl); err != nil {
			t.Fatal(err)
		}
		f := dl.Fields
		if off := dl.Origin.Offset; off < 0 || off > int64(len(input)) || !bytes.HasPrefix(input[off:], []byte(f.Raw+"\n")) || string(f.Fields) != fieldsAt[dl.Origin.Offset] || len(f.Errors) != 1 || f.Errors[0].Error != "refused" {
			t.Fatalf("dead letter without its line, its fields or its reason: %s", d)
		}
	}
	if n := len(sinks["dead"].seen); n != lines/50 {
		t.Errorf("the pack's dead letters: %d, want %d", n, lines/50)
	}
}

// The http sink with a URL template: a batch's key is the URL rendered
// from its first record, and the halves of a batch split after a 413 are
// sent to it after the first half's records (that record among them) are
// resolved and their chunks may be reused. Every record arrives at the
// URL of its own method, as the file sink wrote it (-tags chunkpoison).
func TestRecycledMemoryUnderHTTPSink(t *testing.T) {
	var (
		mu       sync.Mutex
		got      = map[string]string{} // id -> the record as received
		requests int
		errs     []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		recs := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if requests++; requests%5 == 0 && len(recs) > 1 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		for _, l := range recs {
			var rec struct {
				ID     string
				Fields struct{ Method string }
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.ID == "" {
				http.Error(w, fmt.Sprintf("not a record: %s", l), http.StatusBadRequest)
				return
			}
			if r.URL.Path != "/in/"+rec.Fields.Method && len(errs) < 5 {
				errs = append(errs, fmt.Sprintf("record %s (method %s) sent to %q", rec.ID, rec.Fields.Method, r.URL.Path))
			}
			got[rec.ID] = l
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	const lines = 30000
	cfg := sinkConfig(t, dir, lines, fmt.Sprintf(`
sink "http" "out" {
  inputs            = [transform.nginx_access]
  url               = "%s/in/{{fields.method}}"
  compression       = "gzip"`, srv.URL), "")
	if _, err := runHeld(t, cfg, "rules.hcl", 0); err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(filepath.Join(dir, "copy.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
	want := strings.Split(strings.TrimSuffix(string(copied), "\n"), "\n")
	if len(want) != lines-lines/50 || len(got) != len(want) || requests < 5 {
		t.Fatalf("file sink %d records, the server got %d in %d requests, want %d", len(want), len(got), requests, lines-lines/50)
	}
	for _, l := range want {
		var rec struct{ ID string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if got[rec.ID] != l {
			t.Fatalf("the server got record %s as\n %s\nthe file sink wrote\n %s", rec.ID, got[rec.ID], l)
		}
	}
}

// sinkConfig writes a config (heldConfig) whose records go to the sink
// block opened in sink, batching by 300 with quick retries, and to the
// file sink "copy" (copy.jsonl in dir), with the pack's dead letters held
// and extra sinks. Its source reads in chunks of 4 KiB (about 16 lines)
// and batches of 16 records, so that a chunk is reused soon after the
// records read into it are resolved: a string read past its record's
// outcome then most likely shows.
func sinkConfig(t *testing.T, dir string, lines int, sink, extra string) string {
	t.Helper()
	cfg := heldConfig(t, dir, lines, fmt.Sprintf(`%s
  batch_max_records = 300
  batch_max_wait    = "50ms"
  in_flight         = 2
  retry_initial_backoff = "1ms"
  retry_max_backoff     = "5ms"
}
sink "hold" "dead" {
  inputs = [transform.nginx_access.dead_letter]
}
sink "file" "copy" {
  inputs = [transform.nginx_access]
  path   = %q
}
%s`, sink, filepath.Join(dir, "copy.jsonl"), extra))
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte("batch_max_records = 256"), []byte("batch_max_records = 16\n  read_buffer_bytes = 4096"), 1)
	if err := os.WriteFile(cfg, src, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}
