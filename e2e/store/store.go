// Package store is a test implementation of the Octostore ingest API
// (sinks/octostore/openapi.yaml) that persists records to PostgreSQL, with
// the record id as primary key and a deliveries counter, so tests can count
// what was lost and what was delivered twice. It injects faults on demand:
// bursts of 5xx, 429 with Retry-After, slow answers, connection resets, 413
// and per-record rejects. `go run ./e2e/store/cmd/teststore` serves it.
package store

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema creates the records table.
const Schema = `CREATE TABLE IF NOT EXISTS records (
	id         text PRIMARY KEY,
	kind       text NOT NULL,
	message    text,
	deliveries integer NOT NULL DEFAULT 1,
	first_at   timestamptz NOT NULL DEFAULT now()
)`

// Faults says which faults to inject. Counts are decremented as requests
// consume them; ratios apply to every request.
type Faults struct {
	// Status answers the next StatusCount requests with Status (500, 503).
	Status      int `json:"status,omitempty"`
	StatusCount int `json:"status_count,omitempty"`
	// TooMany answers the next TooManyCount requests with 429 and
	// Retry-After: RetryAfter seconds.
	TooManyCount int `json:"too_many_count,omitempty"`
	RetryAfter   int `json:"retry_after,omitempty"`
	// ResetCount resets the connection of the next requests.
	ResetCount int `json:"reset_count,omitempty"`
	// DelayMS delays every answer.
	DelayMS int `json:"delay_ms,omitempty"`
	// MaxRecords answers 413 to batches holding more records.
	MaxRecords int `json:"max_records,omitempty"`
	// RejectMarker rejects records whose fields.message contains it.
	RejectMarker string `json:"reject_marker,omitempty"`
	// Flap is the probability (0..1) that a request meets a random fault:
	// 503, 500, 429 (Retry-After 1), a reset or a 2 s delay.
	Flap float64 `json:"flap,omitempty"`
	// Token, if set, is the bearer token required (401 otherwise).
	Token string `json:"token,omitempty"`
	// EchoAuth makes a 401 echo the Authorization header back, as badly
	// written servers do (the agent must not log it).
	EchoAuth bool `json:"echo_auth,omitempty"`
}

// Stats are the server's counters.
type Stats struct {
	Requests   int64 `json:"requests"`
	Faults     int64 `json:"faults"`
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
	Rejected   int64 `json:"rejected"`
	Unauth     int64 `json:"unauthorized"`
}

// Server is the test store.
type Server struct {
	db *pgxpool.Pool

	mu     sync.Mutex
	faults Faults
	rnd    *rand.Rand

	requests, faultsHit, accepted, duplicates, rejected, unauth atomic.Int64
}

// New connects to PostgreSQL and creates the schema.
func New(ctx context.Context, dsn string, f Faults) (*Server, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 8
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(ctx, Schema); err != nil {
		db.Close()
		return nil, err
	}
	return &Server{db: db, faults: f, rnd: rand.New(rand.NewPCG(1, 2))}, nil
}

// Close closes the database pool.
func (s *Server) Close() { s.db.Close() }

// SetFaults replaces the faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Faults: s.faultsHit.Load(), Accepted: s.accepted.Load(),
		Duplicates: s.duplicates.Load(), Rejected: s.rejected.Load(), Unauth: s.unauth.Load()}
}

// Handler serves the ingest API and, under /admin/, the fault controls.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		if err := s.db.Ping(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "down", "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /v1/records", s.ingest)
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.Stats()) })
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		s.SetFaults(f)
		w.WriteHeader(204)
	})
	return mux
}

type ingestRequest struct {
	Records []json.RawMessage `json:"records"`
}

// wireRecord is the part of the record wire form the store reads.
type wireRecord struct {
	ID     string          `json:"id"`
	Time   string          `json:"time"`
	Kind   string          `json:"kind"`
	Fields json.RawMessage `json:"fields"`
	Origin struct {
		Component string `json:"component"`
	} `json:"origin"`
}

