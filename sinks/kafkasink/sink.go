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

	"github.com/hashicorp/hcl/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/internal/kafkaclient"
)

//go:embed example.hcl
var example string

// Config is the `sink "kafka"` block: its own attributes (the key and the
// headers) and the ones every Kafka producer has (kafkaclient.ProducerConfig:
// brokers, topic, batching, retries, tls, sasl), decoded by DecodeHCL.
type Config struct {
	Key      string   `hcl:"key,optional"`
	KeyField string   `hcl:"key_field,optional"`
	Headers  *bool    `hcl:"headers,optional"`
	Remain   hcl.Body `hcl:",remain"`

	kafkaclient.ProducerConfig
}

func defaultConfig() *Config {
	return &Config{Key: "entity", ProducerConfig: kafkaclient.DefaultProducerConfig()}
}

// DecodeHCL decodes the block: its own attributes and the producer's.
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, _ *decode.Env) hcl.Diagnostics {
	return decode.Split(body, ctx, c, &c.Remain, &c.ProducerConfig)
}

// Validate checks the config and parses its durations.
func (c *Config) Validate() error {
	var errs []error
	switch c.Key {
	case "entity", "id", "none":
	default:
		errs = append(errs, agent.AttrErrorf("key", `Use "entity" (the default), "id" or "none"; or set key_field to key by a field.`, "unknown value %q", c.Key))
	}
	if err := c.ProducerConfig.Validate(); err != nil {
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
	cfg *Config
	set agent.Settings
	enc agent.Encoder // Consume's (one goroutine)
	// buf, msgs and hdrs are the last batch's buffer, producer records and
	// headers, reused once Publish returned with every record answered
	// (the client then holds no reference to them).
	buf  []byte
	msgs []kgo.Record
	hdrs []kgo.RecordHeader
	ends []int
	p    *kafkaclient.Producer
}

func newSink(set agent.Settings, cfg *Config) (*Sink, error) {
	p, err := kafkaclient.NewProducer(set, &cfg.ProducerConfig)
	if err != nil {
		return nil, err
	}
	return &Sink{cfg: cfg, set: set, p: p}, nil
}

// EntityKey is the message key of an entity: "k1=v1,k2=v2" in the entity's
// order, or nil for an empty entity.
func EntityKey(e []agent.KV) []byte {
	if len(e) == 0 {
		return nil
	}
	return appendEntityKey(nil, e)
}

func appendEntityKey(dst []byte, e []agent.KV) []byte {
	for i, kv := range e {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, kv.Key...)
		dst = append(dst, '=')
		dst = append(dst, kv.Value...)
	}
	return dst
}

func kindOf(r *agent.Record) string {
	if r.Kind == "" {
		return agent.KindRaw
	}
	return r.Kind
}

// Consume publishes b and waits for the broker's acknowledgement
// (kafkaclient.Producer.Publish: retried with backoff until it succeeds or
// the drain deadline passes; records refused for good are dead-lettered).
// The batch's keys, values and header values are encoded into one buffer,
// and its producer records and headers are one slice each, all reused
// from batch to batch: no allocation per record.
func (s *Sink) Consume(ctx context.Context, b agent.Batch) error {
	headers := s.cfg.Headers == nil || *s.cfg.Headers
	// ends[4i:4i+4]: where record i's key, value, id and kind end in buf.
	ends := grow(s.ends, 4*len(b))
	buf, msgs, hdrs := s.buf[:0], grow(s.msgs, len(b)), s.hdrs[:0]
	s.buf, s.msgs, s.hdrs, s.ends = nil, nil, nil, nil
	for i := range b {
		r := &b[i]
		buf = s.appendKey(buf, r)
		ends[4*i] = len(buf)
		if headers {
			r.EnsureID() // before the value: encoded once, not hashed twice
		}
		buf = s.enc.Append(buf, r)
		ends[4*i+1] = len(buf)
		if headers {
			buf = append(buf, r.ID...)
			ends[4*i+2] = len(buf)
			buf = append(buf, kindOf(r)...)
		} else {
			ends[4*i+2] = len(buf)
		}
		ends[4*i+3] = len(buf)
	}
	if headers {
		hdrs = grow(hdrs, 2*len(b))
	}
	start := 0
	for i := range msgs {
		e := ends[4*i : 4*i+4]
		m := kgo.Record{Value: buf[e[0]:e[1]:e[1]]}
		if e[0] > start || s.hasKey(&b[i]) {
			m.Key = buf[start:e[0]:e[0]]
		}
		if headers {
			h := hdrs[2*i : 2*i+2 : 2*i+2]
			h[0] = kgo.RecordHeader{Key: "octoagent-id", Value: buf[e[1]:e[2]:e[2]]}
			h[1] = kgo.RecordHeader{Key: "octoagent-kind", Value: buf[e[2]:e[3]:e[3]]}
			m.Headers = h
		}
		msgs[i] = m // the whole record: what the client set last time is reset
		start = e[3]
	}
	err := s.p.Publish(ctx, b, msgs)
	if err == nil { // else the client may still read them (an abandoned request)
		s.buf, s.msgs, s.hdrs, s.ends = buf, msgs, hdrs, ends
	}
	return err
}

// grow returns s with length n, reusing its array when it is large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// appendKey appends the message key of r (nothing when it has none).
func (s *Sink) appendKey(dst []byte, r *agent.Record) []byte {
	if s.cfg.KeyField != "" {
		v, ok := r.Get(s.cfg.KeyField)
		if !ok || v == nil {
			return dst
		}
		if str, ok := v.(string); ok {
			return append(dst, str...)
		}
		return fmt.Append(dst, v)
	}
	switch s.cfg.Key {
	case "id":
		return append(dst, r.EnsureID()...)
	case "entity":
		return appendEntityKey(dst, r.Entity)
	}
	return dst
}

// hasKey reports whether r has a message key, even an empty one (nil is
// no key: the record is spread over the partitions).
func (s *Sink) hasKey(r *agent.Record) bool {
	if s.cfg.KeyField != "" {
		v, ok := r.Get(s.cfg.KeyField)
		return ok && v != nil
	}
	switch s.cfg.Key {
	case "id":
		return true
	case "entity":
		return len(r.Entity) > 0
	}
	return false
}

// Flush has nothing to do: Consume returns only once the broker answered.
func (s *Sink) Flush(context.Context) error { return nil }

// Close closes the writer's connections.
func (s *Sink) Close() error { return s.p.Close() }
