package k8smeta

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Elector is leader election on a coordination.k8s.io/v1 Lease, with the
// semantics of client-go's leaderelection (which it replaces, so that the
// binary does not link the typed clientset):
//
//   - A replica takes the Lease when nobody holds it (no Lease, or an empty
//     holder) or when the Lease has not changed for its leaseDurationSeconds
//     as this replica observed it (its own clock, not the renewTime written
//     by another node, so clock skew does not matter). It tries every
//     RetryPeriod, jittered by up to 1.2 × RetryPeriod.
//   - The leader renews every RetryPeriod; a renewal is retried every
//     RetryPeriod until it succeeds or RenewDeadline has passed since it
//     began, and then the term ends.
//   - Every write carries the resourceVersion the Lease was read with
//     (optimistic concurrency): of two replicas racing for a free Lease, one
//     gets a Conflict and stays a follower.
//   - When the term ends (ctx ended, or the renewal failed) the leader
//     releases the Lease (empty holder, leaseDurationSeconds 1), so another
//     replica takes over at its next try (client-go's ReleaseOnCancel).
//
// An Elector runs one term at a time; Run may be called again after it
// returns.
type Elector struct {
	Client          LeaseClient
	Namespace, Name string
	Identity        string
	LeaseDuration   time.Duration
	RenewDeadline   time.Duration
	RetryPeriod     time.Duration
	// OnNewLeader, if set, is called (from Run) when the Lease is seen
	// with another holder than before, this replica included.
	OnNewLeader func(identity string)
	Logger      *slog.Logger // nil: slog.Default()

	now func() time.Time // tests

	observed     *coordinationv1.Lease // the Lease as last read or written
	observedTime time.Time             // when it was last seen to change
	reported     string                // the holder last given to OnNewLeader
}

// Run campaigns until ctx ends or this replica holds the Lease. While it
// holds it, lead runs in its own goroutine with a context that ends when
// the term ends; Run renews the Lease until then, releases it and returns
// without waiting for lead to return.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) {
	if !e.acquire(ctx) {
		return
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go lead(lctx)
	e.renew(lctx)
	cancel()
	e.release()
}

// IsLeader reports whether this replica held the Lease when it last read
// or wrote it.
func (e *Elector) IsLeader() bool {
	return e.observed != nil && holder(e.observed) == e.Identity
}

func (e *Elector) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

func (e *Elector) clock() time.Time {
	if e.now != nil {
		return e.now()
	}
	return time.Now()
}

// sleep waits d, reporting false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// acquire tries until it holds the Lease (true) or ctx ends (false).
func (e *Elector) acquire(ctx context.Context) bool {
	for {
		// Each try is bounded like a renewal, so a request that hangs
		// cannot stall the campaign.
		tctx, cancel := context.WithTimeout(ctx, e.RenewDeadline)
		ok := e.tryAcquireOrRenew(tctx)
		cancel()
		e.report()
		if ok {
			return true
		}
		jitter := time.Duration(rand.Float64() * 1.2 * float64(e.RetryPeriod))
		if !sleep(ctx, e.RetryPeriod+jitter) {
			return false
		}
	}
}

// renew renews the Lease every RetryPeriod until a renewal fails for
// RenewDeadline or ctx ends.
func (e *Elector) renew(ctx context.Context) {
	for {
		if !e.renewOnce(ctx) {
			if ctx.Err() == nil {
				e.log().Warn("could not renew the lease within renew_deadline; giving it up", "renew_deadline", e.RenewDeadline)
			}
			return
		}
		if !sleep(ctx, e.RetryPeriod) {
			return
		}
	}
}

