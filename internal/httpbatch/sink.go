// Package httpbatch is the machinery the HTTP sinks (`sink "octostore"`,
// `sink "http"`) share: batching by records, bytes and time, gzip, a bounded
// number of requests in flight, retries with capped exponential backoff and
// jitter that honour Retry-After, splitting on 413, dead letters for what
// the destination rejects, bearer tokens (re-read from their file when it
// changes), TLS and mTLS. A sink supplies a Protocol: how records group into
// requests, how a body is framed, and how a 2xx answer reads.
package httpbatch

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/credentials"
)

// Status is what the destination said about one record of a 2xx answer.
type Status uint8

const (
	// Accepted: stored (or already stored: a duplicate id).
	Accepted Status = iota
	// Rejected: refused for good; the record goes to the dead-letter output.
	Rejected
	// Unknown: the answer did not mention it; it is sent again.
	Unknown
)

// Result is the outcome of one record in a 2xx answer.
type Result struct {
	Status Status
	Errors []agent.FieldError
	// Reason is the dead letter's reason for a Rejected record (the
	// metric's label); "" is "rejected".
	Reason string
}

// Protocol is what differs between HTTP sinks.
type Protocol interface {
	// Key groups records into requests: records with different keys never
	// share one (a URL template); return "" to batch everything together.
	// The key must not share the record's bytes (a field's string): it
	// names the open batch and is sent to by the batch's retries and the
	// halves of a split, after the record that made it may have an
	// outcome and its memory be reused (docs/architecture.md, Recycled
	// memory).
	Key(r *agent.Record) string
	// Target returns the method and URL of the request for one key.
	Target(key string) (method, url string)
	// Framing returns what goes before the first record, between two, and
	// after the last, and the Content-Type of the body. It is called once,
	// by New.
	Framing() (open, sep, close, contentType string)
	// Results reads the body of a 2xx answer for records with the given
	// ids. A nil slice means every record was accepted. body is reused
	// once Results returns, and ids may view records about to be
	// resolved: neither must be kept.
	Results(body []byte, ids []string) ([]Result, error)
	// Headers returns extra request headers (their values are treated as
	// secrets: never logged).
	Headers() map[string]string
	// Step names the dead-letter step ("octostore.ingest", "http").
	Step() string
}

// Encoder is implemented by a Protocol whose requests do not carry the
// records' wire form (docs/record.md): AppendRecord appends what stands for
// one record in the body (an OpenLineage event, say) to dst.
type Encoder interface {
	AppendRecord(dst []byte, r *agent.Record) []byte
}

// BatchEncoder is implemented by a Protocol whose body is not the records'
// encodings one after another but one message built from them all (OTLP:
// one protobuf message, records grouped by resource and scope). Framing is
// then ignored but for its Content-Type.
type BatchEncoder interface {
	NewBuilder() Builder
}

// Builder builds the body of one request. Each open batch has its own,
// reused from batch to batch.
type Builder interface {
	// Add converts a record into the body being built (it must not keep
	// r) and returns the record's size in it: what batch_max_bytes counts.
	Add(r *agent.Record) int
	// AppendBody appends the body of the records added since the last
	// AppendBody or Reset to dst, and starts afresh.
	AppendBody(dst []byte) []byte
	// Reset drops the records added.
	Reset()
}

// Sender is implemented by a Protocol that sends requests itself instead
// of as HTTP requests (OTLP over gRPC). Batching, bodies, retries and
// backoff, splitting, tokens and dead letters stay the engine's; Send makes
// one attempt and says how it went. The body is not compressed by the
// engine: the sender compresses as its transport does.
type Sender interface {
	// Send sends body, holding the records with the given ids, once, with
	// the bearer token (none when zero) and the protocol's Headers. An
	// Attempt with ErrKind "auth" makes the engine read the token file
	// again before the next attempt.
	Send(ctx context.Context, body []byte, ids []string, token agent.Secret) Attempt
}

// ErrorReader is implemented by a Protocol whose error answers are not
// text (OTLP/HTTP answers a protobuf google.rpc.Status): ErrorText turns
// the body of a non-2xx answer into a message.
type ErrorReader interface {
	ErrorText(body []byte) string
}

// Sink is an agent.Sink that sends batches over HTTP.
type Sink struct {
	set    agent.Settings
	enc    agent.Encoder // under mu
	opt    Options
	proto  Protocol
	client *http.Client
	tok    *credentials.TokenSource
	log    *slog.Logger

	// encoder is proto's Encoder, or nil for the wire form; batchEnc its
	// BatchEncoder and sender its Sender, when it is one.
	encoder  Encoder
	batchEnc BatchEncoder
	sender   Sender
	errText  ErrorReader
	// zip: the engine gzips bodies (compression = "gzip", and not a Sender).
	zip bool

	// The protocol's framing (Framing is called once).
	fOpen, fSep, fClose, ctype string

	// Free lists, so that the steady state allocates no batch buffers,
	// compressed bodies or gzip writers. They keep no more than what is
	// in use at once anyway: batches (records, compressed body, answer)
	// for in_flight+2 (sending, waiting for a slot, open); two
	// uncompressed buffers (open, being compressed) and two gzip writers.
	// What grew past keepBytes (a record larger than batch_max_bytes) is
	// left to the GC.
	freeBatches chan *batch
	freeBufs    chan []byte
	freeZ       chan *gzip.Writer
	freeAnswers chan []byte // answers' bodies, read and done with in attempt
	keepBytes   int

	ctx     context.Context
	cancel  context.CancelFunc
	bindMu  sync.Mutex
	boundTo context.Context

	mu   sync.Mutex
	open map[string]*batch

	sem      chan struct{}
	wg       sync.WaitGroup
	tickStop chan struct{}
	tickDone chan struct{}
	stopOnce sync.Once

	failing  atomic.Bool
	lastWarn atomic.Int64
	m        metrics
}

