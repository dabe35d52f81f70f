package durable

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

type state struct {
	N int `json:"n"`
}

func settings(dir string) agent.Settings {
	return agent.Settings{ID: "transform.x", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: agent.NewMetrics(nil).For("transform.x")}
}

// A held token resolves only after a save that includes its change; a
// save that fails keeps it held (and the state dirty) until one succeeds.
func TestHoldUntilSaved(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	st := state{}
	s := New(settings(dir), "fp", &mu, func() (any, error) { return st, nil })
	acks := agent.NewAcks()
	done := false
	tok := acks.NewToken(1, func(bool) { done = true })
	r := agent.Record{}
	r.SetToken(tok)

	mu.Lock()
	st.N = 1
	s.Hold(r.Token())
	mu.Unlock()
	r.Ack(agent.Delivered) // the record itself is done; the hold remains
	if done {
		t.Fatal("resolved before the save")
	}
	// The state directory cannot be made: the save fails, the hold stays.
	if err := os.WriteFile(filepath.Join(dir, "state"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(); err == nil || !strings.Contains(err.Error(), "sources do not commit") {
		t.Fatalf("save into a file: %v", err)
	}
	if done || s.Held() != 1 {
		t.Fatalf("after a failed save: resolved %v, held %d", done, s.Held())
	}
	os.Remove(filepath.Join(dir, "state"))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if !done || acks.OverAcked() != 0 {
		t.Fatalf("after the save: resolved %v, over-acked %d", done, acks.OverAcked())
	}
	var back state
	if !New(settings(dir), "fp", &mu, nil).Load(&back) || back.N != 1 {
		t.Fatalf("loaded %+v", back)
	}
}

// A state saved under another config is not loaded (and is kept aside);
// an unreadable one is moved aside; without a data directory nothing is
// held or saved.
func TestLoadRefusesOtherConfigAndCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	s := New(settings(dir), "one", &mu, func() (any, error) { return state{N: 5}, nil })
	mu.Lock()
	s.Dirty()
	mu.Unlock()
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	var st state
	if New(settings(dir), "two", &mu, nil).Load(&st) {
		t.Fatal("loaded a state saved under another fingerprint")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "state", "transform.x.json.config-*")); len(m) != 1 {
		t.Errorf("kept aside: %v", m)
	}
	if err := os.WriteFile(filepath.Join(dir, "state", "transform.x.json"), []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	if New(settings(dir), "one", &mu, nil).Load(&st) {
		t.Fatal("loaded a torn file")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "state", "transform.x.json.corrupt-*")); len(m) != 1 {
		t.Errorf("moved aside: %v", m)
	}
	mem := New(settings(""), "one", &mu, nil)
	tok := agent.NewAcks().NewToken(1, nil)
	mu.Lock()
	mem.Hold(tok)
	mu.Unlock()
	if mem.Held() != 0 || mem.Durable() || mem.Save() != nil {
		t.Errorf("without a data directory: held %d, durable %v", mem.Held(), mem.Durable())
	}
}

// Many batches waiting for a save: Throttle saves at once; while saves
// fail, it waits (the component's sources slow down) until ctx ends.
func TestThrottle(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	s := New(settings(dir), "fp", &mu, func() (any, error) { return state{N: 1}, nil })
	acks := agent.NewAcks()
	mu.Lock()
	for i := 0; i < maxHeld; i++ {
		s.Hold(acks.NewToken(1, nil))
	}
	mu.Unlock()
	if err := os.WriteFile(filepath.Join(dir, "state"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	s.Throttle(ctx)
	if time.Since(start) < 250*time.Millisecond || s.Held() != maxHeld {
		t.Fatalf("with saves failing, Throttle returned after %v with %d held", time.Since(start), s.Held())
	}
	os.Remove(filepath.Join(dir, "state"))
	s.Throttle(context.Background())
	if s.Held() != 0 || acks.InFlight() != maxHeld {
		t.Fatalf("after a save: %d held, %d tokens in flight (each still has its record)", s.Held(), acks.InFlight())
	}
}
