// Package kuberneteslogs is the `source "kubernetes_logs"` component: on
// each node (a DaemonSet), it tails the container logs the kubelet keeps in
// /var/log/pods, decodes the CRI and docker json-file formats, joins
// partial lines, and tags each record with its namespace, pod and
// container. The tailing itself (rotation, truncation, checkpoints,
// max_open_files) is the file source's Tailer.
package kuberneteslogs

import (
	_ "embed"
	"errors"
	"path/filepath"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/tail"
)

//go:embed example.hcl
var example string

// Config is the `source "kubernetes_logs"` block. Every attribute of
// `source "file"` but paths and multiline applies too (decoded into Tail).
type Config struct {
	PodsDir           string   `hcl:"pods_dir,optional"`
	IncludeNamespaces []string `hcl:"include_namespaces,optional"`
	ExcludeNamespaces []string `hcl:"exclude_namespaces,optional"`
	IncludePods       []string `hcl:"include_pods,optional"`
	ExcludePods       []string `hcl:"exclude_pods,optional"`
	IncludeContainers []string `hcl:"include_containers,optional"`
	ExcludeContainers []string `hcl:"exclude_containers,optional"`
	PartialTimeout    string   `hcl:"partial_timeout,optional"`
	MaxMessageBytes   int      `hcl:"max_message_bytes,optional"`

	Tail tail.Config `hcl:",remain"`

	partialTimeout time.Duration
	validated      bool
}

func defaultConfig() *Config {
	return &Config{
		PodsDir:         "/var/log/pods",
		PartialTimeout:  "5s",
		MaxMessageBytes: 1 << 20,
		Tail:            *tail.DefaultConfig(),
	}
}

// Validate checks the config and points the tailer at pods_dir.
func (c *Config) Validate() error {
	var errs []error
	if c.PodsDir == "" {
		errs = append(errs, agent.AttrErrorf("pods_dir", `The kubelet writes container logs to "/var/log/pods".`, "must not be empty"))
	}
	own := filepath.Join(c.PodsDir, "*", "*", "*.log")
	if len(c.Tail.Paths) > 0 && !c.validated {
		errs = append(errs, agent.AttrErrorf("paths", "kubernetes_logs reads pods_dir/*/*/*.log; choose files with pods_dir and the include_/exclude_ globs.", "paths is not an attribute of kubernetes_logs"))
	}
	if c.Tail.Multiline != nil {
		errs = append(errs, agent.AttrErrorf("multiline", "Join lines with a transform instead; partial CRI and docker lines are joined already.", "multiline is not supported by kubernetes_logs yet"))
	}
	globs := map[string][]string{
		"include_namespaces": c.IncludeNamespaces, "exclude_namespaces": c.ExcludeNamespaces,
		"include_pods": c.IncludePods, "exclude_pods": c.ExcludePods,
		"include_containers": c.IncludeContainers, "exclude_containers": c.ExcludeContainers,
	}
	for attr, list := range globs {
		for _, g := range list {
			if _, err := filepath.Match(g, ""); err != nil {
				errs = append(errs, agent.AttrErrorf(attr, "Check the brackets and escapes of the glob.", "bad glob %q: %v", g, err))
			}
		}
	}
	d, err := time.ParseDuration(c.PartialTimeout)
	if err != nil || d <= 0 {
		errs = append(errs, agent.AttrErrorf("partial_timeout", `Write a positive duration such as "5s".`, "%q is not a duration", c.PartialTimeout))
	}
	c.partialTimeout = d
	if c.MaxMessageBytes < 16 {
		errs = append(errs, agent.AttrErrorf("max_message_bytes", "The default is 1048576 (1 MiB).", "must be at least 16, got %d", c.MaxMessageBytes))
	}
	c.validated = true
	c.Tail.Paths = nil
	if err := c.Tail.ValidateTail(); err != nil {
		errs = append(errs, err)
	}
	// Rotated files (0.log.20261121-050000) are followed too, so that a
	// file rotated while the agent was stopped, or before it was first
	// opened, is still read to its end. Compressed ones are not.
	c.Tail.Paths = []string{own, own + ".*"}
	c.Tail.Exclude = append(c.Tail.Exclude, "*.gz", "*.tmp")
	return errors.Join(errs...)
}

// NewFactory returns the factory of `source "kubernetes_logs"`.
func NewFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{
		Type:        "kubernetes_logs",
		Description: "Tails container logs under /var/log/pods (CRI and docker json-file), joins partial lines, and tags records with namespace, pod and container.",
		Example:     example,
		NewConfig:   func() *Config { return defaultConfig() },
		Create: func(set agent.Settings, cfg *Config) (agent.Source, error) {
			return newSource(set, cfg), nil
		},
	})
}
