package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

const kafkaDeadline = 120 * time.Second // for a kafka agent to get through its share

// 100,000 messages over 3 partitions, consumed by the agent binary, which
// is stopped (SIGTERM) midway and started again: nothing is lost, and the
// final commit at shutdown leaves no duplicates. The first 60,000 messages
// arrive while the first run reads; the rest while the agent is down.
func TestKafkaRestart(t *testing.T) {
	const n = 100_000
	b := kafkatest.Start(t, 0, 3, []string{"events"})
	msgs, per := seqMessages(n, 3)
	dir := t.TempDir()
	var outs []string
	const firstPart = 60_000
	produced := make(chan error, 1)
	for run := 0; run < 2; run++ {
		if run == 0 {
			// Messages keep arriving while the first run reads, so the
			// SIGTERM finds it busy.
			go func() {
				for i := 0; i < firstPart; i += 2000 {
					if err := kafkatest.ProduceErr(b.Addr, "events", msgs[i:i+2000]); err != nil {
						produced <- err
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				produced <- nil
			}()
		} else {
			if err := <-produced; err != nil {
				t.Fatal(err)
			}
			kafkatest.Produce(t, b.Addr, "events", msgs[firstPart:])
		}
		out := outPath(dir, run)
		outs = append(outs, out)
		cfg := filepath.Join(dir, fmt.Sprintf("agent-%d.hcl", run))
		writeFile(t, cfg, kafkaAgentConfig(filepath.Join(dir, "data"), b.Addr, "restart", "events", out))
		p := startAgent(t, "", "run", "-c", cfg, "--http-addr", "off")
		if run == 0 {
			waitFor(t, kafkaDeadline, "the first agent to deliver 20,000 records", func() bool {
				if p.Exited() {
					t.Fatalf("agent exited early:\n%s", tail(p.Stderr.String(), 4000))
				}
				return countLines(t, out) >= 20_000
			})
		} else {
			waitFor(t, kafkaDeadline, "every message", func() bool {
				seen, _ := tally(t, outs...)
				lost, _ := lostAndDups(seen, per)
				return lost == 0
			})
		}
		p.Signal(t, syscall.SIGTERM)
		if code := p.WaitExit(t, exitDeadline); code != 0 {
			t.Fatalf("run %d exited with %d:\n%s", run, code, tail(p.Stderr.String(), 4000))
		}
	}
	seen, torn := tally(t, outs...)
	lost, dups := lostAndDups(seen, per)
	first, _ := readKafkaOut(t, outs[0])
	if lost != 0 || torn != 0 {
		t.Errorf("lost %d, torn lines %d", lost, torn)
	}
	c := kafkatest.Committed(t, b.Addr, "restart", "events", 3)
	for p := 0; p < 3; p++ {
		if c[p] != per[p] {
			t.Errorf("partition %d: committed %d, want %d", p, c[p], per[p])
		}
	}
	testfig.Report(t, "%d messages, 3 partitions, SIGTERM after %d: lost %d, duplicates %d", n, len(first), lost, dups)
}

// SIGKILL the consuming agent 5 times while it works through 100,000
// messages. Nothing is lost. Each duplicate comes from the window the
// killed agent had delivered but not committed yet: its offset is at or
// past the commit the next agent started from, and at or before the last
// offset the killed agent delivered.
func TestKafkaChaosSIGKILL(t *testing.T) {
	const n, kills = 100_000, 5
	b := kafkatest.Start(t, 0, 3, []string{"events"})
	msgs, per := seqMessages(n, 3)
	dir := t.TempDir()
	type window struct {
		from, to map[int]int64 // committed offset at the kill; last offset delivered
	}
	var outs []string
	var windows []window
	for run := 0; run <= kills; run++ {
		// Each run has a sixth of the messages more to read, besides what
		// the killed run left uncommitted; it is killed while it reads.
		kafkatest.Produce(t, b.Addr, "events", msgs[run*n/(kills+1):(run+1)*n/(kills+1)])
		out := outPath(dir, run)
		outs = append(outs, out)
		cfg := filepath.Join(dir, fmt.Sprintf("agent-%d.hcl", run))
		writeFile(t, cfg, kafkaAgentConfig(filepath.Join(dir, "data"), b.Addr, "chaos", "events", out))
		p := startAgent(t, "", "run", "-c", cfg, "--http-addr", "off")
		if run == kills {
			waitFor(t, kafkaDeadline, "every message", func() bool {
				seen, _ := tally(t, outs...)
				lost, _ := lostAndDups(seen, per)
				return lost == 0
			})
			p.Signal(t, syscall.SIGTERM)
			p.WaitExit(t, exitDeadline)
			break
		}
		waitFor(t, kafkaDeadline, fmt.Sprintf("run %d to deliver 4,000 records", run), func() bool {
			if p.Exited() {
				t.Fatalf("agent exited early:\n%s", tail(p.Stderr.String(), 4000))
			}
			return countLines(t, out) >= 4_000
		})
		p.Signal(t, syscall.SIGKILL)
		p.WaitExit(t, exitDeadline)
		// Nobody else commits until the next agent starts: this is where it
		// resumes.
		w := window{from: kafkatest.Committed(t, b.Addr, "chaos", "events", 3), to: map[int]int64{}}
		recs, _ := readKafkaOut(t, out)
		for _, r := range recs {
			w.to[r.P] = max(w.to[r.P], r.Off)
		}
		windows = append(windows, w)
	}
	// Who delivered what.
	seen, torn := tally(t, outs...)
	lost, dups := lostAndDups(seen, per)
	byRun := make([]map[kafkaPos]bool, len(outs))
	for i, o := range outs {
		recs, _ := readKafkaOut(t, o)
		byRun[i] = map[kafkaPos]bool{}
		for _, r := range recs {
			byRun[i][r] = true
		}
	}
	outside, windowTotal := 0, int64(0)
	for k, w := range windows {
		for p := 0; p < 3; p++ {
			if w.to[p] >= w.from[p] {
				windowTotal += w.to[p] - max(w.from[p], 0) + 1
			}
		}
		// Every record the killed run delivered that a later run delivered
		// again must lie in the killed run's uncommitted window.
		for pos := range byRun[k] {
			again := false
			for j := k + 1; j < len(byRun); j++ {
				again = again || byRun[j][pos]
			}
			if again && (pos.Off < w.from[pos.P] || pos.Off > w.to[pos.P]) {
				outside++
			}
		}
	}
	if lost != 0 {
		t.Errorf("lost %d", lost)
	}
	if outside != 0 {
		t.Errorf("%d duplicates outside the in-flight window of the killed agent", outside)
	}
	if int64(dups) > windowTotal {
		t.Errorf("%d duplicates, more than the %d records of the kill windows", dups, windowTotal)
	}
	testfig.Report(t, "%d messages, %d SIGKILLs: lost %d, duplicates %d (uncommitted windows at the kills: %d records), torn lines %d",
		n, kills, lost, dups, windowTotal, torn)
}

// Two agents in one group split 6 partitions with no overlap once the
// group is stable; adding the second and then stopping the first while
// messages keep coming loses nothing.
func TestKafkaScaling(t *testing.T) {
	const partitions, n = 6, 60_000
	b := kafkatest.Start(t, 0, partitions, []string{"events"})
	msgs, per := seqMessages(n, partitions)
	dir := t.TempDir()
	// The producer writes in slices, so the agents join and leave
	// mid-stream.
	produced := make(chan error, 1)
	go func() {
		for i := 0; i < len(msgs); i += 2000 {
			if err := kafkatest.ProduceErr(b.Addr, "events", msgs[i:min(i+2000, len(msgs))]); err != nil {
				produced <- err
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
		produced <- nil
	}()
	start := func(i int) (*agentProc, string) {
		out := outPath(dir, i)
		cfg := filepath.Join(dir, fmt.Sprintf("agent-%d.hcl", i))
		writeFile(t, cfg, kafkaAgentConfig(filepath.Join(dir, fmt.Sprintf("data-%d", i)), b.Addr, "scale", "events", out))
		return startAgent(t, "", "run", "-c", cfg, "--http-addr", "off"), out
	}
	a, outA := start(0)
	waitFor(t, kafkaDeadline, "agent A to deliver", func() bool { return countLines(t, outA) >= 3000 })
	bb, outB := start(1)
	var genA, genB int
	var partsA, partsB []string
	waitFor(t, kafkaDeadline, "both agents to hold partitions in one generation", func() bool {
		genA, partsA = lastGeneration(a.Stderr.String())
		genB, partsB = lastGeneration(bb.Stderr.String())
		return genA == genB && genA > 0 && len(partsA) > 0 && len(partsB) > 0
	})
	overlap := 0
	for _, p := range partsA {
		if slices.Contains(partsB, p) {
			overlap++
		}
	}
	if overlap != 0 || len(partsA)+len(partsB) != partitions {
		t.Errorf("generation %d: A holds %v, B holds %v: want a split of all %d partitions with no overlap", genA, partsA, partsB, partitions)
	}
	waitFor(t, kafkaDeadline, "agent B to deliver", func() bool { return countLines(t, outB) >= 3000 })
	a.Signal(t, syscall.SIGTERM)
	if code := a.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("agent A exited with %d", code)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	waitFor(t, kafkaDeadline, "every message", func() bool {
		seen, _ := tally(t, outA, outB)
		lost, _ := lostAndDups(seen, per)
		return lost == 0
	})
	genB2, partsB2 := lastGeneration(bb.Stderr.String())
	bb.Signal(t, syscall.SIGTERM)
	bb.WaitExit(t, exitDeadline)
	seen, torn := tally(t, outA, outB)
	lost, dups := lostAndDups(seen, per)
	if lost != 0 || torn != 0 {
		t.Errorf("lost %d, torn %d", lost, torn)
	}
	if len(partsB2) != partitions {
		t.Errorf("after A left, B holds %v in generation %d, want all %d partitions", partsB2, genB2, partitions)
	}
	testfig.Report(t, "%d messages, %d partitions: generation %d split A=%s B=%s (overlap %d); after A left B holds %d; lost %d, duplicates %d",
		n, partitions, genA, strings.Join(partsA, ","), strings.Join(partsB, ","), overlap, len(partsB2), lost, dups)
}
