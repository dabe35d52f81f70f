package kafkaclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/octostore/agent/agent"
)

// ProducerConfig is what every component that publishes to Kafka is told:
// where (brokers, topic), how to batch and compress, how long to wait and
// retry, and how to reach the brokers (tls, sasl). A component's config
// holds it next to its own attributes (sink "kafka" embeds it, decoded with
// decode.Split).
type ProducerConfig struct {
	Brokers  []string `hcl:"brokers"`
	Topic    string   `hcl:"topic"`
	ClientID string   `hcl:"client_id,optional"`

	BatchMaxRecords int    `hcl:"batch_max_records,optional"`
	BatchMaxBytes   int    `hcl:"batch_max_bytes,optional"`
	BatchTimeout    string `hcl:"batch_timeout,optional"`
	Compression     string `hcl:"compression,optional"`
	WriteTimeout    string `hcl:"write_timeout,optional"`
	RetryBackoffMin string `hcl:"retry_backoff_min,optional"`
	RetryBackoffMax string `hcl:"retry_backoff_max,optional"`

	TLS  *TLS  `hcl:"tls,block"`
	SASL *SASL `hcl:"sasl,block"`

	batchTimeout, writeTimeout, backoffMin, backoffMax time.Duration
	compression                                        kgo.CompressionCodec
}

// DefaultProducerConfig returns the defaults documented in the sinks'
// READMEs.
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{
		ClientID:        "octoagent",
		BatchMaxRecords: 1000,
		BatchMaxBytes:   1 << 20,
		BatchTimeout:    "10ms",
		Compression:     "snappy",
		WriteTimeout:    "10s",
		RetryBackoffMin: "100ms",
		RetryBackoffMax: "5s",
	}
}

var compressions = map[string]kgo.CompressionCodec{
	"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
	"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
}

// Preflight loads the TLS files, as the producer does at start
// (agent.Preflighter).
func (c *ProducerConfig) Preflight() error {
	return (&Security{TLS: c.TLS, SASL: c.SASL}).Preflight()
}

// Validate checks the config and parses its durations; the errors are
// agent.AttrErrors.
func (c *ProducerConfig) Validate() error {
	var errs []error
	c.Brokers = SplitBrokers(c.Brokers)
	if err := ValidateBrokers(c.Brokers); err != nil {
		errs = append(errs, err)
	}
	if c.Topic == "" {
		errs = append(errs, agent.AttrErrorf("topic", `Name the topic to publish to, such as "metadata-changes".`, "empty"))
	}
	if c.BatchMaxRecords < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "The default is 1000.", "must be at least 1, got %d", c.BatchMaxRecords))
	}
	if c.BatchMaxBytes < 1024 {
		errs = append(errs, agent.AttrErrorf("batch_max_bytes", "The default is 1048576 (1 MiB), the broker's default message.max.bytes.", "must be at least 1024, got %d", c.BatchMaxBytes))
	}
	comp, ok := compressions[c.Compression]
	if !ok {
		errs = append(errs, agent.AttrErrorf("compression", `Use "none", "gzip", "snappy", "lz4" or "zstd".`, "unknown value %q", c.Compression))
	}
	c.compression = comp
	dur := agent.DurationAttrs(&errs)
	dur("batch_timeout", c.BatchTimeout, &c.batchTimeout)
	dur("write_timeout", c.WriteTimeout, &c.writeTimeout)
	dur("retry_backoff_min", c.RetryBackoffMin, &c.backoffMin)
	dur("retry_backoff_max", c.RetryBackoffMax, &c.backoffMax)
	if c.backoffMin > c.backoffMax && c.backoffMax > 0 {
		errs = append(errs, agent.AttrErrorf("retry_backoff_min", "The first retry waits retry_backoff_min, doubling up to retry_backoff_max.", "%s is above retry_backoff_max %s", c.RetryBackoffMin, c.RetryBackoffMax))
	}
	if err := (&Security{TLS: c.TLS, SASL: c.SASL}).Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Producer publishes records, as messages the component builds, to one
// topic and resolves them: delivered once the broker acknowledged them
// with acks=all, dead-lettered when the broker refuses them for good or
// they are larger than batch_max_bytes, failed at the drain deadline.
//
// It is franz-go's idempotent producer: the client numbers each
// partition's batches (a producer id and sequence numbers), so a produce
// request sent again after an answer that was lost — a broker killed
// between the append and its answer, a leader failover, a network cut —
// is recognised by the broker and not written twice.
type Producer struct {
	cfg  *ProducerConfig
	set  agent.Settings
	conn *Conn // the secret to scrub from errors
	cl   *kgo.Client

	retries, noKey prometheus.Counter
	published      prometheus.Counter
	failing        atomic.Bool // a connection or write failed since the last batch written (logged once)
}

