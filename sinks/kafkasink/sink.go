// Package kafka is the `sink "kafka"` component: it publishes records, in
// their JSON wire form, to a Kafka topic, keyed so that one entity's
// records stay in order on one partition. A record counts as delivered only
// once the broker acknowledged it with acks=all.
package kafkasink

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/kafkaclient"
)

//go:embed example.hcl
var example string

// Config is the `sink "kafka"` block.
type Config struct {
	Brokers  []string `hcl:"brokers"`
	Topic    string   `hcl:"topic"`
	Key      string   `hcl:"key,optional"`
	KeyField string   `hcl:"key_field,optional"`
	ClientID string   `hcl:"client_id,optional"`

	BatchMaxRecords int    `hcl:"batch_max_records,optional"`
	BatchMaxBytes   int    `hcl:"batch_max_bytes,optional"`
	BatchTimeout    string `hcl:"batch_timeout,optional"`
	Compression     string `hcl:"compression,optional"`
	WriteTimeout    string `hcl:"write_timeout,optional"`
	RetryBackoffMin string `hcl:"retry_backoff_min,optional"`
	RetryBackoffMax string `hcl:"retry_backoff_max,optional"`
	Headers         *bool  `hcl:"headers,optional"`

	TLS  *kafkaclient.TLS  `hcl:"tls,block"`
	SASL *kafkaclient.SASL `hcl:"sasl,block"`

	batchTimeout, writeTimeout, backoffMin, backoffMax time.Duration
	compression                                        kafkago.Compression
}

