// Package file is the `sink "file"` component: it appends records as JSON
// lines to a file.
package filesink

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/jsonlines"
)

//go:embed example.hcl
var example string

// Config is the `sink "file"` block.
type Config struct {
	Path string `hcl:"path"`
	// Fsync makes each batch durable on disk before it counts as delivered.
	Fsync bool `hcl:"fsync,optional"`
}

// Validate checks the config.
func (c *Config) Validate() error {
	if c.Path == "" {
		return agent.AttrErrorf("path", `Give the file to append to, such as "/var/lib/octoagent/out.jsonl".`, "empty path")
	}
	return nil
}

// NewFactory returns the factory of `sink "file"`.
func NewFactory() *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[Config, agent.Sink]{
		Type:        "file",
		Description: "Appends records as JSON lines to a file.",
		Example:     example,
		NewConfig:   func() *Config { return &Config{} },
		Create: func(set agent.Settings, c *Config) (agent.Sink, error) {
			if err := os.MkdirAll(filepath.Dir(c.Path), 0o750); err != nil {
				return nil, fmt.Errorf("create directory of %s: %w", c.Path, err)
			}
			f, err := os.OpenFile(c.Path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", c.Path, err)
			}
			if err := endWithNewline(f); err != nil {
				f.Close()
				return nil, fmt.Errorf("repair %s: %w", c.Path, err)
			}
			w := &jsonlines.Writer{W: f, Metrics: set.Metrics}
			if c.Fsync {
				w.Sync = f.Sync
			}
			return &sink{f: f, w: w}, nil
		},
		Claims: func(cfg *Config) []string {
			p, err := filepath.Abs(cfg.Path)
			if err != nil {
				p = cfg.Path
			}
			return []string{"file " + p}
		},
	})
}

// endWithNewline makes sure appended records start on a line of their own:
// a crash in the middle of a write can leave a torn last line, which is then
// closed with a newline instead of gluing the next record onto it.
func endWithNewline(f *os.File) error {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return nil // opened write-only: cannot check, nothing to repair
	}
	if last[0] == '\n' {
		return nil
	}
	_, err = f.Write([]byte{'\n'})
	return err
}

type sink struct {
	f *os.File
	w *jsonlines.Writer
}

func (s *sink) Consume(ctx context.Context, b agent.Batch) error { return s.w.Write(ctx, b) }
func (s *sink) Flush(context.Context) error                      { return nil }
func (s *sink) Close() error                                     { return s.f.Close() }
