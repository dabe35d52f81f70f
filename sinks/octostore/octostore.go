// Package octostore is the `sink "octostore"` component: it forwards
// records to the Octostore ingest API (openapi.yaml in this folder).
package octostore

import (
	_ "embed"
	"encoding/json"
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

// Config is the `sink "octostore"` block.
type Config struct {
	// Endpoint is the store's base URL, such as "https://octostore.internal".
	Endpoint string `hcl:"endpoint"`
	// HealthCheck asks GET /v1/health once at start (a failure only warns).
	HealthCheck *bool    `hcl:"healthcheck,optional"`
	Remain      hcl.Body `hcl:",remain"`
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
	if _, err := baseURL(c.Endpoint); err != nil {
		errs = append(errs, agent.AttrErrorf("endpoint", `Give the store's base URL, such as "https://octostore.internal:8443".`, "%v", err))
	}
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// baseURL checks the endpoint and returns it without a trailing slash.
func baseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http:// or https:// URL", httpbatch.RedactURL(s))
	}
	if u.User != nil {
		return "", fmt.Errorf("%q carries credentials; use token or token_file instead", httpbatch.RedactURL(s))
	}
	return strings.TrimRight(s, "/"), nil
}

// NewFactory returns the factory of `sink "octostore"`.
func NewFactory() *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[Config, agent.Sink]{
		Type:        "octostore",
		Description: "Forwards records to the Octostore ingest API, in batches, with retries, dead letters for rejected records, TLS and a bearer token.",
		Example:     example,
		NewConfig:   func() *Config { return &Config{Common: httpbatch.DefaultCommon()} },
		// Each record is encoded into its batch's body as it comes; what
		// the batch keeps past a record's outcome (its key, "" here, the
		// body, the answer) holds none of its bytes (internal/httpbatch's
		// Protocol.Key).
		Forgets: func(*Config) bool { return true },
		Create: func(set agent.Settings, c *Config) (agent.Sink, error) {
			base, err := baseURL(c.Endpoint)
			if err != nil {
				return nil, err
			}
			opt, err := c.Common.Options()
			if err != nil {
				return nil, err
			}
			health := base + "/v1/health"
			if c.HealthCheck != nil && !*c.HealthCheck {
				health = ""
			}
			return httpbatch.New(set, opt, &protocol{url: base + "/v1/records"}, health)
		},
	})
}

type protocol struct{ url string }

func (p *protocol) Key(*agent.Record) string       { return "" }
func (p *protocol) Target(string) (string, string) { return "POST", p.url }
func (p *protocol) Headers() map[string]string     { return nil }
func (p *protocol) Step() string                   { return "octostore.ingest" }
func (p *protocol) Framing() (string, string, string, string) {
	return `{"records":[`, ",", "]}", "application/json"
}

// IngestResponse is the body of a 2xx answer to POST /v1/records.
type IngestResponse struct {
	Results []RecordResult `json:"results"`
}

// RecordResult is the store's verdict on one record.
type RecordResult struct {
	ID     string        `json:"id"`
	Status string        `json:"status"` // "accepted", "duplicate" or "rejected"
	Errors []FieldReason `json:"errors,omitempty"`
}

// FieldReason is one reason a record was rejected.
type FieldReason struct {
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// Results maps the store's per-record verdicts onto the batch, by id.
// Records the answer does not mention are sent again.
func (p *protocol) Results(body []byte, ids []string) ([]httpbatch.Result, error) {
	if out, ok := fastResults(body, ids); ok {
		return out, nil
	}
	return slowResults(body, ids)
}

// slowResults decodes any answer with encoding/json.
func slowResults(body []byte, ids []string) ([]httpbatch.Result, error) {
	var resp IngestResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("the store's answer is not an ingest response: %v", err)
	}
	byID := make(map[string]*RecordResult, len(resp.Results))
	for i := range resp.Results {
		byID[resp.Results[i].ID] = &resp.Results[i]
	}
	out := make([]httpbatch.Result, len(ids))
	for i, id := range ids {
		r, ok := byID[id]
		if !ok {
			out[i].Status = httpbatch.Unknown
			continue
		}
		switch r.Status {
		case "accepted", "duplicate":
			out[i].Status = httpbatch.Accepted
		case "rejected":
			out[i].Status = httpbatch.Rejected
			for _, e := range r.Errors {
				out[i].Errors = append(out[i].Errors, agent.FieldError{Field: e.Field, Error: e.Error})
			}
		default:
			out[i].Status = httpbatch.Unknown
		}
	}
	return out, nil
}

// fastResults reads the usual answer without encoding/json (which was a
// tenth of the sink's CPU): {"results":[{"id":"…","status":"…"},…]} with
// one verdict per record, in the batch's order, no errors, and strings
// without escapes. Anything else (a reject with its reasons, another
// order, another key, an escape, an unknown status) returns ok = false
// and is decoded by slowResults, so the outcome is always the one
// encoding/json gives.
func fastResults(body []byte, ids []string) (out []httpbatch.Result, ok bool) {
	d := scanner{b: body}
	if !d.lit('{') || !d.key("results") || !d.lit('[') {
		return nil, false
	}
	out = make([]httpbatch.Result, len(ids))
	for i := range ids {
		if i > 0 && !d.lit(',') {
			return nil, false
		}
		if !d.lit('{') {
			return nil, false
		}
		var id, status []byte
		for range 2 {
			k, ok := d.str()
			if !ok || !d.lit(':') {
				return nil, false
			}
			v, ok := d.str()
			if !ok {
				return nil, false
			}
			switch {
			case string(k) == "id" && id == nil:
				id = v
			case string(k) == "status" && status == nil:
				status = v
			default:
				return nil, false
			}
			if id == nil || status == nil {
				if !d.lit(',') {
					return nil, false
				}
			}
		}
		if !d.lit('}') || string(id) != ids[i] {
			return nil, false
		}
		switch string(status) {
		case "accepted", "duplicate":
			out[i].Status = httpbatch.Accepted
		default: // "rejected" comes with its reasons; the rest is unusual
			return nil, false
		}
	}
	if !d.lit(']') || !d.lit('}') {
		return nil, false
	}
	d.space()
	return out, d.i == len(d.b)
}

// scanner reads the subset of JSON fastResults accepts.
type scanner struct {
	b []byte
	i int
}

func (d *scanner) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// lit skips white space and then c.
func (d *scanner) lit(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// key reads "name" and the colon after it.
func (d *scanner) key(name string) bool {
	k, ok := d.str()
	return ok && string(k) == name && d.lit(':')
}

// str reads a string of printable ASCII without escapes (so its bytes
// are its value) and returns what is between the quotes.
func (d *scanner) str() ([]byte, bool) {
	if !d.lit('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
		d.i++
	}
	return nil, false
}
