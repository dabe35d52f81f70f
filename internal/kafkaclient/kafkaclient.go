// Package kafkanet holds what the Kafka source and sink share: the broker
// list, the `tls` and `sasl` blocks, and the kafka-go dialer and transport
// built from them. Passwords are agent.Secret values: they print as
// [REDACTED] in logs, errors and diagnostics.
package kafkaclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/octostore/agent/agent"
)

// TLS is the `tls` block. Present means TLS is on; verification of the
// broker's certificate is on unless insecure_skip_verify = true.
type TLS struct {
	// Enabled turns TLS off when false (a block kept for later).
	Enabled            *bool  `hcl:"enabled,optional"`
	CAFile             string `hcl:"ca_file,optional"`
	CertFile           string `hcl:"cert_file,optional"`
	KeyFile            string `hcl:"key_file,optional"`
	ServerName         string `hcl:"server_name,optional"`
	InsecureSkipVerify bool   `hcl:"insecure_skip_verify,optional"`
}

// SASL is the `sasl` block.
type SASL struct {
	Mechanism string       `hcl:"mechanism"`
	Username  string       `hcl:"username"`
	Password  agent.Secret `hcl:"password"`
}

// Security is the part of a config that says how to reach the brokers.
type Security struct {
	TLS  *TLS  `hcl:"tls,block"`
	SASL *SASL `hcl:"sasl,block"`
}

// Mechanisms lists the SASL mechanisms, as written in config.
var Mechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// SplitBrokers splits entries that hold several comma-separated brokers
// ("kafka-1:9092,kafka-2:9092", as KAFKA_BROKERS is often given), trims
// spaces and drops empty entries.
func SplitBrokers(list []string) []string {
	var out []string
	for _, e := range list {
		for _, b := range strings.Split(e, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// ValidateBrokers checks a broker list (after SplitBrokers): host:port
// entries, at least one.
func ValidateBrokers(brokers []string) error {
	if len(brokers) == 0 {
		return agent.AttrErrorf("brokers", `List at least one broker, such as ["kafka-1:9092"].`, "no brokers given")
	}
	for _, b := range brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return agent.AttrErrorf("brokers", `Write each broker as host:port, such as "kafka-1:9092".`, "bad broker address %q", b)
		}
	}
	return nil
}

// Validate checks the tls and sasl blocks (files are read when the
// component is built, so a missing file is an error at start).
func (s *Security) Validate() error {
	var errs []error
	if t := s.TLS; t != nil {
		if (t.CertFile == "") != (t.KeyFile == "") {
			errs = append(errs, agent.AttrErrorf("tls.cert_file", "A client certificate needs both cert_file and key_file.", "cert_file and key_file must be set together"))
		}
	}
	if a := s.SASL; a != nil {
		a.Mechanism = strings.ToUpper(a.Mechanism)
		ok := false
		for _, m := range Mechanisms {
			ok = ok || m == a.Mechanism
		}
		if !ok {
			errs = append(errs, agent.AttrErrorf("sasl.mechanism", `Use "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512".`, "unknown mechanism %q", a.Mechanism))
		}
		if a.Username == "" {
			errs = append(errs, agent.AttrErrorf("sasl.username", "SASL needs a user name.", "empty"))
		}
	}
	return errors.Join(errs...)
}

// Preflight loads the TLS files, as the client does at start
// (agent.Preflighter).
func (s *Security) Preflight() error {
	_, err := s.TLSConfig()
	return err
}

// TLSConfig builds the *tls.Config, or nil when TLS is off.
func (s *Security) TLSConfig() (*tls.Config, error) {
	t := s.TLS
	if t == nil || (t.Enabled != nil && !*t.Enabled) {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if err := agent.LoadTLSFiles(c, t.CAFile, t.CertFile, t.KeyFile); err != nil {
		return nil, err
	}
	return c, nil
}

// Mechanism builds the SASL mechanism, or nil when SASL is off.
func (s *Security) Mechanism() (sasl.Mechanism, error) {
	a := s.SASL
	if a == nil {
		return nil, nil
	}
	switch a.Mechanism {
	case "PLAIN":
		return plain.Mechanism{Username: a.Username, Password: a.Password.Reveal()}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, a.Username, a.Password.Reveal())
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, a.Username, a.Password.Reveal())
	}
	return nil, fmt.Errorf("sasl.mechanism: unknown mechanism %q", a.Mechanism)
}

// Conn is what the source and the sink dial with.
type Conn struct {
	Brokers   []string
	Dialer    *kafkago.Dialer
	Transport *kafkago.Transport
	secret    agent.Secret
}

// Build returns the dialer (consumer groups, readers) and the transport
// (writers, admin requests) for the brokers. The transport answers metadata
// requests from a cache refreshed every metadataTTL (30s if 0).
func (s *Security) Build(brokers []string, clientID string, timeout, metadataTTL time.Duration) (*Conn, error) {
	tc, err := s.TLSConfig()
	if err != nil {
		return nil, err
	}
	mech, err := s.Mechanism()
	if err != nil {
		return nil, err
	}
	c := &Conn{Brokers: brokers}
	if s.SASL != nil {
		c.secret = s.SASL.Password
	}
	c.Dialer = &kafkago.Dialer{ClientID: clientID, Timeout: timeout, DualStack: true, KeepAlive: 30 * time.Second, TLS: tc, SASLMechanism: mech}
	c.Transport = &kafkago.Transport{ClientID: clientID, DialTimeout: timeout, TLS: tc, SASL: mech, MetadataTTL: metadataTTL}
	if metadataTTL <= 0 {
		c.Transport.MetadataTTL = 30 * time.Second
	}
	return c, nil
}

// Client returns an admin client on the transport, for metadata and
// offset requests.
func (c *Conn) Client(timeout time.Duration) *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Timeout: timeout, Transport: c.Transport}
}

// Scrub removes the password from text that came from outside (a broker
// error, a library log line).
func (c *Conn) Scrub(s string) string { return agent.Scrub(s, c.secret) }

// Logger adapts kafka-go's Printf logging to a function, scrubbing the
// password from every line.
func (c *Conn) Logger(f func(msg string)) kafkago.LoggerFunc {
	return func(format string, args ...any) { f(c.Scrub(fmt.Sprintf(format, args...))) }
}
