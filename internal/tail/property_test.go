package tail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/testfig"
)

// The property test drives a file source, in process, through random
// sequences of writes, rename rotations, copytruncates, truncations,
// deletions (which can make the next file reuse the inode) and agent
// restarts, and checks what it delivered against a model of what was
// written:
//
//   - every record carries a line that was written (received ⊆ written);
//   - no line is delivered twice;
//   - every line is delivered unless the bytes holding it were truncated
//     or deleted before the sink had it. Those lines are "at risk": they
//     may be delivered (at most once) or not.
//
// In half the cases the copies copytruncate makes match the globs; their
// lines are then not at risk, but may be delivered twice when the copy is
// not recognised as one (see the README): those duplicates are counted
// apart, and every other duplicate fails the test.
//
// OCTOAGENT_PROPERTY_CASES sets the number of cases (default 1000; `make
// test-nightly` runs 10,000) and OCTOAGENT_PROPERTY_SEED the first seed.

// propSink is a capture sink that counts lines by text.
type propSink struct {
	mu    sync.Mutex
	seen  map[string]int
	where map[string][]string // line -> "path stream@offset" of each delivery
	n     int
}

func (c *propSink) Consume(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	for i := range b {
		line := string(b[i].Raw)
		if b[i].Kind == agent.KindDeadLetter {
			line, _ = b[i].MaterializeFields()["raw"].(string)
		}
		c.seen[line]++
		c.n++
		if c.where != nil {
			c.where[line] = append(c.where[line], fmt.Sprintf("%s %s@%d", filepath.Base(b[i].Origin.Path), b[i].Origin.Stream, b[i].Origin.Offset))
		}
	}
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}
func (c *propSink) Flush(context.Context) error { return nil }

func (c *propSink) has(line string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[line] > 0
}

// propAgent is one run of the agent on a data dir.
type propAgent struct {
	rt     *agent.Runtime
	cancel context.CancelFunc
	done   chan error
}

