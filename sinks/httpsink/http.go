// Package http is the `sink "http"` component: it sends batches of records
// to any HTTP endpoint, as a JSON array or as JSON lines, on the machinery
// the octostore sink uses (internal/httpbatch).
package httpsink

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

// Config is the `sink "http"` block.
type Config struct {
	// URL may hold placeholders: {{kind}}, {{id}}, {{host}}, {{component}},
	// {{stream}} and {{fields.NAME}}.
	URL     string            `hcl:"url"`
	Method  string            `hcl:"method,optional"`
	Headers map[string]string `hcl:"headers,optional" secret:"true"`
	// Encoding is "ndjson" (one record per line) or "json_array".
	Encoding       string   `hcl:"encoding,optional"`
	HealthCheckURL string   `hcl:"healthcheck_url,optional"`
	Remain         hcl.Body `hcl:",remain"`
	// Common holds the attributes every HTTP sink shares.
	Common httpbatch.Common
}

// DecodeHCL decodes the block: its own attributes and the shared ones.
// The loader calls it (decode.HCLDecoder).
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, _ *decode.Env) hcl.Diagnostics {
	return httpbatch.Decode(body, ctx, c, &c.Remain, &c.Common)
}

// Preflight loads the TLS files, as the sink does at start
// (agent.Preflighter).
func (c *Config) Preflight() error { return c.Common.Preflight() }

// Validate checks the config.
func (c *Config) Validate() error {
	var errs []error
	if _, err := parseTemplate(c.URL); err != nil {
		errs = append(errs, agent.AttrErrorf("url", `Give a URL such as "https://collector.internal/ingest/{{kind}}".`, "%v", err))
	}
	switch c.Method {
	case "POST", "PUT", "PATCH":
	default:
		errs = append(errs, agent.AttrErrorf("method", `Use "POST" (the default), "PUT" or "PATCH".`, "unsupported method %q", c.Method))
	}
	switch c.Encoding {
	case "ndjson", "json_array":
	default:
		errs = append(errs, agent.AttrErrorf("encoding", `Use "ndjson" (the default) or "json_array".`, "unknown encoding %q", c.Encoding))
	}
	if c.HealthCheckURL != "" {
		if u, err := url.Parse(c.HealthCheckURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, agent.AttrErrorf("healthcheck_url", "Give an http:// or https:// URL, or leave it out.", "not an http:// or https:// URL"))
		}
	}
	for k := range c.Headers {
		if strings.EqualFold(k, "Content-Type") || strings.EqualFold(k, "Content-Encoding") {
			errs = append(errs, agent.AttrErrorf("headers", "The sink sets Content-Type and Content-Encoding itself.", "header %q cannot be set", k))
		}
	}
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NewFactory returns the factory of `sink "http"`.
func NewFactory() *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[Config, agent.Sink]{
		Type:        "http",
		Description: "Sends batches of records to an HTTP endpoint as JSON lines or a JSON array, with retries and TLS.",
		Example:     example,
		NewConfig: func() *Config {
			return &Config{Method: "POST", Encoding: "ndjson", Common: httpbatch.DefaultCommon()}
		},
		// As the octostore sink: records are encoded as they come, and the
		// batch key, the URL a template renders, is a string of its own.
		Forgets: func(*Config) bool { return true },
		Create: func(set agent.Settings, c *Config) (agent.Sink, error) {
			tpl, err := parseTemplate(c.URL)
			if err != nil {
				return nil, err
			}
			opt, err := c.Common.Options()
			if err != nil {
				return nil, err
			}
			p := &protocol{tpl: tpl, method: c.Method, headers: c.Headers, ndjson: c.Encoding == "ndjson"}
			return httpbatch.New(set, opt, p, c.HealthCheckURL)
		},
	})
}

// template is a URL split into literal text and placeholders.
type template struct {
	parts []part
	fixed bool
}

type part struct {
	lit   string
	field string // "" for a literal
}

// parseTemplate reads a URL with {{placeholder}}s.
func parseTemplate(s string) (*template, error) {
	t := &template{fixed: true}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", s)
		}
		name := strings.TrimSpace(rest[i+2 : i+j])
		switch {
		case name == "kind", name == "id", name == "host", name == "component", name == "stream":
		case strings.HasPrefix(name, "fields.") && len(name) > len("fields."):
		default:
			return nil, fmt.Errorf("unknown placeholder {{%s}}: use kind, id, host, component, stream or fields.NAME", name)
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		t.parts = append(t.parts, part{field: name})
		t.fixed = false
		rest = rest[i+j+2:]
	}
	// Check the URL with every placeholder filled in.
	u, err := url.Parse(t.render(func(string) string { return "x" }))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	if u.User != nil {
		return nil, errors.New("the URL carries credentials; use token, token_file or headers instead")
	}
	return t, nil
}

func (t *template) render(value func(name string) string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.lit)
			continue
		}
		v := value(p.field)
		if v == "" {
			v = "_"
		}
		b.WriteString(url.PathEscape(v))
	}
	return b.String()
}

type protocol struct {
	tpl     *template
	method  string
	headers map[string]string
	ndjson  bool
}

// Key renders the URL for a record: records for different URLs go in
// different requests. The rendered URL is built anew (never a field's own
// string), as the engine needs: it outlives the record that made it.
func (p *protocol) Key(r *agent.Record) string {
	if p.tpl.fixed {
		return ""
	}
	return p.tpl.render(func(name string) string {
		switch name {
		case "kind":
			if r.Kind == "" {
				return agent.KindRaw
			}
			return r.Kind
		case "id":
			return r.EnsureID()
		case "host":
			return r.Origin.Host
		case "component":
			return r.Origin.Component
		case "stream":
			return r.Origin.Stream
		}
		f := strings.TrimPrefix(name, "fields.")
		x, _ := r.Get(f)
		switch v := x.(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			return strings.Trim(string(agent.AppendValue(nil, v)), `"`)
		}
	})
}

func (p *protocol) Target(key string) (string, string) {
	if p.tpl.fixed {
		return p.method, p.tpl.parts[0].lit
	}
	return p.method, key
}

func (p *protocol) Headers() map[string]string { return p.headers }
func (p *protocol) Step() string               { return "http" }

func (p *protocol) Framing() (string, string, string, string) {
	if p.ndjson {
		return "", "\n", "\n", "application/x-ndjson"
	}
	return "[", ",", "]", "application/json"
}

// Results: a 2xx answer accepts the whole batch.
func (p *protocol) Results([]byte, []string) ([]httpbatch.Result, error) { return nil, nil }
