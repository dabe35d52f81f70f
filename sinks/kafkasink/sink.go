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
	"slices"
	"sync"
	"sync/atomic"

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
	p   *kafkaclient.Producer

	// free holds the slabs of the batches not in flight: up to inFlight
	// batches are on their way to the broker while Consume encodes the
	// next one.
	free chan *slab
	wg   sync.WaitGroup
	// closed ends the batches still waiting when the sink is closed (their
	// records fail): the runtime's drain deadline has passed by then.
	closed context.Context
	close  context.CancelFunc
	err    atomic.Pointer[error] // the last batch that failed, for Consume or Flush to report
}

// inFlight is how many batches the sink hands to the producer before it
// waits for the oldest one's answer.
const inFlight = 4

// slab is what one batch is encoded into: the records (the sink's own
// copy: Consume must not keep b), their keys, values and header values in
// one buffer, the producer's records and their headers; reused from batch
// to batch once the broker answered every record (the client then holds no
// reference to them).
type slab struct {
	recs []agent.Record
	buf  []byte
	msgs []kgo.Record
	hdrs []kgo.RecordHeader
	ends []int
}

func newSink(set agent.Settings, cfg *Config) (*Sink, error) {
	p, err := kafkaclient.NewProducer(set, &cfg.ProducerConfig)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, set: set, p: p, free: make(chan *slab, inFlight)}
	s.closed, s.close = context.WithCancel(context.Background())
	for range inFlight {
		s.free <- &slab{}
	}
	return s, nil
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

// Consume encodes b and hands it to the producer
// (kafkaclient.Producer.Start), without waiting for the broker: up to
// inFlight batches are on the wire while the next one is encoded, and a
// goroutine per batch waits for its answer (Pending.Wait: retried with
// backoff until it succeeds or the drain deadline passes; records refused
// for good are dead-lettered). Consume blocks while inFlight batches wait.
// The batch's keys, values and header values are encoded into one buffer,
// its producer records and headers are one slice each, all reused from
// batch to batch: no allocation per record.
func (s *Sink) Consume(ctx context.Context, b agent.Batch) error {
	var sl *slab
	select {
	case sl = <-s.free:
	case <-ctx.Done():
		s.set.Metrics.Failed.Add(float64(len(b)))
		agent.AckAll(b, agent.Failed)
		return ctx.Err()
	}
	headers := s.cfg.Headers == nil || *s.cfg.Headers
	recs := append(sl.recs[:0], b...)
	// ends[4i:4i+4]: where record i's key, value, id and kind end in buf.
	ends := slices.Grow(sl.ends[:0], 4*len(recs))[:4*len(recs)]
	buf, msgs, hdrs := sl.buf[:0], slices.Grow(sl.msgs[:0], len(recs))[:len(recs)], sl.hdrs[:0]
	for i := range recs {
		r := &recs[i]
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
		hdrs = slices.Grow(hdrs, 2*len(recs))[:2*len(recs)]
	}
	start := 0
	for i := range msgs {
		e := ends[4*i : 4*i+4]
		m := kgo.Record{Value: buf[e[0]:e[1]:e[1]]}
		if e[0] > start || s.hasKey(&recs[i]) {
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
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.closed, cancel)
	pending := s.p.Start(wctx, recs, msgs)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := pending.Wait()
		stop()
		cancel()
		clear(recs) // the records are resolved: let go of what they hold
		next := &slab{recs: recs[:0], buf: buf, msgs: msgs, hdrs: hdrs, ends: ends}
		if err != nil {
			s.err.Store(&err)
			next = &slab{} // the client may still read the old ones (an abandoned request)
		}
		s.free <- next
	}()
	return s.takeErr()
}

// takeErr returns (and forgets) the error of a batch that failed since
// the last call: the runtime logs and counts it.
func (s *Sink) takeErr() error {
	if e := s.err.Swap(nil); e != nil {
		return *e
	}
	return nil
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

// Flush waits until every batch handed to the producer is resolved
// (acknowledged, dead-lettered, or failed when ctx ends: each batch waits
// with the ctx Consume was given, which ends at the same drain deadline).
func (s *Sink) Flush(context.Context) error {
	s.wg.Wait()
	return s.takeErr()
}

// Close fails the batches still in flight (the runtime closes the sink
// after Flush: at the drain deadline at the latest), then closes the
// producer's connections.
func (s *Sink) Close() error {
	s.close()
	s.wg.Wait()
	return s.p.Close()
}
