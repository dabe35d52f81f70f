package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the agent and the Collector send gzip
	"google.golang.org/grpc/status"

	"github.com/octostore/agent/internal/otlp"
)

// The OTLP scenarios: OTLP in → rules → OTLP out (octoagent: source
// "otlp", the nginx rules, sink "otlp") against the OpenTelemetry
// Collector's otlp receiver → otlp exporter, on the same input, their runs
// interleaved (agent, Collector, agent, ...) so that both see the same
// machine load. This process plays both ends: it sends the generated
// lines, already encoded as OTLP export requests (the same bytes for both),
// over gRPC, and receives and counts what comes out on a gRPC OTLP
// endpoint of its own. Only the child's CPU (rusage) and peak RSS (VmHWM)
// are reported; a run ends when every record has come out.

const (
	otlpBatch   = 1000 // records per request, as an SDK's batch exporter sends
	otlpSenders = 4    // requests in flight
)

// otlpInput is the input, encoded once.
type otlpInput struct {
	requests [][]byte
	records  int
}

func loadOTLPInput(path string) (*otlpInput, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := &otlpInput{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	base := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	ld := plog.NewLogs()
	var recs plog.LogRecordSlice
	flush := func() error {
		if ld.LogRecordCount() == 0 {
			return nil
		}
		b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		if err != nil {
			return err
		}
		in.requests = append(in.requests, b)
		return nil
	}
	for sc.Scan() {
		if in.records%otlpBatch == 0 {
			if err := flush(); err != nil {
				return nil, err
			}
			ld = plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			ra := rl.Resource().Attributes()
			ra.PutStr("service.name", "nginx")
			ra.PutStr("host.name", "bench-node")
			ra.PutStr("k8s.namespace.name", "web")
			ra.PutStr("k8s.pod.name", fmt.Sprintf("nginx-7d9f8c6b5-%05d", in.records/otlpBatch%50))
			ra.PutStr("k8s.container.name", "nginx")
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver")
			recs = sl.LogRecords()
		}
		lr := recs.AppendEmpty()
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(in.records) * time.Microsecond)))
		lr.Body().SetStr(sc.Text())
		lr.Attributes().PutStr("log.file.name", "access.log")
		lr.Attributes().PutStr("log.iostream", "stdout")
		in.records++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return in, flush()
}

// otlpCounter is the receiving end: it counts the log records it is sent.
type otlpCounter struct {
	srv     *grpc.Server
	addr    string
	records atomic.Int64
	bytes   atomic.Int64 // the requests' protobuf bytes (uncompressed), to compare what each side sends
	dumped  atomic.Bool
}

func startOTLPCounter() (*otlpCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &otlpCounter{addr: ln.Addr().String()}
	c.srv = grpc.NewServer(grpc.ForceServerCodecV2(otlp.RawCodec{}), grpc.MaxRecvMsgSize(64<<20))
	c.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: otlp.ServiceName,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Export", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var f otlp.Frame
			if err := dec(&f); err != nil {
				return nil, err
			}
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalProto(f.B); err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
			c.records.Add(int64(req.Logs().LogRecordCount()))
			c.bytes.Add(int64(len(f.B)))
			if p := os.Getenv("BENCH_OTLP_DUMP"); p != "" && c.dumped.CompareAndSwap(false, true) {
				// The first request, as OTLP/JSON, to see what a side sends.
				if b, err := req.MarshalJSON(); err == nil {
					os.WriteFile(p, b, 0o644)
				}
			}
			return &otlp.Frame{}, nil
		}}},
	}, c)
	go c.srv.Serve(ln)
	return c, nil
}

