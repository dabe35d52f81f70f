// Package httpout is the machinery the HTTP sinks (`sink "octostore"`,
// `sink "http"`) share: batching by records, bytes and time, gzip, a bounded
// number of requests in flight, retries with capped exponential backoff and
// jitter that honour Retry-After, splitting on 413, dead letters for what
// the destination rejects, bearer tokens (re-read from their file when it
// changes), TLS and mTLS. A sink supplies a Protocol: how records group into
// requests, how a body is framed, and how a 2xx answer reads.
package httpbatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// klauspost/compress's gzip instead of compress/gzip: the same format
	// and API, for about half the CPU at level 1 and a slightly smaller
	// body (BenchmarkBatch); gzip was 28% of the agent's CPU in the
	// nginx_octostore bench. The module was already in the build (franz-go,
	// the Kafka client), so it adds no dependency.
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
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
}

// Protocol is what differs between HTTP sinks.
type Protocol interface {
	// Key groups records into requests: records with different keys never
	// share one (a URL template); return "" to batch everything together.
	Key(r *agent.Record) string
	// Target returns the method and URL of the request for one key.
	Target(key string) (method, url string)
	// Framing returns what goes before the first record, between two, and
	// after the last, and the Content-Type of the body. It is called once,
	// by New.
	Framing() (open, sep, close, contentType string)
	// Results reads the body of a 2xx answer for records with the given
	// ids. A nil slice means every record was accepted. body is reused
	// once Results returns: it must not be kept.
	Results(body []byte, ids []string) ([]Result, error)
	// Headers returns extra request headers (their values are treated as
	// secrets: never logged).
	Headers() map[string]string
	// Step names the dead-letter step ("octostore.ingest", "http").
	Step() string
}

