package assemble

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

// runs makes the records of n CI runs, interleaved at random as runners
// would send them: each run's own order kept (running, steps with a
// running then a final event, the end); a run in four ends without its
// terminal record.
func runs(rng *rand.Rand, n int) agent.Batch {
	var per [][]agent.Record
	for i := 0; i < n; i++ {
		id := strconv.Itoa(i)
		at := t0.Add(time.Duration(i) * time.Minute)
		l := []agent.Record{run(0, "wf"+strconv.Itoa(i%3), id, "running", at)}
		for s := 0; s < 1+rng.IntN(5); s++ {
			name := "s" + strconv.Itoa(s)
			sat := at.Add(time.Duration(s) * time.Second)
			l = append(l, step(0, "wf"+strconv.Itoa(i%3), id, name, "running", 0, sat))
			l = append(l, step(0, "wf"+strconv.Itoa(i%3), id, name, []string{"success", "failure"}[rng.IntN(2)], float64(rng.IntN(300)), sat))
		}
		if rng.IntN(4) != 0 {
			l = append(l, run(0, "wf"+strconv.Itoa(i%3), id, []string{"success", "failure"}[rng.IntN(2)], at))
		}
		per = append(per, l)
	}
	var out agent.Batch
	for len(per) > 0 {
		i := rng.IntN(len(per))
		r := per[i][0]
		r.Origin.Offset = int64(len(out))
		out = append(out, r)
		if per[i] = per[i][1:]; len(per[i]) == 0 {
			per = append(per[:i], per[i+1:]...)
		}
	}
	return out
}

// instant is runHCL with no settle: summaries are made as the end record
// is processed, so that the tests need no clock.
var instant = strings.Replace(runHCL, `settle        = "2s"`, `settle        = "0"`, 1)

// The state never holds more than its limits after any batch.
func TestPropertyLimits(t *testing.T) {
	for c := 0; c < agenttest.PropertyCases(100); c++ {
		rng := rand.New(rand.NewPCG(uint64(c), 5))
		body := strings.Replace(instant, `save_interval = "1h"`, `save_interval = "1h"
  max_groups    = `+strconv.Itoa(1+rng.IntN(4))+`
  max_parts     = `+strconv.Itoa(1+rng.IntN(4))+`
  max_done      = `+strconv.Itoa(1+rng.IntN(4))+`
  max_bytes     = "`+strconv.Itoa(1500+rng.IntN(5000))+`B"`, 1)
		h := newHarness(t, body, "")
		cfg := h.cfg
		for _, b := range agenttest.Split(rng, runs(rng, 1+rng.IntN(12))) {
			h.process(agenttest.Clones(b))
			h.tr.mu.Lock()
			gs := h.tr.gs
			if len(gs.open) > cfg.MaxGroups || len(gs.done) > cfg.MaxDone || gs.bytes-gs.pbytes > cfg.MaxBytes || len(gs.pend) > cfg.MaxGroups {
				t.Fatalf("case %d: %d open (max %d), %d done (max %d), %d bytes (max %d), %d pending", c, len(gs.open), cfg.MaxGroups, len(gs.done), cfg.MaxDone, gs.bytes-gs.pbytes, cfg.MaxBytes, len(gs.pend))
			}
			for _, g := range gs.open {
				if g.parts() > cfg.MaxParts {
					t.Fatalf("case %d: group %s has %d parts (max %d)", c, g.Key, g.parts(), cfg.MaxParts)
				}
			}
			h.tr.mu.Unlock()
		}
	}
}

// summaries feeds batches to a transform without a data directory and
// returns the summaries and dead letters that came out, as written,
// sorted.
func summaries(t *testing.T, cfg *Config, batches []agent.Batch) string {
	h := &harness{t: t, cfg: cfg, clock: &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}}
	h.start()
	for _, b := range batches {
		h.process(agenttest.Clones(b))
	}
	var out []string
	for _, r := range append(h.cap.Records(), h.dead.Records()...) {
		out = append(out, wire(r))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// The summaries do not depend on how the input is cut into batches.
func TestPropertyBatchingIndependent(t *testing.T) {
	cfg, _ := load(t, instant)
	for c := 0; c < agenttest.PropertyCases(100); c++ {
		rng := rand.New(rand.NewPCG(uint64(c), 9))
		recs := runs(rng, 1+rng.IntN(10))
		want := summaries(t, cfg, []agent.Batch{recs})
		if got := summaries(t, cfg, agenttest.Split(rng, recs)); got != want {
			t.Fatalf("case %d: one batch gave\n%s\nrandom batches gave\n%s", c, want, got)
		}
	}
}

// kill -9 at any point, and the source reads again from what it had
// committed (at most what the held acknowledgements let it): every
// summary of an uninterrupted run comes out with the same id and content,
// and nothing else does (no incomplete summary, no late record).
func TestPropertyCrashAnywhere(t *testing.T) {
	cfg, _ := load(t, instant)
	for c := 0; c < max(agenttest.PropertyCases(100)/5, 1); c++ {
		rng := rand.New(rand.NewPCG(uint64(c), 3))
		recs := runs(rng, 1+rng.IntN(8))
		want := map[string]string{}
		for _, w := range strings.Split(summaries(t, cfg, []agent.Batch{recs}), "\n") {
			if w != "" {
				r, _ := agent.ParseJSON([]byte(w))
				want[r.ID] = w
			}
		}
		dir := t.TempDir()
		got := agenttest.CrashAnywhere(t, rng, recs, func() agenttest.Run {
			h := &harness{t: t, cfg: cfg, dir: dir, clock: &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}}
			h.start()
			h.tr.tick() // what the last run left pending goes out
			return agenttest.Run{Process: h.process, Save: func() { h.tr.save() }, Close: func() { h.tr.Close() }, Kill: h.tr.loop.Stop,
				Out: func() agent.Batch { return append(h.cap.Records(), h.dead.Records()...) }}
		})
		agenttest.SameOutput(t, want, got)
	}
}
