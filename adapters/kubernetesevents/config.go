// Package kubernetesevents is the `source "kubernetes_events"` component:
// it lists and watches Kubernetes events (events.k8s.io/v1, or core/v1 on
// servers without it) through a lean client (k8smeta.Client), resumes from the last
// acknowledged resourceVersion, re-lists on 410 Gone, gives each occurrence
// of an event a stable id, optionally adds the regarding object's owner
// chain and images, and runs as one collector per cluster through leader
// election.
package kubernetesevents

import (
	_ "embed"
	"errors"
	"time"

	"github.com/octostore/agent/agent"
)

//go:embed example.hcl
var example string

// Config is the `source "kubernetes_events"` block.
type Config struct {
	Kubeconfig      string          `hcl:"kubeconfig,optional"`
	Cluster         string          `hcl:"cluster,optional"`
	Namespace       string          `hcl:"namespace,optional"`
	FieldSelector   string          `hcl:"field_selector,optional"`
	API             string          `hcl:"api,optional"`
	StartAt         string          `hcl:"start_at,optional"`
	BatchMaxRecords int             `hcl:"batch_max_records,optional"`
	ListPageSize    int             `hcl:"list_page_size,optional"`
	RetryBackoffMax string          `hcl:"retry_backoff_max,optional"`
	WatchTimeout    string          `hcl:"watch_timeout,optional"`
	EnrichOwners    bool            `hcl:"enrich_owners,optional"`
	OwnerCacheTTL   string          `hcl:"owner_cache_ttl,optional"`
	OwnerCacheMax   int             `hcl:"owner_cache_max_entries,optional"`
	QPS             int             `hcl:"qps,optional"`
	Burst           int             `hcl:"burst,optional"`
	LeaderElection  *LeaderElection `hcl:"leader_election,block"`

	backoffMax, watchTimeout, cacheTTL time.Duration
}

// LeaderElection is the optional `leader_election` block: only the replica
// holding the Lease collects.
type LeaderElection struct {
	LeaseName     string `hcl:"lease_name"`
	Namespace     string `hcl:"namespace,optional"`
	Duration      string `hcl:"duration,optional"`
	RenewDeadline string `hcl:"renew_deadline,optional"`
	RetryPeriod   string `hcl:"retry_period,optional"`
	Identity      string `hcl:"identity,optional"`

	duration, renew, retry time.Duration
}

func defaultConfig() *Config {
	return &Config{
		Cluster:         "kubernetes",
		API:             "auto",
		StartAt:         "beginning",
		BatchMaxRecords: 500,
		ListPageSize:    500,
		RetryBackoffMax: "30s",
		WatchTimeout:    "5m",
		OwnerCacheTTL:   "5m",
		OwnerCacheMax:   10000,
		QPS:             20,
		Burst:           40,
	}
}

func positiveDuration(attr, v string, errs *[]error) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		*errs = append(*errs, agent.AttrErrorf(attr, `Write a positive duration such as "30s".`, "%q is not a positive duration", v))
	}
	return d
}

// Validate checks the config and parses its durations.
func (c *Config) Validate() error {
	var errs []error
	if c.Cluster == "" {
		errs = append(errs, agent.AttrErrorf("cluster", "It names the cluster in every record id; the default is \"kubernetes\".", "must not be empty"))
	}
	switch c.API {
	case "auto", "events.k8s.io/v1", "v1":
	default:
		errs = append(errs, agent.AttrErrorf("api", `Use "auto" (events.k8s.io/v1, else v1), "events.k8s.io/v1" or "v1".`, "unknown API %q", c.API))
	}
	switch c.StartAt {
	case "beginning", "end":
	default:
		errs = append(errs, agent.AttrErrorf("start_at", `Use "beginning" (every event the API still holds) or "end" (only new ones).`, "unknown value %q", c.StartAt))
	}
	if c.BatchMaxRecords < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "The default is 500.", "must be at least 1, got %d", c.BatchMaxRecords))
	}
	if c.ListPageSize < 1 {
		errs = append(errs, agent.AttrErrorf("list_page_size", "The default is 500.", "must be at least 1, got %d", c.ListPageSize))
	}
	if c.OwnerCacheMax < 1 {
		errs = append(errs, agent.AttrErrorf("owner_cache_max_entries", "The default is 10000.", "must be at least 1, got %d", c.OwnerCacheMax))
	}
	if c.QPS < 1 || c.Burst < 1 {
		errs = append(errs, agent.AttrErrorf("qps", "The defaults are qps = 20, burst = 40.", "qps and burst must be at least 1"))
	}
	c.backoffMax = positiveDuration("retry_backoff_max", c.RetryBackoffMax, &errs)
	c.watchTimeout = positiveDuration("watch_timeout", c.WatchTimeout, &errs)
	c.cacheTTL = positiveDuration("owner_cache_ttl", c.OwnerCacheTTL, &errs)
	if le := c.LeaderElection; le != nil {
		if le.LeaseName == "" {
			errs = append(errs, agent.AttrErrorf("leader_election.lease_name", `Name the Lease, such as "octoagent-events".`, "must not be empty"))
		}
		if le.Duration == "" {
			le.Duration = "15s"
		}
		if le.RenewDeadline == "" {
			le.RenewDeadline = "10s"
		}
		if le.RetryPeriod == "" {
			le.RetryPeriod = "2s"
		}
		le.duration = positiveDuration("leader_election.duration", le.Duration, &errs)
		le.renew = positiveDuration("leader_election.renew_deadline", le.RenewDeadline, &errs)
		le.retry = positiveDuration("leader_election.retry_period", le.RetryPeriod, &errs)
		if le.duration > 0 && le.renew > 0 && le.retry > 0 && !(le.duration > le.renew && float64(le.renew) > 1.2*float64(le.retry)) {
			errs = append(errs, agent.AttrErrorf("leader_election.duration", "Leader election requires duration > renew_deadline > 1.2 × retry_period (defaults 15s, 10s, 2s).", "duration %s, renew_deadline %s and retry_period %s are out of order", le.Duration, le.RenewDeadline, le.RetryPeriod))
		}
	}
	return errors.Join(errs...)
}

// NewFactory returns the factory of `source "kubernetes_events"`.
func NewFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{
		Type:        "kubernetes_events",
		Description: "Lists and watches Kubernetes events through the API server, resumes from the last acknowledged resourceVersion, re-lists on 410 Gone, optionally adds owner chains and images, one collector per cluster via leader election.",
		Example:     example,
		NewConfig:   func() *Config { return defaultConfig() },
		Create: func(set agent.Settings, cfg *Config) (agent.Source, error) {
			return newSource(set, cfg)
		},
	})
}
