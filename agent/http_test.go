package agent_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

// idleSource emits nothing and waits for the end.
type idleSource struct{}

func (idleSource) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// serveAdmin runs an idle pipeline with the given addresses and one admin
// route, /admin, until the test ends.
func serveAdmin(t *testing.T, httpAddr, adminAddr string, opts ...func(*agent.Options)) *agent.Runtime {
	t.Helper()
	opt := agent.Options{AdminHandlers: map[string]http.Handler{
		"/admin": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "admin\n") }),
	}}
	for _, o := range opts {
		o(&opt)
	}
	return serveIdle(t, httpAddr, adminAddr, &funcSink{consume: func(_ context.Context, b agent.Batch) { agent.AckAll(b, agent.Delivered) }}, opt)
}

// serveIdle runs an idle source feeding sink, with the given addresses and
// options, until the test ends.
func serveIdle(t *testing.T, httpAddr, adminAddr string, sink agent.Sink, opt agent.Options) *agent.Runtime {
	t.Helper()
	g := graph(t,
		agent.NodeSpec{ID: "source.test.idle", Kind: agent.KindSource, Type: "test", Name: "idle",
			Factory: sourceFactory(func(agent.Settings) agent.Source { return idleSource{} })},
		agent.NodeSpec{ID: "sink.null.out", Kind: agent.KindSink, Type: "null", Name: "out", Inputs: []string{"source.test.idle"},
			Factory: sinkFactory("null", func(agent.Settings) agent.Sink { return sink })},
	)
	g.Agent.HTTPAddr, g.Agent.AdminAddr = httpAddr, adminAddr
	return serve(t, g, opt)
}

