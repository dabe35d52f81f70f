// Package openlineage is the `sink "openlineage"` component: it turns
// records into OpenLineage RunEvents, with one mapping per record kind
// written in HCL and expr, checks every event against the OpenLineage
// schema and its facets' schemas, and sends the valid ones over HTTP (one
// event per request, as Marquez and DataHub take them), to Kafka (keyed by
// job) or to a file of JSON lines. An event that fails the schema is never
// sent: it becomes a dead letter with the schema's errors.
package openlineage

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/internal/httpbatch"
	"github.com/octostore/agent/internal/kafkaclient"
)

//go:embed example.hcl
var example string

// DefaultProducer is the producer URI events carry unless producer is set.
const DefaultProducer = "https://github.com/octostore/agent"

// Config is the `sink "openlineage"` block, decoded by DecodeHCL.
type Config struct {
	// Producer is the URI every event and facet names as its producer.
	Producer string
	// RecordFacet names the run facet that carries the record ("" for none).
	RecordFacet string
	// RecordFacetFields is "all" or "unmapped".
	RecordFacetFields string

	// Exactly one transport is set.
	HTTP  *HTTPTransport
	Kafka *kafkaclient.ProducerConfig
	File  *FileTransport

	mappings map[string]*mapping
}

// HTTPTransport is the `transport "http"` block.
type HTTPTransport struct {
	URL      string            `hcl:"url"`
	Endpoint string            `hcl:"endpoint,optional"`
	Headers  map[string]string `hcl:"headers,optional" secret:"true"`
	Remain   hcl.Body          `hcl:",remain"`
	// Common holds batching, retries, token and TLS, as every HTTP sink.
	Common httpbatch.Common
}

// FileTransport is the `transport "file"` block.
type FileTransport struct {
	Path  string `hcl:"path"`
	Fsync bool   `hcl:"fsync,optional"`
}

// transportTypes lists the transports, for hints.
var transportTypes = []string{"file", "http", "kafka"}

func defaultConfig() *Config {
	return &Config{Producer: DefaultProducer, RecordFacet: "octoagent_record", RecordFacetFields: "all"}
}

// DecodeHCL decodes the block and compiles its mappings. The loader calls
// it (decode.HCLDecoder).
func (c *Config) DecodeHCL(body hcl.Body, ctx *hcl.EvalContext, env *decode.Env) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "producer"}, {Name: "record_facet"}, {Name: "record_facet_fields"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "transport", LabelNames: []string{"type"}},
			{Type: "mapping", LabelNames: []string{"kind"}},
		},
	})
	for name, dst := range map[string]*string{"producer": &c.Producer, "record_facet": &c.RecordFacet, "record_facet_fields": &c.RecordFacetFields} {
		if a, ok := content.Attributes[name]; ok {
			diags = append(diags, gohcl.DecodeExpression(a.Expr, ctx, dst)...)
		}
	}
	var transport *hcl.Block
	c.mappings = map[string]*mapping{}
	mappingAt := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		switch b.Type {
		case "transport":
			if transport != nil {
				diags = append(diags, decode.Errorf(b.DefRange, "Duplicate transport block",
					"A sink has one transport; the first is at %s:%d. Add a second sink to send the events elsewhere too.", transport.DefRange.Filename, transport.DefRange.Start.Line)...)
				continue
			}
			transport = b
			diags = append(diags, c.decodeTransport(b, ctx)...)
		case "mapping":
			kind := b.Labels[0]
			if at, dup := mappingAt[kind]; dup {
				diags = append(diags, decode.Errorf(b.LabelRanges[0], "Duplicate mapping "+kind,
					"Records of kind %s are already mapped at %s:%d; a kind has one mapping.", kind, at.Filename, at.Start.Line)...)
				continue
			}
			mappingAt[kind] = b.DefRange
			m, d := decodeMapping(b, ctx, env)
			diags = append(diags, d...)
			if m != nil {
				c.mappings[kind] = m
			}
		}
	}
	if transport == nil && !diags.HasErrors() {
		r := body.MissingItemRange()
		diags = append(diags, decode.Errorf(r, "Missing transport block",
			`Say where the events go: transport "http" { url = "http://marquez:5000" }, transport "kafka" { brokers = [...], topic = "openlineage" } or transport "file" { path = "..." }.`)...)
	}
	if len(mappingAt) == 0 && !diags.HasErrors() {
		r := body.MissingItemRange()
		diags = append(diags, decode.Errorf(r, "No mapping block",
			`Give a mapping "KIND" { ... } for each kind of record the sink reads: it says how a record becomes a RunEvent (see sinks/openlineage/README.md).`)...)
	}
	return diags
}

