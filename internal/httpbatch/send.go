package httpbatch

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/octostore/agent/agent"
)

// Sending: the in_flight slots, the retry loop (backoff, Retry-After,
// retry_give_up_after, splitting on 413) and how records are resolved
// (delivered, failed or dead-lettered).

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

// The kinds of Attempt.
const (
	AttemptOK     = "ok"     // the destination answered; Results say how each record fared
	AttemptSplit  = "split"  // too large: send each half on its own
	AttemptReject = "reject" // refused for good: dead-letter the batch with Msg
	AttemptRetry  = "retry"  // send it again after a backoff (at least RetryAfter)
)

// Attempt is what one attempt to send a batch came to.
type Attempt struct {
	Kind       string   // AttemptOK, AttemptSplit, AttemptReject, AttemptRetry
	Results    []Result // AttemptOK: per record, in the batch's order (nil: all accepted)
	RetryAfter time.Duration
	ErrKind    string // for retries and rejects: "http_503", "network", "tls", "auth"... (the errors_total kind)
	Msg        string
	Status     int
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
		switch out.Kind {
		case AttemptOK:
			s.recovered()
			if allAccepted(out.Results, len(b.recs)) {
				s.deliver(b.recs)
				s.release(b)
				return nil
			}
			var ok, again []int
			rej := map[string][]agent.Record{}
			rejErrs := map[string][][]agent.FieldError{}
			for i := range b.recs {
				r := Result{Status: Unknown}
				if i < len(out.Results) {
					r = out.Results[i]
				}
				switch r.Status {
				case Accepted:
					ok = append(ok, i)
				case Rejected:
					reason := r.Reason
					if reason == "" {
						reason = "rejected"
					}
					rej[reason] = append(rej[reason], b.recs[i])
					rejErrs[reason] = append(rejErrs[reason], s.scrubErrors(r.Errors))
				default:
					again = append(again, i)
				}
			}
			acc := make([]agent.Record, len(ok))
			for j, i := range ok {
				acc[j] = b.recs[i]
			}
			s.deliver(acc)
			for reason, recs := range rej {
				s.deadLetter(recs, reason, rejErrs[reason])
			}
			if len(again) == 0 {
				s.release(b)
				return nil
			}
			next := s.subset(b, again)
			s.release(b)
			b = next
			out = Attempt{Kind: AttemptRetry, ErrKind: "incomplete", Msg: fmt.Sprintf("the answer did not mention %d records", len(again))}
		case AttemptSplit:
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
		case AttemptReject:
			s.recovered()
			errs := make([][]agent.FieldError, len(b.recs))
			for i := range errs {
				errs[i] = []agent.FieldError{{Error: out.Msg}}
			}
			s.deadLetter(b.recs, "rejected", errs)
			s.release(b)
			return nil
		}
		// Retry.
		if out.ErrKind == "shutdown" {
			continue
		}
		attempt++
		s.m.retries.Inc()
		s.set.Metrics.Error(out.ErrKind)
		s.warnRetry(out, attempt, len(b.recs))
		if s.opt.GiveUpAfter > 0 && time.Since(start) >= s.opt.GiveUpAfter {
			s.log.Error("giving up on a batch after retry_give_up_after; its records are marked failed, so their source does not commit past them and reads them again at the next start",
				"records", len(b.recs), "attempts", attempt, "last_error", out.Msg)
			s.fail(b.recs)
			s.release(b)
			return nil
		}
		wait := s.backoff(attempt)
		if out.RetryAfter > 0 {
			wait = max(wait, min(out.RetryAfter, s.opt.MaxRetryAfter))
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

func (s *Sink) warnRetry(out Attempt, attempt, records int) {
	// The first failure of a streak is a warning (an error for TLS and
	// auth problems), then at most one every 30 s; the rest are debug.
	started := !s.failing.Swap(true)
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if !started && now-last < int64(30*time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		s.log.Debug("request failed; will retry", "kind", out.ErrKind, "status", out.Status, "error", out.Msg, "attempt", attempt, "records", records)
		return
	}
	lvl := slog.LevelWarn
	if out.ErrKind == "tls" || out.ErrKind == "auth" {
		lvl = slog.LevelError
	}
	s.log.Log(context.Background(), lvl, "request failed; the records are kept and retried", "kind", out.ErrKind, "status", out.Status, "error", out.Msg, "attempt", attempt, "records", records)
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
