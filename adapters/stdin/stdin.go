// Package stdin is the `source "stdin"` component: it reads lines from the
// agent's standard input until it closes.
package stdin

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/lines"
)

//go:embed example.hcl
var example string

// Config is the `source "stdin"` block.
type Config struct {
	MaxLineBytes    int `hcl:"max_line_bytes,optional"`
	BatchMaxRecords int `hcl:"batch_max_records,optional"`
	// BatchTimeout bounds how long read lines wait for more to fill a batch.
	BatchTimeout string `hcl:"batch_timeout,optional"`

	batchTimeout time.Duration
	reader       io.Reader // tests replace os.Stdin
}

// Validate checks the config.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxLineBytes < 16 {
		errs = append(errs, agent.AttrErrorf("max_line_bytes", "The default is 102400 (100 KiB).", "must be at least 16, got %d", c.MaxLineBytes))
	}
	if c.BatchMaxRecords < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "The default is 1024.", "must be at least 1, got %d", c.BatchMaxRecords))
	}
	d, err := time.ParseDuration(c.BatchTimeout)
	if err != nil || d <= 0 {
		errs = append(errs, agent.AttrErrorf("batch_timeout", `Write a positive duration such as "100ms".`, "%q is not a duration", c.BatchTimeout))
	}
	c.batchTimeout = d
	return errors.Join(errs...)
}

// NewFactory returns the factory of `source "stdin"`.
func NewFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{
		Type:        "stdin",
		Description: "Reads lines from standard input until it closes.",
		Example:     example,
		NewConfig: func() *Config {
			return &Config{MaxLineBytes: 100 << 10, BatchMaxRecords: 1024, BatchTimeout: "100ms"}
		},
		Create: func(set agent.Settings, c *Config) (agent.Source, error) {
			r := c.reader
			if r == nil {
				r = os.Stdin
			}
			return &source{cfg: c, set: set, r: r}, nil
		},
		Claims: func(*Config) []string { return []string{"standard input"} },
	})
}

type source struct {
	cfg *Config
	set agent.Settings
	r   io.Reader
}

func streamOf(line []byte) string {
	h := fnv.New64a()
	h.Write(line)
	return "stdin:" + strconv.FormatUint(h.Sum64(), 16)
}

type chunk struct {
	lines []lines.Line
	err   error
}

// Run reads until standard input closes or ctx ends. Standard input cannot
// be re-read, so it keeps no checkpoint: each line is still acknowledged
// and counted.
func (s *source) Run(ctx context.Context) error {
	// Reading blocks with no way to interrupt it, so it runs on its own
	// goroutine and hands chunks over; ctx ending stops the hand-over.
	ch := make(chan chunk, 1)
	go func() {
		sp := lines.New(0, 64<<10, s.cfg.MaxLineBytes)
		for {
			out, _, err := sp.Read(s.r, nil)
			if err == io.EOF {
				out = sp.Flush(out)
			}
			select {
			case ch <- chunk{out, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	tracker := agent.NewTracker(s.set.Acks, func(int64) {}, func() {
		s.set.Metrics.StuckStream()
		s.set.Logger.Warn("records from standard input were not delivered; standard input cannot be read again, so they are lost")
	})
	var pending []lines.Line
	var timer <-chan time.Time
	flush := func() error {
		for len(pending) > 0 {
			n := min(len(pending), s.cfg.BatchMaxRecords)
			s.emit(ctx, tracker, pending[:n])
			pending = pending[n:]
		}
		pending, timer = nil, nil
		return ctx.Err()
	}
	for {
		select {
		case <-ctx.Done():
			// Lines already read cannot be read again: hand them on (Emit
			// waits until the drain deadline at most).
			flush()
			return nil
		case <-timer:
			if flush() != nil {
				return nil
			}
		case c := <-ch:
			pending = append(pending, c.lines...)
			if len(pending) >= s.cfg.BatchMaxRecords || c.err != nil {
				if flush() != nil {
					return nil
				}
			} else if len(pending) > 0 && timer == nil {
				timer = time.After(s.cfg.batchTimeout)
			}
			if c.err == io.EOF {
				return nil
			}
			if c.err != nil {
				return fmt.Errorf("read standard input: %w", c.err)
			}
		}
	}
}

func (s *source) emit(ctx context.Context, tracker *agent.Tracker[int64], ls []lines.Line) {
	tok := tracker.Track(len(ls), ls[len(ls)-1].End)
	base := agent.Origin{Host: s.set.Host, Component: s.set.ID}
	recs, cut := lines.Records(ls, time.Now(), base, tok, s.cfg.MaxLineBytes)
	// Standard input has no identity to resume from: a record's stream is
	// the hash of its line, so the same input piped twice gives the same
	// ids, and different input at the same offsets does not.
	for i := range recs {
		recs[i].Origin.Stream = streamOf(recs[i].Raw)
	}
	for i := range cut {
		raw, _ := cut[i].Get("raw")
		cut[i].Origin.Stream = streamOf([]byte(raw.(string)))
	}
	if cut != nil {
		s.set.Metrics.Counter("lines_cut_total", "Lines longer than max_line_bytes; their head went to the dead-letter output.").Add(float64(len(cut)))
		_ = s.set.DeadLetter.Emit(ctx, cut)
	}
	_ = s.set.Out.Emit(ctx, recs)
}
