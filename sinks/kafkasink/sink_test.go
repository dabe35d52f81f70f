package kafkasink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

type collector struct {
	mu  sync.Mutex
	got agent.Batch
}

func (c *collector) Emit(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	c.got = append(c.got, b...)
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}

// testLogs receives the test sinks' logs (a test that reads them sets it).
var testLogs io.Writer = io.Discard

func newTestSink(t *testing.T, addr, topic string, edit func(*Config)) (*Sink, *collector) {
	t.Helper()
	cfg := defaultConfig()
	cfg.Brokers = []string{addr}
	cfg.Topic = topic
	cfg.RetryBackoffMin = "20ms"
	cfg.RetryBackoffMax = "200ms"
	cfg.WriteTimeout = "2s"
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dead := &collector{}
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: "sink.kafka.t", Kind: agent.KindSink, Type: "kafka", Name: "t",
		Logger: slog.New(slog.NewTextHandler(testLogs, &slog.HandlerOptions{Level: slog.LevelDebug})), Metrics: m.For("sink.kafka.t"),
		Out: dead, DeadLetter: dead}
	s, err := newSink(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dead
}

// publish hands b to the sink and waits until its records are resolved.
func publish(s *Sink, ctx context.Context, b agent.Batch) error {
	if err := s.Consume(ctx, b); err != nil {
		return err
	}
	return s.Flush(ctx)
}

// retries reads the producer's retry counter.
func retries(s *Sink) float64 {
	return testutil.ToFloat64(s.set.Metrics.Counter("kafka_producer_retries_total", ""))
}

// batch makes n records about entities pipeline=p<i%entities>, numbered
// from first, all in one token that reports into outcome.
func batch(acks *agent.Acks, first, n, entities int, outcome *atomic.Int64) agent.Batch {
	tok := acks.NewToken(n, func(failed bool) {
		if failed {
			outcome.Store(-1)
		} else {
			outcome.Store(1)
		}
	})
	b := make(agent.Batch, n)
	for i := range b {
		seq := first + i
		b[i] = agent.Record{Time: time.Unix(1700000000, 0), Kind: "workflow_run",
			Entity: []agent.KV{{Key: "pipeline", Value: fmt.Sprintf("p%d", seq%entities)}},
			Origin: agent.Origin{Host: "h", Component: "source.test.t", Stream: "s", Offset: int64(seq)}}.WithFields(map[string]any{"seq": int64(seq), "run": fmt.Sprintf("r%d", seq)})
		b[i].SetToken(tok)
	}
	return b
}

// Records are published with their entity as key: the same key always
// lands on the same partition, in order, and the value is the wire form.
func TestPublishKeyedByEntity(t *testing.T) {
	b := kafkatest.Start(t, 0, 4, []string{"changes"})
	s, dead := newTestSink(t, b.Addr, "changes", nil)
	acks := agent.NewAcks()
	const n, entities = 2000, 13
	var outcomes [n / 250]atomic.Int64
	// The batches are handed on without waiting for the broker (up to
	// inFlight on the wire at once): one key's records stay in order.
	for first := 0; first < n; first += 250 {
		if err := s.Consume(context.Background(), batch(acks, first, 250, entities, &outcomes[first/250])); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range outcomes {
		if o := outcomes[i].Load(); o != 1 {
			t.Fatalf("batch %d: outcome %d, want delivered", i, o)
		}
	}
	got := kafkatest.ReadAll(t, b.Addr, "changes", 4)
	if len(got) != n || len(dead.got) != 0 {
		t.Fatalf("read back %d messages (%d dead letters), want %d", len(got), len(dead.got), n)
	}
	partOf := map[string]int{}
	lastSeq := map[string]int64{}
	used := map[int]bool{}
	for _, m := range got {
		var w struct {
			ID     string         `json:"id"`
			Kind   string         `json:"kind"`
			Entity []agent.KV     `json:"entity"`
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(m.Value, &w); err != nil {
			t.Fatalf("value is not a wire record: %v: %s", err, m.Value)
		}
		seq := int64(w.Fields["seq"].(float64))
		wantKey := fmt.Sprintf("pipeline=p%d", seq%entities)
		if m.Key != wantKey {
			t.Fatalf("seq %d: key %q, want %q", seq, m.Key, wantKey)
		}
		if m.Headers["octoagent-id"] != w.ID || m.Headers["octoagent-kind"] != "workflow_run" {
			t.Fatalf("headers %v for id %s", m.Headers, w.ID)
		}
		if p, ok := partOf[m.Key]; ok && p != m.Partition {
			t.Fatalf("key %s on partitions %d and %d", m.Key, p, m.Partition)
		}
		partOf[m.Key] = m.Partition
		used[m.Partition] = true
		if prev, ok := lastSeq[m.Key]; ok && seq <= prev {
			t.Fatalf("key %s: seq %d after %d: out of order", m.Key, seq, prev)
		}
		lastSeq[m.Key] = seq
	}
	testfig.Report(t, "published %d records, %d keys over %d partitions; every key on one partition, in order", len(got), len(partOf), len(used))
}

// A broker that goes down and comes back (same port, same data) loses
// nothing: the sink retries the batch until the broker acknowledges it,
// and only then resolves its records as delivered.
func TestBrokerDownAndBack(t *testing.T) {
	dir := t.TempDir()
	port := kafkatest.FreePort(t)
	b1 := kafkatest.Start(t, port, 2, []string{"changes"}, kfake.DataDir(dir), kfake.SyncWrites())
	s, _ := newTestSink(t, b1.Addr, "changes", nil)
	acks := agent.NewAcks()
	var o1, o2 atomic.Int64
	if err := publish(s, context.Background(), batch(acks, 0, 500, 7, &o1)); err != nil || o1.Load() != 1 {
		t.Fatalf("first batch: %v, outcome %d", err, o1.Load())
	}
	b1.Close()

	done := make(chan error, 1)
	go func() { done <- publish(s, context.Background(), batch(acks, 500, 500, 7, &o2)) }()
	waitRetries := time.Now().Add(30 * time.Second)
	for retries(s) < 2 {
		if time.Now().After(waitRetries) {
			t.Fatal("the sink did not retry while the broker was down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Consume returned while the broker was down: %v (outcome %d)", err, o2.Load())
	default:
	}
	if o2.Load() != 0 {
		t.Fatalf("records resolved (%d) while the broker was down", o2.Load())
	}
	retriesDown := retries(s)
	b2 := kafkatest.Start(t, port, 2, nil, kfake.DataDir(dir), kfake.SyncWrites())
	select {
	case err := <-done:
		if err != nil || o2.Load() != 1 {
			t.Fatalf("second batch: %v, outcome %d", err, o2.Load())
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the sink did not deliver within 90s of the broker coming back")
	}
	got := kafkatest.ReadAll(t, b2.Addr, "changes", 2)
	seen := map[int64]int{}
	for _, m := range got {
		var w struct {
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(m.Value, &w); err != nil {
			t.Fatal(err)
		}
		seen[int64(w.Fields["seq"].(float64))]++
	}
	lost, dups := 0, 0
	for i := int64(0); i < 1000; i++ {
		switch c := seen[i]; {
		case c == 0:
			lost++
		case c > 1:
			dups += c - 1
		}
	}
	if lost > 0 {
		t.Errorf("%d records lost", lost)
	}
	testfig.Report(t, "broker down and back: 1000 records, lost %d, duplicates %d, %v retries while down", lost, dups, retriesDown)
}
