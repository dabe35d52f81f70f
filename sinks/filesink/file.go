// Package file is the `sink "file"` component: it appends records as JSON
// lines to a file.
package filesink

import (
	"context"
	_ "embed"
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

// Preflight checks that the file can be appended to, or created, without
// creating it (agent.Preflighter).
func (c *Config) Preflight() error {
	if err := agent.CheckWritableFile(c.Path); err != nil {
		return agent.AttrErrorf("path", "Give a file in a directory the agent can write to (and mount one in a container).", "%v", err)
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
			f, err := jsonlines.OpenFile(c.Path)
			if err != nil {
				return nil, err
			}
			w := &jsonlines.Writer{W: f, Metrics: set.Metrics}
			if c.Fsync {
				w.Sync = f.Sync
			}
			return &sink{f: f, w: w}, nil
		},
		// Records are encoded into the sink's buffer as they come and
		// resolved once written; nothing of them is kept.
		Forgets: func(*Config) bool { return true },
		Claims: func(cfg *Config) []string {
			p, err := filepath.Abs(cfg.Path)
			if err != nil {
				p = cfg.Path
			}
			return []string{"file " + p}
		},
	})
}

type sink struct {
	f *os.File
	w *jsonlines.Writer
}

func (s *sink) Consume(ctx context.Context, b agent.Batch) error { return s.w.Write(ctx, b) }
func (s *sink) Flush(context.Context) error                      { return nil }
func (s *sink) Close() error                                     { return s.f.Close() }
