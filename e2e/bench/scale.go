package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/kafkatest"
)

// The scale scenarios (issue 23, item 6): the nginx pack on inputs of
// 10k to 10M lines (lines_*), on one input split into 1 to 1,000 files
// tailed at once (files_*), Kafka topic → the pack → Kafka topic on an
// in-process broker (kafka_rules), and the octostore sink against a no-op
// receiver (nginx_octostore_noop) beside the real test store
// (nginx_octostore).

// inputFile returns the generated nginx log of n lines in work, generating
// it the first time (e2e/gen, seed 1: the first n lines of every size are
// the same lines).
func inputFile(work string, n int) (string, error) {
	p, err := filepath.Abs(filepath.Join(work, fmt.Sprintf("nginx-%d.log", n)))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	fmt.Fprintf(os.Stderr, "generating %d lines into %s\n", n, p)
	f, err := os.Create(p + ".tmp")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "run", "./e2e/gen", "-n", fmt.Sprint(n), "-seed", "1")
	cmd.Stdout, cmd.Stderr = f, os.Stderr
	if err := cmd.Run(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return p, os.Rename(p+".tmp", p)
}

// splitInput splits input into n files (consecutive runs of lines, as
// even as the line count allows) in a directory of work, made once, and
// returns the glob that matches them.
func splitInput(input, work string, n int) (string, error) {
	dir, err := filepath.Abs(filepath.Join(work, strings.TrimSuffix(filepath.Base(input), ".log")+fmt.Sprintf("-files-%d", n)))
	if err != nil {
		return "", err
	}
	glob := filepath.Join(dir, "*.log")
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return glob, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	total := countLines(input)
	in, err := os.Open(input)
	if err != nil {
		return "", err
	}
	defer in.Close()
	r := bufio.NewReaderSize(in, 1<<20)
	for i := 0; i < n; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%05d.log", i)))
		if err != nil {
			return "", err
		}
		w := bufio.NewWriterSize(f, 1<<16)
		for k := total * i / n; k < total*(i+1)/n; k++ {
			line, err := r.ReadSlice('\n')
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				f.Close()
				return "", fmt.Errorf("split %s: %w", input, err)
			}
			w.Write(line)
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
	}
	return glob, os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
}

// ingestStore is where the octostore scenarios post: the test store on
// PostgreSQL (benchStore) or the no-op receiver (noopStore).
type ingestStore interface {
	url() string
	bearer() string
	// Reset empties the store before a run.
	Reset() error
	// Check fails unless the store holds one record per line that was not
	// dead-lettered, each delivered once, and nothing was rejected.
	Check(lines, deadLetters, rejected int) error
	Stop()
}

// checkDelivered is the check of every ingestStore: records held and
// deliveries received, against the input's lines and the run's dead
// letters and rejects. firstDead is the first run's dead-letter count
// (-1 before it): the input is the same for every run, so every run must
// dead-letter as many lines.
func checkDelivered(records, deliveries int64, lines, deadLetters, rejected int, firstDead *int) error {
	switch {
	case rejected != 0:
		return fmt.Errorf("the store rejected %d records", rejected)
	case deadLetters > lines/100:
		// e2e/gen writes about 0.1% malformed lines: far more dead letters
		// means the rules are broken.
		return fmt.Errorf("%d of %d lines were dead-lettered (more than 1%%)", deadLetters, lines)
	case *firstDead >= 0 && deadLetters != *firstDead:
		return fmt.Errorf("%d lines were dead-lettered, %d in the first run of the same input", deadLetters, *firstDead)
	case records != int64(lines-deadLetters):
		return fmt.Errorf("the store holds %d records, want %d (%d lines - %d dead letters)", records, lines-deadLetters, lines, deadLetters)
	case deliveries != records:
		return fmt.Errorf("the store received %d duplicate deliveries", deliveries-records)
	}
	*firstDead = deadLetters
	fmt.Fprintf(os.Stderr, "  the store holds %d records; %d dead letters\n", records, deadLetters)
	return nil
}

// noopStore answers POST /v1/records with the ingest API's success shape
// ({"results":[{"id":…,"status":"accepted"},…]}, every record accepted,
// in the batch's order) and keeps only the ids it saw, to check the run:
// the agent's cost of the octostore sink without the store's.
type noopStore struct {
	URL        string
	token      string
	http       *http.Server
	mu         sync.Mutex
	ids        map[string]struct{}
	deliveries int64
	firstDead  int
}

func startNoopStore() (*noopStore, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &noopStore{URL: "http://" + ln.Addr().String(), token: "bench-token-not-a-secret", ids: map[string]struct{}{}, firstDead: -1}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/records", s.ingest)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bench: no-op store:", err)
		}
	}()
	return s, nil
}