func startProp(dataDir string, cfg *Config, sink *propSink) (*propAgent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var logOut io.Writer = io.Discard
	if os.Getenv("OCTOAGENT_PROPERTY_DEBUG") != "" {
		logOut = os.Stderr
	}
	rt, err := agent.New(testGraph(dataDir, cfg, sink), agent.Options{Logger: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &propAgent{rt: rt, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- rt.Run(ctx) }()
	return a, nil
}

func (a *propAgent) stop() error {
	a.cancel()
	select {
	case err := <-a.done:
		return err
	case <-time.After(60 * time.Second):
		return errors.New("agent did not stop within 60s")
	}
}

// propFile is one inode the case wrote to.
type propFile struct {
	path  string
	ino   uint64
	lines []string
}

// propCase is the model of one case.
type propCase struct {
	seed    uint64
	rng     *rand.Rand
	dir     string
	data    string
	sink    *propSink
	ag      *propAgent
	cfg     func() *Config
	written map[string]bool // every line written
	risk    map[string]bool // lines whose bytes were truncated or deleted before the sink had them
	live    []*propFile     // current file of each name, nil if none
	writer  []*os.File      // the writer's handle of each name (may point at a rotated file)
	wfile   []*propFile     // the inode each writer handle writes to
	rotated []*propFile     // rotated files still on disk
	deleted map[uint64]bool // inodes deleted during the case
	seq     int
	rot     int
	ops     map[string]int
	reused  int
	down    bool
	copies  bool            // copytruncate copies match the globs
	dupOK   map[string]bool // lines of copytruncate copies (copies followed)
	log     []string
}

func (c *propCase) note(format string, args ...any) {
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

func (c *propCase) line() string {
	c.seq++
	pad := c.rng.IntN(120)
	if c.rng.IntN(20) == 0 {
		pad = 200 + c.rng.IntN(400) // first lines longer than the fingerprint
	}
	return fmt.Sprintf("s%d-l%06d %s", c.seed, c.seq, strings.Repeat(string(rune('a'+c.seq%26)), pad))
}

func (c *propCase) name(i int) string { return filepath.Join(c.dir, "f"+strconv.Itoa(i)+".log") }

func inodeOf(path string) uint64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// ensure opens the writer of name i, creating the file if it is missing.
func (c *propCase) ensure(i int) error {
	if c.writer[i] != nil {
		return nil
	}
	fh, err := os.OpenFile(c.name(i), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	st, _ := fh.Stat()
	ino := st.Sys().(*syscall.Stat_t).Ino
	if c.deleted[ino] {
		c.reused++
	}
	f := &propFile{path: c.name(i), ino: ino}
	c.writer[i], c.wfile[i], c.live[i] = fh, f, f
	return nil
}

func (c *propCase) write(i, n int) error {
	if err := c.ensure(i); err != nil {
		return err
	}
	var b strings.Builder
	f := c.wfile[i]
	for k := 0; k < n; k++ {
		l := c.line()
		b.WriteString(l)
		if c.rng.IntN(10) == 0 {
			b.WriteString("\r")
		}
		b.WriteByte('\n')
		c.written[l] = true
		f.lines = append(f.lines, l)
	}
	_, err := c.writer[i].WriteString(b.String())
	return err
}

// atRisk marks the lines of f that the sink does not have yet.
func (c *propCase) atRisk(f *propFile) {
	for _, l := range f.lines {
		if !c.sink.has(l) {
			c.risk[l] = true
		}
	}
	f.lines = nil
}

func (c *propCase) step() error {
	n := len(c.live)
	i := c.rng.IntN(n)
	op := c.rng.IntN(100)
	if op >= 58 && op < 84 && !c.down && c.rng.IntN(2) == 0 {
		// Half the destructive operations come once the source caught up,
		// so that fewer lines are at risk and more are checked for loss.
		if err := c.waitSure(30 * time.Second); err != nil {
			return err
		}
	}
	switch {
	case op < 45:
		c.ops["write"]++
		c.note("write f%d seq=%d", i, c.seq)
		return c.write(i, 1+c.rng.IntN(40))
	case op < 58: // rename rotation, within the globs
		if c.live[i] == nil {
			return nil
		}
		c.ops["rename"]++
		c.note("rename f%d seq=%d", i, c.seq)
		c.rot++
		to := fmt.Sprintf("%s.%d", c.name(i), c.rot)
		if err := os.Rename(c.name(i), to); err != nil {
			return err
		}
		c.live[i].path = to
		c.rotated = append(c.rotated, c.live[i])
		c.live[i] = nil
		if c.rng.IntN(2) == 0 { // the writer has not reopened yet
			if err := c.writeTo(i, 1+c.rng.IntN(10)); err != nil {
				return err
			}
		}
		c.writer[i].Close()
		c.writer[i] = nil
		return c.ensure(i)
	case op < 66: // copytruncate: the copy is excluded (*.bak)
		if c.live[i] == nil {
			return nil
		}
		c.ops["copytruncate"]++
		c.note("copytruncate f%d seq=%d", i, c.seq)
		c.rot++
		data, err := os.ReadFile(c.name(i))
		if err != nil {
			return err
		}
		if c.copies {
			// The copy matches the globs: the source continues it where
			// the original was, so its lines are not at risk.
			to := fmt.Sprintf("%s.%d.copy", c.name(i), c.rot)
			if err := os.WriteFile(to, data, 0o644); err != nil {
				return err
			}
			cp := &propFile{path: to, ino: inodeOf(to), lines: c.live[i].lines}
			c.rotated = append(c.rotated, cp)
			// Usually the copy is continued where the original was; in some
			// timings (the original renamed, deleted or truncated again
			// before the source saw the first truncation) it is read from
			// its start. Its lines may then come twice: counted apart.
			for _, l := range cp.lines {
				c.dupOK[l] = true
			}
			c.live[i].lines = nil
			return os.Truncate(c.name(i), 0)
		}
		if err := os.WriteFile(fmt.Sprintf("%s.%d.bak", c.name(i), c.rot), data, 0o644); err != nil {
			return err
		}
		c.atRisk(c.live[i])
		return os.Truncate(c.name(i), 0)
	case op < 71: // plain truncation
		if c.live[i] == nil {
			return nil
		}
		c.ops["truncate"]++
		c.note("truncate f%d seq=%d", i, c.seq)
		c.atRisk(c.live[i])
		return os.Truncate(c.name(i), 0)
	case op < 79: // delete the live file (the next write creates a new one)
		if c.live[i] == nil {
			return nil
		}
		c.ops["delete"]++
		c.note("delete f%d seq=%d", i, c.seq)
		c.atRisk(c.live[i])
		c.deleted[c.live[i].ino] = true
		c.writer[i].Close()
		c.writer[i], c.live[i] = nil, nil
		if err := os.Remove(c.name(i)); err != nil {
			return err
		}
		if c.rng.IntN(2) == 0 { // a new file right away: may reuse the inode
			return c.write(i, 1+c.rng.IntN(10))
		}
		return nil
	case op < 84: // delete a rotated file
		if len(c.rotated) == 0 {
			return nil
		}
		c.ops["delete_rotated"]++
		c.note("delete_rotated f%d seq=%d", i, c.seq)
		k := c.rng.IntN(len(c.rotated))
		f := c.rotated[k]
		c.rotated = append(c.rotated[:k], c.rotated[k+1:]...)
		c.atRisk(f)
		c.deleted[f.ino] = true
		for j := range c.wfile {
			if c.wfile[j] == f {
				c.writer[j].Close()
				c.writer[j], c.wfile[j] = nil, nil
			}
		}
		return os.Remove(f.path)
	case op < 90 && !c.down: // restart the agent, with a few operations while it is down
		c.ops["restart"]++
		c.note("restart f%d seq=%d", i, c.seq)
		c.down = true
		if err := c.ag.stop(); err != nil {
			return err
		}
		for k := c.rng.IntN(3); k > 0; k-- {
			if err := c.step(); err != nil {
				return err
			}
		}
		c.down = false
		var err error
		c.ag, err = startProp(c.data, c.cfg(), c.sink)
		return err
	case op < 95 && !c.down:
		c.ops["catch_up"]++
		return c.waitSure(30 * time.Second)
	default:
		c.ops["sleep"]++
		time.Sleep(time.Duration(c.rng.IntN(30)) * time.Millisecond)
		return nil
	}
}

// writeTo appends lines through name i's writer handle, whatever file it
// points at now.
func (c *propCase) writeTo(i, n int) error {
	if c.writer[i] == nil {
		return nil
	}
	var b strings.Builder
	for k := 0; k < n; k++ {
		l := c.line()
		b.WriteString(l + "\n")
		c.written[l] = true
		c.wfile[i].lines = append(c.wfile[i].lines, l)
	}
	_, err := c.writer[i].WriteString(b.String())
	return err
}

// waitSure waits for every line not at risk to reach the sink.
func (c *propCase) waitSure(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		missing := ""
		for l := range c.written {
			if !c.risk[l] && !c.sink.has(l) {
				missing = l
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("line %.40q was not delivered within %v", missing, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type propResult struct {
	written, delivered, dups, dupOK, lost, risk, riskDelivered, foreign, reused int
	ops                                                                         map[string]int
	err                                                                         error
	log                                                                         []string
}

func runPropCase(seed uint64, root string) (res propResult) {
	c := &propCase{
		seed: seed, rng: rand.New(rand.NewPCG(seed, seed*7919+1)),
		dir: filepath.Join(root, "logs"), data: filepath.Join(root, "data"),
		sink:    &propSink{seen: map[string]int{}, where: map[string][]string{}},
		written: map[string]bool{}, risk: map[string]bool{}, deleted: map[uint64]bool{}, ops: map[string]int{},
		dupOK: map[string]bool{},
	}
	defer func() {
		for _, w := range c.writer {
			if w != nil {
				w.Close()
			}
		}
		res.log = c.log
	}()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return propResult{err: err}
	}
	nf := 1 + c.rng.IntN(3)
	c.live, c.writer, c.wfile = make([]*propFile, nf), make([]*os.File, nf), make([]*propFile, nf)
	multi := c.rng.IntN(4) == 0
	fsn := c.rng.IntN(4) != 0
	c.copies = c.rng.IntN(2) == 0
	maxOpen := 1024
	if c.rng.IntN(4) == 0 {
		maxOpen = 1 + c.rng.IntN(2)
	}
	c.cfg = func() *Config {
		cfg := DefaultConfig()
		cfg.Paths = []string{filepath.Join(c.dir, "*.log*")}
		cfg.Exclude = []string{"*.bak"}
		cfg.PollInterval, cfg.GlobInterval, cfg.RotateWait = "10ms", "30ms", "300ms"
		cfg.Fsnotify = &fsn
		cfg.MaxOpenFiles = maxOpen
		if multi {
			cfg.BatchMaxRecords = 1 + c.rng.IntN(8)
			cfg.ReadBufferBytes = 4096
			cfg.MaxLineBytes = 2048
		}
		return cfg
	}
	c.note("files=%d fsnotify=%v max_open=%d small_batches=%v copies_followed=%v", nf, fsn, maxOpen, multi, c.copies)
	for i := 0; i < nf; i++ {
		if c.rng.IntN(2) == 0 {
			if err := c.write(i, 1+c.rng.IntN(20)); err != nil {
				return propResult{err: err}
			}
		}
	}
	var err error
	c.ag, err = startProp(c.data, c.cfg(), c.sink)
	if err != nil {
		return propResult{err: err}
	}
	steps := 4 + c.rng.IntN(16)
	for k := 0; k < steps && err == nil; k++ {
		err = c.step()
	}
	if err == nil {
		err = c.waitSure(60 * time.Second)
	}
	if stopErr := c.ag.stop(); err == nil {
		err = stopErr
	}
	res = propResult{err: err, written: len(c.written), risk: len(c.risk), reused: c.reused, ops: c.ops}
	c.sink.mu.Lock()
	defer c.sink.mu.Unlock()
	for l, n := range c.sink.seen {
		res.delivered += n
		if !c.written[l] {
			res.foreign++
			if res.err == nil {
				res.err = fmt.Errorf("delivered a line that was never written: %.60q", l)
			}
			continue
		}
		if n > 1 {
			res.dups += n - 1
			if c.dupOK[l] {
				res.dupOK += n - 1
			} else if res.err == nil {
				res.err = fmt.Errorf("line %.40q delivered %d times: %v", l, n, c.sink.where[l])
			}
		}
		if c.risk[l] {
			res.riskDelivered++
		}
	}
	for l := range c.written {
		if c.sink.seen[l] == 0 {
			res.lost++
			if !c.risk[l] && res.err == nil {
				res.err = fmt.Errorf("line %.40q was never delivered", l)
			}
		}
	}
	return res
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestPropertyRotationTruncationRestart(t *testing.T) {
	cases := envInt("OCTOAGENT_PROPERTY_CASES", 1000)
	first := uint64(envInt("OCTOAGENT_PROPERTY_SEED", 1))
	workers := 6
	root := t.TempDir()
	start := time.Now()
	var next atomic.Uint64
	next.Store(first)
	var mu sync.Mutex
	var total propResult
	total.ops = map[string]int{}
	var failures []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				seed := next.Add(1) - 1
				if seed >= first+uint64(cases) {
					return
				}
				dir := filepath.Join(root, strconv.FormatUint(seed, 10))
				r := runPropCase(seed, dir)
				os.RemoveAll(dir)
				mu.Lock()
				total.written += r.written
				total.delivered += r.delivered
				total.dups += r.dups
				total.dupOK += r.dupOK
				total.lost += r.lost
				total.risk += r.risk
				total.riskDelivered += r.riskDelivered
				total.foreign += r.foreign
				total.reused += r.reused
				for k, v := range r.ops {
					total.ops[k] += v
				}
				if r.err != nil && len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("seed %d: %v (%s; ops %v)", seed, r.err, strings.Join(r.log, "; "), r.ops))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	testfig.Report(t, "cases: %d in %v; lines written: %d, delivered: %d; duplicates: %d (%d of them allowed: lines of copytruncate copies read from their start); lost: %d (all of them at risk: truncated or deleted before delivery; %d lines were at risk, %d of those delivered); foreign: %d; inode reuses: %d; ops: %v",
		cases, time.Since(start).Round(time.Millisecond), total.written, total.delivered, total.dups, total.dupOK, total.lost, total.risk, total.riskDelivered, total.foreign, total.reused, total.ops)
	for _, f := range failures {
		t.Error(f)
	}
}
