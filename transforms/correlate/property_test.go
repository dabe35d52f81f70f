package correlate

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

// stream makes n records over a few namespaces and pods: rollouts and
// crashloops, with distinct, increasing times (a crash replay may reorder
// records of the same time; see the README).
func stream(rng *rand.Rand, n int) agent.Batch {
	b := make(agent.Batch, n)
	at := t0
	for i := range b {
		at = at.Add(time.Duration(1+rng.IntN(600)) * time.Second)
		ns := "ns" + strconv.Itoa(rng.IntN(4))
		if rng.IntN(3) == 0 {
			b[i] = crash(i, ns, "pod"+strconv.Itoa(rng.IntN(6)), at)
		} else {
			b[i] = rollout(i, ns, "dep"+strconv.Itoa(rng.IntN(5)), "img:"+strconv.Itoa(i), at)
		}
	}
	return b
}

// limitsBody is crashloopHCL with small limits, so that every one of them
// is reached.
func limitsBody(rng *rand.Rand) string {
	body := strings.Replace(crashloopHCL, `max_age     = "24h"`, `max_age     = "`+strconv.Itoa(10+rng.IntN(60))+`m"`, 1)
	body = strings.Replace(body, `max_per_key = 3`, `max_per_key = `+strconv.Itoa(1+rng.IntN(4)), 1)
	return strings.Replace(body, `save_interval = "1h"`, `save_interval = "1h"
  max_entries   = `+strconv.Itoa(1+rng.IntN(8))+`
  max_answers   = `+strconv.Itoa(1+rng.IntN(5))+`
  max_bytes     = "`+strconv.Itoa(2000+rng.IntN(4000))+`B"`, 1)
}

// The window never holds more than its limits, after any batch, and what
// it lets go is counted.
func TestPropertyLimits(t *testing.T) {
	for c := 0; c < agenttest.PropertyCases(100); c++ {
		rng := rand.New(rand.NewPCG(uint64(c), 7))
		h := newHarness(t, limitsBody(rng), "")
		lim := h.tr.w.lim
		for _, b := range agenttest.Split(rng, stream(rng, 10+rng.IntN(120))) {
			h.process(b)
			w := h.tr.w
			n, a, bytes := w.size()
			if n > lim.maxEntries || a > lim.maxAnswers || bytes > lim.maxBytes {
				t.Fatalf("case %d: %d entries (max %d), %d answers (max %d), %d bytes (max %d)", c, n, lim.maxEntries, a, lim.maxAnswers, bytes, lim.maxBytes)
			}
			total := 0
			for k, l := range w.keys {
				total += len(l)
				if len(l) > lim.maxPerKey {
					t.Fatalf("case %d: key %s holds %d (max %d)", c, k, len(l), lim.maxPerKey)
				}
				for i, e := range l {
					if e.Time.Before(w.watermark.Add(-lim.maxAge)) {
						t.Fatalf("case %d: entry %s older than max_age", c, e.ID)
					}
					if i > 0 && before(e, l[i-1]) {
						t.Fatalf("case %d: key %s out of order", c, k)
					}
				}
			}
			if total != n || len(w.byID) != n || len(w.answers) != a {
				t.Fatalf("case %d: index out of step: keys %d, heap %d, ids %d; answers %d/%d", c, total, n, len(w.byID), len(w.answers), a)
			}
		}
	}
}

// run feeds batches to a transform without a data directory and returns
// what came out, as written.
func runAll(t *testing.T, cfg *Config, batches []agent.Batch) []string {
	h := &harness{t: t, cfg: cfg}
	h.start()
	for _, b := range batches {
		h.process(agenttest.Clones(b))
	}
	var out []string
	for _, r := range h.out.Records() {
		out = append(out, wire(r))
	}
	return out
}

// The answers (their content and ids, in order) do not depend on how the
// input is cut into batches.
func TestPropertyBatchingIndependent(t *testing.T) {
	for c := 0; c < agenttest.PropertyCases(100); c++ {
		rng := rand.New(rand.NewPCG(uint64(c), 11))
		cfg, _ := load(t, limitsBody(rng))
		recs := stream(rng, 10+rng.IntN(80))
		want := runAll(t, cfg, []agent.Batch{recs})
		got := runAll(t, cfg, agenttest.Split(rng, recs))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("case %d: one batch gave\n%s\nrandom batches gave\n%s", c, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}

// kill -9 at any point: the agent dies without saving; its source had
// committed some position (at most what the held acknowledgements let
// it); the next start loads the last saved window and reads again from
// that position. Every answer an uninterrupted run gives is given, with
// the same id and content, and no other answer ever is.
func TestPropertyCrashAnywhere(t *testing.T) {
	// Each case saves the window (with fsync) a few dozen times: fewer
	// cases than the other properties.
	for c := 0; c < max(agenttest.PropertyCases(100)/5, 1); c++ {
		rng := rand.New(rand.NewPCG(uint64(c), 13))
		body := strings.Replace(crashloopHCL, `max_per_key = 3`, `max_per_key = `+strconv.Itoa(1+rng.IntN(4)), 1)
		recs := stream(rng, 10+rng.IntN(80))
		cfg, _ := load(t, body)
		want := map[string]string{}
		for _, w := range runAll(t, cfg, []agent.Batch{recs}) {
			r, _ := agent.ParseJSON([]byte(w))
			want[r.ID] = w
		}
		dir := t.TempDir()
		got := agenttest.CrashAnywhere(t, rng, recs, func() agenttest.Run {
			h := &harness{t: t, cfg: cfg, dir: dir}
			h.start()
			return agenttest.Run{Process: h.process, Save: func() { h.tr.save() }, Close: func() { h.tr.Close() },
				Kill: h.tr.loop.Stop, Out: h.out.Records}
		})
		agenttest.SameOutput(t, want, got)
	}
}