// NewProducer builds a producer from a validated config.
func NewProducer(set agent.Settings, cfg *ProducerConfig) (*Producer, error) {
	sec := &Security{TLS: cfg.TLS, SASL: cfg.SASL}
	conn, err := sec.Build(cfg.Brokers, cfg.ClientID, cfg.writeTimeout, 0)
	if err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, set: set, conn: conn,
		retries:   set.Metrics.Counter("kafka_producer_retries_total", "Connections or produce requests that failed and are retried (the broker down, a leader moving); records are failed only at the drain deadline."),
		noKey:     set.Metrics.Counter("kafka_producer_unkeyed_records_total", "Records published without a key (no entity, or key_field missing): spread over the partitions."),
		published: set.Metrics.Counter("kafka_producer_acked_records_total", "Records the broker acknowledged (acks=all)."),
	}
	opts, err := sec.ClientOpts(cfg.Brokers, cfg.ClientID, cfg.writeTimeout)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(cfg.Topic),
		// Murmur2 of the key, the Java client's default partitioner: a key
		// lands on the partition other producers would pick for it.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.RequiredAcks(kgo.AllISRAcks()), // and idempotent writes, kgo's default
		kgo.ProducerBatchMaxBytes(int32(cfg.BatchMaxBytes)),
		// A partition's records go out as soon as no produce request is in
		// flight to its broker, and gather while one is: Start hands on
		// batch after batch without waiting, so lingering would only delay.
		kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(cfg.compression),
		kgo.MaxBufferedRecords(max(cfg.BatchMaxRecords*16, 10000)),
		kgo.ProduceRequestTimeout(cfg.writeTimeout),
		// Retry for as long as the agent runs: records are failed at the
		// drain deadline only (Publish's ctx), a topic created late is
		// waited for.
		kgo.UnknownTopicRetries(-1),
		kgo.RetryBackoffFn(func(n int) time.Duration {
			return min(cfg.backoffMin<<min(max(n-1, 0), 20), cfg.backoffMax)
		}),
		kgo.WithHooks(producerHooks{p}),
	)
	p.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// producerHooks count and log (once per streak) the failures the client
// retries on its own.
type producerHooks struct{ p *Producer }

func (h producerHooks) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.p.failed(err)
	}
}

func (h producerHooks) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil && key == int16(kmsg.Produce) {
		h.p.failed(err)
	}
}

func (h producerHooks) OnProduceBatchWritten(kgo.BrokerMetadata, string, int32, kgo.ProduceBatchMetrics) {
	h.p.failing.Store(false)
}

func (p *Producer) failed(err error) {
	p.retries.Inc()
	if !p.failing.Swap(true) {
		p.set.Logger.Warn("publish failed; retrying with backoff until it succeeds or the drain deadline passes",
			"topic", p.cfg.Topic, "error", p.conn.Scrub(err.Error()))
	}
}

// size estimates what the producer counts against batch_max_bytes.
func size(m *kgo.Record) int {
	n := len(m.Key) + len(m.Value) + 64
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}