// decodeTransport decodes a transport block (Validate checks it).
func (c *Config) decodeTransport(b *hcl.Block, ctx *hcl.EvalContext) hcl.Diagnostics {
	switch b.Labels[0] {
	case "http":
		t := &HTTPTransport{Endpoint: "/api/v1/lineage", Common: httpbatch.DefaultCommon()}
		// One event per request, not compressed (Marquez and DataHub
		// take plain JSON), one request at a time (a job's events arrive in
		// order).
		t.Common.BatchMaxRecords, t.Common.Compression, t.Common.InFlight = 1, "none", 1
		c.HTTP = t
		return decode.Split(b.Body, ctx, t, &t.Remain, &t.Common)
	case "kafka":
		t := kafkaclient.DefaultProducerConfig()
		c.Kafka = &t
		return gohcl.DecodeBody(b.Body, ctx, c.Kafka)
	case "file":
		c.File = &FileTransport{}
		return gohcl.DecodeBody(b.Body, ctx, c.File)
	}
	return decode.Errorf(b.LabelRanges[0], fmt.Sprintf("Unknown transport %q", b.Labels[0]), "%s", decode.DidYouMean(b.Labels[0], transportTypes, "transports"))
}

// inTransport flattens a transport's validation errors and prefixes the
// attribute of each AttrError with "transport.", so that the loader puts
// every diagnostic at the transport block's attribute.
func inTransport(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, inTransport(e)...)
		}
		return out
	}
	var ae *agent.AttrError
	if errors.As(err, &ae) {
		return []error{&agent.AttrError{Attr: "transport." + ae.Attr, Err: ae.Err, Hint: ae.Hint}}
	}
	return []error{err}
}

func (t *HTTPTransport) validate() error {
	var errs []error
	if _, err := t.target(); err != nil {
		errs = append(errs, agent.AttrErrorf("url", `Give the base URL of the OpenLineage API, such as "http://marquez:5000" (the endpoint, /api/v1/lineage by default, is added).`, "%v", err))
	}
	for k := range t.Headers {
		if strings.EqualFold(k, "Content-Type") || strings.EqualFold(k, "Content-Encoding") {
			errs = append(errs, agent.AttrErrorf("headers", "The sink sets Content-Type and Content-Encoding itself.", "header %q cannot be set", k))
		}
	}
	if t.Common.BatchMaxRecords != 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "OpenLineage endpoints take one event per request: leave batch_max_records out.", "must be 1, got %d", t.Common.BatchMaxRecords))
	}
	if err := t.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// target returns the URL events are posted to: url and endpoint joined.
func (t *HTTPTransport) target() (string, error) {
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q is not an http:// or https:// URL", t.URL)
	}
	if u.User != nil {
		return "", errors.New("the URL carries credentials; use token, token_file or headers instead")
	}
	if t.Endpoint == "" {
		return strings.TrimRight(t.URL, "/"), nil
	}
	return strings.TrimRight(t.URL, "/") + "/" + strings.TrimLeft(t.Endpoint, "/"), nil
}

// Validate checks the sink-wide attributes.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Producer); err != nil || !u.IsAbs() {
		errs = append(errs, agent.AttrErrorf("producer", `Give a URI that names the producer, such as "https://github.com/octostore/agent" (the default).`, "%q is not an absolute URI", c.Producer))
	}
	switch c.RecordFacetFields {
	case "all", "unmapped":
	default:
		errs = append(errs, agent.AttrErrorf("record_facet_fields", `Use "all" (every field, the default) or "unmapped" (the fields no expression of the mapping reads).`, "unknown value %q", c.RecordFacetFields))
	}
	switch {
	case c.HTTP != nil:
		errs = append(errs, inTransport(c.HTTP.validate())...)
	case c.Kafka != nil:
		errs = append(errs, inTransport(c.Kafka.Validate())...)
	case c.File != nil && c.File.Path == "":
		errs = append(errs, agent.AttrErrorf("transport.path", `Give the file to append the events to, such as "/var/lib/octoagent/lineage.jsonl".`, "empty path"))
	}
	if c.RecordFacet != "" && (c.RecordFacet == "parent" || c.RecordFacet == "errorMessage" || c.RecordFacet == "nominalTime" || c.RecordFacet == "processing_engine") {
		errs = append(errs, agent.AttrErrorf("record_facet", `Name it after your organisation, such as "octoagent_record" (the default).`, "%q is a standard facet's name", c.RecordFacet))
	}
	return errors.Join(errs...)
}

// Preflight loads the transport's TLS files, or checks that its file can
// be written, as the sink does at start (agent.Preflighter).
func (c *Config) Preflight() error {
	switch {
	case c.HTTP != nil:
		return errors.Join(inTransport(c.HTTP.Common.Preflight())...)
	case c.Kafka != nil:
		return errors.Join(inTransport(c.Kafka.Preflight())...)
	case c.File != nil:
		if err := agent.CheckWritableFile(c.File.Path); err != nil {
			return agent.AttrErrorf("transport.path", "Give a file in a directory the agent can write to.", "%v", err)
		}
	}
	return nil
}

// Kinds lists the kinds the sink has a mapping for, sorted.
func (c *Config) Kinds() []string {
	out := make([]string, 0, len(c.mappings))
	for k := range c.mappings {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// claims: a file transport owns its file, as a file sink does.
func claims(c *Config) []string {
	if c.File == nil {
		return nil
	}
	p, err := filepath.Abs(c.File.Path)
	if err != nil {
		p = c.File.Path
	}
	return []string{"file " + p}
}
