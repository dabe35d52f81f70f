package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/octostore/agent/agent"
)

// The tap: GET /tap?component=ID[&sample=N][&limit=N] streams, as JSON
// lines (the wire form of docs/record.md), the records the component hands
// on from now on: every Nth (sample, default 1), and at most limit (default
// 0, no limit) before the response ends. ID is a component id
// (transform.nginx_access) or one of its outputs
// (transform.nginx_access.dead_letter). A slow reader never slows the
// pipeline: records it cannot take are skipped and counted, and the count
// is written as a final {"tap_dropped":N} line. The tap survives reloads.
//
// `octoagent tap COMPONENT` is its client.

type tapHub struct {
	active atomic.Int32 // len(subs): emit costs one atomic load when nobody taps
	mu     sync.Mutex
	subs   map[*tapSub]struct{}
	known  []string // the running config's component ids, sorted
}

type tapSub struct {
	component, port string
	sample, limit   int
	seen, sent      int
	dropped         int
	ch              chan []byte
	full            chan struct{} // closed when limit is reached
	closed          bool
}

func newTapHub() *tapHub { return &tapHub{subs: map[*tapSub]struct{}{}} }

func (h *tapHub) attach(rt *agent.Runtime) {
	ids := rt.ComponentIDs()
	slices.Sort(ids)
	h.mu.Lock()
	h.known = ids
	h.mu.Unlock()
	rt.SetTap(h.emit)
}

// knows reports whether the running config has the component id, and
// returns the ids it has.
func (h *tapHub) knows(id string) (bool, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, found := slices.BinarySearch(h.known, id)
	return found, h.known
}

func (h *tapHub) emit(component, port string, b agent.Batch) {
	if h.active.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	for s := range h.subs {
		if s.closed || s.component != component || s.port != port {
			continue
		}
		for i := range b {
			s.seen++
			if (s.seen-1)%s.sample != 0 {
				continue
			}
			// A copy: the ID is computed on it, not on the record that
			// goes on (a transform downstream still sets its origin).
			r := b[i]
			line := agent.AppendJSON(nil, &r)
			line = append(line, '\n')
			select {
			case s.ch <- line:
				s.sent++
			default:
				s.dropped++
			}
			if s.limit > 0 && s.sent >= s.limit {
				s.closed = true
				close(s.full)
				break
			}
		}
	}
}

func (h *tapHub) subscribe(component, port string, sample, limit int) *tapSub {
	s := &tapSub{component: component, port: port, sample: sample, limit: limit, ch: make(chan []byte, 1024), full: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.active.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s
}

func (h *tapHub) unsubscribe(s *tapSub) (dropped int) {
	h.mu.Lock()
	delete(h.subs, s)
	h.active.Store(int32(len(h.subs)))
	dropped = s.dropped
	h.mu.Unlock()
	return dropped
}

func (h *tapHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("component")
	if id == "" {
		http.Error(w, "component=ID is required (e.g. transform.nginx_access or transform.nginx_access.dead_letter)\n", http.StatusBadRequest)
		return
	}
	sample, limit := 1, 0
	var err error
	if v := q.Get("sample"); v != "" {
		if sample, err = strconv.Atoi(v); err != nil || sample < 1 {
			http.Error(w, "sample must be an integer >= 1\n", http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			http.Error(w, "limit must be an integer >= 0\n", http.StatusBadRequest)
			return
		}
	}
	comp, port := id, ""
	if c, ok := strings.CutSuffix(id, "."+agent.DeadLetterPort); ok {
		comp, port = c, agent.DeadLetterPort
	}
	if ok, known := h.knows(comp); !ok {
		http.Error(w, fmt.Sprintf("unknown component %q; the running config has: %s (add .%s for a component's dead letters)\n",
			id, strings.Join(known, ", "), agent.DeadLetterPort), http.StatusNotFound)
		return
	}
	s := h.subscribe(comp, port, sample, limit)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	flushTick := time.NewTicker(200 * time.Millisecond)
	defer flushTick.Stop()
	write := func(line []byte) bool {
		_, err := w.Write(line)
		return err == nil
	}
	finish := func() {
		if d := h.unsubscribe(s); d > 0 {
			fmt.Fprintf(w, "{\"tap_dropped\":%d}\n", d)
		}
	}
	for {
		select {
		case line := <-s.ch:
			if !write(line) {
				h.unsubscribe(s)
				return
			}
		case <-s.full:
			for { // what is still buffered, then the end
				select {
				case line := <-s.ch:
					if !write(line) {
						h.unsubscribe(s)
						return
					}
					continue
				default:
				}
				break
			}
			finish()
			return
		case <-flushTick.C:
			if fl != nil {
				fl.Flush()
			}
		case <-r.Context().Done():
			h.unsubscribe(s)
			return
		}
	}
}

// adminAddrEnv names the admin address for `octoagent tap`, so that
// `kubectl exec POD -- octoagent tap X` finds the agent of the pod: the Helm
// chart sets it in the container's environment, which kubectl exec inherits.
const adminAddrEnv = "OCTOAGENT_ADMIN_ADDR"

func defaultTapAddr() string {
	if a := os.Getenv(adminAddrEnv); a != "" {
		return a
	}
	return "127.0.0.1:9598"
}

// runTap is `octoagent tap COMPONENT`: it prints the records the component
// of a running agent hands on, from its HTTP server.
func runTap(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("octoagent tap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultTapAddr(), "where the agent serves /tap: its agent.admin_addr (default $"+adminAddrEnv+", else 127.0.0.1:9598)")
	sample := fs.Int("sample", 1, "print every Nth record")
	limit := fs.Int("limit", 0, "stop after N records (0: until interrupted)")
	tokenFile := fs.String("admin-token-file", "", "file holding the agent's admin token (default $"+agent.AdminTokenFileEnv+", else $"+agent.AdminTokenEnv+")")
	// COMPONENT may come before or after the flags.
	var comp string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		comp, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if comp == "" && fs.NArg() > 0 {
		comp = fs.Arg(0)
	}
	if comp == "" {
		fmt.Fprintln(stderr, "usage: octoagent tap COMPONENT [--addr HOST:PORT] [--sample N] [--limit N]\n  COMPONENT: a component id (transform.nginx_access) or an output (transform.nginx_access.dead_letter)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	u := "http://" + *addr + "/tap?" + url.Values{"component": {comp}, "sample": {strconv.Itoa(*sample)}, "limit": {strconv.Itoa(*limit)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		fmt.Fprintf(stderr, "octoagent tap: %v\n", err)
		return 2
	}
	tok, err := agent.AdminTokenFrom(*tokenFile)()
	if err != nil {
		fmt.Fprintf(stderr, "octoagent tap: %v\n", err)
		return 2
	}
	if !tok.IsZero() {
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "octoagent tap: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		fmt.Fprintf(stderr, "octoagent tap: %s: %s", resp.Status, b)
		return 1
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
		out.Flush()
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "octoagent tap: %v\n", err)
		return 1
	}
	return 0
}
