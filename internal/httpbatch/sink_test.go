package httpbatch

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

// proto is a minimal protocol: {"records":[...]}, answers read as
// {"results":[{"id","status","errors"}]} like the octostore sink.
type proto struct{ url string }

func (p *proto) Key(*agent.Record) string       { return "" }
func (p *proto) Target(string) (string, string) { return "POST", p.url }
func (p *proto) Headers() map[string]string     { return map[string]string{"X-Api-Key": "header-secret"} }
func (p *proto) Step() string                   { return "test" }
func (p *proto) Framing() (string, string, string, string) {
	return `{"records":[`, ",", "]}", "application/json"
}
func (p *proto) Results(body []byte, ids []string) ([]Result, error) {
	var resp struct {
		Results []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Errors []struct{ Field, Error string }
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	if resp.Results == nil {
		return nil, nil
	}
	by := map[string]Result{}
	for _, r := range resp.Results {
		res := Result{Status: Accepted}
		if r.Status == "rejected" {
			res.Status = Rejected
			for _, e := range r.Errors {
				res.Errors = append(res.Errors, agent.FieldError{Field: e.Field, Error: e.Error})
			}
		}
		by[r.ID] = res
	}
	out := make([]Result, len(ids))
	for i, id := range ids {
		r, ok := by[id]
		if !ok {
			r.Status = Unknown
		}
		out[i] = r
	}
	return out, nil
}

// dlOut collects dead letters and resolves them as delivered.
type dlOut struct {
	mu  sync.Mutex
	got agent.Batch
}

func (d *dlOut) Emit(_ context.Context, b agent.Batch) error {
	d.mu.Lock()
	d.got = append(d.got, b...)
	d.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}

func (d *dlOut) len() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.got) }

type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	batches  [][]string // ids per request that reached the handler
	inFlight atomic.Int64
	maxIn    atomic.Int64
	handle   func(n int, ids []string, w http.ResponseWriter, r *http.Request) bool // true: answered
	calls    atomic.Int64
}

func newFake(t *testing.T, handle func(n int, ids []string, w http.ResponseWriter, r *http.Request) bool) *fakeServer {
	f := &fakeServer{handle: handle}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		for {
			m := f.maxIn.Load()
			if in <= m || f.maxIn.CompareAndSwap(m, in) {
				break
			}
		}
		n := int(f.calls.Add(1))
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("bad gzip: %v", err)
				return
			}
			body = zr
		}
		var req struct {
			Records []struct {
				ID string `json:"id"`
			} `json:"records"`
		}
		if err := json.NewDecoder(body).Decode(&req); err != nil {
			t.Errorf("bad body: %v", err)
			return
		}
		ids := make([]string, len(req.Records))
		for i, rec := range req.Records {
			ids[i] = rec.ID
		}
		if f.handle != nil && f.handle(n, ids, w, r) {
			return
		}
		f.mu.Lock()
		f.batches = append(f.batches, ids)
		f.mu.Unlock()
		res := make([]map[string]string, len(ids))
		for i, id := range ids {
			res[i] = map[string]string{"id": id, "status": "accepted"}
		}
		json.NewEncoder(w).Encode(map[string]any{"results": res})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) stored() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]int{}
	for _, b := range f.batches {
		for _, id := range b {
			m[id]++
		}
	}
	return m
}

func testOptions() Options {
	c := DefaultCommon()
	c.BatchMaxRecords = 10
	c.BatchMaxWait = "20ms"
	c.RetryInitialBackoff = "10ms"
	c.RetryMaxBackoff = "50ms"
	o, err := c.Options()
	if err != nil {
		panic(err)
	}
	return o
}

func newSink(t *testing.T, o Options, url string) (*Sink, *dlOut) {
	t.Helper()
	dl := &dlOut{}
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: "sink.test.x", Metrics: m.For("sink.test.x"), DeadLetter: dl}
	s, err := New(set, o, &proto{url: url + "/v1/records"}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dl
}