// Sink is an agent.Sink that sends batches over HTTP.
type Sink struct {
	set    agent.Settings
	enc    agent.Encoder // under mu
	opt    Options
	proto  Protocol
	client *http.Client
	tok    *tokenSource
	log    *slog.Logger

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

// batch is the records of one request. While it is open, buf is the body
// being built: the framing's open, then the records' wire forms separated
// by sep; seal adds the close and, with gzip, compresses buf into z and
// gives buf back (only the compressed body is kept for retries). Batches
// and their buffers are reused (release).
type batch struct {
	key     string
	recs    []agent.Record
	buf     []byte       // the framed, uncompressed body (nil once compressed)
	size    int          // the records' bytes alone: what batch_max_bytes counts
	z       bytes.Buffer // the compressed body
	body    []byte       // what is sent: buf or z's bytes (set by seal)
	ids     []string     // the records' ids, for Results
	lent    bool         // the transport may still read body: do not reuse it
	started time.Time
}

// newBatch returns an empty open batch for key, reusing a released one.
func (s *Sink) newBatch(key string) *batch {
	var b *batch
	select {
	case b = <-s.freeBatches:
	default:
		b = &batch{}
	}
	b.key, b.started = key, time.Now()
	select {
	case b.buf = <-s.freeBufs:
	default:
		b.buf = make([]byte, 0, min(s.opt.MaxBytes+s.opt.MaxBytes/8, 64<<10))
	}
	b.buf = append(b.buf[:0], s.fOpen...)
	return b
}

// release gives a resolved batch and its buffers back to the free lists.
// It drops the records, so that what they hold can be collected.
func (s *Sink) release(b *batch) {
	if b.lent {
		b.buf, b.z = nil, bytes.Buffer{}
	}
	s.putBuf(b.buf)
	clear(b.recs)
	clear(b.ids)
	*b = batch{recs: b.recs[:0], z: b.z, ids: b.ids[:0]}
	b.z.Reset()
	if cap(b.recs) > 2*s.opt.MaxRecords+1 {
		b.recs = nil
	}
	if cap(b.ids) > 2*s.opt.MaxRecords+1 {
		b.ids = nil
	}
	if b.z.Cap() > s.keepBytes {
		b.z = bytes.Buffer{}
	}
	select {
	case s.freeBatches <- b:
	default:
	}
}

func (s *Sink) putBuf(buf []byte) {
	if buf == nil || cap(buf) > s.keepBytes {
		return
	}
	select {
	case s.freeBufs <- buf[:0]:
	default:
	}
}

// seal finishes the body: the framing's close, then gzip (the uncompressed
// buffer is given back at once).
func (s *Sink) seal(b *batch) {
	b.buf = append(b.buf, s.fClose...)
	if !s.opt.Gzip {
		b.body = b.buf
		return
	}
	b.z.Reset()
	b.z.Grow(len(b.buf)/8 + 4096) // JSON records compress about 10:1
	var zw *gzip.Writer
	select {
	case zw = <-s.freeZ:
		zw.Reset(&b.z)
	default:
		zw, _ = gzip.NewWriterLevel(&b.z, s.opt.GzipLevel) // the level was validated
	}
	_, _ = zw.Write(b.buf) // a bytes.Buffer does not fail
	_ = zw.Close()
	zw.Reset(io.Discard) // drop the reference to b.z
	select {
	case s.freeZ <- zw:
	default:
	}
	b.body = b.z.Bytes()
	s.putBuf(b.buf)
	b.buf = nil
}

// subset returns a new sealed batch of the records of b at idx (in
// order), encoded again (the rare path: a 413 or an incomplete answer).
func (s *Sink) subset(b *batch, idx []int) *batch {
	n := s.newBatch(b.key)
	n.started = b.started
	var enc agent.Encoder
	for j, i := range idx {
		if j > 0 {
			n.buf = append(n.buf, s.fSep...)
		}
		start := len(n.buf)
		n.recs = append(n.recs, b.recs[i])
		n.buf = enc.Append(n.buf, &n.recs[j])
		n.size += len(n.buf) - start
	}
	s.seal(n)
	return n
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
		tok:         &tokenSource{static: opt.Token, path: opt.TokenFile},
		open:        map[string]*batch{},
		sem:         make(chan struct{}, opt.InFlight),
		tickStop:    make(chan struct{}),
		tickDone:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.fOpen, s.fSep, s.fClose, s.ctype = proto.Framing()
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

// healthCheck asks the destination once whether it is up. It only warns:
// the records wait (and are retried) until it is.
func (s *Sink) healthCheck(url string) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		s.log.Warn("health check: bad URL", "error", s.scrub(err.Error()))
		return
	}
	s.authorize(req)
	resp, err := s.client.Do(req)
	if err != nil {
		if s.ctx.Err() == nil {
			kind, msg := classify(err)
			s.log.Warn("health check failed at start; records are kept and retried until the destination answers", "kind", kind, "error", s.scrub(msg))
		}
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.log.Warn("health check failed at start; records are kept and retried until the destination answers", "status", resp.StatusCode, "body", s.scrub(string(body)))
		return
	}
	s.log.Info("health check passed", "status", resp.StatusCode)
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

// add puts r in the open batch of its key, encoding it once, straight
// into the body, and appends the batches it filled to full. s.mu is held.
// r is in the batch Consume was given (the sink's own copy): it is changed
// in place (its id is set) rather than copied to the heap first.
func (s *Sink) add(r *agent.Record, full []*batch) []*batch {
	r.EnsureID()
	key := s.proto.Key(r)
	bt := s.open[key]
	if bt == nil {
		bt = s.newBatch(key)
		s.open[key] = bt
	}
	before := len(bt.buf)
	if len(bt.recs) > 0 {
		bt.buf = append(bt.buf, s.fSep...)
	}
	start := len(bt.buf)
	bt.buf = s.enc.Append(bt.buf, r)
	n := len(bt.buf) - start
	if len(bt.recs) > 0 && bt.size+n > s.opt.MaxBytes {
		// This record would overflow the batch: it starts the next one.
		next := s.newBatch(key)
		next.buf = append(next.buf, bt.buf[start:]...)
		bt.buf = bt.buf[:before]
		full = append(full, bt)
		bt = next
		s.open[key] = bt
	}
	bt.size += n
	bt.recs = append(bt.recs, *r)
	if len(bt.recs) >= s.opt.MaxRecords || bt.size >= s.opt.MaxBytes {
		full = append(full, bt)
		delete(s.open, key)
	}
	return full
}

// ticker sends batches that waited batch_max_wait.
func (s *Sink) ticker() {
	defer close(s.tickDone)
	every := max(s.opt.MaxWait/4, 5*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.tickStop:
			return
		case <-t.C:
		}
		var due []*batch
		now := time.Now()
		s.mu.Lock()
		for k, bt := range s.open {
			if now.Sub(bt.started) >= s.opt.MaxWait {
				due = append(due, bt)
				delete(s.open, k)
			}
		}
		s.mu.Unlock()
		for _, bt := range due {
			s.dispatch(bt)
		}
	}
}

