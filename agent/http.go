package agent

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The agent's HTTP servers. Two kinds of routes, kept apart:
//
//   - /metrics, /healthz, /readyz (and Options.Handlers): read-only, safe
//     to expose to scrapers and probes, on agent.http_addr;
//   - the admin routes (Options.AdminHandlers; in octoagent, GET /tap,
//     which streams record contents, and POST /-/reload, which changes the
//     running config): on agent.admin_addr, which never is a network
//     address unless the config says so.
//
// agent.admin_addr:
//
//   - "" (the default): on the HTTP server if it listens on a loopback
//     address (the default http_addr, 127.0.0.1:9598, so `octoagent tap`
//     works out of the box), and nowhere if it does not (0.0.0.0:9598 in a
//     pod): a config that opens the metrics to the network does not open
//     the admin routes with them;
//   - "off": nowhere;
//   - the same string as http_addr: on the HTTP server, whatever its
//     address (an explicit choice; the config loader warns when it is not
//     a loopback address);
//   - any other address: a listener of its own (the Helm chart uses
//     127.0.0.1:9599, reached with kubectl exec or kubectl port-forward).

// AdminOff is the agent.admin_addr that serves the admin routes nowhere.
const AdminOff = "off"

// HTTPAddr returns the address the HTTP server listens on, once Listen or
// Run bound it.
func (rt *Runtime) HTTPAddr() string { return addrOf(rt.httpLn) }