// batchOf returns n records sharing one token; outcomes counts how the
// token's records ended.
func batchOf(from, n int, failed *atomic.Int64, done *atomic.Int64) agent.Batch {
	acks := agent.NewAcks()
	tok := acks.NewToken(n, func(f bool) {
		if f {
			failed.Add(1)
		}
		done.Add(1)
	})
	b := make(agent.Batch, n)
	for i := range b {
		b[i] = agent.Record{Time: time.Unix(1, 0), Raw: []byte(fmt.Sprintf("line %d", from+i)), Origin: agent.Origin{Host: "h", Component: "c", Stream: "s", Offset: int64(from + i)}}
		b[i].SetToken(tok)
	}
	return b
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBatchesAndDelivers(t *testing.T) {
	f := newFake(t, nil)
	s, _ := newSink(t, testOptions(), f.URL)
	var failed, done atomic.Int64
	for i := 0; i < 10; i++ {
		s.Consume(context.Background(), batchOf(i*7, 7, &failed, &done))
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 10 || failed.Load() != 0 {
		t.Fatalf("done %d failed %d", done.Load(), failed.Load())
	}
	if got := len(f.stored()); got != 70 {
		t.Fatalf("stored %d, want 70", got)
	}
	for _, b := range f.batches {
		if len(b) > 10 {
			t.Fatalf("a batch of %d records; batch_max_records is 10", len(b))
		}
	}
	if m := f.maxIn.Load(); m > 4 {
		t.Fatalf("%d requests in flight; in_flight is 4", m)
	}
}

// TestRetriesKeepRecords: 5xx, 429 with Retry-After, resets and timeouts
// keep the records; they are delivered once the server answers.
func TestRetriesKeepRecords(t *testing.T) {
	f := newFake(t, func(n int, ids []string, w http.ResponseWriter, r *http.Request) bool {
		switch n % 4 {
		case 1:
			w.WriteHeader(503)
			return true
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			return true
		case 3:
			panic(http.ErrAbortHandler) // connection dropped
		}
		return false
	})
	s, _ := newSink(t, testOptions(), f.URL)
	var failed, done atomic.Int64
	for i := 0; i < 5; i++ {
		s.Consume(context.Background(), batchOf(i*10, 10, &failed, &done))
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if failed.Load() != 0 || len(f.stored()) != 50 {
		t.Fatalf("failed %d, stored %d", failed.Load(), len(f.stored()))
	}
}

// TestSplitOn413: a 413 halves the batch until it fits; a lone record
// that is still too large is dead-lettered.
func TestSplitOn413(t *testing.T) {
	f := newFake(t, func(n int, ids []string, w http.ResponseWriter, r *http.Request) bool {
		if len(ids) > 3 {
			w.WriteHeader(413)
			return true
		}
		return false
	})
	s, _ := newSink(t, testOptions(), f.URL)
	var failed, done atomic.Int64
	s.Consume(context.Background(), batchOf(0, 10, &failed, &done))
	s.Flush(context.Background())
	if len(f.stored()) != 10 || failed.Load() != 0 {
		t.Fatalf("stored %d failed %d", len(f.stored()), failed.Load())
	}
}

// TestRejections: per-record rejects and a whole-batch 400 go to the
// dead-letter output with the reasons; the token in an echoed body is
// redacted.
func TestRejections(t *testing.T) {
	f := newFake(t, func(n int, ids []string, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.WriteHeader(400)
			fmt.Fprintf(w, "bad request from %s", r.Header.Get("Authorization"))
			return true
		}
		res := make([]map[string]any, len(ids))
		for i, id := range ids {
			res[i] = map[string]any{"id": id, "status": "accepted"}
			if i%2 == 0 {
				res[i] = map[string]any{"id": id, "status": "rejected", "errors": []map[string]string{{"field": "fields.x", "error": "bad x"}}}
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"results": res})
		return true
	})
	o := testOptions()
	o.Token = "tok-SECRET-1234"
	o.InFlight = 1
	s, dl := newSink(t, o, f.URL)
	var failed, done atomic.Int64
	s.Consume(context.Background(), batchOf(0, 10, &failed, &done))
	s.Flush(context.Background())
	s2, dl2 := newSink(t, o, f.URL)
	s2.Consume(context.Background(), batchOf(100, 10, &failed, &done))
	s2.Flush(context.Background())
	if dl.len() != 10 {
		t.Fatalf("whole-batch 400: %d dead letters, want 10", dl.len())
	}
	msg := fmt.Sprint(dl.got[0].MaterializeFields()["errors"])
	if strings.Contains(msg, "SECRET") || !strings.Contains(msg, "[REDACTED]") {
		t.Fatalf("dead letter error %s: the echoed token must be redacted", msg)
	}
	if dl2.len() != 5 {
		t.Fatalf("per-record rejects: %d dead letters, want 5", dl2.len())
	}
	if !strings.Contains(fmt.Sprint(dl2.got[0].MaterializeFields()["errors"]), "bad x") || dl2.got[0].MaterializeFields()["reason"] != "rejected" {
		t.Fatalf("dead letter without the reason: %v", dl2.got[0].MaterializeFields())
	}
	if failed.Load() != 0 || done.Load() != 2 {
		t.Fatalf("failed %d done %d", failed.Load(), done.Load())
	}
}

// TestDeadlineFails: records still unsent when the context ends are failed,
// not lost and not acknowledged.
func TestDeadlineFails(t *testing.T) {
	f := newFake(t, func(int, []string, http.ResponseWriter, *http.Request) bool { return false })
	f.Close() // nothing listens: every attempt fails
	s, _ := newSink(t, testOptions(), f.URL)
	var failed, done atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	s.Consume(ctx, batchOf(0, 25, &failed, &done))
	time.Sleep(50 * time.Millisecond)
	cancel()
	s.Flush(ctx)
	if done.Load() != 1 || failed.Load() != 1 {
		t.Fatalf("done %d failed %d, want the batch resolved as failed", done.Load(), failed.Load())
	}
}

// TestGiveUp: with retry_give_up_after, a batch that keeps failing is
// resolved as failed.
func TestGiveUp(t *testing.T) {
	f := newFake(t, func(_ int, _ []string, w http.ResponseWriter, _ *http.Request) bool { w.WriteHeader(500); return true })
	o := testOptions()
	o.GiveUpAfter = 30 * time.Millisecond
	s, _ := newSink(t, o, f.URL)
	var failed, done atomic.Int64
	s.Consume(context.Background(), batchOf(0, 5, &failed, &done))
	s.Flush(context.Background())
	if failed.Load() != 1 {
		t.Fatalf("failed %d, want 1", failed.Load())
	}
}

// TestTokenFileReload: the token file is read again when it changes; a
// 401 keeps the records until the right token is there.
func TestTokenFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	os.WriteFile(path, []byte("old\n"), 0o600)
	var seen sync.Map
	f := newFake(t, func(_ int, _ []string, w http.ResponseWriter, r *http.Request) bool {
		seen.Store(r.Header.Get("Authorization"), true)
		if r.Header.Get("Authorization") != "Bearer new" {
			w.WriteHeader(401)
			return true
		}
		return false
	})
	o := testOptions()
	o.TokenFile = path
	s, _ := newSink(t, o, f.URL)
	var failed, done atomic.Int64
	s.Consume(context.Background(), batchOf(0, 5, &failed, &done))
	waitUntil(t, "a request with the old token", func() bool { _, ok := seen.Load("Bearer old"); return ok })
	os.WriteFile(path, []byte("new\n"), 0o600)
	s.Flush(context.Background())
	if failed.Load() != 0 || len(f.stored()) != 5 {
		t.Fatalf("failed %d stored %d", failed.Load(), len(f.stored()))
	}
}

func TestBackoffBounds(t *testing.T) {
	s := &Sink{opt: Options{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for attempt := 1; attempt < 40; attempt++ {
		d := s.backoff(attempt)
		step := min(100*time.Millisecond<<min(attempt-1, 20), time.Second)
		if d < step/2 || d > step {
			t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, step/2, step)
		}
	}
	if retryAfter("3") != 3*time.Second || retryAfter("") != 0 || retryAfter("x") != 0 {
		t.Fatal("Retry-After in seconds")
	}
	if d := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); d < 59*time.Minute {
		t.Fatalf("Retry-After as a date: %v", d)
	}
}

func TestSecretRedaction(t *testing.T) {
	s := agent.Secret("hunter2-token")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %x %#v %+v", s, s, s, s, s, s), fmt.Sprint(struct{ T agent.Secret }{s})} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret printed: %s", out)
		}
	}
	b, _ := json.Marshal(map[string]any{"t": s})
	if strings.Contains(string(b), "hunter2") {
		t.Fatalf("secret in JSON: %s", b)
	}
	if agent.Scrub("x hunter2-token y", s) != "x [REDACTED] y" {
		t.Fatal("Scrub")
	}
}