type metrics struct {
	requests, retries, splits, sentBytes prometheus.Counter
	inFlight                             prometheus.Gauge
}

// New builds an HTTP sink. healthURL, if not empty, is checked once at
// start; a failure only warns.
func New(set agent.Settings, opt Options, proto Protocol, healthURL string) (*Sink, error) {
	tlsCfg, err := opt.TLSClientConfig()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          opt.InFlight * 2,
		MaxIdleConnsPerHost:   opt.InFlight * 2,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opt.Timeout,
	}
	s := &Sink{
		set: set, opt: opt, proto: proto, log: set.Logger,
		freeBatches: make(chan *batch, opt.InFlight+2),
		freeBufs:    make(chan []byte, 2),
		freeZ:       make(chan *gzip.Writer, 2),
		freeAnswers: make(chan []byte, 2),
		keepBytes:   max(2*opt.MaxBytes, 64<<10),
		client:      &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		tok:         credentials.NewTokenSource(opt.Token, opt.TokenFile),
		open:        map[string]*batch{},
		sem:         make(chan struct{}, opt.InFlight),
		tickStop:    make(chan struct{}),
		tickDone:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.fOpen, s.fSep, s.fClose, s.ctype = proto.Framing()
	s.encoder, _ = proto.(Encoder)
	s.batchEnc, _ = proto.(BatchEncoder)
	s.sender, _ = proto.(Sender)
	s.errText, _ = proto.(ErrorReader)
	s.zip = opt.Gzip && s.sender == nil
	s.ctx, s.cancel = context.WithCancel(context.Background())
	cm := set.Metrics
	s.m = metrics{
		requests:  cm.Counter("http_requests_total", "HTTP requests an HTTP sink sent (retries included)."),
		retries:   cm.Counter("http_retries_total", "HTTP requests an HTTP sink will send again after a failure."),
		splits:    cm.Counter("http_batches_split_total", "Batches an HTTP sink split in two after a 413."),
		sentBytes: cm.Counter("http_sent_bytes_total", "Request body bytes an HTTP sink sent (after compression)."),
		inFlight:  cm.Gauge("http_in_flight_requests", "Batches an HTTP sink is sending or retrying now."),
	}
	if opt.TLS != nil && opt.TLS.InsecureSkipVerify {
		s.log.Warn("tls.insecure_skip_verify is on: the server's certificate and host name are NOT checked, so anyone on the path can read and change what this sink sends, and receive its token; use it only for tests")
	}
	if opt.TokenFile != "" {
		if _, err := s.tok.Get(); err != nil {
			s.log.Warn("cannot read the token file yet; requests are retried until it can be read", "error", err)
		}
	}
	go s.ticker()
	if healthURL != "" {
		go s.healthCheck(healthURL)
	}
	return s, nil
}

// bind ties the sink's requests to the runtime's context: when it ends
// (the drain deadline), everything in flight is resolved as failed.
func (s *Sink) bind(ctx context.Context) {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	if s.boundTo == ctx || ctx == nil {
		return
	}
	s.boundTo = ctx
	context.AfterFunc(ctx, s.cancel)
}

// Consume adds the records to the open batches and sends every batch that
// is full. It blocks while in_flight requests are already under way.
func (s *Sink) Consume(ctx context.Context, b agent.Batch) error {
	s.bind(ctx)
	var full []*batch
	s.mu.Lock()
	for i := range b {
		full = s.add(&b[i], full)
	}
	s.mu.Unlock()
	for _, bt := range full {
		s.dispatch(bt)
	}
	return nil
}

// Flush sends what is held and waits until every record is resolved. If
// ctx ends first, what is still in flight is resolved as failed.
func (s *Sink) Flush(ctx context.Context) error {
	s.bind(ctx)
	s.stopTicker()
	s.mu.Lock()
	var rest []*batch
	for k, bt := range s.open {
		rest = append(rest, bt)
		delete(s.open, k)
	}
	s.mu.Unlock()
	for _, bt := range rest {
		s.dispatch(bt)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return ctx.Err()
	}
}

func (s *Sink) stopTicker() {
	s.stopOnce.Do(func() { close(s.tickStop) })
	<-s.tickDone
}

// Close stops everything; records still held are resolved as failed.
func (s *Sink) Close() error {
	s.cancel()
	s.stopTicker()
	s.mu.Lock()
	for k, bt := range s.open {
		s.fail(bt.recs)
		delete(s.open, k)
		s.release(bt)
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return nil
}