// dispatch seals bt (so that a batch waiting for a slot holds only its
// compressed body), then sends it on its own goroutine once one of the
// in_flight slots is free.
func (s *Sink) dispatch(bt *batch) {
	s.seal(bt)
	select {
	case s.sem <- struct{}{}:
	case <-s.ctx.Done():
		s.fail(bt.recs)
		s.release(bt)
		return
	}
	s.wg.Add(1)
	s.m.inFlight.Inc()
	go func() {
		defer func() { s.m.inFlight.Dec(); <-s.sem; s.wg.Done() }()
		pending := []*batch{bt}
		for len(pending) > 0 {
			b := pending[0]
			pending = append(s.send(b), pending[1:]...)
		}
	}()
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

func (s *Sink) fail(recs []agent.Record) {
	if len(recs) == 0 {
		return
	}
	s.set.Metrics.Failed.Add(float64(len(recs)))
	agent.AckAll(recs, agent.Failed)
}

func (s *Sink) deliver(recs []agent.Record) {
	if len(recs) == 0 {
		return
	}
	s.set.Metrics.Delivered.Add(float64(len(recs)))
	agent.AckAll(recs, agent.Delivered)
}

// deadLetter sends records the destination refused for good to the sink's
// dead-letter output, with the destination's reasons.
func (s *Sink) deadLetter(recs []agent.Record, reason string, errs [][]agent.FieldError) {
	if len(recs) == 0 {
		return
	}
	out := make(agent.Batch, len(recs))
	for i := range recs {
		out[i] = agent.NewDeadLetter(&recs[i], agent.DeadLetter{Component: s.set.ID, Step: s.proto.Step(), Reason: reason, Errors: errs[i]})
	}
	s.set.Metrics.DeadLetter(reason).Add(float64(len(recs)))
	if s.set.DeadLetter == nil {
		agent.AckAll(out, agent.DeadLettered)
		return
	}
	_ = s.set.DeadLetter.Emit(s.ctx, out)
}

// outcome classifies one attempt.
type outcome struct {
	kind       string // "ok", "split", "reject", "retry"
	results    []Result
	retryAfter time.Duration
	errKind    string // for retries and rejects: "http_503", "network", "tls", "auth"...
	msg        string
	status     int
}

// send sends one batch until it is resolved, then releases it. It returns
// the halves of a batch split after a 413, for the caller to send next.
func (s *Sink) send(b *batch) []*batch {
	start := time.Now()
	attempt := 0
	for {
		if s.ctx.Err() != nil {
			s.fail(b.recs)
			s.release(b)
			return nil
		}
		out := s.attempt(b)
		switch out.kind {
		case "ok":
			s.recovered()
			if allAccepted(out.results, len(b.recs)) {
				s.deliver(b.recs)
				s.release(b)
				return nil
			}
			var ok, again []int
			var rej []agent.Record
			var rejErrs [][]agent.FieldError
			for i := range b.recs {
				r := Result{Status: Unknown}
				if i < len(out.results) {
					r = out.results[i]
				}
				switch r.Status {
				case Accepted:
					ok = append(ok, i)
				case Rejected:
					rej = append(rej, b.recs[i])
					rejErrs = append(rejErrs, s.scrubErrors(r.Errors))
				default:
					again = append(again, i)
				}
			}
			acc := make([]agent.Record, len(ok))
			for j, i := range ok {
				acc[j] = b.recs[i]
			}
			s.deliver(acc)
			s.deadLetter(rej, "rejected", rejErrs)
			if len(again) == 0 {
				s.release(b)
				return nil
			}
			next := s.subset(b, again)
			s.release(b)
			b = next
			out = outcome{kind: "retry", errKind: "incomplete", msg: fmt.Sprintf("the answer did not mention %d records", len(again))}
		case "split":
			s.recovered()
			if len(b.recs) > 1 {
				s.m.splits.Inc()
				half := len(b.recs) / 2
				lo, hi := make([]int, half), make([]int, len(b.recs)-half)
				for i := range lo {
					lo[i] = i
				}
				for i := range hi {
					hi[i] = half + i
				}
				halves := []*batch{s.subset(b, lo), s.subset(b, hi)}
				s.release(b)
				return halves
			}
			s.deadLetter(b.recs, "too_large", [][]agent.FieldError{{{Error: fmt.Sprintf("the destination refused a request holding only this record as too large (HTTP 413, %d bytes)", b.size)}}})
			s.release(b)
			return nil
		case "reject":
			s.recovered()
			errs := make([][]agent.FieldError, len(b.recs))
			for i := range errs {
				errs[i] = []agent.FieldError{{Error: out.msg}}
			}
			s.deadLetter(b.recs, "rejected", errs)
			s.release(b)
			return nil
		}
		// Retry.
		if out.errKind == "shutdown" {
			continue
		}
		attempt++
		s.m.retries.Inc()
		s.set.Metrics.Error(out.errKind)
		s.warnRetry(out, attempt, len(b.recs))
		if s.opt.GiveUpAfter > 0 && time.Since(start) >= s.opt.GiveUpAfter {
			s.log.Error("giving up on a batch after retry_give_up_after; its records are marked failed, so their source does not commit past them and reads them again at the next start",
				"records", len(b.recs), "attempts", attempt, "last_error", out.msg)
			s.fail(b.recs)
			s.release(b)
			return nil
		}
		wait := s.backoff(attempt)
		if out.retryAfter > 0 {
			wait = max(wait, min(out.retryAfter, s.opt.MaxRetryAfter))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
	}
}

// backoff is capped exponential backoff with "equal jitter": half the step
// is fixed, half random, so retries of many agents spread out but never
// hammer the destination with near-zero waits.
func (s *Sink) backoff(attempt int) time.Duration {
	d := s.opt.InitialBackoff
	for i := 1; i < attempt && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

func (s *Sink) warnRetry(out outcome, attempt, records int) {
	// The first failure of a streak is a warning (an error for TLS and
	// auth problems), then at most one every 30 s; the rest are debug.
	started := !s.failing.Swap(true)
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if !started && now-last < int64(30*time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		s.log.Debug("request failed; will retry", "kind", out.errKind, "status", out.status, "error", out.msg, "attempt", attempt, "records", records)
		return
	}
	lvl := slog.LevelWarn
	if out.errKind == "tls" || out.errKind == "auth" {
		lvl = slog.LevelError
	}
	s.log.Log(context.Background(), lvl, "request failed; the records are kept and retried", "kind", out.errKind, "status", out.status, "error", out.msg, "attempt", attempt, "records", records)
}

func (s *Sink) recovered() {
	if s.failing.CompareAndSwap(true, false) {
		s.log.Info("destination answers again")
	}
}

// allAccepted: an answer that accepts all n records (nil results, or
// every one Accepted).
func allAccepted(results []Result, n int) bool {
	if results == nil {
		return true
	}
	if len(results) < n {
		return false
	}
	for i := range n {
		if results[i].Status != Accepted {
			return false
		}
	}
	return true
}

func (s *Sink) authorize(req *http.Request) error {
	for k, v := range s.proto.Headers() {
		req.Header.Set(k, v)
	}
	tok, err := s.tok.Get()
	if !tok.IsZero() {
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	}
	return err
}

// attempt sends one request and classifies the answer.
func (s *Sink) attempt(b *batch) outcome {
	method, url := s.proto.Target(b.key)
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.Timeout)
	var l lender
	defer func() {
		// The body is reused once the batch is resolved, so wait until
		// the transport is done with it: it may still be sending it after
		// Do returns (an answer that came first, such as a 413), and
		// cancelling ctx ends that. If it takes too long, the batch's
		// buffers are left to the GC instead.
		cancel()
		if !l.wait(5 * time.Second) {
			b.lent = true
		}
	}()
	body := b.body
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		// A URL that does not parse will not parse next time either.
		return outcome{kind: "reject", errKind: "bad_url", msg: s.scrub(err.Error())}
	}
	req.Body, req.ContentLength = l.body(body), int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return l.body(body), nil }
	req.Header.Set("Content-Type", s.ctype)
	req.Header.Set("User-Agent", "octoagent")
	if s.opt.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if err := s.authorize(req); err != nil {
		s.log.Debug("token file", "error", s.scrub(err.Error()))
	}
	s.m.requests.Inc()
	s.m.sentBytes.Add(float64(len(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		kind, msg := classify(err)
		if s.ctx.Err() != nil {
			kind, msg = "shutdown", "the sink is stopping"
		}
		return outcome{kind: "retry", errKind: kind, msg: s.scrub(msg)}
	}
	defer resp.Body.Close()
	var data []byte
	select {
	case data = <-s.freeAnswers:
	default:
	}
	data, rerr := readAll(data, io.LimitReader(resp.Body, 64<<20), resp.ContentLength)
	defer func() {
		// Nothing keeps data: Results must not, and the messages are
		// copies (excerpt).
		if cap(data) <= 1<<20 {
			select {
			case s.freeAnswers <- data[:0]:
			default:
			}
		}
	}()
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		if rerr != nil {
			return outcome{kind: "retry", errKind: "network", msg: "reading the answer: " + s.scrub(rerr.Error()), status: code}
		}
		b.ids = b.ids[:0]
		for i := range b.recs {
			b.ids = append(b.ids, b.recs[i].ID)
		}
		res, err := s.proto.Results(data, b.ids)
		if err != nil {
			return outcome{kind: "retry", errKind: "bad_answer", msg: s.scrub(err.Error()), status: code}
		}
		return outcome{kind: "ok", results: res, status: code}
	case code == http.StatusRequestEntityTooLarge:
		return outcome{kind: "split", status: code}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		s.tok.Invalidate()
		return outcome{kind: "retry", errKind: "auth", status: code, retryAfter: retryAfter(resp.Header.Get("Retry-After")),
			msg: fmt.Sprintf("HTTP %d: the destination refused the credentials (check token, token_file or the client certificate): %s", code, s.excerpt(data))}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code/100 == 5:
		return outcome{kind: "retry", errKind: "http_" + strconv.Itoa(code), status: code, retryAfter: retryAfter(resp.Header.Get("Retry-After")),
			msg: fmt.Sprintf("HTTP %d: %s", code, s.excerpt(data))}
	case code/100 == 4:
		return outcome{kind: "reject", errKind: "http_" + strconv.Itoa(code), status: code,
			msg: fmt.Sprintf("HTTP %d: %s", code, s.excerpt(data))}
	}
	// 1xx and 3xx: the request did not land anywhere we know.
	return outcome{kind: "retry", errKind: "http_" + strconv.Itoa(code), status: code, msg: fmt.Sprintf("unexpected HTTP %d (redirects are not followed)", code)}
}

// lender hands a body to the transport (a request's, and the copies
// GetBody makes for the transport's own retries) and knows when the
// transport is done with them all: it closes each.
type lender struct {
	mu   sync.Mutex
	open int
	idle chan struct{} // closed when open drops to 0, while wait waits
}

type lentBody struct {
	bytes.Reader
	l    *lender
	once sync.Once
}

func (b *lentBody) Close() error {
	b.once.Do(b.l.returned)
	return nil
}

func (l *lender) body(p []byte) io.ReadCloser {
	l.mu.Lock()
	l.open++
	l.mu.Unlock()
	b := &lentBody{l: l}
	b.Reset(p)
	return b
}

func (l *lender) returned() {
	l.mu.Lock()
	l.open--
	if l.open == 0 && l.idle != nil {
		close(l.idle)
		l.idle = nil
	}
	l.mu.Unlock()
}

// wait waits until every body is closed, for at most d.
func (l *lender) wait(d time.Duration) bool {
	l.mu.Lock()
	if l.open == 0 {
		l.mu.Unlock()
		return true
	}
	idle := make(chan struct{})
	l.idle = idle
	l.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// readAll appends what r holds to dst, as io.ReadAll does, growing dst
// once to size if the length is known.
func readAll(dst []byte, r io.Reader, size int64) ([]byte, error) {
	if size > 0 && size < 64<<20 && int64(cap(dst)-len(dst)) <= size {
		dst = slices.Grow(dst, int(size)+1) // +1: room to see EOF
	}
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, max(512, cap(dst)))
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

func (s *Sink) excerpt(data []byte) string {
	t := strings.TrimSpace(string(data))
	if len(t) > 512 {
		t = t[:512] + "…"
	}
	if t == "" {
		t = "(empty body)"
	}
	return s.scrub(t)
}

// scrub removes every secret this sink knows from text that came from
// outside (a response body, a library's error).
func (s *Sink) scrub(text string) string {
	secrets := s.tok.Known()
	for _, v := range s.proto.Headers() {
		secrets = append(secrets, agent.Secret(v))
	}
	return agent.Scrub(text, secrets...)
}

func (s *Sink) scrubErrors(errs []agent.FieldError) []agent.FieldError {
	out := make([]agent.FieldError, len(errs))
	for i, e := range errs {
		out[i] = agent.FieldError{Field: s.scrub(e.Field), Error: s.scrub(e.Error)}
	}
	if len(out) == 0 {
		out = []agent.FieldError{{Error: "rejected by the destination (no reason given)"}}
	}
	return out
}

// classify turns a transport error into a kind and a message that says
// what to do about it.
func classify(err error) (kind, msg string) {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &hostErr):
		return "tls", "TLS: the server's certificate does not match the host name (" + hostErr.Error() + "); fix the endpoint's host name or set tls.server_name. Nothing was sent"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "tls", "TLS: the server's certificate has expired or is not valid yet (" + invalid.Error() + "). Nothing was sent"
	case errors.As(err, &unknownCA):
		return "tls", "TLS: the server's certificate is not signed by a trusted authority (" + unknownCA.Error() + "); set tls.ca_file to the CA that signed it. Nothing was sent"
	case errors.As(err, &invalid), errors.As(err, &verify):
		return "tls", "TLS: the server's certificate was refused (" + err.Error() + "). Nothing was sent"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout", err.Error()
	}
	if strings.Contains(err.Error(), "tls:") {
		return "tls", "TLS handshake failed: " + err.Error()
	}
	return "network", err.Error()
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
