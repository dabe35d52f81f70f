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

	"github.com/hashicorp/hcl/v2"
	kafkago "github.com/segmentio/kafka-go"

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
	p   *kafkaclient.Producer
}

func newSink(set agent.Settings, cfg *Config) (*Sink, error) {
	p, err := kafkaclient.NewProducer(set, &cfg.ProducerConfig)
	if err != nil {
		return nil, err
	}
	return &Sink{cfg: cfg, set: set, p: p}, nil
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

// Consume publishes b and waits for the broker's acknowledgement
// (kafkaclient.Producer.Publish: retried with backoff until it succeeds or
// the drain deadline passes; records refused for good are dead-lettered).
func (s *Sink) Consume(ctx context.Context, b agent.Batch) error {
	recs := make([]agent.Record, len(b))
	msgs := make([]kafkago.Message, len(b))
	for i := range b {
		msgs[i] = s.message(&b[i])
		recs[i] = b[i]
	}
	return s.p.Publish(ctx, recs, msgs)
}

// Flush has nothing to do: Consume returns only once the broker answered.
func (s *Sink) Flush(context.Context) error { return nil }

// Close closes the writer's connections.
func (s *Sink) Close() error { return s.p.Close() }
