package otlpsource

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/grpc/codes"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/otlp"
)

// One export call, whatever its transport: limits, records, the answer
// remembered for retries, room among the pending records, emit, and the
// wait for the records' outcome.

// answer is how an export call ends, for both transports.
type answer struct {
	code       codes.Code // gRPC
	status     int        // HTTP
	msg        string
	retryAfter time.Duration // RESOURCE_EXHAUSTED, 429, 503
	result     string        // the requests_total label
}

var answerOK = answer{code: codes.OK, status: 200, result: "ok"}

func refused(result string, code codes.Code, status int, format string, args ...any) answer {
	return answer{code: code, status: status, result: result, msg: fmt.Sprintf(format, args...)}
}

// exporter handles export calls.
type exporter struct {
	set     agent.Settings
	cfg     *Config
	pending *limiter
	dedup   *dedup
	m       metrics

	mu       sync.Mutex
	stopping bool
	emits    sync.WaitGroup
}

type metrics struct {
	requests *prometheus.CounterVec // transport, result
	refused  *prometheus.CounterVec // reason
	dups     prometheus.Counter
	pending  prometheus.Gauge
}

func newExporter(set agent.Settings, cfg *Config) *exporter {
	cm := set.Metrics
	e := &exporter{
		set: set, cfg: cfg,
		pending: newLimiter(cfg.MaxPendingRecords),
		dedup:   newDedup(cfg.dedupAfter, 65536),
		m: metrics{
			requests: cm.CounterVec("otlp_requests_total", "Export calls source \"otlp\" answered, per transport (grpc, http) and result (ok, duplicate, too_large, invalid, malformed, unsupported, unauthenticated, throttled, unavailable, canceled).", "transport", "result"),
			refused:  cm.CounterVec("otlp_refused_records_total", "Log records of export calls refused, per reason (the result of requests_total), so the client kept or dropped them.", "reason"),
			dups:     cm.Counter("otlp_duplicate_requests_total", "Export calls that repeated one already emitted (an exporter's retry): answered from the first's outcome, not emitted again."),
			pending:  cm.Gauge("otlp_pending_records", "Log records emitted and not yet resolved downstream: their export calls are waiting."),
		},
	}
	e.pending.gauge = e.m.pending
	return e
}

// stop refuses every export call from now on (UNAVAILABLE, 503) and waits
// until the calls already emitting have handed their records on.
func (e *exporter) stop() {
	e.mu.Lock()
	e.stopping = true
	e.mu.Unlock()
	e.emits.Wait()
}

// limits checks a decoded request against max_request_records and
// max_attribute_depth.
func (e *exporter) limits(ld plog.Logs, n int) (answer, bool) {
	if n > e.cfg.MaxRequestRecords {
		return refused("too_large", codes.InvalidArgument, 413, "the request holds %d log records, more than max_request_records (%d); send smaller batches", n, e.cfg.MaxRequestRecords), false
	}
	limit := e.cfg.MaxAttributeDepth
	deep := func(where string, d int) (answer, bool) {
		return refused("invalid", codes.InvalidArgument, 400, "%s nest maps and lists deeper than max_attribute_depth (%d)", where, limit), false
	}
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		if d := otlp.MapDepth(rl.Resource().Attributes(), limit); d > limit {
			return deep(fmt.Sprintf("resource_logs[%d].resource.attributes", i), d)
		}
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			if d := otlp.MapDepth(sl.Scope().Attributes(), limit); d > limit {
				return deep(fmt.Sprintf("resource_logs[%d].scope_logs[%d].scope.attributes", i, j), d)
			}
			lrs := sl.LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				if d := otlp.MapDepth(lr.Attributes(), limit); d > limit {
					return deep(fmt.Sprintf("resource_logs[%d].scope_logs[%d].log_records[%d].attributes", i, j, k), d)
				}
				if d := otlp.Depth(lr.Body(), limit+1); d > limit+1 {
					// A body may be one level deeper than an attribute
					// value: it is the value itself, not a map of them.
					return deep(fmt.Sprintf("resource_logs[%d].scope_logs[%d].log_records[%d].body", i, j, k), d)
				}
			}
		}
	}
	return answer{}, true
}

