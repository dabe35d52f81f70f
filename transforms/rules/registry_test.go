package rules_test

import (
	"github.com/octostore/agent/adapters/file"
	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	filesink "github.com/octostore/agent/sinks/file"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

// fullRegistry has what the shipped packs use.
func fullRegistry() *agent.Registry {
	return agent.NewRegistry(file.NewFactory(), stdin.NewFactory(), rules.NewFactory(), stdout.NewFactory(), filesink.NewFactory())
}
