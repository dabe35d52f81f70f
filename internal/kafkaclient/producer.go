package kafkaclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

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
	compression                                        kafkago.Compression
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

var compressions = map[string]kafkago.Compression{
	"none": 0, "gzip": kafkago.Gzip, "snappy": kafkago.Snappy, "lz4": kafkago.Lz4, "zstd": kafkago.Zstd,
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
type Producer struct {
	cfg  *ProducerConfig
	set  agent.Settings
	conn *Conn
	w    *kafkago.Writer

	retries, noKey prometheus.Counter
	published      prometheus.Counter
}

// NewProducer builds a producer from a validated config.
func NewProducer(set agent.Settings, cfg *ProducerConfig) (*Producer, error) {
	conn, err := (&Security{TLS: cfg.TLS, SASL: cfg.SASL}).Build(cfg.Brokers, cfg.ClientID, cfg.writeTimeout, 0)
	if err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, set: set, conn: conn,
		retries:   set.Metrics.Counter("kafka_producer_retries_total", "Writes retried after an error (the broker down, a leader moving); records are failed only at the drain deadline."),
		noKey:     set.Metrics.Counter("kafka_producer_unkeyed_records_total", "Records published without a key (no entity, or key_field missing): spread over the partitions."),
		published: set.Metrics.Counter("kafka_producer_acked_records_total", "Records the broker acknowledged (acks=all)."),
	}
	p.w = &kafkago.Writer{
		Addr: kafkago.TCP(cfg.Brokers...), Topic: cfg.Topic,
		// Murmur2 is the Java client's default partitioner: a key lands on
		// the partition other producers would pick for it.
		Balancer:     &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll,
		// Retries are the producer's own (with backoff, until the drain
		// deadline); the writer tries each batch a few times first.
		MaxAttempts: 3, WriteBackoffMin: 50 * time.Millisecond, WriteBackoffMax: 500 * time.Millisecond,
		BatchSize: cfg.BatchMaxRecords, BatchBytes: int64(cfg.BatchMaxBytes), BatchTimeout: cfg.batchTimeout,
		WriteTimeout: cfg.writeTimeout, ReadTimeout: cfg.writeTimeout,
		Compression: cfg.compression,
		Transport:   conn.Transport,
		Logger:      conn.Logger(func(m string) { set.Logger.Debug(m) }),
		ErrorLogger: conn.Logger(func(m string) { set.Logger.Debug(m) }),
	}
	return p, nil
}

// size estimates what the writer counts against batch_max_bytes.
func size(m *kafkago.Message) int {
	n := len(m.Key) + len(m.Value) + 64
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}

// permanent reports whether the broker refused a record for good.
func permanent(err error) bool {
	var ke kafkago.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafkago.MessageSizeTooLarge, kafkago.InvalidRecord, kafkago.RecordListTooLarge, kafkago.InvalidTimestamp:
			return true
		}
	}
	return false
}

// Publish writes msgs[i], the message of recs[i], and waits for the
// broker's acknowledgement. A write that fails is retried with backoff
// until it succeeds or ctx ends (the drain deadline): a broker that is down
// and back loses nothing. Records the broker refuses for good (too large,
// invalid) go to the dead-letter output. Every record is resolved when
// Publish returns.
func (p *Producer) Publish(ctx context.Context, recs []agent.Record, msgs []kafkago.Message) error {
	var dead []agent.Record
	var deadErr []string
	keepRecs, keepMsgs := recs[:0:0], msgs[:0:0]
	for i := range msgs {
		if msgs[i].Key == nil {
			p.noKey.Inc()
		}
		if n := size(&msgs[i]); n > p.cfg.BatchMaxBytes {
			dead = append(dead, recs[i])
			deadErr = append(deadErr, fmt.Sprintf("message of %d bytes is larger than batch_max_bytes %d", n, p.cfg.BatchMaxBytes))
			continue
		}
		keepRecs = append(keepRecs, recs[i])
		keepMsgs = append(keepMsgs, msgs[i])
	}
	recs, msgs = keepRecs, keepMsgs
	p.deadLetter(ctx, dead, deadErr, "too_large")
	backoff := p.cfg.backoffMin
	warned := false
	for len(msgs) > 0 {
		err := p.w.WriteMessages(ctx, msgs...)
		if err == nil {
			p.deliver(recs)
			return nil
		}
		var werrs kafkago.WriteErrors
		var tooLarge kafkago.MessageTooLargeError
		switch {
		case errors.As(err, &werrs) && len(werrs) == len(msgs):
			var okRecs, keepRecs, badRecs []agent.Record
			var keepMsgs []kafkago.Message
			var badErr []string
			for i, e := range werrs {
				switch {
				case e == nil:
					okRecs = append(okRecs, recs[i])
				case permanent(e):
					badRecs = append(badRecs, recs[i])
					badErr = append(badErr, e.Error())
				default:
					keepRecs = append(keepRecs, recs[i])
					keepMsgs = append(keepMsgs, msgs[i])
					err = e
				}
			}
			p.deliver(okRecs)
			p.deadLetter(ctx, badRecs, badErr, "rejected")
			recs, msgs = keepRecs, keepMsgs
		case errors.As(err, &tooLarge):
			i := len(msgs) - len(tooLarge.Remaining) - 1
			if i >= 0 && i < len(msgs) {
				p.deadLetter(ctx, recs[i:i+1], []string{"message too large for the writer's batch_max_bytes"}, "too_large")
				recs = append(recs[:i:i], recs[i+1:]...)
				msgs = append(msgs[:i:i], msgs[i+1:]...)
				continue
			}
		}
		if len(msgs) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			p.fail(recs)
			return ctx.Err()
		}
		p.retries.Inc()
		if !warned {
			p.set.Logger.Warn("publish failed; retrying with backoff until it succeeds or the drain deadline passes",
				"topic", p.cfg.Topic, "records", len(msgs), "error", p.conn.Scrub(err.Error()))
			warned = true
		}
		select {
		case <-ctx.Done():
			p.fail(recs)
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.cfg.backoffMax)
	}
	return nil
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

// Close closes the writer's connections.
func (p *Producer) Close() error { return p.w.Close() }
