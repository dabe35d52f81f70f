// Package httpout is the machinery the HTTP sinks (`sink "octostore"`,
// `sink "http"`) share: batching by records, bytes and time, gzip, a bounded
// number of requests in flight, retries with capped exponential backoff and
// jitter that honour Retry-After, splitting on 413, dead letters for what
// the destination rejects, bearer tokens (re-read from their file when it
// changes), TLS and mTLS. A sink supplies a Protocol: how records group into
// requests, how a body is framed, and how a 2xx answer reads.
package httpout

import (
	"bytes"
	"compress/gzip"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// after the last, and the Content-Type of the body.
	Framing() (open, sep, close, contentType string)
	// Results reads the body of a 2xx answer for records with the given
	// ids. A nil slice means every record was accepted.
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

type batch struct {
	key     string
	recs    []agent.Record
	buf     []byte // the records' wire forms, back to back
	ends    []int  // ends[i] is the end of record i in buf
	started time.Time
}

func (b *batch) rec(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.buf[start:b.ends[i]]
}

// subset returns a new batch of the records at idx (in order).
func (b *batch) subset(idx []int) *batch {
	n := &batch{key: b.key, started: b.started, recs: make([]agent.Record, 0, len(idx))}
	for _, i := range idx {
		n.recs = append(n.recs, b.recs[i])
		n.buf = append(n.buf, b.rec(i)...)
		n.ends = append(n.ends, len(n.buf))
	}
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
		client:   &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		tok:      &tokenSource{static: opt.Token, path: opt.TokenFile},
		open:     map[string]*batch{},
		sem:      make(chan struct{}, opt.InFlight),
		tickStop: make(chan struct{}),
		tickDone: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
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
		r := b[i]
		r.EnsureID()
		key := s.proto.Key(&r)
		bt := s.open[key]
		if bt == nil {
			bt = &batch{key: key, started: time.Now()}
			s.open[key] = bt
		}
		before := len(bt.buf)
		bt.buf = s.enc.Append(bt.buf, &r)
		if len(bt.recs) > 0 && len(bt.buf) > s.opt.MaxBytes {
			// This record would overflow the batch: it starts the next one.
			enc := bytes.Clone(bt.buf[before:])
			bt.buf = bt.buf[:before]
			full = append(full, bt)
			bt = &batch{key: key, started: time.Now(), buf: enc}
			s.open[key] = bt
		}
		bt.recs = append(bt.recs, r)
		bt.ends = append(bt.ends, len(bt.buf))
		if len(bt.recs) >= s.opt.MaxRecords || len(bt.buf) >= s.opt.MaxBytes {
			full = append(full, bt)
			delete(s.open, key)
		}
	}
	s.mu.Unlock()
	for _, bt := range full {
		s.dispatch(bt)
	}
	return nil
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

// dispatch sends bt on its own goroutine once one of the in_flight slots
// is free.
func (s *Sink) dispatch(bt *batch) {
	select {
	case s.sem <- struct{}{}:
	case <-s.ctx.Done():
		s.fail(bt.recs)
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

// send sends one batch until it is resolved. It returns the halves of a
// batch split after a 413, for the caller to send next.
func (s *Sink) send(b *batch) []*batch {
	start := time.Now()
	attempt := 0
	body := s.body(b)
	for {
		if s.ctx.Err() != nil {
			s.fail(b.recs)
			return nil
		}
		out := s.attempt(b, body)
		switch out.kind {
		case "ok":
			s.recovered()
			if out.results == nil {
				s.deliver(b.recs)
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
				return nil
			}
			b = b.subset(again)
			body = s.body(b)
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
				return []*batch{b.subset(lo), b.subset(hi)}
			}
			s.deadLetter(b.recs, "too_large", [][]agent.FieldError{{{Error: fmt.Sprintf("the destination refused a request holding only this record as too large (HTTP 413, %d bytes)", len(b.buf))}}})
			return nil
		case "reject":
			s.recovered()
			errs := make([][]agent.FieldError, len(b.recs))
			for i := range errs {
				errs[i] = []agent.FieldError{{Error: out.msg}}
			}
			s.deadLetter(b.recs, "rejected", errs)
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

func (s *Sink) body(b *batch) []byte {
	open, sep, closing, _ := s.proto.Framing()
	var raw bytes.Buffer
	raw.Grow(len(b.buf) + len(open) + len(closing) + len(sep)*len(b.recs))
	raw.WriteString(open)
	for i := range b.recs {
		if i > 0 {
			raw.WriteString(sep)
		}
		raw.Write(b.rec(i))
	}
	raw.WriteString(closing)
	if !s.opt.Gzip {
		return raw.Bytes()
	}
	var z bytes.Buffer
	z.Grow(raw.Len() / 4)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&z)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	gzipPool.Put(zw)
	return z.Bytes()
}

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

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
func (s *Sink) attempt(b *batch, body []byte) outcome {
	method, url := s.proto.Target(b.key)
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		// A URL that does not parse will not parse next time either.
		return outcome{kind: "reject", errKind: "bad_url", msg: s.scrub(err.Error())}
	}
	_, _, _, ctype := s.proto.Framing()
	req.Header.Set("Content-Type", ctype)
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
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		if rerr != nil {
			return outcome{kind: "retry", errKind: "network", msg: "reading the answer: " + s.scrub(rerr.Error()), status: code}
		}
		ids := make([]string, len(b.recs))
		for i := range b.recs {
			ids[i] = b.recs[i].ID
		}
		res, err := s.proto.Results(data, ids)
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
