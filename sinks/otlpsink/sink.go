package otlpsink

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/httpbatch"
	"github.com/octostore/agent/internal/otlp"
)

// NewFactory returns the factory of `sink "otlp"`.
func NewFactory() *agent.Factory {
	return agent.NewSinkFactory(agent.FactorySpec[Config, agent.Sink]{
		Type:        "otlp",
		Description: "Sends records as OpenTelemetry logs (OTLP over gRPC or HTTP) to a Collector or any OTLP endpoint: batches, gzip, retries that honour RetryInfo and Retry-After, partial successes to dead letters, TLS and a bearer token.",
		Example:     example,
		NewConfig: func() *Config {
			return &Config{Protocol: "grpc", Encoding: "proto", Common: httpbatch.DefaultCommon()}
		},
		Create: create,
	})
}

func create(set agent.Settings, c *Config) (agent.Sink, error) {
	target, err := c.target()
	if err != nil {
		return nil, err
	}
	opt, err := c.Common.Options()
	if err != nil {
		return nil, err
	}
	p := &protocol{
		url: target, json: c.Encoding == "json", headers: c.Headers,
		build: otlp.BuildOptions{Host: set.Host, Origin: c.IncludeOrigin},
	}
	if c.Protocol == "http" {
		s, err := httpbatch.New(set, opt, p, "")
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	g, err := newGRPC(p, target, c.secure(), opt)
	if err != nil {
		return nil, err
	}
	s, err := httpbatch.New(set, opt, g, "")
	if err != nil {
		g.conn.Close()
		return nil, err
	}
	if !c.secure() {
		set.Logger.Warn("the endpoint is http://: records and the token go over the network in plaintext")
	}
	return &grpcSink{Sink: s, g: g}, nil
}

// protocol is OTLP/HTTP on internal/httpbatch: one ExportLogsServiceRequest
// per batch, built from all its records (BatchEncoder).
type protocol struct {
	url     string
	json    bool
	headers map[string]string
	build   otlp.BuildOptions
}

func (p *protocol) Key(*agent.Record) string       { return "" }
func (p *protocol) Target(string) (string, string) { return "POST", p.url }
func (p *protocol) Headers() map[string]string     { return p.headers }
func (p *protocol) Step() string                   { return "otlp.export" }
func (p *protocol) Framing() (string, string, string, string) {
	if p.json {
		return "", "", "", "application/json"
	}
	return "", "", "", "application/x-protobuf"
}

// NewBuilder implements httpbatch.BatchEncoder.
func (p *protocol) NewBuilder() httpbatch.Builder {
	return &builder{b: otlp.NewBuilder(p.build), json: p.json}
}

// Results reads an ExportLogsServiceResponse (an empty body accepts all).
func (p *protocol) Results(body []byte, ids []string) ([]httpbatch.Result, error) {
	if len(body) == 0 {
		return nil, nil
	}
	resp := plogotlp.NewExportResponse()
	var err error
	if p.json {
		err = resp.UnmarshalJSON(body)
	} else {
		err = resp.UnmarshalProto(body)
	}
	if err != nil {
		return nil, fmt.Errorf("the answer is not an OTLP ExportLogsServiceResponse: %v", err)
	}
	return results(resp.PartialSuccess(), ids), nil
}

// ErrorText reads the google.rpc.Status an OTLP/HTTP server answers an
// error with (protobuf or JSON), else the body as text.
func (p *protocol) ErrorText(body []byte) string {
	var st spb.Status
	if err := proto.Unmarshal(body, &st); err == nil && st.Message != "" {
		return st.Message
	}
	if err := protojson.Unmarshal(body, &st); err == nil && st.Message != "" {
		return st.Message
	}
	return string(body)
}

// builder is one batch's request: records converted into a plog.Logs as
// they come, marshalled once when the batch is sealed.
type builder struct {
	b    *otlp.Builder
	json bool
}

func (b *builder) Add(r *agent.Record) int { return b.b.Add(r) }
func (b *builder) Reset()                  { b.b.Take() }

func (b *builder) AppendBody(dst []byte) []byte {
	req := plogotlp.NewExportRequestFromLogs(b.b.Take())
	var data []byte
	if b.json {
		data, _ = req.MarshalJSON()
	} else {
		data, _ = req.MarshalProto()
	}
	if len(dst) == 0 {
		return data
	}
	return append(dst, data...)
}

// results turns a partial success into per-record results. OTLP says how
// many records were rejected, not which: when error_message names records
// by their ids (the log.record.uid the sink sends), those are rejected and
// the rest accepted; when every record was rejected, all are; otherwise
// the sink cannot tell which, and dead-letters every record of the request
// (reason "partially_rejected", with the count and the message), so that
// none of the rejected ones is lost, rather than guessing.
func results(ps plogotlp.ExportPartialSuccess, ids []string) []httpbatch.Result {
	n := ps.RejectedLogRecords()
	msg := ps.ErrorMessage()
	if n <= 0 {
		return nil // accepted; a message alone is a warning (logged by no one: OTLP says so)
	}
	out := make([]httpbatch.Result, len(ids))
	named := 0
	if msg != "" && len(msg) <= 1<<20 {
		for i, id := range ids {
			if id != "" && strings.Contains(msg, id) {
				out[i] = httpbatch.Result{Status: httpbatch.Rejected, Errors: []agent.FieldError{{Error: "rejected by the OTLP endpoint: " + msg}}}
				named++
			}
		}
	}
	if named > 0 {
		return out
	}
	reason, text := "rejected", fmt.Sprintf("rejected by the OTLP endpoint: %s", msg)
	if int(n) < len(ids) {
		reason = "partially_rejected"
		text = fmt.Sprintf("the OTLP endpoint rejected %d of the %d records of this request without saying which (%s); this record is one of the %d", n, len(ids), msg, len(ids))
	}
	for i := range out {
		out[i] = httpbatch.Result{Status: httpbatch.Rejected, Reason: reason, Errors: []agent.FieldError{{Error: text}}}
	}
	return out
}
