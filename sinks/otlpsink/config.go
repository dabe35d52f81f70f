// Package otlpsink is the `sink "otlp"` component: it sends records as
// OpenTelemetry logs (OTLP) over gRPC or HTTP, to an OpenTelemetry
// Collector or any OTLP endpoint, on the batching, retry and dead-letter
// machinery of the HTTP sinks (internal/httpbatch). The mapping of a
// record to a LogRecord is internal/otlp's.
package otlpsink

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/internal/httpbatch"
)

//go:embed example.hcl
var example string

// Config is the `sink "otlp"` block.
type Config struct {
	// Protocol is "grpc" (the default) or "http".
	Protocol string `hcl:"protocol,optional"`
	// Endpoint: "https://host:4317" (grpc), or the base URL for http
	// ("https://host:4318": the sink posts to /v1/logs under it) or the
	// full URL when it has a path. http:// is plaintext.
	Endpoint string `hcl:"endpoint"`
	// Encoding of OTLP/HTTP bodies: "proto" (the default) or "json".
	Encoding string `hcl:"encoding,optional"`
	// Headers are sent with every request (gRPC metadata); their values
	// are treated as secrets.
	Headers map[string]string `hcl:"headers,optional" secret:"true"`
	// IncludeOrigin adds the whole origin as octoagent.origin.*
	// attributes; default false (log.record.uid identifies a record, and
	// log.file.path and messaging.destination.* are always added).
	IncludeOrigin bool     `hcl:"include_origin,optional"`
	Remain        hcl.Body `hcl:",remain"`
	// Common holds the attributes the HTTP sinks share.
	Common httpbatch.Common
}

// DecodeHCL decodes the block: its own attributes and the shared ones.
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, _ *decode.Env) hcl.Diagnostics {
	return httpbatch.Decode(body, ctx, c, &c.Remain, &c.Common)
}

// Preflight loads the TLS files, as the sink does at start
// (agent.Preflighter).
func (c *Config) Preflight() error { return c.Common.Preflight() }

// Validate checks the config.
func (c *Config) Validate() error {
	var errs []error
	switch c.Protocol {
	case "grpc", "http":
	default:
		errs = append(errs, agent.AttrErrorf("protocol", `Use "grpc" (the default, port 4317) or "http" (port 4318).`, "unknown protocol %q", c.Protocol))
	}
	if _, err := c.target(); err != nil {
		hint := `Give a URL such as "https://otel-collector.observability:4317" (grpc) or "https://otel-collector.observability:4318" (http); http:// sends in plaintext.`
		errs = append(errs, agent.AttrErrorf("endpoint", hint, "%v", err))
	}
	switch c.Encoding {
	case "proto", "json":
		if c.Encoding == "json" && c.Protocol == "grpc" {
			errs = append(errs, agent.AttrErrorf("encoding", `OTLP over gRPC is always protobuf; encoding applies to protocol = "http".`, "encoding %q needs protocol = \"http\"", c.Encoding))
		}
	default:
		errs = append(errs, agent.AttrErrorf("encoding", `Use "proto" (the default) or "json".`, "unknown encoding %q", c.Encoding))
	}
	for k := range c.Headers {
		switch strings.ToLower(k) {
		case "content-type", "content-encoding", "te", "grpc-encoding", "grpc-timeout":
			errs = append(errs, agent.AttrErrorf("headers", "The sink sets this header itself.", "header %q cannot be set", k))
		case "authorization":
			if !c.Common.Token.IsZero() || c.Common.TokenFile != "" {
				errs = append(errs, agent.AttrErrorf("headers", "Use token or token_file, or an authorization header, not both.", "authorization is set twice"))
			}
		}
	}
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// target returns what the sink connects to: for grpc, host:port; for
// http, the URL it posts to.
func (c *Config) target() (string, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http:// or https:// URL", httpbatch.RedactURL(c.Endpoint))
	}
	if u.User != nil {
		return "", fmt.Errorf("%q carries credentials; use token, token_file or headers instead", httpbatch.RedactURL(c.Endpoint))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q has a query or a fragment", httpbatch.RedactURL(c.Endpoint))
	}
	if c.Protocol == "grpc" {
		if u.Path != "" && u.Path != "/" {
			return "", fmt.Errorf("%q has a path, which gRPC does not use", httpbatch.RedactURL(c.Endpoint))
		}
		host := u.Host
		if u.Port() == "" {
			host += ":4317"
		}
		return host, nil
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/logs"
	}
	return u.String(), nil
}

func (c *Config) secure() bool { return strings.HasPrefix(c.Endpoint, "https://") }
