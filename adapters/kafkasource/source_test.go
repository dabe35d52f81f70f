package kafkasource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

// capture is a sink that records what it delivered, per partition and
// offset; fail decides records it fails instead.
type capture struct {
	mu        sync.Mutex
	delivered map[string]map[int64]int // stream -> offset -> times delivered
	total     int
	fail      func(r *agent.Record) bool
	delay     time.Duration
	gate      chan struct{} // when set, Consume waits until it is closed
	last      agent.Record
}

func newCapture() *capture { return &capture{delivered: map[string]map[int64]int{}} }

func (c *capture) Consume(_ context.Context, b agent.Batch) error {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	if c.gate != nil {
		<-c.gate
	}
	c.mu.Lock()
	for i := range b {
		r := &b[i]
		if c.fail != nil && c.fail(r) {
			r.Ack(agent.Failed)
			continue
		}
		m := c.delivered[r.Origin.Stream]
		if m == nil {
			m = map[int64]int{}
			c.delivered[r.Origin.Stream] = m
		}
		m[r.Origin.Offset]++
		c.total++
		c.last = *r
		r.Ack(agent.Delivered)
	}
	c.mu.Unlock()
	return nil
}

func (c *capture) Flush(context.Context) error { return nil }

// isDelivered reports whether stream's offset was delivered.
func (c *capture) isDelivered(stream string, off int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered[stream][off] > 0
}

func (c *capture) count() (total, distinct int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.delivered {
		distinct += len(m)
	}
	return c.total, distinct
}

type runner struct {
	rt     *agent.Runtime
	cancel context.CancelFunc
	done   chan error
}

// testLoggerOverride, when set, is the logger of the next run.
var testLoggerOverride *slog.Logger