type fieldError struct {
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

type result struct {
	ID     string       `json:"id"`
	Status string       `json:"status"`
	Errors []fieldError `json:"errors,omitempty"`
}

var idRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// fault picks the fault for this request, if any: "" or a name.
func (s *Server) fault(n int) (kind string, f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f = s.faults
	switch {
	case s.faults.ResetCount > 0:
		s.faults.ResetCount--
		return "reset", f
	case s.faults.StatusCount > 0:
		s.faults.StatusCount--
		return "status", f
	case s.faults.TooManyCount > 0:
		s.faults.TooManyCount--
		return "429", f
	case f.MaxRecords > 0 && n > f.MaxRecords:
		return "413", f
	case f.Flap > 0 && s.rnd.Float64() < f.Flap:
		return []string{"503", "500", "429", "reset", "slow"}[s.rnd.IntN(5)], f
	}
	return "", f
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if f.Token != "" && r.Header.Get("Authorization") != "Bearer "+f.Token {
		s.unauth.Add(1)
		msg := "invalid or missing bearer token"
		if f.EchoAuth {
			msg += ": got " + r.Header.Get("Authorization")
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
		return
	}
	body, err := IngestBody(http.MaxBytesReader(w, r.Body, 64<<20), r.Header.Get("Content-Encoding"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var req ingestRequest
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "batch too large"})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is not {\"records\": [...]}: " + err.Error()})
		return
	}
	kind, f := s.fault(len(req.Records))
	if f.DelayMS > 0 {
		time.Sleep(time.Duration(f.DelayMS) * time.Millisecond)
	}
	if kind != "" {
		s.faultsHit.Add(1)
	}
	switch kind {
	case "reset":
		resetConn(w)
		return
	case "status":
		writeJSON(w, f.Status, map[string]string{"error": "injected fault"})
		return
	case "500", "503":
		code, _ := strconv.Atoi(kind)
		writeJSON(w, code, map[string]string{"error": "injected fault"})
		return
	case "429":
		ra := f.RetryAfter
		if ra == 0 {
			ra = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "slow down"})
		return
	case "413":
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("at most %d records per batch", f.MaxRecords)})
		return
	case "slow":
		time.Sleep(2 * time.Second)
	}

	results := make([]result, len(req.Records))
	type row struct {
		kind, msg string
		n         int32
	}
	rows := map[string]*row{}
	var order []string
	for i, raw := range req.Records {
		var rec wireRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			results[i] = result{Status: "rejected", Errors: []fieldError{{Error: "not a record: " + err.Error()}}}
			continue
		}
		results[i].ID = rec.ID
		var errs []fieldError
		if !idRe.MatchString(rec.ID) {
			errs = append(errs, fieldError{Field: "id", Error: "must be 32 lowercase hex characters"})
		}
		if _, err := time.Parse(time.RFC3339Nano, rec.Time); err != nil {
			errs = append(errs, fieldError{Field: "time", Error: "must be an RFC 3339 time"})
		}
		if rec.Kind == "" {
			errs = append(errs, fieldError{Field: "kind", Error: "must not be empty"})
		}
		if rec.Origin.Component == "" {
			errs = append(errs, fieldError{Field: "origin.component", Error: "must not be empty"})
		}
		var fields map[string]any
		_ = json.Unmarshal(rec.Fields, &fields)
		msg, _ := fields["message"].(string)
		if f.RejectMarker != "" && strings.Contains(msg, f.RejectMarker) {
			errs = append(errs, fieldError{Field: "fields.message", Error: "contains the forbidden marker " + strconv.Quote(f.RejectMarker)})
		}
		if len(errs) > 0 {
			results[i].Status = "rejected"
			results[i].Errors = errs
			continue
		}
		if rw, ok := rows[rec.ID]; ok {
			rw.n++
			continue
		}
		rows[rec.ID] = &row{kind: rec.Kind, msg: msg, n: 1}
		order = append(order, rec.ID)
	}
	inserted := map[string]bool{}
	if len(order) > 0 {
		ids := make([]string, len(order))
		kinds := make([]string, len(order))
		msgs := make([]string, len(order))
		ns := make([]int32, len(order))
		for i, id := range order {
			ids[i], kinds[i], msgs[i], ns[i] = id, rows[id].kind, rows[id].msg, rows[id].n
		}
		q, err := s.db.Query(r.Context(), `INSERT INTO records (id, kind, message, deliveries)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
			ON CONFLICT (id) DO UPDATE SET deliveries = records.deliveries + EXCLUDED.deliveries
			RETURNING id, (xmax = 0)`, ids, kinds, msgs, ns)
		if err == nil {
			var id string
			var ins bool
			_, err = pgx.ForEachRow(q, []any{&id, &ins}, func() error {
				if ins {
					inserted[id] = true
				}
				return nil
			})
		}
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database: " + err.Error()})
			return
		}
	}
	seen := map[string]bool{}
	for i := range results {
		if results[i].Status == "rejected" {
			s.rejected.Add(1)
			continue
		}
		if inserted[results[i].ID] && !seen[results[i].ID] {
			results[i].Status = "accepted"
			s.accepted.Add(1)
		} else {
			results[i].Status = "duplicate"
			s.duplicates.Add(1)
		}
		seen[results[i].ID] = true
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// resetConn closes the connection with a TCP reset, without an answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// IngestBody is the JSON of an ingest request's body, read through gzip
// when its Content-Encoding (encoding) says so.
func IngestBody(body io.Reader, encoding string) (io.Reader, error) {
	if encoding != "gzip" {
		return body, nil
	}
	zr, err := gzip.NewReader(body)
	if err != nil {
		return nil, fmt.Errorf("bad gzip: %w", err)
	}
	return zr, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Count returns the distinct records stored, the deliveries in all (a
// record delivered twice counts twice), by querying the database.
func Count(ctx context.Context, db *pgx.Conn) (records, deliveries int64, err error) {
	err = db.QueryRow(ctx, `SELECT count(*), coalesce(sum(deliveries), 0) FROM records`).Scan(&records, &deliveries)
	return
}
