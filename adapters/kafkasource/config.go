// Package kafka is the `source "kafka"` component: a consumer group member
// that reads topics (a list, or every topic matching a regex), hands each
// message's value on as a raw record, and commits an offset to the group
// only once every record before it in its partition reached a final
// outcome.
package kafkasource

import (
	_ "embed"
	"errors"
	"regexp"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/kafkaclient"
)

//go:embed example.hcl
var example string

// Config is the `source "kafka"` block.
type Config struct {
	Brokers              []string `hcl:"brokers"`
	GroupID              string   `hcl:"group_id"`
	Topics               []string `hcl:"topics,optional"`
	TopicRegex           string   `hcl:"topic_regex,optional"`
	TopicRefreshInterval string   `hcl:"topic_refresh_interval,optional"`
	StartOffset          string   `hcl:"start_offset,optional"`
	ClientID             string   `hcl:"client_id,optional"`
	MetadataField        *string  `hcl:"metadata_field,optional"`

	BatchMaxRecords int    `hcl:"batch_max_records,optional"`
	BatchTimeout    string `hcl:"batch_timeout,optional"`
	// FetchMaxBytes bounds the bytes the whole member fetches ahead of
	// the pipeline (Kafka's fetch.max.bytes), whatever the partitions it
	// holds: each partition's client asks for an equal share of it per
	// fetch, between 64 KiB and 1 MiB (fetchShare).
	FetchMaxBytes int    `hcl:"fetch_max_bytes,optional"`
	MaxWait       string `hcl:"max_wait,optional"`

	CommitInterval    string `hcl:"commit_interval,optional"`
	SessionTimeout    string `hcl:"session_timeout,optional"`
	HeartbeatInterval string `hcl:"heartbeat_interval,optional"`
	RebalanceTimeout  string `hcl:"rebalance_timeout,optional"`
	RevokeTimeout     string `hcl:"revoke_timeout,optional"`
	LagInterval       string `hcl:"lag_interval,optional"`
	Timeout           string `hcl:"timeout,optional"`

	TLS  *kafkaclient.TLS  `hcl:"tls,block"`
	SASL *kafkaclient.SASL `hcl:"sasl,block"`

	topicRe                                             *regexp.Regexp
	refresh, batchTimeout, maxWait, commitEvery         time.Duration
	session, heartbeat, rebalance, revoke, lag, timeout time.Duration
}

func defaultConfig() *Config {
	return &Config{
		TopicRefreshInterval: "30s",
		StartOffset:          "earliest",
		ClientID:             "octoagent",
		BatchMaxRecords:      1024,
		BatchTimeout:         "100ms",
		FetchMaxBytes:        10 << 20,
		MaxWait:              "500ms",
		CommitInterval:       "1s",
		SessionTimeout:       "30s",
		HeartbeatInterval:    "3s",
		RebalanceTimeout:     "30s",
		RevokeTimeout:        "10s",
		LagInterval:          "10s",
		Timeout:              "10s",
	}
}

// Preflight loads the TLS files, as the source does at start
// (agent.Preflighter).
func (c *Config) Preflight() error { return c.security().Preflight() }

func (c *Config) security() *kafkaclient.Security {
	return &kafkaclient.Security{TLS: c.TLS, SASL: c.SASL}
}

// metadataField returns the field that holds the message's Kafka metadata,
// or "" for none.
func (c *Config) metadataField() string {
	if c.MetadataField == nil {
		return "kafka"
	}
	return *c.MetadataField
}

// Validate checks the config and parses its durations.
func (c *Config) Validate() error {
	var errs []error
	c.Brokers = kafkaclient.SplitBrokers(c.Brokers)
	if err := kafkaclient.ValidateBrokers(c.Brokers); err != nil {
		errs = append(errs, err)
	}
	if c.GroupID == "" {
		errs = append(errs, agent.AttrErrorf("group_id", `Name the consumer group, such as "octoagent".`, "empty"))
	}
	switch {
	case len(c.Topics) == 0 && c.TopicRegex == "":
		errs = append(errs, agent.AttrErrorf("topics", `List the topics, such as ["ci-events"], or set topic_regex.`, "neither topics nor topic_regex is set"))
	case len(c.Topics) > 0 && c.TopicRegex != "":
		errs = append(errs, agent.AttrErrorf("topic_regex", "Use topics (a fixed list) or topic_regex (matched against the broker's topics), not both.", "topics and topic_regex are both set"))
	case c.TopicRegex != "":
		re, err := regexp.Compile(c.TopicRegex)
		if err != nil {
			errs = append(errs, agent.AttrErrorf("topic_regex", "Use Go (RE2) regular expression syntax.", "bad pattern: %v", err))
		}
		c.topicRe = re
	}
	for _, t := range c.Topics {
		if t == "" {
			errs = append(errs, agent.AttrErrorf("topics", "Topic names cannot be empty.", "empty topic name"))
		}
	}
	switch c.StartOffset {
	case "earliest", "latest":
	default:
		errs = append(errs, agent.AttrErrorf("start_offset", `Use "earliest" or "latest"; it applies only to partitions where the group has no committed offset.`, "unknown value %q", c.StartOffset))
	}
	if c.BatchMaxRecords < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "The default is 1024.", "must be at least 1, got %d", c.BatchMaxRecords))
	}
	if c.FetchMaxBytes < 1024 {
		errs = append(errs, agent.AttrErrorf("fetch_max_bytes", "The default is 10485760 (10 MiB), shared by the partitions this member holds.", "must be at least 1024, got %d", c.FetchMaxBytes))
	}
	dur := agent.DurationAttrs(&errs)
	dur("topic_refresh_interval", c.TopicRefreshInterval, &c.refresh)
	dur("batch_timeout", c.BatchTimeout, &c.batchTimeout)
	dur("max_wait", c.MaxWait, &c.maxWait)
	dur("commit_interval", c.CommitInterval, &c.commitEvery)
	dur("session_timeout", c.SessionTimeout, &c.session)
	dur("heartbeat_interval", c.HeartbeatInterval, &c.heartbeat)
	dur("rebalance_timeout", c.RebalanceTimeout, &c.rebalance)
	dur("revoke_timeout", c.RevokeTimeout, &c.revoke)
	dur("lag_interval", c.LagInterval, &c.lag)
	dur("timeout", c.Timeout, &c.timeout)
	if c.heartbeat > 0 && c.session > 0 && c.heartbeat >= c.session {
		errs = append(errs, agent.AttrErrorf("heartbeat_interval", "Heartbeats must come well within session_timeout (a third of it is usual).", "%s is not below session_timeout %s", c.HeartbeatInterval, c.SessionTimeout))
	}
	if c.revoke > 0 && c.rebalance > 0 && c.revoke >= c.rebalance {
		errs = append(errs, agent.AttrErrorf("revoke_timeout", "A revoked partition's in-flight records are waited for at most revoke_timeout, which must end before the group gives up on this member (rebalance_timeout).", "%s is not below rebalance_timeout %s", c.RevokeTimeout, c.RebalanceTimeout))
	}
	if err := c.security().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NewFactory returns the factory of `source "kafka"`.
func NewFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{
		Type:        "kafka",
		Description: "Consumes Kafka topics as a consumer group member and commits offsets only once their records reached a final outcome.",
		Example:     example,
		NewConfig:   func() *Config { return defaultConfig() },
		Create: func(set agent.Settings, cfg *Config) (agent.Source, error) {
			return newSource(set, cfg)
		},
	})
}