// records converts a request's logs into records with their ids, and the
// request's key (the hash of its records' hashes, for dedup).
func (e *exporter) records(ld plog.Logs, n int) (agent.Batch, [16]byte) {
	batch := make(agent.Batch, 0, n)
	var h hasher
	h.buf = make([]byte, 0, 512)
	sums := make([]byte, 0, 16*n)
	var seen map[[16]byte]int64
	now := time.Now()
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		res := otlp.NewResource(rl)
		rh := h.resource(rl)
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			scope := otlp.NewScope(sl)
			sh := h.scope(sl)
			lrs := sl.LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				sum := h.record(&rh, &sh, lr)
				sums = append(sums, sum[:]...)
				// The offset tells identical records of one request
				// apart: a map only once a second record comes.
				var off int64
				if len(batch) > 0 {
					if seen == nil {
						seen = make(map[[16]byte]int64, n)
						seen[[16]byte(sums[:16])] = 1
					}
					off = seen[sum]
					seen[sum] = off + 1
				}
				batch = append(batch, agent.Record{Origin: agent.Origin{Host: originHost, Component: e.set.ID, Stream: stream(sum), Offset: off}})
				otlp.Fill(&batch[len(batch)-1], lr, &res, scope, now)
			}
		}
	}
	h.buf = sums
	return batch, h.sum()
}

// export handles one decoded request of n log records.
func (e *exporter) export(ctx context.Context, ld plog.Logs) answer {
	n := ld.LogRecordCount()
	if n == 0 {
		return answerOK
	}
	if a, ok := e.limits(ld, n); !ok {
		return a
	}
	batch, key := e.records(ld, n)

	ent, first := e.dedup.join(key, n)
	if !first {
		e.m.dups.Inc()
		return e.wait(ctx, ent, "duplicate")
	}
	if !e.pending.acquire(ctx, n, e.cfg.pendingWait) {
		e.dedup.abandon(key, ent)
		if ctx.Err() != nil {
			return refused("canceled", codes.Canceled, 499, "the client gave up")
		}
		return answer{code: codes.ResourceExhausted, status: 429, result: "throttled", retryAfter: e.cfg.retryAfter,
			msg: fmt.Sprintf("the agent's pipeline is full (%d log records pending); retry later", e.pending.used())}
	}
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		e.pending.release(n)
		e.dedup.abandon(key, ent)
		return e.unavailable("the agent is shutting down; retry later (another replica, or this one once it is back)")
	}
	e.emits.Add(1)
	e.mu.Unlock()

	tok := e.set.Acks.NewToken(n, func(failed bool) {
		e.pending.release(n)
		e.dedup.finish(key, ent, failed)
	})
	for i := range batch {
		batch[i].SetToken(tok)
	}
	// Emit blocks while downstream is full: at most ack_timeout (on
	// failure it has resolved the records as failed, and the call is
	// answered UNAVAILABLE).
	ectx, cancel := context.WithTimeout(ctx, e.cfg.ackTimeout)
	_ = e.set.Out.Emit(ectx, batch)
	cancel()
	e.emits.Done()
	return e.wait(ctx, ent, "ok")
}

// wait waits for the outcome of an emitted request, at most ack_timeout.
func (e *exporter) wait(ctx context.Context, ent *entry, result string) answer {
	timer := time.NewTimer(e.cfg.ackTimeout)
	defer timer.Stop()
	select {
	case <-timer.C:
		return e.unavailable(fmt.Sprintf("the records of this request are not yet accepted downstream after ack_timeout (%v); retry later: the retry waits for the same records, it does not send them again", e.cfg.ackTimeout))
	case <-ent.done:
		if ent.failed {
			return e.unavailable("some log records of this request could not be delivered downstream; retry later")
		}
		a := answerOK
		a.result = result
		return a
	case <-ctx.Done():
		return refused("canceled", codes.Canceled, 499, "the client gave up before the records were delivered; they still will be, and a retry is answered from their outcome")
	}
}