// serve runs g, its addresses bound, until the test ends.
func serve(t *testing.T, g agent.Graph, opt agent.Options) *agent.Runtime {
	t.Helper()
	rt, err := agent.New(g, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return rt
}

// get returns the status of GET http://addr/path, or the dial error.
func get(t *testing.T, addr, path string) (int, error) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func wantStatus(t *testing.T, addr, path string, want int) {
	t.Helper()
	code, err := get(t, addr, path)
	if err != nil || code != want {
		t.Errorf("GET %s%s: %d %v, want %d", addr, path, code, err, want)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// The admin routes follow agent.admin_addr: on the HTTP server when it is
// a loopback one (the default), nowhere when it is not, on their own
// listener when admin_addr names one, and never by accident on a network
// address.
func TestAdminAddr(t *testing.T) {
	t.Run("default on a loopback http_addr: shared", func(t *testing.T) {
		rt := serveAdmin(t, "127.0.0.1:0", "")
		if rt.AdminAddr() != rt.HTTPAddr() {
			t.Errorf("admin %q, http %q", rt.AdminAddr(), rt.HTTPAddr())
		}
		wantStatus(t, rt.HTTPAddr(), "/admin", 200)
		wantStatus(t, rt.HTTPAddr(), "/metrics", 200)
	})
	t.Run("default on a network http_addr: not served", func(t *testing.T) {
		rt := serveAdmin(t, "0.0.0.0:0", "")
		if rt.AdminAddr() != "" {
			t.Errorf("admin served on %q", rt.AdminAddr())
		}
		local := "127.0.0.1:" + port(rt.HTTPAddr())
		wantStatus(t, local, "/admin", 404)
		wantStatus(t, local, "/metrics", 200)
	})
	t.Run("own listener on localhost, metrics on the network", func(t *testing.T) {
		ip := agenttest.NonLoopbackIP(t)
		if ip == "" {
			t.Skip("no address to connect from the network")
		}
		rt := serveAdmin(t, "0.0.0.0:0", "127.0.0.1:0")
		if rt.AdminAddr() == rt.HTTPAddr() || !strings.HasPrefix(rt.AdminAddr(), "127.0.0.1:") {
			t.Fatalf("admin %q, http %q", rt.AdminAddr(), rt.HTTPAddr())
		}
		// From the network: metrics and health yes, admin no.
		remote := net.JoinHostPort(ip, port(rt.HTTPAddr()))
		wantStatus(t, remote, "/metrics", 200)
		wantStatus(t, remote, "/healthz", 200)
		wantStatus(t, remote, "/admin", 404)
		if _, err := get(t, net.JoinHostPort(ip, port(rt.AdminAddr())), "/admin"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("the admin port answered on %s: %v, want connection refused", ip, err)
		}
		// From localhost: admin yes, and only admin.
		wantStatus(t, rt.AdminAddr(), "/admin", 200)
		wantStatus(t, rt.AdminAddr(), "/metrics", 404)
	})
	t.Run("off", func(t *testing.T) {
		rt := serveAdmin(t, "127.0.0.1:0", agent.AdminOff)
		if rt.AdminAddr() != "" {
			t.Errorf("admin served on %q", rt.AdminAddr())
		}
		wantStatus(t, rt.HTTPAddr(), "/admin", 404)
	})
	t.Run("explicitly the http_addr", func(t *testing.T) {
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		rt := serveAdmin(t, addr, addr)
		if rt.AdminAddr() != rt.HTTPAddr() {
			t.Errorf("admin %q, http %q", rt.AdminAddr(), rt.HTTPAddr())
		}
		// A network address and no admin token: refused, with the way out.
		wantStatus(t, "127.0.0.1:"+port(addr), "/admin", http.StatusForbidden)
		wantStatus(t, "127.0.0.1:"+port(addr), "/metrics", 200)
	})
	t.Run("a taken admin_addr fails Listen", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		g := graph(t)
		g.Agent.HTTPAddr, g.Agent.AdminAddr = "127.0.0.1:0", ln.Addr().String()
		rt, err := agent.New(g, agent.Options{AdminHandlers: map[string]http.Handler{"/admin": http.NotFoundHandler()}})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Listen(); err == nil || !strings.Contains(err.Error(), "agent.admin_addr") {
			t.Errorf("Listen: %v, want an agent.admin_addr error", err)
		}
		if err := rt.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "agent.admin_addr") {
			t.Errorf("Run: %v, want an agent.admin_addr error", err)
		}
	})
}

// stuckSink reports itself not ready while stuck is set.
type stuckSink struct {
	funcSink
	stuck *atomic.Bool
}

func (s *stuckSink) Ready() error {
	if s.stuck.Load() {
		return errors.New("step parse.awk has run 3s on one record, past its budget of 100ms, and did not stop")
	}
	return nil
}

// /readyz answers 503 with the component and its reason while a component
// reports itself not ready (agent.ReadinessReporter), and 200 after.
func TestReadyzReportsStuckComponent(t *testing.T) {
	stuck := &atomic.Bool{}
	rt := serveIdle(t, "127.0.0.1:0", "", &stuckSink{funcSink: funcSink{consume: func(_ context.Context, b agent.Batch) { agent.AckAll(b, agent.Delivered) }}, stuck: stuck}, agent.Options{})
	body := func() (int, string) {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + rt.HTTPAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(time.Minute)
	for code, _ := body(); code != http.StatusOK; code, _ = body() {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stuck.Store(true)
	if code, b := body(); code != http.StatusServiceUnavailable || !strings.Contains(b, "sink.null.out: step parse.awk has run 3s") {
		t.Fatalf("stuck: %d %q", code, b)
	}
	stuck.Store(false)
	if code, b := body(); code != http.StatusOK {
		t.Fatalf("after: %d %q", code, b)
	}
}

// With an admin token (from a file, read at each request), the admin
// routes require it, on a network address and on localhost alike; metrics
// and health stay open.
func TestAdminToken(t *testing.T) {
	file := t.TempDir() + "/token"
	if err := os.WriteFile(file, []byte("s3cret-admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withToken := func(o *agent.Options) { o.AdminToken = agent.AdminTokenFrom(file) }
	do := func(addr, path, auth string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct{ name, http, admin string }{
		{"network, shared", "0.0.0.0:0", "http"},
		{"loopback, shared", "127.0.0.1:0", ""},
		{"network, own listener", "127.0.0.1:0", "0.0.0.0:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin := tc.admin
			if admin == "http" {
				ln, err := net.Listen("tcp", tc.http)
				if err != nil {
					t.Fatal(err)
				}
				admin = ln.Addr().String()
				ln.Close()
				tc.http = admin
			}
			rt := serveAdmin(t, tc.http, admin, withToken)
			a := "127.0.0.1:" + port(rt.AdminAddr())
			for auth, want := range map[string]int{
				"":                     http.StatusUnauthorized,
				"Bearer wrong":         http.StatusUnauthorized,
				"Basic s3cret-admin":   http.StatusUnauthorized,
				"Bearer s3cret-admin":  http.StatusOK,
				"Bearer s3cret-admin ": http.StatusOK,
			} {
				if got := do(a, "/admin", auth); got != want {
					t.Errorf("GET /admin with %q: %d, want %d", auth, got, want)
				}
			}
			h := "127.0.0.1:" + port(rt.HTTPAddr())
			if got := do(h, "/metrics", ""); got != 200 {
				t.Errorf("GET /metrics: %d", got)
			}
			if got := do(h, "/healthz", ""); got != 200 {
				t.Errorf("GET /healthz: %d", got)
			}
		})
	}
	t.Run("rotated", func(t *testing.T) {
		rt := serveAdmin(t, "127.0.0.1:0", "", withToken)
		os.WriteFile(file, []byte("rotated"), 0o600)
		if got := do(rt.AdminAddr(), "/admin", "Bearer s3cret-admin"); got != http.StatusUnauthorized {
			t.Errorf("the old token after rotation: %d", got)
		}
		if got := do(rt.AdminAddr(), "/admin", "Bearer rotated"); got != 200 {
			t.Errorf("the new token: %d", got)
		}
	})
}

// /healthz stays 200 ("ok") and lists what components report.
func TestHealthzConditions(t *testing.T) {
	g := graph(t,
		agent.NodeSpec{ID: "source.test.c", Kind: agent.KindSource, Type: "test", Name: "c",
			Factory: sourceFactory(func(set agent.Settings) agent.Source {
				if !set.Conditions.Set("/var/log/x.log", "skipped: permission denied") || set.Conditions.Set("/var/log/x.log", "skipped: permission denied") {
					t.Error("Set does not tell a change from a repeat")
				}
				set.Conditions.Set("/var/log/y.log", "skipped: is a directory")
				set.Conditions.Clear("/var/log/y.log")
				return idleSource{}
			})},
		agent.NodeSpec{ID: "sink.null.out", Kind: agent.KindSink, Type: "null", Name: "out", Inputs: []string{"source.test.c"},
			Factory: sinkFactory("null", func(agent.Settings) agent.Sink { return &funcSink{consume: func(context.Context, agent.Batch) {}} })},
	)
	g.Agent.HTTPAddr = "127.0.0.1:0"
	rt := serve(t, g, agent.Options{})
	resp, err := http.Get("http://" + rt.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if resp.StatusCode != 200 || len(lines) != 2 || lines[0] != "ok" ||
		!strings.HasPrefix(lines[1], "source.test.c: /var/log/x.log: skipped: permission denied (since ") {
		t.Errorf("GET /healthz: %d %q", resp.StatusCode, b)
	}
}
