// Package filesource is the `source "file"` component: it tails files
// matched by globs, follows appends and rotation, and resumes from
// checkpoints. The tailing engine is internal/tail, which the
// kubernetes_logs source shares.
package filesource

import (
	_ "embed"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/tail"
)

//go:embed example.hcl
var example string

// Config is the `source "file"` block.
type Config = tail.Config

// NewFactory returns the factory of `source "file"`.
func NewFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{
		Type:        "file",
		Description: "Reads lines from files matched by globs, follows appends and rotation, and resumes from checkpoints.",
		Example:     example,
		NewConfig:   tail.DefaultConfig,
		Create: func(set agent.Settings, cfg *Config) (agent.Source, error) {
			return tail.NewTailer(set, cfg, tail.Hooks{}), nil
		},
	})
}
