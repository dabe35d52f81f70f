package k8smeta

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeLeases is one Lease in memory, with the API server's optimistic
// concurrency: a write with a stale resourceVersion is a Conflict.
type fakeLeases struct {
	mu     sync.Mutex
	lease  *coordinationv1.Lease
	rv     int
	writes int
	fail   atomic.Bool // every request fails (API server unreachable)
}

var leasesGR = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

func (f *fakeLeases) GetLease(_ context.Context, _, name string) (*coordinationv1.Lease, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lease == nil {
		return nil, apierrors.NewNotFound(leasesGR, name)
	}
	return f.lease.DeepCopy(), nil
}

func (f *fakeLeases) store(l *coordinationv1.Lease) *coordinationv1.Lease {
	f.rv++
	f.writes++
	f.lease = l.DeepCopy()
	f.lease.ResourceVersion = strconv.Itoa(f.rv)
	return f.lease.DeepCopy()
}

func (f *fakeLeases) CreateLease(_ context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lease != nil {
		return nil, apierrors.NewAlreadyExists(leasesGR, l.Name)
	}
	return f.store(l), nil
}

func (f *fakeLeases) UpdateLease(_ context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	if f.fail.Load() {
		return nil, errors.New("connection refused")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lease == nil {
		return nil, apierrors.NewNotFound(leasesGR, l.Name)
	}
	if l.ResourceVersion != f.lease.ResourceVersion {
		return nil, apierrors.NewConflict(leasesGR, l.Name, errors.New("the object has been modified"))
	}
	return f.store(l), nil
}

func (f *fakeLeases) get() coordinationv1.LeaseSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lease == nil {
		return coordinationv1.LeaseSpec{}
	}
	return *f.lease.Spec.DeepCopy()
}

