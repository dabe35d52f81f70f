package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

func tapBatch(from, n int) agent.Batch {
	b := make(agent.Batch, n)
	for i := range b {
		b[i] = agent.Record{Kind: "k", Origin: agent.Origin{Component: "source.file.x", Offset: int64(from + i)}}.WithFields(map[string]any{"n": from + i})
	}
	return b
}

// The hub hands every Nth record of the right output, stops at the limit,
// counts what a full subscriber could not take, and never sets the ID of
// the record that goes on.
func TestTapHub(t *testing.T) {
	h := newTapHub()
	s := h.subscribe("transform.t", "", 2, 3)
	dl := h.subscribe("transform.t", agent.DeadLetterPort, 1, 0)
	b := tapBatch(0, 10)
	h.emit("transform.t", "", b)
	h.emit("transform.other", "", tapBatch(100, 5))
	for i := range b {
		if b[i].ID != "" {
			t.Fatalf("the tap set the ID of record %d", i)
		}
	}
	var got []float64
	for len(s.ch) > 0 {
		var r agent.WireRecord
		if err := json.Unmarshal(bytes.TrimSpace(<-s.ch), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Fields["n"].(float64))
	}
	if want := []float64{0, 2, 4}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("sample 2, limit 3: %v, want %v", got, want)
	}
	select {
	case <-s.full:
	default:
		t.Error("the limit did not end the subscription")
	}
	if len(dl.ch) != 0 {
		t.Errorf("the dead-letter tap got %d records of the default output", len(dl.ch))
	}
	h.emit("transform.t", agent.DeadLetterPort, tapBatch(0, 2000))
	if len(dl.ch) != cap(dl.ch) || h.unsubscribe(dl) != 2000-cap(dl.ch) {
		t.Errorf("a full subscriber: %d buffered, %d dropped", len(dl.ch), dl.dropped)
	}
}

// GET /tap on a component the running config does not have answers 404
// with the ones it has, at once.
func TestTapUnknownComponent(t *testing.T) {
	e := startReloadEnv(t)
	for _, id := range []string{"transform.nope", "sink.file.nope.dead_letter", "source.file"} {
		w := httptest.NewRecorder()
		e.sv.tap.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/tap?component="+id, nil))
		body := w.Body.String()
		if w.Code != http.StatusNotFound || !strings.Contains(body, "unknown component \""+id+"\"") ||
			!strings.Contains(body, "the running config has: sink.file.out, source.file.in") {
			t.Errorf("tap %s: %d %s", id, w.Code, body)
		}
	}
	// A known one streams (and ends at its limit).
	waitUntil(t, "3 records delivered", func() bool { return e.delivered() == 3 })
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.sv.tap.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/tap?component=source.file.in&limit=1", nil))
	}()
	waitUntil(t, "the tap to subscribe", func() bool { return e.sv.tap.active.Load() == 1 })
	appendLine(t, e.in, "five")
	<-done
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "five") {
		t.Errorf("tap source.file.in: %d %s", w.Code, w.Body.String())
	}
}