// TestTimeoutRetries: a request that times out keeps its records; they are
// sent again.
func TestTimeoutRetries(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(n int, _ []string, _ http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return true
		}
		return false
	})
	defer close(release)
	o := testOptions()
	o.Timeout = 50 * time.Millisecond
	s, _ := newSink(t, o, f.URL)
	var failed, done atomic.Int64
	s.Consume(context.Background(), batchOf(0, 5, &failed, &done))
	s.Flush(context.Background())
	if failed.Load() != 0 || len(f.stored()) != 5 || f.calls.Load() < 2 {
		t.Fatalf("failed %d stored %d calls %d", failed.Load(), len(f.stored()), f.calls.Load())
	}
}

// TestRetryAfterHonoured: after a 429 with Retry-After: 1, the next attempt
// comes no sooner than a second later (although the backoff is 10 ms).
func TestRetryAfterHonoured(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	f := newFake(t, func(n int, _ []string, w http.ResponseWriter, _ *http.Request) bool {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return true
		}
		return false
	})
	s, _ := newSink(t, testOptions(), f.URL)
	var failed, done atomic.Int64
	s.Consume(context.Background(), batchOf(0, 3, &failed, &done))
	s.Flush(context.Background())
	if failed.Load() != 0 || len(at) < 2 {
		t.Fatalf("failed %d attempts %d", failed.Load(), len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 990*time.Millisecond {
		t.Fatalf("retried after %v; Retry-After asked for 1s", gap)
	}
}

// TestBodies: whatever the compression, every request body is the
// framing around the records' wire forms (agent.AppendJSON), the first
// time and when a 413 or an incomplete answer makes smaller batches (whose
// records are encoded again); Content-Encoding says gzip only with gzip.
func TestBodies(t *testing.T) {
	for _, tc := range []struct {
		comp  string
		level int
	}{{"gzip", 1}, {"gzip", 9}, {"none", 1}} {
		t.Run(fmt.Sprintf("%s-%d", tc.comp, tc.level), func(t *testing.T) {
			want := map[string][]byte{} // id -> wire form
			var mu sync.Mutex
			var bodies int
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				var body io.Reader = r.Body
				if gz := r.Header.Get("Content-Encoding") == "gzip"; gz != (tc.comp == "gzip") {
					t.Errorf("Content-Encoding %q with compression %q", r.Header.Get("Content-Encoding"), tc.comp)
				} else if gz {
					zr, err := gzip.NewReader(r.Body)
					if err != nil {
						t.Errorf("bad gzip: %v", err)
						return
					}
					body = zr
				}
				raw, err := io.ReadAll(body)
				if err != nil {
					t.Errorf("read body: %v", err)
					return
				}
				var req struct{ Records []struct{ ID string } }
				if err := json.Unmarshal(raw, &req); err != nil {
					t.Errorf("bad body: %v", err)
					return
				}
				mu.Lock()
				var exp []byte
				exp = append(exp, `{"records":[`...)
				for i, rec := range req.Records {
					if i > 0 {
						exp = append(exp, ',')
					}
					exp = append(exp, want[rec.ID]...)
				}
				exp = append(exp, "]}"...)
				bodies++
				mu.Unlock()
				if string(raw) != string(exp) {
					t.Errorf("body\n%s\nwant\n%s", raw, exp)
				}
				switch {
				case len(req.Records) > 4: // split
					w.WriteHeader(413)
					return
				case n%3 == 0 && len(req.Records) > 1: // only the first is answered
					req.Records = req.Records[:1]
				}
				res := make([]map[string]string, len(req.Records))
				for i, rec := range req.Records {
					res[i] = map[string]string{"id": rec.ID, "status": "accepted"}
				}
				json.NewEncoder(w).Encode(map[string]any{"results": res})
			}))
			defer srv.Close()
			c := DefaultCommon()
			c.BatchMaxRecords = 9
			c.BatchMaxWait = "20ms"
			c.RetryInitialBackoff = "5ms"
			c.RetryMaxBackoff = "10ms"
			c.Compression, c.CompressionLevel = tc.comp, tc.level
			o, err := c.Options()
			if err != nil {
				t.Fatal(err)
			}
			s, _ := newSink(t, o, srv.URL)
			var failed, done atomic.Int64
			for i := range 5 {
				b := batchOf(i*11, 11, &failed, &done)
				mu.Lock()
				for j := range b {
					r := b[j]
					r.EnsureID()
					want[r.ID] = agent.AppendJSON(nil, &r)
				}
				mu.Unlock()
				s.Consume(context.Background(), b)
			}
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if done.Load() != 5 || failed.Load() != 0 {
				t.Fatalf("done %d failed %d", done.Load(), failed.Load())
			}
			if bodies < 15 {
				t.Fatalf("%d requests: the splits and incomplete answers did not happen", bodies)
			}
		})
	}
}

