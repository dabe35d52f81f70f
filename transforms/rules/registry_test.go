package rules_test

import (
	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/sinks/filesink"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

// fullRegistry has what the shipped packs use.
func fullRegistry() *agent.Registry {
	return agent.NewRegistry(filesource.NewFactory(), stdin.NewFactory(), rules.NewFactory(), stdout.NewFactory(), filesink.NewFactory())
}