// send sends every request to addr with otlpSenders in flight, retrying
// what is refused (RESOURCE_EXHAUSTED with its RetryInfo, UNAVAILABLE).
func (in *otlpInput) send(ctx context.Context, addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	next := make(chan []byte)
	go func() {
		defer close(next)
		for _, r := range in.requests {
			select {
			case next <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range otlpSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				for {
					var out otlp.Frame
					err := conn.Invoke(ctx, otlp.ExportMethod, &otlp.Frame{B: body}, &out, grpc.ForceCodecV2(otlp.RawCodec{}))
					if err == nil {
						break
					}
					st := status.Convert(err)
					if ctx.Err() != nil || (st.Code() != codes.ResourceExhausted && st.Code() != codes.Unavailable) {
						once.Do(func() { firstErr = err })
						return
					}
					d, ok := otlp.RetryDelay(st)
					if !ok {
						d = 100 * time.Millisecond
					}
					time.Sleep(d)
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// runOTLP runs one process of an OTLP scenario: it starts it, waits for
// its gRPC port, sends the input, waits until every record came out, and
// stops it with SIGTERM.
func runOTLP(sc scenario, bin, otelcol, work string, in *otlpInput) (run, string, error) {
	dir, err := os.MkdirTemp(work, "run-")
	if err != nil {
		return run{}, "", err
	}
	defer os.RemoveAll(dir)
	counter, err := startOTLPCounter()
	if err != nil {
		return run{}, "", err
	}
	defer counter.srv.Stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return run{}, "", err
	}
	inAddr := ln.Addr().String()
	ln.Close()
	var cmd *exec.Cmd
	switch sc.Program {
	case "octoagent":
		args := []string{"run", "--data-dir", dir, "--http-addr", "off", "--log-level", "warn"}
		if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
			// A CPU profile of the (last) run, to see where the time goes.
			args = append(args, "--cpuprofile", p)
		}
		for _, c := range sc.Configs {
			args = append(args, "-c", c)
		}
		cmd = exec.Command(bin, args...)
	case "otelcol":
		if _, err := os.Stat(otelcol); err != nil {
			return run{}, "the OpenTelemetry Collector is not built (make bench-peers builds it)", nil
		}
		cmd = exec.Command(otelcol, "--config", sc.Configs[0])
	}
	cmd.Env = append(os.Environ(), "BENCH_OTLP_IN="+inAddr, "BENCH_OTLP_OUT="+counter.addr)
	var stderr syncBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return run{}, "", err
	}
	hwm := watchHWM(cmd.Process.Pid)
	stop := func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }
	// Wait for the gRPC port.
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", inAddr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			return run{}, "", fmt.Errorf("%s did not listen on %s within a minute: %s", sc.Program, inAddr, tail(stderr.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := in.send(ctx, inAddr); err != nil {
		stop()
		return run{}, "", fmt.Errorf("sending to %s: %v: %s", sc.Program, err, tail(stderr.String()))
	}
	for counter.records.Load() < int64(in.records) {
		if ctx.Err() != nil {
			stop()
			return run{}, "", fmt.Errorf("%s passed on %d of %d records in 10 minutes: %s", sc.Program, counter.records.Load(), in.records, tail(stderr.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	wall := time.Since(start)
	stop()
	if got := counter.records.Load(); got != int64(in.records) {
		return run{}, "", fmt.Errorf("%s passed on %d records, want %d", sc.Program, got, in.records)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return run{wall: wall, cpu: cpu, rssKiB: peakRSS(ru.Maxrss, hwm()), outBytes: counter.bytes.Load()}, "", nil
}

// syncBuf is a bytes buffer the child's stderr copier writes to while the
// bench may read it.
type syncBuf struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// runOTLPScenarios runs the selected OTLP scenarios, their runs
// interleaved, and returns their results.
func runOTLPScenarios(scs []scenario, runs int, bin, otelcol, input, work, rev, machine string) []Result {
	if len(scs) == 0 {
		return nil
	}
	in, err := loadOTLPInput(input)
	must(err)
	fmt.Fprintf(os.Stderr, "OTLP input: %d records in %d requests of %d\n", in.records, len(in.requests), otlpBatch)
	res := make([]Result, len(scs))
	rs := make([][]run, len(scs))
	for i, sc := range scs {
		res[i] = Result{Time: time.Now().UTC(), Rev: rev, Machine: machine, Scenario: sc.Name, Program: sc.Program, Lines: in.records, Runs: runs}
	}
	for r := 0; r < runs; r++ {
		for i, sc := range scs {
			if res[i].Skipped != "" {
				continue
			}
			out, skip, err := runOTLP(sc, bin, otelcol, work, in)
			if skip != "" {
				res[i].Skipped = skip
				continue
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", sc.Name, err)
				exit(1)
			}
			rs[i] = append(rs[i], out)
			fmt.Fprintf(os.Stderr, "%-20s run %d: wall %.2fs cpu %.2fs rss %.1f MiB, %.0f bytes/record out\n", sc.Name, r+1, out.wall.Seconds(), out.cpu.Seconds(), float64(out.rssKiB)/1024, float64(out.outBytes)/float64(in.records))
		}
	}
	for i := range scs {
		summarize(&res[i], rs[i])
	}
	return res
}