func (e *exporter) unavailable(msg string) answer {
	return answer{code: codes.Unavailable, status: 503, result: "unavailable", retryAfter: e.cfg.retryAfter, msg: msg}
}

// count records an answer in the metrics.
func (e *exporter) count(transport string, a answer, records int) {
	e.m.requests.WithLabelValues(transport, a.result).Inc()
	if a.code != codes.OK && records > 0 {
		e.m.refused.WithLabelValues(a.result).Add(float64(records))
	}
}

// limiter counts the pending log records: emitted, not yet resolved. It
// is a soft bound: a request larger than the whole bound is let in when
// nothing else is pending, so that no request is refused for ever.
type limiter struct {
	mu    sync.Mutex
	max   int
	n     int
	freed chan struct{} // closed and replaced when records are released
	gauge prometheus.Gauge
}

func newLimiter(max int) *limiter { return &limiter{max: max, freed: make(chan struct{})} }

func (l *limiter) used() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// acquire takes room for n records, waiting up to wait for it.
func (l *limiter) acquire(ctx context.Context, n int, wait time.Duration) bool {
	var timer *time.Timer
	for {
		l.mu.Lock()
		if l.n == 0 || l.n+n <= l.max {
			l.n += n
			l.set()
			l.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return true
		}
		freed := l.freed
		l.mu.Unlock()
		if timer == nil {
			if wait <= 0 {
				return false
			}
			timer = time.NewTimer(wait)
		}
		select {
		case <-freed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			timer.Stop()
			return false
		}
	}
}

func (l *limiter) release(n int) {
	l.mu.Lock()
	l.n -= n
	l.set()
	close(l.freed)
	l.freed = make(chan struct{})
	l.mu.Unlock()
}

func (l *limiter) set() {
	if l.gauge != nil {
		l.gauge.Set(float64(l.n))
	}
}

// dedup remembers the requests emitted, by key: a retry of one still in
// flight waits for its outcome, a retry of one delivered within the window
// is answered at once; neither is emitted again. A request whose records
// failed is forgotten, so that its retry is emitted anew.
type dedup struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	byKey  map[[16]byte]*entry
	done   []doneKey // delivered, oldest first, for expiry
}

type entry struct {
	done   chan struct{}
	failed bool
}

type doneKey struct {
	key [16]byte
	at  time.Time
	ent *entry
}

func newDedup(window time.Duration, max int) *dedup {
	return &dedup{window: window, max: max, byKey: map[[16]byte]*entry{}}
}

// join returns the entry of key, and whether the caller is the first (it
// must then emit, and call finish or abandon).
func (d *dedup) join(key [16]byte, n int) (*entry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(time.Now())
	if e, ok := d.byKey[key]; ok {
		return e, false
	}
	e := &entry{done: make(chan struct{})}
	d.byKey[key] = e
	return e, true
}

// abandon forgets an entry that was never emitted; its waiters are told
// it failed (so they answer UNAVAILABLE and their clients retry).
func (d *dedup) abandon(key [16]byte, e *entry) { d.finish(key, e, true) }

// finish records the outcome of an entry.
func (d *dedup) finish(key [16]byte, e *entry, failed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e.failed = failed
	close(e.done)
	if failed || d.window <= 0 {
		if d.byKey[key] == e {
			delete(d.byKey, key)
		}
		return
	}
	d.done = append(d.done, doneKey{key: key, at: time.Now(), ent: e})
	if len(d.done) > d.max {
		d.evict(1)
	}
}

func (d *dedup) expire(now time.Time) {
	i := 0
	for i < len(d.done) && now.Sub(d.done[i].at) > d.window {
		i++
	}
	d.evict(i)
}

func (d *dedup) evict(k int) {
	for _, dk := range d.done[:k] {
		if d.byKey[dk.key] == dk.ent {
			delete(d.byKey, dk.key)
		}
	}
	clear(d.done[:k])
	d.done = d.done[k:]
	if cap(d.done) > 2*d.max && len(d.done) < d.max/2 {
		d.done = append([]doneKey(nil), d.done...)
	}
}
