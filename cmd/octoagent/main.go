// Command octoagent collects metadata: it reads logs and events, turns them
// into typed records with HCL rules, and forwards them to Octostore.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/diskbuffer"
	"github.com/octostore/agent/agent/ruletest"
	"github.com/octostore/agent/internal/residency"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `octoagent: collects metadata from logs, events and topics, and forwards it to Octostore.

Usage:
  octoagent run      -c PATH... [--once] [--data-dir DIR] [--http-addr ADDR|off] [--admin-addr ADDR|off] [--admin-token-file FILE]
                     [--log-level LEVEL] [--log-format text|json] [--cpuprofile FILE] [--memprofile FILE]
  octoagent validate -c PATH... [--offline]
                     (refuses what run would refuse at start; --offline skips the
                     checks of this machine: data_dir, files to write, TLS files)
  octoagent test     -c PATH...     (runs the test blocks written beside the rules)
  octoagent tap      COMPONENT [--addr HOST:PORT] [--sample N] [--limit N] [--admin-token-file FILE]
                     (prints the records a running agent's component hands on;
                     --addr defaults to $OCTOAGENT_ADMIN_ADDR, else 127.0.0.1:9598)
  octoagent diff     [-c PATH...] [--json] [--all] [--ignore PATH] A B
                     (compares two records: files of one record, or ids read from standard input)
  octoagent playground [-c PATH...] [--addr 127.0.0.1:9599] [--timeout 3s] [--max-lines N]
                     [--max-bytes N] [--max-concurrent N]
                     (a page to try rules on pasted lines: records, dead letters, each step's work)
  octoagent replay   -c PATH... [FILE|-] [--kafka-brokers ADDRS --kafka-topic TOPIC [--kafka-group G]] [--from SOURCE]
                     [--transform NAME] [--dry-run] [--json] [--data-dir DIR]
                     (runs dead letters again through today's rules; the records get the ids
                     they would have had; octoagent replay -h says more)
  octoagent version

A running agent reloads its config on SIGHUP and POST /-/reload. GET /tap
and POST /-/reload are served on agent.admin_addr: by default on the HTTP
server when agent.http_addr is a loopback address, and nowhere otherwise.
On a non-loopback address they require the admin token (Authorization:
Bearer TOKEN), from $OCTOAGENT_ADMIN_TOKEN_FILE (--admin-token-file) or
$OCTOAGENT_ADMIN_TOKEN; with a token set, they require it everywhere.

PATH is an HCL file or a directory of *.hcl files; several merge into one config.
`

