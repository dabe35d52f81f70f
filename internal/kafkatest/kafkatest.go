// Package kafkatest runs a Kafka-protocol broker (franz-go's kfake) inside
// a test process, and produces and inspects topics for the Kafka source and
// sink tests. Only tests import it.
package kafkatest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Broker is a one-node kfake cluster listening on 127.0.0.1.
type Broker struct {
	*kfake.Cluster
	Addr string
}

// Start starts a one-node broker on a free port (or on port, if not 0)
// with the given topics of n partitions each, a group minimum session
// timeout low enough for short test settings, and the extra options. It is
// closed at the end of the test.
func Start(t testing.TB, port int, partitions int32, topics []string, opts ...kfake.Opt) *Broker {
	t.Helper()
	if port == 0 {
		port = FreePort(t)
	}
	base := []kfake.Opt{kfake.Ports(port), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}
	if len(topics) > 0 {
		base = append(base, kfake.SeedTopics(partitions, topics...))
	}
	var c *kfake.Cluster
	var err error
	// The port may still be in TIME_WAIT after a restart: retry a while.
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err = kfake.NewCluster(append(base, opts...)...)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	b := &Broker{Cluster: c, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	t.Cleanup(c.Close)
	return b
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Msg is one message to produce to an explicit partition.
type Msg struct {
	Partition int32
	Key       string
	Value     string
	Headers   map[string]string
}

// Produce writes msgs (acks=all) and fails the test on error. It uses
// franz-go's client so that the data the kafka-go based agent reads was
// written by an independent implementation.
func Produce(t testing.TB, addr, topic string, msgs []Msg) {
	t.Helper()
	if err := ProduceErr(addr, topic, msgs); err != nil {
		t.Fatal(err)
	}
}

// ProduceErr is Produce returning its error (for other goroutines).
func ProduceErr(addr, topic string, msgs []Msg) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(1<<16))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const chunk = 5000
	for len(msgs) > 0 {
		n := min(chunk, len(msgs))
		recs := make([]*kgo.Record, n)
		for i, m := range msgs[:n] {
			r := &kgo.Record{Topic: topic, Partition: m.Partition, Value: []byte(m.Value)}
			if m.Key != "" {
				r.Key = []byte(m.Key)
			}
			for k, v := range m.Headers {
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
			}
			recs[i] = r
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("produce to %s: %w", topic, err)
		}
		msgs = msgs[n:]
	}
	return nil
}

// ProduceVia writes msgs with kafka-go's writer over transport (TLS, SASL),
// each to its partition, with acks=all.
func ProduceVia(transport *kafkago.Transport, addr, topic string, msgs []Msg) error {
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, Transport: transport, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: 5 * time.Millisecond, BatchSize: 1000,
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int { return m.Partition })}
	defer w.Close()
	kms := make([]kafkago.Message, len(msgs))
	for i, m := range msgs {
		kms[i] = kafkago.Message{Partition: int(m.Partition), Value: []byte(m.Value)}
		if m.Key != "" {
			kms[i].Key = []byte(m.Key)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return w.WriteMessages(ctx, kms...)
}

// Committed returns the group's committed offset of each partition of
// topic (-1 where none), read back from the broker with kafka-go's
// OffsetFetch.
func Committed(t testing.TB, addr, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	out, err := CommittedErr(addr, group, topic, partitions)
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	return out
}

// CommittedErr is Committed returning its error.
func CommittedErr(addr, group, topic string, partitions int) (map[int]int64, error) {
	cl := &kafkago.Client{Addr: kafkago.TCP(addr), Timeout: 10 * time.Second}
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// Consumed is one message read back from a topic.
type Consumed struct {
	Partition int
	Offset    int64
	Key       string
	Value     []byte
	Headers   map[string]string
}

// ReadAll reads every message of every partition of topic up to its high
// watermark, with kafka-go's partition readers.
func ReadAll(t testing.TB, addr, topic string, partitions int) []Consumed {
	t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(addr), Timeout: 10 * time.Second}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for p := 0; p < partitions; p++ {
		req.Topics[topic] = append(req.Topics[topic], kafkago.LastOffsetOf(p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lo, err := cl.ListOffsets(ctx, req)
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	var out []Consumed
	for _, po := range lo.Topics[topic] {
		if po.Error != nil {
			t.Fatalf("list offsets of partition %d: %v", po.Partition, po.Error)
		}
		if po.LastOffset == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: po.Partition,
			MaxWait: 200 * time.Millisecond, ReadLagInterval: -1})
		if err := r.SetOffset(kafkago.FirstOffset); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, po.Partition, err)
			}
			c := Consumed{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: m.Value}
			if len(m.Headers) > 0 {
				c.Headers = map[string]string{}
				for _, h := range m.Headers {
					c.Headers[h.Key] = string(h.Value)
				}
			}
			out = append(out, c)
			if m.Offset+1 >= po.LastOffset {
				break
			}
		}
		r.Close()
	}
	return out
}

// CreateTopic creates a topic with kafka-go's admin request.
func (b *Broker) CreateTopic(topic string, partitions int) error {
	cl := &kafkago.Client{Addr: kafkago.TCP(b.Addr), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}}})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}