// permanent reports whether the broker refused a record for good.
func permanent(err error) bool {
	for _, e := range []*kerr.Error{kerr.MessageTooLarge, kerr.CorruptMessage, kerr.InvalidRecord, kerr.RecordListTooLarge, kerr.InvalidTimestamp} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Publish writes msgs[i], the message of recs[i] (Key, Value and Headers
// set; the client fills in the rest), and waits for the broker's
// acknowledgement: Start, then Wait.
func (p *Producer) Publish(ctx context.Context, recs []agent.Record, msgs []kgo.Record) error {
	return p.Start(ctx, recs, msgs).Wait()
}

// Pending is a batch handed to the client by Start; Wait resolves it.
type Pending struct {
	p     *Producer
	ctx   context.Context
	recs  []agent.Record
	krecs []*kgo.Record
	res   *results
}

// results collects the client's answers to one batch, in the order the
// partitions answered.
type results struct {
	mu   sync.Mutex
	rs   kgo.ProduceResults
	left int
	done chan struct{}
}

func (r *results) promise(kr *kgo.Record, err error) {
	r.mu.Lock()
	r.rs = append(r.rs, kgo.ProduceResult{Record: kr, Err: err})
	r.left--
	if r.left == 0 {
		close(r.done)
	}
	r.mu.Unlock()
}

// Start hands msgs[i], the message of recs[i] (Key, Value and Headers set;
// the client fills in the rest), to the client, in order, and returns
// without waiting for the broker: batches started one after the other keep
// their order per partition, and the next batch can be encoded while this
// one is on the wire. It blocks while the client holds
// max(batch_max_records × 16, 10,000) records (backpressure). Records
// larger than batch_max_bytes are dead-lettered at once. The client holds
// on to msgs (and what they point to) until Wait returned nil; after an
// error it may still read them. recs must stay as they are until Wait
// returns.
func (p *Producer) Start(ctx context.Context, recs []agent.Record, msgs []kgo.Record) *Pending {
	krecs := make([]*kgo.Record, 0, len(msgs))
	var dead []agent.Record
	var deadErr []string
	sized := recs
	for i := range msgs {
		if msgs[i].Key == nil {
			p.noKey.Inc()
		}
		if n := size(&msgs[i]); n > p.cfg.BatchMaxBytes {
			if dead == nil { // the first too large: from here on, copy what fits
				sized = slices.Clone(recs[:i])
			}
			dead = append(dead, recs[i])
			deadErr = append(deadErr, fmt.Sprintf("message of %d bytes is larger than batch_max_bytes %d", n, p.cfg.BatchMaxBytes))
			continue
		}
		if dead != nil {
			sized = append(sized, recs[i])
		}
		krecs = append(krecs, &msgs[i])
	}
	p.deadLetter(ctx, dead, deadErr, "too_large")
	return &Pending{p: p, ctx: ctx, recs: sized, krecs: krecs, res: p.start(ctx, krecs)}
}

// start produces krecs in order, the answers collected in the results.
func (p *Producer) start(ctx context.Context, krecs []*kgo.Record) *results {
	r := &results{rs: make(kgo.ProduceResults, 0, len(krecs)), left: len(krecs), done: make(chan struct{})}
	if len(krecs) == 0 {
		close(r.done)
		return r
	}
	for _, kr := range krecs {
		p.cl.Produce(ctx, kr, r.promise)
	}
	return r
}

// Wait waits for the broker's answers to the batch and resolves every
// record: delivered once acknowledged with acks=all, dead-lettered when
// refused for good (too large, invalid). The client retries what fails (a
// broker down, a leader moving) on its own, and Wait produces again what
// it gave up on, with backoff, until it succeeds or ctx ends (the drain
// deadline): a broker that is down and back loses nothing, and the
// idempotent producer writes nothing twice.
func (pd *Pending) Wait() error {
	p, ctx, recs, krecs, res := pd.p, pd.ctx, pd.recs, pd.krecs, pd.res
	backoff := p.cfg.backoffMin
	for len(krecs) > 0 {
		select {
		case <-res.done:
		case <-ctx.Done():
			// The drain deadline: what the client still holds may yet be
			// written (an idempotent producer cannot drop a request it
			// sent); the source reads these records again, same ids.
			p.fail(recs)
			return ctx.Err()
		}
		results := res.rs
		if !slices.ContainsFunc(results, func(r kgo.ProduceResult) bool { return r.Err != nil }) {
			p.deliver(recs) // every record acknowledged
			return nil
		}
		// The results come in the order the partitions answered: find
		// each one's record by the message it carries.
		at := make(map[*kgo.Record]int, len(krecs))
		for i, kr := range krecs {
			at[kr] = i
		}
		var okRecs, keepRecs, badRecs []agent.Record
		var keep []*kgo.Record
		var badErr []string
		var lastErr error
		for _, r := range results {
			i := at[r.Record]
			switch {
			case r.Err == nil:
				okRecs = append(okRecs, recs[i])
			case permanent(r.Err):
				badRecs = append(badRecs, recs[i])
				badErr = append(badErr, r.Err.Error())
			default:
				keepRecs = append(keepRecs, recs[i])
				keep = append(keep, rebuild(r.Record))
				lastErr = r.Err
			}
		}
		p.deliver(okRecs)
		p.deadLetter(ctx, badRecs, badErr, "rejected")
		recs, krecs = keepRecs, keep
		if len(krecs) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			p.fail(recs)
			return ctx.Err()
		}
		p.failed(lastErr)
		select {
		case <-ctx.Done():
			p.fail(recs)
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.cfg.backoffMax)
		res = p.start(ctx, krecs)
	}
	return nil
}

// rebuild makes a fresh record of a failed one, to produce it again.
func rebuild(r *kgo.Record) *kgo.Record {
	return &kgo.Record{Key: r.Key, Value: r.Value, Headers: r.Headers}
}

func (p *Producer) deliver(recs []agent.Record) {
	if len(recs) == 0 {
		return
	}
	p.published.Add(float64(len(recs)))
	p.set.Metrics.Delivered.Add(float64(len(recs)))
	agent.AckAll(recs, agent.Delivered)
}

func (p *Producer) fail(recs []agent.Record) {
	p.set.Metrics.Failed.Add(float64(len(recs)))
	agent.AckAll(recs, agent.Failed)
}

func (p *Producer) deadLetter(ctx context.Context, recs []agent.Record, errs []string, reason string) {
	if len(recs) == 0 {
		return
	}
	out := make(agent.Batch, len(recs))
	for i := range recs {
		out[i] = agent.NewDeadLetter(&recs[i], agent.DeadLetter{Component: p.set.ID, Step: "publish", Reason: reason,
			Errors: []agent.FieldError{{Error: p.conn.Scrub(errs[i])}}})
	}
	p.set.Metrics.DeadLetter(reason).Add(float64(len(recs)))
	if p.set.DeadLetter == nil {
		agent.AckAll(out, agent.DeadLettered)
		return
	}
	_ = p.set.DeadLetter.Emit(ctx, out)
}

// Close closes the client's connections; records it still holds are
// failed (their source reads them again).
func (p *Producer) Close() error {
	p.cl.Close()
	return nil
}