func testLogger() *slog.Logger {
	if testLoggerOverride != nil {
		return testLoggerOverride
	}
	if os.Getenv("KAFKA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig is a source config with short timings for tests.
func testConfig(addr, group string, topics ...string) *Config {
	c := defaultConfig()
	c.Brokers = []string{addr}
	c.GroupID = group
	c.Topics = topics
	c.BatchMaxRecords = 500
	c.BatchTimeout = "20ms"
	c.MaxWait = "100ms"
	c.CommitInterval = "50ms"
	c.SessionTimeout = "3s"
	c.HeartbeatInterval = "200ms"
	c.RebalanceTimeout = "5s"
	c.RevokeTimeout = "2s"
	c.LagInterval = "200ms"
	c.TopicRefreshInterval = "300ms"
	return c
}

// run starts a runtime with the kafka source cfg feeding sink.
func run(t *testing.T, cfg *Config, sink agent.Sink, once bool) *runner {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir, g.Agent.HTTPAddr, g.Agent.Host = t.TempDir(), "", "test-host"
	g.Agent.ShutdownTimeout = 20 * time.Second
	g.Nodes = []agent.NodeSpec{
		{ID: "source.kafka.k", Kind: agent.KindSource, Type: "kafka", Name: "k", Factory: NewFactory(), Config: cfg},
		{ID: "sink.capture.c", Kind: agent.KindSink, Type: "capture", Name: "c", Inputs: []string{"source.kafka.k"},
			Factory: agent.NewSinkFactory(agent.FactorySpec[struct{}, agent.Sink]{Type: "capture",
				Create: func(agent.Settings, *struct{}) (agent.Sink, error) { return sink, nil }})},
	}
	rt, err := agent.New(g, agent.Options{Once: once, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{rt: rt, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- rt.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop stops the runtime (SIGTERM) and waits for it.
func (r *runner) stop(t *testing.T) error {
	t.Helper()
	if r.done == nil {
		return nil
	}
	r.cancel()
	select {
	case err := <-r.done:
		r.done = nil
		return err
	case <-time.After(90 * time.Second):
		t.Fatal("the runtime did not stop within 90s")
	}
	return nil
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func seqMsgs(partitions int32, perPartition int) []kafkatest.Msg {
	var out []kafkatest.Msg
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < perPartition; i++ {
			out = append(out, kafkatest.Msg{Partition: p, Key: fmt.Sprintf("k%d", i%7), Value: fmt.Sprintf(`{"p":%d,"seq":%d}`, p, i),
				Headers: map[string]string{"trace": strconv.Itoa(i)}})
		}
	}
	return out
}

// A record carries the value as its raw line and the message's metadata in
// its origin and fields; offsets are committed once delivered.
func TestConsumeAndCommit(t *testing.T) {
	b := kafkatest.Start(t, 0, 3, []string{"events"})
	kafkatest.Produce(t, b.Addr, "events", seqMsgs(3, 200))
	sink := newCapture()
	r := run(t, testConfig(b.Addr, "g1", "events"), sink, false)
	waitFor(t, 15*time.Second, "600 records", func() bool { _, d := sink.count(); return d == 600 })
	waitFor(t, 30*time.Second, "offsets 200 committed", func() bool {
		c, err := kafkatest.CommittedErr(b.Addr, "g1", "events", 3)
		return err == nil && c[0] == 200 && c[1] == 200 && c[2] == 200
	})
	src := r.rt.Component("source.kafka.k").(*source)
	waitFor(t, 30*time.Second, "the lag gauges to reach 0", func() bool {
		sum := 0.0
		for p := 0; p < 3; p++ {
			sum += testutil.ToFloat64(src.lag.WithLabelValues("events", strconv.Itoa(p)))
		}
		return sum == 0
	})
	sink.mu.Lock()
	last := sink.last
	sink.mu.Unlock()
	if last.Origin.Topic != "events" || last.Origin.Stream != "events/"+strconv.Itoa(int(last.Origin.Partition)) {
		t.Errorf("origin = %+v", last.Origin)
	}
	// A raw line (parse steps take the typed fast path), whose wire form
	// still carries the metadata, built from the message on demand.
	if !last.IsRaw() || !last.HasRawFields() {
		t.Errorf("record not raw with raw fields: raw %v, raw fields %v", last.IsRaw(), last.HasRawFields())
	}
	var wire struct {
		Fields struct {
			Message string         `json:"message"`
			Kafka   map[string]any `json:"kafka"`
		} `json:"fields"`
	}
	var enc agent.Encoder
	if err := json.Unmarshal(enc.Append(nil, &last), &wire); err != nil || wire.Fields.Message != string(last.Raw) ||
		wire.Fields.Kafka["offset"] != float64(last.Origin.Offset) || wire.Fields.Kafka["topic"] != "events" {
		t.Errorf("wire form fields = %+v (%v)", wire.Fields, err)
	}
	md, _ := last.MaterializeFields()["kafka"].(map[string]any)
	if md == nil || md["offset"] != last.Origin.Offset || md["key"] == nil || md["headers"].(map[string]any)["trace"] == nil {
		t.Errorf("kafka metadata field = %v", last.MaterializeFields()["kafka"])
	}
	if string(last.Raw) != last.MaterializeFields()["message"] || len(last.Raw) == 0 {
		t.Errorf("raw %q, message %v", last.Raw, last.MaterializeFields()["message"])
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	total, distinct := sink.count()
	testfig.Report(t, "consumed %d records (%d distinct), committed 200/200/200", total, distinct)
}

// Commit safety: a sink fails chosen records. Polled all along, the
// committed offset of a partition never passes a record that was not
// acknowledged, and it ends at the batch that holds the failed record.
func TestCommitNeverPassesUnacknowledged(t *testing.T) {
	b := kafkatest.Start(t, 0, 3, []string{"events"})
	const per = 3000
	kafkatest.Produce(t, b.Addr, "events", seqMsgs(3, per))
	failAt := map[string]int64{"events/0": 1234, "events/1": 2999, "events/2": 10}
	sink := newCapture()
	sink.fail = func(r *agent.Record) bool { return r.Origin.Offset == failAt[r.Origin.Stream] }
	cfg := testConfig(b.Addr, "g-safety", "events")
	cfg.BatchMaxRecords = 100
	r := run(t, cfg, sink, false)

	violations, polls := 0, 0
	check := func() bool {
		c, err := kafkatest.CommittedErr(b.Addr, "g-safety", "events", 3)
		if err != nil {
			return false
		}
		polls++
		done := true
		for p := 0; p < 3; p++ {
			stream := "events/" + strconv.Itoa(p)
			if c[p] > failAt[stream] {
				t.Errorf("partition %d: committed %d, past the failed record at %d", p, c[p], failAt[stream])
				violations++
			}
			// Every offset below the commit was acknowledged already.
			for off := max(0, c[p]-200); off < c[p]; off++ {
				if !sink.isDelivered(stream, off) {
					t.Errorf("partition %d: committed %d but offset %d was never delivered", p, c[p], off)
					violations++
					break
				}
			}
			// Commits are per batch (at most 100 records here): the commit
			// stops at the start of the batch that holds the failed record.
			done = done && c[p] > failAt[stream]-100
		}
		return done && violations == 0
	}
	waitFor(t, 60*time.Second, "commits to reach the failed records", check)
	// Everything after the failed records is delivered, yet the commits
	// stay put.
	waitFor(t, 60*time.Second, "every other record", func() bool { _, d := sink.count(); return d == 3*per-3 })
	time.Sleep(300 * time.Millisecond) // several commit intervals
	check()
	// The lag gauge is what stays uncommitted: all records after the
	// commit, though most of them were delivered.
	src := r.rt.Component("source.kafka.k").(*source)
	lag0 := 0.0
	waitFor(t, 30*time.Second, "the lag of partition 0 to show the uncommitted records", func() bool {
		c := kafkatest.Committed(t, b.Addr, "g-safety", "events", 3)
		lag0 = testutil.ToFloat64(src.lag.WithLabelValues("events", "0"))
		return lag0 == float64(per-c[0])
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	final := kafkatest.Committed(t, b.Addr, "g-safety", "events", 3)
	for p := 0; p < 3; p++ {
		if f := failAt["events/"+strconv.Itoa(p)]; final[p] > f || final[p] <= f-100 {
			t.Errorf("partition %d: final commit %d, want the start of the batch holding the failed record %d", p, final[p], f)
		}
	}
	testfig.Report(t, "failed records at offsets 1234/2999/10: final commits %d/%d/%d, %d polls, %d violations; lag gauge of partition 0: %v",
		final[0], final[1], final[2], polls, violations, lag0)

	// A new member reads again from the failed records, under the same ids.
	sink2 := newCapture()
	r2 := run(t, testConfig(b.Addr, "g-safety", "events"), sink2, false)
	want := int(3*per - max(0, final[0]) - max(0, final[1]) - max(0, final[2]))
	waitFor(t, 60*time.Second, "the records after the commits", func() bool { _, d := sink2.count(); return d == want })
	for p := 0; p < 3; p++ {
		stream := "events/" + strconv.Itoa(p)
		if !sink2.isDelivered(stream, failAt[stream]) {
			t.Errorf("%s: failed record %d not read again", stream, failAt[stream])
		}
	}
	r2.stop(t)
}

// A member whose records are stuck in flight when its partitions are
// revoked gives them up after revoke_timeout without committing them; when
// they resolve later, nothing is committed with the old generation (no
// commit error, no offset moving back), and the next owner reads them.
func TestRevokedInFlightNeverCommitted(t *testing.T) {
	b := kafkatest.Start(t, 0, 2, []string{"events"})
	kafkatest.Produce(t, b.Addr, "events", seqMsgs(2, 1000))
	stuck := newCapture()
	stuck.gate = make(chan struct{})
	cfgA := testConfig(b.Addr, "g-revoke", "events")
	cfgA.RevokeTimeout = "500ms"
	a := run(t, cfgA, stuck, false)
	srcA := a.rt.Component("source.kafka.k").(*source)
	waitFor(t, 30*time.Second, "A to read", func() bool { return srcA.set.Acks.InFlight() > 0 })

	free := newCapture()
	bm := run(t, testConfig(b.Addr, "g-revoke", "events"), free, false)
	srcB := bm.rt.Component("source.kafka.k").(*source)
	waitFor(t, 30*time.Second, "a rebalance with A's records still in flight", func() bool {
		return testutil.ToFloat64(srcA.revokedInFlight) > 0 && testutil.ToFloat64(srcB.assignedN) > 0
	})
	var prev map[int]int64
	backwards := 0
	poll := func() map[int]int64 {
		c, err := kafkatest.CommittedErr(b.Addr, "g-revoke", "events", 2)
		if err != nil {
			return prev
		}
		for p, off := range c {
			if prev != nil && off < prev[p] {
				backwards++
				t.Errorf("partition %d: committed offset went back from %d to %d", p, prev[p], off)
			}
		}
		prev = c
		return c
	}
	time.Sleep(300 * time.Millisecond)
	poll()
	close(stuck.gate) // A's stale records resolve now
	waitFor(t, 60*time.Second, "both partitions committed to the end", func() bool {
		c := poll()
		return c != nil && c[0] == 1000 && c[1] == 1000
	})
	a.stop(t)
	bm.stop(t)
	if n := testutil.ToFloat64(srcA.commitErrs); n != 0 {
		t.Errorf("A had %v commit errors: a commit was attempted with a generation that had ended", n)
	}
	_, da := stuck.count()
	_, db := free.count()
	testfig.Report(t, "revoked with %v batches in flight: 0 stale commits, %d backwards moves; A delivered %d, B %d (2000 messages)",
		testutil.ToFloat64(srcA.revokedInFlight), backwards, da, db)
}

// topic_regex consumes every matching topic, and a matching topic created
// later is picked up at the next refresh (the member rejoins with the new
// list) without losing or skipping anything.
func TestTopicRegexRefresh(t *testing.T) {
	b := kafkatest.Start(t, 0, 2, []string{"ci-a", "ci-b", "other"})
	for _, topic := range []string{"ci-a", "ci-b", "other"} {
		kafkatest.Produce(t, b.Addr, topic, seqMsgs(2, 100))
	}
	cfg := testConfig(b.Addr, "g-regex", "unused")
	cfg.Topics = nil
	cfg.TopicRegex = "^ci-"
	sink := newCapture()
	r := run(t, cfg, sink, false)
	waitFor(t, 30*time.Second, "ci-a and ci-b", func() bool { _, d := sink.count(); return d == 400 })
	if err := b.CreateTopic("ci-c", 2); err != nil {
		t.Fatal(err)
	}
	kafkatest.Produce(t, b.Addr, "ci-c", seqMsgs(2, 100))
	waitFor(t, 60*time.Second, "ci-c after a refresh", func() bool { _, d := sink.count(); return d == 600 })
	r.stop(t)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for stream := range sink.delivered {
		if strings.HasPrefix(stream, "other/") {
			t.Errorf("consumed %s, which does not match", stream)
		}
	}
	for _, topic := range []string{"ci-a", "ci-b", "ci-c"} {
		c := kafkatest.Committed(t, b.Addr, "g-regex", topic, 2)
		if c[0] != 100 || c[1] != 100 {
			t.Errorf("%s: committed %v, want 100 on both partitions", topic, c)
		}
	}
	total, distinct := sink.total, 0
	for _, m := range sink.delivered {
		distinct += len(m)
	}
	testfig.Report(t, "topic_regex ^ci-: 3 topics (one created later), %d records delivered, %d distinct, 0 from the other topic", total, distinct)
}

func TestFetchShare(t *testing.T) {
	const kib, mib = 1 << 10, 1 << 20
	for _, c := range []struct {
		name        string
		fetchMax, n int
		want        int32
	}{
		{"one partition, capped at 1 MiB", 10 * mib, 1, mib},
		{"four partitions keep 1 MiB each", 10 * mib, 4, mib},
		{"ten partitions share 10 MiB", 10 * mib, 10, mib},
		{"sixteen partitions share 10 MiB", 10 * mib, 16, 640 * kib},
		{"64 partitions share 10 MiB", 10 * mib, 64, 160 * kib},
		{"many partitions floored at 64 KiB", 10 * mib, 1000, 64 * kib},
		{"no partition held", 10 * mib, 0, mib},
		{"fetch_max_bytes below 1 MiB, one partition", 512 * kib, 1, 512 * kib},
		{"fetch_max_bytes below 64 KiB is never exceeded", 32 * kib, 1, 32 * kib},
		{"fetch_max_bytes below 64 KiB, many partitions", 32 * kib, 64, 32 * kib},
		{"the smallest fetch_max_bytes", 1024, 8, 1024},
	} {
		if got := fetchShare(c.fetchMax, c.n); got != c.want {
			t.Errorf("%s: fetchShare(%d, %d) = %d, want %d", c.name, c.fetchMax, c.n, got, c.want)
		}
	}
	// Whatever the partitions, the member's fetched-ahead bytes stay within
	// fetch_max_bytes until the 64 KiB floor.
	for n := 1; n <= 160; n++ {
		if total := int(fetchShare(10*mib, n)) * n; total > 10*mib {
			t.Errorf("%d partitions: %d bytes fetched ahead, above fetch_max_bytes", n, total)
		}
	}
}
