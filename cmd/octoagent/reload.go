package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

// supervisor runs one agent.Runtime at a time and replaces it on reload
// (SIGHUP, or POST /-/reload): it loads the config files again and, if they
// are valid, stops the running runtime the way SIGTERM does (intake
// stopped, everything in flight drained and acknowledged, checkpoints
// saved), then builds and starts a runtime on the new config, which
// resumes from those checkpoints. So no record is lost, and none is read
// twice. A config that does not load is refused and the running one keeps
// running; a config that loads but cannot start (a component's Create
// fails) is refused too, and the old config is started again.
//
// The runtimes share one set of metrics (Options.Metrics): counters are
// monotonic across reloads, as Prometheus expects of a process that did not
// restart.
type supervisor struct {
	paths     []string
	overrides func(*agent.Graph)
	opt       agent.Options
	log       *slog.Logger
	reqs      chan reloadReq
	tap       *tapHub
	mu        sync.Mutex
	reloads   int // successful reloads, for logs
	limit     *rate.Limiter
	// The HTTP and admin addresses asked for first, and the ones bound: a
	// reloaded config that asks for the same address (":0" included) gets
	// the same port again.
	httpAddr, adminAddr pinnedAddr
}

// pinnedAddr is an address asked for (":0") and the one it was bound to.
type pinnedAddr struct{ asked, bound string }

// apply gives addr the bound address if it asks for the same as before.
func (p *pinnedAddr) apply(addr *string) {
	if p.bound != "" && *addr == p.asked {
		*addr = p.bound
	}
}

// remember keeps the first address bound.
func (p *pinnedAddr) remember(asked, bound string) {
	if p.bound == "" && bound != "" {
		p.asked, p.bound = asked, bound
	}
}

type reloadReq struct {
	graph agent.Graph
	from  string
	// done, if set, gets the outcome: nil when the new config runs, else
	// why it does not (the old config runs again, unless errOldGone).
	done chan error
}

// errCannotStart wraps why a new config that loaded could not start; the
// old config was started again.
type errCannotStart struct{ err error }

func (e errCannotStart) Error() string {
	return "the new config cannot start: " + e.err.Error() + "\nthe previous config was started again and runs"
}

// Reloads over HTTP are rate-limited: each stops and restarts the whole
// pipeline. A burst of reloadBurst, then one per reloadEvery.
const (
	reloadBurst = 3
	reloadEvery = 5 * time.Second
)

func newSupervisor(paths []string, overrides func(*agent.Graph), opt agent.Options) *supervisor {
	s := &supervisor{paths: paths, overrides: overrides, opt: opt, log: opt.Logger, reqs: make(chan reloadReq, 1), tap: newTapHub(),
		limit: rate.NewLimiter(rate.Every(reloadEvery), reloadBurst)}
	if s.opt.Metrics == nil {
		s.opt.Metrics = agent.NewMetrics(nil)
	}
	// Both change state or show record contents: they are served on
	// agent.admin_addr, never on a network address by default (agent/http.go).
	s.opt.AdminHandlers = map[string]http.Handler{
		"/-/reload": http.HandlerFunc(s.serveReload),
		"/tap":      s.tap,
	}
	return s
}

// load reads the config files again; the error holds the diagnostics.
func (s *supervisor) load() (agent.Graph, error) {
	res, diags := config.Load(s.paths, components())
	g := res.Graph
	s.overrides(&g)
	if !diags.HasErrors() {
		diags = append(diags, config.Preflight(res, g, true)...)
	}
	if diags.HasErrors() {
		var buf bytes.Buffer
		config.WriteDiagnostics(&buf, res.Files, diags)
		return agent.Graph{}, fmt.Errorf("the new config has errors; the running config is kept:\n%s", buf.String())
	}
	return g, nil
}

// errPending: a reload is already queued.
var errPending = errors.New("a reload is already pending")

// request validates the config files and, if they load and pass the start
// checks, queues a reload. done, if set, gets the reload's outcome.
func (s *supervisor) request(from string, done chan error) error {
	g, err := s.load()
	if err != nil {
		s.log.Error("reload refused", "from", from, "error", err)
		return err
	}
	select {
	case s.reqs <- reloadReq{graph: g, from: from, done: done}:
	default:
		// A reload is already queued; it will read the files again anyway.
		s.log.Info("reload already pending", "from", from)
		return errPending
	}
	return nil
}

// reloadWait bounds how long POST /-/reload waits for the outcome: the old
// config drains first (up to its shutdown_timeout).
const reloadWait = 2 * time.Minute