func elector(c LeaseClient, id string) *Elector {
	return &Elector{Client: c, Namespace: "ns", Name: "lease", Identity: id,
		LeaseDuration: 2 * time.Second, RenewDeadline: 600 * time.Millisecond, RetryPeriod: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// replica runs an elector's terms one after another until stop, and
// counts who leads.
type replica struct {
	e       *Elector
	leading atomic.Bool
	terms   atomic.Int32
	stop    context.CancelFunc
	done    chan struct{}
}

func run(e *Elector) *replica {
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{e: e, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			e.Run(ctx, func(lctx context.Context) {
				r.terms.Add(1)
				r.leading.Store(true)
				<-lctx.Done()
				r.leading.Store(false)
			})
		}
	}()
	return r
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two replicas: one leads, the other does not while the Lease is renewed;
// on a graceful stop the Lease is released and the other takes over at
// its next try, not after the lease duration.
func TestElectorOneLeaderAndRelease(t *testing.T) {
	f := &fakeLeases{}
	a, b := run(elector(f, "a")), run(elector(f, "b"))
	defer func() { a.stop(); b.stop(); <-a.done; <-b.done }()
	waitFor(t, "a leader", 5*time.Second, func() bool { return a.leading.Load() || b.leading.Load() })
	leader, follower := a, b
	if b.leading.Load() {
		leader, follower = b, a
	}
	time.Sleep(2500 * time.Millisecond) // longer than the lease: renewals keep it
	if follower.leading.Load() || follower.terms.Load() != 0 || !leader.leading.Load() || leader.terms.Load() != 1 {
		t.Fatalf("leader terms %d, follower terms %d: want exactly one leader for one term", leader.terms.Load(), follower.terms.Load())
	}
	spec := f.get()
	if *spec.HolderIdentity != leader.e.Identity || *spec.LeaseDurationSeconds != 2 || *spec.LeaseTransitions != 0 {
		t.Errorf("lease = holder %s, duration %d, transitions %d", *spec.HolderIdentity, *spec.LeaseDurationSeconds, *spec.LeaseTransitions)
	}
	acquired := spec.AcquireTime.Time

	stopped := time.Now()
	leader.stop()
	<-leader.done
	if spec := f.get(); *spec.HolderIdentity != "" && *spec.HolderIdentity != follower.e.Identity {
		t.Errorf("after a graceful stop the holder is %q, want released", *spec.HolderIdentity)
	}
	waitFor(t, "the other replica to lead", 5*time.Second, follower.leading.Load)
	if d := time.Since(stopped); d > 1500*time.Millisecond {
		t.Errorf("takeover after release took %v, want well under the 2s lease", d)
	}
	spec = f.get()
	if *spec.HolderIdentity != follower.e.Identity || *spec.LeaseTransitions != 1 || !spec.AcquireTime.After(acquired) {
		t.Errorf("lease after takeover = holder %s, transitions %d", *spec.HolderIdentity, *spec.LeaseTransitions)
	}
}

// A leader that dies without releasing (SIGKILL) blocks the others until
// the Lease has not changed for its duration.
func TestElectorTakesExpiredLease(t *testing.T) {
	f := &fakeLeases{}
	dead := elector(f, "dead")
	if !dead.tryAcquireOrRenew(context.Background()) {
		t.Fatal("first acquire failed")
	}
	start := time.Now()
	b := run(elector(f, "b"))
	defer func() { b.stop(); <-b.done }()
	waitFor(t, "the takeover", 6*time.Second, b.leading.Load)
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("took over after %v, before the 2s lease expired", d)
	}
	if spec := f.get(); *spec.HolderIdentity != "b" || *spec.LeaseTransitions != 1 {
		t.Errorf("holder %s transitions %d", *spec.HolderIdentity, *spec.LeaseTransitions)
	}
}

// A leader that cannot renew for renew_deadline ends its term.
func TestElectorStopsWhenRenewalFails(t *testing.T) {
	f := &fakeLeases{}
	a := run(elector(f, "a"))
	defer func() { a.stop(); <-a.done }()
	waitFor(t, "the lease", 5*time.Second, a.leading.Load)
	f.fail.Store(true)
	failed := time.Now()
	waitFor(t, "the term to end", 5*time.Second, func() bool { return !a.leading.Load() })
	if d := time.Since(failed); d < 500*time.Millisecond || d > 2*time.Second {
		t.Errorf("term ended %v after the API went away, want about the 600ms renew deadline", d)
	}
	// Back: the same replica takes its Lease again (it still names it).
	f.fail.Store(false)
	waitFor(t, "a new term", 5*time.Second, a.leading.Load)
	if a.terms.Load() != 2 {
		t.Errorf("terms %d, want 2", a.terms.Load())
	}
}

// staleGet answers GetLease with a copy read earlier: a replica that read
// the Lease just before another wrote it.
type staleGet struct {
	*fakeLeases
	lease *coordinationv1.Lease
}

func (s staleGet) GetLease(context.Context, string, string) (*coordinationv1.Lease, error) {
	return s.lease.DeepCopy(), nil
}

// Of two replicas writing the same free Lease, the one with the stale
// resourceVersion gets a Conflict and stays a follower.
func TestElectorConflict(t *testing.T) {
	f := &fakeLeases{}
	f.store(&coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("")}})
	ctx := context.Background()
	cur, _ := f.GetLease(ctx, "ns", "lease")
	a, b := elector(f, "a"), elector(staleGet{f, cur}, "b")
	okA := a.tryAcquireOrRenew(ctx)
	okB := b.tryAcquireOrRenew(ctx)
	if !okA || okB {
		t.Fatalf("a %v, b %v: want a only", okA, okB)
	}
	if !a.IsLeader() || b.IsLeader() || *f.get().HolderIdentity != "a" || f.writes != 2 {
		t.Errorf("IsLeader a %v b %v, holder %s, writes %d", a.IsLeader(), b.IsLeader(), *f.get().HolderIdentity, f.writes)
	}
}
