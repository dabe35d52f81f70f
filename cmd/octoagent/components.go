package main

import (
	"github.com/octostore/agent/adapters/file"
	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	filesink "github.com/octostore/agent/sinks/file"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

// components lists every component octoagent links, explicitly: no global
// registry, so other binaries (the Fluent Bit plugin) link only theirs.
func components() *agent.Registry {
	return agent.NewRegistry(
		file.NewFactory(),
		stdin.NewFactory(),
		rules.NewFactory(),
		stdout.NewFactory(),
		filesink.NewFactory(),
	)
}