// renewOnce tries every RetryPeriod until a renewal succeeds (true) or
// RenewDeadline passes or ctx ends (false).
func (e *Elector) renewOnce(ctx context.Context) bool {
	tctx, cancel := context.WithTimeout(ctx, e.RenewDeadline)
	defer cancel()
	for {
		ok := e.tryAcquireOrRenew(tctx)
		e.report()
		if ok {
			return true
		}
		if !sleep(tctx, e.RetryPeriod) {
			return false
		}
	}
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// valid reports whether the observed Lease is still held at now: it
// changed less than its leaseDurationSeconds ago, as this replica saw it.
func (e *Elector) valid(now time.Time) bool {
	if e.observed == nil || e.observed.Spec.LeaseDurationSeconds == nil {
		return false
	}
	d := time.Duration(*e.observed.Spec.LeaseDurationSeconds) * time.Second
	return e.observedTime.Add(d).After(now)
}

func (e *Elector) observe(l *coordinationv1.Lease, at time.Time) {
	e.observed, e.observedTime = l, at
}

func (e *Elector) report() {
	if e.observed == nil {
		return
	}
	if h := holder(e.observed); h != e.reported {
		e.reported = h
		if e.OnNewLeader != nil && h != "" {
			e.OnNewLeader(h)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// tryAcquireOrRenew takes or renews the Lease once; it reports whether
// this replica holds it now.
func (e *Elector) tryAcquireOrRenew(ctx context.Context) bool {
	now := e.clock()
	stamp := metav1.NewMicroTime(now)
	secs := int32(e.LeaseDuration / time.Second)

	// The leader renews what it wrote last, without reading it first.
	if e.IsLeader() && e.valid(now) {
		l := e.observed.DeepCopy()
		l.Spec.RenewTime = &stamp
		l.Spec.LeaseDurationSeconds = &secs
		u, err := e.Client.UpdateLease(ctx, l)
		if err == nil {
			e.observe(u, now)
			return true
		}
		e.log().Debug("renewing the lease failed; reading it again", "error", err)
	}

	cur, err := e.Client.GetLease(ctx, e.Namespace, e.Name)
	if apierrors.IsNotFound(err) {
		l := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr(e.Identity),
				LeaseDurationSeconds: &secs,
				AcquireTime:          &stamp,
				RenewTime:            &stamp,
				LeaseTransitions:     ptr(int32(0)),
			},
		}
		c, err := e.Client.CreateLease(ctx, l)
		if err != nil {
			e.log().Debug("creating the lease failed", "error", err)
			return false
		}
		e.observe(c, now)
		return true
	}
	if err != nil {
		e.log().Warn("cannot read the lease", "error", err)
		return false
	}
	// Another write since we last looked (a renewal, a new holder): the
	// lease duration counts from now.
	if e.observed == nil || e.observed.ResourceVersion != cur.ResourceVersion {
		e.observe(cur, now)
	}
	h := holder(cur)
	if h != "" && h != e.Identity && e.valid(now) {
		return false
	}

	l := cur.DeepCopy()
	l.Spec.HolderIdentity = ptr(e.Identity)
	l.Spec.LeaseDurationSeconds = &secs
	l.Spec.RenewTime = &stamp
	if h != e.Identity {
		var n int32
		if cur.Spec.LeaseTransitions != nil {
			n = *cur.Spec.LeaseTransitions
		}
		l.Spec.AcquireTime = &stamp
		l.Spec.LeaseTransitions = ptr(n + 1)
	}
	u, err := e.Client.UpdateLease(ctx, l) // carries cur's resourceVersion
	if err != nil {
		e.log().Debug("taking the lease failed", "error", err)
		return false
	}
	e.observe(u, now)
	return true
}

// release gives the Lease up if this replica holds it: an empty holder and
// a one-second duration, so the others need not wait for it to expire.
func (e *Elector) release() {
	if !e.IsLeader() {
		return
	}
	now := e.clock()
	stamp := metav1.NewMicroTime(now)
	l := e.observed.DeepCopy()
	l.Spec.HolderIdentity = ptr("")
	l.Spec.LeaseDurationSeconds = ptr(int32(1))
	l.Spec.AcquireTime = &stamp
	l.Spec.RenewTime = &stamp
	ctx, cancel := context.WithTimeout(context.Background(), e.RenewDeadline)
	defer cancel()
	u, err := e.Client.UpdateLease(ctx, l)
	if err != nil {
		e.log().Warn("releasing the lease failed; the others take over once it expires", "error", err)
		return
	}
	e.observe(u, now)
	e.log().Info("released the lease")
}
