// Package file is the `source "file"` component: it reads files matched by
// globs from the start or from a checkpoint, follows appends, and commits a
// position only once every line before it has reached a final outcome.
package file

import (
	_ "embed"
	"errors"
	"path/filepath"
	"time"

	"github.com/octostore/agent/agent"
)

//go:embed example.hcl
var example string

// Config is the `source "file"` block.
type Config struct {
	Paths           []string `hcl:"paths"`
	Exclude         []string `hcl:"exclude,optional"`
	StartAt         string   `hcl:"start_at,optional"`
	PollInterval    string   `hcl:"poll_interval,optional"`
	GlobInterval    string   `hcl:"glob_interval,optional"`
	RotateWait      string   `hcl:"rotate_wait,optional"`
	MaxLineBytes    int      `hcl:"max_line_bytes,optional"`
	BatchMaxRecords int      `hcl:"batch_max_records,optional"`
	ReadBufferBytes int      `hcl:"read_buffer_bytes,optional"`

	poll, glob, rotateWait time.Duration
}

func defaultConfig() *Config {
	return &Config{
		StartAt:         "beginning",
		PollInterval:    "250ms",
		GlobInterval:    "2s",
		RotateWait:      "5s",
		MaxLineBytes:    100 << 10,
		BatchMaxRecords: 1024,
		ReadBufferBytes: 256 << 10,
	}
}

// Validate checks the config and parses its durations.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Paths) == 0 {
		errs = append(errs, agent.AttrErrorf("paths", `List at least one file or glob, such as ["/var/log/nginx/access.log*"].`, "no paths given"))
	}
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
	dur := func(attr, s string, out *time.Duration) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			errs = append(errs, agent.AttrErrorf(attr, `Write a positive duration such as "250ms" or "5s".`, "%q is not a duration", s))
			return
		}
		*out = d
	}
	dur("poll_interval", c.PollInterval, &c.poll)
	dur("glob_interval", c.GlobInterval, &c.glob)
	dur("rotate_wait", c.RotateWait, &c.rotateWait)
	if c.MaxLineBytes < 16 {
		errs = append(errs, agent.AttrErrorf("max_line_bytes", "The default is 102400 (100 KiB).", "must be at least 16, got %d", c.MaxLineBytes))
	}
	if c.BatchMaxRecords < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "The default is 1024.", "must be at least 1, got %d", c.BatchMaxRecords))
	}
	if c.ReadBufferBytes < 4096 {
		errs = append(errs, agent.AttrErrorf("read_buffer_bytes", "The default is 262144 (256 KiB).", "must be at least 4096, got %d", c.ReadBufferBytes))
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

// NewFactory returns the factory of `source "file"`.
func NewFactory() *agent.Factory {
	return &agent.Factory{
		Kind:        agent.KindSource,
		Type:        "file",
		Description: "Reads lines from files matched by globs, follows appends and rotation, and resumes from checkpoints.",
		Example:     example,
		NewConfig:   func() any { return defaultConfig() },
		Create: func(set agent.Settings, cfg any) (any, error) {
			return newSource(set, cfg.(*Config)), nil
		},
	}
}
