// Package kuberneteslogs is the `source "kubernetes_logs"` component: on
// each node (a DaemonSet), it tails the container logs the kubelet keeps in
// /var/log/pods, decodes the CRI and docker json-file formats, joins
// partial lines, groups multiline records (stack traces) per stream, and
// tags each record with its container and, from a node-scoped pod informer
// (internal/k8smeta.Pods), the pod's node, owners, labels, annotations and
// image. Pods steer their own logs with octoagent.io/ annotations
// (exclude, rules, multiline). The tailing itself (rotation, truncation,
// checkpoints, max_open_files) is the file source's Tailer.
package kuberneteslogs

import (
	_ "embed"
	"errors"
	"path/filepath"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/k8smeta"
	"github.com/octostore/agent/internal/tail"
)

//go:embed example.hcl
var example string

// Config is the `source "kubernetes_logs"` block. Every attribute of
// `source "file"` but paths applies too (decoded into Tail), multiline
// included.
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
	// RulesTransforms are the transforms a pod may pick with the
	// octoagent.io/rules annotation.
	RulesTransforms []string     `hcl:"rules_transforms,optional"`
	PodMetadata     *PodMetadata `hcl:"pod_metadata,block"`

	Tail tail.Config `hcl:",remain"`

	partialTimeout time.Duration
	validated      bool
}

// PodMetadata is the `pod_metadata` block. An absent block is the
// defaults: on.
type PodMetadata struct {
	Enabled            *bool    `hcl:"enabled,optional"`
	Kubeconfig         string   `hcl:"kubeconfig,optional"`
	NodeName           string   `hcl:"node_name,optional"`
	IncludeLabels      []string `hcl:"include_labels,optional"`
	ExcludeLabels      []string `hcl:"exclude_labels,optional"`
	IncludeAnnotations []string `hcl:"include_annotations,optional"`
	ExcludeAnnotations []string `hcl:"exclude_annotations,optional"`
	MaxAnnotationBytes *int     `hcl:"max_annotation_bytes,optional"`
	NamespaceLabels    bool     `hcl:"namespace_labels,optional"`
	DeletedPodGrace    string   `hcl:"deleted_pod_grace,optional"`
	SyncWait           string   `hcl:"sync_wait,optional"`
	QPS                int      `hcl:"qps,optional"`
	Burst              int      `hcl:"burst,optional"`

	grace, syncWait time.Duration
	api             k8smeta.PodsAPI // tests: instead of a client from kubeconfig
}

// DefaultExcludeAnnotations are the annotations not kept by default:
// large (the last applied configuration, CNI network status) or
// sensitive (Vault agent injection templates), or noise for logs (the
// kubelet's static pod bookkeeping).
var DefaultExcludeAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"kubernetes.io/config.*",
	"k8s.v1.cni.cncf.io/*",
	"cni.projectcalico.org/*",
	"vault.hashicorp.com/*",
	"*.vault.hashicorp.com/*",
}

// On reports whether pod metadata is on (the default).
func (m *PodMetadata) On() bool { return m.Enabled == nil || *m.Enabled }

// validate fills in the defaults and checks the block.
func (m *PodMetadata) validate() error {
	var errs []error
	if m.IncludeLabels == nil {
		m.IncludeLabels = []string{"*"}
	}
	if m.IncludeAnnotations == nil {
		m.IncludeAnnotations = []string{"*"}
	}
	if m.ExcludeAnnotations == nil {
		m.ExcludeAnnotations = append([]string(nil), DefaultExcludeAnnotations...)
	}
	if m.MaxAnnotationBytes == nil {
		n := 2048
		m.MaxAnnotationBytes = &n
	}
	if *m.MaxAnnotationBytes < 0 {
		errs = append(errs, agent.AttrErrorf("pod_metadata.max_annotation_bytes", "The default is 2048; 0 keeps values of any length.", "must not be negative, got %d", *m.MaxAnnotationBytes))
	}
	globs := map[string][]string{
		"include_labels": m.IncludeLabels, "exclude_labels": m.ExcludeLabels,
		"include_annotations": m.IncludeAnnotations, "exclude_annotations": m.ExcludeAnnotations,
	}
	for attr, list := range globs {
		for _, g := range list {
			if err := k8smeta.CheckGlob(g); err != nil {
				errs = append(errs, agent.AttrErrorf("pod_metadata."+attr, "Check the brackets and escapes of the glob; * matches any characters, / included.", "bad glob %q: %v", g, err))
			}
		}
	}
	if m.DeletedPodGrace == "" {
		m.DeletedPodGrace = "60s"
	}
	if m.SyncWait == "" {
		m.SyncWait = "2s"
	}
	dur := agent.DurationAttrs(&errs)
	dur("pod_metadata.deleted_pod_grace", m.DeletedPodGrace, &m.grace)
	if d, err := time.ParseDuration(m.SyncWait); err != nil || d < 0 {
		errs = append(errs, agent.AttrErrorf("pod_metadata.sync_wait", `Write a duration such as "2s"; "0s" does not wait at all.`, "%q is not a duration", m.SyncWait))
	} else {
		m.syncWait = d
	}
	if m.QPS == 0 {
		m.QPS = 50
	}
	if m.Burst == 0 {
		m.Burst = 100
	}
	if m.QPS < 1 || m.Burst < 1 {
		errs = append(errs, agent.AttrErrorf("pod_metadata.qps", "The defaults are qps = 50, burst = 100.", "qps and burst must be at least 1"))
	}
	return errors.Join(errs...)
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
	if c.PodMetadata == nil {
		c.PodMetadata = &PodMetadata{}
	}
	if err := c.PodMetadata.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(c.RulesTransforms) > 0 && !c.PodMetadata.On() {
		errs = append(errs, agent.AttrErrorf("rules_transforms", "Pods pick a transform with the octoagent.io/rules annotation, which is read from the pod metadata: turn pod_metadata on, or drop rules_transforms.", "rules_transforms needs pod metadata"))
	}
	seen := map[string]bool{}
	for _, name := range c.RulesTransforms {
		if name == "" || seen[name] {
			errs = append(errs, agent.AttrErrorf("rules_transforms", `List transform names, as in transform "NAME", each once.`, "empty or repeated name %q", name))
		}
		seen[name] = true
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
		Description: "Tails container logs under /var/log/pods (CRI and docker json-file), joins partial lines, groups stack traces, and tags records with the pod's metadata (node, owners, labels, annotations, image) from a node-scoped informer; pods steer their logs with octoagent.io/ annotations.",
		Example:     example,
		NewConfig:   func() *Config { return defaultConfig() },
		Create: func(set agent.Settings, cfg *Config) (agent.Source, error) {
			return newSource(set, cfg)
		},
	})
}