func defaultConfig() *Config {
	return &Config{
		Key:             "entity",
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

// Validate checks the config and parses its durations.
func (c *Config) Validate() error {
	var errs []error
	c.Brokers = kafkaclient.SplitBrokers(c.Brokers)
	if err := kafkaclient.ValidateBrokers(c.Brokers); err != nil {
		errs = append(errs, err)
	}
	if c.Topic == "" {
		errs = append(errs, agent.AttrErrorf("topic", `Name the topic to publish to, such as "metadata-changes".`, "empty"))
	}
	switch c.Key {
	case "entity", "id", "none":
	default:
		errs = append(errs, agent.AttrErrorf("key", `Use "entity" (the default), "id" or "none"; or set key_field to key by a field.`, "unknown value %q", c.Key))
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
	if err := (&kafkaclient.Security{TLS: c.TLS, SASL: c.SASL}).Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NewFactory returns the factory of `sink "kafka"`.
func NewFactory() *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[Config, agent.Sink]{
		Type:        "kafka",
		Description: "Publishes records as JSON to a Kafka topic, keyed by entity, acknowledged by the broker (acks=all).",
		Example:     example,
		NewConfig:   func() *Config { return defaultConfig() },
		Create: func(set agent.Settings, cfg *Config) (agent.Sink, error) {
			return newSink(set, cfg)
		},
	})
}

// Sink publishes records to one topic.
type Sink struct {
	cfg  *Config
	set  agent.Settings
	enc  agent.Encoder // Consume's (one goroutine)
	conn *kafkaclient.Conn
	w    *kafkago.Writer

	retries, noKey prometheus.Counter
	published      prometheus.Counter
}

func newSink(set agent.Settings, cfg *Config) (*Sink, error) {
	conn, err := (&kafkaclient.Security{TLS: cfg.TLS, SASL: cfg.SASL}).Build(cfg.Brokers, cfg.ClientID, cfg.writeTimeout, 0)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, set: set, conn: conn,
		retries:   set.Metrics.Counter("kafka_producer_retries_total", "Writes retried after an error (the broker down, a leader moving); records are failed only at the drain deadline."),
		noKey:     set.Metrics.Counter("kafka_producer_unkeyed_records_total", "Records published without a key (no entity, or key_field missing): spread over the partitions."),
		published: set.Metrics.Counter("kafka_producer_acked_records_total", "Records the broker acknowledged (acks=all)."),
	}
	s.w = &kafkago.Writer{
		Addr: kafkago.TCP(cfg.Brokers...), Topic: cfg.Topic,
		// Murmur2 is the Java client's default partitioner: a key lands on
		// the partition other producers would pick for it.
		Balancer:     &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll,
		// Retries are the sink's own (with backoff, until the drain
		// deadline); the writer tries each batch a few times first.
		MaxAttempts: 3, WriteBackoffMin: 50 * time.Millisecond, WriteBackoffMax: 500 * time.Millisecond,
		BatchSize: cfg.BatchMaxRecords, BatchBytes: int64(cfg.BatchMaxBytes), BatchTimeout: cfg.batchTimeout,
		WriteTimeout: cfg.writeTimeout, ReadTimeout: cfg.writeTimeout,
		Compression: cfg.compression,
		Transport:   conn.Transport,
		Logger:      conn.Logger(func(m string) { set.Logger.Debug(m) }),
		ErrorLogger: conn.Logger(func(m string) { set.Logger.Debug(m) }),
	}
	return s, nil
}

// key returns the message key of r, or nil.
func (s *Sink) key(r *agent.Record) []byte {
	if s.cfg.KeyField != "" {
		v, ok := r.Get(s.cfg.KeyField)
		if !ok || v == nil {
			return nil
		}
		if str, ok := v.(string); ok {
			return []byte(str)
		}
		return []byte(fmt.Sprint(v))
	}
	switch s.cfg.Key {
	case "id":
		return []byte(r.EnsureID())
	case "entity":
		return EntityKey(r.Entity)
	}
	return nil
}

// EntityKey is the message key of an entity: "k1=v1,k2=v2" in the entity's
// order, or nil for an empty entity.
func EntityKey(e []agent.KV) []byte {
	if len(e) == 0 {
		return nil
	}
	var b strings.Builder
	for i, kv := range e {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(kv.Value)
	}
	return []byte(b.String())
}

func (s *Sink) message(r *agent.Record) kafkago.Message {
	m := kafkago.Message{Key: s.key(r), Value: s.enc.Append(nil, r)}
	if m.Key == nil {
		s.noKey.Inc()
	}
	if s.cfg.Headers == nil || *s.cfg.Headers {
		m.Headers = []kafkago.Header{{Key: "octoagent-id", Value: []byte(r.EnsureID())}, {Key: "octoagent-kind", Value: []byte(kindOf(r))}}
	}
	return m
}

func kindOf(r *agent.Record) string {
	if r.Kind == "" {
		return agent.KindRaw
	}
	return r.Kind
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

// Consume publishes b and waits for the broker's acknowledgement. A write
// that fails is retried with backoff until it succeeds or ctx ends (the
// drain deadline): a broker that is down and back loses nothing. Records
// the broker refuses for good (too large, invalid) go to the dead-letter
// output.
func (s *Sink) Consume(ctx context.Context, b agent.Batch) error {
	recs := make([]agent.Record, 0, len(b))
	msgs := make([]kafkago.Message, 0, len(b))
	var dead []agent.Record
	var deadErr []string
	for i := range b {
		m := s.message(&b[i])
		if size(&m) > s.cfg.BatchMaxBytes {
			dead = append(dead, b[i])
			deadErr = append(deadErr, fmt.Sprintf("message of %d bytes is larger than batch_max_bytes %d", size(&m), s.cfg.BatchMaxBytes))
			continue
		}
		recs = append(recs, b[i])
		msgs = append(msgs, m)
	}
	s.deadLetter(ctx, dead, deadErr, "too_large")
	backoff := s.cfg.backoffMin
	warned := false
	for len(msgs) > 0 {
		err := s.w.WriteMessages(ctx, msgs...)
		if err == nil {
			s.deliver(recs)
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
			s.deliver(okRecs)
			s.deadLetter(ctx, badRecs, badErr, "rejected")
			recs, msgs = keepRecs, keepMsgs
		case errors.As(err, &tooLarge):
			i := len(msgs) - len(tooLarge.Remaining) - 1
			if i >= 0 && i < len(msgs) {
				s.deadLetter(ctx, recs[i:i+1], []string{"message too large for the writer's batch_max_bytes"}, "too_large")
				recs = append(recs[:i:i], recs[i+1:]...)
				msgs = append(msgs[:i:i], msgs[i+1:]...)
				continue
			}
		}
		if len(msgs) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			s.fail(recs)
			return ctx.Err()
		}
		s.retries.Inc()
		if !warned {
			s.set.Logger.Warn("publish failed; retrying with backoff until it succeeds or the drain deadline passes",
				"topic", s.cfg.Topic, "records", len(msgs), "error", s.conn.Scrub(err.Error()))
			warned = true
		}
		select {
		case <-ctx.Done():
			s.fail(recs)
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.cfg.backoffMax)
	}
	return nil
}

func (s *Sink) deliver(recs []agent.Record) {
	if len(recs) == 0 {
		return
	}
	s.published.Add(float64(len(recs)))
	s.set.Metrics.Delivered.Add(float64(len(recs)))
	agent.AckAll(recs, agent.Delivered)
}

func (s *Sink) fail(recs []agent.Record) {
	s.set.Metrics.Failed.Add(float64(len(recs)))
	agent.AckAll(recs, agent.Failed)
}

func (s *Sink) deadLetter(ctx context.Context, recs []agent.Record, errs []string, reason string) {
	if len(recs) == 0 {
		return
	}
	out := make(agent.Batch, len(recs))
	for i := range recs {
		out[i] = agent.NewDeadLetter(&recs[i], agent.DeadLetter{Component: s.set.ID, Step: "publish", Reason: reason,
			Errors: []agent.FieldError{{Error: s.conn.Scrub(errs[i])}}})
	}
	s.set.Metrics.DeadLetter(reason).Add(float64(len(recs)))
	if s.set.DeadLetter == nil {
		agent.AckAll(out, agent.DeadLettered)
		return
	}
	_ = s.set.DeadLetter.Emit(ctx, out)
}

// Flush has nothing to do: Consume returns only once the broker answered.
func (s *Sink) Flush(context.Context) error { return nil }

// Close closes the writer's connections.
func (s *Sink) Close() error { return s.w.Close() }
