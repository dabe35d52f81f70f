// Package stdout is the `sink "stdout"` component: it prints records as
// JSON lines on standard output.
package stdout

import (
	"context"
	_ "embed"
	"io"
	"os"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/jsonlines"
)

//go:embed example.hcl
var example string

// Config is the `sink "stdout"` block. It has no settings of its own
// besides inputs (and buffer).
type Config struct {
	writer io.Writer // tests replace os.Stdout
}

// NewFactory returns the factory of `sink "stdout"`.
func NewFactory() *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[Config, agent.Sink]{
		Type:        "stdout",
		Description: "Prints records as JSON lines on standard output.",
		Example:     example,
		NewConfig:   func() *Config { return &Config{} },
		Create: func(set agent.Settings, cfg *Config) (agent.Sink, error) {
			w := cfg.writer
			if w == nil {
				w = os.Stdout
			}
			return &sink{w: &jsonlines.Writer{W: w, Metrics: set.Metrics}}, nil
		},
		// Records are encoded into the sink's buffer as they come and
		// resolved once written; nothing of them is kept.
		Forgets: func(*Config) bool { return true },
		Claims:  func(*Config) []string { return []string{"standard output"} },
	})
}

type sink struct{ w *jsonlines.Writer }

func (s *sink) Consume(ctx context.Context, b agent.Batch) error { return s.w.Write(ctx, b) }
func (s *sink) Flush(context.Context) error                      { return nil }