// serveReload is POST /-/reload. It answers once the reload is done: 200
// when the new config runs; 400 with the diagnostics when it does not load
// or fails the start checks (the running config is kept), or with the
// error when it cannot start (the previous config is started again); 429
// with Retry-After past the rate limit; 409 when a reload is already
// pending; 202 if the outcome takes longer than reloadWait.
func (s *supervisor) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST\n", http.StatusMethodNotAllowed)
		return
	}
	if res := s.limit.Reserve(); res.Delay() > 0 {
		wait := res.Delay()
		res.Cancel()
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.log.Warn("reload refused: too many reloads", "from", "http", "retry_after", secs)
		http.Error(w, fmt.Sprintf("too many reloads: at most %d at once, then one every %v; retry in %ds\n", reloadBurst, reloadEvery, secs), http.StatusTooManyRequests)
		return
	}
	done := make(chan error, 1)
	if err := s.request("http", done); err != nil {
		if errors.Is(err, errPending) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "a reload is already pending; it reads the config files again when it starts\n", http.StatusConflict)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The request came in on the old config's server, which the reload
	// stops: take the connection from it, so that the answer survives it.
	reply := func(code int, body string) {
		if code >= 400 {
			w.Header().Set("X-Content-Type-Options", "nosniff")
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
	var gone <-chan struct{} = r.Context().Done()
	if hj, ok := w.(http.Hijacker); ok {
		if conn, buf, err := hj.Hijack(); err == nil {
			defer conn.Close()
			gone = nil // the server no longer watches the connection
			reply = func(code int, body string) {
				fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
					code, http.StatusText(code), len(body), body)
				buf.Flush()
			}
		}
	}
	t := time.NewTimer(reloadWait)
	defer t.Stop()
	select {
	case err := <-done:
		var cs errCannotStart
		switch {
		case err == nil:
			reply(http.StatusOK, "reloaded: the new config runs\n")
		case errors.As(err, &cs):
			reply(http.StatusBadRequest, err.Error()+"\n")
		default:
			reply(http.StatusInternalServerError, err.Error()+"\n")
		}
	case <-t.C:
		reply(http.StatusAccepted, fmt.Sprintf("reloading: the old config is still draining after %v; the log says when the new one runs\n", reloadWait))
	case <-gone:
	}
}

func (s *supervisor) build(g agent.Graph) (*agent.Runtime, error) {
	shared := g.Agent.AdminAddr == g.Agent.HTTPAddr
	s.httpAddr.apply(&g.Agent.HTTPAddr)
	if shared {
		g.Agent.AdminAddr = g.Agent.HTTPAddr
	} else {
		s.adminAddr.apply(&g.Agent.AdminAddr)
	}
	rt, err := agent.New(g, s.opt)
	if err != nil {
		return nil, err
	}
	if err := rt.Listen(); err != nil {
		rt.Close()
		return nil, err
	}
	s.httpAddr.remember(g.Agent.HTTPAddr, rt.HTTPAddr())
	if !shared && g.Agent.AdminAddr != "" {
		s.adminAddr.remember(g.Agent.AdminAddr, rt.AdminAddr())
	}
	if s.tap != nil {
		s.tap.attach(rt)
	}
	releaseStartupMemory()
	return rt, nil
}

// run runs g until ctx ends (or, in once mode, until the runtime finishes),
// replacing the runtime on each reload.
func (s *supervisor) run(ctx context.Context, g agent.Graph, rt *agent.Runtime) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				_ = s.request("SIGHUP", nil)
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		rtCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func(rt *agent.Runtime) { done <- rt.Run(rtCtx) }(rt)
		var req reloadReq
		select {
		case err := <-done:
			cancel()
			return err
		case req = <-s.reqs:
		}
		s.log.Info("reloading: stopping the running config", "from", req.from)
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("the old config stopped with an error", "error", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		answer := func(err error) {
			if req.done != nil {
				req.done <- err
			}
		}
		nrt, err := s.build(req.graph)
		if err != nil {
			s.log.Error("reload refused: the new config cannot start; starting the old one again", "error", err)
			startErr := err
			if nrt, err = s.build(g); err != nil {
				err = fmt.Errorf("the old config cannot start again after a refused reload: %w", err)
				answer(fmt.Errorf("the new config cannot start: %v; and %w: the agent stops", startErr, err))
				return err
			}
			answer(errCannotStart{startErr})
		} else {
			g = req.graph
			s.mu.Lock()
			s.reloads++
			n := s.reloads
			s.mu.Unlock()
			s.log.Info("reloaded", "reload", n, "components", len(g.Nodes))
			answer(nil)
		}
		rt = nrt
	}
}
