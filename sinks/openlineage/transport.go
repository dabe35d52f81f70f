package openlineage

import (
	"context"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/httpbatch"
	"github.com/octostore/agent/internal/jsonlines"
	"github.com/octostore/agent/internal/kafkaclient"
)

// A transport sends events and resolves their records. Each record it is
// given carries its encoded event in Raw; keys[i] is record i's Kafka key.
type transport interface {
	send(ctx context.Context, b agent.Batch, keys []string) error
	Flush(ctx context.Context) error
	Close() error
}

func newTransport(set agent.Settings, c *Config) (transport, error) {
	switch {
	case c.HTTP != nil:
		opt, err := c.HTTP.Common.Options()
		if err != nil {
			return nil, err
		}
		url, err := c.HTTP.target()
		if err != nil {
			return nil, err
		}
		s, err := httpbatch.New(set, opt, &httpProtocol{url: url, headers: c.HTTP.Headers}, "")
		if err != nil {
			return nil, err
		}
		return httpTransport{s}, nil
	case c.Kafka != nil:
		p, err := kafkaclient.NewProducer(set, c.Kafka)
		if err != nil {
			return nil, err
		}
		return kafkaTransport{p}, nil
	default:
		f, err := jsonlines.OpenFile(c.File.Path)
		if err != nil {
			return nil, err
		}
		w := &jsonlines.Writer{W: f, Metrics: set.Metrics, Encode: appendEvent}
		if c.File.Fsync {
			w.Sync = f.Sync
		}
		return fileTransport{f, w}, nil
	}
}

// appendEvent appends the event a record carries.
func appendEvent(dst []byte, r *agent.Record) []byte { return append(dst, r.Raw...) }

// httpTransport POSTs one event per request (internal/httpbatch: retries
// with backoff, Retry-After, TLS, bearer token, dead letters for what the
// server refuses for good).
type httpTransport struct{ *httpbatch.Sink }

func (t httpTransport) send(ctx context.Context, b agent.Batch, _ []string) error {
	return t.Consume(ctx, b)
}

type httpProtocol struct {
	url     string
	headers map[string]string
}

func (p *httpProtocol) Key(*agent.Record) string       { return "" }
func (p *httpProtocol) Target(string) (string, string) { return "POST", p.url }
func (p *httpProtocol) Framing() (string, string, string, string) {
	return "", "", "", "application/json"
}
func (p *httpProtocol) Headers() map[string]string { return p.headers }
func (p *httpProtocol) Step() string               { return "openlineage.http" }

// Results: a 2xx answer accepts the event (Marquez answers 201, DataHub
// 200).
func (p *httpProtocol) Results([]byte, []string) ([]httpbatch.Result, error) { return nil, nil }

// AppendRecord writes the event instead of the record (httpbatch.Encoder).
func (p *httpProtocol) AppendRecord(dst []byte, r *agent.Record) []byte { return appendEvent(dst, r) }

// kafkaTransport publishes each event as one message keyed by job
// (kafkaclient.Producer: acks=all, retries until the drain deadline).
type kafkaTransport struct{ p *kafkaclient.Producer }

func (t kafkaTransport) send(ctx context.Context, b agent.Batch, keys []string) error {
	msgs := make([]kgo.Record, len(b))
	for i := range b {
		msgs[i] = kgo.Record{Key: []byte(keys[i]), Value: b[i].Raw}
	}
	return t.p.Publish(ctx, b, msgs)
}

func (t kafkaTransport) Flush(context.Context) error { return nil }
func (t kafkaTransport) Close() error                { return t.p.Close() }

// fileTransport appends each event as one line.
type fileTransport struct {
	f *os.File
	w *jsonlines.Writer
}

func (t fileTransport) send(ctx context.Context, b agent.Batch, _ []string) error {
	return t.w.Write(ctx, b)
}

func (t fileTransport) Flush(context.Context) error { return nil }
func (t fileTransport) Close() error                { return t.f.Close() }
