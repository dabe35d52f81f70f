package agent

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestTrackerCommitsContiguousPrefixOutOfOrder(t *testing.T) {
	acks := NewAcks()
	var commits []int
	tr := NewTracker(acks, func(p int) { commits = append(commits, p) }, nil)
	toks := make([]*Token, 5)
	for i := range toks {
		toks[i] = tr.Track(2, (i+1)*10)
	}
	resolve := func(i int) {
		toks[i].resolve(Delivered, 1)
		toks[i].resolve(Dropped, 1)
	}
	resolve(2)
	resolve(1)
	if len(commits) != 0 {
		t.Fatalf("committed %v before batch 0 resolved", commits)
	}
	resolve(0)
	if want := []int{30}; len(commits) != 1 || commits[0] != 30 {
		t.Fatalf("commits = %v, want %v", commits, want)
	}
	resolve(4)
	resolve(3)
	if commits[len(commits)-1] != 50 || acks.InFlight() != 0 {
		t.Fatalf("commits = %v, in flight %d", commits, acks.InFlight())
	}
}

func TestTrackerFreezesAtFailure(t *testing.T) {
	acks := NewAcks()
	var last int
	stuck := 0
	tr := NewTracker(acks, func(p int) { last = p }, func() { stuck++ })
	a, b, c := tr.Track(1, 1), tr.Track(1, 2), tr.Track(1, 3)
	a.resolve(Delivered, 1)
	b.resolve(Failed, 1)
	c.resolve(Delivered, 1)
	if last != 1 || stuck != 1 || !tr.Stuck() {
		t.Fatalf("last commit %d, stuck %d: want 1 and 1", last, stuck)
	}
	d := tr.Track(1, 4)
	d.resolve(Delivered, 1)
	if last != 1 {
		t.Fatalf("committed %d past a failed batch", last)
	}
	if tr.Pending() != 0 {
		t.Fatalf("a stuck tracker keeps %d entries; it should forget them", tr.Pending())
	}
}

func TestTokenDoneOnceUnderConcurrentAcks(t *testing.T) {
	acks := NewAcks()
	done := 0
	var mu sync.Mutex
	tok := acks.NewToken(1000, func(bool) { mu.Lock(); done++; mu.Unlock() })
	recs := make(Batch, 1000)
	for i := range recs {
		recs[i].SetToken(tok)
	}
	// Fan out: clone each record once, then ack originals and clones from
	// many goroutines.
	clones := make(Batch, len(recs))
	for i := range recs {
		clones[i] = recs[i].Clone()
	}
	var wg sync.WaitGroup
	for _, b := range []Batch{recs, clones} {
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(part Batch) {
				defer wg.Done()
				for i := range part {
					part[i].Ack(Delivered)
				}
			}(b[g*250 : (g+1)*250])
		}
	}
	wg.Wait()
	if done != 1 || acks.InFlight() != 0 || acks.OverAcked() != 0 {
		t.Fatalf("done %d times, in flight %d, over-acked %d", done, acks.InFlight(), acks.OverAcked())
	}
	if err := acks.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAckAllGroupsByToken(t *testing.T) {
	acks := NewAcks()
	var failed []bool
	t1 := acks.NewToken(2, func(f bool) { failed = append(failed, f) })
	t2 := acks.NewToken(1, func(f bool) { failed = append(failed, f) })
	b := Batch{{}, {}, {}, {}}
	b[0].SetToken(t1)
	b[1].SetToken(t1)
	b[2].SetToken(t2) // b[3] has no token
	AckAll(b, Failed)
	if len(failed) != 2 || !failed[0] || !failed[1] {
		t.Fatalf("failed = %v", failed)
	}
	for i := range b {
		if b[i].Token() != nil {
			t.Fatalf("record %d still holds its token", i)
		}
	}
}

func TestAcksWaitHonoursContext(t *testing.T) {
	acks := NewAcks()
	acks.NewToken(1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := acks.Wait(ctx); err == nil {
		t.Fatal("Wait returned nil with a token in flight")
	}
}

func TestTrackerRandomOrderNeverCommitsPastUnresolved(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		acks := NewAcks()
		n := 1 + r.IntN(50)
		resolved := make([]bool, n)
		tr := NewTracker(acks, func(p int) {
			for i := 0; i <= p; i++ {
				if !resolved[i] {
					t.Fatalf("round %d: committed %d while batch %d is unresolved", round, p, i)
				}
			}
		}, nil)
		toks := make([]*Token, n)
		for i := range toks {
			toks[i] = tr.Track(1, i)
		}
		for _, i := range r.Perm(n) {
			resolved[i] = true
			toks[i].resolve(Delivered, 1)
		}
		if tr.Pending() != 0 {
			t.Fatalf("round %d: %d batches left", round, tr.Pending())
		}
	}
}

// OnRelease runs once, after done, when the last record resolves; the
// release may hand the batch's memory to new records at once (here,
// records of another token written over it), which the Ack or AckAll that
// released it must not touch.
func TestTokenOnReleaseAfterLastOutcome(t *testing.T) {
	acks := NewAcks()
	var order []string
	a := acks.NewToken(3, func(bool) { order = append(order, "done") })
	reused := acks.NewToken(3, nil)
	batch := Batch{{}, {}, {}}
	for i := range batch {
		batch[i].SetToken(a)
	}
	a.OnRelease(func() {
		order = append(order, "release")
		for i := range batch {
			batch[i] = Record{Kind: "new"}
			batch[i].SetToken(reused)
		}
	})
	batch[2].Ack(Delivered)
	if len(order) != 0 {
		t.Fatalf("released with records pending: %v", order)
	}
	batch[1].Ack(Delivered)
	AckAll(batch[:1:1], Delivered) // a's last record: a resolves, its slab is reused
	if want := []string{"done", "release"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	// The slab now holds reused's records: untouched by what released it.
	for i := range batch {
		if batch[i].Token() != reused || batch[i].Kind != "new" {
			t.Fatalf("record %d of the reused slab was changed: %+v", i, batch[i])
		}
	}
	if got := reused.pending.Load(); got != 3 {
		t.Fatalf("reused token pending %d, want 3", got)
	}
	if acks.OverAcked() != 0 {
		t.Fatalf("over-acked %d", acks.OverAcked())
	}
}

// An AckAll over runs of several tokens resolves each once, whatever the
// first resolution released.
func TestAckAllReleasesWithoutRereading(t *testing.T) {
	acks := NewAcks()
	a := acks.NewToken(2, nil)
	b := acks.NewToken(2, nil)
	batch := Batch{{}, {}, {}, {}}
	batch[0].SetToken(a)
	batch[1].SetToken(a)
	batch[2].SetToken(b)
	batch[3].SetToken(b)
	other := acks.NewToken(4, nil)
	released := 0
	a.OnRelease(func() {
		released++
		for i := range batch { // the memory reused by the next batch
			batch[i] = Record{}
			batch[i].SetToken(other)
		}
	})
	b.OnRelease(func() { released++ })
	AckAll(batch, Delivered)
	if released != 2 {
		t.Fatalf("released %d tokens, want 2", released)
	}
	if other.pending.Load() != 4 || acks.InFlight() != 1 || acks.OverAcked() != 0 {
		t.Fatalf("other pending %d, in flight %d, over-acked %d; want 4, 1, 0", other.pending.Load(), acks.InFlight(), acks.OverAcked())
	}
}
