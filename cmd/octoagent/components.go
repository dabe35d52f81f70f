package main

import (
	"github.com/octostore/agent/adapters/file"
	kafkasource "github.com/octostore/agent/adapters/kafka"
	kubernetesevents "github.com/octostore/agent/adapters/kubernetes_events"
	kuberneteslogs "github.com/octostore/agent/adapters/kubernetes_logs"
	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	filesink "github.com/octostore/agent/sinks/file"
	httpsink "github.com/octostore/agent/sinks/http"
	kafkasink "github.com/octostore/agent/sinks/kafka"
	"github.com/octostore/agent/sinks/octostore"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

// components lists every component octoagent links, explicitly: no global
// registry, so other binaries (the Fluent Bit plugin) link only theirs.
func components() *agent.Registry {
	return agent.NewRegistry(
		file.NewFactory(),
		kuberneteslogs.NewFactory(),
		kubernetesevents.NewFactory(),
		stdin.NewFactory(),
		kafkasource.NewFactory(),
		rules.NewFactory(),
		stdout.NewFactory(),
		filesink.NewFactory(),
		octostore.NewFactory(),
		httpsink.NewFactory(),
		kafkasink.NewFactory(),
	)
}