func (s *noopStore) url() string    { return s.URL }
func (s *noopStore) bearer() string { return s.token }

func (s *noopStore) ingest(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		Records []struct {
			ID string `json:"id"`
		} `json:"records"`
	}
	body, err := store.IngestBody(r.Body, r.Header.Get("Content-Encoding"))
	if err == nil {
		err = json.NewDecoder(body).Decode(&req)
	}
	if err != nil {
		http.Error(w, `{"error":"not an ingest request"}`, http.StatusBadRequest)
		return
	}
	var out bytes.Buffer
	out.WriteString(`{"results":[`)
	s.mu.Lock()
	for i, rec := range req.Records {
		if i > 0 {
			out.WriteByte(',')
		}
		id, _ := json.Marshal(rec.ID)
		fmt.Fprintf(&out, `{"id":%s,"status":"accepted"}`, id)
		s.ids[rec.ID] = struct{}{}
	}
	s.deliveries += int64(len(req.Records))
	s.mu.Unlock()
	out.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	w.Write(out.Bytes())
}

func (s *noopStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = map[string]struct{}{}
	s.deliveries = 0
	return nil
}

func (s *noopStore) Check(lines, deadLetters, rejected int) error {
	s.mu.Lock()
	records, deliveries := int64(len(s.ids)), s.deliveries
	s.mu.Unlock()
	return checkDelivered(records, deliveries, lines, deadLetters, rejected, &s.firstDead)
}

func (s *noopStore) Stop() { s.http.Close() }

// benchKafka is a one-node Kafka-protocol broker (franz-go's kfake) in
// this process, with the input produced once to the topic "nginx"; each
// run reads it as a new consumer group and writes to a topic of its own,
// deleted after the run (kfake keeps everything in memory). Its CPU is
// this process's: the figures count only the octoagent child's, but both
// share the 2 cores.
type benchKafka struct {
	cluster    *kfake.Cluster
	addr       string
	partitions int
	runs       int
	rules      string // configs/nginx/rules.hcl reading source.kafka.nginx
}

// kafkaPartitions is the partition count of the kafka_rules topics
// (-kafka-partitions).
var kafkaPartitions = 4

func startKafka(input, work string) (*benchKafka, error) {
	if kafkaPartitions < 1 {
		return nil, fmt.Errorf("-kafka-partitions must be at least 1, got %d", kafkaPartitions)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(int32(kafkaPartitions), "nginx"))
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	k := &benchKafka{cluster: c, addr: fmt.Sprintf("127.0.0.1:%d", port), partitions: kafkaPartitions}
	atExit(c.Close)
	// The nginx pack's own rules, reading the Kafka source instead of the
	// file source: one definition of the rule for every scenario.
	rules, err := os.ReadFile("configs/nginx/rules.hcl")
	if err != nil {
		return nil, err
	}
	fromKafka := strings.Replace(string(rules), "source.file.nginx", "source.kafka.nginx", 1)
	if fromKafka == string(rules) {
		return nil, fmt.Errorf("configs/nginx/rules.hcl no longer reads source.file.nginx: update e2e/bench/scale.go")
	}
	if k.rules, err = filepath.Abs(filepath.Join(work, "nginx-rules-kafka.hcl")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.rules, []byte(fromKafka), 0o644); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(input)
	if err != nil {
		return nil, err
	}
	var msgs []kafkatest.Msg
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		msgs = append(msgs, kafkatest.Msg{Partition: int32(i % kafkaPartitions), Value: line})
	}
	start := time.Now()
	if err := kafkatest.ProduceErr(k.addr, "nginx", msgs); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "kfake broker on %s: %d messages produced to nginx (%d partitions) in %.1fs\n", k.addr, len(msgs), kafkaPartitions, time.Since(start).Seconds())
	return k, nil
}

// next makes the next run's output topic and returns the run's group and
// topic.
func (k *benchKafka) next() (group, topic string, err error) {
	k.runs++
	group, topic = fmt.Sprintf("bench-%d", k.runs), fmt.Sprintf("nginx-out-%d", k.runs)
	cl := &kafkago.Client{Addr: kafkago.TCP(k.addr), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{Topic: topic, NumPartitions: k.partitions, ReplicationFactor: 1}}})
	if err != nil {
		return "", "", err
	}
	return group, topic, resp.Errors[topic]
}

