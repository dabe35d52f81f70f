// Package otlpsource is the `source "otlp"` component: an OTLP logs
// receiver (gRPC and HTTP, protobuf and JSON, gzip) that turns every
// LogRecord into a record, and answers an export call only once its records
// are accepted downstream, so that an exporter's retries, not the agent's
// memory, hold what the pipeline cannot take yet.
package otlpsource

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/credentials"
)

//go:embed example.hcl
var example string

// Config is the `source "otlp"` block.
type Config struct {
	// GRPCAddress and HTTPAddress are where the two transports listen;
	// "" turns one off.
	GRPCAddress string `hcl:"grpc_address,optional"`
	HTTPAddress string `hcl:"http_address,optional"`

	MaxRequestBytes   string `hcl:"max_request_bytes,optional"`
	MaxRequestRecords int    `hcl:"max_request_records,optional"`
	MaxAttributeDepth int    `hcl:"max_attribute_depth,optional"`
	MaxPendingRecords int    `hcl:"max_pending_records,optional"`
	// PendingWait is how long a request waits for room among the pending
	// records before it is refused (RESOURCE_EXHAUSTED, 429).
	PendingWait string `hcl:"pending_wait,optional"`
	// RetryAfter is the delay a refused client is asked to wait.
	RetryAfter string `hcl:"retry_after,optional"`
	// DedupWindow is how long the answer to a request is remembered, so
	// that a retry of it (the first answer was lost, or came too late) is
	// not emitted twice.
	DedupWindow string `hcl:"dedup_window,optional"`
	// AckTimeout bounds how long a call waits for its records to be
	// accepted downstream; then it is answered UNAVAILABLE (503) and its
	// retry waits for the same records, without emitting them again.
	AckTimeout string `hcl:"ack_timeout,optional"`

	Token     agent.Secret           `hcl:"token,optional"`
	TokenFile string                 `hcl:"token_file,optional"`
	TLS       *credentials.ServerTLS `hcl:"tls,block"`

	maxBytes                                        int
	pendingWait, retryAfter, dedupAfter, ackTimeout time.Duration
}

func defaultConfig() *Config {
	return &Config{
		GRPCAddress:       "127.0.0.1:4317",
		HTTPAddress:       "127.0.0.1:4318",
		MaxRequestBytes:   "8MiB",
		MaxRequestRecords: 65536,
		MaxAttributeDepth: 16,
		MaxPendingRecords: 16384,
		PendingWait:       "1s",
		RetryAfter:        "1s",
		DedupWindow:       "5m",
		AckTimeout:        "30s",
	}
}

// Preflight checks what the source needs at start (agent.Preflighter): its
// listen addresses parse, and its TLS files load.
func (c *Config) Preflight() error {
	var errs []error
	for _, a := range [...]struct{ attr, addr string }{{"grpc_address", c.GRPCAddress}, {"http_address", c.HTTPAddress}} {
		attr, addr := a.attr, a.addr
		if addr == "" {
			continue
		}
		if err := agent.CheckListenAddr(addr); err != nil {
			errs = append(errs, agent.AttrErrorf(attr, `Write HOST:PORT, such as "127.0.0.1:4317", or "" to turn it off.`, "%v", err))
		}
	}
	if c.TLS != nil {
		if _, err := c.TLS.Config(); err != nil {
			var ae *agent.AttrError
			if !errors.As(err, &ae) {
				err = agent.AttrErrorf("tls.cert_file", "cert_file and key_file must be a readable PEM certificate and its private key.", "%v", err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks the config.
func (c *Config) Validate() error {
	var errs []error
	if c.GRPCAddress == "" && c.HTTPAddress == "" {
		errs = append(errs, agent.AttrErrorf("grpc_address", `Set grpc_address (such as "0.0.0.0:4317") or http_address (such as "0.0.0.0:4318").`, "both grpc_address and http_address are empty: the source would receive nothing"))
	}
	for _, a := range []struct{ attr, v string }{{"grpc_address", c.GRPCAddress}, {"http_address", c.HTTPAddress}} {
		if a.v == "" {
			continue
		}
		if _, err := port(a.v); err != nil {
			errs = append(errs, agent.AttrErrorf(a.attr, `Write host:port, such as "0.0.0.0:4317" (every interface) or "127.0.0.1:4317"; "" turns it off.`, "%v", err))
		}
	}
	if c.GRPCAddress != "" && c.HTTPAddress != "" {
		if p1, err1 := port(c.GRPCAddress); err1 == nil {
			if p2, err2 := port(c.HTTPAddress); err2 == nil && p1 == p2 && p1 != 0 {
				errs = append(errs, agent.AttrErrorf("http_address", "gRPC and HTTP need a port each (4317 and 4318 by default).", "the same port as grpc_address"))
			}
		}
	}
	if n, err := agent.ParseBytes(c.MaxRequestBytes); err != nil || n < 1024 || n > 1<<30 {
		errs = append(errs, agent.AttrErrorf("max_request_bytes", `Write a size from "1KiB" to "1GiB"; the default is "8MiB".`, "%q is not a size from 1KiB to 1GiB", c.MaxRequestBytes))
	} else {
		c.maxBytes = int(n)
	}
	if c.MaxRequestRecords < 1 {
		errs = append(errs, agent.AttrErrorf("max_request_records", "The default is 65536.", "must be at least 1, got %d", c.MaxRequestRecords))
	}
	if c.MaxAttributeDepth < 0 {
		errs = append(errs, agent.AttrErrorf("max_attribute_depth", "0 allows only scalar values; the default is 16.", "must be at least 0, got %d", c.MaxAttributeDepth))
	}
	if c.MaxPendingRecords < 1 {
		errs = append(errs, agent.AttrErrorf("max_pending_records", "The default is 16384.", "must be at least 1, got %d", c.MaxPendingRecords))
	}
	dur := func(attr, s string, out *time.Duration, zeroOK bool) {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			errs = append(errs, agent.AttrErrorf(attr, `Write a duration such as "500ms", "1s" or "5m".`, "%q is not a positive duration", s))
			return
		}
		*out = d
	}
	dur("pending_wait", c.PendingWait, &c.pendingWait, true)
	dur("retry_after", c.RetryAfter, &c.retryAfter, false)
	dur("dedup_window", c.DedupWindow, &c.dedupAfter, true)
	dur("ack_timeout", c.AckTimeout, &c.ackTimeout, false)
	if !c.Token.IsZero() && c.TokenFile != "" {
		errs = append(errs, agent.AttrErrorf("token", "Set token or token_file, not both.", "both token and token_file are set"))
	}
	if c.TLS != nil {
		if err := c.TLS.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// port returns the port of a host:port address.
func port(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	return n, nil
}

// claims lists the ports the source listens on (port 0, a port the kernel
// picks, claims nothing).
func (c *Config) claims() []string {
	var out []string
	for _, a := range []string{c.GRPCAddress, c.HTTPAddress} {
		if p, err := port(a); a != "" && err == nil && p != 0 {
			out = append(out, "TCP port "+strconv.Itoa(p))
		}
	}
	return out
}