// AdminAddr returns the address the admin routes are served on ("" when
// they are not served), once Listen or Run bound it.
func (rt *Runtime) AdminAddr() string {
	if rt.adminOnHTTP {
		return addrOf(rt.httpLn)
	}
	return addrOf(rt.adminLn)
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Listen binds the HTTP server's address and the admin address now, so
// that Run cannot fail on them later and callers learn the addresses (":0"
// picks a free port).
func (rt *Runtime) Listen() error {
	if rt.listened {
		return nil
	}
	a := rt.g.Agent
	if a.HTTPAddr == AdminOff {
		a.HTTPAddr = ""
	}
	if a.HTTPAddr != "" && rt.httpLn == nil {
		ln, err := listen(a.HTTPAddr)
		if err != nil {
			return fmt.Errorf("agent.http_addr: %w", err)
		}
		rt.httpLn = ln
	}
	switch {
	case len(rt.opt.AdminHandlers) == 0, a.AdminAddr == AdminOff:
	case a.AdminAddr == "":
		rt.adminOnHTTP = rt.httpLn != nil && isLoopback(rt.httpLn.Addr())
	case a.AdminAddr == a.HTTPAddr:
		rt.adminOnHTTP = rt.httpLn != nil
	default:
		ln, err := listen(a.AdminAddr)
		if err != nil {
			if rt.httpLn != nil {
				_ = rt.httpLn.Close()
				rt.httpLn = nil
			}
			return fmt.Errorf("agent.admin_addr: %w", err)
		}
		rt.adminLn = ln
	}
	rt.listened = true
	return nil
}

// listen binds addr once CheckListenAddr, the check `validate` makes too,
// accepts it.
func listen(addr string) (net.Listener, error) {
	if err := CheckListenAddr(addr); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

// isLoopback reports whether a listener's address is a loopback one
// (127.0.0.0/8, ::1): reachable from the same network namespace only.
func isLoopback(addr net.Addr) bool {
	t, ok := addr.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// serve starts the servers on the bound listeners and returns the function
// that shuts them down, within wait.
func (rt *Runtime) serve() (stop func(wait time.Duration)) {
	var servers []*http.Server
	start := func(ln net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	if rt.httpLn != nil {
		start(rt.httpLn, rt.handler())
		rt.log.Info("serving metrics and health", "addr", rt.HTTPAddr())
	}
	if rt.adminLn != nil {
		mux := http.NewServeMux()
		for pattern, h := range rt.opt.AdminHandlers {
			mux.Handle(pattern, rt.adminAuth(rt.adminLn.Addr(), h))
		}
		start(rt.adminLn, mux)
	}
	if paths := rt.adminPaths(); rt.AdminAddr() != "" {
		rt.log.Info("serving admin endpoints", "addr", rt.AdminAddr(), "paths", paths)
	} else if len(paths) > 0 && rt.g.Agent.AdminAddr == "" && rt.httpLn != nil {
		rt.log.Info("admin endpoints are not served: agent.http_addr is not a loopback address, and the admin endpoints are only served on one unless agent.admin_addr says where",
			"paths", paths, "http_addr", rt.HTTPAddr(), "hint", `set agent.admin_addr = "127.0.0.1:9599" (or --admin-addr) and use kubectl exec or kubectl port-forward to reach it`)
	}
	return func(wait time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		for _, srv := range servers {
			if srv.Shutdown(ctx) != nil {
				_ = srv.Close()
			}
		}
	}
}

// adminAuth guards an admin route served on addr: with an admin token
// (Options.AdminToken), a request must carry it (Authorization: Bearer
// TOKEN), whatever the address; with none, the route is open on a loopback
// address and refused on any other, since whoever reaches it could read
// live records and reload the config.
func (rt *Runtime) adminAuth(addr net.Addr, h http.Handler) http.Handler {
	loopback := isLoopback(addr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tok Secret
		if rt.opt.AdminToken != nil {
			t, err := rt.opt.AdminToken()
			if err != nil {
				rt.log.Error("cannot read the admin token; refusing admin requests", "error", err)
				http.Error(w, "the agent cannot read its admin token; see its log\n", http.StatusServiceUnavailable)
				return
			}
			tok = t
		}
		if tok.IsZero() {
			if loopback {
				h.ServeHTTP(w, r)
				return
			}
			http.Error(w, "the admin endpoints are served on "+addr.String()+", a network address, and the agent has no admin token: "+
				"set one in the environment ("+AdminTokenEnv+") or in a file ("+AdminTokenFileEnv+", --admin-token-file), or bind agent.admin_addr to 127.0.0.1\n", http.StatusForbidden)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(tok.Reveal())) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="octoagent admin"`)
			http.Error(w, "the admin endpoints need the agent's admin token: Authorization: Bearer TOKEN (octoagent tap reads it from "+AdminTokenEnv+" or "+AdminTokenFileEnv+")\n", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// The environment variables that hold the admin token, or the file it is
// in. The token is never read from the config text.
const (
	AdminTokenEnv     = "OCTOAGENT_ADMIN_TOKEN"
	AdminTokenFileEnv = "OCTOAGENT_ADMIN_TOKEN_FILE"
)

// AdminTokenFrom returns an Options.AdminToken that reads the token from
// file (read again at each request, so a rotated Secret applies at once)
// or, with no file, from the environment variable AdminTokenEnv.
func AdminTokenFrom(file string) func() (Secret, error) {
	if file == "" {
		file = os.Getenv(AdminTokenFileEnv)
	}
	if file == "" {
		tok := Secret(strings.TrimSpace(os.Getenv(AdminTokenEnv)))
		return func() (Secret, error) { return tok, nil }
	}
	return func() (Secret, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("admin token file: %w", err)
		}
		tok := Secret(strings.TrimSpace(string(b)))
		if tok.IsZero() {
			return "", fmt.Errorf("admin token file %s is empty", file)
		}
		return tok, nil
	}
}

func (rt *Runtime) adminPaths() string {
	var paths []string
	for p := range rt.opt.AdminHandlers {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return strings.Join(paths, ",")
}

func (rt *Runtime) closeListeners() {
	for _, ln := range []net.Listener{rt.httpLn, rt.adminLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// handler is the HTTP server's: metrics, health, Options.Handlers, and the
// admin routes when they are served there.
func (rt *Runtime) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(rt.metrics.Registry, promhttp.HandlerOpts{Registry: rt.metrics.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		// Alive; and below, what components report (an unreadable file),
		// one line each: COMPONENT: SUBJECT: MESSAGE (since TIME).
		w.Write([]byte("ok\n"))
		for _, c := range rt.conditions.List() {
			fmt.Fprintf(w, "%s: %s: %s (since %s)\n", c.Component, c.Subject, c.Message, c.Since.UTC().Format(time.RFC3339))
		}
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !rt.ready.Load() {
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
		if why := rt.notReady(); why != "" {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	for pattern, h := range rt.opt.Handlers {
		mux.Handle(pattern, h)
	}
	if rt.adminOnHTTP {
		for pattern, h := range rt.opt.AdminHandlers {
			mux.Handle(pattern, rt.adminAuth(rt.httpLn.Addr(), h))
		}
	}
	return mux
}

// notReady lists the components that report themselves not ready (see
// ReadinessReporter), one a line; "" when none does.
func (rt *Runtime) notReady() string {
	var b strings.Builder
	for _, n := range rt.nodes {
		if r, ok := n.comp.(ReadinessReporter); ok {
			if err := r.Ready(); err != nil {
				b.WriteString(n.spec.ID + ": " + err.Error() + "\n")
			}
		}
	}
	return b.String()
}
