// Package playground is the rule playground (`octoagent playground`): a
// page, embedded in the binary, where a user pastes lines, edits schema
// and transform blocks, and sees as they type the typed records, the dead
// letters with their reasons and field errors, each step's work on a
// chosen line, and a test block that pins the result.
//
// Nothing is evaluated by code of its own: the editor's text is loaded by
// agent/config (the diagnostics are the loader's), the transform is made
// by its factory and fed by agent/ruletest (what octoagent test runs), and
// the steps report their work through agent.Traceable. Since users run
// programs here (jq, awk, regular expressions), every evaluation is
// bounded: request bytes, lines, time, and evaluations at once.
package playground

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/octostore/agent/agent"
)

//go:embed web
var web embed.FS

// Limits bound what one evaluation may use.
type Limits struct {
	// MaxBytes bounds a request: the editor's text and the lines.
	MaxBytes int
	// MaxLines bounds the sample lines evaluated at once.
	MaxLines int
	// Timeout bounds one evaluation; jq and awk programs are stopped
	// through their context.
	Timeout time.Duration
	// Grace is how long past Timeout the server waits for a step that
	// does not stop before it answers without it.
	Grace time.Duration
	// MaxConcurrent bounds the evaluations running at once; more are
	// refused with 429.
	MaxConcurrent int
}

// DefaultLimits are the limits octoagent playground starts with.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 20, MaxLines: 2000, Timeout: 3 * time.Second, Grace: 2 * time.Second, MaxConcurrent: 4}
}

// Server serves the page and its API.
type Server struct {
	reg     *agent.Registry
	packs   []*Pack
	initial string
	lim     Limits
	slots   chan struct{}
	mux     *http.ServeMux
	// loopback: only requests naming a loopback host are served (no DNS
	// rebinding from a web page).
	loopback bool
}

// Options configure a Server.
type Options struct {
	Registry *agent.Registry
	// Packs are offered in the pack menu; Initial names the one the
	// editor starts with (the -c files, or the first pack).
	Packs   []*Pack
	Initial string
	Limits  Limits
	// Loopback refuses requests whose Host is not a loopback name: set it
	// when the server listens on a loopback address.
	Loopback bool
}

// New returns a playground server.
func New(o Options) *Server {
	lim := o.Limits
	def := DefaultLimits()
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = def.MaxBytes
	}
	if lim.MaxLines <= 0 {
		lim.MaxLines = def.MaxLines
	}
	if lim.Timeout <= 0 {
		lim.Timeout = def.Timeout
	}
	if lim.Grace <= 0 {
		lim.Grace = def.Grace
	}
	if lim.MaxConcurrent <= 0 {
		lim.MaxConcurrent = def.MaxConcurrent
	}
	s := &Server{reg: o.Registry, packs: o.Packs, initial: o.Initial, lim: lim,
		slots: make(chan struct{}, lim.MaxConcurrent), mux: http.NewServeMux(), loopback: o.Loopback}
	if s.initial == "" && len(s.packs) > 0 {
		s.initial = s.packs[0].Name
	}
	static, _ := fs.Sub(web, "web")
	s.mux.Handle("GET /", http.FileServerFS(static))
	s.mux.HandleFunc("GET /api/packs", s.handlePacks)
	s.mux.HandleFunc("POST /api/eval", func(w http.ResponseWriter, r *http.Request) { s.handleEval(w, r, false) })
	s.mux.HandleFunc("POST /api/test", func(w http.ResponseWriter, r *http.Request) { s.handleEval(w, r, true) })
	return s
}

// ServeHTTP serves the page (/), the packs (/api/packs), evaluations
// (/api/eval) and test blocks (/api/test).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.loopback && !loopbackHost(r.Host) {
		http.Error(w, "the playground answers requests for localhost only", http.StatusMisdirectedRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) pack(name string) *Pack {
	for _, p := range s.packs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

type packsResponse struct {
	Packs   []*Pack    `json:"packs"`
	Initial string     `json:"initial"`
	Limits  limitsJSON `json:"limits"`
}

type limitsJSON struct {
	MaxBytes  int    `json:"max_bytes"`
	MaxLines  int    `json:"max_lines"`
	Timeout   string `json:"timeout"`
	EditorHCL string `json:"editor_file"`
}

func (s *Server) handlePacks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, packsResponse{Packs: s.packs, Initial: s.initial,
		Limits: limitsJSON{MaxBytes: s.lim.MaxBytes, MaxLines: s.lim.MaxLines, Timeout: s.lim.Timeout.String(), EditorHCL: EditorFile}})
}

func (s *Server) handleEval(w http.ResponseWriter, r *http.Request, makeTest bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		// A cross-site form cannot send JSON without asking first.
		writeJSON(w, http.StatusUnsupportedMediaType, Response{Error: "send the request as application/json"})
		return
	}
	var req Request
	body := http.MaxBytesReader(w, r.Body, int64(s.lim.MaxBytes)+64<<10)
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("The request is larger than %d bytes (--max-bytes): paste fewer lines.", s.lim.MaxBytes)})
			return
		}
		writeJSON(w, http.StatusBadRequest, Response{Error: "bad request: " + err.Error()})
		return
	}
	if n := len(req.HCL) + len(req.Lines); n > s.lim.MaxBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("The rules and lines are %d bytes; the playground takes at most %d (--max-bytes): paste fewer lines.", n, s.lim.MaxBytes)})
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, Response{Error: fmt.Sprintf("%d evaluations are running (--max-concurrent); try again in a moment.", cap(s.slots))})
		return
	}
	resp := s.evaluate(r.Context(), &req, func() { <-s.slots }, makeTest)
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
