package kafkasink

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

// The broker is killed in the middle of a batch and comes back, and
// before that some produce requests are applied but their answers lost
// (REQUEST_TIMED_OUT after the append, as a failover answers): nothing is
// lost, and the idempotent producer writes nothing twice. Were a duplicate
// written anyway (a broker that lost its producer state), it must be the
// same message — the same record id in the value and the octoagent-id
// header, the same bytes — so that a consumer or store that keeps one copy
// per id ends with each record once.
func TestBrokerKilledMidBatch(t *testing.T) {
	lost, dups := publishThroughFaults(t, true)
	if lost > 0 {
		t.Errorf("%d records lost", lost)
	}
	t.Logf("duplicates: %d", dups)
}

// Produce requests applied but answered REQUEST_TIMED_OUT (an
// acknowledgement lost on the way back): the producer sends them again,
// and the broker recognises them by their sequence numbers. Nothing is
// lost, nothing is written twice.
func TestLostAcksNoDuplicates(t *testing.T) {
	lost, dups := publishThroughFaults(t, false)
	if lost > 0 || dups > 0 {
		t.Errorf("%d records lost, %d written twice; want neither (idempotent producer)", lost, dups)
	}
}

// publishThroughFaults publishes 5,000 records while three produce
// requests lose their answers after the append and, with kill, the broker
// is killed while its 6th produce request is in flight and started again
// on the same data. It returns the records lost and written twice.
func publishThroughFaults(t *testing.T, kill bool) (lost, dups int) {
	dir := t.TempDir()
	port := kafkatest.FreePort(t)
	const partitions = 3
	b1 := kafkatest.Start(t, port, partitions, []string{"changes"}, kfake.DataDir(dir), kfake.SyncWrites())
	// Acks lost after the append: the writer retries and writes again.
	lostAcks := b1.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 3})
	// The kill comes while the 6th produce request is in flight. There are
	// at least 8: the sink has at most 4 batches of 250 records on the
	// wire, so the 5,000 records take 5 acknowledged requests or more,
	// and the 3 that lose their answer are sent again.
	const killAt = 6
	var produces atomic.Int64
	killNow := make(chan struct{}, 1)
	b1.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		b1.KeepControl()
		if produces.Add(1) == killAt {
			select {
			case killNow <- struct{}{}:
			default:
			}
		}
		return nil, nil, false
	})
	s, dead := newTestSink(t, b1.Addr, "changes", func(c *Config) { c.BatchMaxRecords = 50 })
	acks := agent.NewAcks()
	const batches, per = 20, 250
	done := make(chan error, 1)
	var outcomes [batches]atomic.Int64
	go func() {
		for i := 0; i < batches; i++ {
			if err := s.Consume(context.Background(), batch(acks, i*per, per, 17, &outcomes[i])); err != nil {
				done <- err
				return
			}
		}
		done <- s.Flush(context.Background())
	}()
	b := b1
	if kill {
		select {
		case <-killNow:
		case <-time.After(2 * time.Minute):
			t.Fatalf("the sink never reached its produce request %d (%d seen)", killAt, produces.Load())
		}
		b1.Close()
		waitRetries := time.Now().Add(60 * time.Second)
		for retries(s) < 1 {
			if time.Now().After(waitRetries) {
				t.Fatal("the sink did not retry after the broker was killed")
			}
			time.Sleep(20 * time.Millisecond)
		}
		b = kafkatest.Start(t, port, partitions, nil, kfake.DataDir(dir), kfake.SyncWrites())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the sink did not finish within 2 minutes of the broker coming back")
	}
	for i := range outcomes {
		if outcomes[i].Load() != 1 {
			t.Fatalf("batch %d: outcome %d, want delivered", i, outcomes[i].Load())
		}
	}
	if len(dead.got) != 0 {
		t.Fatalf("%d dead letters", len(dead.got))
	}
	if n := lostAcks.Hits(); n != 3 {
		t.Fatalf("%d produce requests lost their answer, want 3", n)
	}
	got := kafkatest.ReadAll(t, b.Addr, "changes", partitions)
	type first struct {
		id    string
		value string
	}
	bySeq := map[int64]first{}
	for _, m := range got {
		var w struct {
			ID     string         `json:"id"`
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(m.Value, &w); err != nil {
			t.Fatal(err)
		}
		if m.Headers["octoagent-id"] != w.ID {
			t.Fatalf("header octoagent-id %q, value id %q", m.Headers["octoagent-id"], w.ID)
		}
		seq := int64(w.Fields["seq"].(float64))
		if f, ok := bySeq[seq]; ok {
			dups++
			if f.id != w.ID || f.value != string(m.Value) {
				t.Fatalf("record %d written twice with different ids or bytes:\n%s\n%s", seq, f.value, m.Value)
			}
			continue
		}
		bySeq[seq] = first{id: w.ID, value: string(m.Value)}
	}
	for i := int64(0); i < batches*per; i++ {
		if _, ok := bySeq[i]; !ok {
			lost++
		}
	}
	testfig.Report(t, "%d records through 3 acknowledgements lost after the append (kill mid-batch: %v): %d messages, lost %d, duplicates %d, %v retries",
		batches*per, kill, len(got), lost, dups, retries(s))
	return lost, dups
}
