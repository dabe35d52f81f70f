package httpbatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/octostore/agent/agent"
)

// One request: building it, lending its body to the transport, reading and
// classifying the answer; the health check at start; scrubbing secrets from
// what comes back.

// attempt sends one request and classifies the answer.
func (s *Sink) attempt(b *batch) Attempt {
	if s.sender != nil {
		return s.send1(b)
	}
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
		return Attempt{Kind: AttemptReject, ErrKind: "bad_url", Msg: s.scrub(err.Error())}
	}
	req.Body, req.ContentLength = l.body(body), int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return l.body(body), nil }
	req.Header.Set("Content-Type", s.ctype)
	req.Header.Set("User-Agent", "octoagent")
	if s.zip {
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
		return Attempt{Kind: AttemptRetry, ErrKind: kind, Msg: s.scrub(msg)}
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
			return Attempt{Kind: AttemptRetry, ErrKind: "network", Msg: "reading the answer: " + s.scrub(rerr.Error()), Status: code}
		}
		res, err := s.proto.Results(data, b.idsOf())
		if err != nil {
			return Attempt{Kind: AttemptRetry, ErrKind: "bad_answer", Msg: s.scrub(err.Error()), Status: code}
		}
		return Attempt{Kind: AttemptOK, Results: res, Status: code}
	case code == http.StatusRequestEntityTooLarge:
		return Attempt{Kind: AttemptSplit, Status: code}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		s.tok.Invalidate()
		return Attempt{Kind: AttemptRetry, ErrKind: "auth", Status: code, RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
			Msg: fmt.Sprintf("HTTP %d: the destination refused the credentials (check token, token_file or the client certificate): %s", code, s.excerpt(data))}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code/100 == 5:
		return Attempt{Kind: AttemptRetry, ErrKind: "http_" + strconv.Itoa(code), Status: code, RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
			Msg: fmt.Sprintf("HTTP %d: %s", code, s.excerpt(data))}
	case code/100 == 4:
		return Attempt{Kind: AttemptReject, ErrKind: "http_" + strconv.Itoa(code), Status: code,
			Msg: fmt.Sprintf("HTTP %d: %s", code, s.excerpt(data))}
	}
	// 1xx and 3xx: the request did not land anywhere we know.
	return Attempt{Kind: AttemptRetry, ErrKind: "http_" + strconv.Itoa(code), Status: code, Msg: fmt.Sprintf("unexpected HTTP %d (redirects are not followed)", code)}
}

// send1 makes one attempt through the protocol's Sender.
func (s *Sink) send1(b *batch) Attempt {
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.Timeout)
	defer cancel()
	tok, err := s.tok.Get()
	if err != nil {
		s.log.Debug("token file", "error", s.scrub(err.Error()))
	}
	s.m.requests.Inc()
	s.m.sentBytes.Add(float64(len(b.body)))
	out := s.sender.Send(ctx, b.body, b.idsOf(), tok)
	if out.Kind == AttemptRetry && s.ctx.Err() != nil {
		out.ErrKind, out.Msg = "shutdown", "the sink is stopping"
	}
	if out.ErrKind == "auth" {
		s.tok.Invalidate()
	}
	out.Msg = s.scrub(out.Msg)
	return out
}

// idsOf returns the ids of b's records, in order.
func (b *batch) idsOf() []string {
	b.ids = b.ids[:0]
	for i := range b.recs {
		b.ids = append(b.ids, b.recs[i].ID)
	}
	return b.ids
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

func (s *Sink) excerpt(data []byte) string {
	var t string
	if s.errText != nil {
		t = strings.TrimSpace(s.errText.ErrorText(data))
	} else {
		t = strings.TrimSpace(string(data))
	}
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
