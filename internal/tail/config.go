// Package tail is the file-tailing engine of `source "file"` and
// `source "kubernetes_logs"`: it reads files matched by globs from the start
// or from a checkpoint, follows appends and rotation, and commits a
// position only once every line before it has reached a final outcome.
// kubernetes_logs plugs in a decoder per file (Hooks). It is not a
// component: the sources' packages declare the factories.
package tail

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/octostore/agent/agent"
)

// Config is the `source "file"` block. The kubernetes_logs source decodes
// the same attributes (all but paths) into it.
type Config struct {
	Paths           []string `hcl:"paths,optional"`
	Exclude         []string `hcl:"exclude,optional"`
	StartAt         string   `hcl:"start_at,optional"`
	PollInterval    string   `hcl:"poll_interval,optional"`
	GlobInterval    string   `hcl:"glob_interval,optional"`
	RotateWait      string   `hcl:"rotate_wait,optional"`
	CheckpointTTL   string   `hcl:"checkpoint_ttl,optional"`
	LineIdleTimeout string   `hcl:"line_idle_timeout,optional"`
	MaxLineBytes    int      `hcl:"max_line_bytes,optional"`
	MaxOpenFiles    int      `hcl:"max_open_files,optional"`
	BatchMaxRecords int      `hcl:"batch_max_records,optional"`
	ReadBufferBytes int      `hcl:"read_buffer_bytes,optional"`
	// Fsnotify turns the inotify watches off when false (polling only).
	Fsnotify *bool `hcl:"fsnotify,optional"`

	Multiline *MultilineConfig `hcl:"multiline,block"`

	poll, glob, rotateWait, ttl, idle time.Duration
}

// DefaultConfig returns the defaults of every tailing attribute.
func DefaultConfig() *Config {
	return &Config{
		StartAt:         "beginning",
		PollInterval:    "250ms",
		GlobInterval:    "2s",
		RotateWait:      "5s",
		CheckpointTTL:   "24h",
		LineIdleTimeout: "1s",
		MaxLineBytes:    100 << 10,
		MaxOpenFiles:    1024,
		BatchMaxRecords: 512,
		ReadBufferBytes: 256 << 10,
	}
}

// Validate checks the config and parses its durations and patterns.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Paths) == 0 {
		errs = append(errs, agent.AttrErrorf("paths", `List at least one file or glob, such as ["/var/log/nginx/access.log*"].`, "no paths given"))
	}
	errs = append(errs, c.ValidateTail())
	return errors.Join(errs...)
}

// ValidateTail checks every attribute but paths (kubernetes_logs sets
// those itself).
func (c *Config) ValidateTail() error {
	var errs []error
	for _, p := range append(append([]string(nil), c.Paths...), c.Exclude...) {
		if _, err := filepath.Match(p, ""); err != nil {
			attr := "paths"
			if !contains(c.Paths, p) {
				attr = "exclude"
			}
			errs = append(errs, agent.AttrErrorf(attr, "Check the brackets and escapes of the glob.", "bad glob %q: %v", p, err))
		}
	}
	switch c.StartAt {
	case "beginning", "end":
	default:
		errs = append(errs, agent.AttrErrorf("start_at", `Use "beginning" or "end"; it applies only to files with no checkpoint.`, "unknown value %q", c.StartAt))
	}
	dur := agent.DurationAttrs(&errs)
	dur("poll_interval", c.PollInterval, &c.poll)
	dur("glob_interval", c.GlobInterval, &c.glob)
	dur("rotate_wait", c.RotateWait, &c.rotateWait)
	dur("checkpoint_ttl", c.CheckpointTTL, &c.ttl)
	dur("line_idle_timeout", c.LineIdleTimeout, &c.idle)
	if c.MaxLineBytes < 16 {
		errs = append(errs, agent.AttrErrorf("max_line_bytes", "The default is 102400 (100 KiB).", "must be at least 16, got %d", c.MaxLineBytes))
	}
	if c.MaxOpenFiles < 1 {
		errs = append(errs, agent.AttrErrorf("max_open_files", "The default is 512.", "must be at least 1, got %d", c.MaxOpenFiles))
	}
	if c.BatchMaxRecords < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "The default is 512.", "must be at least 1, got %d", c.BatchMaxRecords))
	}
	if c.ReadBufferBytes < 4096 {
		errs = append(errs, agent.AttrErrorf("read_buffer_bytes", "The default is 262144 (256 KiB).", "must be at least 4096, got %d", c.ReadBufferBytes))
	}
	if m := c.Multiline; m != nil {
		errs = append(errs, m.validate())
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
