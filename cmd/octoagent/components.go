package main

import (
	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/adapters/kafkasource"
	"github.com/octostore/agent/adapters/kubernetesevents"
	"github.com/octostore/agent/adapters/kuberneteslogs"
	"github.com/octostore/agent/adapters/otlpsource"
	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/sinks/filesink"
	"github.com/octostore/agent/sinks/httpsink"
	"github.com/octostore/agent/sinks/kafkasink"
	"github.com/octostore/agent/sinks/octostore"
	"github.com/octostore/agent/sinks/openlineage"
	"github.com/octostore/agent/sinks/otlpsink"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/assemble"
	"github.com/octostore/agent/transforms/correlate"
	"github.com/octostore/agent/transforms/rules"
)

// components lists every component octoagent links, explicitly: no global
// registry, so other binaries (the Fluent Bit plugin) link only theirs.
func components() *agent.Registry {
	return agent.NewRegistry(
		filesource.NewFactory(),
		kuberneteslogs.NewFactory(),
		kubernetesevents.NewFactory(),
		stdin.NewFactory(),
		kafkasource.NewFactory(),
		otlpsource.NewFactory(),
		rules.NewFactory(),
		correlate.NewFactory(),
		assemble.NewFactory(),
		stdout.NewFactory(),
		filesink.NewFactory(),
		octostore.NewFactory(),
		httpsink.NewFactory(),
		kafkasink.NewFactory(),
		openlineage.NewFactory(),
		otlpsink.NewFactory(),
	)
}
