package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/configs"
	"github.com/octostore/agent/internal/playground"
)

// runPlayground serves the rule playground: octoagent playground [-c
// PATH...] [--addr 127.0.0.1:9599].
func runPlayground(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("octoagent playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfgPaths paths
	fs.Var(&cfgPaths, "c", "config file or directory whose schema and transform blocks the editor starts with (repeatable)")
	fs.Var(&cfgPaths, "config", "same as -c")
	def := playground.DefaultLimits()
	addr := fs.String("addr", "127.0.0.1:9599", "address to serve the page on (loopback by default: the page runs the programs it is given)")
	maxLines := fs.Int("max-lines", def.MaxLines, "most sample lines evaluated at once")
	maxBytes := fs.Int("max-bytes", def.MaxBytes, "most bytes of rules and lines in one request")
	timeout := fs.Duration("timeout", def.Timeout, "time limit of one evaluation (a jq or awk program that loops is stopped)")
	maxConc := fs.Int("max-concurrent", def.MaxConcurrent, "evaluations running at once; more are refused with 429")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "octoagent playground: unexpected argument %q; pass configs with -c PATH\n", fs.Arg(0))
		return 2
	}
	packs, err := playground.Packs(configs.FS)
	if err != nil {
		fmt.Fprintf(stderr, "octoagent playground: the shipped packs: %v\n", err)
		return 1
	}
	initial := "nginx"
	if len(cfgPaths) > 0 {
		files, diags := config.ExpandPaths(cfgPaths)
		var srcs []playground.File
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintf(stderr, "octoagent playground: %v\n", err)
				return 1
			}
			srcs = append(srcs, playground.File{Name: f, Data: b})
		}
		p, more := playground.BuildPack("-c "+strings.Join(cfgPaths, " -c "), srcs)
		diags = append(diags, more...)
		if diags.HasErrors() {
			config.WriteDiagnostics(stderr, nil, diags)
			return 1
		}
		packs = append([]*playground.Pack{p}, packs...)
		initial = p.Name
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "octoagent playground: %v; pick another with --addr\n", err)
		return 1
	}
	loopback := isLoopback(ln.Addr())
	srv := &http.Server{Handler: playground.New(playground.Options{Registry: components(), Packs: packs, Initial: initial, Loopback: loopback,
		Limits: playground.Limits{MaxBytes: *maxBytes, MaxLines: *maxLines, Timeout: *timeout, MaxConcurrent: *maxConc}}),
		ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "octoagent playground: http://%s/\n", ln.Addr())
	if !loopback {
		fmt.Fprintf(stderr, "octoagent playground: warning: %s is not a loopback address; whoever reaches it can run jq and awk programs here (bounded in time, with no file or process access)\n", ln.Addr())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "octoagent playground: %v\n", err)
		return 1
	}
	return 0
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}