// count returns how many messages topic holds (the sum of its partitions'
// high watermarks).
func (k *benchKafka) count(topic string) (int64, error) {
	cl := &kafkago.Client{Addr: kafkago.TCP(k.addr), Timeout: 10 * time.Second}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for p := 0; p < k.partitions; p++ {
		req.Topics[topic] = append(req.Topics[topic], kafkago.LastOffsetOf(p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lo, err := cl.ListOffsets(ctx, req)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, po := range lo.Topics[topic] {
		if po.Error != nil {
			return 0, po.Error
		}
		n += po.LastOffset
	}
	return n, nil
}

// drop deletes a run's output topic.
func (k *benchKafka) drop(topic string) error {
	cl := &kafkago.Client{Addr: kafkago.TCP(k.addr), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: []string{topic}})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}

// watchTopic polls the topic's message count until stop is called, and
// returns when the first message appeared (zero if none did).
func (k *benchKafka) watchTopic(topic string) (stop func() time.Time) {
	done := make(chan struct{})
	var first time.Time
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if n, err := k.count(topic); err == nil && n > 0 {
				first = time.Now()
				return
			}
		}
	}()
	return func() time.Time {
		close(done)
		wg.Wait()
		return first
	}
}

// printScale prints the scale curves and their targets: CPU per line by
// input size (flat within 10%), by number of files (with RSS and the open
// descriptors against max_open_files), Kafka → rules → Kafka (≥ 300,000
// records/s), and the octostore sink against the no-op receiver and the
// test store.
func printScale(w io.Writer, byName map[string]Result) {
	ok := func(name string) (Result, bool) {
		r, found := byName[name]
		return r, found && r.Skipped == "" && r.Runs > 0
	}
	verdict := func(met bool) string {
		if met {
			return "met"
		}
		return "NOT met"
	}
	// Lines: the fixed cost of a start (lines_0: an empty file) is taken
	// out of the "net" column, which is what a long-running agent pays.
	var curve []Result
	for _, r := range byName {
		if strings.HasPrefix(r.Scenario, "lines_") && r.Skipped == "" && r.Runs > 0 && r.Lines > 0 {
			curve = append(curve, r)
		}
	}
	slices.SortFunc(curve, func(a, b Result) int { return a.Lines - b.Lines })
	if len(curve) > 0 {
		fixed, fixedUser := 0.0, 0.0
		if r, found := ok("lines_0"); found {
			fixed, fixedUser = r.CPUSec, r.UserSec
		}
		fmt.Fprintf(w, "\nScale: the nginx pack by input size (fixed cost of a start on an empty file: %.3f s CPU)\n\n| lines | runs | CPU µs/line | net of the start, µs/line | marginal µs/line | user CPU net of the start, µs/line | lines/s | peak RSS MiB |\n|---|---|---|---|---|---|---|---|\n", fixed)
		lo, hi := math.Inf(1), math.Inf(-1)
		nlo, nhi := math.Inf(1), math.Inf(-1)
		mlo, mhi := math.Inf(1), math.Inf(-1)
		for i, r := range curve {
			net := max(r.CPUSec-fixed, 0) * 1e6 / float64(r.Lines)
			// The marginal cost: the CPU of the lines this size adds to
			// the one before, so that what a start and the first batches
			// cost once (the heap and thread pool growing, code first
			// run) cancels out. It is what a line costs a running agent.
			marginal := "–"
			if i > 0 {
				m := max(r.CPUSec-curve[i-1].CPUSec, 0) * 1e6 / float64(r.Lines-curve[i-1].Lines)
				marginal = fmt.Sprintf("%.2f", m)
				mlo, mhi = min(mlo, m), max(mhi, m)
			}
			fmt.Fprintf(w, "| %d | %d | %.2f | %.2f | %s | %.2f | %.0f | %.1f |\n", r.Lines, r.Runs, r.CPUUsLine, net, marginal, max(r.UserSec-fixedUser, 0)*1e6/float64(r.Lines), r.LinesPerSec, r.PeakRSSMiB)
			lo, hi = min(lo, r.CPUUsLine), max(hi, r.CPUUsLine)
			nlo, nhi = min(nlo, net), max(nhi, net)
		}
		fmt.Fprintf(w, "\n- target CPU per line flat within 10%% from %d to %d lines: spread %.1f%% (%.2f to %.2f µs), %s; net of the start: %.1f%% (%.2f to %.2f µs), %s\n",
			curve[0].Lines, curve[len(curve)-1].Lines, (hi/lo-1)*100, lo, hi, verdict(hi <= lo*1.1), (nhi/nlo-1)*100, nlo, nhi, verdict(nhi <= nlo*1.1))
		// The kernel's part grows on this VM where a run writes more than
		// the memory freed just before it: a page the host has not backed
		// yet costs several times one it has (dd of 4.5 GB: 0.87 s of
		// system time right after 4.5 GB were freed, 3.0-3.6 s after 20 s
		// idle), so the user part is given alone too.
		ulo, uhi := math.Inf(1), math.Inf(-1)
		for _, r := range curve {
			if r.UserSec > 0 {
				u := max(r.UserSec-fixedUser, 0) * 1e6 / float64(r.Lines)
				ulo, uhi = min(ulo, u), max(uhi, u)
			}
		}
		if uhi > 0 {
			fmt.Fprintf(w, "- user CPU per line net of the start from %d to %d lines: spread %.1f%% (%.2f to %.2f µs), %s\n",
				curve[0].Lines, curve[len(curve)-1].Lines, (uhi/ulo-1)*100, ulo, uhi, verdict(uhi <= ulo*1.1))
		}
		if len(curve) > 2 {
			fmt.Fprintf(w, "- marginal CPU per line from %d to %d lines: spread %.1f%% (%.2f to %.2f µs), %s\n",
				curve[0].Lines, curve[len(curve)-1].Lines, (mhi/mlo-1)*100, mlo, mhi, verdict(mhi <= mlo*1.1))
		}
	}
	// Files.
	var files []Result
	for _, r := range byName {
		if r.Files > 0 && r.Skipped == "" && r.Runs > 0 {
			files = append(files, r)
		}
	}
	slices.SortFunc(files, func(a, b Result) int { return a.Files - b.Files })
	if len(files) > 0 {
		fmt.Fprintf(w, "\nScale: the nginx pack on %d lines split into files tailed at once (max_open_files = %d)\n\n| files | CPU µs/line | lines/s | peak RSS MiB | peak open fds | of them on input files |\n|---|---|---|---|---|---|\n", files[0].Lines, maxOpenFiles)
		for _, r := range files {
			fmt.Fprintf(w, "| %d | %.2f | %.0f | %.1f | %.0f | %.0f |\n", r.Files, r.CPUUsLine, r.LinesPerSec, r.PeakRSSMiB, r.PeakFDs, r.PeakInputFDs)
		}
		// The process's own descriptors (runtime, output, data dir,
		// checkpoints) are those of the 1-file run less its one input;
		// some are open only for a moment (a directory read for the glob,
		// a checkpoint written), which a poll catches in some runs.
		base := files[0].PeakFDs - 1
		last := files[len(files)-1]
		fmt.Fprintf(w, "\n- target open fds bounded by max_open_files: %.0f open on input files at %d files (max_open_files %d), %s; %.0f in all, against %d + the %.0f the process holds besides inputs (files_%d)\n",
			last.PeakInputFDs, last.Files, maxOpenFiles, verdict(last.PeakInputFDs <= float64(maxOpenFiles)), last.PeakFDs, maxOpenFiles, base, files[0].Files)
		fmt.Fprintf(w, "- CPU per line from %d to %d files: %+.1f%%; peak RSS %+.1f MiB\n", files[0].Files, last.Files,
			(last.CPUUsLine/files[0].CPUUsLine-1)*100, last.PeakRSSMiB-files[0].PeakRSSMiB)
	}
	// Kafka.
	if r, found := ok("kafka_rules"); found {
		perSec := float64(r.Lines) / r.WallSec
		fmt.Fprintf(w, "\n- kafka_rules (topic → the nginx pack → topic, in-process kfake broker, %d partitions): %.0f records/s over the whole run (start and group join included), %.0f records/s once records flow, %.2f CPU µs/record (the broker, in the bench process: %.2f), peak RSS %.1f MiB\n",
			kafkaPartitions, perSec, r.FlowingPerSec, r.CPUUsLine, r.BrokerCPUUs, r.PeakRSSMiB)
		fmt.Fprintf(w, "- target Kafka → rules → Kafka ≥ 300,000 records/s on 2 cores (the broker on the same cores): whole run %.0f, %s; once flowing %.0f, %s\n",
			perSec, verdict(perSec >= 300000), r.FlowingPerSec, verdict(r.FlowingPerSec >= 300000))
	}
	// The store sink, against the no-op receiver and the test store.
	if n, found := ok("nginx_octostore_noop"); found {
		fmt.Fprintf(w, "- nginx_octostore_noop (the octostore sink against a no-op receiver answering every record accepted): %.2f CPU µs/line, %.0f lines/s, peak RSS %.1f MiB", n.CPUUsLine, n.LinesPerSec, n.PeakRSSMiB)
		if s, found := ok("nginx_octostore"); found {
			fmt.Fprintf(w, "; against the test store on PostgreSQL: %.2f CPU µs/line, %.0f lines/s (the store's wait: %.1f× the wall time)", s.CPUUsLine, s.LinesPerSec, s.WallSec/n.WallSec)
		}
		fmt.Fprintln(w)
	}
}