type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(v string) error { *p = append(*p, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		residency.Stop() // the start-up watcher serves octoagent run only
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "octoagent %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "tap":
		return runTap(args[1:], stdout, stderr)
	case "diff":
		return runDiff(args[1:], os.Stdin, stdout, stderr)
	case "playground":
		return runPlayground(args[1:], stdout, stderr)
	case "replay":
		return runReplay(args[1:], os.Stdin, stdout, stderr)
	case "run", "validate", "test":
	default:
		fmt.Fprintf(stderr, "octoagent: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("octoagent "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfgPaths paths
	fs.Var(&cfgPaths, "c", "config file or directory (repeatable)")
	fs.Var(&cfgPaths, "config", "same as -c")
	once := fs.Bool("once", false, "stop when every source reaches the end of its input and everything read is acknowledged")
	dataDir := fs.String("data-dir", "", "override agent.data_dir")
	httpAddr := fs.String("http-addr", "", "override agent.http_addr (\"off\" disables the HTTP server)")
	adminAddr := fs.String("admin-addr", "", "override agent.admin_addr, where /tap and /-/reload are served (\"off\": nowhere)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the run to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile (pprof: live objects, and everything allocated) to this file when the run ends")
	adminTokenFile := fs.String("admin-token-file", "", "file holding the token /tap and /-/reload require (default $"+agent.AdminTokenFileEnv+", else the token in $"+agent.AdminTokenEnv+"); required when they are served on a non-loopback address")
	offline := fs.Bool("offline", false, "validate: skip the checks of this machine (data_dir, files to write, TLS files), for a config that will run elsewhere")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if len(cfgPaths) == 0 {
		fmt.Fprintf(stderr, "octoagent %s: no config given; pass -c PATH (a file or a directory)\n", cmd)
		return 2
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "octoagent: %v\n", err)
		return 2
	}

	overrides := func(g *agent.Graph) {
		if *dataDir != "" {
			g.Agent.DataDir = *dataDir
		}
		switch *httpAddr {
		case "":
		case "off":
			g.Agent.HTTPAddr = ""
		default:
			g.Agent.HTTPAddr = *httpAddr
		}
		if *adminAddr != "" {
			g.Agent.AdminAddr = *adminAddr
		}
	}

	if cmd == "run" {
		dropBinaryPages()
	}
	res, diags := config.Load(cfgPaths, components())
	if cmd == "test" {
		diags = config.WithoutUnused(diags) // a rule pack tested alone has no sinks
	}
	g := res.Graph
	overrides(&g)
	if !diags.HasErrors() && cmd != "test" {
		// The checks run makes before it starts: validate makes them too.
		diags = append(diags, config.Preflight(res, g, cmd == "run" || !*offline)...)
	}
	if n := reportDiagnostics(stderr, res, diags); n > 0 {
		fmt.Fprintf(stderr, "octoagent: config has %d error(s)\n", n)
		return 1
	}
	if cmd == "validate" {
		fmt.Fprintln(stdout, config.Summary(res.Graph))
		return 0
	}
	if cmd == "test" {
		return runTests(res, stdout, stderr)
	}
	// The supervisor reloads the config on SIGHUP and POST /-/reload
	// (reload.go) and serves GET /tap (tap.go).
	sv := newSupervisor(cfgPaths, overrides, agent.Options{Logger: log, Once: *once, Buffers: map[string]agent.BufferFactory{"disk": diskbuffer.New},
		AdminToken: agent.AdminTokenFrom(*adminTokenFile)})
	rt, err := sv.build(g)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}

	// A closed standard output (| head) makes writes fail with EPIPE, which
	// the stdout sink counts as failed records, instead of killing the
	// process before it can save its checkpoints.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		// A second signal while draining exits at once.
		again := make(chan os.Signal, 1)
		signal.Notify(again, syscall.SIGTERM, syscall.SIGINT)
		<-again
		log.Warn("second signal: exiting without draining")
		os.Exit(130)
	}()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Error("cannot write the CPU profile", "error", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Error("cannot start the CPU profile", "error", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = heapProfileRate
		defer func() {
			f, err := os.Create(*memProfile)
			if err != nil {
				log.Error("cannot write the heap profile", "error", err)
				return
			}
			defer f.Close()
			runtime.GC() // the live objects as of now
			if err := pprof.WriteHeapProfile(f); err != nil {
				log.Error("cannot write the heap profile", "error", err)
			}
		}()
	}
	adaptHeapLimit()
	log.Info("octoagent starting", "version", version, "once", *once, "data_dir", g.Agent.DataDir, "components", len(g.Nodes))
	if err := sv.run(ctx, g, rt); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", "error", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

// runTests runs the config's test blocks and ends with the line
// "N passed, N failed".
func runTests(res *config.Result, stdout, stderr io.Writer) int {
	if len(res.Tests) == 0 {
		fmt.Fprintln(stderr, "octoagent test: the config has no test blocks; write test \"NAME\" { transform = transform.X  input = \"...\"  expect { ... } }")
		return 1
	}
	rep, diags := ruletest.Run(res, stdout)
	if len(diags) > 0 {
		config.WriteDiagnostics(stderr, res.Files, diags)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	if rep.Failed > 0 || diags.HasErrors() {
		return 1
	}
	return 0
}