// TestEarlyAnswerBodyNotReused: a server that answers 413 before reading
// a large body can leave the transport sending it after Do returned; the
// sink reuses a batch's buffers only once the transport is done with them
// (TestLender), and every record arrives intact.
func TestEarlyAnswerBodyNotReused(t *testing.T) {
	var stored sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 3<<20 {
			w.WriteHeader(413) // without reading the body
			return
		}
		var req struct {
			Records []struct {
				ID     string
				Fields struct{ Message string }
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("bad body: %v", err)
			w.WriteHeader(500)
			return
		}
		res := make([]map[string]string, len(req.Records))
		for i, rec := range req.Records {
			if want := strings.Repeat(rec.Fields.Message[:1], len(rec.Fields.Message)); rec.Fields.Message != want {
				t.Errorf("record %s arrived damaged", rec.ID)
			}
			stored.Store(rec.ID, true)
			res[i] = map[string]string{"id": rec.ID, "status": "accepted"}
		}
		json.NewEncoder(w).Encode(map[string]any{"results": res})
	}))
	defer srv.Close()
	c := DefaultCommon()
	c.Compression = "none"
	c.BatchMaxRecords = 8
	c.BatchMaxBytes = "64MiB"
	c.BatchMaxWait = "20ms"
	c.RetryInitialBackoff = "5ms"
	o, err := c.Options()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newSink(t, o, srv.URL)
	var failed, done atomic.Int64
	for round := range 3 {
		b := batchOf(round*8, 8, &failed, &done)
		for i := range b {
			b[i].Raw = bytes.Repeat([]byte{byte('a' + i)}, 1<<20)
		}
		s.Consume(context.Background(), b)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	stored.Range(func(any, any) bool { n++; return true })
	if done.Load() != 3 || failed.Load() != 0 || n != 24 {
		t.Fatalf("done %d failed %d stored %d", done.Load(), failed.Load(), n)
	}
}

// TestLender: wait returns once every body handed out (the request's and
// GetBody's copies) is closed, and gives up after its timeout otherwise.
func TestLender(t *testing.T) {
	var l lender
	if !l.wait(time.Millisecond) {
		t.Fatal("nothing lent, yet wait waits")
	}
	a, b := l.body([]byte("x")), l.body([]byte("x"))
	a.Close()
	a.Close() // twice is once
	if l.wait(10 * time.Millisecond) {
		t.Fatal("wait returned with a body still open")
	}
	go func() { time.Sleep(10 * time.Millisecond); b.Close() }()
	if !l.wait(5 * time.Second) {
		t.Fatal("wait did not see the last body closed")
	}
}
